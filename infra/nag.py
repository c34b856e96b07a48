"""cdk-nag acknowledgements and checkov skips: every one names the construct it applies to and a
specific reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-XX`` or ``AwsSolutions-XX[finding]``)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_all(construct: IConstruct, findings: dict[str, str]) -> None:
    """Several findings on one construct, each with its reason."""
    for rule, reason in findings.items():
        acknowledge(construct, rule, reason)


CHECKOV = "checkov"  # the template Metadata key checkov reads its skips from
# checkov's findings on every log group: CKV_AWS_158 asks for a customer-managed KMS key.
LOG_GROUP_CHECKS = {
    "CKV_AWS_158": "CloudWatch Logs encrypts every log group at rest with its own keys; these logs "
    "hold no secrets, and a customer key would add a monthly fee and a key policy to keep right"
}


def skip_checkov(construct: IConstruct, findings: dict[str, str]) -> None:
    """Skip checkov checks (``CKV_AWS_NN``) on one resource, each with its reason: checkov reads
    them from the template's ``Metadata: {"checkov": {"skip": [{"id", "comment"}]}}``."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path}: no CloudFormation resource to skip checks on")
    skips = list((resource.get_metadata(CHECKOV) or {}).get("skip", []))
    skips += [{"id": check, "comment": reason} for check, reason in findings.items()]
    resource.add_metadata(CHECKOV, {"skip": skips})


def skip_checkov_on_cdk_provider(
    stack: Stack, provider_id: str, why: str, findings: dict[str, str]
) -> None:
    """Skip checkov checks on the handler of one of CDK's own custom-resource providers in
    ``stack`` (``Custom::...CustomResourceProvider``), when the stack has it; each reason is
    ``why`` and the finding's own words."""
    provider = stack.node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider else None
    if isinstance(handler, CfnResource):
        skip_checkov(handler, {check: f"{why}: {reason}" for check, reason in findings.items()})


XRAY = "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource but *"


def bucket_findings(bucket_name: str, actions: tuple[str, ...], why: str) -> dict[str, str]:
    """The wildcard findings of a grant on the data bucket's objects."""
    findings = {f"AwsSolutions-IAM5[Action::s3:{action}]": why for action in actions}
    printed = bucket_name.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>").replace(
        Aws.REGION, "<AWS::Region>"
    )  # as cdk-nag prints the pseudo parameters
    findings[f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{printed}/*]"] = why
    return findings
