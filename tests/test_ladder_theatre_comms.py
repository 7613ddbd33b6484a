"""Unit tests: the ladder vocabulary, theatre distances, and channel routes."""

from __future__ import annotations

import dataclasses

import pytest

from sim.core.comms import CommsNetwork, forces_node
from sim.core.ladder import TOP_RUNG, Choice, Response, Rung, response_for
from sim.core.spec import ChannelSpec, Side, ZoneSpec
from sim.core.theatre import Theatre, great_circle_km


def test_responses_climb_one_rung_at_a_time():
    assert response_for(Choice.MATCH, 1) is Response.SHADOW
    assert response_for(Choice.ESCALATE, 1) is Response.RAISE_ALERT
    assert response_for(Choice.ESCALATE, 2) is Response.RAISE_ALERT
    assert response_for(Choice.MATCH, 3) is Response.SHOW_OF_FORCE
    assert response_for(Choice.ESCALATE, 3) is Response.LIMITED_FORCE
    assert response_for(Choice.ESCALATE, 7) is Response.NUCLEAR_SIGNAL
    assert response_for(Choice.PROTEST, 5) is Response.PROTEST
    for stimulus in range(1, 8):
        assert response_for(Choice.ESCALATE, stimulus).rung <= max(stimulus, 2) + 1


def test_protest_is_not_a_military_act_but_shadowing_is():
    assert not Response.PROTEST.is_military_act
    assert not Response.HOLD.is_military_act
    assert Response.SHADOW.is_military_act and Response.LIMITED_FORCE.is_military_act
    assert Rung.LIMITED_FORCE.label == "use of force, limited"


def test_the_ladder_tables_as_product_md_states_them():
    """The rung each response signals, the act that matches each rung, and every rung's name (mutmut does not
    mutate module-level tables, so they are pinned here in full).
    """
    assert {r: r.rung for r in Response} == {
        Response.DE_ESCALATE: 1,  # stands down to vigilance (rung 1), as the log says
        Response.HOLD: 1,
        Response.PROTEST: 2,
        Response.SHADOW: 2,
        Response.RAISE_ALERT: 3,
        Response.SHOW_OF_FORCE: 3,
        Response.LIMITED_FORCE: 4,
        Response.ARMED_CLASH: 5,
        Response.REGIONAL_WAR: 6,
        Response.NUCLEAR_SIGNAL: 7,
    }
    assert [response_for(Choice.MATCH, r).rung for r in range(2, 8)] == [2, 3, 4, 5, 6, 7]
    assert [r.label for r in Rung] == [
        "routine",
        "heightened vigilance",
        "dangerous incident",
        "show of force",
        "use of force, limited",
        "armed clash",
        "regional war",
        "nuclear threshold",
    ]
    assert TOP_RUNG == 7 and response_for(Choice.ESCALATE, 7).rung == 7  # no rung above the top
    assert [r for r in Response if r.is_military_act] == [
        Response.SHADOW,
        Response.RAISE_ALERT,
        Response.SHOW_OF_FORCE,
        Response.LIMITED_FORCE,
        Response.ARMED_CLASH,
        Response.REGIONAL_WAR,
        Response.NUCLEAR_SIGNAL,
    ]
    assert response_for(Choice.DE_ESCALATE, 6) is Response.DE_ESCALATE and response_for(Choice.HOLD, 6) is Response.HOLD


def test_great_circle_matches_a_known_distance():
    # Tallinn (59.437, 24.745) to Helsinki (60.170, 24.938): about 82 km.
    assert great_circle_km(59.437, 24.745, 60.170, 24.938) == pytest.approx(82, abs=2)


def _zones():
    return (
        ZoneSpec("a", "A", 55.0, 20.0, "nato", "land", radius_km=10),
        ZoneSpec("sea", "Sea", 55.0, 21.0, "international", "sea"),
        ZoneSpec("b", "B", 55.0, 23.0, "russia", "land", radius_km=20),
    )


