"""Terms and milestones of a regulation profile: records parsed from the profile's YAML.

A term is the answer deadline (`terms.normal`, `terms.high`); a milestone rule places one step of
the workflow relative to another (`route_by: {after: detected, minutes: 30}`,
`draft_due: {before: deadline, minutes: 240}`, `final_answer_by: {after: deadline, working_days: 7}`).
Clocks: "working" counts working time on the profile's schedule; "working_days" counts calendar
hours of working days only (Vyatskiye Polyany §8: weekends and holidays stop the clock).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .calendar import parse_hhmm
from .errors import DataError

CLOCKS = ("working", "working_days")
LEVELS = ("normal", "high")
ANCHORS = ("detected", "deadline")  # plus any milestone name of the same profile


@dataclass(frozen=True)
class Term:
    minutes: int
    clock: str = "working"

    def describe(self) -> dict[str, Any]:
        return {"hours": self.minutes / 60, "minutes": self.minutes, "clock": self.clock}


@dataclass(frozen=True)
class MilestoneRule:
    name: str
    anchor: str  # "detected", "deadline" or another milestone's name
    direction: str  # "after" | "before"
    minutes: int | None = None  # working time (or calendar time of working days, see clock)
    working_days: int | None = None  # end of the N-th working day after the anchor's date
    clock: str = "working"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.direction: self.anchor}
        if self.minutes is not None:
            out["minutes"] = self.minutes
        if self.working_days is not None:
            out["working_days"] = self.working_days
        out["clock"] = self.clock
        return out


@dataclass(frozen=True)
class HighImportancePolicy:
    """What high importance changes for the profile (Sla.shortened / Sla.priority)."""

    shortened: bool = False  # the high term applies instead of the normal one
    priority: bool = True  # handled first


def _clock(value: Any, where: str) -> str:
    clock = value if value is not None else "working"
    if clock not in CLOCKS:
        raise DataError(f"{where}.clock: expected one of {CLOCKS}, got {clock!r}")
    return clock


def parse_term(raw: Any, where: str) -> Term:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping like {{hours: 8, clock: working}}, got {raw!r}")
    hours, minutes = raw.get("hours"), raw.get("minutes")
    if (hours is None) == (minutes is None):
        raise DataError(f"{where}: expected exactly one of 'hours' or 'minutes', got {raw!r}")
    value = hours * 60 if hours is not None else minutes
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or value != int(value):
        raise DataError(f"{where}: expected a positive whole number of minutes, got {raw!r}")
    return Term(int(value), _clock(raw.get("clock"), where))


def parse_terms(raw: Any, where: str) -> dict[str, Term]:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping with 'normal' and 'high', got {raw!r}")
    missing = [level for level in LEVELS if level not in raw]
    if missing:
        raise DataError(f"{where}: expected terms for {LEVELS}, got none for {missing}")
    return {level: parse_term(raw[level], f"{where}.{level}") for level in LEVELS}


def parse_rule(name: str, raw: Any, where: str) -> MilestoneRule:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping like {{after: detected, minutes: 30}}, got {raw!r}")
    directions = [d for d in ("after", "before") if d in raw]
    if len(directions) != 1:
        raise DataError(f"{where}: expected exactly one of 'after' or 'before', got {sorted(raw)}")
    direction = directions[0]
    anchor = raw[direction]
    if not isinstance(anchor, str):
        raise DataError(f"{where}.{direction}: expected an anchor name, got {anchor!r}")
    minutes, days = raw.get("minutes"), raw.get("working_days")
    if (minutes is None) == (days is None):
        raise DataError(f"{where}: expected exactly one of 'minutes' or 'working_days', got {raw!r}")
    for key, value in (("minutes", minutes), ("working_days", days)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise DataError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    if days is not None and direction != "after":
        raise DataError(f"{where}: expected 'working_days' only with 'after', got 'before'")
    return MilestoneRule(name, anchor, direction, minutes, days, _clock(raw.get("clock"), where))


def parse_milestones(raw: Any, where: str) -> dict[str, dict[str, MilestoneRule]]:
    """{'normal': {...}, 'high': {... overrides; null removes}} → full rule sets per level."""
    if not isinstance(raw, dict) or not isinstance(raw.get("normal"), dict):
        raise DataError(f"{where}: expected a mapping with 'normal' (and optional 'high'), got {raw!r}")
    unknown = set(raw) - set(LEVELS)
    if unknown:
        raise DataError(f"{where}: expected levels {LEVELS}, got {sorted(unknown)}")
    normal = {name: parse_rule(name, rule, f"{where}.normal.{name}") for name, rule in raw["normal"].items()}
    high = dict(normal)
    overrides = raw.get("high") or {}
    if not isinstance(overrides, dict):
        raise DataError(f"{where}.high: expected a mapping of overrides, got {overrides!r}")
    for name, rule in overrides.items():
        if rule is None:
            high.pop(name, None)
        else:
            high[name] = parse_rule(name, rule, f"{where}.high.{name}")
    out = {"normal": normal, "high": high}
    for level, rules in out.items():
        _check_order(rules, f"{where}.{level}")
    return out


def _check_order(rules: dict[str, MilestoneRule], where: str) -> None:
    for name in rules:
        if name in ANCHORS:
            raise DataError(f"{where}.{name}: expected a milestone name other than {ANCHORS}, got {name!r}")
    order_milestones(rules, where)


def order_milestones(rules: dict[str, MilestoneRule], where: str = "milestones") -> list[MilestoneRule]:
    """Rules in an order where every anchor comes before the rules that use it."""
    done: set[str] = set(ANCHORS)
    ordered: list[MilestoneRule] = []
    pending = dict(rules)
    while pending:
        ready = [r for r in pending.values() if r.anchor in done]
        if not ready:
            bad = {r.name: r.anchor for r in pending.values()}
            raise DataError(f"{where}: expected anchors among {ANCHORS} or other milestones without cycles, got {bad}")
        for rule in ready:
            ordered.append(rule)
            done.add(rule.name)
            del pending[rule.name]
    return ordered


def parse_high_importance(raw: Any, where: str) -> HighImportancePolicy:
    if raw is None:
        return HighImportancePolicy()
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping {{shortened: bool, priority: bool}}, got {raw!r}")
    for key in ("shortened", "priority"):
        if key in raw and not isinstance(raw[key], bool):
            raise DataError(f"{where}.{key}: expected true or false, got {raw[key]!r}")
    return HighImportancePolicy(bool(raw.get("shortened", False)), bool(raw.get("priority", True)))


def parse_hhmm_optional(value: Any, where: str) -> int | None:
    """"15:45" → seconds from midnight; None stays None."""
    if value is None:
        return None
    return parse_hhmm(value, where)
