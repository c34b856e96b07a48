"""Rare answer values: counted per field in process, written as CloudWatch EMF lines at most once
per interval and at shutdown, logged once per distinct value, and kept out of the answers'
``warnings`` (which still name values never seen in training). Driven through the real ASGI app
and predictor, serving a model trained on a tiny dataset with a planted rare region."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from container.app import InferenceApp
from container.metrics import RareValueMetrics, emf_lines
from container.predictor import GenrePredictor, load_predictor
from container.protocol import Instance
from tests.container.conftest import running_server
from tests.training.model.conftest import FAST_HP
from tests.training.model.tiny import build_tiny
from training.data.dataset_io import read_table, write_table
from training.model.artifact import Artifact, load_artifact
from training.model.features import RareValue
from training.model.hyperparams import Hyperparameters
from training.model.train import train

ANSWERS = {"age": 24, "gender": "f", "region": "north", "selected_genres": ["Jazz"]}
RARE_REGION = "isle"  # given to the three earliest users: fewer than min_level_count (5)
NEVER_SEEN = "never-land"


def _emf(field: str, count: int, timestamp_ms: int) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": "MusicRec/Inference",
                    "Dimensions": [["Field"]],
                    "Metrics": [{"Name": "RareAnswerValues", "Unit": "Count"}],
                }
            ],
        },
        "Field": field,
        "RareAnswerValues": count,
    }


def _documents(written: list[str]) -> list[list[dict[str, Any]]]:
    """Each write as its EMF documents (each line one JSON object, the write ending in one)."""
    out = []
    for text in written:
        assert text.endswith("\n")
        out.append([orjson.loads(line) for line in text.splitlines()])
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rare")
    data = build_tiny(root / "data", n_users=600)
    users = read_table(data, "users")
    first = pc.less(pa.array(range(users.num_rows)), 3)
    region = pc.if_else(first, RARE_REGION, users.column("region"))
    write_table(
        data, "users", users.set_column(users.schema.get_field_index("region"), "region", region)
    )
    code, result = train(
        data, root / "model", Hyperparameters.from_overrides(FAST_HP), progress=False, verbose=False
    )
    assert code == 0, result.gate.reason
    return root / "model"


@pytest.fixture(scope="module")
def artifact(model_dir: Path) -> Artifact:
    return load_artifact(model_dir)


@pytest.fixture(scope="module")
def seen(artifact: Artifact) -> int:
    """How many training users had the rare region, as the model remembers it."""
    region = next(b for b in artifact.spec.blocks if b.source == "region")
    assert RARE_REGION not in region.levels
    return dict(region.dropped)[RARE_REGION]


def _rare_note(seen: int) -> str:
    return (
        f"region: {RARE_REGION!r} seen {seen} times in training, fewer than the minimum 5: "
        "treated as missing"
    )


# the EMF document and the counter --------------------------------------------------------------


def test_emf_lines_are_one_document_per_field_sorted():
    text = emf_lines({"zip_prefix": 3, "occupation": 1}, 1_733_500_000_000)
    assert _documents([text]) == [
        [_emf("occupation", 1, 1_733_500_000_000), _emf("zip_prefix", 3, 1_733_500_000_000)]
    ]


def test_counts_are_per_field_and_each_value_is_logged_once(caplog):
    written: list[str] = []
    metrics = RareValueMetrics(write=written.append, clock=lambda: 1_733_500_000.5)
    a = RareValue("zip", "123", 3, "zip: '123' seen 3 times ...")
    b = RareValue("zip", "456", 1, "zip: '456' seen 1 times ...")
    c = RareValue("job", "poet", 2, "job: 'poet' seen 2 times ...")
    metrics.count([a, c])
    metrics.count([a, b])
    with caplog.at_level(logging.INFO, logger="container.metrics"):
        metrics.flush()
        metrics.count([a])
        metrics.flush()
        metrics.flush()  # nothing counted: nothing written
    assert _documents(written) == [
        [_emf("job", 1, 1_733_500_000_500), _emf("zip", 3, 1_733_500_000_500)],
        [_emf("zip", 1, 1_733_500_000_500)],
    ]
    assert [r.getMessage() for r in caplog.records] == [a.note, c.note, b.note]
    assert {r.levelno for r in caplog.records} == {logging.INFO}


def test_a_failing_write_is_logged_and_its_counts_dropped(caplog):
    def broken(text: str) -> None:
        raise OSError("stdout closed")

    metrics = RareValueMetrics(write=broken)
    metrics.count([RareValue("zip", "123", 3, "note")])
    with caplog.at_level(logging.WARNING, logger="container.metrics"):
        metrics.flush()  # does not raise
    [record] = caplog.records
    assert record.getMessage() == (
        "rare answer values of 1 fields not reported: writing the metric failed"
    )
    assert metrics.take() == ({}, [])


# the predictor ---------------------------------------------------------------------------------


def test_a_rare_answer_is_counted_not_warned_and_a_never_seen_one_is_warned(artifact, seen):
    metrics = RareValueMetrics(write=lambda text: None)
    predictor = GenrePredictor(artifact, metrics)
    rare, unknown, plain = predictor.predict(
        [
            Instance(**{**ANSWERS, "region": RARE_REGION}),
            Instance(**{**ANSWERS, "region": NEVER_SEEN}),
            Instance(**ANSWERS),
        ],
        3,
    )
    assert rare["warnings"] == []
    assert unknown["warnings"] == [
        f"region: {NEVER_SEEN!r} never seen in training: treated as missing"
    ]
    assert plain["warnings"] == []
    # the rare region encodes as missing, like one never seen
    assert rare["genres"] == unknown["genres"]
    assert metrics.take() == ({"region": 1}, [_rare_note(seen)])


# the app: counting, flushing once per interval and at shutdown --------------------------------


class _Running:
    """The app's lifespan running in the current event loop, and HTTP requests to it."""

    def __init__(self, app: InferenceApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.lifespan_sent: list[dict[str, Any]] = []

    async def start(self) -> None:
        async def send(message: dict[str, Any]) -> None:
            self.lifespan_sent.append(message)

        self.task = asyncio.create_task(self.app({"type": "lifespan"}, self.inbox.get, send))
        await self.inbox.put({"type": "lifespan.startup"})
        while not self.lifespan_sent:
            await asyncio.sleep(0.001)
        assert self.lifespan_sent == [{"type": "lifespan.startup.complete"}]

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.task
        assert self.lifespan_sent[-1] == {"type": "lifespan.shutdown.complete"}

    async def invoke(self, doc: dict[str, Any]) -> dict[str, Any]:
        sent: list[dict[str, Any]] = []
        body = [{"type": "http.request", "body": orjson.dumps(doc), "more_body": False}]

        async def receive() -> dict[str, Any]:
            return body.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/invocations",
            "headers": [(b"content-type", b"application/json")],
        }
        await self.app(scope, receive, send)
        assert sent[0]["status"] == 200
        return dict(orjson.loads(sent[1]["body"]))


