"""End to end on the local stack: raw DynamoDB write rate vs. DynamoDB -> Pipe -> Kinesis ->
Firehose (+ Lambda) -> S3 rate, and per-change latency from write to the S3 object holding it.

Run from the repository root: `PYTHONPATH=. .venv/bin/python benchmarks/local_stack_end_to_end.py`.
The stack runs in its own process (`orders-pipeline local up`), as a user runs it; each run gets
a fresh one, and the summary is the median of the runs (one run swings by 10% on a busy laptop).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from itertools import islice
from typing import Any

import boto3
from botocore.config import Config

from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.server import STATUS_PATH, client_env, free_port
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS
from orders_pipeline.orders import OrderChange, generate_changes

CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
# While changes are written the watcher lists S3 rarely (each listing costs the server CPU the
# writes compete for); once they are all written it lists often, to time the last objects.
WATCH_INTERVAL_WRITING, WATCH_INTERVAL_DRAINING = 0.25, 0.02
# Changes written to a scratch table first, so neither measurement pays for cold code paths.
WARM_UP_CHANGES = 5_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def stack_cpu_seconds(session_id: int) -> dict[str, float]:
    """CPU seconds used so far by the stack's processes (its session), by role; {} without /proc.

    Roles: the moto server (the `local up` process), the data-plane workers, the Lambda runtimes.
    """
    roles: dict[str, float] = defaultdict(float)
    proc = "/proc"
    if not os.path.isdir(proc):
        return {}
    for pid in filter(str.isdigit, os.listdir(proc)):
        try:
            with open(f"{proc}/{pid}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"{proc}/{pid}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        # Fields after the parenthesised command name: state is field 3, session 6, utime 14.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) != session_id:
            continue
        if int(pid) == session_id:
            role = "server"
        elif "workers.process" in cmdline:
            role = "workers"
        elif "awslambda/runtime" in cmdline:
            role = "lambda"
        else:
            role = "other"
        roles[role] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return dict(roles)


class CpuMeter:
    """CPU seconds of this process (the writer) and of the stack's processes over a phase."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        own = os.times()
        return {"writer": own.user + own.system, **stack_cpu_seconds(self.session_id)}

    def used(self) -> dict[str, float]:
        now = self._sample()
        return {role: round(now[role] - self.start.get(role, 0.0), 2) for role in sorted(now)}


