"""The ``catalog`` function's Lambda handler: the routes of :mod:`lambdas.api.catalog`."""

from lambdas.api import catalog
from lambdas.api.resolver import handler_for

lambda_handler = handler_for("catalog", catalog.router)
