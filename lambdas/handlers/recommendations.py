"""The ``recommendations`` function's Lambda handler: the routes of
:mod:`lambdas.api.recommendations`."""

from lambdas.api import recommendations
from lambdas.api.resolver import handler_for

lambda_handler = handler_for("recommendations", recommendations.router)
