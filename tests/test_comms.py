"""The communication network (sim/core/comms.py) on a hand-built cast whose routes can be listed by hand.

NATO: crews ``nato_forces`` (rank 0) - command ``n_cmd`` (1) - leadership ``n_lead`` (2); Russia likewise
with ``r_``. Links inside a chain take ``internal_relay_h``. Across the divide: the leaders' diplomatic line
(24 h) and hotline (0.5 h), a military line between the commands (2 h, NATO member "tr"), and the crews' radio
(0.1 h). A decision-maker relays down its own chain, never up, then crosses once.
"""

from __future__ import annotations

import pytest

from sim.core.comms import INTERNAL, NOT_SUSPENDABLE, CommsNetwork, Route, _Cast, shared_network
from sim.core.spec import ActorSpec, ChannelSpec, Side

ACTORS = (
    ActorSpec("n_cmd", Side.NATO, "NATO command", "command"),
    ActorSpec("n_lead", Side.NATO, "NATO leaders", "leadership"),
    ActorSpec("r_cmd", Side.RUSSIA, "Russian command", "command"),
    ActorSpec("r_lead", Side.RUSSIA, "Kremlin", "leadership"),
)
DIPLOMATIC = ChannelSpec("n_lead", "r_lead", "diplomatic", 24.0, 0.95, 0.5)
HOTLINE = ChannelSpec("n_lead", "r_lead", "hotline", 0.5, 0.9, 0.8)
MILITARY = ChannelSpec("n_cmd", "r_cmd", "military_line", 2.0, 0.7, 0.6, member="tr")
RADIO = ChannelSpec("nato_forces", "russia_forces", "on_scene_radio", 0.1, 0.25, 0.3)
CAST = _Cast(ACTORS, (DIPLOMATIC, MILITARY, RADIO))


def routes(net: CommsNetwork, source: str) -> list[tuple[str, float, str]]:
    return [(r.target, round(r.latency_h, 9), r.label) for r in net.routes[source]]


def test_a_command_relays_down_to_its_crews_and_never_up_through_its_leadership():
    """n_cmd: its crews' radio after one relay (0.25 + 0.1), its own military line (2); never the hotline or
    the diplomatic line, which would take it up to n_lead.
    """
    net = CommsNetwork(CAST, [HOTLINE], internal_relay_h=0.25)
    assert routes(net, "n_cmd") == [("russia_forces", 0.35, "on_scene_radio"), ("r_cmd", 2.0, "military_line")]
    assert routes(net, "r_cmd") == [("nato_forces", 0.35, "on_scene_radio"), ("n_cmd", 2.0, "military_line")]


def test_a_leadership_relays_down_its_whole_chain():
    """n_lead: the hotline (0.5), the crews' radio two relays down (0.25 + 0.25 + 0.1), the military line one
    relay down (0.25 + 2), and the diplomatic line (24), fastest first.
    """
    net = CommsNetwork(CAST, [HOTLINE], internal_relay_h=0.25)
    assert routes(net, "n_lead") == [
        ("r_lead", 0.5, "hotline"),
        ("russia_forces", 0.6, "on_scene_radio"),
        ("r_cmd", 2.25, "military_line"),
        ("r_lead", 24.0, "diplomatic"),
    ]


def test_the_crews_only_have_their_radio():
    net = CommsNetwork(CAST, [HOTLINE], internal_relay_h=0.25)
    assert routes(net, "nato_forces") == [("russia_forces", 0.1, "on_scene_radio")]
    assert net.rank == {"nato_forces": 0, "n_cmd": 1, "n_lead": 2, "russia_forces": 0, "r_cmd": 1, "r_lead": 2}


def test_the_relay_time_is_a_parameter():
    net = CommsNetwork(CAST, [], internal_relay_h=1.0)
    assert routes(net, "n_lead") == [
        ("russia_forces", 2.1, "on_scene_radio"),
        ("r_cmd", 3.0, "military_line"),
        ("r_lead", 24.0, "diplomatic"),
    ]
    internal = {"kind": INTERNAL, "latency_h": 1.0, "availability": 1.0, "quality": 1.0, "member": ""}
    assert net.graph.edges["nato_forces", "n_cmd"] == internal
    assert net.graph.edges["russia_forces", "r_cmd"] == internal
    # a channel across the divide is an edge with its own attributes (drawn in reports)
    assert net.graph.edges["n_cmd", "r_cmd"] == {
        "kind": "military_line",
        "latency_h": 2.0,
        "availability": 0.7,
        "quality": 0.6,
        "member": "tr",
    }
    assert net.graph.edges["n_cmd", "n_lead"] == {
        "kind": INTERNAL,
        "latency_h": 1.0,
        "availability": 1.0,
        "quality": 1.0,
        "member": "",
    }