def test_distance_to_territory_runs_edge_to_edge():
    th = Theatre(_zones(), (("a", "sea"), ("sea", "b")))
    centre = th.distance("sea", "b")
    assert centre == pytest.approx(great_circle_km(55, 21, 55, 23))
    assert th.distance_to_territory("sea", Side.RUSSIA) == pytest.approx(centre - 20)
    assert th.distance_to_territory("b", Side.RUSSIA) == 0
    assert th.distance_to_territory("a", Side.RUSSIA) == pytest.approx(th.distance("a", "b") - 30)
    # Integer nodes with the zone name as an attribute (drawable by Mesa), edges carry km.
    assert set(th.graph.nodes) == {0, 1, 2} and th.graph.nodes[1]["name"] == "Sea"
    assert th.graph.edges[0, 1]["distance_km"] == pytest.approx(th.distance("a", "sea"))


def test_routes_take_the_fastest_channel_and_flag_on_scene_ones(scenarios):
    spec = scenarios["baltic_air_policing"]
    hotline = ChannelSpec("nato_nac", "ru_kremlin", "hotline", 0.5, 0.9, 0.8)
    comms = CommsNetwork(spec, [hotline], internal_relay_h=0.25)
    routes = comms.routes["nato_nac"]
    # Fastest first; the hotline beats the 24-h diplomatic channel it shares a pair with.
    assert [r.latency_h for r in routes] == sorted(r.latency_h for r in routes)
    to_kremlin = next(r for r in routes if r.target == "ru_kremlin")
    assert to_kremlin.kinds == ("hotline",) and to_kremlin.latency_h == pytest.approx(0.5)
    # The command reaches the other side's crews through its own crews' radio: on scene.
    radio = next(r for r in comms.routes["nato_aircom"] if r.target == forces_node(Side.RUSSIA))
    assert radio.on_scene and radio.kinds == ("on_scene_radio",)
    assert radio.latency_h == pytest.approx(0.25 + 0.1)
    assert radio.availability == pytest.approx(0.25)
    without = CommsNetwork(spec, [], internal_relay_h=0.25)
    assert next(r for r in without.routes["nato_nac"] if r.target == "ru_kremlin").kinds == ("diplomatic",)


def test_every_route_crosses_the_divide_exactly_once(scenarios):
    spec = scenarios["black_sea_transit"]
    comms = CommsNetwork(spec, [], internal_relay_h=0.25)
    for source, routes in comms.routes.items():
        for r in routes:
            assert comms.side_of[r.target] is not comms.side_of[source]
            assert len(r.kinds) == 1


def test_a_slower_duplicate_channel_does_not_replace_a_faster_one(scenarios):
    spec = scenarios["baltic_air_policing"]
    slow = dataclasses.replace(spec.channels[0], kind="slow", latency_h=100.0)
    comms = CommsNetwork(spec, [slow], internal_relay_h=0.25)
    assert comms.graph.edges["nato_nac", "ru_kremlin"]["kind"] == "diplomatic"


def test_replications_share_one_theatre_and_network_and_no_run_changes_them():
    """The theatre and the channel routes are built once per scenario and measure set and shared by its
    replications; a crisis run (with measures that add channels) leaves them as they were, and a
    measure set with other channels gets a network of its own.
    """
    from sim.api import _compose
    from sim.core.measures import build
    from sim.core.model import EscalationModel
    from sim.run.config import load_configured_scenario, measure_settings, model_params

    cfg = _compose(["scenario=baltic_air_policing", "era=crisis_2022", "measures=eln_seven"])
    spec, params, measures = load_configured_scenario(cfg), model_params(cfg), measure_settings(cfg)
    first = EscalationModel(spec, params, build(measures), seed=1, record_events=False)
    routes = {k: list(v) for k, v in first.comms.routes.items()}
    distances = dict(first.theatre._distance)
    first.run()
    second = EscalationModel(spec, params, build(measures), seed=2, record_events=False)
    assert second.theatre is first.theatre and second.comms is first.comms
    assert {k: list(v) for k, v in second.comms.routes.items()} == routes
    assert second.theatre._distance == distances
    bare = EscalationModel(spec, params, build(measure_settings(_compose(["measures=none"]))), seed=1)
    assert bare.theatre is first.theatre and bare.comms is not first.comms
    assert set(bare.comms.cross) < set(first.comms.cross)  # the ELN seven add channels
