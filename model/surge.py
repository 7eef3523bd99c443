"""Surges of social activity: an issue whose post rate is far above its usual rate.

Altai §21, Zelenchuk §21 and Omsk §19 ask the curator to report a surge of posts on an issue to
the head at once. An issue is (region, topic group, place); the place is the settlement or
district of the post, and every group is also counted region-wide (place None), so a surge spread
over a town is seen too.

For each issue the count in the window [until - window, until) is tested against its usual rate,
measured over the `baseline` before the window: expected λ = (baseline count + prior) · window /
baseline, where the prior (`prior_per_day` posts a day) keeps a never-seen issue from dividing by
zero. An alert needs count ≥ `min_count`, count ≥ `min_ratio`·λ and the Poisson tail
P(X ≥ count | λ) < `alpha`.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scipy.stats import poisson

from .history import UTC, HistoryEntry, HistoryStore, IssueKey, as_utc
from .records import Record

log = logging.getLogger(__name__)

MAX_SPAN = timedelta(days=7)  # how far back GET /v1/alerts may scan windows


@dataclass
class SurgeAlert(Record):
    region: str
    group: str | None
    place: str | None  # None: the whole region
    window_start: datetime
    window_end: datetime
    count: int
    expected: float
    ratio: float
    p_value: float
    post_ids: list[str] = field(default_factory=list)
    incident_ids: list[str] = field(default_factory=list)


class SurgeDetector:
    name = "surge"

    def __init__(
        self,
        window: timedelta = timedelta(hours=6),
        baseline: timedelta = timedelta(days=28),
        min_count: int = 5,
        min_ratio: float = 3.0,
        alpha: float = 1e-3,
        prior_per_day: float = 0.2,
    ):
        self.window = window
        self.baseline = baseline
        self.min_count = min_count
        self.min_ratio = min_ratio
        self.alpha = alpha
        self.prior_per_day = prior_per_day

    def expected(self, baseline_count: int, window: timedelta) -> float:
        days = self.baseline / timedelta(days=1)
        rate_per_day = (baseline_count + self.prior_per_day * days) / days
        return rate_per_day * (window / timedelta(days=1))

    def detect(
        self,
        store: HistoryStore,
        until: datetime | None = None,
        region: str | None = None,
        window: timedelta | None = None,
    ) -> list[SurgeAlert]:
        """Alerts for the one window that ends at `until` (default now), strongest first."""
        window = self.window if window is None else window
        if window <= timedelta(0):
            raise ValueError(f"window: expected a positive duration, got {window}")
        until = as_utc(until) if until is not None else datetime.now(UTC)
        start = until - window
        posts = store.window(start, until, region)
        if len(posts) < self.min_count:
            return []
        base = store.issue_counts(start - self.baseline, start, region)
        base_region: dict[tuple, int] = defaultdict(int)
        for k, n in base.items():
            base_region[(k.region, k.group)] += n
        by_issue: dict[IssueKey, list[HistoryEntry]] = defaultdict(list)
        for e in posts:
            if e.place is not None:
                by_issue[IssueKey(e.region, e.group, e.place)].append(e)
            by_issue[IssueKey(e.region, e.group, None)].append(e)
        alerts = []
        for key, members in by_issue.items():
            n = len(members)
            if n < self.min_count:
                continue
            b = base_region[(key.region, key.group)] if key.place is None else base.get(key, 0)
            lam = self.expected(b, window)
            ratio = n / lam
            if ratio < self.min_ratio:
                continue
            p = float(poisson.sf(n - 1, lam))
            if p >= self.alpha:
                continue
            alerts.append(
                SurgeAlert(
                    region=key.region, group=key.group, place=key.place, window_start=start, window_end=until,
                    count=n, expected=round(lam, 3), ratio=round(ratio, 2), p_value=p,
                    post_ids=[e.post_id for e in members],
                    incident_ids=sorted({e.incident_id for e in members if e.incident_id}),
                )
            )
        return self._without_covered(alerts)

    @staticmethod
    def _without_covered(alerts: list[SurgeAlert]) -> list[SurgeAlert]:
        # a region-wide alert that is mostly one place's alert says nothing more: drop it
        local: dict[tuple, set[str]] = defaultdict(set)
        for a in alerts:
            if a.place is not None:
                local[(a.region, a.group)].update(a.post_ids)
        kept = [
            a for a in alerts
            if a.place is not None or len(local[(a.region, a.group)] & set(a.post_ids)) < 0.8 * len(a.post_ids)
        ]
        return sorted(kept, key=lambda a: (a.p_value, -a.count))

    def scan(
        self,
        store: HistoryStore,
        since: datetime,
        until: datetime | None = None,
        region: str | None = None,
        window: timedelta | None = None,
    ) -> list[SurgeAlert]:
        """Surges in any window ending between since + window and until (steps of window/4),
        one alert per issue: its strongest window, with the posts of all its alerting windows."""
        window = self.window if window is None else window
        if window <= timedelta(0):
            raise ValueError(f"window: expected a positive duration, got {window}")
        until = as_utc(until) if until is not None else datetime.now(UTC)
        since = max(as_utc(since), until - MAX_SPAN)
        step = window / 4
        best: dict[tuple, SurgeAlert] = {}
        posts: dict[tuple, list[str]] = defaultdict(list)
        end = min(until, since + window)
        while True:
            for a in self.detect(store, until=end, region=region, window=window):
                key = (a.region, a.group, a.place)
                have = set(posts[key])
                posts[key].extend(p for p in a.post_ids if p not in have)
                if key not in best or a.p_value < best[key].p_value:
                    best[key] = a
            if end >= until:
                break
            end = min(until, end + step)
        out = []
        for key, a in best.items():
            a.post_ids = posts[key]
            out.append(a)
        return sorted(out, key=lambda a: (a.p_value, -a.count))
