"""A region's own portal categories as a text classifier: `PortalCategoryModel`.

    model = PortalCategoryModel().fit(texts, labels, groups)   # labels: the source's own categories
    p = model.reason_proba(texts)                               # n × len(model.reason_model_.classes_)

St Petersburg's router (`model.route.ExecutorModel`) already holds one (its 125 portal reasons); a
region whose router has none (Kursk: its 160 «Тематика» themes) gets this standalone model in the
artifact's "portal" component. `model.topic.PortalGroupPrior` maps the labels to rubricator groups
(`data/mappings/<region>.yaml`) and mixes them into that region's topic groups. The attribute names
follow the router's (`reason_model_`, `group_rows_`) so either serves the prior.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .linear import FEW, LinearScorer, TextFeaturizer


class PortalCategoryModel(BaseEstimator):
    """Pruned, temperature-calibrated linear classifier of a portal's categories (see the module docstring)."""

    def __init__(self, C: float = 0.5, keep: int = 1500, char_bits: int = 17, word_bits: int = 17,
                 random_state: int = 13):
        self.C = C
        self.keep = keep
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.random_state = random_state

    def fit(self, texts, labels, groups=None, sample_weight=None) -> "PortalCategoryModel":
        """texts: the model text of each post; labels: its portal category; groups: its rubricator
        group (counted per group: the prior only acts on groups the portal covers well)."""
        texts = list(texts)
        self.featurizer_ = TextFeaturizer(char_bits=self.char_bits, word_bits=self.word_bits).fit(texts)
        self.reason_model_ = LinearScorer(C=self.C, keep=self.keep, random_state=self.random_state).fit(
            self.featurizer_.transform(texts), list(labels), sample_weight)
        self.group_rows_ = dict(Counter(g for g in (groups if groups is not None else []) if isinstance(g, str)))
        return self

    def calibrate(self, texts, labels) -> "PortalCategoryModel":
        """Fit the temperature on held-out posts (never the training rows)."""
        check_is_fitted(self, "reason_model_")
        self.reason_model_.calibrate(self.featurizer_.transform(list(texts)), list(labels))
        return self

    def reason_proba(self, texts) -> np.ndarray:
        """P(category | text), calibrated."""
        model = getattr(self, "reason_model_", None)
        if model is None:
            check_is_fitted(self, "reason_model_")  # raises NotFittedError
        texts = list(texts)
        if len(texts) <= FEW:
            return model.predict_proba_rows(self.featurizer_.rows(texts))
        return model.predict_proba(self.featurizer_.transform(texts))
