"""Same-author repeats: `repeat_of`, `new_arguments` and the `repeat_no_new_arguments` exclusion.

A repeated post on an issue already considered is routed again and answered with the measures
taken (Vyatskiye Polyany §19, Altai §15, Omsk §13): being a repeat is not an exclusion. Omsk §16
excludes a post only when the same author's question was answered several times and nothing new
is said — so the exclusion needs answered_at on ≥ `min_answers` earlier posts of the chain and
`new_arguments` False.

An earlier post of the same author is on the same issue when (never across known different places):
- the texts are near duplicates (Jaccard of content lemmas ≥ `near_duplicate`), or
- the texts are related (≥ `related`) and the topic groups don't differ, or
- the topic is the same and the place is the same (a reworded complaint about one house), or
- the author says it is a repeat («снова», «до сих пор») and the groups agree or the texts overlap.

A repeat has new arguments when it states a fact the chain did not: a new date, a new number (a
house, flat, entrance), a new damage or harmed person, a broken promise, a new thing after
«теперь ещё и». A lasting problem lasting longer («уже месяц») is not new.

The tagger runs after topic, location, exclusions and importance (and incidents), then records
the post in the history (upsert by id: re-tagging a post never makes it its own repeat).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .doc import Doc
from .fingerprint import Fingerprint, Fingerprinter, coarse_place, location_key, place_match
from .history import UTC, HistoryEntry, HistoryStore, as_utc
from .profiles import Profiles
from .records import Exclusion

log = logging.getLogger(__name__)

REASON = "repeat_no_new_arguments"
FINGERPRINT_KEY = "fingerprint"  # doc.extras key shared with the incidents component


def post_time(doc: Doc, now: datetime | None = None) -> datetime:
    p = doc.post
    t = p.created_at or p.detected_at or now or datetime.now(UTC)
    return as_utc(t)


def fingerprints(docs: list[Doc], fingerprinter: Fingerprinter) -> list[Fingerprint]:
    """Each doc's fingerprint, computed once per doc and kept in doc.extras for later components."""
    missing = [d for d in docs if FINGERPRINT_KEY not in d.extras]
    if missing:
        for d, fp in zip(missing, fingerprinter.fingerprint_many(missing)):
            d.extras[FINGERPRINT_KEY] = fp
    return [d.extras[FINGERPRINT_KEY] for d in docs]


def history_entry(doc: Doc, fp: Fingerprint, time: datetime) -> HistoryEntry:
    p = doc.post
    geo = p.geo
    return HistoryEntry(
        post_id=p.id,
        author_id=p.author_id,
        region=doc.region,
        created_at=time,
        detected_at=as_utc(p.detected_at) if p.detected_at else None,
        group=doc.topic.group if doc.topic else None,
        topic=doc.topic.name if doc.topic else None,
        location_key=location_key(doc.location, geo.lat if geo else None, geo.lon if geo else None, fp.address),
        place=coarse_place(doc.location),
        source=p.source,
        signature=fp.signature.astype("<u4").tobytes(),
        terms=fp.terms,
        facts=fp.facts,
        answered_at=as_utc(p.answered_at) if p.answered_at else None,
        incident_id=doc.incident_id,
        tags={
            "repeat_of": list(doc.repeat_of),
            "importance": doc.importance.level if doc.importance else None,
            "exclusions": sorted({e.reason for e in doc.exclusions if e.applies}),
        },
    )


