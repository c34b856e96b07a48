"""The artifact: load (dir, tar.gz, dir with only the tarball) and predict as in memory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest

from training.data.dataset_io import read_table
from training.model.artifact import ArtifactError, load_artifact
from training.model.calibration import apply_calibration
from training.model.feature_table import encode_table
from training.model.features import encode_instances


def _same_predictions(artifact, result, users):
    x = encode_table(artifact.spec, users)
    expected = apply_calibration(
        result.models.lightgbm.booster.predict(x), result.models.lightgbm.calibration
    )
    np.testing.assert_allclose(artifact.predict_proba(x), expected, rtol=1e-12, atol=1e-15)
    scores = artifact.scores(x, result.data.genres)
    np.testing.assert_allclose(scores, result.models.lightgbm.scores(x), rtol=1e-12, atol=1e-15)


def test_round_trip_from_dir_and_tarball(trained, tiny_dir, tmp_path):
    model_dir, result = trained
    users = read_table(tiny_dir, "users").slice(0, 200)
    for path in (model_dir, model_dir / "model.tar.gz"):
        artifact = load_artifact(path)
        assert artifact.spec == result.models.spec
        assert artifact.approved
        assert artifact.model_version.startswith("onboarding-")
        assert artifact.class_labels == [
            result.data.genres[c] for c in result.models.lightgbm.class_genres
        ]
        _same_predictions(artifact, result, users)
    only_tar = tmp_path / "only-tar"
    only_tar.mkdir()
    shutil.copy(model_dir / "model.tar.gz", only_tar)
    _same_predictions(load_artifact(only_tar), result, users)


def test_tarball_holds_model_and_document(trained):
    model_dir, _ = trained
    with tarfile.open(model_dir / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["model.json", "model.txt"]
    doc = json.loads((model_dir / "model.json").read_text())
    for key in (
        "schema_version",
        "model_version",
        "status",
        "feature_spec",
        "class_labels",
        "training_data",
        "library_versions",
        "metrics",
        "gate",
        "hyperparameters",
        "calibration",
        "lightgbm_params",
        "search",
    ):
        assert key in doc
    assert doc["search"]["n_trials"] >= 1
    assert doc["search"]["trials"][0]["number"] == 0  # the defaults
    assert doc["calibration"]["method"] in ("none", "temperature", "blend")
    assert doc["training_data"]["label_window_days"] == [30, 60]
    assert set(doc["library_versions"]) >= {"numpy", "lightgbm", "pyarrow", "scikit-learn"}


def test_serving_an_instance_matches_the_table(trained, tiny_dir):
    model_dir, _ = trained
    artifact = load_artifact(model_dir)
    users = read_table(tiny_dir, "users").slice(0, 50)
    batch = artifact.predict_proba(encode_table(artifact.spec, users))
    single = artifact.predict_proba(encode_instances(artifact.spec, users.to_pylist()).matrix)
    np.testing.assert_array_equal(batch, single)


def test_bad_artifacts(tmp_path, trained):
    model_dir, _ = trained
    with pytest.raises(ArtifactError, match="no such"):
        load_artifact(tmp_path / "nothing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArtifactError, match="holds neither"):
        load_artifact(empty)
    junk = tmp_path / "model.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(ArtifactError, match="not a readable"):
        load_artifact(junk)
    future = tmp_path / "future"
    shutil.copytree(model_dir, future)
    doc = json.loads((future / "model.json").read_text())
    doc["schema_version"] = 99
    (future / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="schema version"):
        load_artifact(future)


def _with_calibration(model_dir, tmp_path, calibration):
    out = tmp_path / "calibrated"
    shutil.copytree(model_dir, out)
    (out / "model.tar.gz").unlink()
    doc = json.loads((out / "model.json").read_text())
    if calibration is None:
        doc.pop("calibration", None)
    else:
        doc["calibration"] = calibration
    (out / "model.json").write_text(json.dumps(doc))
    return out


def test_predict_proba_serves_the_calibration_of_model_json(trained, tiny_dir, tmp_path):
    model_dir, result = trained
    x = encode_table(result.models.spec, read_table(tiny_dir, "users").slice(0, 100))
    raw = result.models.lightgbm.booster.predict(x)
    n = raw.shape[1]
    log_prior = np.log(np.arange(1, n + 1) / (n * (n + 1) / 2))
    blend = {"method": "blend", "scale": 0.5, "prior_weight": 2.0, "log_prior": list(log_prior)}
    served = load_artifact(_with_calibration(model_dir, tmp_path / "b", blend)).predict_proba(x)
    z = 0.5 * np.log(raw) + 2.0 * log_prior
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(served, expected, rtol=1e-9)
    np.testing.assert_allclose(served.sum(axis=1), 1.0)
    # an artifact written before calibration serves LightGBM's own probabilities
    old = load_artifact(_with_calibration(model_dir, tmp_path / "o", None))
    assert old.calibration.method == "none"
    np.testing.assert_allclose(old.predict_proba(x), raw, rtol=1e-12)


def test_bad_calibrations_are_artifact_errors(trained, tmp_path):
    model_dir, _ = trained
    wrong_width = {"method": "blend", "scale": 1.0, "prior_weight": 1.0, "log_prior": [0.0]}
    with pytest.raises(ArtifactError, match="calibration has 1 classes"):
        load_artifact(_with_calibration(model_dir, tmp_path / "w", wrong_width))
    with pytest.raises(ArtifactError, match="bad calibration"):
        load_artifact(_with_calibration(model_dir, tmp_path / "m", {"method": "isotonic"}))


def test_loader_needs_no_pandas_pyarrow_sklearn(trained):
    """Serving imports numpy, lightgbm (which needs scipy) and the stdlib: hide the rest,
    Optuna (training only) included."""
    model_dir, _ = trained
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in (
                    "pandas", "pyarrow", "sklearn", "matplotlib", "optuna"
                ):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        from training.model.artifact import load_artifact
        from training.model.features import encode_instances
        artifact = load_artifact({str(model_dir)!r})
        x = encode_instances(artifact.spec, [{{"age": 30, "selected_genres": ["Jazz"]}}]).matrix
        print(artifact.predict_proba(x).shape)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("(1, ")
