"""Resident memory the local stack holds per change: a fresh `local up` (state dir kept, as under
`make run`), the pipeline deployed, N generated changes written and delivered to S3; prints the
stack's RSS (server, workers, Lambda runtimes) before and after, KB per change, and how many
changes fit in 8 GB and in 24 GB.

Run from the repository root: `PYTHONPATH=. .venv/bin/python benchmarks/local_stack_memory.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from itertools import islice
from typing import Any

import boto3
from botocore.config import Config

from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.server import client_env, free_port
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS
from orders_pipeline.orders.changes import generate_changes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_stack_end_to_end import start_stack, stop_stack  # noqa: E402

CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, read_timeout=120)
GB = 1024**3


def stack_rss_bytes(session_id: int) -> dict[str, int]:
    """Resident bytes of every process in the stack's session, by role (Linux /proc)."""
    roles: dict[str, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != session_id:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().decode(errors="replace")
            with open(f"/proc/{pid}/status") as status_file:
                rss = next(
                    int(line.split()[1]) * 1024 for line in status_file if line.startswith("VmRSS:")
                )
        except (OSError, StopIteration):
            continue  # exited meanwhile
        if int(pid) == session_id:
            role = "server"
        elif "workers.process" in cmdline:
            role = "workers"
        elif "awslambda/runtime" in cmdline:
            role = "lambda"
        else:
            role = "other"
        roles[role] = roles.get(role, 0) + rss
    return roles


def delivered_lines(s3: Any, bucket: str, prefix: str, counted: dict[str, int]) -> int:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"] not in counted:
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                counted[item["Key"]] = body.count(b"\n")
    return sum(counted.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=50_000, help="changes written per step")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for S3")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as state_dir:
        process = start_stack(port, state_dir)
        try:
            os.environ.update(client_env(f"http://127.0.0.1:{port}"))
            result = run(args, process.pid)
        finally:
            stop_stack(process)
    print(json.dumps(result, indent=2))


def run(args: argparse.Namespace, session_id: int) -> dict[str, Any]:
    from orders_pipeline.deploy import deploy_stack

    outputs = deploy_stack(parameters=dict(LOCAL_DEPLOY_PARAMETERS), poll_interval=0.5)
    dynamodb = boto3.resource("dynamodb", config=CONFIG)
    s3 = boto3.client("s3", config=CONFIG)
    bucket, prefix = outputs["DataBucketName"], outputs["RawDataPrefix"]
    # A first small batch warms every code path (imports, Lambda runtime) before the baseline.
    changes = generate_changes(None, seed=args.seed)
    counted: dict[str, int] = {}
    warm_up = 2_000
    write_changes(outputs["OrdersTableName"], islice(changes, warm_up), dynamodb_resource=dynamodb)
    _wait(lambda: delivered_lines(s3, bucket, prefix, counted) >= warm_up, args.timeout)
    time.sleep(3)
    baseline = stack_rss_bytes(session_id)
    steps = []
    written = 0
    started = time.monotonic()
    while written < args.changes:
        size = min(args.chunk, args.changes - written)
        write_changes(outputs["OrdersTableName"], islice(changes, size), dynamodb_resource=dynamodb)
        written += size
        target = warm_up + written
        _wait(lambda t=target: delivered_lines(s3, bucket, prefix, counted) >= t, args.timeout)
        rss = stack_rss_bytes(session_id)
        steps.append({"changes": written, "rss_mb": round(sum(rss.values()) / 1e6, 1)})
        print(
            f"{written} changes delivered: stack RSS {sum(rss.values()) / 1e6:.0f} MB "
            f"({', '.join(f'{k} {v / 1e6:.0f}' for k, v in sorted(rss.items()))})",
            file=sys.stderr,
            flush=True,
        )
    final = stack_rss_bytes(session_id)
    grown = sum(final.values()) - sum(baseline.values())
    per_change = grown / written
    return {
        "changes": written,
        "seconds": round(time.monotonic() - started, 1),
        "baseline_rss_mb": {k: round(v / 1e6, 1) for k, v in sorted(baseline.items())},
        "final_rss_mb": {k: round(v / 1e6, 1) for k, v in sorted(final.items())},
        "steps": steps,
        "kb_per_change": round(per_change / 1024, 3),
        "changes_that_fit_in_8_gb": int(8 * GB / per_change) if per_change > 0 else None,
        "changes_that_fit_in_24_gb": int(24 * GB / per_change) if per_change > 0 else None,
    }


def _wait(done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pipeline did not deliver within {timeout:.0f} s")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
