"""The console's previews through a handler of their router: the same answer as the onboarding
and recommendations routes for the same input, and nothing recorded (the experiments, state and
events tables scanned before and after; no metric printed). moto tables with the chart world's
batch version (tests/lambdas/logic/chart_world.py) and a listener with a batch list, an
onboarding profile and a play; the model is a real inference server process serving a model
trained on a tiny planted dataset of the chart world's genres, or a closed port (the fallback)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.api.admin import preview
from lambdas.api.resolver import handler_for
from lambdas.handlers import events, onboarding, recommendations
from lambdas.logic import home
from lambdas.logic.services import services
from lambdas.store.tables import TABLES
from tests.container.conftest import running_server
from tests.lambdas.api.loaded import ONBOARDING, call, handler_tables, user_with
from tests.lambdas.conftest import PREFIX
from tests.lambdas.events import FakeContext, api_event
from tests.lambdas.logic.chart_world import GENRES, PLAYS, SONGS, catalog, charts
from tests.lambdas.store.small_batch import write_version
from tests.training.model.conftest import FAST_HP
from tests.training.model.tiny import build_tiny
from training.model.hyperparams import Hyperparameters
from training.model.train import train

KNOWN = "u-preview"  # a batch list, onboarded (Jazz, Rock) through the route, one play of s001
ADMIN: Callable[..., dict[str, Any]] = handler_for("admin", preview.router)
PREVIEW = "/v1/admin/preview/onboarding"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_operators"
OPERATOR = {"token_use": "id", "iss": ISSUER, "sub": "op-1", "email": "op@example.com"}
ANSWERS = {"age": 24, "gender": "f", "region": "xx-b", "selected_genres": ["Jazz"], "limit": 3}
RANDOM = ("stations",)  # the bandit variant's stations are a draw of its policy


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on a tiny planted dataset of the chart world's genres."""
    root = tmp_path_factory.mktemp("preview-model")
    data = build_tiny(root / "data", n_users=600, genres=GENRES)
    code, result = train(data, root / "model", Hyperparameters.from_overrides(FAST_HP),
                         progress=False, verbose=False)  # fmt: skip
    assert code in (0, 1), result.gate.reason  # 1: trained, the gate said no (served anyway)
    return root / "model"


@dataclass
class World:
    """The handlers' environment (``mp``) and the model's address."""

    mp: pytest.MonkeyPatch
    model_url: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[World]:
    """The batch version loaded into moto, the model served, ``KNOWN`` onboarded and playing."""
    songs = [f"s{i:03d}" for i in range(20, 40)]
    path = write_version(tmp_path_factory.mktemp("preview"), "pv1", {
        "catalog": [catalog(SONGS)],
        "regional": [charts(PLAYS)],
        "personal": [[{"user_id": KNOWN, "ids": songs,
                       "scores": [1 - i / 40 for i in range(20)]}]],
        "artists": [[{"user_id": KNOWN, "ids": ["a001", "a002"], "scores": [1.0, 0.5]}]],
        "similar-items": [[{"item_id": "s001", "ids": [f"s{i:03d}" for i in range(40, 55)],
                            "scores": [0.9] * 15}]],
        "similar-artists": [[{"artist_id": "a001", "ids": ["a005", "a006", "a007"],
                              "scores": [0.9, 0.8, 0.7]}]],
    })  # fmt: skip
    with running_server(model_dir) as server, handler_tables(path, server.url) as (_, mp):
        mp.setenv("OPERATOR_ISSUER", ISSUER)
        body = {"user_id": KNOWN, "region": "xx-b", "selected_genres": ["Jazz", "Rock"]}
        assert call(onboarding, "POST", ONBOARDING, body)[0] == 200
        play = {"event_id": "p1", "user_id": KNOWN, "type": "play", "item_id": "s001"}
        assert call(events, "POST", "/v1/events", {"events": [play]})[0] == 200
        yield World(mp, server.url)


