"""Ready-to-paste curl commands for every route of the API, with ids that exist in the loaded
data (a listener with personal lists, a song, an artist, a region and genres of the dataset), so
each one answers with real content on the synthetic world and on an imported dataset alike."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lambdas.store.batch_source import BatchSource
from local.stack import Stack

NEW_LISTENER = "new-listener-1"


@dataclass(frozen=True)
class Ids:
    """Ids of the data behind the examples."""

    listener: str
    song: str
    artist: str
    region: str
    genres: tuple[str, ...]


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
    )


def curl_commands(stack: Stack, found: Ids) -> list[str]:
    """One curl command per route (the personal one twice: a known and a new listener)."""
    base = stack.gateway_url
    app = f"-H 'x-api-key: {stack.api_key}' -H 'Content-Type: application/json'"
    admin = f"-H 'x-admin-key: {stack.admin_key}' -H 'Content-Type: application/json'"
    answers = {"user_id": NEW_LISTENER, "age": 24, "gender": "f", "region": found.region,
               "selected_genres": list(found.genres)}  # fmt: skip
    play = {"events": [{"event_id": "example-1", "user_id": found.listener, "type": "play",
                        "item_id": found.song}]}  # fmt: skip

    def body(document: dict[str, Any]) -> str:
        return shlex.quote(json.dumps(document))

    return [
        f"curl -s {app} -X POST {base}/v1/onboarding/recommendations -d {body(answers)}",
        f"curl -s {app} '{base}/v1/users/{NEW_LISTENER}/recommendations?limit=5'",
        f"curl -s {app} '{base}/v1/users/{found.listener}/recommendations?kind=songs&limit=5'",
        f"curl -s {app} '{base}/v1/users/{found.listener}/artists?limit=5'",
        f"curl -s {app} '{base}/v1/items/{found.song}/similar?limit=5'",
        f"curl -s {app} '{base}/v1/artists/{found.artist}/similar?limit=5'",
        f"curl -s {app} -X POST {base}/v1/events -d {body(play)}",
        f"curl -s {admin} -X PUT {base}/v1/catalog/items/{found.song}/availability "
        f"-d {body({'available': True})}",
    ]
