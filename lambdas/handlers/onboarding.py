"""The ``onboarding`` function's Lambda handler: the routes of :mod:`lambdas.api.onboarding`."""

from lambdas.api import onboarding
from lambdas.api.resolver import handler_for

lambda_handler = handler_for("onboarding", onboarding.router)
