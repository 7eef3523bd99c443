"""Regulation profiles: one YAML data file per region in `data/profiles/<id>.yaml`.

A profile carries the regulation's terms and milestones, the exclusions that apply, the time zone,
the working schedule, the departments and the routing table (topic group → departments,
responsible first). A new region is a new file; nothing here is region-specific.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import yamlfile
from .calendar import WorkSchedule
from .errors import DataError, UnknownRegionError
from .paths import DATA_DIR
from .records import EXCLUSION_REASONS
from .terms import (
    HighImportancePolicy,
    MilestoneRule,
    Term,
    parse_high_importance,
    parse_hhmm_optional,
    parse_milestones,
    parse_terms,
)

DEFAULT_PROFILES_DIR = DATA_DIR / "profiles"

# CONTRACT.md: Mon–Thu 09:00–18:00, Fri 09:00–16:45, break 13:00–13:45; pre-holiday one hour shorter.
DEFAULT_SCHEDULE = WorkSchedule.from_raw(
    {"week": {"mon": ["09:00-13:00", "13:45-18:00"], "tue": ["09:00-13:00", "13:45-18:00"],
              "wed": ["09:00-13:00", "13:45-18:00"], "thu": ["09:00-13:00", "13:45-18:00"],
              "fri": ["09:00-13:00", "13:45-16:45"]}},
    "default schedule",
)


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
    # parsed regulation terms (profiles/SLA engineer); optional so that minimal profiles still load
    schedule: WorkSchedule | None = None  # None → CONTRACT.md default schedule
    terms: dict[str, Term] = field(default_factory=dict)  # "normal" / "high" → answer term
    milestones: dict[str, dict[str, MilestoneRule]] = field(default_factory=dict)  # level → name → rule
    high_importance: HighImportancePolicy = field(default_factory=HighImportancePolicy)
    regulation: dict[str, Any] = field(default_factory=dict)
    curator: str | None = None
    # location name (district / settlement / municipality) → department id of that territory
    territories: dict[str, str] = field(default_factory=dict)
    same_day_interim_before: int | None = None  # seconds from midnight (Vyatskiye Polyany §10)
    day_off_note: str | None = None  # a note for posts detected on a day off (Zelenchuk §8)

    @property
    def work_schedule(self) -> WorkSchedule:
        return self.schedule or DEFAULT_SCHEDULE

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for GET /v1/profiles (everything but the raw YAML)."""
        return {
            "id": self.id,
            "name": self.name,
            "regulation": dict(self.regulation),
            "timezone": self.timezone,
            "schedule": self.work_schedule.describe(),
            "terms": {level: term.describe() for level, term in self.terms.items()},
            "high_importance": {"shortened": self.high_importance.shortened,
                                "priority": self.high_importance.priority},
            "milestones": {level: {name: rule.describe() for name, rule in rules.items()}
                           for level, rules in self.milestones.items()},
            "exclusions": sorted(self.exclusions),
            "curator": self.curator,
            "departments": [{"id": d.id, "name": d.name} for d in self.departments.values()],
            "routing": {group: list(ids) for group, ids in self.routing.items()},
            "territories": dict(self.territories),
        }

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
    where = str(path)
    try:
        ZoneInfo(raw["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"{path}: timezone expected an IANA zone like 'Europe/Moscow', got {raw['timezone']!r}") from None
    schedule = WorkSchedule.from_raw(raw["schedule"], f"{where}: schedule") if "schedule" in raw else None
    terms = parse_terms(raw["terms"], f"{where}: terms") if "terms" in raw else {}
    milestones = parse_milestones(raw["milestones"], f"{where}: milestones") if "milestones" in raw else {}
    territories = raw.get("territories") or {}
    if not isinstance(territories, dict):
        raise DataError(f"{path}: territories expected a mapping name → department id, got {territories!r}")
    missing = sorted({str(v) for v in territories.values()} - set(departments))
    if missing:
        raise DataError(f"{path}: territories expected department ids, got unknown {missing}")
    regulation = raw.get("regulation") or {}
    if not isinstance(regulation, dict):
        raise DataError(f"{path}: regulation expected a mapping (act, date, number), got {regulation!r}")
    day_off_note = raw.get("day_off_note")
    if day_off_note is not None and not isinstance(day_off_note, str):
        raise DataError(f"{path}: day_off_note expected a string, got {day_off_note!r}")
    return Profile(
        raw["id"], raw["name"], raw["timezone"], exclusions, departments, routing, raw,
        schedule=schedule,
        terms=terms,
        milestones=milestones,
        high_importance=parse_high_importance(raw.get("high_importance"), f"{where}: high_importance"),
        regulation={k: (str(v) if v is not None else None) for k, v in regulation.items()},
        curator=raw.get("curator"),
        territories={str(k): str(v) for k, v in territories.items()},
        same_day_interim_before=parse_hhmm_optional(raw.get("same_day_interim_before"),
                                                    f"{where}: same_day_interim_before"),
        day_off_note=day_off_note,
    )


def load_profile(path: Path | str) -> Profile:
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        raw = yamlfile.safe_load(f)
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
