"""Calibration: temperature and the blend with the popularity prior, fitted and chosen on
validation users by cross-validated log loss, applied with numpy only."""

from __future__ import annotations

import numpy as np
import pytest

from training.model.calibration import (
    BLEND,
    NONE,
    TEMPERATURE,
    Calibration,
    apply_calibration,
    choose_calibration,
    expected_calibration_error,
    fit_parameters,
)

PRIOR = np.array([0.5, 0.3, 0.15, 0.05])


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _draw(n, seed, sharpen=1.0, prior_weight=0.0):
    """Model probabilities and labels drawn from softmax(sharpen * log p + w * log prior)."""
    rng = np.random.default_rng(seed)
    p = _softmax(rng.normal(0, 1.0, (n, len(PRIOR))))
    truth = _softmax(sharpen * np.log(p) + prior_weight * np.log(PRIOR))
    y = np.array([rng.choice(len(PRIOR), p=row) for row in truth])
    return p, y


def test_none_is_the_identity_and_old_documents_are_none():
    p, _ = _draw(10, 0)
    assert apply_calibration(p, Calibration()) is not None
    np.testing.assert_array_equal(apply_calibration(p, Calibration()), p)
    assert Calibration.from_dict(None) == Calibration()
    with pytest.raises(ValueError, match="unknown calibration"):
        Calibration.from_dict({"method": "isotonic"})


def test_temperature_keeps_the_order_and_blend_follows_its_formula():
    p, _ = _draw(50, 1)
    hot = apply_calibration(p, Calibration(TEMPERATURE, scale=0.5))
    np.testing.assert_array_equal(np.argsort(-hot, axis=1), np.argsort(-p, axis=1))
    np.testing.assert_allclose(hot.sum(axis=1), 1.0)
    blend = Calibration(BLEND, 1.0, 1.0, tuple(np.log(PRIOR)))
    expected = _softmax(np.log(p) + np.log(PRIOR))
    np.testing.assert_allclose(apply_calibration(p, blend), expected)
    with pytest.raises(ValueError, match="calibration has 4 classes"):
        apply_calibration(p[:, :3], blend)


def test_round_trip_through_the_document():
    c = Calibration(BLEND, 0.8, 0.3, tuple(np.log(PRIOR)), {"chosen_by": "x"})
    doc = c.to_dict()
    assert doc["temperature"] == pytest.approx(1.25)
    back = Calibration.from_dict(doc)
    assert (back.method, back.scale, back.prior_weight) == (BLEND, 0.8, 0.3)
    assert back.log_prior == c.log_prior


def test_fitting_recovers_a_planted_temperature_and_prior_weight():
    p, y = _draw(6000, 2, sharpen=2.0)
    scale, weight = fit_parameters(p, y, np.log(PRIOR), TEMPERATURE)
    assert scale == pytest.approx(2.0, abs=0.15)
    assert weight == 0.0
    p, y = _draw(6000, 3, sharpen=1.0, prior_weight=1.0)
    scale, weight = fit_parameters(p, y, np.log(PRIOR), BLEND)
    assert scale == pytest.approx(1.0, abs=0.1)
    assert weight == pytest.approx(1.0, abs=0.15)


def test_the_choice_follows_the_data_and_needs_a_clear_win():
    calibrated = choose_calibration(*_draw(3000, 4), PRIOR)
    assert calibrated.method == NONE  # already calibrated: nothing beats it beyond noise
    assert set(calibrated.fit["cv_log_loss"]) == {NONE, TEMPERATURE, BLEND}
    too_sure = choose_calibration(*_draw(3000, 5, sharpen=0.4), PRIOR)
    assert too_sure.method == TEMPERATURE
    assert too_sure.scale == pytest.approx(0.4, abs=0.08)
    needs_prior = choose_calibration(*_draw(3000, 6, prior_weight=1.5), PRIOR)
    assert needs_prior.method == BLEND
    assert needs_prior.prior_weight == pytest.approx(1.5, abs=0.25)
    assert needs_prior.log_prior == pytest.approx(tuple(np.log(PRIOR)))


def test_a_forced_method_and_too_few_users():
    p, y = _draw(200, 7)
    assert choose_calibration(p, y, PRIOR, methods=(BLEND,)).method == BLEND
    few = choose_calibration(p[:6], y[:6], PRIOR)
    assert few.method == NONE
    assert few.fit["chosen_by"] == "too few validation users"


def test_expected_calibration_error():
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(perfect, np.array([0, 1])) == 0.0
    assert expected_calibration_error(perfect, np.array([1, 0])) == 1.0
    half = np.array([[0.5, 0.5]] * 4)
    assert expected_calibration_error(half, np.array([0, 0, 1, 1])) == pytest.approx(0.0)
    assert np.isnan(expected_calibration_error(np.zeros((0, 2)), np.array([])))
