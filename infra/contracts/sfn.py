"""A state machine definition checked against what Step Functions accepts when it creates the
state machine, and against what its states can read, with no AWS credentials:

- ``resource``: every Task's ``Resource`` (and a Distributed Map's ``ItemReader.Resource``) is a
  known integration: an optimized one with a pattern it supports, an AWS SDK one, a Lambda
  function or an activity;
- ``optimized-parameters``: an optimized integration gets only the parameters AWS documents for
  it (``integrations.OPTIMIZED``);
- ``sdk-parameters``: an AWS SDK integration names an operation of botocore's service model and
  its parameters fit the operation's input shape (members, required members, literal types);
- ``intrinsic``: every intrinsic function parses, is known, gets as many arguments as it takes
  and ``States.Format`` as many as its template has ``{}`` placeholders;
- ``jsonpath``: ``$$.`` paths name context object fields; ``$.`` paths read what earlier states
  put in the input (their ``ResultPath``s, with the result's shape where it is known).

``check(definition)`` runs them all; ``state_machine_definitions(template)`` turns the
``DefinitionString`` of a synthesized template into JSON, with placeholders for its tokens.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore
import botocore.session

from infra.contracts.integrations import (
    CONTEXT,
    CONTEXT_PAGE,
    INTRINSIC_RESULTS,
    INTRINSICS,
    ITEM_READERS,
    OPTIMIZED,
    SDK_SERVICE_ALIASES,
    SDK_SUFFIXES,
    ItemReader,
    Optimized,
)

RESOURCE = "resource"
OPTIMIZED_PARAMETERS = "optimized-parameters"
SDK_PARAMETERS = "sdk-parameters"
INTRINSIC = "intrinsic"
JSONPATH = "jsonpath"

# What the tokens of a template stand for: pseudo parameters get plausible values, a Lambda
# function's ARN the form of one, anything else an opaque <placeholder> (no quote, brace or
# backslash, so it stays inert inside JSON strings and intrinsic functions).
REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}
PLACEHOLDER = re.compile(r"<[A-Za-z0-9:._-]*>")


@dataclass(frozen=True)
class Finding:
    """What a rule found wrong, and where: the state (``map/inner`` inside a Map) and the field."""

    rule: str
    state: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.state}: {self.field}: {self.message} [{self.rule}]"


# Synthesized templates


def state_machine_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each state machine's definition in a CloudFormation template, by logical id."""
    resources = template.get("Resources", {})
    found = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            properties = resource.get("Properties", {})
            if "DefinitionString" in properties:
                text = _resolve(properties["DefinitionString"], resources)
            else:
                text = _resolve(json.dumps(properties["Definition"]), resources)
            found[logical_id] = json.loads(text)
    return found


def _resolve(value: Any, resources: Mapping[str, Any]) -> str:
    """A string, or an ``Fn::Join`` of strings and tokens, with placeholders for the tokens."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_resolve(part, resources) for part in parts)
    return _placeholder(value, resources)


def _placeholder(token: Any, resources: Mapping[str, Any]) -> str:
    if not (isinstance(token, dict) and len(token) == 1):
        return "<token>"
    ((kind, argument),) = token.items()
    if kind == "Ref" and argument in PSEUDO:
        return PSEUDO[argument]
    if kind == "Fn::GetAtt":
        target = argument.split(".", 1) if isinstance(argument, str) else list(argument)
        kind_of = resources.get(target[0], {}).get("Type")
        if target[1:] == ["Arn"] and kind_of == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{target[0]}"
    if isinstance(argument, str) and kind != "Fn::Sub":
        label = f"{kind}:{argument}"
    elif isinstance(argument, list) and kind == "Fn::GetAtt":
        label = f"{kind}:{'.'.join(str(a) for a in argument)}"
    else:
        label = kind
    return "<" + re.sub(r"[^A-Za-z0-9:._-]", "", label) + ">"


# Integrations


@dataclass(frozen=True)
class Integration:
    """What a Task's ``Resource`` calls."""

    kind: str  # "optimized", "sdk", "lambda" (a function ARN) or "activity"
    service: str = ""
    action: str = ""
    suffix: str = ""
    optimized: Optimized | None = None


