"""The theatre: a networkx graph of named zones with coordinates and real distances in km."""

from __future__ import annotations

import functools
import math

import networkx as nx
import numpy as np

from sim.core.spec import Side, ZoneSpec

EARTH_RADIUS_KM = 6371.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class Theatre:
    """Zones as integer graph nodes (``name`` and ``zone_id`` attributes), with distance matrices.

    ``distance`` is great-circle km between zone centres (where forces meet). The distance from a
    zone to a side's territory runs edge to edge: centre distance less both zones' radii, to the
    nearest zone that side owns (0 inside it or when the zones touch). Integer node ids
    keep the graph drawable by Mesa; the scenario's string ids map to them through ``index``.
    """

    def __init__(self, zones: tuple[ZoneSpec, ...], links: tuple[tuple[str, str], ...]):
        self.zones = zones
        self.index = {z.id: i for i, z in enumerate(zones)}
        self.graph = nx.Graph()
        for i, z in enumerate(zones):
            self.graph.add_node(i, zone_id=z.id, name=z.name, lat=z.lat, lon=z.lon, owner=z.owner, domain=z.domain)
        n = len(zones)
        self.distance_km = np.zeros((n, n))
        for i, a in enumerate(zones):
            for j, b in enumerate(zones):
                self.distance_km[i, j] = great_circle_km(a.lat, a.lon, b.lat, b.lon)
        for a, b in links:
            i, j = self.index[a], self.index[b]
            self.graph.add_edge(i, j, distance_km=float(self.distance_km[i, j]))
        self._to_territory = {side: self._distance_to_owner(side.value) for side in Side}
        # Plain-float look-ups: the model asks for these thousands of times a run.
        self._distance = {
            (a.id, b.id): float(self.distance_km[i, j]) for i, a in enumerate(zones) for j, b in enumerate(zones)
        }
        self._territory = {
            (z.id, side): float(self._to_territory[side][i]) for i, z in enumerate(zones) for side in Side
        }
        self._nearest: dict[tuple[str, Side], str] = {}

    def _distance_to_owner(self, owner: str) -> np.ndarray:
        owned = [i for i, z in enumerate(self.zones) if z.owner == owner]
        if not owned:
            return np.full(len(self.zones), np.inf)
        radius = np.array([z.radius_km for z in self.zones])
        edge = self.distance_km[:, owned] - radius[:, None] - radius[owned][None, :]
        edge[:, :][np.array([[i == j for j in owned] for i in range(len(self.zones))])] = 0.0
        return np.maximum(edge, 0.0).min(axis=1)

    def zone(self, zone_id: str) -> ZoneSpec:
        """The zone spec for a scenario zone id."""
        return self.zones[self.index[zone_id]]

    def distance(self, a: str, b: str) -> float:
        """Km between the centres of zones ``a`` and ``b``."""
        return self._distance[a, b]

    def distance_to_territory(self, zone_id: str, side: Side) -> float:
        """Km from a zone to the nearest zone owned by ``side`` (0 if ``side`` owns it)."""
        return self._territory[zone_id, side]

    def zones_owned_by(self, owner: str) -> list[str]:
        """Ids of zones with the given owner."""
        return [z.id for z in self.zones if z.owner == owner]

    def nearest_territory(self, zone_id: str, side: Side) -> str:
        """Id of the zone owned by ``side`` nearest to ``zone_id`` (edge to edge; ``zone_id`` if owned)."""
        key = (zone_id, side)
        if key not in self._nearest:
            self._nearest[key] = self._nearest_territory(zone_id, side)
        return self._nearest[key]

    def _nearest_territory(self, zone_id: str, side: Side) -> str:
        i = self.index[zone_id]
        owned = [j for j, z in enumerate(self.zones) if z.owner == side.value]
        radius = [z.radius_km for z in self.zones]
        return self.zones[
            min(owned, key=lambda j: (0.0 if j == i else self.distance_km[i, j] - radius[i] - radius[j], j))
        ].id


@functools.lru_cache(maxsize=32)
def shared_theatre(zones: tuple[ZoneSpec, ...], links: tuple[tuple[str, str], ...]) -> Theatre:
    """The theatre of these zones and links, built once per process and shared by every replication.

    A theatre is a function of its geometry only and no run changes it (``_nearest`` only memoises
    answers that never change), so thousands of replications of a scenario need not each redo its
    distance matrices.
    """
    return Theatre(zones, links)
