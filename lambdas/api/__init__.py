"""The HTTP API: one Powertools resolver factory with the error contract, and a router per
function (route group). Handlers in :mod:`lambdas.handlers` are thin: a resolver with one router.

Every error is JSON ``{"code", "message"[, "field"]}`` with a stable ``code``; validation never
produces a 5xx.
"""
