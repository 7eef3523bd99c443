"""Regulation profiles: one YAML data file per region in `data/profiles/<id>.yaml`.

A profile carries the regulation's terms and milestones, the exclusions that apply, the time zone,
the working schedule, the departments and the routing table (topic group → departments,
responsible first). A new region is a new file; nothing here is region-specific.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import DataError, UnknownRegionError
from .paths import DATA_DIR
from .records import EXCLUSION_REASONS

DEFAULT_PROFILES_DIR = DATA_DIR / "profiles"


@dataclass(frozen=True)
class Department:
    id: str
    name: str


@dataclass
class Profile:
    id: str
    name: str
    timezone: str
    exclusions: frozenset[str]
    departments: dict[str, Department]
    # topic group name (or "*" for the default) → department ids, responsible first
    routing: dict[str, list[str]]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def route_for_group(self, group: str | None) -> list[Department]:
        ids = self.routing.get(group or "", None) or self.routing.get("*", [])
        return [self.departments[i] for i in ids]


def _parse(raw: dict[str, Any], path: Path) -> Profile:
    for key in ("id", "name", "timezone"):
        if not isinstance(raw.get(key), str):
            raise DataError(f"{path}: expected string field {key!r}, got {raw.get(key)!r}")
    exclusions = frozenset(raw.get("exclusions") or [])
    unknown = exclusions - set(EXCLUSION_REASONS)
    if unknown:
        raise DataError(f"{path}: expected exclusion reasons from {EXCLUSION_REASONS}, got {sorted(unknown)}")
    departments = {}
    for d in raw.get("departments") or []:
        departments[d["id"]] = Department(d["id"], d["name"])
    routing = {str(k): list(v) for k, v in (raw.get("routing") or {}).items()}
    for group, ids in routing.items():
        missing = [i for i in ids if i not in departments]
        if missing:
            raise DataError(f"{path}: routing[{group!r}] expected department ids, got unknown {missing}")
    return Profile(raw["id"], raw["name"], raw["timezone"], exclusions, departments, routing, raw)


def load_profile(path: Path | str) -> Profile:
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping, got {type(raw).__name__}")
    return _parse(raw, path)


class Profiles:
    """All profiles of a directory, by id."""

    def __init__(self, profiles: dict[str, Profile], default: str):
        self._profiles = profiles
        if default not in profiles:
            raise UnknownRegionError(default, list(profiles))
        self.default = default

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_PROFILES_DIR, default: str = "omsk") -> "Profiles":
        profiles = {}
        for path in sorted(Path(directory).glob("*.yaml")):
            profile = load_profile(path)
            profiles[profile.id] = profile
        return cls(profiles, default)

    def ids(self) -> list[str]:
        return sorted(self._profiles)

    def get(self, region: str | None) -> Profile:
        region = region or self.default
        try:
            return self._profiles[region]
        except KeyError:
            raise UnknownRegionError(region, list(self._profiles)) from None

    def __contains__(self, region: str) -> bool:
        return region in self._profiles

    def __iter__(self):
        return iter(self._profiles.values())
