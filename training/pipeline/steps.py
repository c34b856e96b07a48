"""The retraining pipeline's step list: what runs, in which order, on what.

The CDK pipeline stack builds its Step Functions state machine from this list, and the local
pipeline runner (``make retrain``) runs the same steps in the same order. A step that fails stops
the run and notifies; the previous model and the previous batch version keep serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StepKind = Literal[
    "training-job",  # a SageMaker training job on the model image (`train`)
    "create-model",  # a SageMaker model from the training job's artifact
    "update-endpoint",  # blue/green update, canary traffic, rollback on alarms; waits, promotes
    "processing-job",  # a SageMaker processing job on the model image, one instance per shard
    "map-load",  # a Distributed Map over the batch files, the loader function per file
    "switch",  # the loader function verifies the counts and switches the active version
]


@dataclass(frozen=True)
class Step:
    """One step of the pipeline."""

    name: str
    kind: StepKind
    description: str
    command: tuple[str, ...] = ()  # what the image (or the loader) runs, where it runs code


STEPS: tuple[Step, ...] = (
    Step(
        name="train",
        kind="training-job",
        description=(
            "Train the onboarding model on the dataset channel, evaluate it against the rule and"
            " global-popularity baselines (and the previous model, given as the baseline channel)"
            " and apply the quality gate; a rejected model fails the job and stops the run"
        ),
        command=("train",),
    ),
    Step(
        name="create-model",
        kind="create-model",
        description="Register the accepted artifact as a SageMaker model on the same image",
    ),
    Step(
        name="update-endpoint",
        kind="update-endpoint",
        description=(
            "Shift the endpoint to the new model with canary traffic; alarms roll it back. The"
            " run waits for the outcome and promotes the model (the next run's gate baseline)"
            " only once the endpoint serves it; a rolled-back or failed update fails the run"
        ),
    ),
    Step(
        name="batch-score",
        kind="processing-job",
        description=(
            "Compute the batch lists (personal, artists, similar items and artists, regional"
            " charts, catalogue); each instance scores one shard of the listeners. Shard 0"
            " evaluates them and applies the batch gate against the active version (its files"
            " given with --active): a version worse than it beyond noise at recall@20 or"
            " NDCG@20 fails the job and stops the run, so it is never merged, loaded or"
            " switched; the verdict is in the version's gate.json"
        ),
        command=("python", "-m", "training.batch"),
    ),
    Step(
        name="merge",
        kind="processing-job",
        description=(
            "Combine the shards' manifests into the version's manifest.json; a version the"
            " batch gate refused is refused again here"
        ),
        command=("python", "-m", "training.batch", "merge"),
    ),
    Step(
        name="load",
        kind="map-load",
        description="Load every batch file into DynamoDB under the new version, in parallel",
        command=("load-file",),
    ),
    Step(
        name="switch",
        kind="switch",
        description=(
            "Verify the loaded counts against the manifest, then make the new version active"
        ),
        command=("switch",),
    ),
)


def step_names() -> tuple[str, ...]:
    """The steps' names in the order they run."""
    return tuple(step.name for step in STEPS)
