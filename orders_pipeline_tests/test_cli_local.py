"""`orders-pipeline local up|status` as a user runs them: foreground server, exports, clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from orders_pipeline.cli import main
from orders_pipeline.local_stack.server import check_port_free, free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


def start_local_up(*args: str, state_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)  # the command must set up everything itself
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from orders_pipeline.cli import main; main()",
            "local",
            "up",
            "--state-dir",
            str(state_dir),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


def client_from_exports(service: str, exports: dict[str, str]):
    """A boto3 client configured only from what `local up` told the user to export."""
    return boto3.client(
        service,
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name=exports["AWS_REGION"],
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )


def read_exports(process: subprocess.Popen[str], deadline_seconds: float) -> dict[str, str]:
    """The `export NAME=value` lines `local up` prints once it serves (it prints five)."""
    exports: dict[str, str] = {}
    deadline = time.monotonic() + deadline_seconds
    assert process.stdout is not None
    while len(exports) < 5:
        assert time.monotonic() < deadline, f"no exports within {deadline_seconds} s: {exports}"
        line = process.stdout.readline()
        assert line, f"local up exited early: {process.wait()} {process.stderr.read()}"
        if line.startswith("export "):
            name, value = line.removeprefix("export ").strip().split("=", 1)
            exports[name] = value
    return exports


@pytest.fixture
def local_up_process(tmp_path):
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = start_local_up(*args, state_dir=tmp_path / "state")
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_serves_prints_exports_and_stops_cleanly(local_up_process, stop_signal):
    port = free_port()
    process = local_up_process("--port", str(port), "--no-deploy")
    exports = read_exports(process, deadline_seconds=60)
    assert exports == {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    assert client_from_exports("s3", exports).list_buckets()["Buckets"] == []
    process.send_signal(stop_signal)
    assert process.wait(timeout=30) == 0
    assert "stopped." in process.stderr.read()
    check_port_free("127.0.0.1", port)


def test_up_on_a_taken_port_fails_with_one_clear_line(local_up_process):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = local_up_process("--port", str(port), "--no-deploy")
        assert process.wait(timeout=60) == 1
    errors = process.stderr.read().strip().splitlines()
    assert errors == [
        f"Error: port {port} on 127.0.0.1 is already in use; stop what listens there or pick "
        f"another port with --port (e.g. --port {port + 1})"
    ]


@pytest.mark.slow
def test_up_deploys_the_stack_by_default(local_up_process):
    process = local_up_process("--port", str(free_port()))
    exports = read_exports(process, deadline_seconds=120)
    cloudformation = client_from_exports("cloudformation", exports)
    (stack,) = cloudformation.describe_stacks(StackName="orders-pipeline")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_status_lists_resources_and_stage_counters(local_stack, deployed_stack):
    command = ["local", "status", "--endpoint-url", local_stack.endpoint_url]
    counters = f"      {deployed_stack['PipeName']}:"
    deadline = time.monotonic() + 30
    while True:  # the workers report a pipe once their next refresh has found it
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
        if counters in result.output.splitlines() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    lines = result.output.splitlines()
    assert f"local stack {local_stack.endpoint_url} (us-east-1)" in lines
    # Other tests' pipelines may share the session's stack: ours is one of the pipes listed.
    [pipes] = [line for line in lines if line.startswith("  pipes: ")]
    assert f"{deployed_stack['PipeName']} (RUNNING)" in pipes.removeprefix("  pipes: ").split(", ")
    assert "  pipes:" in lines and "  firehose:" in lines
    assert counters in lines
    assert any(line.strip().startswith("records_read: ") for line in lines)


def test_status_json_is_the_status_document(local_stack, deployed_stack):
    result = CliRunner().invoke(
        main, ["local", "status", "--json", "--endpoint-url", local_stack.endpoint_url]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert deployed_stack["DeliveryStreamName"] in document["resources"]["delivery_streams"]
    assert set(document["stages"]) == {"pipes", "firehose"}


def test_status_reads_the_endpoint_from_the_environment(local_stack):
    result = CliRunner().invoke(
        main, ["local", "status"], env={"AWS_ENDPOINT_URL": local_stack.endpoint_url}
    )
    assert result.exit_code == 0, result.output
    assert local_stack.endpoint_url in result.output


def test_status_without_a_stack_says_how_to_start_one():
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["local", "status", "--endpoint-url", endpoint])
    assert result.exit_code == 1
    assert f"no local stack at {endpoint}" in result.output
    assert "orders-pipeline local up" in result.output
