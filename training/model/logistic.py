"""Multinomial logistic regression on a one-hot / standardised design of the same features.

The design is derived from the feature matrix and its :class:`~training.model.features.FeatureSpec`:
numeric columns are standardised with a missing indicator (missing -> 0 after centring),
categorical codes become one-hot columns plus an "unknown or missing" column, multi-hot columns
stay 0/1, counts are standardised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from training.model.features import CATEGORICAL, COUNT, FIRST, MULTI_HOT, NUMERIC, FeatureSpec

NAME = "logistic"


@dataclass
class LinearDesign:
    """How each feature column becomes design columns (fitted on the training rows)."""

    spec: FeatureSpec
    means: dict[int, float] = field(default_factory=dict)
    scales: dict[int, float] = field(default_factory=dict)
    indicators: set[int] = field(default_factory=set)
    names: list[str] = field(default_factory=list)
    #: Mean of each design column on the training rows (a one-hot's share of users).
    coverage: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(cls, spec: FeatureSpec, x: np.ndarray) -> LinearDesign:
        design = cls(spec)
        for block, offset in spec.block_offsets():
            if block.encoding in (NUMERIC, COUNT):
                column = x[:, offset].astype(np.float64)
                seen = column[~np.isnan(column)]
                mean = float(seen.mean()) if len(seen) else 0.0
                std = float(seen.std()) if len(seen) else 0.0
                design.means[offset] = mean
                design.scales[offset] = std if std > 0 else 1.0
                name = spec.columns[offset]
                design.names.append(name)
                if len(seen) < len(column):
                    design.indicators.add(offset)
                    design.names.append(f"{name} missing")
            elif block.encoding in (CATEGORICAL, FIRST):
                prefix = block.column_names[0] if block.encoding == FIRST else block.source
                design.names += [f"{prefix}={level}" for level in block.levels]
                design.names.append(f"{prefix} unknown")
            elif block.encoding == MULTI_HOT:
                design.names += spec.columns[offset : offset + block.width]
        return design

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The design matrix (float32) of feature matrix ``x``."""
        parts: list[np.ndarray] = []
        for block, offset in self.spec.block_offsets():
            if block.encoding in (NUMERIC, COUNT):
                column = x[:, offset].astype(np.float64)
                missing = np.isnan(column)
                z = (column - self.means[offset]) / self.scales[offset]
                parts.append(np.where(missing, 0.0, z)[:, None])
                if offset in self.indicators:
                    parts.append(missing[:, None].astype(np.float64))
            elif block.encoding in (CATEGORICAL, FIRST):
                codes = x[:, offset]
                width = len(block.levels) + 1
                onehot = np.zeros((len(x), width))
                code = np.where(np.isnan(codes), width - 1, codes).astype(np.int64)
                onehot[np.arange(len(x)), code] = 1.0
                parts.append(onehot)
            elif block.encoding == MULTI_HOT:
                parts.append(x[:, offset : offset + block.width].astype(np.float64))
        if not parts:
            return np.zeros((len(x), 0), dtype=np.float32)
        return np.hstack(parts).astype(np.float32)


@dataclass
class LogisticModel:
    """A fitted design and classifier; scores are probabilities over the whole vocabulary."""

    design: LinearDesign
    classifier: LogisticRegression
    n_genres: int

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, n_genres) class probabilities; genres never seen as a label get 0."""
        proba = self.classifier.predict_proba(self.design.transform(x))
        out = np.zeros((len(x), self.n_genres))
        out[:, self.classifier.classes_.astype(np.int64)] = proba
        return out

    def coefficients(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(coef (n_classes, n_design), design names, class genre codes)."""
        return self.classifier.coef_, self.design.names, self.classifier.classes_


def fit_logistic(
    spec: FeatureSpec,
    x: np.ndarray,
    y: np.ndarray,
    n_genres: int,
    c: float = 1.0,
    max_iter: int = 200,
) -> LogisticModel:
    """Fit the multinomial logistic regression (lbfgs, L2 strength ``1/c``)."""
    design = LinearDesign.fit(spec, x)
    matrix = design.transform(x)
    design.coverage = matrix.mean(axis=0) if len(matrix) else np.zeros(matrix.shape[1])
    classifier = LogisticRegression(C=c, max_iter=max_iter, solver="lbfgs", tol=1e-4)
    # One BLAS thread: lbfgs does many small products, where OpenBLAS threads cost far more
    # than they save (30x slower measured on 2 busy cores).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(matrix, y)
    return LogisticModel(design, classifier, n_genres)
