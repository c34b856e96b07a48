"""The reference server for the inference benchmark: SageMaker's bring-your-own-container layout.

A Flask app with ``/ping`` and ``/invocations`` run by gunicorn's sync workers, as in SageMaker's
``scikit_bring_your_own`` example (which puts nginx in front; here gunicorn listens directly,
which only helps it). It serves the same model with the same feature encoding
(:class:`container.predictor.GenrePredictor`), so the comparison measures the serving stack:

    MUSICREC_MODEL_DIR=DIR gunicorn -w 2 -b 127.0.0.1:8081 'bench.reference_server:create_app()'
"""

from __future__ import annotations

import json
import os

import flask

from container.predictor import GenrePredictor, load_predictor


class ScoringService:
    """The example's singleton holding the model, loaded on first use."""

    model: GenrePredictor | None = None

    @classmethod
    def get_model(cls) -> GenrePredictor:
        if cls.model is None:
            cls.model = load_predictor(os.environ["MUSICREC_MODEL_DIR"])
        return cls.model


def create_app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.route("/ping", methods=["GET"])
    def ping() -> flask.Response:
        healthy = ScoringService.get_model() is not None
        return flask.Response(
            response="\n", status=200 if healthy else 404, mimetype="application/json"
        )

    @app.route("/invocations", methods=["POST"])
    def invocations() -> flask.Response:
        if flask.request.content_type != "application/json":
            return flask.Response(
                response="This predictor only supports JSON data", status=415, mimetype="text/plain"
            )
        doc = json.loads(flask.request.data.decode("utf-8"))
        model = ScoringService.get_model()
        if "instances" in doc:
            results = model.rank(doc["instances"], int(doc.get("top_k", 3)))
            body = {"predictions": results, "model_version": model.model_version}
        else:
            top_k = int(doc.pop("top_k", 3))
            body = {**model.rank([doc], top_k)[0], "model_version": model.model_version}
        return flask.Response(response=json.dumps(body), status=200, mimetype="application/json")

    ScoringService.get_model()  # load at worker start, like our server
    return app
