"""IAM policies of synthesized CloudFormation templates, and whether they allow a call.

:class:`Templates` resolves the intrinsic functions of every stack of one synthesis (``Ref``,
``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``,
``Fn::GetAZs``, and ``Fn::ImportValue`` and ``Fn::GetStackOutput`` across the stacks) to strings,
with the pseudo parameters and unnamed resources replaced by placeholders, the same everywhere: a
table's ARN in a role's policy, in another stack's export and in the ARN the check computes from
the table's name are the same string. :func:`evaluate` then answers an IAM request the way IAM
evaluates identity-based policies: an explicit ``Deny`` wins, else an ``Allow`` whose action,
resource and conditions match, else implicitly denied. Wildcards (``*``, ``?``) match in actions
(case-insensitively) and in resources (ARN segment by segment, the resource part as a whole);
``NotAction`` and ``NotResource`` are supported, and the condition operators the templates use
(an unknown operator raises, so that a new one is added here rather than silently ignored).

Not modelled: permissions boundaries, SCPs, session policies and resource-based policies other
than KMS key policies (see :meth:`Templates.key_policy_allows`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}
# AWS managed policies the templates attach, as AWS publishes them (the evaluator needs their
# statements; an attached policy not listed here makes Principal.unknown_managed non-empty).
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        }
    ],
}


class UnresolvedError(ValueError):
    """An intrinsic function or reference the resolver does not know."""


_SAGEMAKER = "arn:{P}:sagemaker:{R}:{A}"
# The resource types the templates use, as AWS documents them: the property that names a resource
# (without it, its logical id stands for its name), whether its Ref is its name or its ARN, and
# its ARN. Other types resolve to placeholders naming the type and logical id.
TYPES: dict[str, tuple[str | None, str, str]] = {
    "AWS::DynamoDB::GlobalTable": ("TableName", "name", "arn:{P}:dynamodb:{R}:{A}:table/{name}"),
    "AWS::DynamoDB::Table": ("TableName", "name", "arn:{P}:dynamodb:{R}:{A}:table/{name}"),
    "AWS::S3::Bucket": ("BucketName", "name", "arn:{P}:s3:::{name}"),
    "AWS::Lambda::Function": ("FunctionName", "name", "arn:{P}:lambda:{R}:{A}:function:{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn", "arn:{P}:sns:{R}:{A}:{name}"),
    "AWS::KMS::Key": (None, "name", "arn:{P}:kms:{R}:{A}:key/{name}"),
    "AWS::IAM::Role": ("RoleName", "name", "arn:{P}:iam::{A}:role/{name}"),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        "arn",
        "arn:{P}:states:{R}:{A}:stateMachine:{name}",
    ),
    "AWS::CloudWatch::Alarm": ("AlarmName", "name", "arn:{P}:cloudwatch:{R}:{A}:alarm:{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "name", "arn:{P}:logs:{R}:{A}:log-group:{name}:*"),
    "AWS::SageMaker::Model": ("ModelName", "arn", _SAGEMAKER + ":model/{name}"),
    "AWS::SageMaker::EndpointConfig": (
        "EndpointConfigName",
        "arn",
        _SAGEMAKER + ":endpoint-config/{name}",
    ),
    "AWS::SageMaker::Endpoint": ("EndpointName", "arn", _SAGEMAKER + ":endpoint/{name}"),
}
# Fn::GetAtt attributes that are a resource's ARN, or its name, under another name.
ARN_ATTRIBUTES = {"Arn", "TopicArn"}
NAME_ATTRIBUTES = {"Name", "KeyId", "TopicName", "ModelName", "EndpointName", "EndpointConfigName"}


def format_arn(template: str, name: str) -> str:
    """An ARN of :data:`TYPES` with the placeholder partition, region and account."""
    return template.format(P=PARTITION, R=REGION, A=ACCOUNT, name=name)


class Templates:
    """The stacks of one synthesis (name -> template dict), their intrinsics resolved."""

    def __init__(self, templates: Mapping[str, Mapping[str, Any]]) -> None:
        self.templates = dict(templates)
        self._resolving: set[tuple[str, str]] = set()
        self._principals: dict[str, Principal] | None = None
        self._exports: dict[str, tuple[str, Any]] = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    name = self.resolve(stack, output["Export"]["Name"])
                    self._exports[name] = (stack, output["Value"])

    # resources

    def resources(self, kind: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(stack, logical id, resource)`` of every resource (of type ``kind``)."""
        for stack, template in self.templates.items():
            for logical, resource in template.get("Resources", {}).items():
                if kind is None or resource["Type"] == kind:
                    yield stack, logical, resource

    def ref(self, stack: str, logical: str) -> Any:
        template = self.templates[stack]
        if logical in PSEUDO:
            return PSEUDO[logical]
        if logical in template.get("Parameters", {}):
            return template["Parameters"][logical].get("Default", f"<parameter {logical}>")
        resource = template.get("Resources", {}).get(logical)
        if resource is None:
            raise UnresolvedError(f"{stack}: Ref {logical}: no such resource or parameter")
        if resource["Type"] not in TYPES:
            return f"<{resource['Type']} {logical}>"
        name, arn = self._name_and_arn(stack, logical)
        return arn if TYPES[resource["Type"]][1] == "arn" else name

    def get_att(self, stack: str, logical: str, attribute: str) -> Any:
        resource = self.templates[stack].get("Resources", {}).get(logical)
        if resource is None:
            raise UnresolvedError(f"{stack}: Fn::GetAtt {logical}.{attribute}: no such resource")
        if resource["Type"] in TYPES and attribute in ARN_ATTRIBUTES | NAME_ATTRIBUTES:
            name, arn = self._name_and_arn(stack, logical)
            return arn if attribute in ARN_ATTRIBUTES else name
        return f"<{resource['Type']} {logical}.{attribute}>"

    def arn_of(self, stack: str, logical: str) -> str:
        """A resource's ARN (a resource of a type of :data:`TYPES`)."""
        return self._name_and_arn(stack, logical)[1]

    def _name_and_arn(self, stack: str, logical: str) -> tuple[str, str]:
        resource = self.templates[stack]["Resources"][logical]
        prop, _, template = TYPES[resource["Type"]]
        key = (stack, logical)
        if key in self._resolving:
            raise UnresolvedError(f"{stack}/{logical}: its name refers to itself")
        self._resolving.add(key)
        try:
            named = resource.get("Properties", {}).get(prop) if prop else None
            name = logical if named is None else str(self.resolve(stack, named))
        finally:
            self._resolving.discard(key)
        if resource["Type"] == "AWS::S3::Bucket" and named is None:
            name = name.lower()
        return name, format_arn(template, name)

    # intrinsic functions

    def resolve(self, stack: str, value: Any) -> Any:
        """``value`` with every intrinsic function of ``stack`` resolved."""
        if isinstance(value, list):
            return [v for v in (self.resolve(stack, item) for item in value) if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {k: self.resolve(stack, v) for k, v in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(stack, argument)
        if function == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(stack, logical, attribute)
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(str(v) for v in self.resolve(stack, items))
        if function == "Fn::Select":
            index, items = self.resolve(stack, argument)
            return items[int(index)]
        if function == "Fn::Split":
            delimiter, text = self.resolve(stack, argument)
            return str(text).split(delimiter)
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::ImportValue":
            name = self.resolve(stack, argument)
            if name not in self._exports:
                raise UnresolvedError(f"{stack}: Fn::ImportValue {name}: no stack exports it")
            exporter, exported = self._exports[name]
            return self.resolve(exporter, exported)
        if function == "Fn::GetStackOutput":  # a cross-stack reference by output name
            name = self.resolve(stack, argument["OutputName"])
            owners = [s for s, t in self.templates.items() if name in t.get("Outputs", {})]
            if len(owners) != 1:
                raise UnresolvedError(f"{stack}: Fn::GetStackOutput {name}: outputs {owners}")
            return self.resolve(owners[0], self.templates[owners[0]]["Outputs"][name]["Value"])
        if function == "Fn::FindInMap":
            mapping, first, second = self.resolve(stack, argument)
            return self.templates[stack]["Mappings"][mapping][first][second]
        if function == "Fn::GetAZs":  # the network's subnets: the region's zones
            region = self.resolve(stack, argument) or REGION
            return [f"{region}{zone}" for zone in "abcdef"]
        raise UnresolvedError(f"{stack}: {function} is not supported by the resolver")

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {k: self.resolve(stack, v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] in self.templates[stack]["Resources"]:
                logical, attribute = name.split(".", 1)
                return str(self.get_att(stack, logical, attribute))
            return str(self.ref(stack, name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    # IAM principals and their policies

    @property
    def principals(self) -> dict[str, Principal]:
        """Every role of the synthesis by ARN, with the statements of its policies."""
        if self._principals is None:
            self._principals = _principals(self)
        return self._principals

    def key_arn(self, value: str) -> str:
        """A key's ARN from what a resource names it by (its ARN, id or alias)."""
        for stack, logical, _ in self.resources("AWS::KMS::Key"):
            if value in (self.ref(stack, logical), self.arn_of(stack, logical)):
                return self.arn_of(stack, logical)
        return value

    def key_policy_allows(self, key_arn: str, principal_arn: str, action: str) -> bool | None:
        """Whether the key policy of a key of the synthesis lets ``principal_arn`` (directly, or
        through the account's IAM policies) perform ``action``; None for keys it does not
        define (AWS managed keys, keys of other apps)."""
        for stack, logical, resource in self.resources("AWS::KMS::Key"):
            if self.arn_of(stack, logical) != key_arn:
                continue
            policy = self.resolve(stack, resource["Properties"]["KeyPolicy"])
            root = f"arn:{PARTITION}:iam::{ACCOUNT}:root"
            for st in _list(policy.get("Statement")):
                principals = _list((st.get("Principal") or {}).get("AWS"))
                allowed = {root, principal_arn, "*"} & set(principals)
                if st.get("Effect") != "Allow" or not allowed:
                    continue
                if any(glob_match(p, action, case=False) for p in _list(st.get("Action"))):
                    return True
            return False
        return None


@dataclass(frozen=True)
class Statement:
    """One statement of an identity-based policy, resolved, and where it comes from."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)
    source: str = ""

    @classmethod
    def parse(cls, doc: Mapping[str, Any], source: str = "") -> Statement:
        return cls(
            effect=str(doc["Effect"]),
            actions=tuple(_list(doc.get("Action"))),
            not_actions=tuple(_list(doc.get("NotAction"))),
            resources=tuple(_list(doc.get("Resource"))),
            not_resources=tuple(_list(doc.get("NotResource"))),
            conditions=dict(doc.get("Condition") or {}),
            source=source,
        )

    def matching_actions(self, action: str) -> list[str]:
        """The action patterns of the statement that cover ``action`` (``["NotAction"]`` when
        only the statement's NotAction does)."""
        if self.not_actions:
            return (
                []
                if any(glob_match(p, action, case=False) for p in self.not_actions)
                else ["NotAction"]
            )
        return [p for p in self.actions if glob_match(p, action, case=False)]

    def matching_resources(self, resource: str) -> list[str]:
        if self.not_resources:
            return (
                [] if any(arn_match(p, resource) for p in self.not_resources) else ["NotResource"]
            )
        return [p for p in self.resources if arn_match(p, resource)]


@dataclass(frozen=True)
class Request:
    """An IAM authorization request: an action on a resource, with request context keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """What an allowing statement matched a request with (for the report of unused grants)."""

    statement: str  # its source: "<policy>#<index>"
    action: str
    resource: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    grants: tuple[Grant, ...] = ()  # every Allow that matched
    denied_by: Statement | None = None

    def __bool__(self) -> bool:
        return self.allowed


def evaluate(statements: list[Statement], request: Request) -> Decision:
    """IAM's evaluation of identity-based policies: an explicit Deny, else any Allow."""
    grants: list[Grant] = []
    for st in statements:
        actions = st.matching_actions(request.action)
        resources = st.matching_resources(request.resource)
        if not actions or not resources or not conditions_match(st.conditions, request.context):
            continue
        if st.effect == "Deny":
            return Decision(False, (), st)
        grants += [Grant(st.source, a, r) for a in actions for r in resources]
    return Decision(bool(grants), tuple(grants))


@dataclass
class Principal:
    """A role: its ARN, its policies' statements, the managed policies the evaluator does not
    know."""

    arn: str
    stack: str
    logical: str
    statements: list[Statement] = field(default_factory=list)
    unknown_managed: list[str] = field(default_factory=list)

    def allows(self, request: Request) -> Decision:
        return evaluate(self.statements, request)


def _principals(templates: Templates) -> dict[str, Principal]:
    roles: dict[str, Principal] = {}
    names: dict[str, str] = {}  # role Ref (its name) -> ARN
    for stack, logical, resource in templates.resources("AWS::IAM::Role"):
        arn = templates.arn_of(stack, logical)
        principal = Principal(arn, stack, logical)
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            doc = templates.resolve(stack, policy["PolicyDocument"])
            principal.statements += _statements(doc, f"{logical}/{policy['PolicyName']}")
        for managed in templates.resolve(stack, props.get("ManagedPolicyArns", [])):
            if managed in MANAGED:
                principal.statements += _statements({"Statement": MANAGED[managed]}, managed)
            else:
                principal.unknown_managed.append(managed)
        roles[arn] = principal
        names[str(templates.ref(stack, logical))] = arn
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for stack, logical, resource in templates.resources(kind):
            props = resource["Properties"]
            doc = templates.resolve(stack, props["PolicyDocument"])
            for role in templates.resolve(stack, props.get("Roles", [])):
                if role in names:
                    roles[names[role]].statements += _statements(doc, logical)
    return roles


def _statements(doc: Mapping[str, Any], source: str) -> list[Statement]:
    return [
        Statement.parse(st, f"{source}#{i}") for i, st in enumerate(_list(doc.get("Statement")))
    ]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# matching


def glob_match(pattern: str, value: str, case: bool = True) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` any one character."""
    return _glob(pattern, case).fullmatch(value) is not None


@cache
def _glob(pattern: str, case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case else re.IGNORECASE)


def arn_match(pattern: str, resource: str) -> bool:
    """A Resource element against a resource ARN: ``*``, or segment by segment (partition,
    service, region, account; the resource part, colons and slashes included, as a whole)."""
    if pattern == "*":
        return True
    p, r = pattern.split(":", 5), resource.split(":", 5)
    if len(p) != 6 or len(r) != 6:
        return glob_match(pattern, resource)
    return all(glob_match(a, b) for a, b in zip(p, r, strict=True))


# Condition operators: name -> (compare one policy value with one request value, negated).
_OPERATORS = {
    "StringEquals": (lambda v, x: v == x, False),
    "StringNotEquals": (lambda v, x: v == x, True),
    "StringEqualsIgnoreCase": (lambda v, x: v.lower() == x.lower(), False),
    "StringLike": (lambda v, x: glob_match(v, x), False),
    "StringNotLike": (lambda v, x: glob_match(v, x), True),
    "ArnEquals": (lambda v, x: v == x, False),
    "ArnLike": (lambda v, x: arn_match(v, x), False),
    "ArnNotEquals": (lambda v, x: v == x, True),
    "ArnNotLike": (lambda v, x: arn_match(v, x), True),
    "Bool": (lambda v, x: str(v).lower() == str(x).lower(), False),
}


def conditions_match(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]
) -> bool:
    """Whether every condition of a statement holds for the request context (a key missing from
    the context fails the condition, except for negated operators and ``...IfExists``)."""
    for operator, tests in conditions.items():
        name = operator.removesuffix("IfExists")
        if name not in _OPERATORS:
            raise NotImplementedError(f"condition operator {operator}: add it to _OPERATORS")
        compare, negated = _OPERATORS[name]
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                if operator.endswith("IfExists") or negated:
                    continue
                return False
            hit = any(compare(str(v), str(actual)) for v in _list(expected))
            if hit == negated:
                return False
    return True


def dumps(request: Request) -> str:
    """A request, one line, for messages."""
    context = f" {json.dumps(dict(request.context), sort_keys=True)}" if request.context else ""
    return f"{request.action} on {request.resource}{context}"
