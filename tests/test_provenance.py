"""Every parameter has a default, a unit and a basis next to it in conf/; the generated docs are current."""

from __future__ import annotations

from pathlib import Path

from sim.run import provenance


def test_every_parameter_has_default_unit_and_basis():
    found, problems = provenance.collect()
    assert problems == []
    assert sum(len(v) for v in found.values()) > 100
    for params in found.values():
        for p in params:
            assert p.default and p.unit and p.basis, p


def test_generated_docs_are_current():
    assert provenance.main(["--check"]) == 0, "run: python -m sim.run.provenance --write"


def test_a_parameter_without_unit_or_basis_is_reported(tmp_path: Path, monkeypatch):
    conf = tmp_path / "x.yaml"
    conf.write_text(
        "a: 1  # [h] fine | assumption\nb: 2  # no unit\nc: 3  # [km] no basis\nd:   # [h] empty | assumption\n"
    )
    monkeypatch.setattr(provenance, "DATA_ROOT", tmp_path)
    params, problems = provenance.parse(conf)
    assert [p.key for p in params] == ["a", "d"]
    assert any("b: needs" in q for q in problems) and any("c: needs" in q for q in problems)
    assert any("d: has no default" in q for q in problems)


def test_sources_are_cited_by_title_organisation_and_date():
    text = provenance.expand_source("000 rec. 2; 001 basic menu")
    assert text.startswith(
        'European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven Recommendations" '
        "(February 2022), recommendation 2; "
    )
    assert '"Towards a More Stable NATO-Russia Relationship"' in text and text.endswith(", basic menu")
    assert ".txt" not in text
