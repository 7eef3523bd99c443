"""Russia's production calendar and a profile's working schedule.

`ProductionCalendar` says which dates are working days (weekends, art. 112 holidays and the
government's transfers from the `holidays` package, corrected and completed by
`data/calendar/ru.yaml`: shortened pre-holiday days, provisional years). `WorkSchedule` turns a
profile's weekly schedule into the working intervals of a given date (seconds from local
midnight), with the pre-holiday shortening of Labour Code art. 95.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays

from . import yamlfile
from .errors import DataError
from .paths import DATA_DIR

log = logging.getLogger(__name__)

DEFAULT_CALENDAR = DATA_DIR / "calendar" / "ru.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[int, int]  # seconds from local midnight, start < end


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


@dataclass
class ProductionCalendar:
    """Working and non-working dates of Russia's five-day week."""

    days_off: set[date]  # holidays and transferred days off that fall on weekdays or weekends
    working_weekend_days: set[date]  # transferred working Saturdays/Sundays
    shortened: set[date]  # pre-holiday days, one hour shorter
    years: tuple[int, int]  # first and last year the data file covers
    provisional: frozenset[int] = frozenset()
    _extended: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CALENDAR) -> "ProductionCalendar":
        path = Path(path)
        with open(path, encoding="utf-8") as f:
            raw = yamlfile.safe_load(f)
        if not isinstance(raw, dict) or not isinstance(raw.get("years"), dict):
            raise DataError(f"{path}: expected a mapping with 'years', got {type(raw).__name__}")
        years = sorted(int(y) for y in raw["years"])
        days_off: set[date] = set()
        working: set[date] = set()
        shortened: set[date] = set()
        provisional = set()
        for year in years:
            entry = raw["years"][year] or {}
            where = f"{path}: years[{year}]"
            package = holidays.country_holidays("RU", years=year)
            days_off.update(package.keys())
            working.update(getattr(package, "weekend_workdays", set()))
            for d in entry.get("extra_days_off") or []:
                days_off.add(_as_date(d, f"{where}.extra_days_off"))
            for d in entry.get("extra_working_days") or []:
                d = _as_date(d, f"{where}.extra_working_days")
                days_off.discard(d)
                if d.weekday() >= 5:
                    working.add(d)
            for d in entry.get("shortened") or []:
                d = _as_date(d, f"{where}.shortened")
                if d.year != year:
                    raise DataError(f"{where}.shortened: expected dates of {year}, got {d}")
                shortened.add(d)
            if entry.get("provisional"):
                provisional.add(year)
        cal = cls(days_off, working, shortened, (years[0], years[-1]), frozenset(provisional))
        bad = sorted(d for d in shortened if not cal.is_working_day(d))
        if bad:
            raise DataError(f"{path}: shortened days must be working days, got days off {bad}")
        return cal

    def _extend(self, year: int) -> None:
        # Outside the data file's years: the package alone (no shortened days) — logged once.
        if year in self._extended or self.years[0] <= year <= self.years[1]:
            return
        self._extended.add(year)
        log.warning("production calendar: %d is outside %d–%d; using the holidays package only "
                    "(no shortened pre-holiday days)", year, *self.years)
        package = holidays.country_holidays("RU", years=year)
        self.days_off.update(package.keys())
        self.working_weekend_days.update(getattr(package, "weekend_workdays", set()))

    def is_working_day(self, d: date) -> bool:
        self._extend(d.year)
        if d in self.working_weekend_days:
            return True
        return d.weekday() < 5 and d not in self.days_off

    def is_pre_holiday(self, d: date) -> bool:
        """A shortened pre-holiday working day (Labour Code art. 95)."""
        self._extend(d.year)
        return d in self.shortened

    def is_transferred_working_day(self, d: date) -> bool:
        return d in self.working_weekend_days

    def working_days(self, year: int) -> int:
        d, n = date(year, 1, 1), 0
        while d.year == year:
            n += self.is_working_day(d)
            d += timedelta(days=1)
        return n

    def next_working_day(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d


@lru_cache(maxsize=4)
def load_calendar(path: Path | str = DEFAULT_CALENDAR) -> ProductionCalendar:
    """The production calendar, loaded once per path (it is read-only after loading)."""
    return ProductionCalendar.load(path)


def parse_hhmm(value: Any, where: str) -> int:
    """"08:30" → seconds from midnight; "24:00" is allowed as the end of a day."""
    try:
        hh, mm = str(value).split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise DataError(f"{where}: expected time HH:MM, got {value!r}") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise DataError(f"{where}: expected time HH:MM between 00:00 and 24:00, got {value!r}")
    return h * 3600 + m * 60


def parse_intervals(value: Any, where: str) -> tuple[Interval, ...]:
    """["08:00-12:00", "13:00-17:00"] → ((28800, 43200), (46800, 61200)), checked and ordered."""
    if not isinstance(value, list):
        raise DataError(f"{where}: expected a list of 'HH:MM-HH:MM', got {value!r}")
    out: list[Interval] = []
    for i, item in enumerate(value):
        parts = str(item).split("-")
        if len(parts) != 2:
            raise DataError(f"{where}[{i}]: expected 'HH:MM-HH:MM', got {item!r}")
        start, end = parse_hhmm(parts[0], f"{where}[{i}]"), parse_hhmm(parts[1], f"{where}[{i}]")
        if start >= end:
            raise DataError(f"{where}[{i}]: expected start before end, got {item!r}")
        if out and start < out[-1][1]:
            raise DataError(f"{where}[{i}]: expected ordered, non-overlapping intervals, got {item!r}")
        out.append((start, end))
    return tuple(out)


def format_intervals(intervals: tuple[Interval, ...]) -> list[str]:
    def hhmm(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}"

    return [f"{hhmm(a)}-{hhmm(b)}" for a, b in intervals]


def shorten(intervals: tuple[Interval, ...], seconds: int) -> tuple[Interval, ...]:
    """Cut `seconds` off the end of the day (the last intervals first)."""
    out = list(intervals)
    while seconds > 0 and out:
        start, end = out[-1]
        if end - start > seconds:
            out[-1] = (start, end - seconds)
            seconds = 0
        else:
            seconds -= end - start
            out.pop()
    return tuple(out)


@dataclass(frozen=True)
class WorkSchedule:
    """A weekly working schedule with the production calendar's exceptions.

    week: weekday index (0 = Monday) → intervals; a weekday not listed is a day off.
    pre_holiday: explicit intervals of a pre-holiday day (Vyatskiye Polyany §10), or None to
    shorten the usual day by `pre_holiday_shorten` seconds (Labour Code art. 95: one hour).
    transferred_as: weekday index whose intervals a transferred working Saturday/Sunday uses.
    """

    week: tuple[tuple[Interval, ...], ...]  # 7 entries, Monday first
    pre_holiday: tuple[Interval, ...] | None = None
    pre_holiday_shorten: int = 3600
    transferred_as: int = 0

    @classmethod
    def from_raw(cls, raw: Any, where: str) -> "WorkSchedule":
        if not isinstance(raw, dict) or not isinstance(raw.get("week"), dict):
            raise DataError(f"{where}: expected a mapping with 'week' (mon..sun → intervals), got {raw!r}")
        unknown = set(raw["week"]) - set(WEEKDAYS)
        if unknown:
            raise DataError(f"{where}.week: expected weekday keys {WEEKDAYS}, got {sorted(unknown)}")
        week = tuple(parse_intervals(raw["week"].get(day) or [], f"{where}.week.{day}") for day in WEEKDAYS)
        if not any(week):
            raise DataError(f"{where}.week: expected at least one working day, got none")
        pre = raw.get("pre_holiday")
        pre_intervals = parse_intervals(pre, f"{where}.pre_holiday") if pre is not None else None
        minutes = raw.get("pre_holiday_shorten_minutes", 60)
        if not isinstance(minutes, int) or minutes < 0:
            raise DataError(f"{where}.pre_holiday_shorten_minutes: expected a non-negative integer, got {minutes!r}")
        as_day = raw.get("transferred_working_day_as", "mon")
        if as_day not in WEEKDAYS:
            raise DataError(f"{where}.transferred_working_day_as: expected one of {WEEKDAYS}, got {as_day!r}")
        return cls(week, pre_intervals, minutes * 60, WEEKDAYS.index(as_day))

    def intervals(self, d: date, calendar: ProductionCalendar) -> tuple[Interval, ...]:
        """Working intervals of date `d` (seconds from local midnight); () on a day off."""
        if not calendar.is_working_day(d):
            return ()
        weekday = d.weekday()
        base = self.week[self.transferred_as if weekday >= 5 else weekday]
        if calendar.is_pre_holiday(d):
            if self.pre_holiday is not None:
                return self.pre_holiday
            return shorten(base, self.pre_holiday_shorten)
        return base

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"week": {WEEKDAYS[i]: format_intervals(iv) for i, iv in enumerate(self.week) if iv}}
        if self.pre_holiday is not None:
            out["pre_holiday"] = format_intervals(self.pre_holiday)
        else:
            out["pre_holiday_shorten_minutes"] = self.pre_holiday_shorten // 60
        out["transferred_working_day_as"] = WEEKDAYS[self.transferred_as]
        return out
