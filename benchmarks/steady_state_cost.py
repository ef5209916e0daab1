"""Steady-state cost: a lake with D days of history, then a trickle of orders under the real
sensors, schedules and automation (`dagster-daemon`, as `make run` runs them), for each history
size. Prints crawls per hour, Athena queries and bytes scanned per hour and per new change, LIST
calls and seconds per sensor tick, the metered $/day (and a projection to another order rate),
and freshness: seconds from a delivery landing in S3 to daily_sales holding it, p50 and p95.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python benchmarks/steady_state_cost.py [--history-days 5,15] ...
`--pipeline-root DIR` runs another checkout's Dagster code (for a before/after figure) against
this checkout's metered local stack; the history is written through the record contract
(DEVELOPERS.md), as the Firehose transform would have delivered it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from orders_pipeline.costs.estimate import estimate, load_prices, parse_meters, volume_scale
from orders_pipeline.defs.resources import environment_from_outputs
from orders_pipeline.deploy import deploy_stack
from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.server import STATUS_PATH, client_env, free_port
from orders_pipeline.orders import EventType, generate_changes

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
RECORDS_PER_OBJECT = 5_000
# The first refresh after the daemon starts is not steady state: wait for it first.
WARM_UP_TIMEOUT = 600


def status(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{STATUS_PATH}", timeout=60) as answer:
        return json.load(answer)


def start_stack(port: int, state_dir: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from orders_pipeline.cli import main; main()", "local",
               "up", "--port", str(port), "--state-dir", str(state_dir), "--no-deploy"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status(port)
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"local stack exited with {process.returncode}") from None
            time.sleep(0.5)
    raise RuntimeError("local stack did not answer within 120 s")


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- history, through the record contract ----------------------------------------------------


def contract_records(day: str, orders: int, seed: int) -> list[dict[str, Any]]:
    """A day of changes as the Firehose transform writes them: the order's attributes, then
    cdc_event_type, event_id, sequence_number, creation_datetime, is_deleted."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    rate = orders / 86400 * 1.2  # the day's orders placed by about 20:00
    records, last = [], {}
    sequence = int(start.timestamp()) * 10**9
    for change in generate_changes(orders, seed=seed, start=start, orders_per_second=rate):
        if change.order is not None:
            item = change.order.to_item()
            when = change.order.updated_at
            last[change.orderid] = (item, when)
        else:
            item, when = last.get(change.orderid, ({"orderid": change.orderid}, start))
            when = when + timedelta(seconds=1)
        if when.date().isoformat() != day:
            continue  # a change of the next day belongs to that day's history
        sequence += 1
        record = {k: (float(v) if not isinstance(v, str | int) else v) for k, v in item.items()}
        records.append({
            **record,
            "cdc_event_type": change.event_type.value,
            "event_id": uuid.uuid4().hex,
            "sequence_number": str(sequence),
            "creation_datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "is_deleted": change.event_type is EventType.REMOVE,
        })  # fmt: skip
    return records


def write_history(s3: Any, outputs: dict[str, str], days: int, orders_per_day: int) -> int:
    bucket, prefix = outputs["DataBucketName"], outputs["RawDataPrefix"]
    stream = outputs["DeliveryStreamName"]
    today = datetime.now(UTC).date()
    written = 0
    for back in range(days, 0, -1):
        day = (today - timedelta(days=back)).isoformat()
        records = contract_records(day, orders_per_day, seed=back)
        for number in range(0, len(records), RECORDS_PER_OBJECT):
            chunk = records[number : number + RECORDS_PER_OBJECT]
            stamp = chunk[0]["creation_datetime"].replace("T", "-").replace(":", "-")[:19]
            key = f"{prefix}dt={day}/{stream}-1-{stamp}-{uuid.uuid4()}"
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in chunk).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            written += len(chunk)
        print(f"  history {day}: {len(records):,} changes", flush=True)
    return written


# --- the pipeline's own code ------------------------------------------------------------------


BUILD = """
try:
    from orders_pipeline.demo import refresh_tables as build
    build(None, say=print)
except ImportError:  # a checkout from before orders_pipeline/demo.py
    from orders_pipeline.commands.demo import rebuild_tables
    rebuild_tables(say=print)
"""


def pipeline_env(root: Path, outputs: dict[str, str], endpoint: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        **client_env(endpoint),
        **environment_from_outputs(outputs),
        "PYTHONPATH": str(root),
        "DAGSTER_HOME": str(home),
    }


