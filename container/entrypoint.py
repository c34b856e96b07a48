"""The image's entry point: SageMaker runs the image as ``<image> serve`` or ``<image> train``.

Exec form in the Dockerfile makes this the container's PID 1, so SIGTERM reaches the server.
"""

from __future__ import annotations

import sys

USAGE = "usage: (serve [serve options] | train [--prefix /opt/ml])"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("serve", "train"):
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from container.serve import main as serve

        return serve(rest)
    from training.pipeline.sagemaker_train import main as train

    return train(rest)


if __name__ == "__main__":
    sys.exit(main())
