"""The ``admin`` function's Lambda handler: the console's operator routes of
:mod:`lambdas.api.admin` (traffic, experiments, KPIs, models and batch versions, previews)."""

from lambdas.api.admin import experiments, kpis, models, preview, traffic
from lambdas.api.resolver import handler_for

lambda_handler = handler_for(
    "admin", traffic.router, experiments.router, kpis.router, models.router, preview.router
)