PARTITION = r"arn:aws(?:-[a-z]+)*"
STATES_ARN = re.compile(PARTITION + r":states:::(?P<integration>.+)$")
LAMBDA_ARN = re.compile(
    PARTITION + r":lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(?::[A-Za-z0-9_$-]+)?$"
)
ACTIVITY_ARN = re.compile(PARTITION + r":states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_.-]+$")
CAMEL_CASE = re.compile(r"[a-z][A-Za-z0-9]*$")
SUFFIX = re.compile(r"(?P<name>[^.]*)(?P<suffix>\..*)?$")


def integration(resource: str) -> Integration | str:
    """What a Task's ``Resource`` calls, or why Step Functions would not know it."""
    if LAMBDA_ARN.match(resource):
        return Integration("lambda")
    if ACTIVITY_ARN.match(resource):
        return Integration("activity")
    match = STATES_ARN.match(resource)
    if not match:
        return (
            f"{resource!r} is no integration Step Functions knows: neither"
            " arn:aws:states:::<service>:<api> (optimized), arn:aws:states:::aws-sdk:<service>:"
            "<action>, a Lambda function ARN nor an activity ARN"
        )
    parts = match["integration"].split(":")
    if parts[0] == "aws-sdk":
        return _sdk_integration(resource, parts[1:])
    if len(parts) != 2:
        return f"{resource!r}: an optimized integration is arn:aws:states:::<service>:<api>"
    service, (api, suffix) = parts[0], _split_suffix(parts[1])
    known = {(o.service, o.api): o for o in OPTIMIZED}
    optimized = known.get((service, api))
    if optimized is None:
        apis = sorted(o.api for o in OPTIMIZED if o.service == service)
        offer = f" ({service} has {', '.join(apis)})" if apis else ""
        return (
            f"{resource!r}: Step Functions has no optimized integration {service}:{api}{offer};"
            f" call other APIs through arn:aws:states:::aws-sdk:{service}:{api}"
        )
    if suffix not in optimized.suffixes:
        patterns = ", ".join(repr(s) if s else "request-response" for s in optimized.suffixes)
        return f"{resource!r}: {service}:{api} supports {patterns}, not {suffix!r}"
    return Integration("optimized", service, api, suffix, optimized)


def _split_suffix(text: str) -> tuple[str, str]:
    match = SUFFIX.match(text)
    assert match is not None  # the pattern matches any text
    return match["name"], match["suffix"] or ""


def _sdk_integration(resource: str, parts: list[str]) -> Integration | str:
    if len(parts) != 2 or not all(parts):
        return (
            f"{resource!r}: an AWS SDK integration is arn:aws:states:::aws-sdk:<service>:<action>"
        )
    service, (action, suffix) = parts[0], _split_suffix(parts[1])
    if suffix not in SDK_SUFFIXES:
        return f"{resource!r}: AWS SDK integrations are request-response or .waitForTaskToken"
    if not CAMEL_CASE.match(action):
        return (
            f"{resource!r}: the action is the camelCase of the API operation"
            f" ({action[:1].lower()}{action[1:]}, not {action})"
        )
    return Integration("sdk", service, action, suffix)


def item_reader(resource: str) -> ItemReader | str:
    """The Distributed Map item reader a ``ItemReader.Resource`` names, or why it is none."""
    match = STATES_ARN.match(resource)
    readers = {f"s3:{r.api}": r for r in ITEM_READERS}
    if match and match["integration"] in readers:
        return readers[match["integration"]]
    names = ", ".join(f"arn:aws:states:::{name}" for name in readers)
    return f"{resource!r} is no item reader ({names})"


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of an AWS SDK integration's service, or None when botocore has none."""
    name = SDK_SERVICE_ALIASES.get(service, service)
    if name not in _session().get_available_services():
        return None
    return _session().get_service_model(name)


