"""``python -m local.token --user ID``: print a listener's ID token for the running local stack
(the listeners' user pool on its local AWS; the listener's user is created on first use), one
line and nothing else on stdout, so that ``TOKEN=$(.venv/bin/python -m local.token --user u1)``
works. Send it as the ``Authorization`` header; it is valid for an hour. ``--operator``: the
local operator's token instead (the operators' pool: the console's admin routes).

Local AWS is the one of the stack in ``--dir`` (its ``stack.json``), else ``--endpoint-url``,
else ``AWS_ENDPOINT_URL``, else http://127.0.0.1:4566. Errors go to stderr, exit code 1."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from local import aws
from local.cognito import CognitoError, listener_token, operator_token
from local.stack import Stack


def endpoint(directory: str, explicit: str | None) -> str:
    """The local AWS endpoint: ``explicit``, that of the stack in ``directory``, the
    environment's ``AWS_ENDPOINT_URL``, or the default one."""
    if explicit:
        return explicit.rstrip("/")
    if (Path(directory) / "stack.json").is_file():
        return Stack.load(directory).aws_url
    return (os.environ.get("AWS_ENDPOINT_URL") or aws.URL).rstrip("/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.token", description=__doc__.split("\n")[0]
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the listener id (the token's custom:listener_id)")
    who.add_argument(
        "--operator", action="store_true", help="the local operator (the console's routes)"
    )
    parser.add_argument(
        "--dir", default=".local", help="the local stack's directory (make local's)"
    )
    parser.add_argument("--endpoint-url", help="local AWS instead of the stack's")
    args = parser.parse_args(argv)
    if args.user is not None and not args.user.strip():
        print("local.token: --user: a listener id, not blank", file=sys.stderr)
        return 1
    try:
        url = endpoint(args.dir, args.endpoint_url)
        token = operator_token(url) if args.operator else listener_token(args.user, url)
    except (CognitoError, OSError, ValueError) as exc:
        print(f"local.token: {exc}", file=sys.stderr)
        print("local.token: is the local stack running (`make local`, listener access mode)?",
              file=sys.stderr)  # fmt: skip
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
