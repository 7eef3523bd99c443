"""Production calendar: known years pinned from the government decrees and official calendars."""
from __future__ import annotations

from datetime import date

import pytest

from model.calendar import ProductionCalendar, WorkSchedule, load_calendar, parse_intervals, shorten
from model.errors import DataError


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    return load_calendar()


# official number of working days of a five-day week, and hours of a 40-hour week
@pytest.mark.parametrize("year,days,hours", [
    (2020, 248, 1979), (2021, 247, 1972), (2022, 247, 1973), (2023, 247, 1973),
    (2024, 248, 1979), (2025, 247, 1972), (2026, 247, 1972),
])
def test_year_totals(cal, year, days, hours):
    assert cal.working_days(year) == days
    shortened = sum(1 for d in cal.shortened if d.year == year)
    assert days * 8 - shortened == hours


DAYS_OFF = {
    2021: ["2021-01-01", "2021-01-08", "2021-02-22", "2021-02-23", "2021-03-08", "2021-05-03",
           "2021-05-10", "2021-06-14", "2021-11-04", "2021-11-05", "2021-12-31"],
    2023: ["2023-01-02", "2023-02-23", "2023-02-24", "2023-03-08", "2023-05-01", "2023-05-08",
           "2023-05-09", "2023-06-12", "2023-11-06"],
    2024: ["2024-01-08", "2024-02-23", "2024-03-08", "2024-04-29", "2024-04-30", "2024-05-01",
           "2024-05-09", "2024-05-10", "2024-06-12", "2024-11-04", "2024-12-30", "2024-12-31"],
    2025: ["2025-01-01", "2025-01-08", "2025-05-01", "2025-05-02", "2025-05-08", "2025-05-09",
           "2025-06-12", "2025-06-13", "2025-11-03", "2025-11-04", "2025-12-31"],
    2026: ["2026-01-09", "2026-02-23", "2026-03-09", "2026-05-01", "2026-05-11", "2026-06-12",
           "2026-11-04", "2026-12-31"],
}
WORKING = {
    2021: ["2021-02-20", "2021-01-11", "2021-11-03", "2021-12-30"],  # Sat 02-20 worked
    2023: ["2023-01-09", "2023-02-22", "2023-11-03"],
    2024: ["2024-04-27", "2024-11-02", "2024-12-28", "2024-01-09"],  # three working Saturdays
    2025: ["2025-11-01", "2025-01-09", "2025-05-07", "2025-12-30"],  # Sat 11-01 worked
    2026: ["2026-01-12", "2026-03-06", "2026-05-08", "2026-12-30"],
}
SHORTENED = {
    2021: ["2021-02-20", "2021-04-30", "2021-06-11", "2021-11-03"],
    2023: ["2023-02-22", "2023-03-07", "2023-11-03"],
    2024: ["2024-02-22", "2024-03-07", "2024-05-08", "2024-06-11", "2024-11-02"],
    2025: ["2025-03-07", "2025-04-30", "2025-06-11", "2025-11-01"],
    2026: ["2026-04-30", "2026-05-08", "2026-06-11", "2026-11-03"],
}


@pytest.mark.parametrize("year", sorted(DAYS_OFF))
def test_pinned_years(cal, year):
    for d in DAYS_OFF[year]:
        assert not cal.is_working_day(date.fromisoformat(d)), d
    for d in WORKING[year]:
        assert cal.is_working_day(date.fromisoformat(d)), d
    got = sorted(d.isoformat() for d in cal.shortened if d.year == year)
    assert got == SHORTENED[year]


def test_not_shortened_before_transferred_days_off(cal):
    # the official calendars do not shorten a day followed by a transferred day off
    for d in ("2025-05-07", "2025-12-30", "2024-12-28", "2024-04-27"):
        assert cal.is_working_day(date.fromisoformat(d)) and not cal.is_pre_holiday(date.fromisoformat(d))


def test_2020_presidential_non_working_days_are_working_for_administrations(cal):
    # documented decision in data/calendar/ru.yaml
    assert cal.is_working_day(date(2020, 4, 15)) and cal.is_working_day(date(2020, 6, 24))


def test_2027_is_provisional(cal):
    assert 2027 in cal.provisional and 2026 not in cal.provisional


def test_outside_the_file_falls_back_to_the_package(cal):
    assert not cal.is_working_day(date(2030, 1, 3))
    assert cal.is_working_day(date(2030, 1, 15))


DEFAULT = {"week": {"mon": ["09:00-13:00", "13:45-18:00"], "fri": ["09:00-13:00", "13:45-16:45"]},
           "pre_holiday_shorten_minutes": 60}


def test_schedule_intervals(cal):
    s = WorkSchedule.from_raw(DEFAULT, "t")
    h = 3600
    assert s.intervals(date(2026, 11, 23), cal) == ((9 * h, 13 * h), (13 * h + 2700, 18 * h))  # Mon
    assert s.intervals(date(2026, 11, 21), cal) == ()  # Sat
    assert s.intervals(date(2026, 11, 4), cal) == ()  # holiday
    assert s.intervals(date(2026, 5, 8), cal) == ((9 * h, 13 * h), (13 * h + 2700, 15 * h + 2700))  # Fri, shortened
    assert s.intervals(date(2025, 11, 1), cal) == ((9 * h, 13 * h), (13 * h + 2700, 17 * h))  # working Sat as Mon, shortened


def test_explicit_pre_holiday_intervals(cal):
    s = WorkSchedule.from_raw({**DEFAULT, "pre_holiday": ["09:00-15:45"]}, "t")
    assert s.intervals(date(2026, 11, 3), cal) == ((9 * 3600, 15 * 3600 + 2700),)


def test_shorten_eats_whole_intervals():
    assert shorten(((0, 100), (200, 250)), 80) == ((0, 70),)


@pytest.mark.parametrize("bad,match", [
    (["09:00-08:00"], "start before end"),
    (["09:00-13:00", "12:00-14:00"], "non-overlapping"),
    (["9-13"], "HH:MM"),
    (["25:00-26:00"], "between 00:00 and 24:00"),
    ("09:00-18:00", "list"),
])
def test_bad_intervals(bad, match):
    with pytest.raises(DataError, match=match):
        parse_intervals(bad, "schedule.week.mon")


def test_bad_schedule_fields():
    with pytest.raises(DataError, match="weekday keys"):
        WorkSchedule.from_raw({"week": {"monday": ["09:00-18:00"]}}, "t")
    with pytest.raises(DataError, match="transferred_working_day_as"):
        WorkSchedule.from_raw({**DEFAULT, "transferred_working_day_as": "x"}, "t")


def test_bad_calendar_file(tmp_path):
    path = tmp_path / "ru.yaml"
    path.write_text("years:\n  2025:\n    shortened: [2025-05-09]\n", encoding="utf-8")
    with pytest.raises(DataError, match="working days"):
        ProductionCalendar.load(path)
    path.write_text("years:\n  2025:\n    shortened: [2024-05-08]\n", encoding="utf-8")
    with pytest.raises(DataError, match="dates of 2025"):
        ProductionCalendar.load(path)
