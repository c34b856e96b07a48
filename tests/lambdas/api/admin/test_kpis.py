"""GET /v1/admin/kpis through its router, with moto and the events the events route counted: the
seed's follow-through (four listeners follow a recommended artist, three of them another: 75 %),
plays and follows per day, read by key only (BatchGetItem, no scan); 400s naming the parameter,
403 without an operator, 503 naming DynamoDB when it fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from lambdas.api.admin import kpis
from lambdas.handlers import events, recommendations
from lambdas.logic.services import services
from tests.lambdas.api.admin import operator
from tests.lambdas.api.admin.operator import ISSUER, OPERATOR
from tests.lambdas.api.home_world import home_world
from tests.lambdas.api.loaded import Loaded, call


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Four listeners each follow one artist their "artists for you" showed them, three of them
    a second one (and one of those the same artist again); two plays of recommended songs."""
    with home_world(tmp_path_factory.mktemp("kpi"), "k2", "u-known") as found:
        found.mp.setenv("OPERATOR_ISSUER", ISSUER)
        for n in range(4):
            user = f"fan-{n}"
            _, artists = call(recommendations, "GET", f"/v1/users/{user}/artists")
            rec, ids = artists["recommendation_id"], [i["id"] for i in artists["items"]]
            follows = [ids[0], ids[1], ids[0]] if n else [ids[0]]
            batch = [
                {
                    "event_id": f"f{i}",
                    "user_id": user,
                    "type": "follow",
                    "recommendation_id": rec,
                    "artist_id": a,
                }
                for i, a in enumerate(follows)
            ]
            status, ack = call(events, "POST", "/v1/events", {"events": batch})
            assert (status, ack["counted"]) == (200, min(len(follows), 2)), ack
        _, songs = call(recommendations, "GET", "/v1/users/u-known/recommendations")
        plays = [{"event_id": f"p{i}", "user_id": "u-known", "type": "play",
                  "recommendation_id": songs["recommendation_id"], "item_id": item["id"]}
                 for i, item in enumerate(songs["items"][:2])]  # fmt: skip
        assert call(events, "POST", "/v1/events", {"events": plays})[1]["counted"] == 2
        yield found


def get(query: str = "", claims: dict[str, str] | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    return operator.get(kpis.router, "/v1/admin/kpis", query, claims)


def test_the_seeds_kpis_from_what_the_server_counted(world):
    status, answer = get()
    assert status == 200, answer
    assert answer["days"] == 7
    assert answer["follow_through"] == {"followers": 4, "followed_another": 3, "rate": 0.75}
    follows = answer["follows_from_artists"]
    assert follows["total"] == 7  # 1 + 3 × 2: the third follow repeats an artist of the answer
    assert answer["plays_from_recommendations"]["total"] == 2
    today = datetime.now(UTC).date()
    stamps = [f"{today - timedelta(days=n)}T00:00:00Z" for n in range(6, -1, -1)]
    assert follows["by_day"] == {"timestamps": stamps, "values": [0] * 6 + [7]}  # oldest first
    generated = datetime.fromisoformat(answer["generated_at"])
    assert abs((datetime.now(UTC) - generated).total_seconds()) < 60


def test_a_day_is_one_point_and_reads_are_by_key_only(world):
    client = services().store.tables["experiments"].meta.client
    calls: list[str] = []

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", record)
    try:
        status, answer = get("days=1")
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    assert status == 200, answer
    assert answer["plays_from_recommendations"]["by_day"]["values"] == [2]
    assert set(calls) == {"BatchGetItem"}  # 1 day × 8 shards × 4 metrics: one call


def test_90_days_are_read(world):
    status, answer = get("days=90")
    assert status == 200, answer
    assert len(answer["follows_from_artists"]["by_day"]["values"]) == 90
    assert answer["follows_from_artists"]["total"] == 7


@pytest.mark.parametrize("query", ["days=0", "days=91", "days=x", "days="])
def test_a_bad_window_is_a_400_naming_it(world, query):
    status, answer = get(query)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_request", "days"), answer


@pytest.mark.parametrize("claims", [None, {"sub": "u1"}, {**OPERATOR, "iss": "https://other"}])
def test_anyone_but_an_operator_is_refused(world, claims):
    status, answer = get(claims=claims)
    assert (status, answer["code"]) == (403, "forbidden"), answer


def test_dynamodb_failing_is_a_503_naming_it(world):
    client = services().store.tables["experiments"].meta.client

    def refuse(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Error": {"Code": "InternalServerError", "Message": "down"}}
        return AWSResponse("https://dynamodb", 500, {}, None), error

    client.meta.events.register("before-call.dynamodb.BatchGetItem", refuse, unique_id="down")
    try:
        status, answer = get()
    finally:
        client.meta.events.unregister("before-call.dynamodb.BatchGetItem", unique_id="down")
    assert (status, answer["code"]) == (503, "upstream_unavailable"), answer
    assert "DynamoDB BatchGetItem" in answer["message"]
