"""What one delivery's refresh scans as the day fills up: a day of fabricated changes (the record
contract) delivered as Firehose objects, then, at several points of the day, one more object and
two refreshes of it: reading only the raw files order_events does not hold yet (what the
arrival sensor asks for) and rewriting the event day whole (what the refresh did before).
Prints Athena bytes scanned by each, by statement, with the day's raw bytes so far.

Run from the repository root: `PYTHONPATH=. .venv/bin/python benchmarks/refresh_within_day.py`.
The stack runs in this process (no data-plane workers). The local engine bills a Parquet file
whole, where Athena bills the columns it reads: the Parquet reads are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import Any

import boto3
from dagster_aws.s3 import S3Resource

from orders_pipeline import tables
from orders_pipeline.defs.analytics.refresh import Lake, refresh
from orders_pipeline.defs.catalog.crawler import run_crawler
from orders_pipeline.defs.resources import AthenaResource, DataLakeResource, GlueCatalogResource
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.local_stack.stack import LocalStack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steady_state_cost import contract_records, statement_kind  # noqa: E402

DAY = "2026-06-01"
RAW_PREFIX = "raw/orders_raw/"


class Scanned:
    """The Athena queries of the primary workgroup since the last call: bytes by statement."""

    def __init__(self, athena: Any) -> None:
        self.athena = athena
        self.seen: set[str] = set(self._ids())

    def _ids(self) -> list[str]:
        ids: list[str] = []
        for page in self.athena.get_paginator("list_query_executions").paginate(
            WorkGroup="primary"
        ):
            ids += page["QueryExecutionIds"]
        return ids

    def since_last(self) -> dict[str, int]:
        new = [i for i in self._ids() if i not in self.seen]
        self.seen.update(new)
        kinds: dict[str, int] = {}
        for start in range(0, len(new), 50):
            batch = self.athena.batch_get_query_execution(QueryExecutionIds=new[start : start + 50])
            for execution in batch["QueryExecutions"]:
                kind = statement_kind(execution["Query"])
                scanned = execution.get("Statistics", {}).get("DataScannedInBytes", 0)
                kinds[kind] = kinds.get(kind, 0) + scanned
        return dict(sorted(kinds.items(), key=lambda item: -item[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=6000, help="orders created on the day")
    parser.add_argument("--objects", type=int, default=96, help="Firehose objects the day holds")
    parser.add_argument("--points", default="0.25,0.5,0.9", help="fractions of the day measured")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    points = sorted(float(p) for p in args.points.split(","))

    stack = LocalStack(port=free_port())
    stack.start(workers=False)
    os.environ.update(stack.env())
    try:
        suffix = uuid.uuid4().hex[:8]
        bucket, database, crawler = f"within-day-{suffix}", f"within_day_{suffix}", f"c-{suffix}"
        s3, glue, athena = (boto3.client(s) for s in ("s3", "glue", "athena"))
        s3.create_bucket(Bucket=bucket)
        glue.create_database(DatabaseInput={"Name": database})
        glue.create_crawler(
            Name=crawler,
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=database,
            Targets={"S3Targets": [{"Path": f"s3://{bucket}/{RAW_PREFIX}"}]},
        )
        lake = Lake(
            AthenaResource(
                database=database,
                work_group="primary",
                output_location=f"s3://{bucket}/athena-results/",
            ),
            GlueCatalogResource(database=database, crawler_name=crawler, raw_table=tables.RAW.name),
            DataLakeResource(s3=S3Resource(max_attempts=2), bucket=bucket),
        )
        records = contract_records(DAY, args.orders, seed=7)
        size = -(-len(records) // args.objects)
        objects = [records[n : n + size] for n in range(0, len(records), size)]
        print(f"{len(records):,} changes of {DAY} in {len(objects)} objects", flush=True)
        raw_bytes = 0

        def deliver(number: int) -> None:
            nonlocal raw_bytes
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in objects[number])
            key = f"{RAW_PREFIX}dt={DAY}/orders-1-{DAY}-{number:06d}-{uuid.uuid4()}"
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
            raw_bytes += len(body)

        scanned = Scanned(athena)
        delivered = 0
        results = []
        for point in points:
            target = max(1, int(point * len(objects))) - 1
            while delivered < target:
                deliver(delivered)
                delivered += 1
            if not lake.glue.table_exists(tables.RAW.name):
                run_crawler(lake.glue.client(), crawler, timeout_seconds=120, poll_seconds=0.2)
                lake.glue.read_scalars_as_text(tables.RAW.name)
            refresh(lake, [DAY])  # the tables as they stand before this delivery
            scanned.since_last()
            deliver(delivered)
            delivered += 1
            new_object = len(objects[delivered - 1])
            refresh(lake, [DAY], only_new_files=True)
            only_new = scanned.since_last()
            refresh(lake, [DAY])
            whole = scanned.since_last()
            results.append({
                "day_fraction": point,
                "raw_bytes_so_far": raw_bytes,
                "new_object_changes": new_object,
                "only_new_files_bytes": sum(only_new.values()),
                "whole_day_bytes": sum(whole.values()),
                "only_new_files_by_statement": only_new,
                "whole_day_by_statement": whole,
            })  # fmt: skip
            print(
                f"  {point:.0%} of the day ({raw_bytes / 1e6:.1f} MB raw): one delivery's refresh "
                f"scans {sum(only_new.values()) / 1e6:.2f} MB reading only new files, "
                f"{sum(whole.values()) / 1e6:.2f} MB rewriting the day",
                flush=True,
            )
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
