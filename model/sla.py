"""SLA: the answer deadline and the workflow milestones of a post, in the profile's working time.

`SlaEngine(profile, calendar).compute(detected_at, level)` → `model.records.Sla`; `SlaTagger`
is the pipeline component (sets `doc.sla`).

Time arithmetic runs in the profile's local wall-clock time, on a precomputed timeline of working
intervals (`WorkingTimeline`: every working interval of a range of years, with cumulative working
seconds), so adding N working minutes is two binary searches. Conventions:
- a naive `detected_at` is UTC (the monitoring systems' exports are UTC); every output is
  timezone-aware in the profile's zone;
- a term that ends exactly when a working interval ends ends there (13:00, not 13:45 after the
  break); a "before" milestone that lands exactly at an interval's start is that start;
- the clock starts at the next working moment when a post is detected outside working time;
- no step is due after the answer itself: milestones are capped at the deadline, except
  `rework_by` (a returned draft) and `final_answer_by` (after an interim answer);
- a "before" milestone is never earlier than `route_by` (or detection).
"""
from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from .calendar import ProductionCalendar, WorkSchedule, load_calendar
from .doc import Doc
from .errors import DataError, InputError
from .profiles import Profile, Profiles
from .records import Sla
from .terms import Term, order_milestones

log = logging.getLogger(__name__)

DAY = 86400
_ORD0 = date(2000, 1, 1).toordinal()
# seconds from 1970-01-01 to 2000-01-01: local seconds here count from 2000-01-01
_EPOCH_SHIFT = (_ORD0 - date(1970, 1, 1).toordinal()) * DAY
UNCAPPED = frozenset({"rework_by", "final_answer_by"})
INTERIM_NOTE = ("§10: поступило до 15:45 накануне нерабочего дня — передать исполнителю в тот же день "
                "и дать автору промежуточный ответ")


def _to_local_seconds(dt: datetime, tz: ZoneInfo) -> float:
    """Aware datetime → seconds since 2000-01-01 00:00 of the zone's wall clock."""
    local = dt.astimezone(tz)
    return ((local.toordinal() - _ORD0) * DAY + local.hour * 3600 + local.minute * 60 + local.second
            + local.microsecond / 1e6)


def _from_local_seconds(x: float, tz: ZoneInfo) -> datetime:
    days, rest = divmod(x, DAY)
    d = date.fromordinal(int(days) + _ORD0)
    micro = round(rest * 1e6)
    return datetime.combine(d, time(), tzinfo=tz) + timedelta(microseconds=micro)