def admin(
    method: str, path: str, body: Any = None, query: str = "", claims: dict | None = OPERATOR
) -> tuple[int, dict[str, Any]]:
    """A console request with an operator's ID-token claims (``claims``; None: none)."""
    event = api_event(method, path, body, query=query, listener=None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    response = ADMIN(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table but the batch lists, sorted."""
    dynamodb = boto3.resource("dynamodb")
    found: dict[str, list[dict[str, Any]]] = {}
    for spec in TABLES:
        if spec.name != "lists":
            items = dynamodb.Table(spec.physical_name(PREFIX)).scan()["Items"]
            found[spec.name] = sorted(items, key=lambda i: (str(i["pk"]), str(i.get("sk"))))
    return found


@pytest.fixture
def unrecorded(world: World, capsys: pytest.CaptureFixture[str]) -> Any:
    """A context in which nothing may be written to DynamoDB nor any metric published."""

    @contextmanager
    def checked() -> Iterator[None]:
        capsys.readouterr()
        before = snapshot()
        yield
        assert snapshot() == before
        assert '"_aws"' not in capsys.readouterr().out  # no EMF metric line

    return checked


def without(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in keys}


# ---------------------------------------------------------------------------------------------
# the onboarding preview


@pytest.mark.parametrize("variant", ["model", "rules", "bandit"])
def test_the_onboarding_preview_answers_what_the_route_answers(unrecorded, variant):
    body = {**ANSWERS, "user_id": user_with(variant)}
    with unrecorded():
        status, shown = admin("POST", PREVIEW, body)
    assert status == 200, shown
    assert (shown["variant"], shown["assignment"]) == (
        variant, {"by": "user_id", "unit": body["user_id"]})  # fmt: skip
    assert shown["source"] == ("rules" if variant == "rules" else "model")
    assert shown["generated_at"].endswith("Z")
    status, answer = call(onboarding, "POST", ONBOARDING, body)
    assert status == 200, answer
    same = without(answer, "recommendation_id", *(RANDOM if variant == "bandit" else ()))
    assert {k: shown[k] for k in same} == same
    assert set(shown) - set(answer) == {"generated_at", "assignment", "reasons"}
    reasons = shown["reasons"]
    assert set(reasons) == {"genres", "stations", "songs", "artists"}
    assert reasons["genres"]["source"] == shown["source"]
    for kind in ("songs", "artists"):
        assert reasons[kind]["charts"] == list(dict.fromkeys(i["chart"] for i in shown[kind]))
    if variant == "bandit":  # a draw among the same candidates, by the same policy
        issued = services().store.issued(answer["recommendation_id"])
        assert issued is not None
        candidates = [c["key"] for c in issued["decision"]["candidates"]]
        ranked = reasons["stations"]["ranked"]
        assert reasons["stations"]["source"] == "bandit"
        assert reasons["stations"]["candidates"] == len(candidates)
        assert [r["id"] for r in ranked] == [s["id"] for s in shown["stations"]][: len(ranked)]
        assert {r["id"] for r in ranked} <= set(candidates)
        assert all(0 < r["propensity"] <= 1 for r in ranked)
        assert len(shown["stations"]) == len(answer["stations"])
    else:
        assert reasons["stations"]["source"] == "charts"
    if variant == "model":
        assert reasons["genres"]["model_version"] == answer["model_version"]


def test_without_a_user_the_preview_unit_is_assigned_and_a_variant_can_be_chosen(unrecorded):
    user = user_with("model")
    with unrecorded():
        status, first = admin("POST", PREVIEW, ANSWERS)
        again = admin("POST", PREVIEW, ANSWERS)[1]
        chosen = admin("POST", PREVIEW, {**ANSWERS, "user_id": user}, query="variant=rules")[1]
        installed = admin("POST", PREVIEW, {**ANSWERS, "install_id": "i-1"})[1]
    assert status == 200, first
    assert first["assignment"] == {"by": "preview", "unit": preview.PREVIEW_UNIT}
    assert first["variant"] == again["variant"] == services().variant(preview.PREVIEW_UNIT)
    assert (chosen["variant"], chosen["assignment"]) == ("rules", {"by": "variant", "unit": None})
    assert (chosen["source"], chosen["model_version"]) == ("rules", "rules")
    assert installed["assignment"] == {"by": "install_id", "unit": "i-1"}
    assert installed["variant"] == services().variant("i-1")


def test_the_model_failing_previews_the_fallback_as_the_route_answers_it(world, unrecorded):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connection is refused
    world.mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{port}")
    services.cache_clear()
    body = {**ANSWERS, "user_id": user_with("model")}
    try:
        with unrecorded():
            status, shown = admin("POST", PREVIEW, body)
        answer = call(onboarding, "POST", ONBOARDING, body)[1]
    finally:
        world.mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", world.model_url)
        services.cache_clear()
    assert status == 200, shown
    assert (shown["source"], shown["model_version"]) == ("fallback", "rules")
    assert shown["reasons"]["genres"]["source"] == "fallback"
    assert shown["reasons"]["genres"]["error"]
    assert answer["source"] == "fallback"
    assert {k: shown[k] for k in ("genres", "stations", "songs", "artists", "warnings")} == {
        k: answer[k] for k in ("genres", "stations", "songs", "artists", "warnings")}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        ({**ANSWERS, "selected_genres": ["Polka"]}, "", "selected_genres.0"),
        ({**ANSWERS, "region": "zz-zz"}, "", "region"),
        ({**ANSWERS, "age": -1}, "", "age"),
        ({**ANSWERS, "answers": {"Region": "xx-a"}}, "", "answers.Region"),
        ({**ANSWERS, "surprise": 1}, "", "surprise"),
        (ANSWERS, "variant=champion", "variant"),
        (ANSWERS, "variant=", "variant"),
    ],
)
def test_invalid_answers_are_400s_naming_the_field_as_the_route_gives_them(
    unrecorded, body, query, field
):
    with unrecorded():
        status, error = admin("POST", PREVIEW, body, query=query)
    assert (status, error["code"], error["field"]) == (400, "invalid_request", field), error
    if field != "variant":
        assert call(onboarding, "POST", ONBOARDING, body)[1] == error
    elif query != "variant=":
        assert "model, rules, bandit" in error["message"]


# ---------------------------------------------------------------------------------------------
# the listener preview


def route(path: str, query: str = "") -> dict[str, Any]:
    status, answer = call(recommendations, "GET", path, query=query)
    assert status == 200, answer
    return answer


def carousels_by_kind(shown: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keys = ("kind", "title", "seed", "items")
    return {c["kind"]: {k: c[k] for k in keys} for c in shown}


@pytest.mark.parametrize("user", [KNOWN, "nobody"])
def test_the_listener_preview_answers_what_the_routes_answer(unrecorded, user):
    with unrecorded():
        status, shown = admin("GET", f"/v1/admin/listeners/{user}/preview")
    assert status == 200, shown
    songs = route(f"/v1/users/{user}/recommendations")
    artists = route(f"/v1/users/{user}/artists")
    screen = route(f"/v1/users/{user}/home")
    assert shown["user_id"] == user
    assert shown["batch_version"] == songs["model_version"] == "pv1"
    for name, answer in (("songs", songs), ("artists", artists)):
        assert shown[name] == {"variant": answer["variant"], "source": answer["source"],
                               "items": answer["items"]}  # fmt: skip
    assert shown["home"]["variant"] == screen["variant"] == home.POLICY_NAME
    assert shown["home"]["policy"] == screen["policy"]
    assert shown["home"]["warnings"] == screen["warnings"]
    # the order is a draw of the bandit's policy: the same carousels, each with its propensity
    carousels = shown["home"]["carousels"]
    assert carousels_by_kind(carousels) == carousels_by_kind(screen["carousels"])
    assert [c["position"] for c in carousels] == list(range(len(carousels)))
    assert all(0 < c["propensity"] <= 1 for c in carousels)
    assert sorted(shown["home"]["candidates"]) == sorted(c["kind"] for c in carousels)


def test_the_listener_preview_says_what_is_known_and_where_each_list_came_from(unrecorded):
    with unrecorded():
        shown = admin("GET", f"/v1/admin/listeners/{KNOWN}/preview", query="limit=3")[1]
        nobody = admin("GET", "/v1/admin/listeners/nobody/preview")[1]
    listener = shown["listener"]
    assert without(listener, "days_since_signup") == {
        "known": True, "has_list": True, "onboarded": True, "recent_plays": 1}  # fmt: skip
    assert 0 <= listener["days_since_signup"] < 1
    sources = {c["kind"]: c["source"] for c in shown["home"]["carousels"]}
    assert sources == {
        "for_you": "personal", "artists_for_you": "personal", "region_chart": "regional",
        "genre_station": "regional", "because_you_played": "similar-items",
        "fans_also_like": "similar-artists",
    }  # fmt: skip
    assert all(len(c["items"]) <= 3 for c in shown["home"]["carousels"])
    assert (shown["songs"]["source"], len(shown["songs"]["items"])) == ("personal", 3)
    assert nobody["listener"] == {"known": False, "has_list": False, "onboarded": False,
                                  "recent_plays": 0, "days_since_signup": None}  # fmt: skip
    assert nobody["songs"]["source"] == nobody["artists"]["source"] == "regional"


@pytest.mark.parametrize(
    ("query", "field"), [("limit=0", "limit"), ("limit=51", "limit"), ("region=zz-zz", "region")]
)
def test_invalid_listener_queries_are_400s_naming_the_field(unrecorded, query, field):
    with unrecorded():
        status, error = admin("GET", f"/v1/admin/listeners/{KNOWN}/preview", query=query)
    assert (status, error["code"], error["field"]) == (400, "invalid_request", field), error


# ---------------------------------------------------------------------------------------------
# who may call, and a failing store


@pytest.mark.parametrize(
    "claims",
    [None, {"sub": KNOWN, "token_use": "access"}, {**OPERATOR, "iss": "https://other-pool"}],
    ids=["no-token", "listener-token", "other-pool"],
)
def test_only_an_operator_may_preview(unrecorded, claims):
    requests = [("POST", PREVIEW, ANSWERS), ("GET", f"/v1/admin/listeners/{KNOWN}/preview", None)]
    for method, path, body in requests:
        with unrecorded():
            status, error = admin(method, path, body, claims=claims)
        assert (status, error["code"], error["field"]) == (403, "forbidden", "Authorization")


@pytest.mark.parametrize("table", ["events", "lists"])
def test_a_failing_table_is_a_503_naming_dynamodb(world, unrecorded, table):
    physical = f"{PREFIX}-{table}"
    world.mp.setenv(f"TABLE_{table.upper()}", f"{PREFIX}-missing")
    services.cache_clear()
    try:
        with unrecorded():
            answers = [admin("GET", f"/v1/admin/listeners/{KNOWN}/preview"),
                       admin("POST", PREVIEW, ANSWERS)]  # fmt: skip
    finally:
        world.mp.setenv(f"TABLE_{table.upper()}", physical)
        services.cache_clear()
    for status, error in answers[: 1 if table == "events" else 2]:
        assert (status, error["code"]) == (503, "upstream_unavailable"), error
        assert "DynamoDB" in error["message"]
