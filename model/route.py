"""Routing: who must answer a post.

For profiles with real executor labels (spb, kursk) a learned `ExecutorModel`:
- executors that exist once per district ("СПб ГКУ ЖА Невского района") are folded into templates
  ("СПб ГКУ ЖА {D}ого района") and instantiated with the post's district, so the text only has to
  tell the KIND of executor and the location tells which one;
- P(template | text, district) = ½ · Σ_r P(r | text) · T[r, district] (a fine-label classifier over
  the source's own reasons/themes times a smoothed (reason, district) → template table learned from
  the data, backed off to the reason alone) + ½ · P(template | text) (a direct linear model).
For a post whose topic group the learned model has not seen enough of (SPb data covers housing and
city upkeep only), and for every other profile, the profile's routing table (group → departments,
responsible first) decides.

needs_review (documented thresholds): learned route with top score < REVIEW_MIN_SCORE or a margin
to the runner-up < REVIEW_MIN_MARGIN, or a district-level executor without a known district; table
route when the topic is missing, its group score < REVIEW_MIN_GROUP_SCORE, or the group has no
routing entry (the profile's "*" default was used).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .doc import Doc
from .linear import LinearScorer, TextFeaturizer, softmax
from .profiles import DEFAULT_PROFILES_DIR, Profile, Profiles
from .records import Executor, Route
from .topic import model_text

log = logging.getLogger(__name__)

REVIEW_MIN_SCORE = 0.5
REVIEW_MIN_MARGIN = 0.15
REVIEW_MIN_GROUP_SCORE = 0.5
# a learned executor model is used for a post only if its training data had this many rows of the
# post's topic group AND of its topic (SPb's "social" rows are all about ramps, its "transport" rows
# about bus-stop upkeep: a post on benefits or timetables must go to the profile table instead)
MIN_GROUP_ROWS = 30
MIN_TOPIC_ROWS = 5
PLACEHOLDER = "{D}"
UNKNOWN_DISTRICT = "района (по месту)"

_DISTRICT_NOISE = re.compile(r"\b(район|р-н|р\.|округ|муниципальный|административный)\b\.?")


def district_key(name: str | None) -> str | None:
    """'Невский район', 'невский р-н', 'Невский' → 'невский'."""
    if not name or not isinstance(name, str):
        return None
    key = _DISTRICT_NOISE.sub(" ", name.lower().replace("ё", "е")).strip()
    return key.split()[0] if key else None


def _stem(district: str) -> str:
    # Russian adjectival district names: Невский → Невск|ого, Курортный → Курортн|ого
    return district[:-2]


def to_template(executor: str, district: str | None) -> str:
    """Fold a district's own executor into a template: 'ЖА Невского района' → 'ЖА {D}ого района'."""
    if district:
        stem = _stem(district)
        if stem + "ого" in executor:
            return executor.replace(stem + "ого", PLACEHOLDER + "ого")
    return executor


def from_template(template: str, district: str | None) -> str:
    if PLACEHOLDER not in template:
        return template
    if district:
        return template.replace(PLACEHOLDER, _stem(district))
    return template.replace(PLACEHOLDER + "ого района", UNKNOWN_DISTRICT).replace(PLACEHOLDER + "ого", "")


