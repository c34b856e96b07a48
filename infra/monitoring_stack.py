"""Monitoring: one CloudWatch dashboard for the API, the functions, the model endpoint, the
tables, the pipeline and the product KPIs (fallback rate, CTR per variant), and the alarms."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import Settings
from lambdas.config import DEFAULT_EXPERIMENTS
from lambdas.logic.experiments import load as load_experiments

MINUTE = Duration.minutes(1)


class MonitoringStack(Stack):
    """Dashboard and alarms; alarms notify the pipeline's failure topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: Settings,
        api_name: str,
        function_names: list[str],
        table_names: list[str],
        state_machine_arn: str,
        topic: sns.ITopic,
        rollback_alarms: list[cw.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id, description="musicrec dashboard and alarms")
        api = {"ApiName": api_name}
        endpoint = {"EndpointName": settings.endpoint_name, "VariantName": "AllTraffic"}

        def metric(ns: str, name: str, dims: dict[str, str], stat: str = "Sum") -> cw.Metric:
            return cw.Metric(
                namespace=ns, metric_name=name, dimensions_map=dims, statistic=stat, period=MINUTE
            )

        latency = [metric("AWS/ApiGateway", "Latency", api, p) for p in ("p50", "p90", "p99")]
        errors_4xx = metric("AWS/ApiGateway", "4XXError", api)
        errors_5xx = metric("AWS/ApiGateway", "5XXError", api)
        fallback = metric("musicrec", "OnboardingFallback", {"service": "onboarding"})
        model_calls = metric("musicrec", "Onboarding_model", {"service": "onboarding"})
        fallback_rate = cw.MathExpression(
            expression="100 * fallback / (fallback + model + 0.000001)",
            using_metrics={"fallback": fallback, "model": model_calls},
            label="onboarding fallback %",
            period=MINUTE,
        )
        widgets: list[cw.IWidget] = [
            cw.GraphWidget(title="API latency p50/p90/p99 (ms)", left=latency, width=12),
            cw.GraphWidget(title="API 4xx and 5xx", left=[errors_4xx, errors_5xx], width=12),
            cw.GraphWidget(
                title="Lambda duration p99 (ms)",
                width=8,
                left=[
                    metric("AWS/Lambda", "Duration", {"FunctionName": f}, "p99")
                    for f in function_names
                ],
            ),
            cw.GraphWidget(
                title="Lambda errors and throttles",
                width=8,
                left=[
                    metric("AWS/Lambda", m, {"FunctionName": f})
                    for f in function_names
                    for m in ("Errors", "Throttles")
                ],
            ),
            cw.GraphWidget(
                title="Model and overhead latency p99 (µs)",
                width=8,
                left=[
                    metric("AWS/SageMaker", "ModelLatency", endpoint, "p99"),
                    metric("AWS/SageMaker", "OverheadLatency", endpoint, "p99"),
                ],
            ),
            cw.GraphWidget(
                title="Invocations per instance",
                width=8,
                left=[metric("AWS/SageMaker", "InvocationsPerInstance", endpoint)],
            ),
            cw.GraphWidget(
                title="DynamoDB throttles",
                width=8,
                left=[
                    metric("AWS/DynamoDB", m, {"TableName": t})
                    for t in table_names
                    for m in ("ReadThrottleEvents", "WriteThrottleEvents")
                ],
            ),
            cw.GraphWidget(
                title="Pipeline runs",
                width=8,
                left=[
                    metric("AWS/States", m, {"StateMachineArn": state_machine_arn})
                    for m in ("ExecutionsSucceeded", "ExecutionsFailed")
                ],
            ),
            cw.GraphWidget(title="Onboarding fallback rate (%)", width=8, left=[fallback_rate]),
        ]
        for name, experiment in load_experiments(DEFAULT_EXPERIMENTS).items():
            widgets.append(
                cw.GraphWidget(
                    title=f"CTR per variant: {name}",
                    width=8,
                    left=[
                        cw.MathExpression(
                            expression=f"100 * clicks{i} / (impressions{i} + 0.000001)",
                            label=variant,
                            period=Duration.hours(1),
                            using_metrics={
                                f"clicks{i}": cw.Metric(
                                    namespace="musicrec",
                                    metric_name="Clicks",
                                    statistic="Sum",
                                    dimensions_map={"experiment": name, "variant": variant},
                                ),
                                f"impressions{i}": cw.Metric(
                                    namespace="musicrec",
                                    metric_name="Impressions",
                                    statistic="Sum",
                                    dimensions_map={"experiment": name, "variant": variant},
                                ),
                            },
                        )
                        for i, variant in enumerate(experiment.variants)
                    ],
                )
            )
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"{settings.prefix}-overview"
        )
        self.dashboard.add_widgets(*widgets)
        action = cw_actions.SnsAction(topic)
        self.alarms = [
            cw.Alarm(
                self,
                "Api5xx",
                metric=errors_5xx,
                threshold=5,
                evaluation_periods=3,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="The API answers 5xx",
            ),
            cw.Alarm(
                self,
                "ApiLatencyP99",
                metric=latency[2],
                threshold=500,
                evaluation_periods=5,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="API p99 latency over 500 ms",
            ),
            cw.Alarm(
                self,
                "FallbackRate",
                metric=fallback_rate,
                threshold=5,
                evaluation_periods=5,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="More than 5 % of onboarding answers fall back to the rule",
            ),
            cw.Alarm(
                self,
                "PipelineFailed",
                metric=metric(
                    "AWS/States", "ExecutionsFailed", {"StateMachineArn": state_machine_arn}
                ),
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="A retraining run failed",
            ),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(
                title="Alarms (the model's roll deployments back)",
                width=24,
                alarms=[*self.alarms, *rollback_alarms],
            )
        )
