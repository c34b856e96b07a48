"""Two scanners beside cdk-nag over the synthesized templates of both presets: checkov (security
policies: every finding fixed in the stacks or skipped on its resource with a reason) and cfn-lint
(CloudFormation's own rules: no errors; warnings listed). docs/deploy.md says what they check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

# checkov pins dependencies (boto3 among them) that conflict with ours: `make setup` installs it,
# pinned by infra/checkov-requirements.txt, in a virtualenv of its own.
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
PRESETS = ["dev", "prod"]


def _checkov(outdir: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: `make setup` installs it")
        pytest.skip(f"{CHECKOV} is missing: `make setup` installs it")
    result = subprocess.run(
        [str(CHECKOV), "-d", str(outdir), "--framework", "cloudformation", "--compact",
         "--output", "json", "--skip-download"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not report (exit {result.returncode}): {result.stderr[-3000:]}")
    reports = report if isinstance(report, list) else [report]  # a list when several frameworks
    (cloudformation,) = [r for r in reports if r["check_type"] == "cloudformation"]
    return cloudformation


def _skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(resource as checkov names it, check) -> reason, of every checkov:skip in the template."""
    return {
        (f"{resource['Type']}.{name}", skip["id"]): skip.get("comment", "")
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


@pytest.mark.parametrize("preset", PRESETS)
def test_checkov_finds_nothing_that_is_neither_fixed_nor_skipped_with_a_reason(preset, request):
    synth = request.getfixturevalue(preset)
    report = _checkov(synth.outdir)
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    results = report["results"]
    checks = ("passed_checks", "failed_checks", "skipped_checks")
    scanned = {c["file_path"].lstrip("/") for key in checks for c in results[key]}
    assert scanned, "checkov checked nothing"
    assert scanned <= {p.name for p in synth.outdir.glob("*.template.json")}, scanned
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in results["failed_checks"]]
    assert failed == [], "\n".join(map(str, failed))
    skips = {k: v for t in synth.json.values() for k, v in _skips(t).items()}
    for (resource, check), reason in skips.items():
        assert len(reason.split()) >= 6, (resource, check, reason)
    used = {(c["resource"], c["check_id"]) for c in results["skipped_checks"]}
    assert set(skips) <= used, f"skips of checks that now pass, remove them: {set(skips) - used}"


@pytest.mark.parametrize("preset", PRESETS)
def test_cfn_lint_finds_no_errors(preset, request):
    synth = request.getfixturevalue(preset)
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == len(synth.json)
    result = subprocess.run([str(CFN_LINT), "--format", "parseable", *templates],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    # exit status: a bit mask, 2 errors, 4 warnings, 8 informational; 1 a failure to run
    assert result.returncode & 3 == 0, result.stdout[-5000:] + result.stderr[-3000:]
    findings = result.stdout.splitlines()
    errors = [f for f in findings if re.search(r":E\d{4}:", f)]
    assert errors == [], "\n".join(errors)
    for finding in findings:
        warnings.warn(f"cfn-lint ({preset}): {finding}", stacklevel=1)


SEEDED = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Plain": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Skipped": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"RetentionInDays": 7},
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_158",
                            "comment": "seeded: a reasoned skip of the same finding",
                        },
                    ]
                }
            },
        },
        "Broken": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": "often"}},
    },
}


def test_the_scanners_catch_a_seeded_mistake_and_honour_a_reasoned_skip(tmp_path):
    """The checks above are not vacuous: an unencrypted log group is a checkov finding unless it
    is skipped on the resource, and an invalid property is a cfn-lint error."""
    (tmp_path / "Seeded.template.json").write_text(json.dumps(SEEDED))
    results = _checkov(tmp_path)["results"]
    failed = {(c["resource"], c["check_id"]) for c in results["failed_checks"]}
    skipped = {(c["resource"], c["check_id"]) for c in results["skipped_checks"]}
    assert ("AWS::Logs::LogGroup.Plain", "CKV_AWS_158") in failed
    assert ("AWS::Logs::LogGroup.Skipped", "CKV_AWS_158") in skipped
    assert ("AWS::Logs::LogGroup.Skipped", "CKV_AWS_158") not in failed
    result = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", str(tmp_path / "Seeded.template.json")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode & 2, result.stdout
    errors = [line for line in result.stdout.splitlines() if re.search(r":E\d{4}:", line)]
    assert errors, result.stdout
    assert all("'often'" in line for line in errors), result.stdout
