"""Coordinates → district and municipality, plus the St Petersburg street index (the trained "geo" component).

`GeoIndex` is fitted by `training/geo.py` and stored in the model artifact:
- St Petersburg: a k-nearest-neighbours classifier (haversine, ball tree) over the portal's
  message points, labelled with the portal's district and municipal unit (МО); a point farther
  than `max_km` from every known point is not answered;
- other regions: city centroids (hflabs/city) with a radius growing with the population;
- `streets_`: {profile: [(canonical street, district or None, municipality or None, search keys), ...]}
  merged into that profile's gazetteer by `LocationTagger.from_data`.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator
from sklearn.neighbors import BallTree
from sklearn.utils.validation import check_is_fitted

from .errors import InputError

EARTH_KM = 6371.0088


def check_point(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError) as exc:
        raise InputError("geo", f"expected numeric lat/lon, got {lat!r}, {lon!r}") from exc
    if not (-90.0 <= lat <= 90.0) or math.isnan(lat):
        raise InputError("geo.lat", f"expected a latitude in [-90, 90], got {lat}")
    if not (-180.0 <= lon <= 180.0) or math.isnan(lon):
        raise InputError("geo.lon", f"expected a longitude in [-180, 180], got {lon}")
    return lat, lon


class GeoIndex(BaseEstimator):
    def __init__(self, n_neighbors: int = 5, max_km: float = 1.5):
        self.n_neighbors = n_neighbors
        self.max_km = max_km

    def fit(
        self,
        points: np.ndarray,
        labels: list[tuple[str, str | None, str | None]],
        centroids: list[tuple[float, float, float, str | None, str | None]] = (),
        streets: dict[str, list[tuple]] | None = None,
    ) -> "GeoIndex":
        """points: (n, 2) lat/lon in degrees; labels: (district, municipality, settlement) per point;
        centroids: (lat, lon, radius_km, municipality, settlement) of towns; streets: see module doc."""
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels) or not len(points):
            raise ValueError(f"expected (n, 2) points and n labels, got {points.shape} and {len(labels)}")
        self.labels_ = sorted(set(labels), key=lambda t: tuple(x or "" for x in t))
        index = {lab: k for k, lab in enumerate(self.labels_)}
        self.y_ = np.array([index[lab] for lab in labels], dtype=np.int32)
        # a bare ball tree, queried once per point: a KNeighborsClassifier costs ~1 ms a call in checks
        self.tree_ = BallTree(np.radians(points), metric="haversine")
        self.k_ = min(self.n_neighbors, len(points))
        c = list(centroids)
        self.centroids_ = np.radians(np.array([[x[0], x[1]] for x in c], dtype=float)).reshape(-1, 2)
        self.centroid_radius_km_ = np.array([x[2] for x in c], dtype=float)
        self.centroid_names_ = [(x[3], x[4]) for x in c]
        self.streets_ = dict(streets or {})
        return self

    def locate(self, lat: float, lon: float, region: str | None = None) -> dict[str, str | None] | None:
        """{"municipality", "district", "settlement"} for a point, or None when it is not known."""
        return self.locate_many([(lat, lon)])[0]

    def locate_many(self, points: list[tuple[float, float]]) -> list[dict[str, str | None] | None]:
        """`locate` for many points with one tree query (a query costs ~0.3 ms in checks alone)."""
        check_is_fitted(self, "tree_")
        if not points:
            return []
        checked = [check_point(lat, lon) for lat, lon in points]
        chord, idx = self._kdtree().query(_unit_vectors(np.radians(np.array(checked, dtype=float))), k=self.k_)
        chord, idx = np.asarray(chord).reshape(len(checked), -1), np.asarray(idx).reshape(len(checked), -1)
        dist = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0))  # chord length → great-circle angle
        return [self._answer(lat, lon, d, i) for (lat, lon), d, i in zip(checked, dist, idx)]

    def _kdtree(self) -> cKDTree:
        """The fitted points as 3-d unit vectors in a k-d tree: the same neighbours, in the same order,
        as the haversine ball tree (chord length grows with the angle), at ~1/20 of the query cost."""
        tree = self.__dict__.get("_kd")
        if tree is None:
            tree = self.__dict__["_kd"] = cKDTree(_unit_vectors(np.asarray(self.tree_.data)))
        return tree

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_kd", None)  # rebuilt from tree_ on first use (~20 ms)
        return state

    def _answer(self, lat: float, lon: float, dist: np.ndarray, idx: np.ndarray) -> dict[str, str | None] | None:
        if dist[0] * EARTH_KM <= self.max_km:
            k = self._vote(dist, idx)
            district, municipality, settlement = self.labels_[k]
            return {"municipality": municipality, "district": district, "settlement": settlement}
        if len(self.centroids_):
            d = _haversine_km(np.radians(lat), np.radians(lon), self.centroids_[:, 0], self.centroids_[:, 1])
            best = int(np.argmin(d / self.centroid_radius_km_))
            if d[best] <= self.centroid_radius_km_[best]:
                municipality, settlement = self.centroid_names_[best]
                return {"municipality": municipality, "district": None, "settlement": settlement}
        return None

    def _vote(self, dist: np.ndarray, idx: np.ndarray) -> int:
        """Distance-weighted majority of the neighbours' labels (an exact hit decides alone)."""
        labels = self.y_[idx]
        if dist[0] == 0.0:
            exact = labels[dist == 0.0]
            return int(np.bincount(exact).argmax())
        weights = np.bincount(labels, weights=1.0 / dist)
        return int(weights.argmax())

    def predict(self, points: np.ndarray) -> list[tuple[str, str | None, str | None] | None]:
        """(district, municipality, settlement) per (lat, lon) row; None where unknown (for evaluation)."""
        out = []
        for lat, lon in np.asarray(points, dtype=float):
            g = self.locate(lat, lon)
            out.append(None if g is None else (g["district"], g["municipality"], g["settlement"]))
        return out


def _unit_vectors(latlon_radians: np.ndarray) -> np.ndarray:
    lat, lon = latlon_radians[:, 0], latlon_radians[:, 1]
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _haversine_km(lat1, lon1, lat2, lon2):
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(a))


def majority(values: list[str | None], share: float = 0.8) -> str | None:
    """The value held by at least `share` of `values`, else None (a street crossing districts)."""
    values = [v for v in values if v]
    if not values:
        return None
    value, n = Counter(values).most_common(1)[0]
    return value if n / len(values) >= share else None