def test_the_app_answers_without_the_rare_note_and_flushes_its_count_at_shutdown(
    model_dir, seen, caplog
):
    written: list[str] = []
    metrics = RareValueMetrics(write=written.append, clock=lambda: 1_733_500_000.0)
    app = InferenceApp(lambda: load_predictor(model_dir, metrics), metrics)

    async def scenario() -> list[dict[str, Any]]:
        running = _Running(app)
        await running.start()
        answers = [
            await running.invoke({**ANSWERS, "region": RARE_REGION}),
            await running.invoke({"instances": [{**ANSWERS, "region": RARE_REGION}] * 2}),
            await running.invoke({**ANSWERS, "region": NEVER_SEEN}),
        ]
        assert written == []  # nothing before the minute is up
        await running.stop()
        return answers

    with caplog.at_level(logging.INFO, logger="container.metrics"):
        one, batch, never = asyncio.run(scenario())
    assert one["warnings"] == []
    assert [p["warnings"] for p in batch["predictions"]] == [[], []]
    assert never["warnings"] == [
        f"region: {NEVER_SEEN!r} never seen in training: treated as missing"
    ]
    assert _documents(written) == [[_emf("region", 3, 1_733_500_000_000)]]
    assert [r.getMessage() for r in caplog.records] == [_rare_note(seen)]


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_the_app_flushes_at_most_once_per_interval_off_the_request_path(model_dir):
    written: list[str] = []
    metrics = RareValueMetrics(write=written.append, clock=lambda: 1_733_500_000.0)
    app = InferenceApp(lambda: load_predictor(model_dir, metrics), metrics, flush_every_s=0.1)

    async def scenario() -> None:
        running = _Running(app)
        await running.start()
        await running.invoke({"instances": [{**ANSWERS, "region": RARE_REGION}] * 2})
        await _until(lambda: len(written) == 1)  # the next tick writes, no request needed
        await asyncio.sleep(0.35)  # quiet intervals write nothing
        assert len(written) == 1
        await running.invoke({**ANSWERS, "region": RARE_REGION})
        await running.stop()

    asyncio.run(scenario())
    assert _documents(written) == [
        [_emf("region", 2, 1_733_500_000_000)],
        [_emf("region", 1, 1_733_500_000_000)],
    ]


def test_a_failing_metric_write_never_fails_a_request_or_the_shutdown(model_dir, caplog):
    def broken(text: str) -> None:
        raise OSError("stdout closed")

    metrics = RareValueMetrics(write=broken)
    app = InferenceApp(lambda: load_predictor(model_dir, metrics), metrics, flush_every_s=0.05)

    async def scenario() -> list[dict[str, Any]]:
        running = _Running(app)
        await running.start()
        first = await running.invoke({**ANSWERS, "region": RARE_REGION})
        await _until(lambda: len(caplog.records) == 1)  # the periodic write failed
        second = await running.invoke({**ANSWERS, "region": RARE_REGION})
        await running.stop()  # and so does the last one
        return [first, second]

    with caplog.at_level(logging.WARNING, logger="container.metrics"):
        first, second = asyncio.run(scenario())
    assert first["warnings"] == second["warnings"] == []
    assert [r.getMessage() for r in caplog.records] == [
        "rare answer values of 1 fields not reported: writing the metric failed"
    ] * 2


def test_the_server_process_writes_the_emf_line_to_stdout_and_the_note_to_stderr(model_dir, seen):
    with running_server(model_dir, workers=1) as server:
        rare = server.post_json("/invocations", {**ANSWERS, "region": RARE_REGION})
        assert (rare.status, rare.json()["warnings"]) == (200, [])
        process = server.process
    out, err = process.communicate()  # stopped by SIGTERM: the lifespan shutdown flushed
    [line] = [orjson.loads(text) for text in out.decode().splitlines() if text.startswith("{")]
    timestamp = line["_aws"]["Timestamp"]
    assert isinstance(timestamp, int)
    assert line == _emf("region", 1, timestamp)
    assert f"INFO container.metrics: {_rare_note(seen)}" in err.decode().splitlines()
