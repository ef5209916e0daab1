"""`orders-pipeline cost`: the table and JSON from a meters file or a stack, one-line errors.
The status endpoint is a stand-in HTTP server: what matters here is the document it serves.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orders_pipeline.cli import main
from orders_pipeline.costs.estimate import estimate, load_prices, parse_meters
from orders_pipeline.local_stack.server import STATUS_PATH, free_port
from orders_pipeline_tests.prerequisites import required_program
from orders_pipeline_tests.test_cost_estimate import EXAMPLE


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, ["cost", *args], input=input, prog_name="orders-pipeline")


def run_installed(*args: str) -> subprocess.CompletedProcess:
    """`orders-pipeline cost ...` through the installed console script, as a user runs it."""
    script = required_program(
        Path(sys.executable).parent / "orders-pipeline", install="pip install -e '.[dev]'"
    )
    return subprocess.run([script, "cost", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def meters_file(tmp_path: Path) -> Path:
    path = tmp_path / "meters.json"
    path.write_text(json.dumps(EXAMPLE))
    return path


@pytest.fixture
def status_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """An endpoint answering GET STATUS_PATH with the dict the test fills in (a stack stand-in)."""
    status: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(status).encode()
            self.send_response(200 if self.path == STATUS_PATH else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", status
    finally:
        server.shutdown()
        server.server_close()


def test_the_installed_command_prints_the_table_from_a_meters_file(meters_file: Path):
    done = run_installed("--meters", str(meters_file))
    assert done.returncode == 0, done.stderr
    expected = estimate(parse_meters(EXAMPLE, load_prices()), load_prices())
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"observed 1 h 00 min on meters file {meters_file}: 2025-12-01 09:06:40 to 10:06:40 UTC"
    )
    assert lines[2].split() == ["service", "so", "far", "$/day", "share"]
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[3 : 3 + 12]]
    rows = {name: values for name, *values in table}
    for cost in expected.services:  # every service, dearest first, then the total
        assert rows[cost.name] == [
            f"${cost.usd:.4f}",
            f"${cost.usd_per_day:.4f}",
            f"{cost.share:.1%}",
        ]
    assert list(rows)[:2] == ["Kinesis Data Streams", "Athena"]
    assert rows["total"] == [f"${expected.usd:.4f}", f"${expected.usd_per_day:.4f}", "100.0%"]
    assert any(line.strip().startswith("kinesis.shard_hours") for line in lines)
    assert lines[-1].startswith("prices: orders_pipeline/costs/prices_us_east_1.yaml, us-east-1")
    assert "read 2026-12-01" in lines[-1]


def test_json_prints_the_numbers_the_estimator_computes(meters_file: Path):
    result = run("--meters", str(meters_file), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = estimate(parse_meters(EXAMPLE, load_prices()), load_prices())
    assert printed["usd"] == pytest.approx(expected.usd)
    assert printed["usd_per_day"] == pytest.approx(expected.usd * 24)
    assert [cost["service"] for cost in printed["services"]] == [
        cost.service for cost in expected.services
    ]
    assert len(printed["meters"]) == len(EXAMPLE["meters"])
    assert printed["prices"]["file"] == "orders_pipeline/costs/prices_us_east_1.yaml"


def test_orders_per_day_projects_from_the_documents_observed_rate():
    document = {**EXAMPLE, "orders_per_day": 2000}
    result = run(
        "--meters", "-", "--json", "--orders-per-day", "100000", input=json.dumps(document)
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["scale"] == pytest.approx(50)
    assert printed["observed_orders_per_day"] == 2000
    per_day = {cost["meter"]: cost["usd_per_day"] for cost in printed["meters"]}
    observed = {cost.meter: cost.usd_per_day for cost in estimate(
        parse_meters(EXAMPLE, load_prices()), load_prices()
    ).meters}  # fmt: skip
    assert per_day["dynamodb.write_request_units"] == pytest.approx(
        observed["dynamodb.write_request_units"] * 50
    )
    assert per_day["kinesis.shard_hours"] == pytest.approx(observed["kinesis.shard_hours"])


def test_orders_per_day_without_an_observed_rate_is_one_line_naming_the_option(meters_file):
    result = run("--meters", str(meters_file), "--orders-per-day", "100000")
    assert result.exit_code == 2
    assert "--observed-orders-per-day" in result.output.strip().splitlines()[-1]


def test_reads_the_meters_from_the_stack_status(status_server):
    endpoint, status = status_server
    status.update({"endpoint_url": endpoint, "meters": EXAMPLE})
    result = run("--endpoint-url", endpoint, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["source"] == f"local stack {endpoint}"
    assert printed["seconds"] == 3600


def test_a_stack_without_meters_says_so_in_one_line(status_server):
    endpoint, status = status_server
    status.update({"endpoint_url": endpoint, "stages": {}})
    result = run("--endpoint-url", endpoint)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: the local stack at {endpoint} reports no meters")


def test_a_saved_status_document_is_read_for_its_meters(tmp_path: Path):
    saved = tmp_path / "status.json"
    saved.write_text(json.dumps({"endpoint_url": "http://127.0.0.1:4566", "meters": EXAMPLE}))
    result = run("--meters", str(saved), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["seconds"] == 3600


def test_a_bad_document_is_one_line_naming_the_field():
    document = {**EXAMPLE, "meters": {"kinesis.shard_hours": -1}}
    result = run("--meters", "-", input=json.dumps(document))
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "'meters.kinesis.shard_hours' must be a number >= 0, got -1" in line


def test_without_a_stack_the_error_is_one_line_saying_how_to_start_one():
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = run("--endpoint-url", endpoint)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: no local stack at {endpoint}")
    assert "`orders-pipeline local up`" in line and "`make run`" in line


def test_help_describes_every_option_and_the_group_lists_the_command():
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--endpoint-url", "--meters", "--json", "--orders-per-day",
                   "--observed-orders-per-day", "--top"):  # fmt: skip
        assert option in result.output
    listed = CliRunner().invoke(main, ["--help"])
    assert "cost" in listed.output.split("Commands:")[1].split()