class WorkingTimeline:
    """All working intervals of a range of years, with cumulative working seconds.

    clock "working": the schedule's intervals; "working_days": whole working days (00:00–24:00).
    The range grows on demand (a date outside it rebuilds the arrays for a wider range).
    """

    def __init__(self, schedule: WorkSchedule, calendar: ProductionCalendar, clock: str,
                 first_year: int, last_year: int):
        self.schedule = schedule
        self.calendar = calendar
        self.clock = clock
        self._build(first_year, last_year)

    def _build(self, first_year: int, last_year: int) -> None:
        self.first_year, self.last_year = first_year, last_year
        starts, ends, cum_start, cum_end = [], [], [], []
        total = 0.0
        d = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        while d < stop:
            if self.clock == "working_days":
                intervals = ((0, DAY),) if self.calendar.is_working_day(d) else ()
            else:
                intervals = self.schedule.intervals(d, self.calendar)
            base = (d.toordinal() - _ORD0) * DAY
            for s, e in intervals:
                starts.append(base + s)
                ends.append(base + e)
                cum_start.append(total)
                total += e - s
                cum_end.append(total)
            d += timedelta(days=1)
        if not starts:
            raise DataError(f"expected working time in {first_year}–{last_year}, got none")
        self.starts, self.ends, self.cum_start, self.cum_end = starts, ends, cum_start, cum_end
        self.lo = (date(first_year, 1, 1).toordinal() - _ORD0) * DAY
        self.hi = (stop.toordinal() - _ORD0) * DAY
        # a time this far inside the range needs no rebuild (terms are days, not months)
        self.safe_lo, self.safe_hi = self.lo + 40 * DAY, self.hi - 40 * DAY
        self.a_starts, self.a_ends = np.array(starts), np.array(ends)
        self.a_cum_start, self.a_cum_end = np.array(cum_start), np.array(cum_end)
        # working days of the range and the end of their last interval on the schedule
        self.days: list[int] = []
        self.day_ends: list[float] = []
        d = date(first_year, 1, 1)
        while d < stop:
            intervals = self.schedule.intervals(d, self.calendar)
            if intervals:
                index = d.toordinal() - _ORD0
                self.days.append(index)
                self.day_ends.append(index * DAY + intervals[-1][1])
            d += timedelta(days=1)
        self.a_days, self.a_day_ends = np.array(self.days), np.array(self.day_ends)

    # ------------------------------------------------------------------ vectorized (batch) path
    # Same arithmetic as add / subtract / end_of_working_day on numpy arrays; the caller checks
    # `covers` first and uses the scalar methods otherwise (times near the range's edges).

    def covers(self, x: np.ndarray) -> bool:
        return bool(x.size == 0 or (x.min() >= self.safe_lo and x.max() < self.safe_hi))

    def _worked_many(self, x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.a_starts, x, side="right") - 1
        ic = np.maximum(i, 0)
        inside = self.a_cum_start[ic] + (x - self.a_starts[ic])
        worked = np.where(x >= self.a_ends[ic], self.a_cum_end[ic], inside)
        return np.where(i < 0, 0.0, worked)

    def add_many(self, x: np.ndarray, seconds: float) -> np.ndarray | None:
        if seconds <= 0:
            return x.copy()
        target = self._worked_many(x) + seconds
        j = np.searchsorted(self.a_cum_end, target, side="left")
        if j.size and j.max() >= len(self.starts):
            return None
        return self.a_starts[j] + (target - self.a_cum_start[j])

    def subtract_many(self, x: np.ndarray, seconds: float) -> np.ndarray | None:
        target = self._worked_many(x) - seconds
        if target.size and target.min() < 0:
            return None
        j = np.searchsorted(self.a_cum_start, target, side="right") - 1
        return self.a_starts[j] + (target - self.a_cum_start[j])

    def end_of_working_day_many(self, x: np.ndarray, days_after: int) -> np.ndarray | None:
        index = np.floor_divide(x, DAY)
        k = np.searchsorted(self.a_days, index, side="right")
        if days_after == 0:
            prev = np.maximum(k - 1, 0)
            k = np.where((k > 0) & (self.a_days[prev] == index), k - 1, k)
        else:
            k = k + (days_after - 1)
        if k.size and k.max() >= len(self.days):
            return None
        return self.a_day_ends[k]

    def _year(self, x: float) -> int:
        return date.fromordinal(int(x // DAY) + _ORD0).year

    def _cover(self, x: float, margin: int = 0) -> None:
        if x < self.lo + margin * DAY or x >= self.hi - margin * DAY:
            y = self._year(x)
            self._build(min(self.first_year, y - 1), max(self.last_year, y + 1))

    def worked(self, x: float) -> float:
        """Working seconds from the timeline's origin up to local time x."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return 0.0
        if x >= self.ends[i]:
            return self.cum_end[i]
        return self.cum_start[i] + (x - self.starts[i])

    def add(self, x: float, seconds: float) -> float:
        """The moment `seconds` of working time after x (end-of-interval convention)."""
        if not self.safe_lo <= x < self.safe_hi:
            self._cover(x, margin=40)
        if seconds <= 0:
            return x
        starts, cum_start = self.starts, self.cum_start
        while True:
            # inline of worked(x): this is the hot path of the SLA
            i = bisect_right(starts, x) - 1
            if i < 0:
                target = seconds
            elif x >= self.ends[i]:
                target = self.cum_end[i] + seconds
            else:
                target = cum_start[i] + (x - starts[i]) + seconds
            j = bisect_left(self.cum_end, target)
            if j < len(starts):
                return starts[j] + (target - cum_start[j])
            self._build(self.first_year, self.last_year + 2)
            starts, cum_start = self.starts, self.cum_start

    def subtract(self, x: float, seconds: float) -> float:
        """The moment `seconds` of working time before x (start-of-interval convention)."""
        if not self.safe_lo <= x < self.safe_hi:
            self._cover(x, margin=40)
        while True:
            target = self.worked(x) - seconds
            if target >= 0:
                j = bisect_right(self.cum_start, target) - 1
                return self.starts[j] + (target - self.cum_start[j])
            self._build(self.first_year - 2, self.last_year)

    def end_of_working_day(self, x: float, days_after: int) -> float:
        """End of the last working interval of the `days_after`-th working day after x's date
        (days_after = 0: x's own date, or the next working day when x's date is a day off)."""
        if not self.safe_lo <= x < self.safe_hi:
            self._cover(x, margin=40)
        index = int(x // DAY)
        # position of the first working day after x's date, then step over the working days
        k = bisect_right(self.days, index)
        if days_after == 0:
            k = k - 1 if k > 0 and self.days[k - 1] == index else k
        else:
            k += days_after - 1
        while k >= len(self.days):
            self._build(self.first_year, self.last_year + 2)
        return self.day_ends[k]


class SlaEngine:
    """Deadline and milestones for one profile.

    The rules are compiled once into a flat plan per importance level (value slots 0 = detected,
    1 = deadline, then the milestones in dependency order), so `compute` is a short loop of
    binary searches — ≥ 50,000 posts/s (bench/bench_sla.py).
    """

    def __init__(self, profile: Profile, calendar: ProductionCalendar):
        if not profile.terms:
            raise DataError(f"profile {profile.id!r}: expected 'terms' (normal, high) for the SLA, got none")
        self.profile = profile
        self.calendar = calendar
        self.tz = ZoneInfo(profile.timezone)
        self.schedule = profile.work_schedule
        this_year = datetime.now(timezone.utc).year
        first, last = calendar.years
        self._first_last = (min(first, this_year), max(last, this_year + 1))
        self._offset = self._fixed_offset()
        self._timelines: dict[str, WorkingTimeline] = {}
        self._plans = {level: self._compile(level) for level in ("normal", "high")}
        self._made: dict[float, datetime] = {}  # local seconds → aware datetime (see _compute_level)

    def _fixed_offset(self) -> float | None:
        """The zone's UTC offset in seconds if it is the same all over the years we serve."""
        first, last = self._first_last
        offsets = {self.tz.utcoffset(datetime(y, m, 1)) for y in range(first - 1, last + 2) for m in (1, 7)}
        return next(iter(offsets)).total_seconds() if len(offsets) == 1 else None

    def timeline(self, clock: str) -> WorkingTimeline:
        tl = self._timelines.get(clock)
        if tl is None:
            tl = WorkingTimeline(self.schedule, self.calendar, clock, *self._first_last)
            self._timelines[clock] = tl
        return tl

    def term(self, level: str) -> Term:
        use_high = level == "high" and self.profile.high_importance.shortened
        return self.profile.terms["high" if use_high else "normal"]

    def _compile(self, level: str):
        term = self.term(level)
        rules = self.profile.milestones.get(level, {})
        ordered = order_milestones(rules, f"profile {self.profile.id!r}: milestones.{level}")
        slots = {"detected": 0, "deadline": 1}
        steps = []
        for rule in ordered:
            slots[rule.name] = len(slots)
            if rule.working_days is not None:
                kind, amount = "days", rule.working_days
            else:
                kind, amount = ("add" if rule.direction == "after" else "subtract"), rule.minutes * 60
            timeline = self.timeline(rule.clock)
            method = {"add": timeline.add, "subtract": timeline.subtract,
                      "days": timeline.end_of_working_day}[kind]
            many = {"add": timeline.add_many, "subtract": timeline.subtract_many,
                    "days": timeline.end_of_working_day_many}[kind]
            steps.append((slots[rule.name], slots[rule.anchor], method, amount, many, timeline))
        outputs = [(name, slots[name], rules[name].direction == "before", name not in UNCAPPED)
                   for name in rules]  # the YAML's order
        floor = slots.get("route_by", 0)
        return self.timeline(term.clock), term.minutes * 60, steps, outputs, floor

    def _local(self, dt: datetime) -> float:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        if self._offset is not None:
            return dt.timestamp() + self._offset - _EPOCH_SHIFT
        return _to_local_seconds(dt, self.tz)

    def _aware(self, x: float) -> datetime:
        if self._offset is not None:
            return datetime.fromtimestamp(x - self._offset + _EPOCH_SHIFT, self.tz)
        return _from_local_seconds(x, self.tz)

    def compute(self, detected_at: datetime, level: str = "normal") -> Sla:
        """Deadline and milestones of a post detected at `detected_at` (naive = UTC)."""
        high = level == "high"
        x0 = self._local(detected_at)
        timeline, seconds, steps, outputs, floor_slot = self._plans["high" if high else "normal"]
        deadline = timeline.add(x0, seconds)
        values = [x0, deadline] + [0.0] * len(steps)
        for index, anchor, method, amount, _, _ in steps:
            values[index] = method(values[anchor], amount)
        floor = values[floor_slot]
        aware = self._aware
        made: dict[float, datetime] = {}  # milestones often coincide (capped at the deadline)
        milestones = {}
        for name, slot, before, capped in outputs:
            x = values[slot]
            if before and x < floor:
                x = floor
            if capped and x > deadline:
                x = deadline
            dt = made.get(x)
            if dt is None:
                dt = made[x] = aware(x)
            milestones[name] = dt
        notes = self._notes(x0)
        if self.profile.same_day_interim_before is not None:
            interim = self._same_day_interim(x0)
            if interim is not None:
                milestones["interim_by"] = aware(interim)
                notes.append(INTERIM_NOTE)
        policy = self.profile.high_importance
        return Sla(
            profile=self.profile.id,
            shortened=high and policy.shortened,
            priority=high and policy.priority,
            detected_at=aware(x0),
            deadline=made.get(deadline) or aware(deadline),
            milestones=milestones,
            notes=notes,
        )

    def compute_many(self, detected: list[datetime], levels: list[str]) -> list[Sla]:
        """`compute` for many posts at once: the working-time arithmetic runs on numpy arrays
        (same results as `compute`, checked by tests/model/test_sla.py)."""
        out: list[Sla | None] = [None] * len(detected)
        for level in ("normal", "high"):
            rows = [i for i, lv in enumerate(levels) if (lv == "high") == (level == "high")]
            if not rows:
                continue
            x0s = [self._local(detected[i]) for i in rows]
            results = self._compute_level(np.array(x0s, dtype=float), level)
            if results is None:  # near the timeline's edges: the scalar path extends it
                results = [self.compute(detected[i], level) for i in rows]
            for i, sla in zip(rows, results):
                out[i] = sla
        return out  # type: ignore[return-value]

    def _compute_level(self, x0: np.ndarray, level: str) -> list[Sla] | None:
        timeline, seconds, steps, outputs, floor_slot = self._plans[level]
        if not all(tl.covers(x0) for tl in self._timelines.values()):
            return None
        deadline = timeline.add_many(x0, seconds)
        if deadline is None or not all(tl.covers(deadline) for tl in self._timelines.values()):
            return None
        values: dict[int, np.ndarray] = {0: x0, 1: deadline}
        for index, anchor, _, amount, many, tl in steps:
            result = many(values[anchor], amount)
            if result is None:
                return None
            values[index] = result
        floor = values[floor_slot]
        columns = []
        for name, slot, before, capped in outputs:
            x = values[slot]
            if before:
                x = np.maximum(x, floor)
            if capped:
                x = np.minimum(x, deadline)
            columns.append((name, x.tolist()))
        high = level == "high"
        policy = self.profile.high_importance
        shortened, priority = high and policy.shortened, high and policy.priority
        aware, pid = self._aware, self.profile.id
        interim_rule = self.profile.same_day_interim_before is not None
        x0_list, deadline_list = x0.tolist(), deadline.tolist()
        # local time → aware datetime, shared across posts: posts detected in the same night or
        # weekend get the same milestones, so most values repeat within a batch.
        made = self._made
        if len(made) > 50_000:  # bounded: ~5 MB per profile
            made.clear()
        out = []
        for k, x in enumerate(x0_list):
            milestones = {}
            for name, col in columns:
                v = col[k]
                dt = made.get(v)
                if dt is None:
                    dt = made[v] = aware(v)
                milestones[name] = dt
            dl = deadline_list[k]
            notes = self._notes(x)
            if interim_rule:
                interim = self._same_day_interim(x)
                if interim is not None:
                    milestones["interim_by"] = aware(interim)
                    notes.append(INTERIM_NOTE)
            out.append(Sla(pid, shortened, priority, aware(x), made.get(dl) or aware(dl), milestones, notes))
        return out

    def _notes(self, x0: float) -> list[str]:
        if not self.profile.day_off_note:
            return []
        d = date.fromordinal(int(x0 // DAY) + _ORD0)
        return [] if self.calendar.is_working_day(d) else [self.profile.day_off_note]

    def _same_day_interim(self, x0: float) -> float | None:
        """Vyatskiye Polyany §10: detected before 15:45 on a working day followed by a day off →
        handed over the same day, interim answer by the end of that day."""
        cutoff = self.profile.same_day_interim_before
        day_index = int(x0 // DAY)
        if cutoff is None or x0 - day_index * DAY >= cutoff:
            return None
        d = date.fromordinal(day_index + _ORD0)
        if not self.calendar.is_working_day(d) or self.calendar.is_working_day(d + timedelta(days=1)):
            return None
        intervals = self.schedule.intervals(d, self.calendar)
        return day_index * DAY + intervals[-1][1]


class SlaTagger:
    """Pipeline component: sets doc.sla from the post's detection time, profile and importance.

    detected_at = post.detected_at, else post.created_at, else clock() (now, UTC by default).
    """

    name = "sla"

    def __init__(self, profiles: Profiles, calendar: ProductionCalendar | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.profiles = profiles
        self.calendar = calendar if calendar is not None else load_calendar()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._engines: dict[str, SlaEngine] = {}

    def engine(self, region: str) -> SlaEngine:
        engine = self._engines.get(region)
        if engine is None:
            engine = SlaEngine(self.profiles.get(region), self.calendar)
            self._engines[region] = engine
        return engine

    def predict(self, docs: list[Doc]) -> list[Sla]:
        now = None
        by_region: dict[str, list[int]] = {}
        detected: list[datetime] = []
        levels: list[str] = []
        for k, doc in enumerate(docs):
            when = doc.post.detected_at or doc.post.created_at
            if when is None:
                if now is None:
                    now = self.clock()
                when = now
            if not isinstance(when, datetime):
                raise InputError("detected_at", f"expected a datetime, got {type(when).__name__}")
            detected.append(when)
            levels.append(doc.importance.level if doc.importance is not None else "normal")
            by_region.setdefault(doc.region, []).append(k)
        out: list[Sla | None] = [None] * len(docs)
        for region, rows in by_region.items():
            slas = self.engine(region).compute_many([detected[k] for k in rows], [levels[k] for k in rows])
            for k, sla in zip(rows, slas):
                out[k] = sla
        return out  # type: ignore[return-value]

    def set_annotations(self, docs: list[Doc], preds: list[Sla]) -> None:
        for doc, sla in zip(docs, preds):
            doc.sla = sla

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))
