"""Who may call the API, as the stacks build it: listener mode (both presets) puts the listeners'
Cognito authoriser on every app route, server mode IAM; in both, the console's admin routes take
the operators' pool authoriser and the other admin routes IAM; every app route keeps the API key;
the functions learn the mode from their environment; prod has a WAF web ACL on the stage, dev
none; cdk-nag's findings are acknowledged only where they remain."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from infra.config import Settings
from lambdas.config import (
    ACCESS_MODE_ENV,
    DEFAULT_LISTENER_CLAIM,
    EVENT_MAX_AGE_DAYS_ENV,
    LISTENER_CLAIM_ENV,
)
from lambdas.routes import FUNCTIONS, LOADER, ROUTES
from tests.conftest import REPO_ROOT

PRESETS = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["presets"]
ATTRIBUTE = DEFAULT_LISTENER_CLAIM.removeprefix("custom:")
slow = pytest.mark.slow


def _methods(synth, stack: str = "api") -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> the method's properties, paths rebuilt from the API's resources."""
    resources = synth.resources(stack, "AWS::ApiGateway::Resource")

    def path(ref: dict[str, Any]) -> str:
        if "Fn::GetAtt" in ref:  # the API's root resource
            return ""
        resource = resources[ref["Ref"]]["Properties"]
        return f"{path(resource['ParentId'])}/{resource['PathPart']}"

    return {
        (m["Properties"]["HttpMethod"], path(m["Properties"]["ResourceId"])): m["Properties"]
        for m in synth.resources(stack, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def _acknowledged(synth, rule: str) -> list[str]:
    """Paths of the constructs on which the cdk-nag finding ``rule`` is acknowledged."""
    import aws_cdk as cdk

    return [
        node.node.path
        for node in synth.app.node.find_all()
        for entry in node.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for acknowledged in entry.data
        if acknowledged.removeprefix("Annotation::") == rule
    ]


def _pools(synth, stack: str = "api") -> dict[str, str]:
    """User pool name ("musicrec-dev-listeners") -> logical id."""
    return {
        p["Properties"]["UserPoolName"]: logical
        for logical, p in synth.resources(stack, "AWS::Cognito::UserPool").items()
    }


def _authorizers(synth, stack: str = "api") -> dict[str, tuple[str, dict[str, Any]]]:
    """Authoriser name -> (logical id, properties)."""
    return {
        a["Properties"]["Name"]: (logical, a["Properties"])
        for logical, a in synth.resources(stack, "AWS::ApiGateway::Authorizer").items()
    }


def _assert_admin_method(route, method: dict[str, Any], operators_id: str) -> None:
    """A console route takes the operators' pool token, the catalogue route IAM; neither a key."""
    assert not method.get("ApiKeyRequired"), route
    if route.operator_auth == "token":
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert method["AuthorizerId"] == {"Ref": operators_id}, route
        assert "AuthorizationScopes" not in method, route  # so the ID token, not access
    else:
        assert method["AuthorizationType"] == "AWS_IAM", route
        assert "AuthorizerId" not in method, route


def _api_functions(synth) -> dict[str, dict[str, str]]:
    """Function name -> environment, of every function of the API stack."""
    return {
        f["Properties"]["FunctionName"]: f["Properties"]["Environment"]["Variables"]
        for f in synth.resources("api", "AWS::Lambda::Function").values()
    }


# Settings


def _settings(**changes: Any) -> Settings:
    return dataclasses.replace(Settings(env="dev", **PRESETS["dev"]), **changes)


def test_both_presets_default_to_listener_access_and_only_prod_has_the_waf():
    assert {env: Settings(env=env, **p).api_access for env, p in PRESETS.items()} == {
        "dev": "listener",
        "prod": "listener",
    }
    assert {env: p["waf"] for env, p in PRESETS.items()} == {"dev": False, "prod": True}
    assert all(p["event_max_age_days"] == 30 for p in PRESETS.values())


@pytest.mark.parametrize("mode", ["apikey", "Listener", ""])
def test_an_unknown_access_mode_is_refused(mode):
    with pytest.raises(ValueError, match="api_access="):
        _settings(api_access=mode)


@pytest.mark.parametrize("limit", [0, 9, 2_000_000_001])
def test_a_rate_limit_waf_does_not_take_is_refused(limit):
    with pytest.raises(ValueError, match="waf_rate_limit="):
        _settings(waf_rate_limit=limit)


def test_events_must_be_allowed_to_be_a_day_old_at_least():
    with pytest.raises(ValueError, match="event_max_age_days=0"):
        _settings(event_max_age_days=0)


# Listener mode: both presets


@slow
@pytest.mark.parametrize("preset", ["dev", "prod"])
def test_every_app_route_takes_a_listeners_token_and_the_key_and_admin_routes_an_operators(
    preset, request
):
    synth = request.getfixturevalue(preset)
    prefix = f"musicrec-{preset}"
    pools, authorizers = _pools(synth), _authorizers(synth)
    assert set(pools) == {f"{prefix}-listeners", f"{prefix}-operators"}
    assert set(authorizers) == set(pools)
    for name, (_, authorizer) in authorizers.items():
        assert authorizer["Type"] == "COGNITO_USER_POOLS"
        assert authorizer["IdentitySource"] == "method.request.header.Authorization"
        assert authorizer["ProviderARNs"] == [{"Fn::GetAtt": [pools[name], "Arn"]}]
    authorizer_id = authorizers[f"{prefix}-listeners"][0]
    operators_id = authorizers[f"{prefix}-operators"][0]
    methods = _methods(synth)
    assert len(methods) == len(ROUTES)
    assert {r.operator_auth for r in ROUTES if r.admin} == {"iam", "token"}
    for route in ROUTES:
        method = methods[(route.method, route.path)]
        if route.admin:
            _assert_admin_method(route, method, operators_id)
        else:
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
            assert method["ApiKeyRequired"] is True, route
            assert "AuthorizationScopes" not in method, route  # so the ID token, not access
    synth.templates["api"].resource_count_is("AWS::ApiGateway::UsagePlan", 1)


@slow
@pytest.mark.parametrize("preset", ["dev", "prod"])
def test_only_the_backend_creates_listeners_and_no_client_can_write_their_listener_id(
    preset, request
):
    synth = request.getfixturevalue(preset)
    pool = synth.resources("api", "AWS::Cognito::UserPool")[
        _pools(synth)[f"musicrec-{preset}-listeners"]
    ]
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    (attribute,) = [a for a in props["Schema"] if a["Name"] == ATTRIBUTE]
    assert attribute["AttributeDataType"] == "String"
    assert attribute["Mutable"] is False
    password = props["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    classes = ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    assert all(password[k] is True for k in classes)
    assert props["MfaConfiguration"] in ("OPTIONAL", "ON")
    assert (pool["DeletionPolicy"] == "Retain") == (preset == "prod")
    prefix = f"musicrec-{preset}"
    pool_id = _pools(synth)[f"{prefix}-listeners"]
    client_resources = {
        k: c
        for k, c in synth.resources("api", "AWS::Cognito::UserPoolClient").items()
        if c["Properties"]["UserPoolId"] == {"Ref": pool_id}
    }
    clients = {c["Properties"]["ClientName"]: c["Properties"] for c in client_resources.values()}
    assert set(clients) == {f"{prefix}-app", f"{prefix}-ops"}
    for client in clients.values():
        assert client["GenerateSecret"] is False
        assert client["AllowedOAuthFlowsUserPoolClient"] is False
        assert DEFAULT_LISTENER_CLAIM in client["ReadAttributes"]  # it reaches the ID token
        # a list Cognito honours (an empty one counts as none given), without the listener id
        assert client["WriteAttributes"]
        assert not [a for a in client["WriteAttributes"] if a.startswith("custom:")]
    app = clients[f"{prefix}-app"]
    assert set(app["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    ops = clients[f"{prefix}-ops"]
    assert set(ops["ExplicitAuthFlows"]) == {
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    outputs = synth.json["api"]["Outputs"]
    ids = {c["Properties"]["ClientName"]: k for k, c in client_resources.items()}
    assert outputs["ListenerPoolId"]["Value"] == {"Ref": pool_id}
    assert outputs["ListenerAppClientId"]["Value"] == {"Ref": ids[f"{prefix}-app"]}
    assert outputs["ListenerOpsClientId"]["Value"] == {"Ref": ids[f"{prefix}-ops"]}


@slow
@pytest.mark.parametrize("preset", ["dev", "prod"])
def test_every_api_function_knows_the_access_mode_its_claim_and_the_events_age(preset, request):
    synth = request.getfixturevalue(preset)
    functions = _api_functions(synth)
    for fn in FUNCTIONS:
        env = functions[f"musicrec-{preset}-{fn.name}"]
        assert env[ACCESS_MODE_ENV] == "listener", fn.name
        assert env[LISTENER_CLAIM_ENV] == DEFAULT_LISTENER_CLAIM == f"custom:{ATTRIBUTE}"
        assert env[EVENT_MAX_AGE_DAYS_ENV] == str(PRESETS[preset]["event_max_age_days"])
    pipeline = synth.resources("pipeline", "AWS::Lambda::Function").values()
    by_name = {f["Properties"].get("FunctionName"): f["Properties"] for f in pipeline}
    loader = by_name[f"musicrec-{preset}-{LOADER.name}"]
    assert ACCESS_MODE_ENV not in loader["Environment"]["Variables"]  # not an API function


@slow
def test_cognito_findings_are_acknowledged_only_where_they_remain(prod, dev, server_mode):
    for synth in (prod, dev):
        # the authorisers satisfy COG4 on every app route and the console's: acknowledged on the
        # IAM admin route only
        (admin,) = [r for r in ROUTES if r.admin and r.operator_auth == "iam"]
        paths = [p.split("/Api/Default")[1] for p in _acknowledged(synth, "AwsSolutions-COG4")]
        assert paths == [f"{admin.path}/{admin.method}"]
        assert _acknowledged(synth, "AwsSolutions-APIG4") == []  # every method is authorised
    (server_api,) = _acknowledged(server_mode, "AwsSolutions-COG4")
    assert server_api.endswith("-Api/Api")
    assert _acknowledged(prod, "AwsSolutions-APIG3") == []  # the WAF satisfies it
    assert [p.rsplit("/", 1)[1] for p in _acknowledged(dev, "AwsSolutions-APIG3")] == ["Api"]


# Server mode


@slow
def test_in_server_mode_app_routes_are_iam_with_the_key_and_only_the_operators_pool_is_left(
    server_mode,
):
    authorizers = _authorizers(server_mode)
    assert set(_pools(server_mode)) == set(authorizers) == {"musicrec-dev-operators"}
    (operators_id, _) = authorizers["musicrec-dev-operators"]
    methods = _methods(server_mode)
    assert len(methods) == len(ROUTES)
    for route in ROUTES:
        method = methods[(route.method, route.path)]
        if route.admin:
            _assert_admin_method(route, method, operators_id)
        else:
            assert method["AuthorizationType"] == "AWS_IAM", route
            assert "AuthorizerId" not in method, route
            assert method["ApiKeyRequired"] is True, route
    clients = server_mode.resources("api", "AWS::Cognito::UserPoolClient").values()
    assert [c["Properties"]["ClientName"] for c in clients] == ["musicrec-dev-console"]
    assert not [k for k in server_mode.json["api"].get("Outputs", {}) if k.startswith("Listener")]
    functions = _api_functions(server_mode)
    assert {functions[f"musicrec-dev-{fn.name}"][ACCESS_MODE_ENV] for fn in FUNCTIONS} == {"server"}


# The WAF


def _rules(synth) -> dict[str, dict[str, Any]]:
    (acl,) = synth.resources("api", "AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


@slow
def test_prod_has_a_regional_web_acl_on_the_stage_with_the_managed_groups_and_a_rate_rule(prod):
    ((acl_id, acl),) = prod.resources("api", "AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    rules = _rules(prod)
    groups = {
        name: rule["Statement"]["ManagedRuleGroupStatement"]
        for name, rule in rules.items()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(groups) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    for name, group in groups.items():
        assert group["VendorName"] == "AWS"
        assert group["Name"] == name
        assert rules[name]["OverrideAction"] == {"None": {}}  # the groups' own actions
    # only the body-size rule is counted instead of blocked (event batches up to 256 KB)
    assert groups["AWSManagedRulesCommonRuleSet"]["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]
    assert "RuleActionOverrides" not in groups["AWSManagedRulesKnownBadInputsRuleSet"]
    (rate,) = [r for r in rules.values() if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": PRESETS["prod"]["waf_rate_limit"],
        "EvaluationWindowSec": 300,
    }
    assert rate["Action"] == {"Block": {}}
    assert len({r["Priority"] for r in rules.values()}) == len(rules)
    for visibility in [props["VisibilityConfig"], *(r["VisibilityConfig"] for r in rules.values())]:
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["SampledRequestsEnabled"] is True
    (association,) = prod.resources("api", "AWS::WAFv2::WebACLAssociation").values()
    (stage_id,) = prod.resources("api", "AWS::ApiGateway::Stage")
    (api_id,) = prod.resources("api", "AWS::ApiGateway::RestApi")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = json.dumps(association["Properties"]["ResourceArn"])
    assert ":apigateway:" in arn
    assert arn.index(json.dumps({"Ref": api_id})) < arn.index(json.dumps({"Ref": stage_id}))


@slow
def test_prods_waf_logs_what_it_blocks_without_tokens_or_keys(prod):
    (logging,) = prod.resources("api", "AWS::WAFv2::LoggingConfiguration").values()
    props = logging["Properties"]
    (acl_id,) = prod.resources("api", "AWS::WAFv2::WebACL")
    assert props["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (destination,) = props["LogDestinationConfigs"]
    groups = prod.resources("api", "AWS::Logs::LogGroup")
    names = {k: g["Properties"].get("LogGroupName", "") for k, g in groups.items()}
    (waf_group,) = [k for k, name in names.items() if name.startswith("aws-waf-logs-")]
    joined = destination["Fn::Join"][1]
    assert joined[-2:] == [":log-group:", {"Ref": waf_group}]  # no ":*" suffix
    redacted = {f["SingleHeader"]["Name"] for f in props["RedactedFields"]}
    assert redacted == {"authorization", "x-api-key"}


@slow
def test_dev_has_no_waf(dev, server_mode):
    for synth in (dev, server_mode):
        kinds = {r["Type"] for r in synth.json["api"]["Resources"].values()}
        assert not [kind for kind in kinds if kind.startswith("AWS::WAFv2::")]
