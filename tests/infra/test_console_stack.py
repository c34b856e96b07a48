"""The console in AWS, as the stacks build it: the operators' user pool and the console's client
(API stack, every access mode); the console's private bucket with its files and a generated
config.json, the CloudFront distribution in front of it (Origin Access Control, HTTPS only,
security headers, access logs) and of the admin routes (the API's stage, uncached); the admin
function's environment and its least-privilege reads; the stacks' order (no cycle)."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from typing import Any

import pytest

from infra.config import from_context
from infra.console_stack import ROUTER, content_security_policy
from lambdas.config import AdminSettings
from lambdas.routes import ADMIN_PREFIX, ROUTES
from tests.iam.needs import App
from tests.iam.policies import ACCOUNT, REGION, Request, Templates, evaluate

slow = pytest.mark.slow
SYNTHS = ["dev", "prod", "server_mode"]
COGNITO = f"https://cognito-idp.{REGION}.amazonaws.com"
# CloudFront's managed policies (their ids are the same in every account).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SAGEMAKER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"


def _env(synth) -> str:
    return from_context(synth.app).env


def _one(synth, stack: str, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical, resource),) = synth.resources(stack, kind).items()
    return logical, resource["Properties"]


def _operator_pool(synth) -> tuple[str, dict[str, Any]]:
    pools = synth.resources("api", "AWS::Cognito::UserPool").items()
    ((logical, pool),) = [(k, p) for k, p in pools if p["Properties"]["UserPoolName"].endswith(
        "-operators")]  # fmt: skip
    return logical, pool


def _distribution(synth) -> dict[str, Any]:
    return _one(synth, "console", "AWS::CloudFront::Distribution")[1]["DistributionConfig"]


# The operators' user pool (API stack)


@slow
@pytest.mark.parametrize("synth_name", SYNTHS)
def test_operators_have_their_own_pool_created_by_an_administrator_with_strong_passwords(
    synth_name, request
):
    synth = request.getfixturevalue(synth_name)
    env = _env(synth)
    logical, pool = _operator_pool(synth)
    props = pool["Properties"]
    assert props["UserPoolName"] == f"musicrec-{env}-operators"
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    password = props["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 14
    classes = ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    assert all(password[k] is True for k in classes)
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]  # TOTP, no SMS
    assert props["UserPoolTier"] == "PLUS"  # threat protection, per operator
    assert props["UserPoolAddOns"] == {"AdvancedSecurityMode": "AUDIT"}
    assert (pool["DeletionPolicy"] == "Retain") == (env == "prod")
    outputs = synth.json["api"]["Outputs"]
    assert outputs["OperatorPoolId"]["Value"] == {"Ref": logical}


@slow
@pytest.mark.parametrize("synth_name", SYNTHS)
def test_the_console_client_signs_in_with_a_password_without_a_secret_and_short_tokens(
    synth_name, request
):
    synth = request.getfixturevalue(synth_name)
    env = _env(synth)
    pool, _ = _operator_pool(synth)
    clients = synth.resources("api", "AWS::Cognito::UserPoolClient").items()
    ((logical, client),) = [(k, c) for k, c in clients if c["Properties"]["UserPoolId"] == {
        "Ref": pool}]  # fmt: skip
    props = client["Properties"]
    assert props["ClientName"] == f"musicrec-{env}-console"
    assert set(props["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlowsUserPoolClient"] is False
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    units = props["TokenValidityUnits"]
    assert (props["IdTokenValidity"], units["IdToken"]) == (60, "minutes")
    assert (props["AccessTokenValidity"], units["AccessToken"]) == (60, "minutes")
    assert (props["RefreshTokenValidity"], units["RefreshToken"]) == (480, "minutes")
    assert synth.json["api"]["Outputs"]["OperatorConsoleClientId"]["Value"] == {"Ref": logical}


# The admin function


def _admin(synth) -> tuple[App, dict[str, Any], Any]:
    """The app's resolver, the admin function's resolved environment and its role."""
    app = App(Templates(synth.json))
    functions = synth.resources("api", "AWS::Lambda::Function").values()
    (props,) = [f["Properties"] for f in functions
                if str(f["Properties"].get("FunctionName", "")).endswith("-admin")]  # fmt: skip
    env = app.templates.resolve("api", props["Environment"]["Variables"])
    return app, env, app.templates.principals[app.functions["admin"][1]]


@slow
@pytest.mark.parametrize("synth_name", SYNTHS)
def test_the_admin_functions_environment_names_what_the_other_stacks_create(synth_name, request):
    synth = request.getfixturevalue(synth_name)
    app, env, _ = _admin(synth)
    t = app.templates
    (api,) = [r["Properties"]["Name"] for r in synth.resources("api", "AWS::ApiGateway::RestApi")
              .values()]  # fmt: skip
    (stage,) = [r["Properties"]["StageName"] for r in synth.resources(
        "api", "AWS::ApiGateway::Stage").values()]  # fmt: skip
    (schedule,) = synth.resources("pipeline", "AWS::Scheduler::Schedule").values()
    (machine,) = synth.resources("pipeline", "AWS::StepFunctions::StateMachine")
    pool, _ = _operator_pool(synth)
    settings = AdminSettings.from_env(env)
    assert settings == AdminSettings(
        api_name=api,
        api_stage=stage,
        batch_bucket=app.bucket,
        runs_prefix="runs/",
        retrain_schedule=schedule["Properties"]["Name"],
        schedule_group="default",
        state_machine_arn=t.arn_of("pipeline", machine),
        operator_issuer=f"{COGNITO}/{t.ref('api', pool)}",
    )
    assert "GroupName" not in schedule["Properties"]  # the default group


@slow
@pytest.mark.parametrize("synth_name", ["dev", "prod"])
def test_the_admin_functions_role_has_exactly_its_reads(synth_name, request):
    synth = request.getfixturevalue(synth_name)
    app, _, role = _admin(synth)
    statements = [s for s in role.statements if not s.source.startswith("arn:")]  # not managed
    actions = {a for s in statements for a in s.actions if not a.startswith("dynamodb:")}
    assert actions == {
        "cloudwatch:GetMetricData",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "s3:ListBucket",  # reads_operations: runs/
        "s3:GetObject",
        "sagemaker:InvokeEndpoint",  # invokes_endpoint: the onboarding preview
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "scheduler:GetSchedule",
    }
    on_anything = {a for s in statements if "*" in s.resources for a in s.actions}
    assert on_anything == {"cloudwatch:GetMetricData", "xray:PutTelemetryRecords",
                           "xray:PutTraceSegments"}  # fmt: skip
    assert not [a for s in statements for a in s.actions if a.startswith("s3:Put")]
    prefix = app.prefix
    (schedule,) = synth.resources("pipeline", "AWS::Scheduler::Schedule").values()
    (config,) = synth.resources("model", "AWS::SageMaker::EndpointConfig")
    scheduler = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule"
    allowed = [
        Request("scheduler:GetSchedule", f"{scheduler}/default/{schedule['Properties']['Name']}"),
        Request("sagemaker:DescribeEndpoint", app.endpoint_arn(app.endpoint)),
        Request("sagemaker:DescribeEndpointConfig", f"{SAGEMAKER}:endpoint-config/{prefix}-0a1b"),
        Request("sagemaker:DescribeEndpointConfig", app.templates.arn_of("model", config)),
        Request("s3:GetObject", f"arn:aws:s3:::{app.bucket}/runs/0a1b/run.json"),
        Request("s3:ListBucket", f"arn:aws:s3:::{app.bucket}", {"s3:prefix": "runs/"}),
        Request("cloudwatch:GetMetricData", "*"),
    ]
    for req in allowed:
        assert role.allows(req), req
    other = "musicrec-prod" if prefix == "musicrec-dev" else "musicrec-dev"
    refused = [
        Request("scheduler:GetSchedule", f"{scheduler}/default/{other}-retrain"),
        Request("scheduler:UpdateSchedule", f"{scheduler}/default/{prefix}-retrain"),
        Request("sagemaker:DescribeEndpointConfig", f"{SAGEMAKER}:endpoint-config/{other}-0a1b"),
        Request("sagemaker:UpdateEndpoint", app.endpoint_arn(app.endpoint)),
        Request("s3:PutObject", f"arn:aws:s3:::{app.bucket}/runs/0a1b/run.json"),
    ]
    for req in refused:
        assert not role.allows(req), req


@slow
def test_the_runs_read_lists_and_reads_runs_only(dev):
    """``reads_operations`` reaches the run records and nothing else of the bucket."""
    app, _, role = _admin(dev)
    runs_only = role.statements
    bucket = f"arn:aws:s3:::{app.bucket}"
    assert evaluate(runs_only, Request("s3:ListBucket", bucket, {"s3:prefix": "runs/"}))
    assert not evaluate(runs_only, Request("s3:ListBucket", bucket, {"s3:prefix": "batch/"}))
    assert evaluate(runs_only, Request("s3:GetObject", f"{bucket}/runs/a/run.json"))
    assert not evaluate(runs_only, Request("s3:GetObject", f"{bucket}/batch/v1/manifest.json"))


# The console stack


@slow
@pytest.mark.parametrize("synth_name", ["dev", "prod"])
def test_the_console_bucket_is_private_tls_only_encrypted_and_logged(synth_name, request):
    synth = request.getfixturevalue(synth_name)
    buckets = synth.resources("console", "AWS::S3::Bucket")
    (site,) = [k for k in buckets if k.startswith("Site")]
    (logs,) = [k for k in buckets if k.startswith("AccessLogs")]
    for _logical, bucket in buckets.items():
        props = bucket["Properties"]
        assert "BucketName" not in props  # generated: the data bucket is the one named bucket
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(props["PublicAccessBlockConfiguration"]) == 4
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    site_props = buckets[site]["Properties"]
    assert site_props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs}
    # CloudFront delivers its standard logs under an ACL grant: the logs bucket keeps ACLs on
    ownership = buckets[logs]["Properties"]["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    policies = synth.resources("console", "AWS::S3::BucketPolicy").values()
    tls_only = [p["Properties"]["Bucket"]["Ref"] for p in policies
                if any(st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st)
                       for st in p["Properties"]["PolicyDocument"]["Statement"])]  # fmt: skip
    assert sorted(tls_only) == sorted(buckets)


@slow
def test_only_the_distribution_reads_the_bucket_through_origin_access_control(dev):
    oac, props = _one(dev, "console", "AWS::CloudFront::OriginAccessControl")
    config = props["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == "s3"
    assert (config["SigningBehavior"], config["SigningProtocol"]) == ("always", "sigv4")
    distribution = _distribution(dev)
    s3_origins = [o for o in distribution["Origins"] if "S3OriginConfig" in o]
    (origin,) = s3_origins
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac, "Id"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""  # no legacy OAI
    policies = dev.resources("console", "AWS::S3::BucketPolicy").values()
    site = origin["DomainName"]["Fn::GetAtt"][0]
    (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": site}]
    allows = [st for st in policy["Properties"]["PolicyDocument"]["Statement"]
              if st["Effect"] == "Allow" and "Service" in st["Principal"]]  # fmt: skip
    (cloudfront,) = allows
    assert cloudfront["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert cloudfront["Action"] == "s3:GetObject"
    (distribution_id,) = dev.resources("console", "AWS::CloudFront::Distribution")
    source = json.dumps(cloudfront["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert json.dumps({"Ref": distribution_id}) in source


@slow
@pytest.mark.parametrize("synth_name", ["dev", "prod"])
def test_the_distribution_serves_the_files_and_forwards_the_admin_routes_to_the_stage(
    synth_name, request
):
    synth = request.getfixturevalue(synth_name)
    config = _distribution(synth)
    origins = {o["Id"]: o for o in config["Origins"]}
    default = config["DefaultCacheBehavior"]
    assert "S3OriginConfig" in origins[default["TargetOriginId"]]
    assert default["ViewerProtocolPolicy"] == "https-only"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    (router,) = synth.resources("console", "AWS::CloudFront::Function")
    assert default["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [router, "FunctionARN"]}}
    ]
    (admin,) = config["CacheBehaviors"]
    assert admin["PathPattern"] == f"{ADMIN_PREFIX}/*"
    consoles = [r for r in ROUTES if r.admin and r.operator_auth == "token"]
    assert consoles
    assert all(fnmatch.fnmatch(r.path, admin["PathPattern"]) for r in consoles)
    assert admin["ViewerProtocolPolicy"] == "https-only"
    assert set(admin["AllowedMethods"]) == {
        "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}  # fmt: skip
    assert admin["CachePolicyId"] == CACHING_DISABLED
    # every header of the viewer's but its Host: the operator's token in Authorization
    assert admin["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    api_origin = origins[admin["TargetOriginId"]]
    assert api_origin["CustomOriginConfig"] == {
        "OriginProtocolPolicy": "https-only",
        "OriginSSLProtocols": ["TLSv1.2"],
    }
    t = Templates(synth.json)
    (api,) = synth.resources("api", "AWS::ApiGateway::RestApi")
    ((stage_id, stage),) = synth.resources("api", "AWS::ApiGateway::Stage").items()
    host = t.resolve("console", api_origin["DomainName"])
    assert host == f"{t.ref('api', api)}.execute-api.{REGION}.amazonaws.com"
    # the stage's Ref is its name, the preset's
    assert t.resolve("console", api_origin["OriginPath"]) == f"/{t.ref('api', stage_id)}"
    assert stage["Properties"]["StageName"] == from_context(synth.app).env
    assert config["HttpVersion"] == "http2and3"
    assert config["Logging"]["Prefix"] == "cloudfront/"
    logs = config["Logging"]["Bucket"]["Fn::GetAtt"][0]
    assert logs.startswith("AccessLogs")
    assert logs in synth.resources("console", "AWS::S3::Bucket")
    (policy,) = synth.resources("console", "AWS::CloudFront::ResponseHeadersPolicy")
    for behavior in (default, admin):
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy}
    url = t.resolve("console", synth.json["console"]["Outputs"]["ConsoleUrl"]["Value"])
    (distribution_id,) = synth.resources("console", "AWS::CloudFront::Distribution")
    assert url == f"https://<AWS::CloudFront::Distribution {distribution_id}.DomainName>/console/"


@slow
def test_every_answer_carries_the_security_headers(dev):
    _, props = _one(dev, "console", "AWS::CloudFront::ResponseHeadersPolicy")
    headers = props["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = Templates(dev.json).resolve("console", headers["ContentSecurityPolicy"])
    assert csp == {"ContentSecurityPolicy": content_security_policy(COGNITO), "Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    hsts = headers["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31_536_000
    assert hsts["Override"] is True


def test_the_csp_allows_only_this_origin_and_cognito():
    directives = dict(
        ([*d.split(" ", 1), ""])[:2] for d in content_security_policy(COGNITO).split("; ")
    )
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == f"'self' {COGNITO}"
    for name in ("script-src", "style-src", "img-src"):
        assert directives[name] == "'self'", name
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in content_security_policy(COGNITO)


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs CloudFront's function code")
def test_the_router_redirects_to_the_console_and_serves_its_index():
    """The CloudFront Function's code, run by node as CloudFront runs it (a ``handler``)."""
    script = (
        "const vm = require('vm'); const fs = require('fs'); const ctx = {};"
        "vm.createContext(ctx); vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), ctx);"
        "const uris = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify(uris.map(u => ctx.handler({request: {uri: u, headers: {}}}))));"
    )
    uris = ["/", "/console", "/console/", "/console/app.js", "/console/config.json", "/v1/x"]
    result = subprocess.run(["node", "-e", script, str(ROUTER), json.dumps(uris)],
                            capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    answers = dict(zip(uris, json.loads(result.stdout), strict=True))
    for uri in ("/", "/console"):
        assert answers[uri]["statusCode"] == 302, uri
        assert answers[uri]["headers"] == {"location": {"value": "/console/"}}, uri
    assert answers["/console/"] == {"uri": "/console/index.html", "headers": {}}
    for uri in ("/console/app.js", "/console/config.json", "/v1/x"):
        assert answers[uri] == {"uri": uri, "headers": {}}, uri


@slow
@pytest.mark.parametrize("synth_name", ["dev", "prod"])
def test_the_files_and_config_json_are_deployed_under_console(synth_name, request):
    synth = request.getfixturevalue(synth_name)
    env = _env(synth)
    (deployment,) = synth.resources("console", "Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    (site,) = [k for k in synth.resources("console", "AWS::S3::Bucket") if k.startswith("Site")]
    assert props["DestinationBucketName"] == {"Ref": site}
    assert props["DestinationBucketKeyPrefix"] == "console/"
    assert props["Prune"] is True
    assert props["SystemMetadata"] == {"cache-control": "no-cache"}
    files, config = [synth.outdir / f"asset.{key.removesuffix('.zip')}"
                     for key in props["SourceObjectKeys"]]  # fmt: skip
    assert (files / "index.html").is_file()
    assert not (files / "config.json").exists()  # the generated one only
    t = Templates(synth.json)
    text = (config / "config.json").read_text()
    for marker, value in props["SourceMarkers"][1].items():
        text = text.replace(marker, str(t.resolve("console", value)))
    pool, _ = _operator_pool(synth)
    clients = synth.resources("api", "AWS::Cognito::UserPoolClient").items()
    (client,) = [k for k, c in clients if c["Properties"]["UserPoolId"] == {"Ref": pool}]
    assert json.loads(text) == {
        "region": REGION,
        "stage": env,
        "cognito": {
            "endpoint": f"{COGNITO}/",
            "userPoolId": t.ref("api", pool),
            "clientId": t.ref("api", client),
        },
    }


# Stacks


@slow
@pytest.mark.parametrize("synth_name", ["dev", "prod"])
def test_the_console_comes_after_the_api_and_the_api_needs_no_pipeline(synth_name, request):
    synth = request.getfixturevalue(synth_name)
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    stacks = {k: a for k, a in manifest["artifacts"].items()
              if a["type"] == "aws:cloudformation:stack"}  # fmt: skip

    def needs(stack: str) -> set[str]:
        (name,) = [k for k in stacks if k.endswith(f"-{stack}")]
        return {d.rsplit("-", 1)[1] for d in stacks[name].get("dependencies", [])
                if not d.endswith(".assets")}  # fmt: skip

    assert needs("Console") == {"Api"}
    assert needs("Api") <= {"Data", "Model", "Network"}  # names, not references, to the rest
    assert not [s for s in stacks if "Console" in needs(s.rsplit("-", 1)[1])]
