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
from lambdas.logic.experiments import Experiment
from lambdas.logic.experiments import load as load_experiments
from lambdas.logic.metrics import FALLBACKS

MINUTE = Duration.minutes(1)
API_LATENCY_PERCENTILES = ("p50", "p90", "p99")


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
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"{settings.prefix}-overview"
        )
        self.dashboard.add_widgets(
            *_api_widgets(api_name),
            *_function_widgets(function_names),
            *_endpoint_widgets(settings.endpoint_name),
            _tables_widget(table_names),
            _pipeline_widget(state_machine_arn),
            cw.GraphWidget(
                title="Fallback rate (%)", width=8, left=[_fallback_rate(n) for n in FALLBACKS]
            ),
            *_ctr_widgets(),
        )
        self.alarms = self._alarms(api_name, state_machine_arn)
        self.rollback_alarm = _rollback_alarm(self, settings.endpoint_name, rollback_alarms)
        action = cw_actions.SnsAction(topic)
        for alarm in [*self.alarms, self.rollback_alarm]:
            alarm.add_alarm_action(action)
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(
                title="Alarms (the model's roll deployments back)",
                width=24,
                alarms=[*self.alarms, *rollback_alarms],
            )
        )

    def _alarms(self, api_name: str, state_machine_arn: str) -> list[cw.Alarm]:
        """API errors and latency, the fallback rates and failed pipeline runs."""
        return [
            self._alarm(
                "Api5xx",
                _api_metric(api_name, "5XXError"),
                threshold=5,
                periods=3,
                description="The API answers 5xx",
            ),
            self._alarm(
                "ApiLatencyP99",
                _api_metric(api_name, "Latency", "p99"),
                threshold=500,
                periods=5,
                description="API p99 latency over 500 ms",
            ),
            self._alarm(
                "FallbackRate",
                _fallback_rate("onboarding"),
                threshold=5,
                periods=5,
                description="More than 5 % of onboarding answers fall back to the rule",
            ),
            self._alarm(
                "HomePolicyFallbackRate",
                _fallback_rate("home"),
                threshold=5,
                periods=5,
                description="More than 5 % of home screens are ranked by the prior: the home "
                "bandit's state is unusable (the recommendations function's log says why)",
            ),
            self._alarm(
                "PipelineFailed",
                _pipeline_metric(state_machine_arn, "ExecutionsFailed"),
                threshold=1,
                periods=1,
                description="A retraining run failed",
            ),
        ]

    def _alarm(
        self, alarm_id: str, metric: cw.IMetric, threshold: float, periods: int, description: str
    ) -> cw.Alarm:
        """An alarm at ``threshold`` for ``periods`` periods; no data is not a breach."""
        return cw.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )


def _rollback_alarm(
    scope: Construct, endpoint_name: str, rollback_alarms: list[cw.IAlarm]
) -> cw.CompositeAlarm:
    """In alarm while any of the model's rollback alarms is: it notifies the topic, so an alarm
    that rolls a canary back (or fires between deployments) reaches a human. The model stack's
    alarms cannot notify the topic themselves: the pipeline stack, which owns the topic,
    depends on the model stack (the topic's ARN in the model stack would be a cycle)."""
    return cw.CompositeAlarm(
        scope,
        "ModelRollback",
        alarm_rule=cw.AlarmRule.any_of(
            *(cw.AlarmRule.from_alarm(alarm, cw.AlarmState.ALARM) for alarm in rollback_alarms)
        ),
        alarm_description=(
            f"A rollback alarm of endpoint {endpoint_name} fired: a canary update in progress"
            " is rolled back (the retraining run then fails and says so)"
        ),
    )


def _metric(namespace: str, name: str, dims: dict[str, str], stat: str = "Sum") -> cw.Metric:
    """A metric per minute."""
    return cw.Metric(
        namespace=namespace, metric_name=name, dimensions_map=dims, statistic=stat, period=MINUTE
    )


def _api_metric(api_name: str, name: str, stat: str = "Sum") -> cw.Metric:
    """A metric of the REST API."""
    return _metric("AWS/ApiGateway", name, {"ApiName": api_name}, stat)


def _pipeline_metric(state_machine_arn: str, name: str) -> cw.Metric:
    """A metric of the retraining state machine."""
    return _metric("AWS/States", name, {"StateMachineArn": state_machine_arn})


