"""The Lambda asset, built without Docker: ``pip install`` of lambdas/requirements.txt for the
python3.12 arm64 runtime (manylinux wheels only) plus the ``lambdas`` package. Installed
dependencies are cached by a hash of the requirements, so only the first synth downloads them.

The asset carries bytecode compiled for the runtime's Python: Lambda's /var/task is read-only,
so without ``.pyc`` files every cold start would compile Powertools, pydantic and our modules
from source again (about three times the import time; docs/benchmarks.md, lambda-asset)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "lambdas" / "requirements.txt"
CACHE = REPO_ROOT / ".cdk-cache"
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
PIP_TIMEOUT_S = 600
COMPILE_TIMEOUT_S = 300
PYTHON_ENV = "MUSICREC_LAMBDA_PYTHON"  # a python3.12 to compile the asset's bytecode with
# The python3.12 runtime ships boto3 and its dependencies; aws-xray-sdk pulls them in again
# (botocore alone is 32 MB), so they are left out of the asset.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def dependencies() -> Path:
    """The installed requirements for the Lambda platform (cached by their hash)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    target = CACHE / f"lambda-deps-{PLATFORM}-{PYTHON_VERSION}-{digest}"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                "--platform",
                PLATFORM,
                "--python-version",
                PYTHON_VERSION,
                "--implementation",
                "cp",
                "--only-binary=:all:",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            timeout=PIP_TIMEOUT_S,
        )
        (target / ".complete").touch()
    return target


def build_asset(output_dir: Path) -> None:
    """Write the asset's files (dependencies, then the ``lambdas`` package) into ``output_dir``."""
    provided = [f"{name}*" for name in RUNTIME_PROVIDED] + ["python_dateutil*", "six.py"]
    skip = shutil.ignore_patterns(".complete", "__pycache__", "*.pyc", *provided)
    shutil.copytree(dependencies(), output_dir, dirs_exist_ok=True, ignore=skip)
    shutil.copytree(REPO_ROOT / "lambdas", output_dir / "lambdas", dirs_exist_ok=True, ignore=skip)
    compile_bytecode(output_dir)


def runtime_python() -> str | None:
    """A Python of the runtime's version (``$MUSICREC_LAMBDA_PYTHON``, ``python3.12`` on the
    PATH, or pyenv's), or None if this machine has none."""
    candidates = [os.environ.get(PYTHON_ENV), shutil.which(f"python{PYTHON_VERSION}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(
        str(p) for p in pyenv.glob(f"{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}")
    )
    for candidate in filter(None, candidates):
        try:  # a pyenv shim exists even when its version is not selected: it must run
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                   capture_output=True, text=True, timeout=30)  # fmt: skip
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == str(
            tuple(map(int, PYTHON_VERSION.split(".")))
        ):
            return candidate
    return None


def compile_bytecode(root: Path) -> bool:
    """Compile every module under ``root`` to ``__pycache__/*.cpython-312.pyc`` (hash-based and
    unchecked: the zip's timestamps do not matter, and /var/task never changes). Without a python3.12
    the asset still works, only its cold starts compile from source; a warning says so."""
    python = runtime_python()
    if python is None:
        print(f"warning: no python{PYTHON_VERSION} found (set {PYTHON_ENV}); the Lambda asset "
              "ships without bytecode, so each cold start compiles it", file=sys.stderr)  # fmt: skip
        return False
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         str(root)],
        check=True, capture_output=True, timeout=COMPILE_TIMEOUT_S,
    )  # fmt: skip
    return True


@jsii.implements(ILocalBundling)
class LocalBundling:
    """CDK local bundling: build the asset in this process instead of in a container."""

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        build_asset(Path(output_dir))
        return True


def lambda_code() -> lambda_.Code:
    """The code of every function: one asset, built locally (no Docker)."""
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "lambdas"),
        asset_hash=_source_hash(),
        bundling=BundlingOptions(
            image=DockerImage.from_registry("unused-local-bundling"),
            local=LocalBundling(),
        ),
    )


def _source_hash() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    for path in sorted((REPO_ROOT / "lambdas").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
