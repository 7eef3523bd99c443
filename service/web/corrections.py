"""A curator's correction form → the corrected tagging (contract JSON).

Only what the curator changed is replaced; what otklik found and the curator kept (evidence spans of
a kept exclusion, location mentions of an unchanged location) stays, so the decision log shows the
exact difference. A changed part gets score 1.0: it is the curator's answer, not a guess.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from model.errors import InputError
from model.profiles import Profile
from model.records import EXCLUSION_REASONS
from model.rubricator import Rubricator

LOCATION_PARTS = ("municipality", "district", "settlement", "street", "house")
CURATOR_REASON = "решение куратора"


@dataclass
class CorrectionForm:
    topic: str | None = None
    location: dict[str, str | None] = field(default_factory=dict)
    importance: str | None = None
    exclusions: list[str] = field(default_factory=list)
    responsible: str | None = None  # department id of the profile
    co_executors: list[str] = field(default_factory=list)


def corrected_tagging(current: dict[str, Any], form: CorrectionForm, rubricator: Rubricator, profile: Profile) -> dict[str, Any]:
    after = copy.deepcopy(current)
    _topic(after, form, rubricator)
    _location(after, form)
    _importance(after, form)
    _exclusions(after, form, profile)
    _route(after, form, profile)
    return after


def _topic(after: dict, form: CorrectionForm, rubricator: Rubricator) -> None:
    if not form.topic:
        if after.get("topic") is not None:
            raise InputError("topic", "expected a rubricator topic, got none")
        return
    if not rubricator.has_topic(form.topic):
        raise InputError("topic", f"expected a rubricator topic name, got {form.topic!r}")
    old = after.get("topic") or {}
    if old.get("name") == form.topic:
        return
    rt = rubricator.topic(form.topic)
    after["topic"] = {"name": rt.name, "group": rt.group, "score": 1.0, "alternatives": [],
                      "group_score": 1.0, "urgent": rt.urgent}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:256] or None


def _location(after: dict, form: CorrectionForm) -> None:
    old = after.get("location") or {}
    parts = {p: _clean(form.location.get(p)) for p in LOCATION_PARTS}
    if all(parts.get(p) == old.get(p) for p in LOCATION_PARTS):
        return
    if not any(parts.values()):
        after["location"] = None
        return
    after["location"] = {**parts, "mentions": [], "source": "curator"}


def _importance(after: dict, form: CorrectionForm) -> None:
    if form.importance is None:
        return
    if form.importance not in ("normal", "high"):
        raise InputError("importance", f"expected normal or high, got {form.importance!r}")
    old = after.get("importance") or {}
    if old.get("level") == form.importance:
        return
    after["importance"] = {"level": form.importance, "score": 1.0, "reasons": [CURATOR_REASON]}


def _exclusions(after: dict, form: CorrectionForm, profile: Profile) -> None:
    unknown = [r for r in form.exclusions if r not in EXCLUSION_REASONS]
    if unknown:
        raise InputError("exclusions", f"expected reasons from {EXCLUSION_REASONS}, got {unknown}")
    old = {e["reason"]: e for e in after.get("exclusions") or []}
    chosen = set(form.exclusions)
    if chosen == set(old):  # the form shows every listed reason checked
        return
    out = []
    for reason in EXCLUSION_REASONS:
        if reason not in chosen:
            continue
        kept = old.get(reason)
        applies = reason in profile.exclusions
        if kept is not None:
            out.append({**kept, "applies": applies})
        else:
            out.append({"reason": reason, "score": 1.0, "applies": applies, "evidence": []})
    after["exclusions"] = out
    after["actionable"] = not any(e["applies"] for e in out)


def _route(after: dict, form: CorrectionForm, profile: Profile) -> None:
    if not form.responsible:
        if form.co_executors:
            raise InputError("responsible", "expected a responsible department when co-executors are given, got none")
        return
    ids = [form.responsible] + [d for d in form.co_executors if d != form.responsible]
    unknown = [d for d in ids if d not in profile.departments]
    if unknown:
        raise InputError("responsible", f"expected departments of profile {profile.id}, got unknown {unknown}")
    names = [profile.departments[d].name for d in ids]
    old = [(e.get("name"), e.get("role")) for e in (after.get("route") or {}).get("executors") or []]
    new = [(n, "responsible" if i == 0 else "co-executor") for i, n in enumerate(names)]
    if old == new:
        return
    after["route"] = {
        "executors": [{"name": n, "role": role, "score": 1.0} for n, role in new],
        "needs_review": False,
    }
