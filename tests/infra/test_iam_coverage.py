"""IAM coverage: what the functions and the pipeline do must be allowed by the roles of the
synthesized templates, dev and prod alike (moto checks no IAM and no KMS, so nothing else would
notice before a deploy to a real account).

* What AWS does on the roles' behalf (the state machine's tasks, the SageMaker jobs' channels and
  outputs, the endpoint's rollback alarms, traces, logs, the schedule, KMS on encrypted
  resources) is derived from the templates themselves: checked on every run.
* The AWS calls the functions and the pipeline's steps made while this session's other tests ran
  them (tests/iam/recording.py) are checked after those tests; the permissions granted and never
  needed are reported (at the end of the run and in ``iam-unused.txt`` of the session's
  temporary directory), not failed.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import pytest

from infra.config import from_context
from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER
from tests.iam.needs import (
    App,
    Need,
    by_who,
    check,
    kms_needs,
    recorded_needs,
    roles_in_scope,
    service_needs,
    unused_grants,
)
from tests.iam.policies import Templates
from tests.iam.recording import REPORTS, recorded_calls
from training.pipeline.steps import STEPS


@pytest.fixture(scope="module")
def apps(dev, prod) -> dict[str, App]:
    return {"dev": App(Templates(dev.json)), "prod": App(Templates(prod.json))}


def _missing(needs: list[Need], app: App) -> list[str]:
    return [str(need) for need in check(needs, app).missing]


def test_what_aws_does_for_the_roles_is_allowed(apps):
    failures = []
    for env, app in apps.items():
        needs = service_needs(app)
        failures += [f"{env}: {m}" for m in _missing(needs + kms_needs(needs, app), app)]
    assert not failures, "not allowed:\n" + "\n".join(failures)


def test_every_step_of_the_pipeline_is_checked(apps, dev, prod):
    """Each step that runs in AWS has its requests derived (a step the derivation skipped would
    be checked by nothing); merge is a Pass state when batch scoring runs on one instance."""
    for synth, app in ((dev, apps["dev"]), (prod, apps["prod"])):
        one_instance = from_context(synth.app).processing_instances == 1
        expected = {f"step:{s.name}" for s in STEPS if not (s.name == "merge" and one_instance)}
        checked = {need.who for need in service_needs(app)}
        assert expected <= checked, sorted(expected - checked)


def test_the_consoles_aws_only_reads_name_the_templates_schedule_and_endpoint(apps):
    """What the admin function reads only in AWS (locally there is no schedule and SageMaker
    describes no endpoint) is derived from its environment: it must name the schedule and the
    endpoint the templates make, and the configurations the endpoint can serve (its first, and
    the one each run creates)."""
    for app in apps.values():
        read: dict[str, set[str]] = defaultdict(set)
        for need in service_needs(app):
            if need.who == "function:admin":
                read[need.request.action].add(need.request.resource)
        assert read["scheduler:GetSchedule"] == set(app.schedules.values())
        assert read["sagemaker:DescribeEndpoint"] == {app.endpoint_arn(app.endpoint)}
        configs = sorted(read["sagemaker:DescribeEndpointConfig"])
        assert len(configs) == 2, configs  # the endpoint's first configuration, and a run's
        assert any(f":endpoint-config/{app.prefix}-" in c for c in configs), configs  # a run's


def test_a_permission_taken_from_the_templates_is_reported(dev, apps):
    """The onboarding function's InvokeEndpoint statement removed from a copy of the dev
    templates: its recorded call is refused, its other calls are not."""
    templates = copy.deepcopy(dev.json)
    for policy in templates["api"]["Resources"].values():
        if policy["Type"] == "AWS::IAM::Policy":
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if s["Action"] != "sagemaker:InvokeEndpoint"]
    app = App(Templates(templates))
    calls = [
        {
            "caller": ["function:onboarding"],
            "service": service,
            "operation": operation,
            "params": params,
        }
        for service, operation, params in (
            ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "musicrec-local-onboarding"}),
            ("dynamodb", "GetItem", {"TableName": "musicrec-local-lists"}),
        )
    ]
    missing = check(recorded_needs(calls, app), app).missing
    assert [m.request.action for m in missing] == ["sagemaker:InvokeEndpoint"]
    assert check(recorded_needs(calls, apps["dev"]), apps["dev"]).missing == []


@pytest.mark.after_recording
def test_every_recorded_aws_call_is_allowed(apps, aws_call_log: Path, pytestconfig):
    calls = recorded_calls(aws_call_log)
    if not calls:
        pytest.skip(
            "no AWS call was recorded in this session: run it with the tests that run the "
            "functions and the pipeline (tests/lambdas, tests/e2e, tests/faults)"
        )
    failures, report = [], []
    for env, app in apps.items():
        recorded = recorded_needs(calls, app)
        derived = service_needs(app)
        needs = recorded + derived
        needs += kms_needs(needs, app)
        result = check(needs, app)
        failures += [f"{env}: {need}" for need in result.missing if need in recorded]
        report += _report(env, app, recorded, result.used)
    text = "\n".join(report)
    (aws_call_log.parent / "iam-unused.txt").write_text(text + "\n")
    pytestconfig.stash[REPORTS].append(text)
    assert not failures, "recorded calls the roles do not allow:\n" + "\n".join(failures)


def _report(env: str, app: App, recorded: list[Need], used) -> list[str]:
    lines = [f"{env}: the calls recorded, by function and step"]
    calls = by_who(recorded)
    for who, requests in calls.items():
        lines += [f"  {who}"] + [f"    {r}" for r in requests]
    silent = [
        f"function:{fn.name}"
        for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH)
        if f"function:{fn.name}" not in calls
    ]
    if silent:
        lines.append(f"  no call recorded for: {', '.join(silent)}")
    lines.append(f"{env}: granted and never used (by the recorded calls or by AWS for the role)")
    for label, unused in unused_grants(app, used, roles_in_scope(app)).items():
        lines += [f"  {label}"] + [f"    {u}" for u in unused]
    return lines