def _fallback_rate(name: str) -> cw.MathExpression:
    """The share of ``name``'s answers that fell back, in percent: its fallback metric over the
    metrics of every answer that could have (``lambdas.logic.metrics.FALLBACKS``, which the
    console's traffic page reads too). Metric ids carry ``name``: one graph draws every rate."""
    fallback, total, dims = FALLBACKS[name]
    ids = {m: f"{name}_answers{i}" for i, m in enumerate(total)} | {fallback: f"{name}_fallback"}
    using = {ids[m]: _metric("musicrec", m, dict(dims)) for m in ids}
    answers = " + ".join(ids[m] for m in total)
    return cw.MathExpression(
        expression=f"100 * {ids[fallback]} / ({answers} + 0.000001)",
        using_metrics=using,
        label=f"{name} fallback %",
        period=MINUTE,
    )


def _api_widgets(api_name: str) -> list[cw.IWidget]:
    """API latency percentiles, and its 4xx and 5xx answers."""
    latency = [_api_metric(api_name, "Latency", p) for p in API_LATENCY_PERCENTILES]
    errors = [_api_metric(api_name, "4XXError"), _api_metric(api_name, "5XXError")]
    return [
        cw.GraphWidget(title="API latency p50/p90/p99 (ms)", left=latency, width=12),
        cw.GraphWidget(title="API 4xx and 5xx", left=errors, width=12),
    ]


def _function_widgets(function_names: list[str]) -> list[cw.IWidget]:
    """The functions' p99 duration, errors and throttles."""
    return [
        cw.GraphWidget(
            title="Lambda duration p99 (ms)",
            width=8,
            left=[
                _metric("AWS/Lambda", "Duration", {"FunctionName": f}, "p99")
                for f in function_names
            ],
        ),
        cw.GraphWidget(
            title="Lambda errors and throttles",
            width=8,
            left=[
                _metric("AWS/Lambda", m, {"FunctionName": f})
                for f in function_names
                for m in ("Errors", "Throttles")
            ],
        ),
    ]


def _endpoint_widgets(endpoint_name: str) -> list[cw.IWidget]:
    """The model endpoint's latency (model and overhead) and its load per instance."""
    endpoint = {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}
    return [
        cw.GraphWidget(
            title="Model and overhead latency p99 (µs)",
            width=8,
            left=[
                _metric("AWS/SageMaker", "ModelLatency", endpoint, "p99"),
                _metric("AWS/SageMaker", "OverheadLatency", endpoint, "p99"),
            ],
        ),
        cw.GraphWidget(
            title="Invocations per instance",
            width=8,
            left=[_metric("AWS/SageMaker", "InvocationsPerInstance", endpoint)],
        ),
    ]


def _tables_widget(table_names: list[str]) -> cw.IWidget:
    """Read and write throttles of every table."""
    return cw.GraphWidget(
        title="DynamoDB throttles",
        width=8,
        left=[
            _metric("AWS/DynamoDB", m, {"TableName": t})
            for t in table_names
            for m in ("ReadThrottleEvents", "WriteThrottleEvents")
        ],
    )


def _pipeline_widget(state_machine_arn: str) -> cw.IWidget:
    """Succeeded and failed retraining runs."""
    return cw.GraphWidget(
        title="Pipeline runs",
        width=8,
        left=[
            _pipeline_metric(state_machine_arn, m)
            for m in ("ExecutionsSucceeded", "ExecutionsFailed")
        ],
    )


def _ctr_widgets() -> list[cw.IWidget]:
    """One click-through-rate widget per experiment the functions run."""
    experiments = load_experiments(DEFAULT_EXPERIMENTS)
    return [_ctr_widget(name, experiment) for name, experiment in experiments.items()]


def _ctr_widget(name: str, experiment: Experiment) -> cw.IWidget:
    """Click-through rate per variant of one experiment, hourly."""
    return cw.GraphWidget(
        title=f"CTR per variant: {name}",
        width=8,
        left=[_ctr(name, i, variant) for i, variant in enumerate(experiment.variants)],
    )


def _ctr(experiment: str, index: int, variant: str) -> cw.MathExpression:
    """Clicks per impression of one variant, in percent."""
    dims = {"experiment": experiment, "variant": variant}
    clicks, impressions = f"clicks{index}", f"impressions{index}"
    return cw.MathExpression(
        expression=f"100 * {clicks} / ({impressions} + 0.000001)",
        label=variant,
        period=Duration.hours(1),
        using_metrics={
            clicks: cw.Metric(
                namespace="musicrec", metric_name="Clicks", statistic="Sum", dimensions_map=dims
            ),
            impressions: cw.Metric(
                namespace="musicrec",
                metric_name="Impressions",
                statistic="Sum",
                dimensions_map=dims,
            ),
        },
    )
