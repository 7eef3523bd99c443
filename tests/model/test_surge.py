"""Surges: an issue whose post rate in a window is far above its usual rate."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from model.history import HistoryEntry, MemoryHistoryStore
from model.surge import SurgeDetector

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
WATER, ROADS = "ЖКХ", "Дороги"


def entry(pid, hours_ago, group, place, region="omsk", incident=None):
    return HistoryEntry(post_id=pid, author_id=f"a-{pid}", region=region, created_at=NOW - timedelta(hours=hours_ago),
                        group=group, place=place, incident_id=incident)


@pytest.fixture()
def store():
    """Four weeks of ordinary traffic: about 2 water posts a day per district, 6 road posts a day."""
    rng = random.Random(5)
    s = MemoryHistoryStore()
    entries = []
    for day in range(1, 29):
        for district in ("Омск / Кировский округ", "Омск / Советский округ"):
            for k in range(rng.randint(1, 3)):
                entries.append(entry(f"w{day}-{district[-8:]}-{k}", day * 24 + rng.uniform(0, 23), WATER, district))
        for k in range(6):
            entries.append(entry(f"r{day}-{k}", day * 24 + rng.uniform(0, 23), ROADS, "Омск / Советский округ"))
    # today's ordinary posts
    entries += [entry(f"r-today-{k}", k + 0.5, ROADS, "Омск / Советский округ") for k in range(2)]
    entries.append(entry("w-today", 3, WATER, "Омск / Советский округ"))
    s.add_many(entries)
    return s


def test_a_burst_on_one_issue_is_reported_with_its_posts(store):
    burst = [entry(f"b{k}", 0.2 + k * 0.3, WATER, "Омск / Кировский округ", incident="inc-b0") for k in range(14)]
    store.add_many(burst)
    alerts = SurgeDetector().detect(store, until=NOW)
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert (a.region, a.group, a.place) == ("omsk", WATER, "Омск / Кировский округ")
    assert a.count == 14 and set(a.post_ids) == {e.post_id for e in burst}
    assert a.ratio > 10 and a.p_value < 1e-6 and a.incident_ids == ["inc-b0"]
    assert a.window_end - a.window_start == timedelta(hours=6)


def test_ordinary_traffic_and_small_bursts_are_not_surges(store):
    assert SurgeDetector().detect(store, until=NOW) == []
    store.add_many([entry(f"s{k}", k, WATER, "Омск / Советский округ") for k in range(3)])
    assert SurgeDetector().detect(store, until=NOW) == []


def test_a_busy_issue_needs_far_more_than_its_usual_rate(store):
    # roads see ~6 a day: 5 in six hours is above usual, not a surge; 25 is
    store.add_many([entry(f"x{k}", k, ROADS, "Омск / Советский округ") for k in range(5)])
    assert SurgeDetector().detect(store, until=NOW) == []
    store.add_many([entry(f"y{k}", k * 0.2, ROADS, "Омск / Советский округ") for k in range(25)])
    alerts = SurgeDetector().detect(store, until=NOW)
    assert [(a.group, a.place) for a in alerts] == [(ROADS, "Омск / Советский округ")]


def test_a_new_issue_spread_over_the_city_is_reported_region_wide(store):
    places = ["Омск / Кировский округ", "Омск / Советский округ", "Омск / Центральный округ", None]
    store.add_many([entry(f"g{k}", 0.1 + k * 0.4, "Газ", places[k % 4]) for k in range(12)])
    alerts = SurgeDetector().detect(store, until=NOW)
    assert [(a.group, a.place, a.count) for a in alerts] == [("Газ", None, 12)]


def test_region_filter_and_scan_over_past_windows(store):
    store.add_many([entry(f"b{k}", 30 + k * 0.2, WATER, "Омск / Кировский округ") for k in range(10)])
    store.add_many([entry(f"alt{k}", 1 + k * 0.1, WATER, "Барнаул", region="altai_krai") for k in range(8)])
    det = SurgeDetector()
    assert det.detect(store, until=NOW, region="omsk") == []  # the omsk burst was yesterday
    assert [a.region for a in det.detect(store, until=NOW)] == ["altai_krai"]
    found = det.scan(store, since=NOW - timedelta(days=2), until=NOW, region="omsk")
    assert len(found) == 1 and found[0].count == 10 and len(found[0].post_ids) == 10
    with pytest.raises(ValueError, match="window"):
        det.detect(store, until=NOW, window=timedelta(0))
