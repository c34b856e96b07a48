"""The record step of the synthesized state machine: every training run, passed or failed, is
recorded by the loader's ``record-run`` under the runs prefix (the admin function's RUNS_PREFIX),
from the artifact SageMaker uploads for the job; a failed job's record comes before the
notification, which goes out even when recording fails; a passed run goes on when recording
fails."""

from __future__ import annotations

import json

from infra.pipeline_stack import RUNS_PREFIX
from lambdas.config import AdminSettings


def _definition(synth) -> dict:
    machine = next(iter(synth.resources("pipeline", "AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _payload(state: dict) -> dict:
    return state["Parameters"]  # payload_response_only: the function ARN is the resource


def test_the_runs_prefix_is_the_one_the_console_reads():
    assert RUNS_PREFIX == AdminSettings().runs_prefix == "runs/"


def test_a_passed_job_is_recorded_then_the_run_goes_on_whatever_the_record_does(prod):
    states = _definition(prod)["States"]
    train, record = states["train"], states["train-record"]
    assert (train["Next"], record["Next"]) == ("train-record", "create-model")
    payload = _payload(record)
    assert payload["action"] == "record-run"
    assert payload["artifact.$"] == "$.training.ModelArtifacts.S3ModelArtifacts"
    assert (
        payload["job.$"]
        == "States.Format('musicrec-prod-train-{}', States.Hash($$.Execution.Name, 'MD5'))"
    )
    assert payload["runs"] == f"s3://musicrec-prod-data-TOKEN-TOKEN/{RUNS_PREFIX}"
    assert record["ResultPath"] == "$.run"  # create-model still reads $.training
    assert record["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": "create-model"}
    ]
    assert states["create-model"]["Parameters"]["PrimaryContainer"]["ModelDataUrl.$"] == (
        "$.training.ModelArtifacts.S3ModelArtifacts"
    )


def test_a_failed_job_is_recorded_before_the_notification_which_goes_out_anyway(prod):
    states = _definition(prod)["States"]
    assert states["train"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "train-record-failure"}
    ]
    failed = states["train-record-failure"]
    assert failed["Next"] == "notify-failure"
    assert failed["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_error", "Next": "notify-failure"}
    ]
    assert failed["ResultPath"] is None  # $.error, which the notification publishes, is kept
    payload = _payload(failed)
    assert payload["error.$"] == "$.error"
    # where SageMaker puts the job's model.tar.gz: <S3OutputPath><job name>/output/model.tar.gz
    output = states["train"]["Parameters"]["OutputDataConfig"]["S3OutputPath"]
    assert output == "s3://musicrec-prod-data-TOKEN-TOKEN/models/"
    assert payload["artifact.$"] == (
        "States.Format('s3://musicrec-prod-data-TOKEN-TOKEN/models/"
        "musicrec-prod-train-{}/output/model.tar.gz', "
        "States.Hash($$.Execution.Name, 'MD5'))"
    )
    assert states["train"]["Parameters"]["TrainingJobName.$"] == payload["job.$"]


def test_the_loader_may_write_run_records_and_nothing_else(prod):
    policies = prod.resources("pipeline", "AWS::IAM::Policy")
    loader = next(v for k, v in policies.items() if k.startswith("Fnloader"))
    puts = [
        s for s in loader["Properties"]["PolicyDocument"]["Statement"]
        if "s3:PutObject" in json.dumps(s["Action"])
    ]  # fmt: skip
    assert [s["Action"] for s in puts] == ["s3:PutObject"]
    assert json.dumps(puts[0]["Resource"]).endswith(f'/{RUNS_PREFIX}*"]]}}')
