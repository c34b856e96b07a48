"""What the console's routes share: an AWS call that fails as a 503 naming the service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.api.errors import ApiError
from lambdas.store.dynamodb import UnreadError

logger = Logger(service="musicrec")


@contextmanager
def upstream(service: str, action: str) -> Iterator[None]:
    """A failed AWS call (an error answer, none in time, or keys a batch read left unread
    after its retries) as a 503 ``upstream_unavailable`` naming the service and the action."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        logger.exception("AWS call failed", extra={"upstream": service, "aws_error": code})
        raise ApiError(503, "upstream_unavailable",
                       f"{service} {action} failed ({code}); retry later") from exc  # fmt: skip
    except (BotoCoreError, UnreadError) as exc:
        logger.exception("AWS call failed", extra={"upstream": service, "aws_error": str(exc)})
        raise ApiError(503, "upstream_unavailable",
                       f"{service} {action} did not answer; retry later") from exc  # fmt: skip
