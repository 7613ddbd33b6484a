"""The communication network: a networkx graph of channels with latency, availability and quality.

Nodes are actor ids (commands, leaderships) plus one on-scene node per side (``nato_forces``,
``russia_forces``) standing for the crews. Each side's own chain (forces - command - leadership)
is linked internally; channels across the divide come from the scenario and from measures.
A decision-maker seeking clarification uses the fastest route to the other side.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from sim.core.spec import ChannelSpec, ScenarioSpec, Side

ON_SCENE_KINDS = frozenset({"on_scene_radio", "standard_signals"})
INTERNAL = "internal"


def forces_node(side: Side) -> str:
    """The on-scene node of a side's crews."""
    return f"{side.value}_forces"


@dataclass(frozen=True)
class Route:
    """The fastest path from a decision-maker to a node of the other side."""

    target: str
    latency_h: float
    availability: float
    quality: float
    kinds: tuple[str, ...]  # the cross-side channel kinds on the path, e.g. ("hotline",)
    on_scene: bool  # uses a crew-to-crew channel: only meaningful for an incident on scene

    @property
    def label(self) -> str:
        """Short name of the channel(s) used, for the event log."""
        return "+".join(self.kinds)


class CommsNetwork:
    """Channels as a networkx graph; routes precomputed per decision-maker (the graph is static)."""

    def __init__(self, spec: ScenarioSpec, extra: list[ChannelSpec], internal_relay_h: float):
        self.graph = nx.Graph()
        side_of: dict[str, Side] = {}
        for side in Side:
            side_of[forces_node(side)] = side
            command, leader = spec.actor(side, "command"), spec.actor(side, "leadership")
            for a in spec.actors:
                if a.side is side:
                    side_of[a.id] = side
            self._add(forces_node(side), command.id, INTERNAL, internal_relay_h, 1.0, 1.0)
            self._add(command.id, leader.id, INTERNAL, internal_relay_h, 1.0, 1.0)
        for ch in (*spec.channels, *extra):
            self._add(ch.a, ch.b, ch.kind, ch.latency_h, ch.availability, ch.quality)
        nx.set_node_attributes(self.graph, {n: s.value for n, s in side_of.items()}, "side")
        self.side_of = side_of
        self.routes = {node: self._routes_from(node) for node in self.graph.nodes}

    def _add(self, a: str, b: str, kind: str, latency: float, availability: float, quality: float):
        # Two channels between the same pair: the faster one stands (a measure strengthens a link).
        old = self.graph.get_edge_data(a, b)
        if old is None or latency < old["latency_h"]:
            self.graph.add_edge(
                a, b, kind=kind, latency_h=latency, availability=availability, quality=quality
            )

    def _routes_from(self, source: str) -> list[Route]:
        side = self.side_of[source]
        _, paths = nx.single_source_dijkstra(self.graph, source, weight="latency_h")
        routes = []
        for target, path in paths.items():
            if self.side_of[target] is side:
                continue
            edges = [self.graph.edges[u, v] for u, v in zip(path, path[1:], strict=False)]
            cross = [e for e in edges if e["kind"] != INTERNAL]
            # Stop at the first node across the divide: routes that cross twice are not calls.
            if sum(self.side_of[u] is not self.side_of[v] for u, v in zip(path, path[1:], strict=False)) != 1:
                continue
            availability = 1.0
            for e in edges:
                availability *= e["availability"]
            routes.append(
                Route(
                    target=target,
                    latency_h=sum(e["latency_h"] for e in edges),
                    availability=availability,
                    quality=min(e["quality"] for e in cross),
                    kinds=tuple(e["kind"] for e in cross),
                    on_scene=any(e["kind"] in ON_SCENE_KINDS for e in cross),
                )
            )
        routes.sort(key=lambda r: (r.latency_h, r.target))
        return routes

    def channel_kinds(self) -> set[str]:
        """Kinds of the channels that cross the divide."""
        return {d["kind"] for _, _, d in self.graph.edges(data=True) if d["kind"] != INTERNAL}