def _numbers_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both posts name numbers (house, entrance, flat, floor) and none of them is the same."""
    na = {f for f in a if f.startswith("num:")}
    nb = {f for f in b if f.startswith("num:")}
    return bool(na) and bool(nb) and not (na & nb)


@dataclass
class RepeatPrediction:
    repeat_of: list[str] = field(default_factory=list)
    new_arguments: bool | None = None
    new_facts: list[str] = field(default_factory=list)
    answered_count: int = 0
    score: float = 0.0  # confidence that this is a repeat (the best link's score)
    exclude: bool = False
    entry: HistoryEntry | None = None  # what set_annotations records in the history


class RepeatTagger:
    name = "repeats"

    def __init__(
        self,
        store: HistoryStore,
        profiles: Profiles,
        fingerprinter: Fingerprinter | None = None,
        lookback_days: int = 365,
        near_duplicate: float = 0.5,
        related: float = 0.3,
        place_overlap: float = 0.2,
        marker_overlap: float = 0.15,
        min_answers: int = 2,
        record: bool = True,
        clock: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.profiles = profiles
        self.fingerprinter = fingerprinter if fingerprinter is not None else Fingerprinter()
        self.lookback_days = lookback_days
        self.near_duplicate = near_duplicate
        self.related = related
        self.place_overlap = place_overlap
        self.marker_overlap = marker_overlap
        self.min_answers = min_answers
        self.record = record
        self.clock = clock  # "now" for posts without times (tests pass a fixed clock)
        # the service answers first and records after (Pipeline.flush, before its next batch)
        self.defer_writes = False
        self._pending: list[HistoryEntry] = []

    # -- one link

    def link_score(self, entry: HistoryEntry, fp: Fingerprint, group: str | None, topic: str | None,
                   key: str | None, terms: frozenset[int] | None = None) -> float:
        """How sure we are that `entry` (same author, earlier) is on the issue of the new post; 0 = not."""
        terms = terms if terms is not None else frozenset(fp.terms)
        inter = len(terms.intersection(entry.terms)) if terms else 0
        same_topic = topic is not None and topic == entry.topic
        if inter == 0 and not same_topic:
            return 0.0  # the common case for a prolific author: nothing in common (checked first: cheap)
        place = place_match(key, entry.location_key)
        if place is False:
            return 0.0  # another house or street is another issue, however alike the words
        n_new, n_old = len(terms), len(entry.terms)
        jac = inter / (n_new + n_old - inter) if inter else 0.0
        if jac >= self.near_duplicate:
            return min(1.0, 0.5 + jac / 2)
        if _numbers_conflict(fp.facts, entry.facts):
            return 0.0  # «подъезд № 5» and «подъезд № 4»: another entrance, flat or floor
        if group is not None and entry.group is not None and group != entry.group:
            return 0.0
        small = min(n_new, n_old)
        contained = inter / small if small else 0.0
        if jac >= self.related or (small >= 3 and contained >= 0.75):
            return 0.5 + jac / 2
        if same_topic and place:
            return 0.6
        if place and (jac >= self.place_overlap or (small >= 3 and contained >= 0.4)):
            return 0.55
        if fp.markers and inter and (jac >= self.marker_overlap or (group is not None and group == entry.group)
                                     or (place and jac >= self.marker_overlap / 2)):
            return 0.5
        return 0.0

    # -- component protocol

    def predict(self, docs: list[Doc]) -> list[RepeatPrediction]:
        if not docs:
            return []
        fps = fingerprints(docs, self.fingerprinter)
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        times = [post_time(d, now) for d in docs]
        entries = [history_entry(d, fp, t) for d, fp, t in zip(docs, fps, times)]
        authors = {d.post.author_id for d in docs if d.post.author_id}
        lookback = timedelta(days=self.lookback_days)
        since = min(times) - lookback
        related: dict[str, tuple[set[int], set[str]]] = {}
        for d, fp, e in zip(docs, fps, entries):
            if d.post.author_id:
                terms, topics = related.setdefault(d.post.author_id, (set(), set()))
                terms.update(fp.terms)
                if e.topic is not None:
                    topics.add(e.topic)
        history = self.store.by_authors(authors, since=since, related=related) if authors else {}
        # posts of the same batch see the ones before them (by time, then by batch order)
        order = sorted(range(len(docs)), key=lambda i: (times[i], i))
        batch_seen: dict[str, dict[str, HistoryEntry]] = {}
        preds: list[RepeatPrediction | None] = [None] * len(docs)
        for i in order:
            doc, fp, t, entry = docs[i], fps[i], times[i], entries[i]
            author = doc.post.author_id
            if not author:
                preds[i] = RepeatPrediction(entry=entry)
                continue
            oldest = t - lookback
            earlier: dict[str, HistoryEntry] = {
                e.post_id: e for e in history.get(author, ())
                if oldest <= e.created_at < t and e.post_id != doc.post.id
            }
            for pid, e in batch_seen.get(author, {}).items():
                if pid != doc.post.id and e.created_at >= oldest:
                    earlier[pid] = e
            pred = self._decide(doc, fp, t, entry, earlier)
            entry.tags["repeat_of"] = list(pred.repeat_of)
            preds[i] = pred
            batch_seen.setdefault(author, {})[doc.post.id] = entry
        return preds  # type: ignore[return-value]

    def _decide(self, doc: Doc, fp: Fingerprint, t: datetime, entry: HistoryEntry,
                earlier: dict[str, HistoryEntry]) -> RepeatPrediction:
        group, topic, key = entry.group, entry.topic, entry.location_key
        links = {}
        terms = frozenset(fp.terms)
        disjoint = terms.isdisjoint
        for pid, e in earlier.items():
            # most of a prolific author's posts share no word and no topic with this one: skip them
            # before the full scoring (the common case must stay cheap)
            if disjoint(e.terms) and (topic is None or e.topic != topic):
                continue
            score = self.link_score(e, fp, group, topic, key, terms)
            if score > 0:
                links[pid] = score
        if not links:
            return RepeatPrediction(entry=entry)
        # the chain: direct links plus what they were themselves repeats of (same author); those may
        # share no word with this post, so the store may not have returned them: fetch them
        chain = set(links)
        previous = {prev for pid in links for prev in (earlier[pid].tags or {}).get("repeat_of", ())}
        missing = [p for p in previous if p not in earlier and p != doc.post.id]
        if missing:
            for p, e in self.store.get_many(missing).items():
                if e.author_id == doc.post.author_id and e.created_at < t:
                    earlier[p] = e
        chain.update(p for p in previous if p in earlier)
        chain_entries = sorted((earlier[p] for p in chain), key=lambda e: e.created_at)
        known_facts = set().union(*(e.facts for e in chain_entries))
        known_terms = set().union(*(e.terms for e in chain_entries))
        new_facts = sorted(f for f in fp.facts if f not in known_facts)
        if fp.novelty_terms - known_terms:
            new_facts.append("more")
        answered = sum(1 for e in chain_entries if e.answered_at is not None and e.answered_at <= t)
        new_arguments = bool(new_facts)
        return RepeatPrediction(
            repeat_of=[e.post_id for e in chain_entries],
            new_arguments=new_arguments,
            new_facts=new_facts,
            answered_count=answered,
            score=max(links.values()),
            exclude=(not new_arguments) and answered >= self.min_answers,
            entry=entry,
        )

    def set_annotations(self, docs: list[Doc], preds: list[RepeatPrediction]) -> None:
        for doc, pred in zip(docs, preds):
            doc.repeat_of = list(pred.repeat_of)
            doc.new_arguments = pred.new_arguments
            doc.extras["repeat"] = {
                "answered_count": pred.answered_count,
                "new_facts": list(pred.new_facts),
                "score": round(pred.score, 3),
            }
            doc.exclusions = [e for e in doc.exclusions if e.reason != REASON]
            if pred.exclude:
                profile = self.profiles.get(doc.region)
                doc.exclusions.append(
                    Exclusion(reason=REASON, score=round(pred.score, 3), applies=REASON in profile.exclusions, evidence=[])
                )
            if pred.entry is not None:
                pred.entry.incident_id = doc.incident_id
        if self.record:
            entries = [p.entry for p in preds if p.entry is not None]
            if self.defer_writes:
                self._pending.extend(entries)
            else:
                self.store.add_many(entries)

    def drop_pending(self) -> None:
        """Forget deferred writes (their run failed: nothing of it may be recorded)."""
        self._pending = []

    def flush(self) -> None:
        """Record the entries whose writes were deferred; a no-op when there are none."""
        if self._pending:
            pending, self._pending = self._pending, []
            self.store.add_many(pending)

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))
