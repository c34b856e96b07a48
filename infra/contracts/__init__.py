"""Checks of what the app synthesizes against AWS's own contracts, runnable without credentials
(``infra.contracts.sfn``: a state machine definition against Step Functions' integrations, the
intrinsic functions and the botocore service models)."""