def start_stack(port: int, state_dir: str) -> subprocess.Popen[bytes]:
    """`orders-pipeline local up` on `port` in a new session; returns once it answers."""
    command = [
        sys.executable,
        "-c",
        "from orders_pipeline.cli import main; main()",
        "local",
        "up",
        "--port",
        str(port),
        "--state-dir",
        state_dir,
        "--no-deploy",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{STATUS_PATH}", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"local stack exited with {process.returncode}") from None
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("local stack did not answer within 60 s")


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def raw_write_rate(dynamodb: Any, changes: list[OrderChange]) -> float:
    """Changes/s that `write_changes` (batch_writer) reaches on a plain table without a stream."""
    table = dynamodb.create_table(
        TableName=f"raw-write-benchmark-{uuid.uuid4().hex[:8]}",
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    summary = write_changes(table.name, changes, dynamodb_resource=dynamodb)
    return summary.rate


class ObjectWatcher(threading.Thread):
    """Notes when each object under a prefix is first listed (an upper bound on its arrival)."""

    def __init__(
        self, s3: Any, bucket: str, prefix: str, interval: float = WATCH_INTERVAL_WRITING
    ) -> None:
        super().__init__(daemon=True)
        self.s3, self.bucket, self.prefix, self.interval = s3, bucket, prefix, interval
        self.first_seen: dict[str, float] = {}
        self.last_modified: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.poll()
            self.done.wait(self.interval)

    def poll(self) -> None:
        now = time.time()
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", []):
                self.first_seen.setdefault(item["Key"], now)
                self.last_modified[item["Key"]] = item["LastModified"].timestamp()


def delivered_lines(s3: Any, bucket: str, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    return {
        key: [
            json.loads(line)
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
        ]
        for key in keys
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median_of(results: list[dict[str, Any]], path: str) -> float:
    values = [float(eval_path(result, path)) for result in results]
    return round(statistics.median(values), 3)


def eval_path(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for name in path.split("."):
        value = value[name]
    return value


SUMMARY_FIELDS = (
    "raw_batch_writer_rate_per_s",
    "pipeline_write_rate_per_s",
    "end_to_end_rate_per_s",
    "end_to_end_vs_raw",
    "pipeline_write_vs_raw",
    "tail_after_last_write_s",
    "latency_s.p50",
    "latency_s.p95",
    "cpu_s_per_1000_changes.raw.server",
    "cpu_s_per_1000_changes.pipeline.server",
    "cpu_s_per_1000_changes.pipeline.workers",
    "cpu_s_per_1000_changes.pipeline.lambda",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="fresh stacks to measure; median")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for S3")
    args = parser.parse_args()

    changes = list(islice(generate_changes(None, seed=args.seed), args.changes))
    results = []
    for number in range(1, args.runs + 1):
        port = free_port()
        with tempfile.TemporaryDirectory() as state_dir:
            process = start_stack(port, state_dir)
            try:
                os.environ.update(client_env(f"http://127.0.0.1:{port}"))
                result = run(changes, args.timeout, session_id=process.pid)
            finally:
                stop_stack(process)
        results.append(result)
        print(
            f"run {number}/{args.runs}: raw {result['raw_batch_writer_rate_per_s']}/s, "
            f"end to end {result['end_to_end_rate_per_s']}/s "
            f"({result['end_to_end_vs_raw']:.1%} of raw), "
            f"p95 latency {result['latency_s']['p95']} s",
            file=sys.stderr,
            flush=True,
        )
    summary = {
        "runs": len(results),
        "median": {field: median_of(results, field) for field in SUMMARY_FIELDS},
        "ratio_min_max": [
            min(r["end_to_end_vs_raw"] for r in results),
            max(r["end_to_end_vs_raw"] for r in results),
        ],
    }
    print(json.dumps({"summary": summary, "results": results}, indent=2))


def per_thousand(used: dict[str, float], count: int) -> dict[str, float]:
    return {role: round(seconds * 1000 / count, 3) for role, seconds in used.items()}


def run(changes: list[OrderChange], timeout: float, session_id: int) -> dict[str, Any]:
    from orders_pipeline.deploy import deploy_stack

    dynamodb = boto3.resource("dynamodb", config=CONFIG)
    s3 = boto3.client("s3", config=CONFIG)
    outputs = deploy_stack(parameters=dict(LOCAL_DEPLOY_PARAMETERS), poll_interval=0.5)
    # The raw rate is measured with the deployed pipeline idle, so both rates pay for the
    # workers' polling; after a warm-up, and once before and once after the pipeline's run,
    # because this machine's speed drifts by tens of percent within a minute.
    raw_write_rate(dynamodb, changes[:WARM_UP_CHANGES])
    meter = CpuMeter(session_id)
    raw_before = raw_write_rate(dynamodb, changes)
    raw_cpu = meter.used()
    bucket, prefix = outputs["DataBucketName"], outputs["RawDataPrefix"]
    watcher = ObjectWatcher(s3, bucket, prefix)
    watcher.start()

    # Per order, the k-th write is the k-th stream record of that order (sequence order).
    written_at: dict[str, list[float]] = defaultdict(list)
    meter = CpuMeter(session_id)
    started = time.time()
    summary = write_changes(
        outputs["OrdersTableName"],
        changes,
        progress=lambda change: written_at[change.orderid].append(time.time()),
        dynamodb_resource=dynamodb,
    )
    watcher.interval = WATCH_INTERVAL_DRAINING

    deadline = time.monotonic() + timeout
    lines: dict[str, list[dict[str, Any]]] = {}
    while time.monotonic() < deadline:
        new = [key for key in watcher.first_seen if key not in lines]
        lines.update(delivered_lines(s3, bucket, new))
        if sum(len(v) for v in lines.values()) >= len(changes):
            break
        time.sleep(0.1)
    pipeline_cpu = meter.used()
    watcher.done.set()
    watcher.join()
    watcher.poll()
    meter = CpuMeter(session_id)
    raw_after = raw_write_rate(dynamodb, changes)
    raw_cpu = {role: seconds + raw_cpu.get(role, 0.0) for role, seconds in meter.used().items()}
    raw_rate = (raw_before + raw_after) / 2

    by_order: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key, records in lines.items():
        for record in records:
            by_order[record["orderid"]].append((int(record["sequence_number"]), key))
    # LastModified is truncated to the second: an object was written in [LastModified, +1 s),
    # and no later than the watcher first listed it. Latencies use that upper bound.
    arrived_by = {
        key: min(watcher.last_modified[key] + 1, watcher.first_seen[key]) for key in lines
    }
    latency_upper, latency_lower = [], []
    for orderid, writes in written_at.items():
        delivered = sorted(set(by_order.get(orderid, [])))
        for written, (_, key) in zip(writes, delivered, strict=False):
            latency_upper.append(arrived_by[key] - written)
            latency_lower.append(watcher.last_modified[key] - written)
    delivered_count = sum(len(set(v)) for v in by_order.values())
    end_to_end_seconds = max(arrived_by.values()) - started
    end_to_end_rate = delivered_count / end_to_end_seconds
    return {
        "changes": len(changes),
        "raw_batch_writer_rate_per_s": round(raw_rate),
        "raw_before_and_after_per_s": [round(raw_before), round(raw_after)],
        "pipeline_write_rate_per_s": round(summary.rate),
        "delivered_changes": delivered_count,
        "s3_objects": len(lines),
        "end_to_end_seconds": round(end_to_end_seconds, 2),
        "end_to_end_rate_per_s": round(end_to_end_rate),
        "end_to_end_vs_raw": round(end_to_end_rate / raw_rate, 3),
        # The two parts of the gap: the writes slowed by the data plane sharing the machine, and
        # the time from the last write to the last object (the last buffer's interval).
        "pipeline_write_vs_raw": round(summary.rate / raw_rate, 3),
        "tail_after_last_write_s": round(end_to_end_seconds - summary.elapsed, 2),
        "latency_s": {
            "p50": round(statistics.median(latency_upper), 2),
            "p95": round(percentile(latency_upper, 0.95), 2),
            "max": round(max(latency_upper), 2),
        },
        "latency_lower_bound_s": {
            "p50": round(statistics.median(latency_lower), 2),
            "p95": round(percentile(latency_lower, 0.95), 2),
        },
        "buffer_interval_s": float(LOCAL_DEPLOY_PARAMETERS["FirehoseBufferIntervalSeconds"]),
        # CPU per 1,000 changes: raw = writing them to the plain table; pipeline = writing them
        # to the pipeline's table until the last one is in S3 (the data plane's share included).
        "cpu_s_per_1000_changes": {
            "raw": per_thousand(raw_cpu, 2 * len(changes)),
            "pipeline": per_thousand(pipeline_cpu, len(changes)),
        },
    }


if __name__ == "__main__":
    main()
