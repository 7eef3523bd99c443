"""The curators' review queue and the append-only decision log (SQLite by default, PostgreSQL by URL).

Tables (created by the Alembic revision `0002_review`, see storage/migrations/versions):
- `review_items`: one row per post waiting for (or past) a curator's decision: region, the post text
  (kept only until the decision plus `text_retention_days`, then cleared), the tagging JSON as the
  service suggested it, the current (decided) tagging, deadline, status, the responsible executor.
- `review_audit`: every curator action (accept, correct, return, answer, login) with who, when,
  the tagging before and after. Append-only: this module has no update or delete path for it, the
  database refuses UPDATE and DELETE with triggers, and each row carries the hash of the previous
  one so that an edit made around the triggers is still detectable (`verify_audit`).

Statuses: `new` (waiting), `returned` (a department returned it as not competent: waiting again),
`accepted` (the suggestion was right), `corrected` (the curator changed something).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)

from model.errors import InputError
from model.records import Post, Tagging

from .checkpoint import AUTOCHECKPOINT_PAGES

log = logging.getLogger(__name__)

UTC = timezone.utc
REVISION = "0002_review"
DEFAULT_TEXT_RETENTION_DAYS = 90
PURGE_EVERY = timedelta(hours=1)  # how often enqueue clears expired texts

STATUSES = ("new", "returned", "accepted", "corrected")
OPEN_STATUSES = ("new", "returned")
DECIDED_STATUSES = ("accepted", "corrected")
ACTIONS = ("accept", "correct", "return", "answer", "login")
# time-left buckets of the queue filter: upper bound of the time left (None = already overdue)
TIME_LEFT = {"overdue": None, "1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got naive {value.isoformat()}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


metadata = MetaData()

review_items = Table(
    "review_items",
    metadata,
    Column("post_id", String(256), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("text", Text, nullable=True),  # cleared after decided_at + retention
    Column("text_expires_at", UtcDateTime, nullable=True),
    Column("post_json", Text, nullable=False),  # the post's other fields (no text): source, url, times
    Column("tagging_json", Text, nullable=False),  # what otklik suggested
    Column("current_json", Text, nullable=False),  # the tagging after the last decision
    Column("model_version", String(128), nullable=True),
    Column("topic", String(256), nullable=True),
    Column("group", String(256), nullable=True),
    Column("importance", String(16), nullable=True),
    Column("actionable", Boolean, nullable=False, default=True),
    Column("executor", String(512), nullable=True),  # the responsible executor (current)
    Column("detected_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False, default="new"),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(128), nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False, default=1),  # optimistic lock for two curators
    Index("ix_review_items_status_deadline", "status", "deadline"),
    Index("ix_review_items_region_detected", "region", "detected_at"),
    Index("ix_review_items_text_expires", "text_expires_at"),
)

review_audit = Table(
    "review_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("post_id", String(256), nullable=True),
    Column("before_json", Text, nullable=True),
    Column("after_json", Text, nullable=True),
    Column("comment", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_review_audit_post", "post_id", "id"),
    Index("ix_review_audit_at", "at"),
)

# Triggers that make review_audit append-only in the database itself (used by the migration).
SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS review_audit_no_update BEFORE UPDATE ON review_audit "
    "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS review_audit_no_delete BEFORE DELETE ON review_audit "
    "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION review_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'review_audit is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit "
    "FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()",
    "CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only()",
]
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER IF EXISTS review_audit_no_update", "DROP TRIGGER IF EXISTS review_audit_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS review_audit_no_change ON review_audit",
                   "DROP TRIGGER IF EXISTS review_audit_no_truncate ON review_audit",
                   "DROP FUNCTION IF EXISTS review_audit_append_only()"],
}


def append_only_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return list(SQLITE_TRIGGERS)
    if dialect == "postgresql":
        return list(POSTGRES_TRIGGERS)
    log.warning("review_audit: no append-only trigger for dialect %s; only the hash chain protects it", dialect)
    return []


class ConflictError(Exception):
    """The item changed since the curator opened it (another curator decided first)."""


class NotFoundError(Exception):
    pass


@dataclass
class ReviewItem:
    post_id: str
    region: str
    text: str | None
    post: dict[str, Any]
    suggested: dict[str, Any]  # the tagging as otklik suggested it
    current: dict[str, Any]  # the tagging after the last decision (== suggested while new)
    status: str
    detected_at: datetime
    deadline: datetime | None
    enqueued_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    answered_at: datetime | None
    executor: str | None
    topic: str | None
    group: str | None
    importance: str | None
    actionable: bool
    model_version: str | None
    version: int

    def time_left(self, now: datetime | None = None) -> timedelta | None:
        if self.deadline is None:
            return None
        return self.deadline - (now or datetime.now(UTC))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    post_id: str | None
    before: dict | None
    after: dict | None
    comment: str | None
    prev_hash: str
    hash: str


@dataclass
class QueueFilter:
    region: str | None = None
    group: str | None = None
    importance: str | None = None
    status: str | None = "open"  # "open" (new + returned), "decided", one of STATUSES, or None = all
    time_left: str | None = None  # a key of TIME_LEFT
    limit: int = 200
    offset: int = 0

    def check(self) -> None:
        if self.status not in (None, "open", "decided", *STATUSES):
            raise InputError("status", f"expected open, decided or one of {STATUSES}, got {self.status!r}")
        if self.time_left not in (None, *TIME_LEFT):
            raise InputError("time_left", f"expected one of {tuple(TIME_LEFT)}, got {self.time_left!r}")
        if self.importance not in (None, "normal", "high"):
            raise InputError("importance", f"expected normal or high, got {self.importance!r}")
        if not 1 <= self.limit <= 1000:
            raise InputError("limit", f"expected 1..1000, got {self.limit}")


@dataclass
class DepartmentStats:
    department: str
    total: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    open_in_time: int = 0
    returned: int = 0

    @property
    def on_time_share(self) -> float | None:
        answered = self.on_time + self.late + self.open_overdue
        return self.on_time / answered if answered else None


@dataclass
class MonthReport:
    month: str  # YYYY-MM
    region: str | None
    departments: list[DepartmentStats] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)  # volume by topic group this month
    previous_groups: dict[str, int] = field(default_factory=dict)  # the month before (dynamics)
    daily: dict[str, dict[str, int]] = field(default_factory=dict)  # group → {YYYY-MM-DD: count}
    total: int = 0
    excluded: int = 0


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _loads(value: str | None) -> Any:
    return json.loads(value) if value else None


def _parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def responsible_executor(tagging: dict) -> str | None:
    route = tagging.get("route") or {}
    for ex in route.get("executors") or []:
        if ex.get("role") == "responsible":
            return ex.get("name")
    executors = route.get("executors") or []
    return executors[0].get("name") if executors else None


def _summary_columns(tagging: dict) -> dict[str, Any]:
    topic = tagging.get("topic") or {}
    importance = tagging.get("importance") or {}
    sla = tagging.get("sla") or {}
    return {
        "topic": topic.get("name"),
        "group": topic.get("group"),
        "importance": importance.get("level"),
        "actionable": bool(tagging.get("actionable", True)),
        "executor": responsible_executor(tagging),
        "deadline": _parse_dt(sla.get("deadline")),
    }


def audit_hash(prev_hash: str, row: dict[str, Any]) -> str:
    fields = {k: row.get(k) for k in ("at", "actor", "role", "action", "post_id", "before_json", "after_json", "comment")}
    if isinstance(fields["at"], datetime):
        fields["at"] = fields["at"].astimezone(UTC).isoformat()
    return hashlib.sha256((prev_hash + _dumps(fields)).encode("utf-8")).hexdigest()


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InputError("month", f"expected YYYY-MM, got {month!r}") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def previous_month(month: str) -> str:
    start, _ = _month_bounds(month)
    prev = (start - timedelta(days=1))
    return prev.strftime("%Y-%m")


class ReviewStore:
    """The review queue and its decision log on one SQLAlchemy engine."""

    def __init__(self, engine: Engine, text_retention_days: int = DEFAULT_TEXT_RETENTION_DAYS, clock=None):
        self.engine = engine
        self.text_retention_days = text_retention_days
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_purge: datetime | None = None

    # ------------------------------------------------------------------ writing

    def enqueue(self, post: Post, tagging: Tagging) -> bool:
        """Add a tagged post to the queue (or refresh the suggestion of a still-open one).

        A post already decided is left alone: re-tagging never undoes a curator's decision.
        Returns True when the queue changed.
        """
        return self.enqueue_many([(post, tagging)]) == 1

    def enqueue_many(self, pairs: Iterable[tuple[Post, Tagging]],
                     tag_jsons: Sequence[dict[str, Any]] | None = None) -> int:
        """tag_jsons: the taggings' `as_json()`, when the caller has them already (the service)."""
        now = self.clock()
        rows = []
        for i, (post, tagging) in enumerate(pairs):
            if tagging.id != post.id:
                raise InputError("id", f"expected the tagging of post {post.id!r}, got one of {tagging.id!r}")
            tag_json = tag_jsons[i] if tag_jsons is not None else tagging.as_json()
            post_json = post.as_json()
            post_json.pop("text", None)
            detected = post.detected_at or post.created_at or (tagging.sla.detected_at if tagging.sla else None) or now
            rows.append({
                "post_id": post.id,
                "region": tagging.region or post.region or "",
                "text": post.text,
                "text_expires_at": None,
                "post_json": _dumps(post_json),
                "tagging_json": _dumps(tag_json),
                "current_json": _dumps(tag_json),
                "model_version": tagging.model_version,
                "detected_at": _parse_dt(detected),
                "status": "new",
                "enqueued_at": now,
                "answered_at": _parse_dt(post.answered_at),
                **_summary_columns(tag_json),
            })
        if not rows:
            return 0
        changed = 0
        with self.engine.begin() as conn:
            ids = [r["post_id"] for r in rows]
            existing = {
                r.post_id: (r.status, r.answered_at)
                for r in conn.execute(select(review_items.c.post_id, review_items.c.status, review_items.c.answered_at)
                                      .where(review_items.c.post_id.in_(ids)))
            }
            fresh, seen = [], set()
            for row in rows:
                status, answered_at = existing.get(row["post_id"], (None, None))
                if status in DECIDED_STATUSES and answered_at is None and row["answered_at"] is not None:
                    # the monitoring system reports the answer of a decided post: keep it for the report
                    conn.execute(update(review_items).where(review_items.c.post_id == row["post_id"])
                                 .values(answered_at=row["answered_at"]))
                    changed += 1
                elif status is None:
                    if row["post_id"] not in seen:  # the same post twice in one batch: the first wins
                        seen.add(row["post_id"])
                        fresh.append(row)
                        changed += 1
                elif status in OPEN_STATUSES:
                    values = {k: v for k, v in row.items() if k not in ("post_id", "status", "enqueued_at")}
                    conn.execute(update(review_items).where(review_items.c.post_id == row["post_id"])
                                 .values(**values, version=review_items.c.version + 1))
                    changed += 1
            if fresh:
                conn.execute(insert(review_items), fresh)
        if self._last_purge is None or now - self._last_purge > PURGE_EVERY:
            self.purge_expired(now)
        return changed

    def decide(
        self,
        post_id: str,
        action: str,
        actor: str,
        role: str,
        after: dict[str, Any] | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> ReviewItem:
        """Record a curator's decision on one post, in the item and in the audit log, atomically.

        - accept: the current tagging stands → status `accepted`;
        - correct: `after` (a full tagging) replaces it → status `corrected`;
        - return: a department returned it as not competent → status `returned` (back in the queue);
        - answer: the answer was published → answered_at = now (status unchanged).
        """
        if action not in ("accept", "correct", "return", "answer"):
            raise InputError("action", f"expected accept, correct, return or answer, got {action!r}")
        if action == "correct" and not isinstance(after, dict):
            raise InputError("after", "expected the corrected tagging, got none")
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(review_items).where(review_items.c.post_id == post_id)).mappings().first()
            if row is None:
                raise NotFoundError(f"expected a post in the review queue, got unknown id {post_id!r}")
            if expected_version is not None and row["version"] != expected_version:
                raise ConflictError(
                    f"post {post_id!r} changed since it was opened (version {expected_version}, now {row['version']})"
                )
            before = _loads(row["current_json"])
            values: dict[str, Any] = {"version": row["version"] + 1}
            if action == "accept":
                new = before
                values.update(status="accepted")
            elif action == "correct":
                new = after
                values.update(status="corrected", current_json=_dumps(new), **_summary_columns(new))
                values.pop("deadline", None)  # the deadline stays the one the SLA gave at detection
            elif action == "return":
                new = before
                values.update(status="returned")
            else:
                new = before
                values.update(answered_at=now)
            if action in ("accept", "correct"):
                values.update(decided_at=now, decided_by=actor,
                              text_expires_at=now + timedelta(days=self.text_retention_days))
            conn.execute(update(review_items).where(review_items.c.post_id == post_id).values(**values))
            self._append(conn, now, actor, role, action, post_id, before,
                         new if action in ("accept", "correct") else None, comment)
        return self.get(post_id)

    def log_event(self, actor: str, role: str, action: str, comment: str | None = None) -> None:
        """An audit entry not tied to a post (a login)."""
        if action not in ACTIONS:
            raise InputError("action", f"expected one of {ACTIONS}, got {action!r}")
        with self.engine.begin() as conn:
            self._append(conn, self.clock(), actor, role, action, None, None, None, comment)

    def _append(self, conn, at, actor, role, action, post_id, before, after, comment) -> None:
        _lock_log(conn)
        last = conn.execute(select(review_audit.c.hash).order_by(review_audit.c.id.desc()).limit(1)).scalar()
        row = {
            "at": at, "actor": actor, "role": role, "action": action, "post_id": post_id,
            "before_json": _dumps(before) if before is not None else None,
            "after_json": _dumps(after) if after is not None else None,
            "comment": comment or None,
        }
        prev = last or ""
        conn.execute(insert(review_audit).values(**row, prev_hash=prev, hash=audit_hash(prev, row)))

    def purge_expired(self, now: datetime | None = None) -> int:
        """Clear the text of decided posts whose retention ran out; returns how many."""
        now = now or self.clock()
        self._last_purge = now
        with self.engine.begin() as conn:
            result = conn.execute(
                update(review_items)
                .where(and_(review_items.c.text_expires_at.is_not(None), review_items.c.text_expires_at < now,
                            review_items.c.text.is_not(None)))
                .values(text=None)
            )
        if result.rowcount:
            log.info("review: cleared the text of %d decided posts past retention", result.rowcount)
        return result.rowcount or 0

    # ------------------------------------------------------------------ reading

    def get(self, post_id: str) -> ReviewItem | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(review_items).where(review_items.c.post_id == post_id)).mappings().first()
        return _item(row) if row is not None else None

    def queue(self, flt: QueueFilter | None = None, now: datetime | None = None) -> list[ReviewItem]:
        """Items matching the filter, the nearest deadline first (no deadline last)."""
        flt = flt or QueueFilter()
        flt.check()
        now = now or self.clock()
        c = review_items.c
        query = select(review_items)
        if flt.region:
            query = query.where(c.region == flt.region)
        if flt.group:
            query = query.where(c.group == flt.group)
        if flt.importance:
            query = query.where(c.importance == flt.importance)
        if flt.status == "open":
            query = query.where(c.status.in_(OPEN_STATUSES))
        elif flt.status == "decided":
            query = query.where(c.status.in_(DECIDED_STATUSES))
        elif flt.status:
            query = query.where(c.status == flt.status)
        if flt.time_left:
            bound = TIME_LEFT[flt.time_left]
            if bound is None:
                query = query.where(c.deadline < now)
            else:
                query = query.where(and_(c.deadline >= now, c.deadline < now + bound))
        query = query.order_by(c.deadline.is_(None), c.deadline, c.detected_at).limit(flt.limit).offset(flt.offset)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(review_items.c.status, func.count()).group_by(review_items.c.status)).all()
        return {status: n for status, n in rows}

    def choices(self) -> dict[str, list[str]]:
        """Regions and groups present in the queue (for the filters)."""
        with self.engine.connect() as conn:
            regions = conn.execute(select(review_items.c.region).distinct().order_by(review_items.c.region)).scalars()
            regions = [r for r in regions if r]
            groups = conn.execute(select(review_items.c.group).distinct().order_by(review_items.c.group)).scalars()
            groups = [g for g in groups if g]
        return {"regions": regions, "groups": groups}

    def next_open(self, after_post_id: str | None = None, now: datetime | None = None) -> str | None:
        """The open post with the nearest deadline other than `after_post_id` (for "next")."""
        c = review_items.c
        query = select(c.post_id).where(c.status.in_(OPEN_STATUSES))
        if after_post_id is not None:
            query = query.where(c.post_id != after_post_id)
        query = query.order_by(c.deadline.is_(None), c.deadline, c.detected_at).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def audit(self, post_id: str | None = None, limit: int = 500) -> list[AuditEntry]:
        query = select(review_audit)
        if post_id is not None:
            query = query.where(review_audit.c.post_id == post_id)
        query = query.order_by(review_audit.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_audit(r) for r in conn.execute(query).mappings()]

    def verify_audit(self) -> list[str]:
        """Problems in the hash chain of the audit log (empty when nobody edited it)."""
        problems = []
        prev = ""
        with self.engine.connect() as conn:
            for r in conn.execute(select(review_audit).order_by(review_audit.c.id)).mappings():
                if r["prev_hash"] != prev:
                    problems.append(f"audit row {r['id']}: expected prev_hash {prev[:12]}…, got {r['prev_hash'][:12]}…")
                if audit_hash(r["prev_hash"], dict(r)) != r["hash"]:
                    problems.append(f"audit row {r['id']}: content does not match its hash (edited)")
                prev = r["hash"]
        return problems

    def decided(self, statuses: Sequence[str] = ("corrected",)) -> list[tuple[ReviewItem, AuditEntry | None]]:
        """Decided items with their last accept/correct audit entry (for the feedback export)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(review_items).where(review_items.c.status.in_(list(statuses)))
                                .order_by(review_items.c.decided_at)).mappings().all()
            out = []
            for r in rows:
                entry = conn.execute(
                    select(review_audit)
                    .where(and_(review_audit.c.post_id == r["post_id"], review_audit.c.action.in_(["accept", "correct"])))
                    .order_by(review_audit.c.id.desc()).limit(1)
                ).mappings().first()
                out.append((_item(r), _audit(entry) if entry is not None else None))
        return out

    def month_report(self, month: str, region: str | None = None, now: datetime | None = None) -> MonthReport:
        """Timeliness per department and volume by topic group for posts detected in `month` (UTC).

        on time: answered by the deadline; late: answered after it; open past the deadline: not
        answered and the deadline has passed. Posts excluded from processing are counted apart.
        """
        now = now or self.clock()
        start, end = _month_bounds(month)
        report = MonthReport(month=month, region=region)
        c = review_items.c
        cond = [c.detected_at >= start, c.detected_at < end]
        if region:
            cond.append(c.region == region)
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.group, c.executor, c.deadline, c.answered_at, c.status, c.actionable,
                                       c.detected_at).where(and_(*cond))).all()
            pstart, pend = _month_bounds(previous_month(month))
            pcond = [c.detected_at >= pstart, c.detected_at < pend] + ([c.region == region] if region else [])
            prev = conn.execute(select(c.group, func.count()).where(and_(*pcond)).group_by(c.group)).all()
        report.previous_groups = {g or "—": n for g, n in prev}
        departments: dict[str, DepartmentStats] = {}
        for group, executor, deadline, answered_at, status, actionable, detected in rows:
            report.total += 1
            g = group or "—"
            report.groups[g] = report.groups.get(g, 0) + 1
            day = detected.strftime("%Y-%m-%d")
            report.daily.setdefault(g, {})
            report.daily[g][day] = report.daily[g].get(day, 0) + 1
            if not actionable:
                report.excluded += 1
                continue
            name = executor or "не назначен"
            stats = departments.setdefault(name, DepartmentStats(name))
            stats.total += 1
            if status == "returned":
                stats.returned += 1
            if answered_at is not None:
                if deadline is None or answered_at <= deadline:
                    stats.on_time += 1
                else:
                    stats.late += 1
            elif deadline is not None and deadline < now:
                stats.open_overdue += 1
            else:
                stats.open_in_time += 1
        report.departments = sorted(departments.values(), key=lambda d: (-d.total, d.department))
        report.groups = dict(sorted(report.groups.items(), key=lambda kv: (-kv[1], kv[0])))
        return report

    def close(self) -> None:
        self.engine.dispose()


def _lock_log(conn) -> None:
    """Serialize appends to the audit log, so two writers never chain onto the same previous hash."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7265766965770001)")
    elif dialect == "sqlite":
        # a write statement takes SQLite's write lock for the transaction even when it changes no row
        conn.exec_driver_sql("UPDATE review_items SET version = version WHERE 1 = 0")


