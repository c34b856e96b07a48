"""The local moto server's DynamoDB transactions: moto's results and errors, without copying the
tables they name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from local import moto_server

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
