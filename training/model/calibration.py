"""Calibration of the LightGBM probabilities, and the blend with the popularity prior.

The served probabilities are ``softmax(scale * log p + prior_weight * log prior)`` over the
model's classes, where ``p`` are LightGBM's probabilities and ``prior`` the training users' label
share of each class (global popularity):

- ``none``: scale 1, prior weight 0 (LightGBM's own probabilities);
- ``temperature``: prior weight 0, scale = 1 / temperature; it changes how sure the
  probabilities are, never the order of the genres;
- ``blend``: both fitted; a prior weight above 0 pulls the ranking towards global
  popularity, below 0 away from it.

Both parameters are fitted on the validation users by log loss; which of the three is served is
chosen by the cross-validated log loss over the validation users (:func:`choose_calibration`),
so a blend is served only when it wins on users it was not fitted on.

:func:`apply_calibration` uses numpy only: serving (:mod:`training.model.artifact`) imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NONE, TEMPERATURE, BLEND = "none", "temperature", "blend"
METHODS = (NONE, TEMPERATURE, BLEND)
#: Probabilities are floored here before their log (LightGBM's are never 0, a prior may be).
FLOOR = 1e-12
SCALE_BOUNDS = (0.05, 20.0)
WEIGHT_BOUNDS = (-5.0, 5.0)


@dataclass(frozen=True)
class Calibration:
    """How predict_proba turns LightGBM's class probabilities into the served ones."""

    method: str = NONE
    scale: float = 1.0
    prior_weight: float = 0.0
    log_prior: tuple[float, ...] = ()  # per class, in the model's class order
    fit: dict[str, Any] = field(default_factory=dict)  # what the choice was based on

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "formula": "softmax(scale * log(p) + prior_weight * log_prior)",
            "scale": self.scale,
            "temperature": 1.0 / self.scale if self.scale else None,
            "prior_weight": self.prior_weight,
            "log_prior": list(self.log_prior),
            **self.fit,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> Calibration:
        """A calibration document; ``None`` (an artifact written before calibration) is none."""
        if not doc:
            return cls()
        method = str(doc.get("method", NONE))
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}")
        return cls(
            method=method,
            scale=float(doc.get("scale", 1.0)),
            prior_weight=float(doc.get("prior_weight", 0.0)),
            log_prior=tuple(float(v) for v in doc.get("log_prior", ())),
        )


def _logits(log_p: np.ndarray, log_prior: np.ndarray, scale: float, weight: float) -> np.ndarray:
    return scale * log_p + weight * log_prior[None, :]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_calibration(proba: np.ndarray, calibration: Calibration) -> np.ndarray:
    """The served probabilities (n, n_classes) from LightGBM's (numpy only)."""
    proba = np.asarray(proba, dtype=np.float64)
    if calibration.method == NONE:
        return proba
    log_prior = np.asarray(calibration.log_prior, dtype=np.float64)
    if calibration.prior_weight and len(log_prior) != proba.shape[1]:
        raise ValueError(f"calibration has {len(log_prior)} classes, the model {proba.shape[1]}")
    if not calibration.prior_weight:
        log_prior = np.zeros(proba.shape[1])
    log_p = np.log(np.clip(proba, FLOOR, 1.0))
    return _softmax(_logits(log_p, log_prior, calibration.scale, calibration.prior_weight))


# --- fitting (training only) -------------------------------------------------------------------


def _loss_and_grad(
    params: np.ndarray, log_p: np.ndarray, log_prior: np.ndarray, y: np.ndarray, blend: bool
) -> tuple[float, np.ndarray]:
    scale, weight = float(params[0]), float(params[1]) if blend else 0.0
    q = _softmax(_logits(log_p, log_prior, scale, weight))
    rows = np.arange(len(y))
    loss = -float(np.mean(np.log(np.clip(q[rows, y], FLOOR, 1.0))))
    d_scale = -float(np.mean(log_p[rows, y] - (q * log_p).sum(axis=1)))
    if not blend:
        return loss, np.array([d_scale])
    d_weight = -float(np.mean(log_prior[y] - q @ log_prior))
    return loss, np.array([d_scale, d_weight])