def start_daemon(root: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    daemon = str(Path(sys.executable).parent / "dagster-daemon")
    handle = log.open("wb")
    return subprocess.Popen(
        [daemon, "run", "-w", str(root / "workspace.yaml")],
        env=env,
        cwd=root,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def sensor_ticks(home: Path) -> list[dict[str, Any]]:
    """The delivery sensor's last tick figures (list calls, seconds), from its cursor."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        for state in instance.all_instigator_state():
            if state.name != "firehose_delivery_sensor" or state.instigator_data is None:
                continue
            cursor = getattr(state.instigator_data, "cursor", None)
            tick = json.loads(cursor).get("tick") if cursor else None
            return [tick] if tick else []
    return []


def refreshes(home: Path) -> list[tuple[float, float]]:
    """(run start, materialization time) of every daily_sales write, epoch seconds."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    found = []
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(dg.AssetKey("daily_sales"), limit=10_000)
        for record in records.records:
            run = instance.get_run_record_by_id(record.run_id)
            started = run.start_time if run is not None and run.start_time else record.timestamp
            found.append((started, record.timestamp))
    return sorted(found)


# --- figures ------------------------------------------------------------------------------------


def athena_queries(athena: Any, since: float, until: float) -> list[dict[str, Any]]:
    found = []
    for group in athena.list_work_groups()["WorkGroups"]:
        ids: list[str] = []
        for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=group["Name"]):
            ids += page["QueryExecutionIds"]
        for start in range(0, len(ids), 50):
            batch = athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])
            for execution in batch["QueryExecutions"]:
                submitted = execution["Status"]["SubmissionDateTime"].timestamp()
                if since <= submitted <= until:
                    found.append(execution)
    return found


_NAME = r'(?:"?\w+"?\.)?"?(\w+)"?'
_TARGETED = re.compile(
    rf"^\s*(insert\s+into|create\s+table|alter\s+table|drop\s+table)\s+{_NAME}", re.IGNORECASE
)
_FROM = re.compile(rf"\bfrom\s+{_NAME}", re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """'insert into order_events', 'select daily_sales', ...: what a query was, for the figures."""
    targeted = _TARGETED.match(sql)
    if targeted is not None:
        # A refresh's staging table is one kind, whatever its refresh id.
        name = re.sub(r"__refresh_\d+$", " (staging)", targeted.group(2))
        return f"{' '.join(targeted.group(1).lower().split())} {name}"
    source = _FROM.search(sql)
    verb = sql.split(None, 1)[0].lower() if sql.strip() else "empty"
    return f"{verb} {source.group(1)}" if source is not None else verb


def by_statement(queries: list[dict[str, Any]], hours: float) -> dict[str, dict[str, float]]:
    """Queries and bytes scanned per hour by statement kind, the dearest first."""
    kinds: dict[str, dict[str, float]] = {}
    for query in queries:
        kind = kinds.setdefault(statement_kind(query["Query"]), {"queries": 0, "bytes": 0})
        kind["queries"] += 1
        kind["bytes"] += query["Statistics"].get("DataScannedInBytes", 0)
    return {
        kind: {
            "queries_per_hour": v["queries"] / hours,
            "bytes_scanned_per_hour": v["bytes"] / hours,
        }
        for kind, v in sorted(kinds.items(), key=lambda item: -item[1]["bytes"])
    }


def delivered(s3: Any, outputs: dict[str, str], since: float) -> list[float]:
    times = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=outputs["DataBucketName"], Prefix=outputs["RawDataPrefix"]
    )
    for page in pages:
        for obj in page.get("Contents", []):
            landed = obj["LastModified"].timestamp()
            if landed >= since:
                times.append(landed)
    return sorted(times)


