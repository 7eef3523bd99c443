"""Incidents: posts of different people and networks about one problem share `doc.incident_id`.

One answer can then cover them, and the size of an incident (`doc.extras["incident_size"]`) tells
the importance component how many people are affected. An earlier post (within `window_hours`)
is the same problem when
- its text is a near copy (MinHash similarity of lemma shingles ≥ `copy_similarity`, found through
  the LSH index — a repost or a copy to another network) and the places don't differ, or
- it is in the same topic group at the same place (same house, same street, or neighbouring geo
  cells) and the texts overlap at least a little (or the topic is the same).
Every post gets an incident: a post that joins none starts its own (`inc-<post id>`).

Runs after topic and location and before importance (which reads the size); the repeats component
records the incident id with the post in the history.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from .doc import Doc
from .fingerprint import (
    Fingerprint,
    Fingerprinter,
    geo_neighbours,
    lsh_buckets,
    place_match,
    signature_similarity,
)
from .history import BUCKET_CAP, PLACE_CAP, UTC, HistoryEntry, HistoryStore
from .repeats import fingerprints, history_entry, post_time

log = logging.getLogger(__name__)

SIZE_KEY = "incident_size"


def new_incident_id(post_id: str) -> str:
    return f"inc-{post_id}"


@dataclass
class IncidentPrediction:
    incident_id: str
    size: int
    joined: str | None  # the post it was matched to, None when it starts a new incident
    score: float


class IncidentTagger:
    name = "incidents"

    def __init__(
        self,
        store: HistoryStore,
        fingerprinter: Fingerprinter | None = None,
        window_hours: float = 72.0,
        copy_similarity: float = 0.5,
        place_overlap: float = 0.1,
        unknown_group_overlap: float = 0.3,
        clock: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.fingerprinter = fingerprinter if fingerprinter is not None else Fingerprinter()
        self.window_hours = window_hours
        self.copy_similarity = copy_similarity
        self.place_overlap = place_overlap
        self.unknown_group_overlap = unknown_group_overlap
        self.clock = clock

    def match_score(self, new: HistoryEntry, fp: Fingerprint, cand: HistoryEntry,
                    terms: frozenset[int] | None = None) -> float:
        place = place_match(new.location_key, cand.location_key)
        if place is False:
            return 0.0
        terms = terms if terms is not None else frozenset(fp.terms)
        inter = len(terms.intersection(cand.terms)) if terms else 0
        jac = inter / (len(terms) + len(cand.terms) - inter) if inter else 0.0
        # the shingle similarity (words and word pairs) is at most about the word overlap: only a
        # candidate with enough shared words can be a copy, so the signature is compared for those only
        if jac >= self.copy_similarity * 0.6:
            sim = signature_similarity(fp.signature, cand.signature_array())
            if sim >= self.copy_similarity:
                return sim
        if not place:
            return 0.0
        if new.group is not None and cand.group is not None:
            if new.group != cand.group:
                return 0.0
            if jac >= self.place_overlap or (new.topic is not None and new.topic == cand.topic):
                return 0.4 + jac / 2
            return 0.0
        # a group unknown (no topic component, or no subject): the words must say more
        return 0.4 + jac / 2 if jac >= self.unknown_group_overlap else 0.0

    def _place_keys(self, e: HistoryEntry) -> list[tuple]:
        if e.location_key is None or e.group is None:
            return []
        if e.location_key.startswith("g:"):
            return [(e.region, e.group, k) for k in geo_neighbours(e.location_key)]
        keys = [(e.region, e.group, e.location_key)]
        if e.location_key.startswith("h:"):
            # the same street without a house number is the same place too
            town, street, _ = e.location_key[2:].split("|")
            keys.append((e.region, e.group, f"s:{town}|{street}"))
        return keys

    def predict(self, docs: list[Doc]) -> list[IncidentPrediction]:
        if not docs:
            return []
        fps = fingerprints(docs, self.fingerprinter)
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        times = [post_time(d, now) for d in docs]
        entries = [history_entry(d, fp, t) for d, fp, t in zip(docs, fps, times)]
        window = timedelta(hours=self.window_hours)
        since = min(times) - window
        similar = self.store.similar(np.stack([fp.signature for fp in fps]), since=since)
        places = self.store.at_places([k for e in entries for k in self._place_keys(e)], since=since)
        order = sorted(range(len(docs)), key=lambda i: (times[i], i))
        # this batch's earlier posts, indexed like the store (a scan of the batch would be quadratic)
        buckets = lsh_buckets(np.stack([fp.signature for fp in fps])).tolist()
        local_buckets: dict[int, list[int]] = defaultdict(list)
        local_places: dict[tuple, list[int]] = defaultdict(list)
        batch_members: dict[str, int] = {}
        preds: list[IncidentPrediction | None] = [None] * len(docs)
        for i in order:
            e, fp, t = entries[i], fps[i], times[i]
            cands: dict[str, HistoryEntry] = {c.post_id: c for c in similar[i]}
            keys = self._place_keys(e)
            for key in keys:
                for c in places.get(key, ()):
                    cands[c.post_id] = c
            local = set()
            if not fp.empty:
                for b in buckets[i]:
                    local.update(local_buckets.get(b, ())[-BUCKET_CAP:])
            for key in keys:
                local.update(local_places.get(key, ())[-PLACE_CAP:])
            for j in local:
                cands[entries[j].post_id] = entries[j]  # the batch's version wins over the stored one
            best, best_score, best_incident = None, 0.0, None
            oldest = t - window
            terms = frozenset(fp.terms)
            for c in cands.values():
                if c.post_id == e.post_id or not (oldest <= c.created_at <= t):
                    continue
                score = self.match_score(e, fp, c, terms)
                if score > best_score:
                    best, best_score, best_incident = c, score, c.incident_id or new_incident_id(c.post_id)
            incident = best_incident or new_incident_id(e.post_id)
            e.incident_id = incident
            if not fp.empty:
                for b in buckets[i]:
                    local_buckets[b].append(i)
            if e.location_key is not None:
                local_places[(e.region, e.group, e.location_key)].append(i)
                if e.location_key.startswith("h:"):
                    town, street, _ = e.location_key[2:].split("|")
                    local_places[(e.region, e.group, f"s:{town}|{street}")].append(i)
            batch_members[incident] = batch_members.get(incident, 0) + 1
            preds[i] = IncidentPrediction(incident, 0, best.post_id if best else None, round(best_score, 3))
        # a re-tagged post already counted in its incident must not be counted twice
        olds = self.store.get_many([e.post_id for e in entries])
        twice: dict[str, int] = {}
        for e in entries:
            old = olds.get(e.post_id)
            if old is not None and old.incident_id == e.incident_id:
                twice[e.incident_id] = twice.get(e.incident_id, 0) + 1
        # only incidents started before this batch can have members in the store
        fresh = {new_incident_id(e.post_id) for e in entries if e.post_id not in olds}
        stored = self.store.incident_sizes({p.incident_id for p in preds if p and p.incident_id not in fresh})
        for p in preds:
            assert p is not None
            p.size = max(1, stored.get(p.incident_id, 0) + batch_members[p.incident_id] - twice.get(p.incident_id, 0))
        return preds  # type: ignore[return-value]

    def set_annotations(self, docs: list[Doc], preds: list[IncidentPrediction]) -> None:
        for doc, p in zip(docs, preds):
            doc.incident_id = p.incident_id
            doc.extras[SIZE_KEY] = p.size
            doc.extras["incident"] = {"joined": p.joined, "score": p.score}

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))