def operation(service: str, action: str) -> Any:
    """botocore's model of an AWS SDK integration's operation, or why there is none."""
    model = service_model(service)
    if model is None:
        return f"botocore {botocore.__version__} has no service {service!r}"
    name = action[:1].upper() + action[1:]
    if name not in model.operation_names:
        close = difflib.get_close_matches(name, model.operation_names, n=3)
        hint = (
            f" (did you mean {', '.join(c[:1].lower() + c[1:] for c in close)}?)" if close else ""
        )
        return f"{service} has no operation {name} for the action {action}{hint}"
    return model.operation_model(name)


def _result_shape(state: Mapping[str, Any], selected: bool = True) -> Any:
    """The shape of a state's result (a botocore shape, a dict of keys, or None when unknown);
    ``selected``: after its ResultSelector."""
    selector = state.get("ResultSelector")
    if selected and isinstance(selector, dict):
        return {_bare(key): None for key in selector}
    kind = state.get("Type")
    if kind == "Pass":
        for name in ("Parameters", "Result"):
            if isinstance(state.get(name), dict):
                return {_bare(key): None for key in state[name]}
    if kind != "Task":
        return None
    found = integration(str(state.get("Resource", "")))
    if isinstance(found, str):
        return None
    if found.kind == "sdk":
        op = operation(found.service, found.action)
        return None if isinstance(op, str) else op.output_shape
    if found.optimized is not None and found.suffix in found.optimized.results:
        service, name = found.optimized.results[found.suffix].split(":")
        return service_model(service).operation_model(name).output_shape
    return None


# Walking a definition