def _item(r) -> ReviewItem:
    return ReviewItem(
        post_id=r["post_id"], region=r["region"], text=r["text"], post=_loads(r["post_json"]) or {},
        suggested=_loads(r["tagging_json"]) or {}, current=_loads(r["current_json"]) or {}, status=r["status"],
        detected_at=r["detected_at"], deadline=r["deadline"], enqueued_at=r["enqueued_at"],
        decided_at=r["decided_at"], decided_by=r["decided_by"], answered_at=r["answered_at"],
        executor=r["executor"], topic=r["topic"], group=r["group"], importance=r["importance"],
        actionable=bool(r["actionable"]), model_version=r["model_version"], version=r["version"],
    )


def _audit(r) -> AuditEntry:
    return AuditEntry(
        id=r["id"], at=r["at"], actor=r["actor"], role=r["role"], action=r["action"], post_id=r["post_id"],
        before=_loads(r["before_json"]), after=_loads(r["after_json"]), comment=r["comment"],
        prev_hash=r["prev_hash"], hash=r["hash"],
    )


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers don't block the writer
            cur = dbapi_conn.cursor()
            if not url.endswith(":memory:") and url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives a crash of the process (no fsync per commit, which
                # cost ~3 ms a request); only an OS crash or power loss can drop the last commits
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")  # see storage/checkpoint.py
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine


def open_review_store(url: str | Path, text_retention_days: int = DEFAULT_TEXT_RETENTION_DAYS, migrate: bool = True) -> ReviewStore:
    """The review store at a SQLAlchemy URL (or SQLite file path), migrated to the newest revision
    (storage/migrations: 0001_history, 0002_review) unless told not to."""
    from .migrate import database_url, upgrade

    url = upgrade(url) if migrate else database_url(url)
    store = ReviewStore(make_engine(url), text_retention_days=text_retention_days)
    store.purge_expired()
    return store
