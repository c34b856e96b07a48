"""The ``events`` function's Lambda handler (see :func:`lambdas.api.apps.handler_for`)."""

from lambdas.api.apps import handler_for

lambda_handler = handler_for("events")
