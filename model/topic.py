"""Topic and topic-group classification against the incident rubricator.

Two levels, so that a post's topic always belongs to its group:
- a group model: P(group | text) over the rubricator groups that have training data;
- per group, a topic model: P(topic | group, text) over that group's topics with training data.
A topic's score is P(group) * P(topic | group). Both levels are pruned, temperature-calibrated
linear models over hashed char n-grams + lemma n-grams (`model.linear`); both levels' weights are
stacked, so a batch is one sparse matrix product. The group level is an ensemble folded into one
weight matrix: the SVM over all rows + an SVM over the hand-written (informal) rows only + a
complement naive Bayes (all three are linear in the features, so their sum costs nothing at
inference). `doc.topic` is None only when the text has no letters at all.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .doc import Doc
from .errors import ArtifactError
from .linear import FEW, LinearScorer, TextFeaturizer, fit_temperature, rows_dot, softmax
from .records import Topic, TopicAlternative
from .rubricator import Rubricator

# The subject of a post is stated early; long tails are addresses and signatures. The cap keeps
# feature extraction fast and is applied identically in training (training.appeals.clean_text).
MAX_CHARS = 1000

_LETTER = re.compile(r"[^\W\d_]")

log = logging.getLogger(__name__)

# A region's portal categories as a prior over the groups (`PortalGroupPrior`): its share of the
# group distribution, and how many of the region's labelled rows a group needs to be "covered"
# (at least MIN_ROWS and MIN_SHARE of them: 287 of St Petersburg's 41,000, 30 of Kursk's 1,999).
PORTAL_PRIOR_WEIGHT = 0.4
PORTAL_PRIOR_MIN_ROWS = 30
PORTAL_PRIOR_MIN_SHARE = 0.007


def model_text(lower: str) -> str:
    """What the topic and route models read: `Text.lower`, capped."""
    return lower[:MAX_CHARS]


def has_subject(lower: str) -> bool:
    return bool(_LETTER.search(lower))


class TopicModel(BaseEstimator):
    """Group model + per-group topic models over shared text features (see the module docstring)."""

    def __init__(self, group_C: float = 0.5, topic_C: float = 0.5, keep: int = 3000, char_bits: int = 18,
                 word_bits: int = 18, informal_weight: float = 0.0, informal_C: float = 1.0, nb_weight: float = 0.0,
                 nb_alpha: float = 0.1, nb_keep: int = 3000, random_state: int = 13):
        self.group_C = group_C
        self.topic_C = topic_C
        self.nb_weight = nb_weight
        self.nb_alpha = nb_alpha
        self.nb_keep = nb_keep
        self.informal_weight = informal_weight
        self.informal_C = informal_C
        self.keep = keep
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.random_state = random_state

    def fit(self, texts: list[str], topics: list[str], groups: list[str], sample_weight=None,
            informal=None) -> "TopicModel":
        """`informal`: a boolean mask of the hand-written (social-network style) rows. With
        `informal_weight` > 0, a second group model fitted on those rows only is added to the group
        model's decision (weights summed, so inference costs nothing extra): in the groups the
        portals cover, thousands of portal rows otherwise outvote the informal wording."""
        texts, topics, groups = list(texts), np.asarray(topics, dtype=object), np.asarray(groups, dtype=object)
        if not (len(texts) == len(topics) == len(groups)):
            raise ValueError(f"expected texts, topics and groups of one length, got {len(texts)}, {len(topics)}, {len(groups)}")
        w = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.featurizer_ = TextFeaturizer(char_bits=self.char_bits, word_bits=self.word_bits).fit(texts)
        X = self.featurizer_.transform(texts)
        self.group_model_ = LinearScorer(C=self.group_C, keep=self.keep, random_state=self.random_state)
        self.group_model_.fit(X, groups, sample_weight=w)
        self.groups_ = list(self.group_model_.classes_)
        if informal is not None and self.informal_weight > 0:
            self._add_informal_model(X, groups, np.asarray(informal, dtype=bool))
        if self.nb_weight > 0:
            self._add_naive_bayes(X, groups, w)
        rows, intercepts, names, slices, temps = [], [], [], {}, {}
        for g in self.groups_:
            mask = groups == g
            own = sorted(set(topics[mask].tolist()))
            start = len(names)
            if len(own) == 1:
                rows.append(sp.csr_matrix((1, X.shape[1]), dtype=np.float32))
                intercepts.append(np.zeros(1, dtype=np.float32))
            else:
                m = LinearScorer(C=self.topic_C, keep=self.keep, random_state=self.random_state)
                m.fit(X[mask], topics[mask], sample_weight=w[mask])
                own = list(m.classes_)
                rows.append(m.coef_)
                intercepts.append(m.intercept_)
            names += own
            slices[g] = (start, len(names))
            temps[g] = 1.0
        self.topics_ = names
        self.topic_group_ = [g for g in self.groups_ for _ in range(*slices[g])]
        self.topic_coef_ = sp.vstack(rows, format="csr", dtype=np.float32)
        self.topic_intercept_ = np.concatenate(intercepts).astype(np.float32)
        self.topic_slices_ = slices
        self.topic_temperature_ = temps
        return self

    def _add_informal_model(self, X: sp.csr_matrix, groups: np.ndarray, informal: np.ndarray) -> None:
        if len(informal) != X.shape[0]:
            raise ValueError(f"informal: expected a mask of {X.shape[0]} rows, got {len(informal)}")
        if len(set(groups[informal].tolist())) < 2:
            return
        own = LinearScorer(C=self.informal_C, keep=self.keep, random_state=self.random_state)
        own.fit(X[informal], groups[informal])
        index = {g: i for i, g in enumerate(own.classes_)}
        rows = [index.get(g) for g in self.groups_]
        # a group without informal rows gets the "not this class" margin of a hinge model
        coef = sp.vstack([own.coef_[i] if i is not None else sp.csr_matrix((1, X.shape[1]), dtype=np.float32)
                          for i in rows], format="csr")
        intercept = np.array([own.intercept_[i] if i is not None else -1.0 for i in rows], dtype=np.float32)
        g = self.group_model_
        g.coef_ = (g.coef_ + self.informal_weight * coef).astype(np.float32).tocsr()
        g.intercept_ = (g.intercept_ + self.informal_weight * intercept).astype(np.float32)
        g.__dict__.pop("_coef_t", None)

    def _add_naive_bayes(self, X: sp.csr_matrix, groups: np.ndarray, w: np.ndarray) -> None:
        """Complement naive Bayes over the same features, folded into the group weights.

        CNB spreads its evidence over many words where the SVM keeps few, which helps short informal
        posts whose words the SVM's pruned weights miss. Its class scores X·F are linear, and centring
        them over the classes (X·(F − mean F)) keeps them linear, so the ensemble is still one
        sparse product. Their scale is matched to the SVM decisions on the training rows.
        """
        from sklearn.naive_bayes import ComplementNB

        nb = ComplementNB(alpha=self.nb_alpha).fit(X, groups, sample_weight=w)
        index = {g: i for i, g in enumerate(nb.classes_)}
        F = nb.feature_log_prob_[[index[g] for g in self.groups_]]
        F = F - F.mean(axis=0, keepdims=True)
        g = self.group_model_
        probe = X[: min(3000, X.shape[0])]
        scale = g.decision_function(probe).std() / max(float((probe @ F.T).std()), 1e-12)
        F = (F * scale).astype(np.float32)
        if self.nb_keep and F.shape[1] > self.nb_keep:
            # keep per class the weights that move the most scores: |weight| × the feature's total
            # mass in the training rows (NB's strength is in frequent words with small weights, which
            # plain magnitude pruning would drop first)
            mass = np.asarray(X.sum(axis=0)).ravel()
            impact = np.abs(F) * mass
            cut = np.partition(impact, -self.nb_keep, axis=1)[:, -self.nb_keep][:, None]
            F = np.where((impact >= cut) & (impact > 0), F, 0.0).astype(np.float32)
        pruned = sp.csr_matrix(F)
        g.coef_ = (g.coef_ + self.nb_weight * pruned).astype(np.float32).tocsr()
        g.__dict__.pop("_coef_t", None)

    def calibrate(self, texts: list[str], topics: list[str], groups: list[str], sample_weight=None) -> "TopicModel":
        """Fit the temperatures on held-out rows: one for the group level, one per group for topics."""
        check_is_fitted(self, "group_model_")
        X = self.featurizer_.transform(list(texts))
        topics, groups = np.asarray(topics, dtype=object), np.asarray(groups, dtype=object)
        w = np.ones(len(topics)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.group_model_.calibrate(X, groups, w)
        D = self._topic_decisions(X)
        for g, (a, b) in self.topic_slices_.items():
            mask = groups == g
            if b - a > 1 and mask.sum() >= 10:
                classes = np.array(self.topics_[a:b], dtype=object)
                self.topic_temperature_[g] = fit_temperature(D[mask][:, a:b], classes, topics[mask], w[mask])
        return self

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_stacked_t", None)  # derived at first use
        return state

    def _stacked(self) -> sp.csr_matrix:
        """Group and topic weights as one features × classes CSR matrix (derived at first use)."""
        if getattr(self, "_stacked_t", None) is None:
            self._stacked_t = sp.vstack([self.group_model_.coef_, self.topic_coef_], format="csr").T.tocsr()
        return self._stacked_t

    def _decisions(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Group and topic decision values from ONE sparse product (features × all classes, CSR)."""
        return self._split((X @ self._stacked()).toarray())

    def _decisions_of_rows(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """`_decisions` for a few posts given as `TextFeaturizer.rows` (same numbers, no scipy)."""
        return self._split(rows_dot(rows, self._stacked()))

    def _split(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_groups = len(self.groups_)
        return D[:, :n_groups] + self.group_model_.intercept_, D[:, n_groups:] + self.topic_intercept_

    def _topic_decisions(self, X: sp.csr_matrix) -> np.ndarray:
        return self._decisions(X)[1]

    def predict_proba(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(group) n×G in `groups_` order, P(topic) n×T joint, in `topics_` order)."""
        check_is_fitted(self, "group_model_")
        texts = list(texts)
        if len(texts) <= FEW:
            G, D = self._decisions_of_rows(self.featurizer_.rows(texts))
        else:
            G, D = self._decisions(self.featurizer_.transform(texts))
        pg = softmax(G / self.group_model_.temperature_)
        pt = np.empty_like(D)
        for j, g in enumerate(self.groups_):
            a, b = self.topic_slices_[g]
            pt[:, a:b] = softmax(D[:, a:b] / self.topic_temperature_[g]) * pg[:, j:j + 1]
        return pg, pt


@dataclass
class TopicPrediction:
    topic: Topic | None
    group_scores: dict[str, float] = field(default_factory=dict)


class PortalGroupPrior:
    """A region's own portal categories as a prior over the groups.

    The St Petersburg router (`model.route.ExecutorModel`) carries a 125-label classifier of the
    portal's categories, trained on that portal's posts only; mapped to the rubricator
    (`data/mappings/<region>.yaml`) it knows the region's portal posts better than the general topic
    model, which is balanced across 26 groups and informal writing. For a post of that region whose
    best group is one the portal covers (≥ `min_rows` labelled rows and ≥ `min_share` of them), the
    group distribution becomes
    (1 − weight)·P_topic + weight·P_portal; topics keep their P(topic | group). A post whose best group
    the portal does not cover (health, schools, …) is left alone. Kursk's router has no category
    model; the artifact's "portal" component (`model.portal.PortalCategoryModel`) serves instead.
    """

    def __init__(self, model: Any, label_groups: Sequence[str | None], groups: Sequence[str],
                 weight: float = PORTAL_PRIOR_WEIGHT, min_rows: int = PORTAL_PRIOR_MIN_ROWS,
                 min_share: float = PORTAL_PRIOR_MIN_SHARE):
        if not hasattr(model, "reason_proba"):
            raise ArtifactError(f"expected a router with portal categories (reason_proba), got {type(model).__name__}")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"expected a weight in [0, 1], got {weight}")
        index = {g: i for i, g in enumerate(groups)}
        self.model = model
        self.weight = weight
        self.n_groups = len(groups)
        self.columns = np.array([index.get(g, -1) if g else -1 for g in label_groups], dtype=int)
        rows = getattr(model, "group_rows_", {}) or {}
        bar = max(min_rows, min_share * sum(rows.values()))
        self.covered = frozenset(g for g, n in rows.items() if n >= bar and g in index)

    @classmethod
    def from_router(cls, model: Any, mapping: Any, rubricator: Rubricator, groups: Sequence[str],
                    **kwargs: Any) -> "PortalGroupPrior":
        """`mapping`: the region's `model.mappings.Mapping`; the router's labels are "category | reason"."""
        label_groups = []
        for label in model.reason_model_.classes_:
            key = tuple(str(label).split(" | ", len(mapping.key) - 1))
            entry = mapping.labels.get(key)
            label_groups.append(rubricator.topic(entry["topic"]).group if entry else None)
        return cls(model, label_groups, groups, **kwargs)

    def group_proba(self, texts: list[str]) -> np.ndarray:
        """P_portal(group | text), n×len(groups); the columns follow the topic model's groups."""
        p = self.model.reason_proba(texts)
        out = np.zeros((p.shape[0], self.n_groups))
        keep = self.columns >= 0
        np.add.at(out.T, self.columns[keep], p[:, keep].T)
        return out

    def apply(self, texts: list[str], groups: Sequence[str], pg: np.ndarray, pt: np.ndarray,
              topic_columns: np.ndarray) -> None:
        """Mix the prior into pg (n×groups) and rescale pt (n×topics) in place, for the rows whose
        best group is covered; topic_columns[k] is the group column of topic k."""
        best = np.argmax(pg, axis=1)
        rows = np.array([groups[b] in self.covered for b in best], dtype=bool)
        if not rows.any() or not self.weight:
            return
        prior = self.group_proba([t for t, r in zip(texts, rows) if r])
        old = pg[rows]
        new = (1.0 - self.weight) * old + self.weight * prior
        scale = np.divide(new, old, out=np.ones_like(new), where=old > 0)
        pg[rows] = new
        pt[rows] *= scale[:, topic_columns]


def portal_priors(portals: dict[str, Any] | None, rubricator: Rubricator, groups: Sequence[str],
                  mappings_dir: Path | None = None) -> dict[str, PortalGroupPrior]:
    """One prior per region whose model has portal categories (`reason_proba`: St Petersburg's
    router, Kursk's `model.portal.PortalCategoryModel`) and whose labels have a mapping file."""
    from .mappings import MAPPINGS_DIR, load_mapping

    out = {}
    for region, model in (portals or {}).items():
        path = Path(mappings_dir or MAPPINGS_DIR) / f"{region}.yaml"
        if not hasattr(model, "reason_proba") or not hasattr(model, "reason_model_") or not path.is_file():
            continue
        prior = PortalGroupPrior.from_router(model, load_mapping(region, rubricator, path.parent), rubricator, groups)
        if prior.covered:
            out[region] = prior
            log.info("topic: %s portal prior over %s", region, sorted(prior.covered))
    return out


def artifact_priors(artifact: Any, rubricator: Rubricator, mappings_dir: Path | None = None) -> dict[str, PortalGroupPrior]:
    """The priors the pipeline uses, from an artifact: each region's portal categories — its
    router's own (spb) or the "portal" component's (kursk) — over the topic model's groups."""
    model = artifact.get("topic")
    groups = getattr(getattr(model, "model", model), "groups_", None)  # older artifacts stored a tagger
    if not groups:
        return {}
    portals = {**(artifact.get("route") or {}), **(artifact.get("portal") or {})}
    return portal_priors(portals, rubricator, groups, mappings_dir)


class TopicTagger:
    """The topic component: sets doc.topic (top topic + top-k alternatives) and doc.group_scores.

    `model` is the artifact's trained TopicModel; the rubricator gives the full group list (for
    doc.group_scores) and the urgent (★) flags, and must contain every topic the model knows.
    """

    name = "topic"

    def __init__(self, model: TopicModel | None, rubricator: Rubricator | list[str],
                 urgent: dict[str, bool] | None = None, top_k: int = 3, rubricator_version: str | None = None,
                 priors: dict[str, PortalGroupPrior] | None = None):
        """`rubricator`: the Rubricator (as the pipeline passes it), or — for callers without one —
        the list of all group names, with `urgent` (topic name → ★ flag). `priors`: region → its
        portal prior (`portal_priors`), mixed into that region's posts."""
        if model is None:
            raise ArtifactError("expected a trained 'topic' component in the model artifact, found none; "
                                "run `otklik train --only topic`")
        if isinstance(model, TopicTagger):  # an artifact that stored a whole tagger (older test artifacts)
            model = model.model
        check_is_fitted(model, "group_model_")
        if isinstance(rubricator, Rubricator):
            groups, urgent = list(rubricator.groups), {t.name: t.urgent for t in rubricator.topics}
            known, version = set(urgent), rubricator.version
        else:
            groups, urgent = list(rubricator), dict(urgent or {})
            known, version = set(urgent) if urgent else set(model.topics_), rubricator_version or ""
        unknown = [t for t in model.topics_ if t not in known]
        if unknown:
            raise ArtifactError(f"expected topic model labels from rubricator {version}, got unknown "
                                f"{unknown[:3]}; retrain with `otklik train --only topic`")
        self.model = model
        self.all_groups = groups
        self.urgent = urgent
        self.top_k = top_k
        self.rubricator_version = version
        self.priors = dict(priors or {})
        index = {g: i for i, g in enumerate(model.groups_)}
        self._topic_columns = np.array([index[g] for g in model.topic_group_], dtype=int)

    def predict(self, docs: list[Doc]) -> list[TopicPrediction]:
        out: list[TopicPrediction | None] = [None] * len(docs)
        live = [i for i, d in enumerate(docs) if has_subject(d.text.lower)]
        empty_scores = {g: 0.0 for g in self.all_groups}
        for i in set(range(len(docs))) - set(live):
            out[i] = TopicPrediction(None, dict(empty_scores))
        if not live:
            return out  # type: ignore[return-value]
        m = self.model
        texts = [model_text(docs[i].text.lower) for i in live]
        pg, pt = m.predict_proba(texts)
        for region, prior in self.priors.items():
            rows = np.array([docs[i].region == region for i in live], dtype=bool)
            if rows.any():
                sub_g, sub_t = pg[rows], pt[rows]
                prior.apply([t for t, r in zip(texts, rows) if r], m.groups_, sub_g, sub_t, self._topic_columns)
                pg[rows], pt[rows] = sub_g, sub_t
        best_group = np.argmax(pg, axis=1)
        order = np.argsort(-pt, axis=1)[:, : self.top_k + 1]
        for row, i in enumerate(live):
            g = m.groups_[best_group[row]]
            a, b = m.topic_slices_[g]
            t = a + int(np.argmax(pt[row, a:b]))
            alts = [TopicAlternative(m.topics_[k], m.topic_group_[k], round(float(pt[row, k]), 4))
                    for k in order[row] if k != t][: self.top_k]
            topic = Topic(
                name=m.topics_[t], group=g, score=round(float(pt[row, t]), 4), alternatives=alts,
                group_score=round(float(pg[row, best_group[row]]), 4), urgent=self.urgent.get(m.topics_[t], False),
            )
            scores = dict(empty_scores)
            scores.update({gr: float(pg[row, j]) for j, gr in enumerate(m.groups_)})
            out[i] = TopicPrediction(topic, scores)
        return out  # type: ignore[return-value]

    def set_annotations(self, docs: list[Doc], preds: list[TopicPrediction]) -> None:
        for doc, pred in zip(docs, preds):
            doc.topic = pred.topic
            doc.group_scores = pred.group_scores

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))
