"""The communication network: a networkx graph of channels with latency, availability and quality.

Nodes are actor ids (commands, leaderships) plus one on-scene node per side (``nato_forces``,
``russia_forces``) standing for the crews. Each side's own chain (forces - command - leadership)
is linked internally; channels across the divide come from the scenario and from measures.
A decision-maker seeking clarification relays down its own chain (never up) to where a channel
starts and tries the fastest such route that is up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import networkx as nx

from sim.core.spec import ActorSpec, ChannelSpec, ScenarioSpec, Side, forces_node

ON_SCENE_KINDS = frozenset({"on_scene_radio", "standard_signals"})
# Channels a side may cut as a sanction or after a lethal incident: military contacts and the
# NATO-Russia Council. Diplomatic relations, leaders' hotlines and crews' radios stay.
NOT_SUSPENDABLE = frozenset({"diplomatic", "hotline", "on_scene_radio", "standard_signals", "placebo"})
INTERNAL = "internal"


@dataclass(frozen=True)
class Route:
    """A way for a decision-maker to reach the other side: its own chain, then one channel."""

    target: str
    latency_h: float
    availability: float
    quality: float
    kinds: tuple[str, ...]  # the channel across the divide, e.g. ("hotline",)
    on_scene: bool  # uses a crew-to-crew channel: only meaningful for an incident on scene
    member: str = ""  # a bilateral channel with this NATO member ("" = with the alliance)

    @property
    def suspendable(self) -> bool:
        """Whether a side may cut this channel (military contacts, the NRC)."""
        return not NOT_SUSPENDABLE.intersection(self.kinds)

    @property
    def label(self) -> str:
        """Short name of the channel(s) used, for the event log."""
        return "+".join(self.kinds)


class CommsNetwork:
    """Channels as a networkx graph; routes precomputed per decision-maker (the graph is static)."""

    def __init__(self, spec: ScenarioSpec, extra: list[ChannelSpec], internal_relay_h: float):
        self.graph = nx.Graph()
        side_of: dict[str, Side] = {}
        # Rank in the chain: a decision-maker relays down to its crews, never up to its leaders
        # (a command does not ask the leadership to phone the other capital about an intercept).
        self.rank: dict[str, int] = {}
        for side in Side:
            side_of[forces_node(side)] = side
            self.rank[forces_node(side)] = 0
            command, leader = spec.actor(side, "command"), spec.actor(side, "leadership")
            for a in spec.actors:
                if a.side is side:
                    side_of[a.id] = side
                    self.rank[a.id] = 1 if a.role == "command" else 2
            self._add(forces_node(side), command.id, INTERNAL, internal_relay_h, 1.0, 1.0)
            self._add(command.id, leader.id, INTERNAL, internal_relay_h, 1.0, 1.0)
        # Every channel across the divide is kept (two channels between the same pair are two
        # ways to call: a hotline that is down leaves the diplomatic line); the graph drawn in
        # reports shows the fastest of each pair.
        self.cross = [*spec.channels, *extra]
        for ch in (*spec.channels, *extra):
            self._add(ch.a, ch.b, ch.kind, ch.latency_h, ch.availability, ch.quality, ch.member)
        nx.set_node_attributes(self.graph, {n: s.value for n, s in side_of.items()}, "side")
        labels = {forces_node(s): f"{s.label} crews" for s in Side} | {a.id: a.name for a in spec.actors}
        nx.set_node_attributes(self.graph, labels, "label")
        self.side_of = side_of
        self.routes = {node: self._routes_from(node) for node in self.graph.nodes}

    def _add(self, a: str, b: str, kind: str, latency: float, availability: float, quality: float, member: str = ""):
        # Two channels between the same pair: the faster one stands (a measure strengthens a link).
        old = self.graph.get_edge_data(a, b)
        if old is None or latency < old["latency_h"]:
            self.graph.add_edge(
                a, b, kind=kind, latency_h=latency, availability=availability, quality=quality, member=member
            )

    def _routes_from(self, source: str) -> list[Route]:
        """One route per channel across the divide: relay down one's own chain, then cross once."""
        side, rank = self.side_of[source], self.rank[source]
        own = self.graph.subgraph(n for n, s in self.side_of.items() if s is side and self.rank[n] <= rank)
        relay = nx.single_source_dijkstra_path_length(own, source, weight="latency_h")
        routes = []
        for ch in self.cross:
            for u, v in ((ch.a, ch.b), (ch.b, ch.a)):
                if u not in relay or self.side_of[v] is side:
                    continue
                routes.append(
                    Route(
                        target=v,
                        latency_h=relay[u] + ch.latency_h,
                        availability=ch.availability,
                        quality=ch.quality,
                        kinds=(ch.kind,),
                        on_scene=ch.kind in ON_SCENE_KINDS,
                        member=ch.member,
                    )
                )
        routes.sort(key=lambda r: (r.latency_h, r.target, r.kinds))
        return routes

    def channel_kinds(self) -> set[str]:
        """Kinds of the channels that cross the divide."""
        return {d["kind"] for _, _, d in self.graph.edges(data=True) if d["kind"] != INTERNAL}


@dataclass(frozen=True)
class _Cast:
    """What a communication network is built from: the actors and the scenario's channels."""

    actors: tuple[ActorSpec, ...]
    channels: tuple[ChannelSpec, ...]

    def actor(self, side: Side, role: str) -> ActorSpec:  # noqa: D102
        return next(a for a in self.actors if a.side is side and a.role == role)


@functools.lru_cache(maxsize=64)
def _shared(cast: _Cast, extra: tuple[ChannelSpec, ...], internal_relay_h: float) -> CommsNetwork:
    return CommsNetwork(cast, list(extra), internal_relay_h)  # type: ignore[arg-type]


def shared_network(spec: ScenarioSpec, extra: list[ChannelSpec], internal_relay_h: float) -> CommsNetwork:
    """The network of ``spec``'s actors and channels with ``extra``, built once per process and shared.

    It is static (a channel cut by a sanction is a side's state, not a change to the graph), so the
    replications of a configuration need not each rebuild it and its routes.
    """
    return _shared(_Cast(spec.actors, spec.channels), tuple(extra), internal_relay_h)