def fit_parameters(
    proba: np.ndarray, y: np.ndarray, log_prior: np.ndarray, method: str
) -> tuple[float, float]:
    """(scale, prior weight) minimising the log loss of ``method`` on (proba, y)."""
    if method == NONE or len(y) == 0:
        return 1.0, 0.0
    from scipy.optimize import minimize  # training only

    log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), FLOOR, 1.0))
    blend = method == BLEND
    start = np.array([1.0, 0.0]) if blend else np.array([1.0])
    bounds = [SCALE_BOUNDS, WEIGHT_BOUNDS] if blend else [SCALE_BOUNDS]
    found = minimize(
        _loss_and_grad,
        start,
        args=(log_p, log_prior, np.asarray(y, dtype=np.int64), blend),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
    )
    return float(found.x[0]), float(found.x[1]) if blend else 0.0


def _user_losses(
    proba: np.ndarray, y: np.ndarray, log_prior: np.ndarray, scale: float, weight: float
) -> np.ndarray:
    log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), FLOOR, 1.0))
    q = _softmax(_logits(log_p, log_prior, scale, weight))
    return -np.log(np.clip(q[np.arange(len(y)), y], FLOOR, 1.0))


def held_out_losses(
    proba: np.ndarray, y: np.ndarray, log_prior: np.ndarray, method: str, folds: int, seed: int
) -> np.ndarray:
    """Each user's log loss under ``method`` fitted on the other folds (same folds for every
    method, so the losses of two methods are paired)."""
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    parts = [p for p in np.array_split(order, min(folds, n)) if len(p)]
    out = np.zeros(n)
    for i, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != i])
        scale, weight = fit_parameters(proba[rest], y[rest], log_prior, method)
        out[held] = _user_losses(proba[held], y[held], log_prior, scale, weight)
    return out


def choose_calibration(
    proba: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    methods: tuple[str, ...] = METHODS,
    folds: int = 5,
    seed: int = 7,
) -> Calibration:
    """Fit the methods on the validation users (proba: (n, n_classes), y: class index) and
    serve the one with the lowest cross-validated log loss, refitted on all of them.

    A method with more parameters (none < temperature < blend) replaces a simpler one only when
    its cross-validated log loss is lower by more than one standard error of the paired
    per-user difference: on a small validation slice a noisy gain is not taken."""
    prior = np.asarray(prior, dtype=np.float64)
    log_prior = np.log(np.clip(prior / max(prior.sum(), FLOOR), FLOOR, 1.0))
    y = np.asarray(y, dtype=np.int64)
    methods = tuple(m for m in METHODS if m in methods)
    if len(y) < 2 * folds or (len(methods) == 1 and methods[0] == NONE):
        chosen = methods[0] if len(methods) == 1 else NONE
        scale, weight = fit_parameters(proba, y, log_prior, chosen) if len(y) else (1.0, 0.0)
        return Calibration(
            chosen,
            scale,
            weight,
            tuple(float(v) for v in log_prior),
            {"chosen_by": "too few validation users" if len(y) < 2 * folds else "setting"},
        )
    losses = {m: held_out_losses(proba, y, log_prior, m, folds, seed) for m in methods}
    best = methods[0]
    for method in methods[1:]:
        diff = losses[method] - losses[best]
        if diff.mean() + diff.std(ddof=1) / np.sqrt(len(diff)) < 0:
            best = method
    fitted = {m: fit_parameters(proba, y, log_prior, m) for m in methods}
    scale, weight = fitted[best]
    return Calibration(
        method=best,
        scale=scale,
        prior_weight=weight,
        log_prior=tuple(float(v) for v in log_prior),
        fit={
            "chosen_by": (
                f"{folds}-fold cross-validated log loss on the validation users; a method "
                "with more parameters must win by more than one standard error"
            ),
            "validation_users": len(y),
            "cv_log_loss": {m: float(v.mean()) for m, v in losses.items()},
            "fitted": {m: {"scale": s, "prior_weight": w} for m, (s, w) in fitted.items()},
        },
    )


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: |accuracy - confidence| of the first genre, weighted over equal-width
    confidence bins (``proba`` over genres or classes, ``y`` column indices)."""
    proba = np.asarray(proba, dtype=np.float64)
    if len(proba) == 0:
        return float("nan")
    top = proba.argmax(axis=1)
    confidence = proba[np.arange(len(proba)), top]
    correct = (top == np.asarray(y)).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total / len(proba))
