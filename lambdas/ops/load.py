"""Load a batch version into DynamoDB and switch the active version: ``python -m lambdas.ops.load``.

``python -m lambdas.ops.load --batch DIR_OR_S3 [--table-prefix P | --lists-table T --state-table
T]`` writes every file of the version (parallel BatchWriteItem, unprocessed items retried with
backoff), records per file what it wrote, and switches the active version only when those records
add up to the manifest's counts. Rerunning is harmless (same keys, same items). ``--rollback`` makes
the previous version active again. Until the switch, readers keep the previous version: a load that
crashes midway changes nothing they see.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lambdas.store.batch_source import BatchError, BatchSource
from lambdas.store.loader import LoadError, Tables, load_version, rollback
from lambdas.store.tables import table


def _tables(args: argparse.Namespace) -> Tables:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5, read_timeout=30, retries={"max_attempts": 5, "mode": "adaptive"}
    )
    dynamodb = boto3.resource("dynamodb", config=config)
    return Tables(lists=dynamodb.Table(args.lists_table), state=dynamodb.Table(args.state_table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lambdas.ops.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--batch", help="the version: a directory or s3://bucket/prefix/VERSION")
    parser.add_argument("--lists-table", default=os.environ.get(table("lists").env_var))
    parser.add_argument("--state-table", default=os.environ.get(table("state").env_var))
    parser.add_argument(
        "--table-prefix", help="name both tables by their environment's prefix, e.g. musicrec-dev"
    )
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rollback", action="store_true", help="reactivate the previous version")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.table_prefix:
        args.lists_table = table("lists").physical_name(args.table_prefix)
        args.state_table = table("state").physical_name(args.table_prefix)
    if not args.lists_table or not args.state_table:
        parser.error("--lists-table and --state-table (or TABLE_LISTS and TABLE_STATE) are needed")
    if not args.rollback and not args.batch:
        parser.error("--batch is needed (or --rollback)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tables = _tables(args)
    try:
        if args.rollback:
            pointer = rollback(tables)
        else:
            s3 = None
            if args.batch.startswith("s3://"):
                import boto3
                from botocore.config import Config

                s3 = boto3.client("s3", config=Config(connect_timeout=5, read_timeout=60))
            pointer = load_version(
                BatchSource(args.batch, s3), tables, args.workers, not args.no_progress
            )
    except (BatchError, LoadError) as exc:
        print(f"load: {exc}; the active version is unchanged", file=sys.stderr)
        return 1
    print(f"active version: {pointer['version']} (previous: {pointer.get('previous')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
