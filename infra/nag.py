"""cdk-nag acknowledgements: every one names the construct it applies to and a specific reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-XX`` or ``AwsSolutions-XX[finding]``)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_all(construct: IConstruct, findings: dict[str, str]) -> None:
    """Several findings on one construct, each with its reason."""
    for rule, reason in findings.items():
        acknowledge(construct, rule, reason)


XRAY = "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource but *"


def bucket_findings(bucket_name: str, actions: tuple[str, ...], why: str) -> dict[str, str]:
    """The wildcard findings of a grant on the data bucket's objects."""
    findings = {f"AwsSolutions-IAM5[Action::s3:{action}]": why for action in actions}
    printed = bucket_name.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>").replace(
        Aws.REGION, "<AWS::Region>"
    )  # as cdk-nag prints the pseudo parameters
    findings[f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{printed}/*]"] = why
    return findings
