"""Worked deadline cases, each computed by hand from the regulation and the calendar.

Schedules (CONTRACT.md): default Mon–Thu 09:00–13:00 + 13:45–18:00 (8h15), Fri 09:00–13:00 +
13:45–16:45 (7h), pre-holiday day one hour shorter (ends 17:00 Mon–Thu, 15:45 Fri).
Vyatskiye Polyany: Mon–Thu 08:00–12:00 + 13:00–17:00, Fri and pre-holiday 09:00–15:45.
Calendar facts used: 2025-04-30 shortened, 2025-05-01..04 and 05-08..11 off; 2025-11-01 (Sat)
working and shortened, 11-02..04 off; 2025-12-31..2026-01-11 off; 2026-06-11 shortened, 06-12 off;
2026-05-08 (Fri) shortened, 05-09..11 off; 2026-11-03 shortened, 11-04 off.
Times are local to the profile unless said otherwise.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from model.calendar import load_calendar
from model.doc import Doc
from model.errors import DataError
from model.profiles import Profiles, load_profile
from model.records import Importance, Post
from model.sla import SlaEngine, SlaTagger
from model.text import normalize

TZ = {"omsk": "Asia/Omsk", "altai_krai": "Asia/Barnaul", "krymsk": "Europe/Moscow",
      "zelenchuk": "Europe/Moscow", "vyatskiye_polyany": "Europe/Moscow", "spb": "Europe/Moscow",
      "kursk": "Europe/Moscow"}


@pytest.fixture(scope="module")
def engines():
    profiles = Profiles.load()
    calendar = load_calendar()
    return {p.id: SlaEngine(p, calendar) for p in profiles}


def local(profile: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ[profile]))


# (profile, level, detected (local), expected deadline (local)) — reasoning in the comment
CASES = [
    # --- Omsk: 9 working hours, high 4 (§6); Asia/Omsk
    ("omsk", "high", "2026-11-20 16:10", "2026-11-23 12:25"),  # Fri 16:10 → 35 min Fri; Mon 09:00 + 3h25 → 12:25
    ("omsk", "normal", "2026-11-20 16:10", "2026-11-24 09:10"),  # 35 min Fri; Mon 8h15 (8h50); Tue 09:00 + 10 min
    ("omsk", "normal", "2026-11-23 09:00", "2026-11-24 09:45"),  # Mon 8h15; Tue 09:00 + 45 min
    ("omsk", "high", "2026-11-23 09:00", "2026-11-23 13:00"),  # 09:00–13:00 is 4h: ends at the break, not 13:45
    ("omsk", "high", "2026-11-24 02:00", "2026-11-24 13:00"),  # night: clock starts Tue 09:00 → 13:00
    ("omsk", "normal", "2026-11-21 12:00", "2026-11-24 09:45"),  # Sat: starts Mon 09:00; Mon 8h15 + Tue 45 min
    ("omsk", "high", "2026-11-26 17:50", "2026-11-27 12:50"),  # Thu 10 min before closing; Fri 09:00 + 3h50
    ("omsk", "high", "2026-11-27 16:40", "2026-11-30 12:55"),  # Fri 5 min; Mon 09:00 + 3h55
    ("omsk", "high", "2026-11-03 15:00", "2026-11-05 11:00"),  # Tue 11-03 pre-holiday ends 17:00: 2h; 11-04 holiday; Thu 09:00 + 2h
    ("omsk", "normal", "2025-12-30 15:00", "2026-01-12 15:45"),  # 3h Tue; 12-31..01-11 off; Mon 09–13 (4h) + 13:45 + 2h
    ("omsk", "high", "2025-10-31 16:00", "2025-11-01 12:15"),  # Fri 45 min; Sat 11-01 is a working day: 09:00 + 3h15
    ("omsk", "normal", "2025-11-01 16:00", "2025-11-05 17:45"),  # working Sat shortened to 17:00: 1h; 11-02..04 off; Wed 4h + 13:45 + 4h
    # --- Altai krai: one term, 9 working hours from detection (§8); Asia/Barnaul
    ("altai_krai", "high", "2026-11-20 16:10", "2026-11-24 09:10"),  # high = same 9h: 35 min Fri, Mon 8h15, Tue + 10 min
    ("altai_krai", "normal", "2026-11-22 15:00", "2026-11-24 09:45"),  # Sunday: starts Mon 09:00; 8h15 + 45 min
    ("altai_krai", "normal", "2026-06-11 14:00", "2026-06-15 15:45"),  # Thu pre-holiday to 17:00: 3h; 06-12..14 off; Mon 4h + 13:45 + 2h
    ("altai_krai", "normal", "2026-11-23 13:00", "2026-11-24 14:30"),  # in the break: starts 13:45; Mon 4h15; Tue 4h + 13:45 + 45 min
    ("altai_krai", "normal", "2026-11-20 09:00", "2026-11-23 11:00"),  # Fri 4h + 3h (to 16:45) = 7h; Mon 09:00 + 2h
    ("altai_krai", "normal", "2025-12-30 10:00", "2026-01-12 10:45"),  # Tue 3h + 4h15 = 7h15; 12-31..01-11 off; Mon 09:00 + 1h45
    ("altai_krai", "high", "2026-11-04 12:00", "2026-11-06 09:45"),  # holiday: Thu 11-05 8h15; Fri 09:00 + 45 min
    # --- Krymsk: 8 working hours (§6), high 4 (§9, §14); Europe/Moscow
    ("krymsk", "normal", "2026-11-23 09:00", "2026-11-23 17:45"),  # 09–13 4h + 13:45–17:45 4h
    ("krymsk", "high", "2026-11-23 09:00", "2026-11-23 13:00"),  # 4h, ends at the break
    ("krymsk", "normal", "2026-11-20 14:00", "2026-11-23 15:00"),  # Fri 14:00–16:45 2h45; Mon 4h + 13:45 + 1h15
    ("krymsk", "normal", "2025-12-30 17:00", "2026-01-12 16:45"),  # New Year: 1h Tue; Mon 01-12 4h + 13:45 + 3h
    ("krymsk", "high", "2026-11-23 13:20", "2026-11-23 17:45"),  # detected in the break: 13:45 + 4h
    ("krymsk", "normal", "2025-04-30 15:00", "2025-05-05 15:45"),  # Wed pre-holiday to 17:00: 2h; 05-01..04 off; Mon 4h + 13:45 + 2h
    ("krymsk", "high", "2025-05-07 16:00", "2025-05-12 11:00"),  # 05-07 not shortened: 2h; 05-08..11 off; Mon 09:00 + 2h
    # --- Zelenchuk: 3 working hours (§6), priority for high (§9); Europe/Moscow
    ("zelenchuk", "normal", "2026-11-23 09:00", "2026-11-23 12:00"),  # 09:00 + 3h
    ("zelenchuk", "high", "2026-11-23 09:00", "2026-11-23 12:00"),  # priority, not a shorter term
    ("zelenchuk", "normal", "2026-11-21 10:00", "2026-11-23 12:00"),  # Sat: Mon 09:00 + 3h
    ("zelenchuk", "normal", "2026-11-20 15:30", "2026-11-23 10:45"),  # Fri 1h15 to 16:45; Mon 09:00 + 1h45
    ("zelenchuk", "normal", "2026-11-26 12:30", "2026-11-26 16:15"),  # 30 min to 13:00; 13:45 + 2h30
    ("zelenchuk", "normal", "2026-11-04 11:00", "2026-11-05 12:00"),  # holiday: Thu 09:00 + 3h
    ("zelenchuk", "normal", "2026-05-08 14:45", "2026-05-12 11:00"),  # pre-holiday Fri ends 15:45: 1h; 05-09..11 off; Tue 09:00 + 2h
    # --- Vyatskiye Polyany: 24 h of working days (§8), high 4 working h on its §10 schedule
    ("vyatskiye_polyany", "normal", "2026-11-20 10:00", "2026-11-23 10:00"),  # Fri 14h to midnight; weekend stops; Mon 00:00 + 10h
    ("vyatskiye_polyany", "normal", "2026-11-20 16:00", "2026-11-23 16:00"),  # Fri 8h; Mon 00:00 + 16h
    ("vyatskiye_polyany", "normal", "2026-11-25 10:00", "2026-11-26 10:00"),  # Wed → Thu: plain 24 h
    ("vyatskiye_polyany", "normal", "2026-11-21 12:00", "2026-11-24 00:00"),  # Sat: clock starts Mon 00:00, 24 h → Mon 24:00
    ("vyatskiye_polyany", "high", "2026-11-23 10:00", "2026-11-23 15:00"),  # 10–12 2h; 13:00 + 2h
    ("vyatskiye_polyany", "high", "2026-11-20 14:00", "2026-11-23 10:15"),  # Fri to 15:45 1h45; Mon 08:00 + 2h15
    ("vyatskiye_polyany", "high", "2026-11-26 16:30", "2026-11-27 12:30"),  # Thu 30 min to 17:00; Fri 09:00 + 3h30
    ("vyatskiye_polyany", "normal", "2025-12-30 20:00", "2026-01-12 20:00"),  # 4h Tue; 12-31..01-11 stop; Mon 00:00 + 20h
    ("vyatskiye_polyany", "normal", "2025-12-30 11:00", "2026-01-12 11:00"),  # 13h Tue; Mon 00:00 + 11h
    ("vyatskiye_polyany", "high", "2026-11-03 08:30", "2026-11-03 13:00"),  # pre-holiday 09:00–15:45 (§10): 09:00 + 4h
    ("vyatskiye_polyany", "high", "2025-10-31 15:00", "2025-11-01 12:15"),  # Fri 45 min to 15:45; working Sat (pre-holiday 09:00–15:45) + 3h15
    # --- SPb and Kursk defaults: 8 working h, high 4
    ("spb", "high", "2026-11-20 16:10", "2026-11-23 12:25"),  # 35 min Fri; Mon 09:00 + 3h25
    ("kursk", "normal", "2026-11-23 09:00", "2026-11-23 17:45"),  # 4h + 13:45 + 4h
]


@pytest.mark.parametrize("profile,level,detected,expected", CASES)
def test_deadline(engines, profile, level, detected, expected):
    sla = engines[profile].compute(local(profile, detected), level)
    assert sla.deadline == local(profile, expected)
    assert sla.deadline.tzinfo == ZoneInfo(TZ[profile])
    assert sla.detected_at == local(profile, detected)


def test_enough_worked_cases():
    five = {"omsk", "altai_krai", "krymsk", "zelenchuk", "vyatskiye_polyany"}
    assert sum(c[0] in five for c in CASES) >= 40
    assert {c[0] for c in CASES} >= five


def test_detected_in_utc_from_a_server_elsewhere(engines):
    # 10:10Z = 16:10 in Omsk (+06): same as the Fri 16:10 high case → Mon 12:25 +06:00 = 06:25Z
    sla = engines["omsk"].compute(datetime(2026, 11, 20, 10, 10, tzinfo=timezone.utc), "high")
    assert sla.deadline == datetime(2026, 11, 23, 6, 25, tzinfo=timezone.utc)
    assert sla.deadline.isoformat() == "2026-11-23T12:25:00+06:00"
    assert sla.detected_at.isoformat() == "2026-11-20T16:10:00+06:00"


def test_naive_detected_at_is_utc(engines):
    # naive 03:00 = 03:00Z = 09:00 Omsk → high 4h → 13:00 +06:00
    sla = engines["omsk"].compute(datetime(2026, 11, 24, 3, 0), "high")
    assert sla.deadline.isoformat() == "2026-11-24T13:00:00+06:00"


def test_moscow_time_to_barnaul(engines):
    # 09:00 MSK = 13:00 Barnaul (break) → starts 13:45; Mon 4h15; Tue 09–13 4h; 13:45 + 45 min → 14:30 +07
    sla = engines["altai_krai"].compute(local("krymsk", "2026-11-23 09:00"), "normal")
    assert sla.deadline.isoformat() == "2026-11-24T14:30:00+07:00"


def fmt(sla) -> dict[str, str]:
    return {k: v.strftime("%Y-%m-%d %H:%M") for k, v in sla.milestones.items()}


def test_omsk_high_milestones(engines):
    sla = engines["omsk"].compute(local("omsk", "2026-11-20 16:10"), "high")
    assert (sla.shortened, sla.priority) == (True, True)
    assert fmt(sla) == {
        "route_by": "2026-11-20 16:40",  # §4 4): 30 min
        "return_by": "2026-11-23 09:25",  # §5: route_by + 30 min: 5 min Fri + 25 min Mon
        "co_executor_input_by": "2026-11-23 09:40",  # §12 4): 45 min for high: 5 + 40
        "draft_due": "2026-11-23 10:25",  # §7 абз. 2: 2 h before the 12:25 deadline
        "approval_by": "2026-11-23 10:55",  # §8: 30 min
        "rework_by": "2026-11-23 11:25",  # §9: 30 min for high
        "publish_by": "2026-11-23 11:25",  # §10: 30 min after approval
    }  # no final_answer_by: §11 for high — agreed with the curator


def test_omsk_normal_milestones(engines):
    sla = engines["omsk"].compute(local("omsk", "2026-11-20 16:10"), "normal")
    assert (sla.shortened, sla.priority) == (False, False)
    got = fmt(sla)
    assert got["draft_due"] == "2026-11-23 14:10"  # deadline Tue 09:10 − 4h: 10 min Tue + 3h50 back from Mon 18:00
    assert got["co_executor_input_by"] == "2026-11-23 10:55"  # route_by Fri 16:40 + 2h: 5 min + 1h55
    assert got["rework_by"] == "2026-11-23 15:40"  # approval 14:40 + 1h
    assert got["final_answer_by"] == "2026-12-03 18:00"  # 7 working days after Tue 11-24: Thu 12-03 end of day


def test_altai_milestones(engines):
    sla = engines["altai_krai"].compute(local("altai_krai", "2026-11-23 09:00"), "normal")
    assert sla.deadline == local("altai_krai", "2026-11-24 09:45")
    assert fmt(sla) == {
        "route_by": "2026-11-23 09:30",  # §6
        "return_by": "2026-11-23 10:00",  # §7
        "co_executor_input_by": "2026-11-23 11:30",  # §14: 2 h
        "draft_due": "2026-11-23 14:45",  # §9: 4 h before Tue 09:45 = 45 min Tue + 3h15 back from Mon 18:00
        "approval_by": "2026-11-23 15:15",  # §10
        "rework_by": "2026-11-23 16:15",  # §11
        "publish_by": "2026-11-23 15:45",  # §12
        "final_answer_by": "2026-12-03 18:00",  # §13: 7 working days after Tue 11-24
    }


def test_altai_high_is_priority_not_shortened(engines):
    sla = engines["altai_krai"].compute(local("altai_krai", "2026-11-23 09:00"), "high")
    assert (sla.shortened, sla.priority) == (False, True)


def test_krymsk_high_milestones(engines):
    sla = engines["krymsk"].compute(local("krymsk", "2026-11-23 09:00"), "high")
    assert fmt(sla) == {
        "route_by": "2026-11-23 09:30",  # §9
        "return_by": "2026-11-23 10:00",
        "draft_due": "2026-11-23 11:00",  # 2 h before 13:00 (see krymsk.yaml on §10)
        "approval_by": "2026-11-23 11:30",  # §11
        "rework_by": "2026-11-23 12:30",  # §12
        "publish_by": "2026-11-23 12:00",  # §13
        "final_answer_by": "2026-12-02 18:00",  # §15: 7 working days after Mon 11-23
    }


def test_zelenchuk_milestones_and_priority(engines):
    sla = engines["zelenchuk"].compute(local("zelenchuk", "2026-11-23 09:00"), "high")
    assert (sla.shortened, sla.priority) == (False, True)
    assert fmt(sla) == {
        "route_by": "2026-11-23 09:30",  # §9
        "return_by": "2026-11-23 10:00",  # §12
        "co_executor_input_by": "2026-11-23 11:30",  # §17
        "draft_due": "2026-11-23 11:00",  # §13: 1 h before 12:00
        "approval_by": "2026-11-23 12:00",  # §14: 1 h
        "rework_by": "2026-11-23 12:30",  # §15: 30 min
        "publish_by": "2026-11-23 12:00",  # §16: 10 min after approval = 12:10, capped at the deadline
        "final_answer_by": "2026-11-24 18:00",  # §7: within 1 working day
    }
    assert sla.notes == []


def test_zelenchuk_day_off_note(engines):
    sla = engines["zelenchuk"].compute(local("zelenchuk", "2026-11-21 10:00"), "normal")
    assert any("§8" in n for n in sla.notes)


def test_vyatskiye_polyany_interim_before_day_off(engines):
    # Fri 10:00 < 15:45 and Sat is a day off → §10 note, interim answer by the end of Friday
    sla = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2026-11-20 10:00"), "normal")
    assert any("§10" in n for n in sla.notes)
    assert fmt(sla) == {
        "route_by": "2026-11-20 10:30",
        "return_by": "2026-11-20 11:30",  # §11: 1 h
        "clarification_by": "2026-11-20 12:30",  # §17: 2 h after routing
        "draft_due": "2026-11-23 08:30",  # §9: 22 h after routing: 13h30 Fri + 8h30 Mon
        "approval_by": "2026-11-23 09:30",  # §13: 1 h in the system
        "publish_by": "2026-11-23 10:00",  # §16: 30 min
        "interim_by": "2026-11-20 15:45",
    }


def test_vyatskiye_polyany_no_interim_after_1545_or_midweek(engines):
    late = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2026-11-20 16:00"), "normal")
    midweek = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2026-11-25 10:00"), "normal")
    transferred = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2025-10-31 15:00"), "high")
    for sla in (late, midweek, transferred):  # Fri 10-31-2025 is followed by a working Saturday
        assert sla.notes == [] and "interim_by" not in sla.milestones


def test_vyatskiye_polyany_interim_before_holiday(engines):
    # Tue 2025-12-30 11:00, Dec 31 off → note; interim by 17:00 (Tue schedule)
    sla = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2025-12-30 11:00"), "normal")
    assert sla.milestones["interim_by"] == local("vyatskiye_polyany", "2025-12-30 17:00")


def test_vyatskiye_polyany_high_milestones(engines):
    sla = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2026-11-23 10:00"), "high")
    got = fmt(sla)
    assert got["return_by"] == "2026-11-23 11:00"  # §11: 30 min for high after routing at 10:30
    assert got["draft_due"] == "2026-11-23 14:30"  # §9: 3 working h after 10:30: 1h30 + 13:00 + 1h30


def test_milestones_capped_at_deadline(engines):
    # Mon 20:00: deadline Tue 20:00 (24 h of a working day); routing waits for Tue 08:00 → 08:30;
    # 22 h after that is Wed 06:30 — past the deadline, so the draft is due at the deadline.
    sla = engines["vyatskiye_polyany"].compute(local("vyatskiye_polyany", "2026-11-23 20:00"), "normal")
    assert sla.deadline == local("vyatskiye_polyany", "2026-11-24 20:00")
    assert sla.milestones["route_by"] == local("vyatskiye_polyany", "2026-11-24 08:30")
    for name in ("draft_due", "approval_by", "publish_by"):
        assert sla.milestones[name] == sla.deadline


@pytest.mark.parametrize("profile", sorted(TZ))
def test_milestones_ordered_and_aware(engines, profile):
    rng = random.Random(7)
    for _ in range(200):
        detected = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        for level in ("normal", "high"):
            sla = engines[profile].compute(detected, level)
            assert sla.deadline > sla.detected_at
            assert sla.milestones["route_by"] > sla.detected_at
            assert sla.milestones["route_by"] <= sla.deadline
            assert sla.milestones["publish_by"] <= sla.deadline
            assert all(v.utcoffset() is not None for v in sla.milestones.values())


@pytest.mark.parametrize("profile", sorted(TZ))
def test_batch_equals_single(engines, profile):
    rng = random.Random(11)
    times = [datetime(2019, 6, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(9 * 365 * 86400))
             for _ in range(400)]
    levels = [rng.choice(["normal", "high"]) for _ in times]
    batch = engines[profile].compute_many(times, levels)
    assert batch == [engines[profile].compute(t, lv) for t, lv in zip(times, levels)]


def make_doc(region: str, **post) -> Doc:
    return Doc(post=Post(id="1", text="x", **post), text=normalize("x"), region=region)


def test_tagger_uses_detected_then_created_then_clock():
    now = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)  # 09:00 MSK
    tagger = SlaTagger(Profiles.load(), clock=lambda: now)
    d1 = make_doc("krymsk", detected_at=datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Moscow")),
                  created_at=datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))
    d2 = make_doc("krymsk", created_at=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    d3 = make_doc("krymsk")
    d4 = make_doc("omsk", detected_at=datetime(2026, 11, 20, 10, 10, tzinfo=timezone.utc))
    d4.importance = Importance("high", 0.9, ["дети"])
    tagger([d1, d2, d3, d4])
    for d in (d1, d2, d3):  # all detected Mon 09:00 MSK, normal → 8 working h → 17:45
        assert d.sla.deadline.isoformat() == "2026-11-23T17:45:00+03:00"
        assert d.sla.profile == "krymsk" and not d.sla.shortened
    assert d4.sla.deadline.isoformat() == "2026-11-23T12:25:00+06:00" and d4.sla.shortened
    assert d4.sla.as_json()["deadline"] == "2026-11-23T12:25:00+06:00"


def test_profile_without_terms_is_a_clear_error(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("id: x\nname: X\ntimezone: Europe/Moscow\n", encoding="utf-8")
    with pytest.raises(DataError, match="terms"):
        SlaEngine(load_profile(path), load_calendar())