def freshness(landings: list[float], writes: list[tuple[float, float]]) -> list[float]:
    """Per delivery: seconds until a daily_sales write whose run started after it landed."""
    ages = []
    for landed in landings:
        done = [finished for started, finished in writes if started >= landed]
        if done:
            ages.append(min(done) - landed)
    return ages


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def meters_between(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    counts = {
        name: value - first["meters"].get(name, 0.0) for name, value in last["meters"].items()
    }
    return {"started": first["now"], "now": last["now"], "meters": counts}


# --- one history size ----------------------------------------------------------------------------


def measure(args: argparse.Namespace, days: int, work: Path) -> dict[str, Any]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    stack = start_stack(port, work / "aws")
    daemon = None
    try:
        os.environ.update(client_env(endpoint))
        outputs = deploy_stack(
            parameters={"FirehoseBufferIntervalSeconds": str(args.buffer_seconds)},
            poll_interval=0.5,
        )
        s3, athena = boto3.client("s3", config=CONFIG), boto3.client("athena", config=CONFIG)
        history = write_history(s3, outputs, days, args.history_orders_per_day)
        env = pipeline_env(args.pipeline_root, outputs, endpoint, work / "dagster")
        print(f"  building the tables from {history:,} changes of history", flush=True)
        subprocess.run([sys.executable, "-c", BUILD], env=env, cwd=args.pipeline_root,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        daemon = start_daemon(args.pipeline_root, env, work / "daemon.log")
        stop_trickle = threading.Event()
        summary: dict[str, Any] = {}

        def trickle() -> None:
            changes = generate_changes(
                None, seed=days, orders_per_second=args.rate, finish_lifecycles=False
            )
            summary["written"] = write_changes(
                outputs["OrdersTableName"],
                (c for c in changes if not stop_trickle.is_set()),
                rate=args.rate,
                duration=args.window_minutes * 60 + args.warm_up_minutes * 60,
            ).written

        writer = threading.Thread(target=trickle, daemon=True)
        writer.start()
        print(f"  trickle of {args.rate:g} orders/s; warming up", flush=True)
        time.sleep(args.warm_up_minutes * 60)
        first, since = status(port)["meters"], time.time()
        ticks: dict[str, dict[str, Any]] = {}
        deadline = since + args.window_minutes * 60
        while time.time() < deadline:
            for tick in sensor_ticks(work / "dagster"):
                ticks[tick["at"]] = tick
            time.sleep(5)
        until = time.time()
        last = status(port)["meters"]
        stop_trickle.set()
        writer.join(timeout=120)
        # The window's last deliveries still have to reach the tables to be timed.
        time.sleep(args.buffer_seconds + 240)
        writes = refreshes(work / "dagster")
        landings = [t for t in delivered(s3, outputs, since) if t <= until]
        ages = freshness(landings, writes)
        queries = athena_queries(athena, since, until)
        window = meters_between(first, last)
        prices = load_prices()
        metered = parse_meters(window, prices)
        cost = estimate(metered, prices)
        hours = (until - since) / 3600
        scanned = sum(q["Statistics"].get("DataScannedInBytes", 0) for q in queries)
        # Each change is one small record the Pipe puts on the stream: one PUT payload unit.
        changes = window["meters"].get("kinesis.put_payload_units", 0.0)
        projection = None
        observed = window.get("orders_per_day") or (args.rate * 86400 if args.rate else None)
        if args.project_orders_per_day and observed:
            scaled = estimate(metered, prices, volume_scale(args.project_orders_per_day, observed))
            projection = {
                "orders_per_day": args.project_orders_per_day,
                "usd_per_day": scaled.usd_per_day,
                "usd_per_day_by_service": {s.service: s.usd_per_day for s in scaled.services},
                "glue_athena_share": _share(scaled, ("glue", "athena")),
            }
        list_calls = [t["list_calls"] for t in ticks.values()]
        tick_seconds = [t["seconds"] for t in ticks.values()]
        return {
            "history_days": days,
            "history_changes": history,
            "window_hours": round(hours, 3),
            "crawls_per_hour": window["meters"].get("glue.crawler_dpu_seconds", 0) / 1200 / hours,
            "athena_queries_per_hour": len(queries) / hours,
            "athena_bytes_scanned_per_hour": scanned / hours,
            "athena_bytes_billed_per_hour": window["meters"].get("athena.bytes_scanned_billed", 0)
            / hours,
            "athena_by_statement": by_statement(queries, hours),
            "bytes_scanned_per_new_change": scanned / changes if changes else None,
            "new_changes": int(changes),
            "sensor_ticks": len(ticks),
            "list_calls_per_tick": {"median": _median(list_calls), "max": max(list_calls or [0])},
            "tick_seconds": {"median": _median(tick_seconds), "max": max(tick_seconds or [0])},
            "usd_per_day": cost.usd_per_day,
            "usd_per_day_by_service": {s.service: s.usd_per_day for s in cost.services},
            "glue_athena_share": _share(cost, ("glue", "athena")),
            "projection": projection,
            "freshness_seconds": {
                "deliveries": len(landings),
                "timed": len(ages),
                "p50": percentile(ages, 0.5),
                "p95": percentile(ages, 0.95),
            },
        }
    finally:
        if daemon is not None:
            stop(daemon)
        stop(stack)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _share(cost: Any, services: tuple[str, ...]) -> float:
    total = sum(s.usd_per_day for s in cost.services)
    part = sum(s.usd_per_day for s in cost.services if s.service in services)
    return part / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history-days", default="5,15", help="comma-separated history sizes")
    parser.add_argument("--history-orders-per-day", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=2.0, help="new orders/s in the window")
    parser.add_argument("--window-minutes", type=float, default=10.0)
    parser.add_argument("--warm-up-minutes", type=float, default=3.0)
    parser.add_argument("--buffer-seconds", type=int, default=60, help="Firehose buffer interval")
    parser.add_argument("--project-orders-per-day", type=float, default=100_000)
    parser.add_argument("--pipeline-root", type=Path, default=ROOT)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    args.pipeline_root = args.pipeline_root.resolve()
    results = []
    for days in [int(d) for d in args.history_days.split(",")]:
        print(f"history of {days} days (pipeline code: {args.pipeline_root})", flush=True)
        with tempfile.TemporaryDirectory(prefix="steady-state-") as work:
            results.append(measure(args, days, Path(work)))
        print(json.dumps(results[-1], indent=2, default=str), flush=True)
    if len(results) >= 2 and results[0]["athena_bytes_scanned_per_hour"]:
        growth = (
            results[-1]["athena_bytes_scanned_per_hour"]
            / results[0]["athena_bytes_scanned_per_hour"]
        )
        print(
            f"Athena bytes scanned per hour, {results[-1]['history_days']} vs "
            f"{results[0]['history_days']} days of history: x{growth:.2f}"
        )
    if args.json:
        print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
