"""The local moto server's DynamoDB transactions: moto's results and errors, without copying the
tables they name."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from local import moto_server
from tests.conftest import REPO_ROOT

TABLE = "t"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_server.install()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )  # fmt: skip
            yield client
    finally:
        moto_server.uninstall()


def put(pk: str, value: str, condition: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "TableName": TABLE,
        "Item": {"pk": {"S": pk}, "sk": {"S": "x"}, "v": {"S": value}},
    }
    if condition:
        operation["ConditionExpression"] = condition
    return {"Put": operation}


def value(client: Any, pk: str) -> str | None:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "x"}}).get("Item")
    return item["v"]["S"] if item else None


def backend_table() -> Any:
    return dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]


def test_a_transaction_writes_every_item(dynamodb):
    dynamodb.transact_write_items(TransactItems=[put("a", "1"), put("b", "1")])
    assert (value(dynamodb, "a"), value(dynamodb, "b")) == ("1", "1")


def test_a_failed_condition_cancels_the_whole_transaction(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "v": {"S": "old"}})
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "c"}, "sk": {"S": "x"}, "v": {"S": "old"}})
    table = backend_table()

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[
            put("c", "new"),  # written first, then undone
            put("a", "new", condition="attribute_not_exists(pk)"),  # fails
            put("b", "new"),  # written after the failure (as moto does), then undone
        ])  # fmt: skip

    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed", "None"]
    assert (value(dynamodb, "a"), value(dynamodb, "b"), value(dynamodb, "c")) == (
        "old",
        None,
        "old",
    )
    assert backend_table() is table  # rolled back item by item, not by swapping in a copy


def test_a_repeated_request_token_is_the_same_success_applied_once(dynamodb):
    marker = put("e1", "1", condition="attribute_not_exists(pk)")
    dynamodb.transact_write_items(TransactItems=[marker], ClientRequestToken="t-1")

    dynamodb.transact_write_items(TransactItems=[marker], ClientRequestToken="t-1")  # a retry
    with pytest.raises(ClientError) as raised:  # a new request: the condition fails
        dynamodb.transact_write_items(TransactItems=[marker], ClientRequestToken="t-2")

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert value(dynamodb, "e1") == "1"


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p"},
    {"KeyConditionExpression": "pk = :p", "ScanIndexForward": False, "Limit": 2},
    {"KeyConditionExpression": "pk = :p AND sk > :s",
     "ExpressionAttributeValues": {":s": {"S": "2"}}},
    {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
     "ExpressionAttributeValues": {":s": {"S": "1"}}},
    {"KeyConditionExpression": "pk = :p", "FilterExpression": "v = :v",
     "ExpressionAttributeValues": {":v": {"S": "odd"}}},
]  # fmt: skip


def every_page(client: Any, pk: str, query: dict[str, Any]) -> list[list[dict[str, Any]]]:
    values = {":p": {"S": pk}, **query.get("ExpressionAttributeValues", {})}
    kwargs = {**query, "TableName": TABLE, "ExpressionAttributeValues": values}
    pages = []
    while True:
        page = client.query(**kwargs)
        pages.append(page["Items"])
        if "LastEvaluatedKey" not in page:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_query_reads_only_its_partition_and_answers_as_moto_does(dynamodb, monkeypatch):
    for pk in ("a", "b", "c"):
        for n in range(12):
            item = {
                "pk": {"S": pk},
                "sk": {"S": f"{n:02d}"},
                "v": {"S": "odd" if n % 2 else "even"},
            }
            dynamodb.put_item(TableName=TABLE, Item=item)
    whole_table_reads = []
    original = moto_server._original_all_items

    def spied(table: Any) -> Any:
        whole_table_reads.append(table)
        return original(table)

    monkeypatch.setattr(moto_server, "_original_all_items", spied)

    answers = [every_page(dynamodb, pk, q) for pk in ("b", "none") for q in QUERIES]
    assert whole_table_reads == []
    moto_server.uninstall()  # plain moto
    expected = [every_page(dynamodb, pk, q) for pk in ("b", "none") for q in QUERIES]

    assert answers == expected
    assert [item["sk"]["S"] for item in answers[1][0]] == ["11", "10"]  # newest first, limit 2


def test_a_request_token_is_forgotten_after_ten_minutes(dynamodb, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(moto_server, "_tokens", {})  # this test's tokens only
    monkeypatch.setattr(moto_server.time, "monotonic", lambda: clock[0])
    marker = put("e2", "1", condition="attribute_not_exists(pk)")
    dynamodb.transact_write_items(TransactItems=[marker], ClientRequestToken="old")
    clock[0] += 300
    dynamodb.transact_write_items(TransactItems=[put("e3", "1")], ClientRequestToken="newer")

    clock[0] += moto_server.TOKEN_TTL_S - 299  # "old" is 601 s old, "newer" 301 s
    dynamodb.transact_write_items(TransactItems=[put("e4", "1")], ClientRequestToken="newest")
    with pytest.raises(ClientError):  # "old" was forgotten: a new request, whose condition fails
        dynamodb.transact_write_items(TransactItems=[marker], ClientRequestToken="old")

    remembered = {token for (_, _, token) in moto_server._tokens}
    assert {"newer", "newest"} <= remembered
    assert "old" not in remembered


def test_items_moto_creates_are_not_kept_beyond_the_tables(dynamodb):
    from moto.dynamodb.models.dynamo_type import Item

    for n in range(20):
        dynamodb.transact_write_items(TransactItems=[put(f"k{n}", "1")])
        dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": {"S": f"k{n}"}})  # fmt: skip

    assert list(Item.instances_tracked) == []  # moto would keep every item and copy it made
    assert value(dynamodb, "k19") == "1"


def test_a_query_of_an_index_reads_the_whole_index(dynamodb):
    dynamodb.update_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "v", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by-v",
            "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }}],
    )  # fmt: skip
    for pk in ("a", "b", "c"):
        dynamodb.put_item(**put(pk, "1")["Put"])

    page = dynamodb.query(TableName=TABLE, IndexName="by-v", KeyConditionExpression="v = :v",
                          ExpressionAttributeValues={":v": {"S": "1"}})  # fmt: skip

    assert sorted(item["pk"]["S"] for item in page["Items"]) == ["a", "b", "c"]


def test_the_patches_refuse_a_moto_they_were_not_written_for():
    moto_server.check_moto_version(moto_server.PATCHED_FOR[0])  # passes

    with pytest.raises(moto_server.MotoVersionError) as raised:
        moto_server.check_moto_version("5.3.0")

    message = str(raised.value)
    assert "moto 5.3.0 is installed" in message
    assert f"as they are in moto {moto_server.PATCHED_FOR[0]}" in message


def test_the_pinned_moto_is_one_the_patches_were_written_for():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = {
        requirement.split("==")[1]
        for extra in pyproject["project"]["optional-dependencies"].values()
        for requirement in extra
        if requirement.startswith("moto")
    }
    assert pins, "no moto pin in pyproject.toml"
    assert pins <= set(moto_server.PATCHED_FOR)
