"""Lambda entry points, one module per function of :mod:`lambdas.routes`."""
