"""The pipeline's SageMaker requests as the jobs and the endpoint need them: the merge job reads
the shards' manifests from its input path and uploads only what it writes; the endpoint update
keeps the instance count the autoscaler chose; autoscaling can be switched off for one deploy."""

from __future__ import annotations

import pytest

from infra.contracts.sfn import state_machine_definitions
from infra.pipeline_stack import (
    BASELINE_CHANNEL,
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    TRAIN_CHANNEL,
)

pytestmark = pytest.mark.slow


def _states(synth) -> dict:
    (definition,) = state_machine_definitions(synth.json["pipeline"]).values()
    return definition["States"]


def _local_paths(job: dict) -> tuple[set[str], set[str]]:
    inputs = {i["S3Input"]["LocalPath"] for i in job["ProcessingInputs"]}
    outputs = {o["S3Output"]["LocalPath"] for o in job["ProcessingOutputConfig"]["Outputs"]}
    return inputs, outputs


@pytest.mark.parametrize("step", ["batch-score", "merge"])
def test_no_processing_job_uploads_what_it_downloaded(prod, step):
    """An input and an output on one local path: SageMaker uploads every downloaded file again."""
    inputs, outputs = _local_paths(_states(prod)[step]["Parameters"])
    assert not inputs & outputs
    for path in inputs | outputs:  # neither nested in the other
        assert not any(p != path and p.startswith(path + "/") for p in inputs | outputs)


def test_merge_reads_its_input_path_and_writes_manifest_to_its_output_path(prod):
    job = _states(prod)["merge"]["Parameters"]
    arguments = job["AppSpecification"]["ContainerArguments.$"]
    assert arguments == (
        f"States.Array('merge', '{PROCESSING_INPUT}', '--out', '{PROCESSING_OUTPUT}')"
    )
    assert job["AppSpecification"]["ContainerEntrypoint"] == ["python", "-m", "training.batch"]
    ((source,), (sink,)) = job["ProcessingInputs"], job["ProcessingOutputConfig"]["Outputs"]
    assert source["S3Input"]["LocalPath"] == PROCESSING_INPUT
    assert sink["S3Output"]["LocalPath"] == PROCESSING_OUTPUT
    assert sink["S3Output"]["S3UploadMode"] == "EndOfJob"
    # the same prefix: batch/<execution name>, where batch scoring wrote the shards
    assert source["S3Input"]["S3Uri.$"] == sink["S3Output"]["S3Uri.$"]
    assert "/batch/{}'" in source["S3Input"]["S3Uri.$"]
    assert "$$.Execution.Name" in source["S3Input"]["S3Uri.$"]


def test_training_job_channels_are_the_train_entrypoints(prod):
    """The channel names tests/training/model/test_sagemaker.py lays out as SageMaker would."""
    job = _states(prod)["train"]["Parameters"]
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == [TRAIN_CHANNEL, BASELINE_CHANNEL]
    assert (TRAIN_CHANNEL, BASELINE_CHANNEL) == ("train", "baseline")
    assert "HyperParameters" not in job  # SageMaker writes {} to hyperparameters.json


def test_the_pipelines_update_keeps_the_autoscaled_instance_count(prod, dev):
    update = _states(prod)["update-endpoint-canary"]
    assert update["Resource"].endswith(":aws-sdk:sagemaker:updateEndpoint")
    assert update["Parameters"]["RetainAllVariantProperties"] is True
    assert "ExcludeRetainedVariantProperties" not in update["Parameters"]
    assert "DeploymentConfig" in update["Parameters"]  # still the canary with rollback
    # serverless (dev) has no instance count to keep
    assert "RetainAllVariantProperties" not in _states(dev)["update-endpoint-canary"]["Parameters"]


def test_autoscaling_can_be_switched_off_for_one_deploy(prod, tmp_path):
    """``-c autoscaling=false``: the Model stack without the scalable target and its policy
    (CloudFormation deregisters the variant), the endpoint unchanged."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.config import from_context
    from infra.model_stack import ModelStack

    presets = prod.app.node.try_get_context("presets")
    context = {"env": "prod", "presets": presets, "autoscaling": "false"}  # as -c gives it
    app = cdk.App(outdir=str(tmp_path), context=context)
    settings = from_context(app)
    assert settings.autoscaling is False
    assert settings.serverless is False
    without = Template.from_stack(ModelStack(app, "Model", settings)).to_json()["Resources"]
    kinds = {r["Type"] for r in without.values()}
    assert "AWS::ApplicationAutoScaling::ScalableTarget" not in kinds
    assert "AWS::ApplicationAutoScaling::ScalingPolicy" not in kinds
    with_scaling = prod.json["model"]["Resources"]
    endpoints = [
        {k: v for k, v in resources.items() if v["Type"].startswith("AWS::SageMaker::Endpoint")}
        for resources in (without, with_scaling)
    ]
    assert endpoints[0] == endpoints[1]
    assert from_context(cdk.App(context={**context, "autoscaling": None})).autoscaling is True
