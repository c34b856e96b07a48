"""The ``events`` function's Lambda handler: the routes of :mod:`lambdas.api.events`."""

from lambdas.api import events
from lambdas.api.resolver import handler_for

lambda_handler = handler_for("events", events.router)
