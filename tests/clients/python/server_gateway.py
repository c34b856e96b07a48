"""``python -m tests.clients.python.server_gateway --dir DIR --port PORT``: serve the running
local stack of ``DIR`` through a gateway in the ``server`` access mode (SigV4-signed app routes,
as ``make local ACCESS=server``) on ``PORT``, until terminated."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace

from local import cognito
from local.stack import Stack
from local.up import Pools, start_gateway


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    stack = replace(Stack.load(args.dir), access_mode="server", gateway_port=args.port)
    operators = cognito.find_pool(stack.aws_url, cognito.OPERATORS)  # made by the stack
    server = start_gateway(stack, Pools(None, operators))  # the SigV4 authoriser
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
