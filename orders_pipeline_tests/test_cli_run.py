"""`orders-pipeline run` (`make run`): stack, orders and Dagster UI come up; Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from orders_pipeline.defs.ingestion.sensors import REFRESH_SPACING_ENV_VAR
from orders_pipeline.lib.jobs import INGEST_JOB
from orders_pipeline.local_stack.server import free_port

STARTUP_DEADLINE_S = 120
STOP_DEADLINE_S = 60
RUN_DEADLINE_S = 240


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _poll(probe, deadline_s: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"`orders-pipeline run` exited ({process.returncode}) before {what}")
        time.sleep(0.5)
    pytest.fail(f"no {what} within {deadline_s} s")


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _runs(home: Path) -> list[tuple[str, str]]:
    """(job, status) of every run the Dagster instance of `orders-pipeline run` holds."""
    if not (home / "dagster.yaml").exists():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [(run.job_name, run.status.value) for run in instance.get_runs()]


def _start(state: Path, aws_port: int, ui_port: int, cwd: Path) -> subprocess.Popen[bytes]:
    """`orders-pipeline run` on `state`, without the caller's AWS or pipeline settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORDERS_"))}
    # Ingest runs this far apart (not the default 2 minutes), so the test sees two soon.
    env[REFRESH_SPACING_ENV_VAR] = "20"
    return subprocess.Popen(
        [sys.executable, "-m", "orders_pipeline", "run", "--port", str(aws_port),
         "--dagster-port", str(ui_port), "--state-dir", str(state), "--rate", "5"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> str:
    """Ctrl-C, as the terminal delivers it to the foreground command; the output."""
    try:
        os.kill(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return output.decode(errors="replace")


def _ingested(home: Path, runs: int) -> bool:
    return (
        sum(1 for job, status in _runs(home) if job == INGEST_JOB and status == "SUCCESS") >= runs
    )


@dataclass
class Session:
    """One `orders-pipeline run` until its first ingest run, stopped with Ctrl-C."""

    aws_port: int
    ui_port: int
    returncode: int
    output: str
    ports_closed: bool
    runs: list[tuple[str, str]]


def _session(state: Path, cwd: Path, ingest_runs: int) -> Session:
    aws_port, ui_port = free_port(), free_port()
    home = state / "dagster"
    process = _start(state, aws_port, ui_port, cwd)
    try:
        status_url = f"http://127.0.0.1:{aws_port}/moto-api/orders-pipeline/status"

        def orders_flowing() -> bool:
            status = _get_json(status_url)
            pipes = (status or {}).get("stages", {}).get("pipes", {}).get("pipes", {})
            return any(p["records_put"] > 0 for p in pipes.values())

        _poll(orders_flowing, STARTUP_DEADLINE_S, "orders flowing through the pipe", process)
        _poll(
            lambda: _get_json(f"http://127.0.0.1:{ui_port}/server_info"),
            STARTUP_DEADLINE_S,
            "Dagster UI answering",
            process,
        )
        # The delivery sensor's ingest run: on a fresh state it builds the tables from nothing.
        _poll(lambda: _ingested(home, ingest_runs), RUN_DEADLINE_S, "an ingest run", process)
    finally:
        output = _stop(process)
    return Session(
        aws_port,
        ui_port,
        process.returncode,
        output,
        not _port_open(aws_port) and not _port_open(ui_port),
        _runs(home),
    )


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, Session]:
    """A fresh `run`, then a second on the state the first left."""
    root = tmp_path_factory.mktemp("run")
    return _session(root / "state", root, 1), _session(root / "state", root, 2)


@pytest.mark.slow
def test_run_brings_up_stack_ui_and_orders_then_ctrl_c_stops_everything(sessions) -> None:
    fresh = sessions[0]
    assert fresh.returncode == 0, fresh.output[-3000:]
    assert "Traceback" not in fresh.output, fresh.output[-3000:]
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{fresh.aws_port}" in fresh.output
    assert fresh.ports_closed


@pytest.mark.slow
def test_a_fresh_run_shows_no_failed_run(sessions) -> None:
    assert [run for run in sessions[0].runs if run[1] == "FAILURE"] == []


@pytest.mark.slow
def test_a_restart_on_persisted_state_shows_no_failed_run(sessions) -> None:
    restarted = sessions[1]
    assert restarted.returncode == 0, restarted.output[-3000:]
    assert "Traceback" not in restarted.output, restarted.output[-3000:]
    assert [run for run in restarted.runs if run[1] == "FAILURE"] == []
