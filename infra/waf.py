"""The API's web application firewall (the ``waf`` setting): a regional AWS WAFv2 web ACL on the
REST API's stage, its CloudWatch metrics and sampled requests, and a log of what it blocks."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import Settings
from infra.nag import LOG_GROUP_CHECKS, skip_checkov

AWS = "AWS"  # the vendor of AWS's managed rule groups
COMMON_RULES = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
# The common rule set's rule that blocks request bodies over 8 KB: counted, not blocked, because
# POST /v1/events takes a batch of up to 100 events, bodies up to 256 KB; the events handler
# limits the body and the batch itself (and API Gateway caps payloads at 10 MB).
BODY_SIZE_RULE = "SizeRestrictions_BODY"
RATE_WINDOW_S = 300  # the rate-based rule counts each IP's requests over 5 minutes
# WAF logs go to a log group whose name starts with this (WAF refuses any other).
LOG_GROUP_PREFIX = "aws-waf-logs-"


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    """CloudWatch metrics and sampled requests on, under ``metric``."""
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _managed(
    name: str, priority: int, counted: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    """One of AWS's managed rule groups with its own actions, but Count for the rules in
    ``counted``."""
    statement = wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
        vendor_name=AWS,
        name=name,
        rule_action_overrides=[
            wafv2.CfnWebACL.RuleActionOverrideProperty(
                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
            )
            for rule in counted
        ]
        or None,
    )
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=statement),
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),  # the group's actions
        visibility_config=_visibility(name),
    )


class ApiFirewall(Construct):
    """The web ACL, its association with ``stage`` and its logging."""

    def __init__(
        self, scope: Construct, construct_id: str, settings: Settings, stage: apigw.Stage
    ) -> None:
        super().__init__(scope, construct_id)
        rate_rule = wafv2.CfnWebACL.RuleProperty(
            name="RatePerIp",
            priority=0,  # first: a flooding address is blocked before the managed groups run
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=settings.waf_rate_limit,
                    evaluation_window_sec=RATE_WINDOW_S,
                )
            ),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            visibility_config=_visibility("RatePerIp"),
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{settings.prefix}-api",
            description="musicrec API: AWS common and known-bad-inputs rules, a rate per IP",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{settings.prefix}-api"),
            rules=[
                rate_rule,
                _managed(KNOWN_BAD_INPUTS, 1),
                # SizeRestrictions_BODY to Count: POST /v1/events takes up to 100 events, bodies up
                # to 256 KB, which the handler limits; the rule would block every body over 8 KB
                _managed(COMMON_RULES, 2, counted=(BODY_SIZE_RULE,)),
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.log_group = self._logging(settings)

    def _logging(self, settings: Settings) -> logs.LogGroup:
        """Blocked requests into ``aws-waf-logs-<prefix>-api`` (WAF adds the log group's resource
        policy for its log delivery on deploy), the token and key redacted. Allowed and counted
        requests are left out: every large events batch is counted (``SizeRestrictions_BODY``),
        and the metrics and sampled requests show them."""
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}{settings.prefix}-api",
            retention=settings.log_retention,
        )
        skip_checkov(log_group, LOG_GROUP_CHECKS)
        # WAF takes the log group's ARN without the ":*" that LogGroup.log_group_arn ends with
        arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in ("authorization", "x-api-key")
            ],
            logging_filter={
                "DefaultBehavior": "DROP",
                "Filters": [
                    {
                        "Behavior": "KEEP",
                        "Requirement": "MEETS_ANY",
                        "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}],
                    }
                ],
            },
        )
        return log_group
