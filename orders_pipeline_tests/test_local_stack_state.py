"""The local stack keeps its state in its state dir: a stop and a start, or a kill -9 and a
start, keep every service's data; a dead child process is restarted; a state dir it cannot read
stops it with one line. Driven through the installed command and boto3 only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.server import STATUS_PATH, free_port
from orders_pipeline.orders import generate_changes
from orders_pipeline_tests.polling import wait_for
from orders_pipeline_tests.test_pipeline_restart import stream_event_ids

COMMAND = str(Path(sys.executable).parent / "orders-pipeline")
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 2})


class StackProcess:
    """`orders-pipeline local up` on a free port over one state dir, as a user runs it."""

    def __init__(self, state_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            [
                COMMAND,
                "local",
                "up",
                "--port",
                str(self.port),
                "--state-dir",
                str(state_dir),
                "--snapshot-interval",
                "0.5",
                *extra,
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def wait_until_deployed(self, timeout: float = 90) -> StackProcess:
        wait_for(
            lambda: any("stack deployed" in line for line in self.stderr) or self._exited(),
            timeout,
            "local up to deploy",
        )
        assert self.process.poll() is None, "".join(self.stderr)
        return self

    def _exited(self) -> bool:
        return self.process.poll() is not None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=CLIENT_CONFIG,
        )

    def status(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.endpoint + STATUS_PATH, timeout=30) as response:
            return json.load(response)

    def answers(self) -> bool:
        """The stack serves requests (its port is open and the status route answers)."""
        try:
            return bool(self.status())
        except OSError:
            assert self.process.poll() is None, "".join(self.stderr)
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def kill(self) -> None:
        """kill -9 of the whole stack: the server and every child process."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[StackProcess]]:
    started: list[StackProcess] = []
    yield started
    for stack in started:
        try:
            stack.kill()
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def _start(stacks: list[StackProcess], state_dir: Path, *extra: str) -> StackProcess:
    stack = StackProcess(state_dir, *extra)
    stacks.append(stack)
    return stack


def _outputs(stack: StackProcess) -> dict[str, str]:
    described = stack.client("cloudformation").describe_stacks(StackName="orders-pipeline")
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}


def _delivered_event_ids(stack: StackProcess, outputs: dict[str, str]) -> list[str]:
    s3 = stack.client("s3")
    bucket, prefix = outputs["DataBucketName"], outputs["RawDataPrefix"]
    ids = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            ids += [json.loads(line)["event_id"] for line in body.splitlines()]
    return ids


def _write(stack: StackProcess, outputs: dict[str, str], orders: int, seed: int) -> int:
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    summary = write_changes(
        outputs["OrdersTableName"],
        generate_changes(orders, seed=seed),
        dynamodb_resource=dynamodb,
    )
    return summary.written


def _counts(stack: StackProcess, outputs: dict[str, str]) -> dict[str, Any]:
    glue = stack.client("glue")
    tables = glue.get_tables(DatabaseName=outputs["GlueDatabaseName"])["TableList"]
    partitions = {
        t["Name"]: len(
            glue.get_partitions(DatabaseName=outputs["GlueDatabaseName"], TableName=t["Name"])[
                "Partitions"
            ]
        )
        for t in tables
    }
    objects = [
        item["Key"]
        for page in stack.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=outputs["DataBucketName"])
        for item in page.get("Contents", [])
    ]
    items = stack.client("dynamodb").scan(TableName=outputs["OrdersTableName"], Select="COUNT")
    return {
        "items": items["Count"],
        "objects": sorted(objects),
        "lines": len(_delivered_event_ids(stack, outputs)),
        "tables": sorted(partitions),
        "partitions": partitions,
        "outputs": outputs,
    }


def _crawl(stack: StackProcess, outputs: dict[str, str]) -> None:
    glue = stack.client("glue")
    glue.start_crawler(Name=outputs["GlueCrawlerName"])
    wait_for(
        lambda: glue.get_crawler(Name=outputs["GlueCrawlerName"])["Crawler"].get("LastCrawl"),
        60,
        "the crawl",
    )


@pytest.mark.slow
def test_a_stop_and_a_start_keep_every_services_state(stacks, tmp_path):
    first = _start(stacks, tmp_path / "state").wait_until_deployed()
    outputs = _outputs(first)
    written = _write(first, outputs, orders=120, seed=3)
    wait_for(lambda: len(_delivered_event_ids(first, outputs)) >= written, 60, "the delivery")
    _crawl(first, outputs)
    before = _counts(first, outputs)
    first.stop()

    second = _start(stacks, tmp_path / "state").wait_until_deployed()
    assert any("no changes" in line for line in second.stderr), "".join(second.stderr)
    assert _counts(second, _outputs(second)) == before
    assert before["tables"] == ["orders_raw"] and before["partitions"]["orders_raw"] >= 1