class ExecutorModel(BaseEstimator):
    """P(executor | text, district) for one profile (see the module docstring)."""

    def __init__(self, mix: float = 0.5, alpha: float = 5.0, C: float = 0.5, keep: int = 1500,
                 reason_solver: str = "centroid", char_bits: int = 17, word_bits: int = 17, random_state: int = 13):
        self.mix = mix
        self.reason_solver = reason_solver
        self.alpha = alpha
        self.C = C
        self.keep = keep
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.random_state = random_state

    def fit(self, texts, reasons, executors, districts=None, municipalities=None, sample_weight=None,
            table_reasons=None, table_executors=None, table_districts=None, groups=None,
            topics=None) -> "ExecutorModel":
        """texts/reasons/executors: the (deduplicated) rows for the classifiers; table_*: all labelled
        rows for the (reason, district) → executor table (repeats are real workload, keep them)."""
        texts = list(texts)
        n = len(texts)
        districts = list(districts) if districts is not None else [None] * n
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        known = sorted({d for d in districts if isinstance(d, str) and d})
        self.districts_ = known
        self._index_districts()
        keys = [district_key(d) for d in districts]
        canon = [self.district_by_key_.get(k) for k in keys]
        templates = np.array([to_template(e, d) for e, d in zip(executors, canon)], dtype=object)
        self.municipality_district_ = _majority(municipalities, canon)
        self.featurizer_ = TextFeaturizer(char_bits=self.char_bits, word_bits=self.word_bits).fit(texts)
        X = self.featurizer_.transform(texts)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.reason_model_ = LinearScorer(C=self.C, keep=self.keep, solver=self.reason_solver,
                                          random_state=self.random_state).fit(X, reasons, w)
        self.template_model_ = LinearScorer(C=self.C, keep=self.keep, random_state=self.random_state).fit(X, templates, w)
        self.templates_ = list(self.template_model_.classes_)
        t_index = {t: i for i, t in enumerate(self.templates_)}
        r_index = {r: i for i, r in enumerate(self.reason_model_.classes_)}
        tr = list(table_reasons) if table_reasons is not None else list(reasons)
        te = list(table_executors) if table_executors is not None else list(executors)
        td = list(table_districts) if table_districts is not None else districts
        counts = np.zeros((len(r_index), len(known) + 1, len(t_index)), dtype=np.float64)
        d_index = {d: i for i, d in enumerate(known)}
        for r, e, d in zip(tr, te, td):
            dc = self.district_by_key_.get(district_key(d))
            t = to_template(e, dc)
            if r in r_index and t in t_index:
                counts[r_index[r], d_index.get(dc, len(known)), t_index[t]] += 1
        counts[:, len(known), :] += counts[:, : len(known), :].sum(axis=1)
        marginal = counts[:, len(known), :] + 0.1
        backoff = marginal / marginal.sum(axis=1, keepdims=True)
        table = (counts + self.alpha * backoff[:, None, :]) / (counts.sum(axis=2, keepdims=True) + self.alpha)
        self.table_ = table.astype(np.float32)
        # rows per topic group and per topic: the learned model only routes what it has seen enough of
        self.group_rows_ = _counts(groups)
        self.topic_rows_ = _counts(topics)
        return self

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_stacked_t", None)  # derived at first use
        return state

    def _index_districts(self) -> None:
        self.district_by_key_ = {district_key(d): d for d in self.districts_}

    def resolve_district(self, district: str | None, municipality: str | None = None) -> str | None:
        check_is_fitted(self, "table_")
        d = self.district_by_key_.get(district_key(district))
        if d is None and isinstance(municipality, str):
            d = self.municipality_district_.get(municipality.lower())
        return d

    def calibrate(self, texts, reasons, executors, districts=None) -> "ExecutorModel":
        X = self.featurizer_.transform(list(texts))
        n = X.shape[0]
        districts = list(districts) if districts is not None else [None] * n
        canon = [self.resolve_district(d) for d in districts]
        self.reason_model_.calibrate(X, reasons)
        self.template_model_.calibrate(X, [to_template(e, d) for e, d in zip(executors, canon)])
        return self

    def predict_template_proba(self, texts, districts) -> np.ndarray:
        """P(template) n×len(templates_); districts are canonical names (resolve_district) or None."""
        check_is_fitted(self, "table_")
        X = self.featurizer_.transform(list(texts))
        if getattr(self, "_stacked_t", None) is None:  # one sparse product for both classifiers
            self._stacked_t = sp.vstack([self.reason_model_.coef_, self.template_model_.coef_], format="csr").T.tocsr()
        D = (X @ self._stacked_t).toarray()
        n_reasons = len(self.reason_model_.classes_)
        p_reason = softmax((D[:, :n_reasons] + self.reason_model_.intercept_) / self.reason_model_.temperature_)
        p_text = softmax((D[:, n_reasons:] + self.template_model_.intercept_) / self.template_model_.temperature_)
        index = {d: i for i, d in enumerate(self.districts_)}
        d_idx = np.array([index.get(d, len(self.districts_)) for d in districts], dtype=int)
        p_mix = np.einsum("nr,nrt->nt", p_reason, self.table_[:, d_idx, :].transpose(1, 0, 2))
        return self.mix * p_mix + (1 - self.mix) * p_text

    def rank(self, texts, districts, municipalities=None, k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (executor name, score) per row; district-level templates instantiated."""
        n = len(texts)
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        canon = [self.resolve_district(d, m) for d, m in zip(districts, municipalities)]
        P = self.predict_template_proba(texts, canon)
        order = np.argsort(-P, axis=1)[:, :k]
        return [[(from_template(self.templates_[j], canon[i]), float(P[i, j])) for j in order[i]] for i in range(n)]

    def covers(self, group: str | None, topic: str | None = None) -> bool:
        if group is None or self.group_rows_.get(group, 0) < MIN_GROUP_ROWS:
            return False
        topic_rows = getattr(self, "topic_rows_", None)
        return topic is None or not topic_rows or topic_rows.get(topic, 0) >= MIN_TOPIC_ROWS


def _counts(values) -> dict[str, int]:
    names, counts = np.unique(np.asarray(values if values is not None else [], dtype=str), return_counts=True)
    return {str(v): int(c) for v, c in zip(names, counts)}


def _majority(municipalities: list, districts: list) -> dict[str, str]:
    """municipality (lower-case) → its most frequent district in the data."""
    counts: dict[str, dict[str, int]] = {}
    for m, d in zip(municipalities, districts):
        if isinstance(m, str) and d:
            counts.setdefault(m.lower(), {}).setdefault(d, 0)
            counts[m.lower()][d] += 1
    return {m: max(c, key=c.get) for m, c in counts.items()}


@dataclass
class RoutePrediction:
    route: Route
    candidates: list[tuple[str, float]] = field(default_factory=list)
    source: str = "table"  # "learned" | "table"


def _load_profiles(directory: Path) -> Profiles:
    ids = sorted(p.stem for p in Path(directory).glob("*.yaml"))
    if not ids:
        log.warning("no regulation profiles in %s: table routes will be empty", directory)
        return _EmptyProfiles()  # type: ignore[return-value]
    return Profiles.load(directory, default="omsk" if "omsk" in ids else ids[0])


TERRITORY_MARK = "(по месту)"


def _territory_keys(name: str) -> set[str]:
    low = name.lower().replace("ё", "е").strip()
    return {low, district_key(low) or low}


def _resolve_territory(profile: Profile, departments: list, location) -> list:
    """Replace a "… (по месту)" department by the one the profile's `territories` gives for the
    post's district / settlement / municipality. Only a department of the same kind is replaced
    (same first word: "Администрация района (по месту)" → "Администрация Невского района"), so
    e.g. SPb's housing agency placeholder is not turned into the district administration."""
    territories = getattr(profile, "territories", None) or {}
    if not territories or location is None or not any(TERRITORY_MARK in d.name for d in departments):
        return departments
    by_key: dict[str, str] = {}
    for name, dep_id in territories.items():
        for key in _territory_keys(name):
            by_key.setdefault(key, dep_id)
    found = None
    for part in (location.settlement, location.district, location.municipality):
        if isinstance(part, str) and part.strip():
            hit = next((by_key[k] for k in _territory_keys(part) if k in by_key), None)
            if hit is not None:
                found = profile.departments.get(hit)
                break
    if found is None:
        return departments
    out = []
    for d in departments:
        if TERRITORY_MARK in d.name and d.name.split()[0] == found.name.split()[0]:
            d = found
        if d not in out:
            out.append(d)
    return out


class _EmptyProfiles:
    """No profile files at all: every region is unknown to the table router."""

    def __contains__(self, region: str) -> bool:
        return False


class RouteTagger:
    """The routing component: sets doc.route (executors, responsible first; needs_review).

    `models`: the artifact's learned executor models by profile id (None: table routes only);
    `profiles`: the regulation profiles (their routing tables); loaded from data/profiles if None.
    """

    name = "route"

    def __init__(self, models: dict[str, ExecutorModel] | None, profiles: Profiles | None = None):
        self.models = dict(models or {})
        for region, m in self.models.items():
            check_is_fitted(m, "table_")
        self._profiles = profiles

    @property
    def profiles(self) -> Profiles:
        if self._profiles is None:
            self._profiles = _load_profiles(DEFAULT_PROFILES_DIR)
        return self._profiles

    def predict(self, docs: list[Doc]) -> list[RoutePrediction]:
        out: list[RoutePrediction | None] = [None] * len(docs)
        by_model: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            model = self.models.get(doc.region)
            group = doc.topic.group if doc.topic else None
            if model is not None and model.covers(group, doc.topic.name if doc.topic else None):
                by_model.setdefault(doc.region, []).append(i)
            else:
                out[i] = self._table_route(doc)
        for region, idx in by_model.items():
            model = self.models[region]
            texts = [model_text(docs[i].text.lower) for i in idx]
            locs = [docs[i].location for i in idx]
            ranked = model.rank(texts, [l.district if l else None for l in locs],
                                [l.municipality if l else None for l in locs], k=3)
            for i, cands in zip(idx, ranked):
                out[i] = self._learned_route(cands)
        return out  # type: ignore[return-value]

    @staticmethod
    def _learned_route(cands: list[tuple[str, float]]) -> RoutePrediction:
        top_name, top = cands[0]
        second = cands[1][1] if len(cands) > 1 else 0.0
        review = top < REVIEW_MIN_SCORE or top - second < REVIEW_MIN_MARGIN or UNKNOWN_DISTRICT in top_name
        route = Route([Executor(top_name, "responsible", round(top, 4))], needs_review=review)
        return RoutePrediction(route, [(n, round(s, 4)) for n, s in cands], "learned")

    def _table_route(self, doc: Doc) -> RoutePrediction:
        profiles = self.profiles
        if doc.region not in profiles:
            return RoutePrediction(Route([], needs_review=True))
        profile: Profile = profiles.get(doc.region)
        group = doc.topic.group if doc.topic else None
        departments = _resolve_territory(profile, profile.route_for_group(group), doc.location)
        score = float(doc.topic.group_score or doc.topic.score) if doc.topic else 0.0
        executors = [Executor(d.name, "responsible" if k == 0 else "co-executor", round(score, 4))
                     for k, d in enumerate(departments)]
        review = (doc.topic is None or score < REVIEW_MIN_GROUP_SCORE or not executors
                  or group not in profile.routing or TERRITORY_MARK in executors[0].name)
        return RoutePrediction(Route(executors, needs_review=review), [(e.name, e.score) for e in executors], "table")

    def set_annotations(self, docs: list[Doc], preds: list[RoutePrediction]) -> None:
        for doc, pred in zip(docs, preds):
            doc.route = pred.route
            doc.extras["route_candidates"] = pred.candidates
            doc.extras["route_source"] = pred.source

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))
