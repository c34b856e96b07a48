"""The route table: the one definition of the HTTP API, for the CDK stacks and the local gateway.

Each route belongs to a function (a route group): one Lambda in AWS, one handler module locally.
Paths use API Gateway's template syntax (``{userId}``). Nothing here imports boto3 or Powertools,
so the CDK app can read it without the Lambda dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lambdas.store.tables import TableName

Access = Literal["read", "write", "readwrite"]
# How an admin route's operator is authorised: "iam" (SigV4; locally the x-admin-key header) for
# automation, or "token" (an ID token of the operators' Cognito user pool: the console's routes)
OperatorAuth = Literal["iam", "token"]
API_PREFIX = "/v1"
ADMIN_PREFIX = f"{API_PREFIX}/admin"


@dataclass(frozen=True)
class Function:
    """One Lambda function: its handler and exactly the AWS access it needs (least privilege)."""

    name: str
    handler: str  # dotted path to the Lambda handler, e.g. "lambdas.handlers.events.lambda_handler"
    description: str
    tables: dict[TableName, Access] = field(default_factory=dict)
    invokes_endpoint: bool = False
    reads_batch_bucket: bool = False
    reads_metrics: bool = False  # CloudWatch GetMetricData (the console's time series)
    reads_operations: bool = False  # the retraining schedule, the endpoint, the pipeline's runs
    memory_mb: int = 512
    timeout_s: int = 10


@dataclass(frozen=True)
class Route:
    """One HTTP route of the API."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    function: str
    summary: str
    admin: bool = False  # operator routes: never open to app API keys or listener tokens
    operator_auth: OperatorAuth = "iam"  # for admin routes: IAM, or the operators' pool token

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))


FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="onboarding",
        handler="lambdas.handlers.onboarding.lambda_handler",
        description="Genre, station, song and artist recommendations for a new listener",
        # experiments: the issued answers (write) and the onboarding bandit's state (read)
        tables={"lists": "read", "state": "readwrite", "experiments": "readwrite"},
        invokes_endpoint=True,
    ),
    Function(
        name="recommendations",
        handler="lambdas.handlers.recommendations.lambda_handler",
        description="Personal songs and artists, similar songs and artists, the home screen",
        # experiments: the issued answers (write) and the home bandit's state (read)
        tables={"lists": "read", "state": "read", "events": "read", "experiments": "readwrite"},
    ),
    Function(
        name="events",
        handler="lambdas.handlers.events.lambda_handler",
        description="Plays, skips, likes, follows, impressions and clicks",
        tables={"events": "readwrite", "experiments": "readwrite", "state": "read"},
    ),
    Function(
        name="catalog",
        handler="lambdas.handlers.catalog.lambda_handler",
        description="Operator route: mark songs available or unavailable",
        tables={"state": "readwrite", "lists": "read"},  # lists: is the song in the catalogue
    ),
    Function(
        name="admin",
        handler="lambdas.handlers.admin.lambda_handler",
        description="The console's operator routes: traffic, experiments, KPIs, models and batch"
        " versions, rollback, previews",
        # state: the active batch version (rollback writes it); experiments: counters, bandits
        tables={"lists": "read", "state": "readwrite", "events": "read", "experiments": "read"},
        invokes_endpoint=True,  # the onboarding preview
        reads_metrics=True,
        reads_operations=True,  # with the training runs' records (runs/ of the data bucket)
        memory_mb=1024,
        timeout_s=29,  # API Gateway's integration limit
    ),
)

# Not behind the API: the pipeline's loading steps call it (Distributed Map over the batch files).
LOADER = Function(
    name="loader",
    handler="lambdas.handlers.loader.lambda_handler",
    description="Load one batch file into DynamoDB; verify and switch the active version",
    tables={"lists": "readwrite", "state": "readwrite"},
    reads_batch_bucket=True,
    memory_mb=1024,
    timeout_s=900,
)

# Not behind the API either: EventBridge invokes it every minute (``schedule``).
BANDIT_REFRESH = Function(
    name="bandit-refresh",
    handler="lambdas.handlers.bandit_refresh.lambda_handler",
    description="Fold the home bandit's newly logged impressions and clicks into its state",
    tables={"experiments": "readwrite"},
    memory_mb=512,
    timeout_s=60,
)
# the scheduled functions and their schedules (EventBridge expressions)
SCHEDULED: tuple[tuple[Function, str], ...] = ((BANDIT_REFRESH, "rate(1 minute)"),)


def console_route(method: Literal["GET", "POST"], path: str, summary: str) -> Route:
    """An admin route of the console's (``/v1/admin`` + ``path``): operators' pool tokens."""
    return Route(method, f"{ADMIN_PREFIX}{path}", "admin", summary, admin=True,
                 operator_auth="token")  # fmt: skip


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        f"{API_PREFIX}/onboarding/recommendations",
        "onboarding",
        "Recommendations for a listener who just answered the onboarding questions",
    ),
    Route(
        "GET",
        f"{API_PREFIX}/users/{{userId}}/recommendations",
        "recommendations",
        "Personal songs or artists, re-ranked by the listener's latest plays",
    ),
    Route(
        "GET",
        f"{API_PREFIX}/users/{{userId}}/artists",
        "recommendations",
        "Artists for a listener",
    ),
    Route(
        "GET",
        f"{API_PREFIX}/users/{{userId}}/home",
        "recommendations",
        "The listener's home screen: carousels in a contextual bandit's order",
    ),
    Route(
        "GET",
        f"{API_PREFIX}/items/{{itemId}}/similar",
        "recommendations",
        "Songs similar to a song",
    ),
    Route(
        "GET",
        f"{API_PREFIX}/artists/{{artistId}}/similar",
        "recommendations",
        "Artists whose fans also like this artist",
    ),
    Route(
        "POST",
        f"{API_PREFIX}/events",
        "events",
        "Record one event or a batch of up to 100",
    ),
    Route(
        "PUT",
        f"{API_PREFIX}/catalog/items/{{itemId}}/availability",
        "catalog",
        "Mark a song available or unavailable",
        admin=True,
    ),
    console_route(
        "GET",
        "/traffic",
        "Requests, errors, latency percentiles and fallback rate per route over time",
    ),
    console_route(
        "GET",
        "/experiments",
        "CTR per variant over time, lift with its interval, off-policy estimates",
    ),
    console_route(
        "GET", "/kpis", "Plays from recommendations, follows from artists for you, follow-through"
    ),
    console_route(
        "GET",
        "/models",
        "Training runs, gate verdicts, serving model, batch versions, next scheduled run",
    ),
    console_route("POST", "/batch/rollback", "Make the previous batch version active again"),
    console_route(
        "POST",
        "/preview/onboarding",
        "What a new listener with these answers would get (not recorded)",
    ),
    console_route(
        "GET",
        "/listeners/{userId}/preview",
        "A listener's home screen and lists with their reasons (not recorded)",
    ),
)


def function(name: str) -> Function:
    """The function called ``name`` (a route group or the loader)."""
    for candidate in (*FUNCTIONS, LOADER, BANDIT_REFRESH):
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def routes_of(function_name: str) -> tuple[Route, ...]:
    """The routes served by one function."""
    return tuple(route for route in ROUTES if route.function == function_name)
