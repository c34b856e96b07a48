"""The second reference server for the inference benchmark: FastAPI on uvicorn, what teams pick
today.

It mirrors the Flask reference (:mod:`bench.reference_server`): the same ``/ping`` and
``/invocations``, the same request and response JSON (parsed and written with :mod:`json`), the
same model and feature encoding (:func:`container.predictor.load_predictor`, then
``GenrePredictor.rank``), loaded once per worker at start. Only the serving stack differs:
FastAPI's ``async`` path operations (the model runs on the event loop, no thread-pool hop) on
uvicorn's worker processes, with uvloop and httptools (uvicorn picks them when installed):

    MUSICREC_MODEL_DIR=DIR python -m uvicorn --factory --workers 2 --port 8082 \\
        bench.reference_fastapi:create_app
"""

from __future__ import annotations

import json
import os
from typing import Any

import fastapi

from container.predictor import GenrePredictor, load_predictor

JSON = "application/json"


def predictions(model: GenrePredictor, doc: dict[str, Any]) -> dict[str, Any]:
    """The response body for one request document, built as the Flask reference builds it."""
    if "instances" in doc:
        results = model.rank(doc["instances"], int(doc.get("top_k", 3)))
        return {"predictions": results, "model_version": model.model_version}
    top_k = int(doc.pop("top_k", 3))
    return {**model.rank([doc], top_k)[0], "model_version": model.model_version}


def create_app() -> fastapi.FastAPI:
    """The app factory each uvicorn worker calls; the model directory comes from the environment."""
    model = load_predictor(os.environ["MUSICREC_MODEL_DIR"])  # at worker start, like the others
    app = fastapi.FastAPI()

    @app.get("/ping")
    async def ping() -> fastapi.Response:
        return fastapi.Response(content="\n", status_code=200, media_type=JSON)

    @app.post("/invocations")
    async def invocations(request: fastapi.Request) -> fastapi.Response:
        if request.headers.get("content-type") != JSON:
            return fastapi.Response(
                content="This predictor only supports JSON data",
                status_code=415,
                media_type="text/plain",
            )
        doc = json.loads((await request.body()).decode("utf-8"))
        return fastapi.Response(content=json.dumps(predictions(model, doc)), media_type=JSON)

    return app