@pytest.mark.slow
def test_a_kill_9_mid_stream_loses_no_change_acknowledged_before_the_last_snapshot(
    stacks, tmp_path
):
    first = _start(stacks, tmp_path / "state").wait_until_deployed()
    outputs = _outputs(first)
    settled_orders = {change.orderid for change in generate_changes(150, seed=5)}
    _write(first, outputs, orders=150, seed=5)
    time.sleep(1.5)  # three snapshot intervals: these changes are acknowledged and kept
    writer = threading.Thread(target=_write, args=(first, outputs, 2000, 6), daemon=True)
    writer.start()
    time.sleep(1.0)
    first.kill()  # mid-stream: the writer is cut off too

    second = _start(stacks, tmp_path / "state").wait_until_deployed()
    # Every settled change is still in the table's stream (kept across the kill) ...
    settled = stream_event_ids(
        second.client("dynamodbstreams"), outputs["OrdersTableStreamArn"], settled_orders
    )
    assert len(settled) >= 150
    # ... and reaches S3 at least once.
    wait_for(
        lambda: settled <= set(_delivered_event_ids(second, outputs)),
        120,
        f"the {len(settled)} settled changes in S3",
    )


@pytest.mark.slow
def test_a_killed_worker_process_is_restarted_and_its_changes_still_arrive(stacks, tmp_path):
    stack = _start(stacks, tmp_path / "state").wait_until_deployed()
    outputs = _outputs(stack)
    pid = stack.status()["workers_pid"]
    os.kill(pid, signal.SIGKILL)
    written = _write(stack, outputs, orders=80, seed=7)

    supervision = wait_for(
        lambda: (found := stack.status()["supervision"]["workers"])["restarts"] >= 1 and found,
        30,
        "the worker process restart",
    )
    assert f"pid {pid}" in supervision["last_exit"] and "-9" in supervision["last_exit"]
    wait_for(lambda: len(set(_delivered_event_ids(stack, outputs))) >= written, 60, "delivery")


@pytest.mark.slow
def test_a_killed_lambda_runtime_is_started_again_on_the_next_batch(stacks, tmp_path):
    stack = _start(stacks, tmp_path / "state").wait_until_deployed()
    outputs = _outputs(stack)
    first = _write(stack, outputs, orders=30, seed=8)
    wait_for(lambda: len(set(_delivered_event_ids(stack, outputs))) >= first, 60, "delivery")
    runtimes = subprocess.run(
        ["pgrep", "-s", str(stack.process.pid), "-f", "awslambda/runtime"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert runtimes
    for pid in runtimes:
        os.kill(int(pid), signal.SIGKILL)
    second = _write(stack, outputs, orders=30, seed=9)
    wait_for(
        lambda: len(set(_delivered_event_ids(stack, outputs))) >= first + second, 90, "delivery"
    )


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda aws: (aws / "FORMAT.json").write_text('{"format": 999, "moto": "0"}'),
         "FORMAT.json"),
        (lambda aws: (aws / "world.pickle").write_bytes(b"\x80\x05truncated"), "world.pickle"),
        (lambda aws: (aws / "FORMAT.json").write_text("{not json"), "FORMAT.json"),
    ],
)  # fmt: skip
def test_a_state_dir_it_cannot_read_stops_local_up_with_one_line(stacks, tmp_path, damage, named):
    stack = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(stack.answers, 60, "the stack to answer")
    stack.stop()
    damage(tmp_path / "state" / "aws")

    result = _run("local", "up", "--state-dir", str(tmp_path / "state"), "--port",
                  str(free_port()), "--no-deploy")  # fmt: skip

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert named in errors[0] and "local reset" in errors[0]
    assert "Traceback" not in result.stderr


def test_two_stacks_cannot_share_a_state_dir(stacks, tmp_path):
    stack = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(stack.answers, 60, "the stack to answer")

    result = _run("local", "up", "--state-dir", str(tmp_path / "state"), "--port",
                  str(free_port()), "--no-deploy")  # fmt: skip

    assert result.returncode != 0
    assert "in use by another running local stack" in result.stderr


def test_local_reset_wipes_the_state_and_says_what_it_removed(stacks, tmp_path):
    stack = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(stack.answers, 60, "the stack to answer")
    stack.client("s3").create_bucket(Bucket="kept-bucket")
    stack.stop()

    result = _run("local", "reset", "--yes", "--state-dir", str(tmp_path / "state"))

    assert result.returncode == 0, result.stderr
    assert "removed" in result.stdout and "world.pickle" in result.stdout
    again = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(again.answers, 60, "the stack to answer")
    assert again.client("s3").list_buckets()["Buckets"] == []


def test_reset_refuses_a_state_dir_a_running_stack_holds(stacks, tmp_path):
    stack = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(stack.answers, 60, "the stack to answer")

    result = _run("local", "reset", "--yes", "--state-dir", str(tmp_path / "state"))

    assert result.returncode != 0
    assert "in use by a running local stack" in result.stderr
