"""The onboarding model artifact: write it, and load it for serving (numpy, lightgbm, stdlib).

A model directory holds::

    model.txt      the LightGBM booster, text format
    model.json     the document: schema version, model_version, status (approved or rejected),
                   feature specification, class labels, label and data windows, library
                   versions, hyperparameters, metrics against the baselines, gate result
    model.tar.gz   model.txt and model.json again, what SageMaker unpacks into /opt/ml/model
    metrics.json   the evaluation summary (written by the training pipeline)

:func:`load_artifact` reads a model directory (unpacked files, or just its ``model.tar.gz``) or
a ``model.tar.gz`` file.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before LightGBM loads OpenMP: idle threads sleep instead of spinning (spinning threads of
# several processes on few cores slow each other down many times). An explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np

from training.model.calibration import Calibration, apply_calibration
from training.model.features import FeatureSpec

ARTIFACT_SCHEMA_VERSION = 1
MODEL_FILE = "model.txt"
DOC_FILE = "model.json"
TARBALL = "model.tar.gz"
METRICS_FILE = "metrics.json"
APPROVED = "approved"
REJECTED = "rejected"


class ArtifactError(ValueError):
    """A model artifact is missing, unreadable or of an unknown schema version."""


@dataclass
class Artifact:
    """A loaded model: the booster, its feature specification and its document."""

    booster: lgb.Booster
    spec: FeatureSpec
    document: dict[str, Any]

    def __post_init__(self) -> None:
        self._calibration = Calibration.from_dict(self.document.get("calibration"))

    @property
    def model_version(self) -> str:
        return str(self.document["model_version"])

    @property
    def class_labels(self) -> list[str]:
        """The genre of each output column of :meth:`predict_proba`."""
        return [str(c) for c in self.document["class_labels"]]

    @property
    def approved(self) -> bool:
        return self.document.get("status") == APPROVED

    @property
    def calibration(self) -> Calibration:
        """How LightGBM's probabilities become the served ones (``none`` for artifacts written
        before calibration)."""
        return self._calibration

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        """(n, n_classes) served probabilities for an encoded feature matrix: LightGBM's,
        calibrated (and blended with the popularity prior) as model.json says."""
        proba = np.asarray(self.booster.predict(matrix), dtype=np.float64)
        return apply_calibration(proba.reshape(len(matrix), -1), self._calibration)

    def scores(self, matrix: np.ndarray, genres: list[str] | tuple[str, ...]) -> np.ndarray:
        """(n, len(genres)) probabilities over ``genres`` (0 for genres that are no class)."""
        proba = self.predict_proba(matrix)
        index = {g: i for i, g in enumerate(genres)}
        out = np.zeros((len(matrix), len(genres)))
        for j, label in enumerate(self.class_labels):
            if label in index:
                out[:, index[label]] = proba[:, j]
        return out


def _read_members(tar_path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            out: dict[str, bytes] = {}
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and name in (MODEL_FILE, DOC_FILE):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        out[name] = handle.read()
            return out
    except (OSError, EOFError, tarfile.TarError) as exc:  # EOFError: a truncated gzip stream
        raise ArtifactError(f"{tar_path}: not a readable model.tar.gz ({exc})") from None


def _read_files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return _read_members(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such model directory or model.tar.gz")
    if (path / MODEL_FILE).is_file() and (path / DOC_FILE).is_file():
        return {name: (path / name).read_bytes() for name in (MODEL_FILE, DOC_FILE)}
    if (path / TARBALL).is_file():
        return _read_members(path / TARBALL)
    raise ArtifactError(f"{path}: holds neither {MODEL_FILE} + {DOC_FILE} nor {TARBALL}")


def load_artifact(path: str | Path) -> Artifact:
    """Load a model directory or ``model.tar.gz``: booster, feature spec and document."""
    path = Path(path)
    files = _read_files(path)
    missing = [name for name in (MODEL_FILE, DOC_FILE) if name not in files]
    if missing:
        raise ArtifactError(f"{path}: missing {', '.join(missing)}")
    try:
        document = json.loads(files[DOC_FILE].decode("utf-8"))
    except ValueError as exc:
        raise ArtifactError(f"{path}: {DOC_FILE} is not JSON ({exc})") from None
    version = document.get("schema_version")
    if version != ARTIFACT_SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: artifact schema version {version!r}; this code reads "
            f"{ARTIFACT_SCHEMA_VERSION}"
        )
    spec = FeatureSpec.from_dict(document["feature_spec"])
    try:
        booster = lgb.Booster(model_str=files[MODEL_FILE].decode("utf-8"))
    except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: {MODEL_FILE} is not a LightGBM model ({exc})") from None
    if booster.num_feature() != spec.n_columns:
        raise ArtifactError(
            f"{path}: the feature spec has {spec.n_columns} columns, the model "
            f"{booster.num_feature()}"
        )
    try:
        calibration = Calibration.from_dict(document.get("calibration"))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{path}: {DOC_FILE} has a bad calibration ({exc})") from None
    if calibration.prior_weight and len(calibration.log_prior) != len(document["class_labels"]):
        raise ArtifactError(
            f"{path}: the calibration has {len(calibration.log_prior)} classes, the model "
            f"{len(document['class_labels'])}"
        )
    return Artifact(booster=booster, spec=spec, document=document)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_artifact(
    model_dir: str | Path, model_text: str, document: Mapping[str, Any]
) -> dict[str, Path]:
    """Write ``model.txt``, ``model.json`` and ``model.tar.gz`` (holding both) into
    ``model_dir``; return their paths."""
    root = Path(model_dir)
    root.mkdir(parents=True, exist_ok=True)
    doc = {"schema_version": ARTIFACT_SCHEMA_VERSION, **dict(document)}
    doc_bytes = (dumps(doc) + "\n").encode("utf-8")
    model_bytes = model_text.encode("utf-8")
    paths = {MODEL_FILE: root / MODEL_FILE, DOC_FILE: root / DOC_FILE, TARBALL: root / TARBALL}
    paths[MODEL_FILE].write_bytes(model_bytes)
    paths[DOC_FILE].write_bytes(doc_bytes)
    tmp = root / (TARBALL + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        _add_bytes(tar, MODEL_FILE, model_bytes)
        _add_bytes(tar, DOC_FILE, doc_bytes)
    tmp.replace(paths[TARBALL])
    return paths


def write_json(path: str | Path, document: Any) -> Path:
    """Write a JSON document (numpy scalars allowed), creating parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document) + "\n", encoding="utf-8")
    return path


def dumps(document: Any) -> str:
    """Strict JSON (NaN and infinities become null), numpy values as plain numbers."""
    return json.dumps(
        _finite(document), indent=2, ensure_ascii=False, default=_jsonable, allow_nan=False
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
