"""The CDK app: ``npx cdk synth`` / ``npx cdk deploy --all`` (``-c env=dev|prod``).

Stacks: data (bucket, tables), model (image, SageMaker endpoint), API (functions, REST API, the
listeners' and operators' user pools), pipeline (schedule, state machine, loader), monitoring
(dashboard, alarms) and console (the operators' page on S3 behind CloudFront), checked by
cdk-nag's AwsSolutions rules.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.api_stack import ApiStack
from infra.config import from_context
from infra.console_stack import ConsoleStack
from infra.data_stack import DataStack
from infra.model_stack import ModelStack
from infra.monitoring_stack import MonitoringStack
from infra.network_stack import NetworkStack
from infra.pipeline_stack import PipelineStack


def build(app: cdk.App) -> dict[str, cdk.Stack]:
    """Every stack of the app, wired together, with cdk-nag added."""
    settings = from_context(app)
    prefix = f"MusicRec-{settings.env}"
    data = DataStack(app, f"{prefix}-Data", settings)
    # prod's private network (the vpc setting): a stack of its own, absent in dev
    network = NetworkStack(app, f"{prefix}-Network", settings) if settings.vpc else None
    model = ModelStack(app, f"{prefix}-Model", settings, network)
    model.add_stack_dependency(data, "the endpoint reads its first model from the data bucket")
    api = ApiStack(
        app,
        f"{prefix}-Api",
        settings,
        data.tables,
        model.endpoint_arn,
        model.endpoint_config.ref,  # the console may describe the endpoint's first configuration
        network,
    )
    pipeline = PipelineStack(
        app,
        f"{prefix}-Pipeline",
        settings,
        data.tables,
        model.image.image_uri,
        model.role,
        model.endpoint_arn,
        [model.errors_alarm.alarm_name, model.latency_alarm.alarm_name],
        network,
    )
    monitoring = MonitoringStack(
        app,
        f"{prefix}-Monitoring",
        settings,
        api.api.rest_api_name,
        [
            fn.function_name
            for fn in [*api.functions.values(), *api.scheduled.values(), pipeline.loader]
        ],
        [t.table_name for t in data.tables.values()],
        pipeline.state_machine.state_machine_arn,
        pipeline.failures,
        [model.errors_alarm, model.latency_alarm],
    )
    console = ConsoleStack(app, f"{prefix}-Console", settings, api.api, api.operators)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stacks: dict[str, cdk.Stack] = {"network": network} if network is not None else {}
    return {
        **stacks,
        "data": data,
        "model": model,
        "api": api,
        "pipeline": pipeline,
        "monitoring": monitoring,
        "console": console,
    }


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
