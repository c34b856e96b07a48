"""The curl commands `make local` prints: one per route, with ids of the loaded data."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import shlex
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from lambdas.routes import ROUTES
from local.examples import NEW_LISTENER, Ids, curl_commands, ids
from local.gateway import match
from local.stack import Stack

FAMILIES = {
    "personal": {"user_id": "u42", "ids": ["s7"], "scores": [1.0]},
    "similar-items": {"item_id": "s7", "ids": ["s8"], "scores": [0.5]},
    "similar-artists": {"artist_id": "a3", "ids": ["a4"], "scores": [0.5]},
}


def _version(root):
    """A batch version as docs/batch-format.md lays it out (the families the examples read)."""
    families = {}
    for family, record in FAMILIES.items():
        path = root / family / "part-00000.jsonl.gz"
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(json.dumps(record).encode() + b"\n"))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entry = {"path": f"{family}/{path.name}", "records": 1, "sha256": digest}
        families[family] = {"records": 1, "files": [entry]}
    (root / "manifest.json").write_text(json.dumps({"version": root.name, "families": families}))
    return root


def _users(data):
    data.mkdir()
    users = pa.table({"region": [None, "us-tx"], "selected_genres": [["Rock"], ["Jazz", "Rock"]]})
    pq.write_table(users, data / "users.parquet")
    return data


def test_ids_come_from_the_lists_and_the_dataset(tmp_path):
    found = ids(_users(tmp_path / "data"), _version(tmp_path / "local-1"))
    assert found == Ids("u42", "s7", "a3", "us-tx", ("Jazz", "Rock"), version="local-1")


def _parse(command):
    words = shlex.split(command)
    method, headers, body = "GET", {}, None
    for flag, value in itertools.pairwise(words):
        if flag == "-X":
            method = value
        elif flag == "-H":
            name, _, text = value.partition(": ")
            headers[name] = text
        elif flag == "-d":
            body = json.loads(value)
    url = next(word for word in words if word.startswith("http"))
    return method, urlsplit(url), headers, body


def test_every_route_has_a_command_with_its_key_and_a_json_body():
    stack = Stack(api_key="app-key", admin_key="admin-key")
    commands = curl_commands(stack, Ids("u42", "s7", "a3", "us-tx", ("Jazz",)))
    covered = set()
    for command in commands:
        method, url, headers, body = _parse(command)
        assert f"{url.scheme}://{url.netloc}" == stack.gateway_url
        route, params = match(method, url.path)
        covered.add(route)
        if route.operator_auth == "token" and route.admin:  # the console's: an operator's token
            assert headers["Authorization"] == "$(.venv/bin/python -m local.token --operator)"
            assert "x-api-key" not in headers
        else:
            key = ("x-admin-key", "admin-key") if route.admin else ("x-api-key", "app-key")
            assert headers[key[0]] == key[1]
        assert (body is not None) == (method in ("POST", "PUT"))
        assert set(params.values()) <= {"u42", "s7", "a3", NEW_LISTENER}
    assert covered == set(ROUTES)


def _acting_for(url, body):
    """The listener a command's request acts for: its path's, its body's or its event's."""
    _, params = match("GET", url.path) or match("POST", url.path) or (None, {})
    if "userId" in params:
        return params["userId"]
    if body and "user_id" in body:
        return body["user_id"]
    if body and "events" in body:
        return body["events"][0]["user_id"]
    return None


def test_listener_routes_carry_the_token_of_the_listener_they_act_for():
    stack = Stack(api_key="app-key", admin_key="admin-key")
    for command in curl_commands(stack, Ids("u42", "s7", "a3", "us-tx", ("Jazz",))):
        method, url, headers, body = _parse(command)
        route, _ = match(method, url.path)
        if route.admin:
            assert route.operator_auth == "token" or "Authorization" not in headers
            continue
        listener = _acting_for(url, body) or "u42"  # similar songs and artists: a known one
        assert headers["Authorization"] == f"$(.venv/bin/python -m local.token --user {listener})"


def test_the_token_command_names_the_stack_s_directory_when_it_is_not_the_default():
    stack = Stack(root="/tmp/other stack")
    _, _, headers, _ = _parse(curl_commands(stack, Ids("u42", "s7", "a3", "*", ()))[2])
    token = headers["Authorization"]
    assert token == "$(.venv/bin/python -m local.token --dir '/tmp/other stack' --user u42)"


def test_in_the_server_mode_app_routes_are_signed_by_curl():
    stack = Stack(access_mode="server")
    for command in curl_commands(stack, Ids("u42", "s7", "a3", "us-tx", ("Jazz",))):
        method, url, headers, _ = _parse(command)
        route, _ = match(method, url.path)
        assert ("Authorization" in headers) == (route.operator_auth == "token" and route.admin)
        words = shlex.split(command)
        signed = "--aws-sigv4" in words
        assert signed == (not route.admin)
        if signed:
            assert words[words.index("--aws-sigv4") + 1] == "aws:amz:us-east-1:execute-api"
            assert words[words.index("--user") + 1] == "test:test"
