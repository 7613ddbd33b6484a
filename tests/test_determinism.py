"""Same config and seed give the same bytes, however the replications are split."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run, settings

from sim.analysis.stats import wilson
from sim.run.output import write_ensemble
from sim.run.runner import Ensemble


def files(ens: Ensemble, folder) -> dict[str, bytes]:
    """The files a job writes (through the job's own writer), with the hourly table too."""
    write_ensemble(ens, folder, hourly_csv=True)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_same_seed_same_bytes(scenarios, params, tmp_path):
    sc, m = scenarios["black_sea_transit"], settings("hotline")
    a = files(run(sc, params, m, 8, seed=5, record_events=True, record_timeseries=True), tmp_path / "a")
    b = files(run(sc, params, m, 8, seed=5, record_events=True, record_timeseries=True), tmp_path / "b")
    assert a == b
    c = files(run(sc, params, m, 8, seed=6, record_events=True, record_timeseries=True), tmp_path / "c")
    assert c["replications.csv"] != a["replications.csv"]


def test_split_replications_match_one_batch(scenarios, params, tmp_path):
    sc, m = scenarios["baltic_air_policing"], settings()
    whole = run(sc, params, m, 10, seed=9, record_events=True)
    first = run(sc, params, m, 10, seed=9, indices=range(0, 4), record_events=True)
    rest = run(sc, params, m, 10, seed=9, indices=range(4, 10), record_events=True)
    joined = Ensemble(whole.scenario, 9, whole.measures, first.replications + rest.replications)
    assert files(whole, tmp_path / "w") == files(joined, tmp_path / "j")
    alone = run(sc, params, m, 1, seed=9, indices=[7], record_events=True)
    assert alone.replications[0].outcome == whole.replications[7].outcome


def test_worker_processes_give_the_same_bytes(scenarios, params, tmp_path):
    sc, m = scenarios["baltic_air_policing"], settings("incidents_at_sea")
    serial = run(sc, params, m, 12, seed=2, record_events=True, record_timeseries=True)
    parallel = run(sc, params, m, 12, seed=2, workers=2, record_events=True, record_timeseries=True)
    assert files(serial, tmp_path / "s") == files(parallel, tmp_path / "p")


def test_wilson_interval_matches_a_hand_computation():
    p, lo, hi = wilson(3, 20)
    assert p == 0.15
    assert round(lo, 4) == 0.0524 and round(hi, 4) == 0.3604
    assert wilson(0, 50)[1] == pytest.approx(0.0, abs=1e-12)


def test_crisis_days_interval_respects_zero():
    """29 runs with no crisis day and one with 10: the Student-t interval reaches below 0 (a hand
    computation: 0.333 - 2.045 * 1.826 / sqrt(30) = -0.348); the percentile bootstrap stays in [0, 1.0]
    (its upper end: 3 crisis runs of 30 in a resample, 1.0, is about the 97.5th percentile).
    """
    from sim.analysis.stats import mean_ci, mean_ci_bootstrap

    x = [0.0] * 29 + [10.0]
    m, lo, hi, _ = mean_ci(x)
    assert m == pytest.approx(1 / 3) and lo == pytest.approx(-0.3485, abs=1e-3)
    m, lo, hi, n = mean_ci_bootstrap(x)
    assert (m, n) == (pytest.approx(1 / 3), 30) and lo == 0.0 and hi == pytest.approx(1.0)
    assert mean_ci_bootstrap(x) == mean_ci_bootstrap(x)  # seeded: the same data give the same interval


def test_the_bootstrap_holds_its_resamples_in_batches_and_gives_scipys_interval():
    """A 20,000-replication run's crisis days: scipy's bootstrap drew all 4,999 resamples in one array (1.6 GB of
    indices and values at the end of the run; 760 MB more at 10,000). Batched, the allocations peak under 100 MB,
    and the interval is the one scipy gives unbatched, to the bit.
    """
    import tracemalloc

    from scipy import stats

    from sim.analysis.stats import mean_ci_bootstrap

    rng = np.random.default_rng(5)
    x = rng.exponential(3.0, 20_000) * (rng.random(20_000) < 0.1)
    mean_ci_bootstrap(x[:50])  # imports and first-call caches outside the measurement
    tracemalloc.start()
    m, lo, hi, n = mean_ci_bootstrap(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100e6, f"{peak / 1e6:.0f} MB"
    whole = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=4999, rng=np.random.default_rng(0))
    assert (m, lo, hi, n) == (x.mean(), whole.confidence_interval.low, whole.confidence_interval.high, 20_000)


def test_a_models_streams_are_made_on_first_use_from_the_seeds_they_always_had():
    """Streams (issue 29): each mechanism's generator is SeedSequence(seed) child k, made when first asked for;
    values() and items() make every one; a name that is not a stream is a KeyError, as in a dict.
    """
    from sim.core.model import STREAMS, Streams

    seed = np.random.SeedSequence(2024, spawn_key=(7,))
    streams = Streams(seed, STREAMS)
    assert streams.made() == [] and len(streams) == len(STREAMS) - 1  # every stream named, none made yet
    got = streams["perception"].random(5)
    k = STREAMS.index("perception")
    eager = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(7, k))).random(5)
    assert np.array_equal(got, eager) and k > 0
    assert streams.made() == ["perception"] and "incidents" in streams and streams.get("mesa") is None
    assert [name for name, _ in streams.items()] == list(STREAMS[1:]) and len(streams.values()) == len(STREAMS) - 1
    with pytest.raises(KeyError):
        streams["mesa"]  # Mesa's own generator (child 0) is not one of them


def test_a_copy_of_a_model_draws_from_its_own_streams_made_or_not(params, scenarios):
    """A model copied (copy.deepcopy, as the play data's look-ahead does) before its incident and perception streams
    were first used draws from copies of them: running the copy leaves the original's run what it would have been.
    """
    import copy
    import dataclasses

    from sim.core.measures import build
    from sim.core.model import EscalationModel, replication_seed

    spec = dataclasses.replace(scenarios["baltic_air_policing"], horizon_h=24 * 20)

    def model():
        return EscalationModel(spec, params, build({}), seed=replication_seed(0, 1), record_events=False)

    untouched = model()
    untouched.run()
    original = model()
    assert "incidents" not in original.streams.made() and "perception" not in original.streams.made()
    twin = copy.deepcopy(original)
    twin.run()
    original.run()
    assert original.outcome() == untouched.outcome() == twin.outcome()
    assert original.outcome()["incidents"] > 0  # the streams copied were drawn from
