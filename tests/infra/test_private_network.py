"""prod's private network (the ``vpc`` setting) and the API functions' SnapStart (``snapstart``):
the VPC without NAT, its endpoints, the model, jobs and functions inside it; versions and aliases
behind the API. dev has neither."""

from __future__ import annotations

import json

import pytest

from infra.config import Settings
from infra.contracts.sfn import state_machine_definitions
from infra.functions import ALIAS
from infra.network_stack import SAGEMAKER_VPC_ACTIONS
from lambdas.routes import BANDIT_REFRESH, FUNCTIONS, LOADER

pytestmark = pytest.mark.slow

NO_ROUTE_OUT = ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP")


def _all(synth, kind: str) -> dict[str, dict]:
    return {
        f"{stack}/{k}": v for stack in synth.json for k, v in synth.resources(stack, kind).items()
    }


def _our_functions(synth, env: str) -> dict[str, dict]:
    """Our functions (the route table's, the loader, the scheduled one) by name, not CDK's own
    handlers."""
    names = {f"musicrec-{env}-{fn.name}": fn.name for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH)}
    return {
        names[props["FunctionName"]]: props
        for res in _all(synth, "AWS::Lambda::Function").values()
        if (props := res["Properties"]).get("FunctionName") in names
    }


def _states(synth) -> dict[str, dict]:
    (definition,) = state_machine_definitions(synth.json["pipeline"]).values()
    return definition["States"]


def _by_resource(states: dict[str, dict], resource: str) -> list[dict]:
    return [s for s in states.values() if s.get("Resource", "").endswith(resource)]


def test_prod_has_a_vpc_of_isolated_subnets_in_two_zones_and_no_route_out(prod):
    assert "network" in prod.json
    assert len(prod.resources("network", "AWS::EC2::VPC")) == 1
    subnets = prod.resources("network", "AWS::EC2::Subnet")
    assert len(subnets) == 2
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(zones) == 2
    assert not any(s["Properties"].get("MapPublicIpOnLaunch") for s in subnets.values())
    for kind in NO_ROUTE_OUT:
        assert not _all(prod, kind), kind
    routes = prod.resources("network", "AWS::EC2::Route")
    assert not routes  # the route tables hold only the local route and the gateway endpoints'
    assert prod.resources("network", "AWS::EC2::FlowLog")


def _service(endpoint: dict) -> str:
    return json.dumps(endpoint["Properties"]["ServiceName"])