def all_states(
    machine: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested ones (Map processors, Parallel branches) as ``outer/inner``."""
    for name, state in machine.get("States", {}).items():
        qualified = f"{prefix}{name}"
        yield qualified, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            yield from all_states(processor, f"{qualified}/")
        for index, branch in enumerate(state.get("Branches", [])):
            yield from all_states(branch, f"{qualified}/{index}/")


def _payloads(state: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The state's payload templates (where ``.$`` fields live), by field name."""
    for name in ("Parameters", "ResultSelector", "ItemSelector"):
        if name in state:
            yield name, state[name]
    reader = state.get("ItemReader")
    if isinstance(reader, dict) and "Parameters" in reader:
        yield "ItemReader.Parameters", reader["Parameters"]


def _entries(value: Any, field: str) -> Iterator[tuple[str, str, Any]]:
    """(field, key, value) of every object member in ``value``, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{field}.{key}", key, item
            yield from _entries(item, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _entries(item, f"{field}[{index}]")


def _bare(key: str) -> str:
    return key.removesuffix(".$")


def _offer(wanted: str, names: Iterable[str]) -> str:
    """What there is instead of ``wanted``: all of a few names, the closest of many."""
    names = sorted(names)
    if len(names) <= 8:
        return f"it has {', '.join(names)}" if names else "it has nothing"
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    return (
        f"closest of its {len(names)}: {', '.join(close)}"
        if close
        else f"none close of {len(names)}"
    )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    return f"the number {value}"


# Rule: resource


def check_resources(definition: Mapping[str, Any]) -> Iterator[Finding]:
    """Every Task calls a known integration; every item reader is one."""
    for name, state in all_states(definition):
        if state.get("Type") == "Task":
            found = integration(str(state.get("Resource", "")))
            if isinstance(found, str):
                yield Finding(RESOURCE, name, "Resource", found)
        reader = state.get("ItemReader")
        if isinstance(reader, dict):
            known = item_reader(str(reader.get("Resource", "")))
            if isinstance(known, str):
                yield Finding(RESOURCE, name, "ItemReader.Resource", known)


# Rule: optimized-parameters


def check_optimized_parameters(definition: Mapping[str, Any]) -> Iterator[Finding]:
    """Optimized integrations and item readers get only their documented parameters."""
    for name, state in all_states(definition):
        found = integration(str(state.get("Resource", ""))) if state.get("Type") == "Task" else ""
        parameters = state.get("Parameters")
        if isinstance(found, Integration) and found.optimized and isinstance(parameters, dict):
            yield from _optimized(name, found.optimized, parameters)
        reader = state.get("ItemReader")
        if isinstance(reader, dict) and isinstance(reader.get("Parameters"), dict):
            known = item_reader(str(reader.get("Resource", "")))
            if isinstance(known, ItemReader):
                for key in reader["Parameters"]:
                    if _bare(key) not in known.parameters:
                        yield Finding(
                            OPTIMIZED_PARAMETERS,
                            name,
                            f"ItemReader.Parameters.{key}",
                            f"{_bare(key)} is not among the parameters the s3:{known.api} item"
                            f" reader documents ({', '.join(sorted(known.parameters))}:"
                            f" {known.source})",
                        )


def _optimized(name: str, api: Optimized, parameters: Mapping[str, Any]) -> Iterator[Finding]:
    sdk = f"arn:aws:states:::aws-sdk:{api.service}:{api.api}"
    for key in parameters:
        if _bare(key) not in api.parameters:
            yield Finding(
                OPTIMIZED_PARAMETERS,
                name,
                f"Parameters.{key}",
                f"{_bare(key)} is not among the parameters the optimized integration"
                f" {api.service}:{api.api} documents ({', '.join(sorted(api.parameters))}:"
                f" {api.source}); AWS refuses the state machine. The AWS SDK integration {sdk}"
                " takes the API's own parameters",
            )
    for member, allowed in api.nested.items():
        items = parameters.get(member)
        for index, item in enumerate(items if isinstance(items, list) else []):
            for key in item if isinstance(item, dict) else {}:
                if _bare(key) not in allowed:
                    yield Finding(
                        OPTIMIZED_PARAMETERS,
                        name,
                        f"Parameters.{member}[{index}].{key}",
                        f"{_bare(key)} is newer than the optimized integration"
                        f" {api.service}:{api.api}, whose {member} have"
                        f" {', '.join(sorted(allowed))} ({api.nested_source}); use {sdk}",
                    )


# Rule: sdk-parameters

SCALARS: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (str, int, float),
    "blob": (str,),
}
# botocore types an intrinsic function's result (integrations.INTRINSIC_RESULTS) can fill.
FILLS: Mapping[str, frozenset[str]] = {
    "string": frozenset({"string", "timestamp", "blob"}),
    "list": frozenset({"list"}),
    "integer": frozenset({"integer", "long", "float", "double"}),
    "boolean": frozenset({"boolean"}),
    "structure": frozenset({"structure", "map"}),
}


def check_sdk_parameters(definition: Mapping[str, Any]) -> Iterator[Finding]:
    """AWS SDK integrations call an operation botocore knows, with parameters of its input."""
    for name, state in all_states(definition):
        if state.get("Type") != "Task":
            continue
        found = integration(str(state.get("Resource", "")))
        if not (isinstance(found, Integration) and found.kind == "sdk"):
            continue
        op = operation(found.service, found.action)
        if isinstance(op, str):
            yield Finding(SDK_PARAMETERS, name, "Resource", op)
            continue
        parameters = state.get("Parameters", {})
        for field, message in _validate(parameters, op.input_shape, "Parameters"):
            yield Finding(SDK_PARAMETERS, name, field, message)


def _pascal(name: str) -> str:
    """Step Functions spells SDK members in PascalCase even where the API uses camelCase."""
    return name[:1].upper() + name[1:]


def _validate(value: Any, shape: Any, field: str) -> Iterator[tuple[str, str]]:
    """Where a literal value does not fit a botocore shape (``.$`` values only by their kind)."""
    if shape is None:  # an operation without input
        if value:
            yield field, "the operation takes no parameters"
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            yield field, f"{shape.name} is an object, not {_describe(value)}"
            return
        members = {_pascal(member): member for member in shape.members}
        present = set()
        for key, item in value.items():
            member = members.get(_pascal(_bare(key)))
            if member is None:
                yield (
                    f"{field}.{key}",
                    f"{_bare(key)} is not a member of {shape.name}"
                    f" ({_offer(_bare(key), shape.members)})",
                )
                continue
            present.add(member)
            if key.endswith(".$"):
                problem = _dynamic_kind(item, shape.members[member])
                if problem:
                    yield f"{field}.{key}", problem
            else:
                yield from _validate(item, shape.members[member], f"{field}.{key}")
        for required in shape.required_members:
            if required not in present:
                yield field, f"{shape.name} requires {required}, which is missing"
    elif kind == "list":
        if not isinstance(value, list):
            yield field, f"{shape.name} is an array, not {_describe(value)}"
            return
        for index, item in enumerate(value):
            yield from _validate(item, shape.member, f"{field}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield field, f"{shape.name} is an object (a map), not {_describe(value)}"
            return
        for key, item in value.items():
            if not key.endswith(".$"):
                yield from _validate(item, shape.value, f"{field}.{key}")
    else:
        expected = SCALARS.get(kind, ())
        wrong_bool = isinstance(value, bool) and bool not in expected
        if expected and (not isinstance(value, expected) or wrong_bool):
            article = "an" if kind[0] in "aeiou" else "a"
            yield field, f"{shape.name} is {article} {kind}, not {_describe(value)}"
        elif (
            kind == "string"
            and shape.enum
            and value not in shape.enum
            and not PLACEHOLDER.search(str(value))
        ):
            yield (
                field,
                f"{value!r} is not one of {shape.name}'s values ({_offer(value, shape.enum)})",
            )


def _dynamic_kind(value: Any, shape: Any) -> str | None:
    """Whether an intrinsic function's result can fill the member (a path could be anything)."""
    if not (isinstance(value, str) and value.startswith("States.")):
        return None
    try:
        call = parse_intrinsic(value)
    except IntrinsicSyntaxError:
        return None  # the intrinsic rule says why
    returns = INTRINSIC_RESULTS.get(call.name)
    if returns and shape.type_name not in FILLS[returns]:
        return f"{call.name} returns a {returns}; {shape.name} is a {shape.type_name}"
    return None


# Rule: intrinsic


@dataclass(frozen=True)
class Literal:
    """A literal argument; strings keep their text as written (quotes and escapes) in ``raw``."""

    value: str | int | float | bool | None
    raw: str


@dataclass(frozen=True)
class PathArg:
    """A path argument (``$.x``, ``$$.Execution.Name``)."""

    path: str


@dataclass(frozen=True)
class Call:
    """An intrinsic function call."""

    name: str
    args: tuple[Call | Literal | PathArg, ...]


class IntrinsicSyntaxError(ValueError):
    """Text that is no intrinsic function call."""


NAME = re.compile(r"States\.[A-Za-z0-9]+")
SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
LOOKS_DYNAMIC = re.compile(r"States\.[A-Za-z0-9]+\(|\$\$?\.")


class _Parser:
    """Recursive descent over ``States.Name(arg, ...)``: args are 'strings' (\\ escapes the next
    character), numbers, true/false/null, paths and nested calls."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def error(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{message} at character {self.pos} of {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def call(self) -> Call:
        match = NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected an intrinsic function, States.<Name>(...)")
        self.pos = match.end()
        if self.peek() != "(":
            raise self.error(f"expected '(' after {match.group()}")
        self.pos += 1
        self.skip_spaces()
        args: list[Call | Literal | PathArg] = []
        if self.peek() == ")":
            self.pos += 1
            return Call(match.group(), ())
        while True:
            self.skip_spaces()
            args.append(self.argument())
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() == ")":
                self.pos += 1
                return Call(match.group(), tuple(args))
            else:
                raise self.error("expected ',' or ')'" if self.peek() else "unclosed '('")

    def argument(self) -> Call | Literal | PathArg:
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        match = SCALAR.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return Literal(json.loads(match.group()), match.group())
        raise self.error("expected a 'string', number, path or intrinsic function")

    def string(self) -> Literal:
        start, chars = self.pos, []
        self.pos += 1
        while True:
            char = self.peek()
            if not char:
                raise self.error("unterminated string")
            self.pos += 1
            if char == "\\":
                if not self.peek():
                    raise self.error("unterminated string")
                chars.append(self.peek())
                self.pos += 1
            elif char == "'":
                return Literal("".join(chars), self.text[start : self.pos])
            else:
                chars.append(char)

    def path(self) -> PathArg:
        start, depth, quote = self.pos, 0, ""
        while char := self.peek():
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"" and depth:
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif not depth and (char in ",)" or char.isspace()):
                break
            self.pos += 1
        return PathArg(self.text[start : self.pos])


def parse_intrinsic(text: str) -> Call:
    """The intrinsic function call ``text`` is, or IntrinsicSyntaxError."""
    parser = _Parser(text)
    call = parser.call()
    parser.skip_spaces()
    if parser.peek():
        raise parser.error("unexpected text after the call")
    return call


def placeholders(raw: str) -> tuple[int, str | None]:
    """The ``{}`` placeholders of a ``States.Format`` template as written (quotes included), and
    what is wrong with a brace that is neither escaped nor part of one."""
    body, count, index = raw[1:-1], 0, 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            if body[index + 1 : index + 2] != "}":
                return count, "an unescaped '{' that opens no {} placeholder (escape it: \\{)"
            count += 1
            index += 1
        elif char == "}":
            return count, "an unescaped '}' (escape it: \\})"
        index += 1
    return count, None


def call_problems(call: Call) -> Iterator[str]:
    """What is wrong with an intrinsic call and the calls nested in it."""
    arity = INTRINSICS.get(call.name)
    if arity is None:
        close = difflib.get_close_matches(call.name, list(INTRINSICS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        yield f"{call.name} is no intrinsic function{hint}"
    else:
        fewest, most = arity
        if len(call.args) < fewest or (most is not None and len(call.args) > most):
            takes = f"{fewest}" if fewest == most else f"{fewest} to {most or 'any number of'}"
            yield f"{call.name} takes {takes} arguments, not {len(call.args)}"
    if call.name == "States.Format" and call.args:
        template = call.args[0]
        if not (isinstance(template, Literal) and isinstance(template.value, str)):
            yield "States.Format's first argument must be a 'string' template"
        else:
            count, stray = placeholders(template.raw)
            if stray:
                yield f"States.Format({template.raw}, ...) has {stray}"
            elif count != len(call.args) - 1:
                yield (
                    f"States.Format({template.raw}, ...) has {count} {{}} placeholder(s) but"
                    f" {len(call.args) - 1} argument(s) to put in them"
                )
    for arg in call.args:
        if isinstance(arg, Call):
            yield from call_problems(arg)


def check_intrinsics(definition: Mapping[str, Any]) -> Iterator[Finding]:
    """Every ``.$`` field holds a path or a well-formed intrinsic; no other field looks like one."""
    for name, state in all_states(definition):
        for payload_field, payload in _payloads(state):
            for field, key, value in _entries(payload, payload_field):
                if key.endswith(".$"):
                    for problem in _dynamic_problems(value):
                        yield Finding(INTRINSIC, name, field, problem)
                elif isinstance(value, str) and LOOKS_DYNAMIC.match(value):
                    yield Finding(
                        INTRINSIC,
                        name,
                        field,
                        f"{value[:60]!r} reads like a path or intrinsic function, but without"
                        f" the .$ suffix ({key}.$) Step Functions passes it on as text",
                    )


def _dynamic_problems(value: Any) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"a .$ field holds a path or an intrinsic function, not {_describe(value)}"
    elif value.startswith("States."):
        try:
            yield from call_problems(parse_intrinsic(value))
        except IntrinsicSyntaxError as exc:
            yield str(exc)
    elif not value.startswith("$"):
        yield f"{value[:60]!r} is neither a path ($...) nor an intrinsic function (States....)"


# Rule: jsonpath

SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)")
ERROR_OUTPUT = {"Error": None, "Cause": None}  # what a Catch puts at its ResultPath
UNREACHED: Any = object()


def _segments(path: str) -> list[str]:
    """The leading plain ``.name`` segments of a path without its ``$``/``$$`` (checks stop at
    the first bracket, wildcard or filter)."""
    found, position = [], 0
    while match := SEGMENT.match(path, position):
        found.append(match.group(1))
        position = match.end()
    return found


def _paths_in(value: str) -> Iterator[str]:
    if value.startswith("$"):
        yield value
    elif value.startswith("States."):
        try:
            call = parse_intrinsic(value)
        except IntrinsicSyntaxError:
            return
        yield from _call_paths(call)


def _call_paths(call: Call) -> Iterator[str]:
    for arg in call.args:
        if isinstance(arg, PathArg):
            yield arg.path
        elif isinstance(arg, Call):
            yield from _call_paths(arg)


def _member(shape: Any, name: str) -> tuple[bool, Any]:
    """Whether ``shape`` (a dict of keys, a botocore shape, None: unknown) has ``name``, and
    the shape of what it holds there."""
    if shape is None:
        return True, None
    if isinstance(shape, dict):
        return name in shape, shape.get(name)
    kind = shape.type_name
    if kind == "structure":
        return name in shape.members, shape.members.get(name)
    if kind == "map":
        return True, shape.value
    if kind == "list":
        return True, None  # a path into an array: not followed
    return False, None


def _members(shape: Any) -> list[str]:
    if isinstance(shape, dict):
        return sorted(shape)
    if shape is not None and shape.type_name == "structure":
        return sorted(shape.members)
    return []


def _context_problem(path: str, in_map: bool) -> str | None:
    segments = _segments(path[2:])
    if segments[:1] == ["Map"] and not in_map:
        return f"{path}: the context has Map only in a Map state's ItemSelector"
    node: Any = CONTEXT
    for index, segment in enumerate(segments):
        if node is None:
            return None  # data of any shape (the execution input, a map item)
        if segment not in node:
            where = "$$" + "".join(f".{s}" for s in segments[:index])
            fields = ", ".join(sorted(node)) or "no fields"
            return f"{path} is not in the context object: {where} has {fields} ({CONTEXT_PAGE})"
        node = node[segment]
    return None


def _input_problem(path: str, reads: Any, source: str) -> str | None:
    """What is wrong with a ``$.`` path into ``reads`` (None: unknown, nothing to say)."""
    node = reads
    segments = _segments(path[1:])
    for index, segment in enumerate(segments):
        exists, child = _member(node, segment)
        if not exists:
            if index == 0:
                return f"{path}: {source} has no {segment!r} ({_offer(segment, _members(node))})"
            where = "$" + "".join(f".{s}" for s in segments[:index])
            label = f" ({node.name})" if hasattr(node, "name") else ""
            return f"{path}: {where}{label} has no {segment!r} ({_offer(segment, _members(node))})"
        if child is None:
            return None
        node = child
    return None


def _as_keys(shape: Any) -> dict[str, Any] | None:
    if isinstance(shape, dict):
        return dict(shape)
    if shape is not None and shape.type_name == "structure":
        return dict(shape.members)
    return None


def _place(keys: Any, result_path: Any, result: Any) -> Any:
    """The keys of a state's output: its result placed in its input at ``result_path``."""
    if result_path is None:
        return keys
    if result_path == "$":
        return _as_keys(result)
    segments = _segments(result_path[1:])
    if keys is None or not segments or "".join(f".{s}" for s in segments) != result_path[1:]:
        return None
    placed = dict(keys)
    placed[segments[0]] = result if len(segments) == 1 else None
    return placed


def _edges(state: Mapping[str, Any], keys: Any) -> Iterator[tuple[str, Any]]:
    """(next state, the keys it gets) of each transition out of a state."""
    kind = state.get("Type")
    if kind in ("Choice", "Wait"):
        out = keys
    else:
        passes_input = kind == "Pass" and not {"Parameters", "Result"} & set(state)
        result = keys if passes_input else _result_shape(state)
        out = _place(keys, state.get("ResultPath", "$"), result)
    if state.get("OutputPath", "$") != "$":
        out = {} if state.get("OutputPath", "$") is None else None
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    for target in targets:
        if target:
            yield target, out
    for catcher in state.get("Catch", []):
        yield catcher.get("Next", ""), _place(keys, catcher.get("ResultPath", "$"), ERROR_OUTPUT)


def _meet(known: Any, arriving: Any) -> Any:
    """What a state's input surely has, over the transitions into it."""
    if known is UNREACHED:
        return arriving
    if known is None or arriving is None:
        return None
    return {k: _meet_member(v, arriving[k]) for k, v in known.items() if k in arriving}


def _meet_member(known: Any, arriving: Any) -> Any:
    """A member every transition brings: the keys all of them put in it (when they are keys),
    else its shape where they agree on it (None: unknown)."""
    if isinstance(known, dict) and isinstance(arriving, dict):
        return _meet(known, arriving)
    return known if known == arriving else None


def _flow(machine: Mapping[str, Any], start: Any) -> dict[str, Any]:
    """Each state's input keys (key -> shape; None: unknown input; UNREACHED)."""
    states = machine.get("States", {})
    keys: dict[str, Any] = dict.fromkeys(states, UNREACHED)
    keys[machine["StartAt"]] = start
    work = [machine["StartAt"]]
    while work:
        name = work.pop()
        for target, arriving in _edges(states[name], keys[name]):
            if target not in keys:
                continue
            met = _meet(keys[target], arriving)
            if keys[target] is UNREACHED or met != keys[target]:
                keys[target] = met
                work.append(target)
    return keys


def check_paths(definition: Mapping[str, Any], input_keys: Iterable[str] = ()) -> Iterator[Finding]:
    """``$$.`` paths name context fields; ``$.`` paths read what earlier states produced (or
    ``input_keys``, the execution input's), or the task result's members in a ResultSelector."""
    yield from _check_machine(definition, "", dict.fromkeys(input_keys))


def _check_machine(machine: Mapping[str, Any], prefix: str, start: Any) -> Iterator[Finding]:
    keys_in = _flow(machine, start)
    for name, state in machine.get("States", {}).items():
        qualified, keys = f"{prefix}{name}", keys_in[name]
        if keys is UNREACHED:
            continue
        effective = keys
        if "InputPath" in state and state["InputPath"] != "$":
            effective = {} if state["InputPath"] is None else None
        for payload_field, payload in _payloads(state):
            in_map = state.get("Type") == "Map" and payload_field in ("ItemSelector", "Parameters")
            if payload_field == "ResultSelector":
                reads, source = _result_shape(state, selected=False), "the task's result"
            else:
                reads, source = effective, "the state's input"
            for field, key, value in _entries(payload, payload_field):
                if not (key.endswith(".$") and isinstance(value, str)):
                    continue
                for path in _paths_in(value):
                    if path.startswith("$$"):
                        problem = _context_problem(path, in_map)
                    else:
                        problem = _input_problem(path, reads, source)
                    if problem:
                        yield Finding(JSONPATH, qualified, field, problem)
        for path_field in ("InputPath", "ItemsPath", "OutputPath"):
            path = state.get(path_field)
            if isinstance(path, str) and path.startswith("$$"):
                problem = _context_problem(path, in_map=False)
                if problem:
                    yield Finding(JSONPATH, qualified, path_field, problem)
        yield from _nested(state, qualified, effective)


def _nested(state: Mapping[str, Any], name: str, effective: Any) -> Iterator[Finding]:
    processor = state.get("ItemProcessor") or state.get("Iterator")
    if isinstance(processor, dict):
        selector = state.get("ItemSelector", state.get("Parameters"))
        items = {_bare(key): None for key in selector} if isinstance(selector, dict) else None
        yield from _check_machine(processor, f"{name}/", items)
    for index, branch in enumerate(state.get("Branches", [])):
        yield from _check_machine(branch, f"{name}/{index}/", effective)


# All rules


def check(definition: Mapping[str, Any], input_keys: Iterable[str] = ()) -> list[Finding]:
    """Every rule's findings on a definition (``input_keys``: what the execution input has)."""
    return [
        *check_resources(definition),
        *check_optimized_parameters(definition),
        *check_sdk_parameters(definition),
        *check_intrinsics(definition),
        *check_paths(definition, input_keys),
    ]