def test_a_route_carries_its_channel():
    net = CommsNetwork(CAST, [HOTLINE], internal_relay_h=0.25)
    mil = next(r for r in net.routes["n_lead"] if r.target == "r_cmd")
    assert mil == Route("r_cmd", 2.25, 0.7, 0.6, ("military_line",), on_scene=False, member="tr")
    radio = net.routes["n_cmd"][0]
    assert (radio.on_scene, radio.availability, radio.quality, radio.member) == (True, 0.25, 0.3, "")
    signals = CommsNetwork(CAST, [ChannelSpec("n_cmd", "russia_forces", "standard_signals", 0.2, 1, 1)], 0.25)
    assert next(r for r in signals.routes["n_cmd"] if r.label == "standard_signals").on_scene
    assert not next(r for r in signals.routes["n_cmd"] if r.label == "military_line").on_scene


def test_a_channel_inside_one_side_is_not_a_route_across():
    inside = ChannelSpec("n_cmd", "n_lead", "secure_line", 0.01, 1.0, 1.0)
    net = CommsNetwork(CAST, [inside], internal_relay_h=0.25)
    assert all(r.label != "secure_line" for rs in net.routes.values() for r in rs)
    assert routes(net, "n_cmd") == [("russia_forces", 0.35, "on_scene_radio"), ("r_cmd", 2.0, "military_line")]


def test_equal_latencies_are_ordered_by_target_then_kind():
    extra = [ChannelSpec("n_cmd", "r_lead", "b_line", 2.0, 1, 1), ChannelSpec("n_cmd", "r_cmd", "a_line", 2.0, 1, 1)]
    net = CommsNetwork(CAST, extra, internal_relay_h=0.25)
    assert routes(net, "n_cmd")[1:] == [
        ("r_cmd", 2.0, "a_line"),
        ("r_cmd", 2.0, "military_line"),
        ("r_lead", 2.0, "b_line"),
    ]


def test_the_graph_keeps_the_faster_of_two_channels_between_a_pair_and_the_first_of_two_equal_ones():
    """Both stay ways to call (routes above); the graph drawn in reports shows the faster one."""
    net = CommsNetwork(CAST, [HOTLINE], internal_relay_h=0.25)  # diplomatic first, then the faster hotline
    assert net.graph.edges["n_lead", "r_lead"]["kind"] == "hotline"
    twin = ChannelSpec("n_lead", "r_lead", "twin", 24.0, 1, 1)
    assert CommsNetwork(CAST, [twin], internal_relay_h=0.25).graph.edges["n_lead", "r_lead"]["kind"] == "diplomatic"
    assert net.channel_kinds() == {"hotline", "military_line", "on_scene_radio"}  # the edges drawn, not internal
    assert len(net.cross) == 4  # all four remain ways to call


def test_nodes_carry_their_side_and_label():
    net = CommsNetwork(CAST, [], internal_relay_h=0.25)
    assert dict(net.graph.nodes(data="side")) == {
        "nato_forces": "nato",
        "n_cmd": "nato",
        "n_lead": "nato",
        "russia_forces": "russia",
        "r_cmd": "russia",
        "r_lead": "russia",
    }
    assert net.graph.nodes["nato_forces"]["label"] == f"{Side.NATO.label} crews"
    assert net.graph.nodes["r_lead"]["label"] == "Kremlin"
    assert net.side_of["r_cmd"] is Side.RUSSIA


@pytest.mark.parametrize("kind", ["hotline", "on_scene_radio", "standard_signals", "diplomatic", "placebo"])
def test_a_sanction_cannot_cut_the_hotline_the_crews_radio_or_diplomacy(kind):
    assert kind in NOT_SUSPENDABLE
    assert not Route("r", 1.0, 1.0, 1.0, (kind,), on_scene=False).suspendable


@pytest.mark.parametrize("kind", ["military_line", "nrc", "mil_to_mil"])
def test_military_contacts_and_the_council_can_be_cut(kind):
    assert Route("r", 1.0, 1.0, 1.0, (kind,), on_scene=False).suspendable


def test_the_shared_network_is_built_once_and_is_the_network_of_its_inputs(scenarios):
    """What the model uses (EscalationModel.comms): one network per scenario, extra channels and relay time."""
    spec = scenarios["baltic_air_policing"]
    hotline = ChannelSpec("nato_nac", "ru_kremlin", "hotline", 0.5, 0.9, 0.8)
    shared = shared_network(spec, [hotline], 0.25)
    assert shared_network(spec, [hotline], 0.25) is shared
    direct = CommsNetwork(spec, [hotline], 0.25)
    assert shared.routes == direct.routes and shared.cross == direct.cross
    other_relay = shared_network(spec, [hotline], 1.0)
    assert other_relay is not shared and other_relay.routes == CommsNetwork(spec, [hotline], 1.0).routes
    bare = shared_network(spec, [], 0.25)
    assert bare is not shared and hotline not in bare.cross and hotline in shared.cross
