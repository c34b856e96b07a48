"""Ready-to-paste curl commands for every route of the API, with ids that exist in the loaded
data (a listener with personal lists, a song, an artist, a region and genres of the dataset), so
each one answers with real content on the synthetic world and on an imported dataset alike.

Each carries what its route needs in the stack's access mode: the API key and the ID token of
the listener it acts for (``$(.venv/bin/python -m local.token --user ID)``, a fresh token each
time it runs) in the listener mode, the API key and a SigV4 signature by the local credentials
(curl's ``--aws-sigv4``) in the server mode; the catalogue's admin route, the admin key; the
console's admin routes, the local operator's ID token (``local.token --operator``)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lambdas.store.batch_source import BatchSource
from local.authorisers import SERVICE
from local.aws import CREDENTIALS, REGION
from local.cognito import TOKEN_HEADER
from local.stack import Stack

NEW_LISTENER = "new-listener-1"
TOKEN_COMMAND = ".venv/bin/python -m local.token"


@dataclass(frozen=True)
class Ids:
    """Ids of the data behind the examples."""

    listener: str
    song: str
    artist: str
    region: str
    genres: tuple[str, ...]
    version: str = "VERSION"  # the batch version loaded (the rollback's expected active one)


def _first(source: BatchSource, manifest: dict[str, Any], family: str, key: str) -> str:
    for entry in manifest["families"][family]["files"]:
        for record in source.records(entry):
            return str(record[key])
    raise ValueError(f"{source.location}: no {family} record")


def ids(data: Path, version_dir: Path) -> Ids:
    """A listener, song and artist of the batch version; a region and genres of the dataset."""
    source = BatchSource(str(version_dir))
    manifest = source.manifest()
    users = pq.read_table(data / "users.parquet", columns=["region", "selected_genres"])
    region, genres = "*", ()
    for row in users.slice(0, 1000).to_pylist():
        if row["region"] and row["selected_genres"]:
            region, genres = row["region"], tuple(row["selected_genres"][:2])
            break
    return Ids(
        listener=_first(source, manifest, "personal", "user_id"),
        song=_first(source, manifest, "similar-items", "item_id"),
        artist=_first(source, manifest, "similar-artists", "artist_id"),
        region=region,
        genres=genres,
        version=str(manifest["version"]),
    )


def token_command(stack: Stack, listener: str) -> str:
    """The shell command printing ``listener``'s ID token on the stack's local AWS."""
    where = "" if stack.root == Stack.root else f" --dir {shlex.quote(stack.root)}"
    return f"{TOKEN_COMMAND}{where} --user {shlex.quote(listener)}"


def operator_headers(stack: Stack) -> str:
    """curl's options for the console's admin routes: the local operator's ID token."""
    where = "" if stack.root == Stack.root else f" --dir {shlex.quote(stack.root)}"
    token = f"{TOKEN_COMMAND}{where} --operator"
    return f"-H 'Content-Type: application/json' -H \"{TOKEN_HEADER}: $({token})\""


def access_note(stack: Stack) -> str:
    """What the app routes need besides the API key, in the stack's access mode."""
    if stack.access_mode == "listener":
        return f"{TOKEN_HEADER}: a listener's ID token from `{token_command(stack, 'ID')}`"
    key, secret = CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"]
    return f"SigV4 ({SERVICE}, {REGION}) with access key {key!r}, secret {secret!r}"


def app_headers(stack: Stack, listener: str) -> str:
    """curl's options for an app route acting for ``listener`` in the stack's access mode."""
    key = f"-H 'x-api-key: {stack.api_key}' -H 'Content-Type: application/json'"
    if stack.access_mode == "listener":
        return f'{key} -H "{TOKEN_HEADER}: $({token_command(stack, listener)})"'
    credentials = f"{CREDENTIALS['aws_access_key_id']}:{CREDENTIALS['aws_secret_access_key']}"
    return f"{key} --aws-sigv4 'aws:amz:{REGION}:{SERVICE}' --user '{credentials}'"


def curl_commands(stack: Stack, found: Ids) -> list[str]:
    """One curl command per route (the personal one twice: a known and a new listener), each
    with the headers its route needs, acting for the listener it names."""
    base = stack.gateway_url
    admin = f"-H 'x-admin-key: {stack.admin_key}' -H 'Content-Type: application/json'"
    answers = {"user_id": NEW_LISTENER, "age": 24, "gender": "f", "region": found.region,
               "selected_genres": list(found.genres)}  # fmt: skip
    play = {"events": [{"event_id": "example-1", "user_id": found.listener, "type": "play",
                        "item_id": found.song}]}  # fmt: skip

    def body(document: dict[str, Any]) -> str:
        return shlex.quote(json.dumps(document))

    new, known = app_headers(stack, NEW_LISTENER), app_headers(stack, found.listener)
    operator, console = operator_headers(stack), f"{base}/v1/admin"
    return [
        f"curl -s {new} -X POST {base}/v1/onboarding/recommendations -d {body(answers)}",
        f"curl -s {new} '{base}/v1/users/{NEW_LISTENER}/recommendations?limit=5'",
        f"curl -s {known} '{base}/v1/users/{found.listener}/recommendations?kind=songs&limit=5'",
        f"curl -s {known} '{base}/v1/users/{found.listener}/artists?limit=5'",
        f"curl -s {known} '{base}/v1/users/{found.listener}/home?limit=5&carousels=4'",
        f"curl -s {known} '{base}/v1/items/{found.song}/similar?limit=5'",
        f"curl -s {known} '{base}/v1/artists/{found.artist}/similar?limit=5'",
        f"curl -s {known} -X POST {base}/v1/events -d {body(play)}",
        f"curl -s {admin} -X PUT {base}/v1/catalog/items/{found.song}/availability "
        f"-d {body({'available': True})}",
        f"curl -s {operator} '{console}/traffic?hours=1&period=60'",
        f"curl -s {operator} '{console}/experiments?days=7'",
        f"curl -s {operator} '{console}/kpis?days=7'",
        f"curl -s {operator} {console}/models",
        f"curl -s {operator} -X POST {console}/preview/onboarding -d {body(answers)}",
        f"curl -s {operator} {console}/listeners/{found.listener}/preview",
        f"curl -s {operator} -X POST {console}/batch/rollback "
        f"-d {body({'expected_active': found.version})}",
    ]
