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
from pathlib import Path

import pytest

from orders_pipeline.local_stack.server import free_port

STARTUP_DEADLINE_S = 120
STOP_DEADLINE_S = 60


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


@pytest.mark.slow
def test_run_brings_up_stack_ui_and_orders_then_ctrl_c_stops_everything(tmp_path: Path) -> None:
    aws_port, ui_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORDERS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "orders_pipeline", "run", "--port", str(aws_port),
         "--dagster-port", str(ui_port), "--state-dir", str(tmp_path / "state"), "--rate", "5"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
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
        # What the terminal's Ctrl-C delivers to the foreground command.
        os.kill(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=STOP_DEADLINE_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{aws_port}" in text
    assert not _port_open(aws_port) and not _port_open(ui_port)