def test_prod_reaches_dynamodb_s3_and_the_sagemaker_runtime_through_endpoints(prod):
    endpoints = prod.resources("network", "AWS::EC2::VPCEndpoint").values()
    gateways = {_service(e) for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway"}
    assert len(gateways) == 2
    assert any(".s3" in g for g in gateways)
    assert any(".dynamodb" in g for g in gateways)
    interfaces = [e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Interface"]
    # each one is billed per AZ-hour (docs/deploy.md): the SageMaker runtime for onboarding, and
    # what the console's function reads (metrics, the schedule, the endpoint's description)
    services = sorted(e["Properties"]["ServiceName"]["Fn::Join"][1][-1] for e in interfaces)
    assert services == [".monitoring", ".sagemaker.api", ".sagemaker.runtime", ".scheduler"]
    for endpoint in interfaces:
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True  # boto3's default hostname
        assert len(endpoint["Properties"]["SubnetIds"]) == 2


def test_prod_model_is_isolated_in_the_private_subnets(prod):
    (model,) = prod.resources("model", "AWS::SageMaker::Model").values()
    props = model["Properties"]
    assert props["EnableNetworkIsolation"] is True
    assert len(props["VpcConfig"]["Subnets"]) == 2
    assert len(props["VpcConfig"]["SecurityGroupIds"]) == 1
    assert "MusicRec-prod-Network" in json.dumps(props["VpcConfig"])


def test_prod_jobs_and_models_of_the_pipeline_are_in_the_private_subnets(prod):
    states = _states(prod)
    (training,) = _by_resource(states, "createTrainingJob.sync")
    (create_model,) = _by_resource(states, ":createModel")
    processing = _by_resource(states, "createProcessingJob.sync")
    # batch scoring (with the batch gate's active version, and without: the first run) and the
    # merge (four instances in prod)
    assert len(processing) == 3
    for state in (training, create_model):
        params = state["Parameters"]
        assert params["EnableNetworkIsolation"] is True
        assert len(params["VpcConfig"]["Subnets"]) == 2
        assert len(params["VpcConfig"]["SecurityGroupIds"]) == 1
    for state in processing:
        network = state["Parameters"]["NetworkConfig"]
        assert network["EnableNetworkIsolation"] is True
        assert len(network["VpcConfig"]["Subnets"]) == 2


def test_prod_sagemaker_role_may_create_the_network_interfaces(prod):
    statements = [
        s
        for policy in prod.resources("model", "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert set(SAGEMAKER_VPC_ACTIONS) <= actions


def test_prod_functions_are_in_the_vpc(prod):
    functions = _our_functions(prod, "prod")
    assert set(functions) == {fn.name for fn in (*FUNCTIONS, LOADER, BANDIT_REFRESH)}
    roles = {
        **prod.resources("api", "AWS::IAM::Role"),
        **prod.resources("pipeline", "AWS::IAM::Role"),
    }
    for name, props in functions.items():
        assert len(props["VpcConfig"]["SubnetIds"]) == 2, name
        assert len(props["VpcConfig"]["SecurityGroupIds"]) == 1, name
        role = roles[props["Role"]["Fn::GetAtt"][0]]
        assert "AWSLambdaVPCAccessExecutionRole" in json.dumps(
            role["Properties"]["ManagedPolicyArns"]
        )


def test_dev_has_no_network(dev):
    assert "network" not in dev.json
    for kind in ("AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::EC2::Subnet", *NO_ROUTE_OUT):
        assert not _all(dev, kind), kind
    for name, props in _our_functions(dev, "dev").items():
        assert "VpcConfig" not in props, name
    (model,) = dev.resources("model", "AWS::SageMaker::Model").values()
    assert "VpcConfig" not in model["Properties"]
    text = json.dumps(_states(dev))
    assert "VpcConfig" not in text
    assert "NetworkConfig" not in text


def test_a_vpc_needs_an_endpoint_on_instances():
    from tests.conftest import REPO_ROOT

    presets = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["presets"]
    with pytest.raises(ValueError, match="serverless"):
        Settings(env="dev", **{**presets["dev"], "vpc": True})


# SnapStart


def _api_function_ids(synth) -> dict[str, str]:
    """Route-table function name -> logical id of its function in the API stack."""
    return {
        props["FunctionName"].removeprefix("musicrec-prod-").removeprefix("musicrec-dev-"): logical
        for logical, res in synth.resources("api", "AWS::Lambda::Function").items()
        if (props := res["Properties"]).get("FunctionName", "").startswith("musicrec-")
    }


EVENTS = "events.amazonaws.com"


def test_prod_api_functions_use_snapstart_through_an_alias(prod):
    ids = _api_function_ids(prod)
    assert set(ids) == {fn.name for fn in FUNCTIONS} | {BANDIT_REFRESH.name}
    functions = prod.resources("api", "AWS::Lambda::Function")
    scheduled = ids.pop(BANDIT_REFRESH.name)  # EventBridge invokes it, warm every minute
    assert "SnapStart" not in functions[scheduled]["Properties"]
    versions = prod.resources("api", "AWS::Lambda::Version")
    aliases = prod.resources("api", "AWS::Lambda::Alias")
    methods = prod.resources("api", "AWS::ApiGateway::Method")
    for name, logical in ids.items():
        assert functions[logical]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        (version,) = [
            k for k, v in versions.items() if v["Properties"]["FunctionName"] == {"Ref": logical}
        ]
        (alias,) = [
            k for k, v in aliases.items() if v["Properties"]["FunctionName"] == {"Ref": logical}
        ]
        props = aliases[alias]["Properties"]
        assert props["Name"] == ALIAS
        assert props["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
        # every method of this function invokes the alias, never the unqualified function
        uris = [json.dumps(m["Properties"]["Integration"]["Uri"]) for m in methods.values()]
        assert any(json.dumps({"Ref": alias}) in uri for uri in uris), name
        assert not any(json.dumps({"Fn::GetAtt": [logical, "Arn"]}) in uri for uri in uris), name
    permissions = [
        p["Properties"] for p in prod.resources("api", "AWS::Lambda::Permission").values()
    ]
    assert all("Ref" in p["FunctionName"] for p in permissions if p["Principal"] != EVENTS)
    (schedule,) = [p for p in permissions if p["Principal"] == EVENTS]
    assert schedule["FunctionName"] == {"Fn::GetAtt": [scheduled, "Arn"]}
    (loader,) = [v for v in prod.resources("pipeline", "AWS::Lambda::Function").values()
                 if v["Properties"].get("FunctionName") == "musicrec-prod-loader"]  # fmt: skip
    assert "SnapStart" not in loader["Properties"]  # Step Functions invokes it, not the API


def test_dev_api_functions_have_no_snapstart(dev):
    for kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
        assert not dev.resources("api", kind), kind
    for res in dev.resources("api", "AWS::Lambda::Function").values():
        assert "SnapStart" not in res["Properties"]
