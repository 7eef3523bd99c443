"""Routing: who must answer a post.

For profiles with real executor labels a learned model. SPb (`ExecutorModel`):
- executors that exist once per district ("СПб ГКУ ЖА Невского района") are folded into templates
  ("СПб ГКУ ЖА {D}ого района") and instantiated with the post's district, so the text only has to
  tell the KIND of executor and the location tells which one;
- P(template | text, district) = mix · Σ_r P(r | text, building) · T[r, district] (a fine-label
  classifier over the source's own reasons/themes times a smoothed (reason, district) → template
  table learned from the data, backed off to the reason alone) + (1 − mix) · P(template | text)
  (a direct linear model); mix 0.8. When the post's address says whether it is about a building
  («…, дом 12» vs a street or a park), P(r | text) is multiplied by P(building | r) or
  1 − P(building | r) (learned from the data: a staircase is a building's, a yard or a road is
  not) and renormalized; a post without an address is left as it is. When the training rows carry
  the portal's object type (Дом / Двор / Улица / Сооружение …, chosen by the citizen before the
  reason), a small classifier reads it from the text and P(r | text) is also multiplied by
  (Σ_o P(o | text) · P(o | r))^object_weight: a coarse, better-estimated «yard or street» vote that
  mostly moves mass between the reasons whose executors differ (yard puddles → ЖА / administration,
  road puddles → ЦКБ).
- Kursk (`PlaceExecutorModel`): its executors are town/district administrations plus city and
  regional committees chosen by theme, so one linear model reads the text features and a one-hot
  of the post's place (doc.location municipality, and municipality/district for the city okrugs);
  when the text's best guess is a service of the regional capital only («… города Курска») and the
  post is from another town or district, that town's administration (learned place → «Администрация …»
  table) takes its place.
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
from .linear import FEW, LinearScorer, TextFeaturizer, rows_dot, softmax
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

# a house number in an address: «дом 12», «д. 12», or a number ending the address or a part of it
# («ул. Ленина 5», «Невский пр., 10, лит. А», «87к1», «12а»), not a number inside a street name
# («улица 8 Марта», «2-я линия»)
_HOUSE = re.compile(r"\bдом\b|\bд\.?\s*\d|(?<![\d-])\d+\s*[а-я]?(?:\s*(?:к|корп|корпус|лит|литера|стр)\.?\s*\d*[а-я]?)*\s*(?:,|$)")
_DISTRICT_NOISE = re.compile(r"\b(район|р-н|р\.|округ|муниципальный|административный)\b\.?")


def district_key(name: str | None) -> str | None:
    """'Невский район', 'невский р-н', 'Невский' → 'невский'."""
    if not name or not isinstance(name, str):
        return None
    key = _DISTRICT_NOISE.sub(" ", name.lower().replace("ё", "е")).strip()
    return key.split()[0] if key else None


def is_building(address: str | None) -> bool | None:
    """Whether a post's address names a building (has a house number): None when there is no address
    (nothing is known), False for a street, square or park without a number."""
    if not isinstance(address, str) or not address.strip():
        return None
    return bool(_HOUSE.search(address.lower().replace("ё", "е")))


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

    def __init__(self, mix: float = 0.8, alpha: float = 5.0, C: float = 0.5, keep: int = 1500,
                 reason_solver: str = "svm", char_bits: int = 17, word_bits: int = 17,
                 district_weight: float = 0.0, building_weight: float = 1.0, object_weight: float = 0.5,
                 object_keep: int = 3000, random_state: int = 13):
        self.mix = mix
        self.object_weight = object_weight
        self.object_keep = object_keep
        self.building_weight = building_weight
        self.district_weight = district_weight
        self.reason_solver = reason_solver
        self.alpha = alpha
        self.C = C
        self.keep = keep
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.random_state = random_state

    def fit(self, texts, reasons, executors, districts=None, municipalities=None, sample_weight=None,
            table_reasons=None, table_executors=None, table_districts=None, groups=None,
            topics=None, table_buildings=None, objects=None) -> "ExecutorModel":
        """texts/reasons/executors: the (deduplicated) rows for the classifiers; table_*: all labelled
        rows for the (reason, district) → executor table (repeats are real workload, keep them);
        table_buildings: per table row, whether it is about a building (True/False/None unknown),
        for P(building | reason); objects: per classifier row, the portal's object type (None
        unknown), for the object classifier and P(object | reason)."""
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
        X = self._features(texts, canon)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        # the reason model reads the text only (a district says nothing about the reason): its
        # weights on the district columns are zero
        X_text = X[:, : self.featurizer_.n_features].tocsr()
        self.reason_model_ = LinearScorer(C=self.C, keep=self.keep, solver=self.reason_solver,
                                          random_state=self.random_state).fit(X_text, reasons, w)
        if X.shape[1] > X_text.shape[1]:
            coef = self.reason_model_.coef_
            self.reason_model_.coef_ = sp.csr_matrix((coef.data, coef.indices, coef.indptr),
                                                     shape=(coef.shape[0], X.shape[1]))
        self.template_model_ = LinearScorer(C=self.C, keep=self.keep, random_state=self.random_state).fit(X, templates, w)
        self._fit_objects(X_text, X.shape[1], reasons, objects, w)
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
        self.building_rates_ = None
        if table_buildings is not None:
            hits = np.ones((len(r_index), 2))  # add-one smoothing: [not a building, building]
            for r, b in zip(tr, table_buildings):
                if r in r_index and b is not None and not (isinstance(b, float) and np.isnan(b)):
                    hits[r_index[r], int(bool(b))] += 1
            self.building_rates_ = (hits[:, 1] / hits.sum(axis=1)).astype(np.float32)
        # rows per topic group and per topic: the learned model only routes what it has seen enough of
        self.group_rows_ = _counts(groups)
        self.topic_rows_ = _counts(topics)
        return self

    def _fit_objects(self, X_text, n_columns, reasons, objects, w) -> None:
        """The object-type classifier over the text and P(object | reason) (add-0.1 smoothed), from
        the classifier rows whose object type is known; none without objects or object_weight 0."""
        self.object_model_, self.object_rates_ = None, None
        if objects is None or not self.object_weight:
            return
        objects = np.array([o if isinstance(o, str) and o else None for o in objects], dtype=object)
        known = np.flatnonzero([o is not None for o in objects])
        if len(set(objects[known].tolist())) < 2:
            return
        model = LinearScorer(C=self.C, keep=self.object_keep, random_state=self.random_state).fit(
            X_text[known], objects[known], None if w is None else w[known])
        coef = model.coef_
        model.coef_ = sp.csr_matrix((coef.data, coef.indices, coef.indptr), shape=(coef.shape[0], n_columns))
        r_index = {r: i for i, r in enumerate(self.reason_model_.classes_)}
        o_index = {o: i for i, o in enumerate(model.classes_)}
        hits = np.full((len(r_index), len(o_index)), 0.1)
        reasons = np.asarray(reasons, dtype=object)
        for r, o in zip(reasons[known], objects[known]):
            if r in r_index:
                hits[r_index[r], o_index[o]] += 1
        self.object_model_ = model
        self.object_rates_ = (hits / hits.sum(axis=1, keepdims=True)).astype(np.float32)

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_stacked_t", None)  # derived at first use
        return state

    def _features(self, texts, canon) -> sp.csr_matrix:
        """Text features, plus (district_weight > 0) a one-hot of the canonical district: a
        per-district prior for the direct template model (some districts' upkeep goes to other agencies)."""
        X = self.featurizer_.transform(list(texts))
        if not getattr(self, "district_weight", 0.0):
            return X
        index = {d: i for i, d in enumerate(self.districts_)}
        rows = [i for i, d in enumerate(canon) if d in index]
        D = sp.csr_matrix((np.full(len(rows), self.district_weight, dtype=np.float32),
                           (rows, [index[canon[i]] for i in rows])), shape=(len(canon), len(self.districts_)))
        return sp.hstack([X, D], format="csr", dtype=np.float32)

    def _feature_rows(self, texts, canon) -> list[tuple[np.ndarray, np.ndarray]]:
        """`_features` as `TextFeaturizer.rows` (for a few posts; the same numbers)."""
        rows = self.featurizer_.rows(texts)
        weight = getattr(self, "district_weight", 0.0)
        if not weight:
            return rows
        index = {d: i for i, d in enumerate(self.districts_)}
        n = self.featurizer_.n_features
        out = []
        for (cols, vals), d in zip(rows, canon):
            if d in index:
                cols = np.append(cols, n + index[d])
                vals = np.append(vals, np.float32(weight))
            out.append((cols, vals))
        return out

    def _index_districts(self) -> None:
        self.district_by_key_ = {district_key(d): d for d in self.districts_}

    def resolve_district(self, district: str | None, municipality: str | None = None) -> str | None:
        check_is_fitted(self, "table_")
        d = self.district_by_key_.get(district_key(district))
        if d is None and isinstance(municipality, str):
            d = self.municipality_district_.get(municipality.lower())
        return d

    def calibrate(self, texts, reasons, executors, districts=None, objects=None) -> "ExecutorModel":
        n = len(texts)
        districts = list(districts) if districts is not None else [None] * n
        canon = [self.resolve_district(d) for d in districts]
        X = self._features(texts, canon)
        self.reason_model_.calibrate(X, reasons)
        self.template_model_.calibrate(X, [to_template(e, d) for e, d in zip(executors, canon)])
        if getattr(self, "object_model_", None) is not None and objects is not None:
            self.object_model_.calibrate(X, list(objects))
        return self

    def reason_proba(self, texts) -> np.ndarray:
        """P(portal label | text), n×len(reason_model_.classes_), calibrated; the text alone decides."""
        model = getattr(self, "reason_model_", None)
        if model is None:
            check_is_fitted(self, "reason_model_")  # raises NotFittedError (costly: not on every call)
        texts = list(texts)
        if len(texts) <= FEW:
            return model.predict_proba_rows(self._feature_rows(texts, [None] * len(texts)))
        return model.predict_proba(self._features(texts, [None] * len(texts)))

    def predict_template_proba(self, texts, districts, buildings=None) -> np.ndarray:
        """P(template) n×len(templates_); districts are canonical names (resolve_district) or None;
        buildings: per post True (the address has a house number) / False (an address without one) /
        None (no address: the reason model is left alone)."""
        check_is_fitted(self, "table_")
        object_model = getattr(self, "object_model_", None)
        if getattr(self, "_stacked_t", None) is None:  # one sparse product for all classifiers
            coefs = [self.reason_model_.coef_, self.template_model_.coef_]
            if object_model is not None:
                coefs.append(object_model.coef_)
            self._stacked_t = sp.vstack(coefs, format="csr").T.tocsr()
        texts = list(texts)
        if len(texts) <= FEW:
            D = rows_dot(self._feature_rows(texts, districts), self._stacked_t)
        else:
            D = (self._features(texts, districts) @ self._stacked_t).toarray()
        n_reasons, n_templates = len(self.reason_model_.classes_), len(self.templates_)
        p_reason = softmax((D[:, :n_reasons] + self.reason_model_.intercept_) / self.reason_model_.temperature_)
        p_reason = self._weigh_buildings(p_reason, buildings)
        if object_model is not None:
            p_object = softmax((D[:, n_reasons + n_templates:] + object_model.intercept_) / object_model.temperature_)
            # an elementwise product summed per row, not a matmul: BLAS sums one row and a batch in
            # different orders, and a post must score the same alone and in a batch
            vote = (p_object[:, None, :] * self.object_rates_[None, :, :]).sum(axis=2)
            p_reason = p_reason * vote ** self.object_weight
            p_reason /= p_reason.sum(axis=1, keepdims=True)
        p_text = softmax((D[:, n_reasons:n_reasons + n_templates] + self.template_model_.intercept_)
                         / self.template_model_.temperature_)
        index = {d: i for i, d in enumerate(self.districts_)}
        d_idx = np.array([index.get(d, len(self.districts_)) for d in districts], dtype=int)
        p_mix = np.einsum("nr,nrt->nt", p_reason, self.table_[:, d_idx, :].transpose(1, 0, 2))
        return self.mix * p_mix + (1 - self.mix) * p_text

    def _weigh_buildings(self, p_reason: np.ndarray, buildings) -> np.ndarray:
        """P(r | text) · P(building? | r)^building_weight, renormalized, for the posts whose address
        tells whether they are about a building (an artifact trained before this has no rates)."""
        rates = getattr(self, "building_rates_", None)
        if rates is None or buildings is None or not self.building_weight:
            return p_reason
        known = np.array([b is not None for b in buildings], dtype=bool)
        if not known.any():
            return p_reason
        is_b = np.array([bool(b) for b in buildings], dtype=bool)
        like = np.where(is_b[:, None], rates[None, :], 1.0 - rates[None, :]) ** self.building_weight
        out = p_reason.copy()
        out[known] *= like[known]
        out[known] /= out[known].sum(axis=1, keepdims=True)
        return out

    def rank(self, texts, districts, municipalities=None, k: int = 3, buildings=None) -> list[list[tuple[str, float]]]:
        """Top-k (executor name, score) per row; district-level templates instantiated; buildings as
        in `predict_template_proba` (None: no address known for any post)."""
        n = len(texts)
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        canon = [self.resolve_district(d, m) for d, m in zip(districts, municipalities)]
        P = self.predict_template_proba(texts, canon, buildings)
        order = np.argsort(-P, axis=1)[:, :k]
        return [[(from_template(self.templates_[j], canon[i]), float(P[i, j])) for j in order[i]] for i in range(n)]

    def covers(self, group: str | None, topic: str | None = None) -> bool:
        if group is None or self.group_rows_.get(group, 0) < MIN_GROUP_ROWS:
            return False
        topic_rows = getattr(self, "topic_rows_", None)
        return topic is None or not topic_rows or topic_rows.get(topic, 0) >= MIN_TOPIC_ROWS


def place_key(municipality: str | None, district: str | None = None) -> str | None:
    """The place a post is about, as one key: 'курск/центральный' (a city okrug), 'льгов', 'курский район'."""
    mun = municipality.lower().replace("ё", "е").strip() if isinstance(municipality, str) and municipality.strip() else None
    dist = district_key(district)
    if mun and dist:
        return f"{mun}/{dist}"
    return mun or dist


class PlaceExecutorModel(BaseEstimator):
    """P(executor | text, place) for a profile whose executors are per-town administrations plus
    regional/city committees chosen by theme (Kursk): one linear model over the hashed text
    features and a one-hot of the post's place (municipality, and municipality/district), so the
    text says the kind of problem and the place picks the town's or district's administration.

    Same `rank` / `covers` interface as `ExecutorModel`; `rank` takes the location's districts and
    municipalities. A post without a place is scored with the text alone (the one-hot is empty).
    """

    def __init__(self, C: float = 1.0, place_weight: float = 1.0, keep: int = 2500, char_bits: int = 17,
                 word_bits: int = 17, capital: str = "курск", capital_name: str = "города Курска",
                 local_fill: bool = True, max_iter: int = 200, random_state: int = 13):
        self.C = C
        self.max_iter = max_iter
        self.capital = capital
        self.capital_name = capital_name
        self.local_fill = local_fill
        self.place_weight = place_weight
        self.keep = keep
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.random_state = random_state

    def _places(self, districts, municipalities) -> sp.csr_matrix:
        rows, cols = [], []
        for i, (d, m) in enumerate(zip(districts, municipalities)):
            for key in {place_key(m), place_key(m, d)} - {None}:
                j = self.place_index_.get(key)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        return sp.csr_matrix((np.full(len(rows), self.place_weight, dtype=np.float32), (rows, cols)),
                             shape=(len(districts), len(self.place_index_)))

    def _features(self, texts, districts, municipalities) -> sp.csr_matrix:
        return sp.hstack([self.featurizer_.transform(list(texts)), self._places(districts, municipalities)],
                         format="csr", dtype=np.float32)

    def fit(self, texts, executors, districts=None, municipalities=None, groups=None, topics=None,
            sample_weight=None) -> "PlaceExecutorModel":
        texts = list(texts)
        n = len(texts)
        districts = list(districts) if districts is not None else [None] * n
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        keys = sorted({k for d, m in zip(districts, municipalities) for k in (place_key(m), place_key(m, d)) if k})
        self.place_index_ = {k: i for i, k in enumerate(keys)}
        self.featurizer_ = TextFeaturizer(char_bits=self.char_bits, word_bits=self.word_bits).fit(texts)
        X = self._features(texts, districts, municipalities)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.scorer_ = LinearScorer(C=self.C, keep=self.keep, max_iter=self.max_iter,
                                    random_state=self.random_state).fit(X, list(executors), w)
        self.templates_ = list(self.scorer_.classes_)
        self._fit_local(executors, districts, municipalities)
        self.group_rows_ = _counts(groups)
        self.topic_rows_ = _counts(topics)
        return self

    def _fit_local(self, executors, districts, municipalities) -> None:
        """place → its own administration (the most frequent «Администрация …» of the place's rows),
        and the executors that serve the regional capital only (their rows with a place are almost
        all in it): when one of them is the best guess for a post from another town, their share of P
        goes to that town's administration."""
        by_place: dict[str, dict[str, int]] = {}
        capital_rows: dict[str, list[int]] = {}
        for e, d, m in zip(executors, districts, municipalities):
            key = place_key(m)
            if not key:
                continue
            stats = capital_rows.setdefault(e, [0, 0])
            stats[0] += key == self.capital
            stats[1] += 1
            if e.startswith("Администрация") and key != self.capital:
                by_place.setdefault(key, {}).setdefault(e, 0)
                by_place[key][e] += 1
        self.local_admin_ = {k: max(c, key=c.get) for k, c in by_place.items() if max(c, key=c.get) in self.templates_}
        # a regional body («… Курской области») serves every town even if the data's rows are mostly
        # from the capital
        self.capital_only_ = sorted(
            e for e in self.templates_
            if self.capital_name in e or ("области" not in e and capital_rows.get(e, [0, 0])[1] >= 3
                                          and capital_rows[e][0] >= 0.8 * capital_rows[e][1]))

    def calibrate(self, texts, executors, districts=None, municipalities=None) -> "PlaceExecutorModel":
        n = len(texts)
        districts = list(districts) if districts is not None else [None] * n
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        self.scorer_.calibrate(self._features(texts, districts, municipalities), list(executors))
        return self

    def predict_proba(self, texts, districts=None, municipalities=None) -> np.ndarray:
        check_is_fitted(self, "scorer_")
        n = len(texts)
        districts = list(districts) if districts is not None else [None] * n
        municipalities = list(municipalities) if municipalities is not None else [None] * n
        P = self.scorer_.predict_proba(self._features(texts, districts, municipalities))
        if self.local_fill and self.local_admin_:
            index = {t: j for j, t in enumerate(self.templates_)}
            capital_cols = [index[e] for e in self.capital_only_]
            capital = np.zeros(P.shape[1], dtype=bool)
            capital[capital_cols] = True
            for i, m in enumerate(municipalities):
                admin = self.local_admin_.get(place_key(m))
                # only when the text's best guess is a capital-city service: a regional committee
                # (health, regional transport) stays the answer wherever the post comes from
                if admin is not None and capital[P[i].argmax()]:
                    P[i, index[admin]] += P[i, capital_cols].sum()
                    P[i, capital_cols] = 0.0
        return P

    def rank(self, texts, districts, municipalities=None, k: int = 3, buildings=None) -> list[list[tuple[str, float]]]:
        """Top-k (executor, score) per row; `buildings` is accepted for the common interface and not
        used (the Kursk data has no addresses)."""
        P = self.predict_proba(texts, districts, municipalities)
        order = np.argsort(-P, axis=1)[:, :k]
        return [[(self.templates_[j], float(P[i, j])) for j in order[i]] for i in range(len(texts))]

    def covers(self, group: str | None, topic: str | None = None) -> bool:
        return ExecutorModel.covers(self, group, topic)  # type: ignore[arg-type]


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

    def __init__(self, models: dict[str, ExecutorModel | PlaceExecutorModel] | None, profiles: Profiles | None = None):
        self.models = dict(models or {})
        for region, m in self.models.items():
            check_is_fitted(m)
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
                                [l.municipality if l else None for l in locs], k=3,
                                buildings=[is_building(docs[i].post.address) for i in idx])
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
