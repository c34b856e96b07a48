"""Deployment settings: every preset's log retention is one CloudWatch Logs offers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from infra.config import RETENTION, Settings
from tests.conftest import REPO_ROOT


def _presets() -> dict[str, Settings]:
    presets = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["presets"]
    return {env: Settings(env=env, **values) for env, values in presets.items()}


@pytest.mark.parametrize("env", sorted(_presets()))
def test_every_preset_keeps_logs_for_a_period_cloudwatch_offers(env):
    settings = _presets()[env]
    assert settings.log_retention == RETENTION[settings.log_retention_days]


def test_a_period_cloudwatch_does_not_offer_is_refused():
    settings = dataclasses.replace(_presets()["dev"], log_retention_days=10)
    with pytest.raises(ValueError, match="log_retention_days=10: use one of"):
        _ = settings.log_retention
