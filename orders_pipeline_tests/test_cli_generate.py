"""`orders-pipeline generate`: writes the table, prints a summary, fails in one clear line.
Bad input and the 1000-order run go through the installed console script, as a user runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orders_pipeline.aws import client_config as aws_client_config
from orders_pipeline.cli import main
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.orders.changes import apply_changes, generate_changes
from orders_pipeline_tests import test_dynamodb_writer as writer_tests
from orders_pipeline_tests.prerequisites import required_program
from orders_pipeline_tests.test_dynamodb_writer import scan_items

# The table fixtures are the writer tests' own, shared rather than copied.
aws_env = writer_tests.aws_env
dynamodb = writer_tests.dynamodb
orders_table = writer_tests.orders_table

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["generate", *args], prog_name="orders-pipeline")


def run_installed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`orders-pipeline generate ...` through the installed console script, as a user runs it."""
    script = required_program(
        Path(sys.executable).parent / "orders-pipeline", install="pip install -e '.[dev]'"
    )
    return subprocess.run(
        [script, "generate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_count_1000_against_a_moto_server_writes_1000_orders_and_their_changes(
    orders_table: Any,
) -> None:
    done = run_installed(
        "--count", "1000", "--seed", "11", "--start", "2025-06-01T08:00:00",
        "--table", orders_table.name, "--no-progress",
        env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = list(generate_changes(1000, seed=11, start=START))
    assert "  INSERT  1000" in done.stdout.splitlines()
    assert f"written   {len(expected)} changes" in done.stdout.splitlines()
    assert scan_items(orders_table) == apply_changes(expected)
    records = writer_tests.stream_records(orders_table, len(expected))
    assert len(records) == len(expected)
    assert sum(record["eventName"] == "INSERT" for record in records) == 1000


def test_generate_writes_the_seeded_stream_and_prints_a_summary(orders_table: Any) -> None:
    result = run(
        "--count", "40", "--seed", "4", "--start", "2025-06-01T08:00:00",
        "--table", orders_table.name,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = list(generate_changes(40, seed=4, start=START))
    assert scan_items(orders_table) == apply_changes(expected)
    assert f"{len(expected)} changes" in result.stderr  # the progress bar, on stderr
    lines = result.stdout.splitlines()
    assert f"table     {orders_table.name}" in lines
    assert "seed      4" in lines
    assert f"written   {len(expected)} changes" in lines
    assert "  INSERT  40" in lines


def test_table_name_comes_from_the_environment(
    orders_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", orders_table.name)
    result = run("--count", "5", "--no-progress")
    assert result.exit_code == 0, result.output
    assert scan_items(orders_table)


def test_duration_alone_places_orders_until_time_is_up(orders_table: Any) -> None:
    result = run("--duration", "1", "--rate", "20", "--table", orders_table.name, "--no-progress")
    assert result.exit_code == 0, result.output
    assert scan_items(orders_table)


def test_help_describes_every_option() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--count", "--duration", "--rate", "--seed", "--table", "--region",
                   "--cancel-rate", "--return-rate", "--delete-rate", "--catalogue",
                   "--no-progress"):  # fmt: skip
        assert option in result.output


@pytest.mark.parametrize(
    "args,named",
    [
        (["--count", "0"], "'--count'"),
        (["--count", "-5"], "'--count'"),
        (["--count", "3", "--rate", "0"], "'--rate'"),
        (["--count", "3", "--rate", "-1"], "'--rate'"),
        (["--count", "3", "--rate", "fast"], "'--rate'"),
        (["--duration", "0"], "'--duration'"),
        (["--count", "3", "--cancel-rate", "1.5"], "'--cancel-rate'"),
        (["--count", "3", "--start", "yesterday"], "'--start'"),
        (["--count", "3", "--catalogue", "no-such-file.csv"], "'--catalogue'"),
        (["--count", "3", "--colour", "red"], "--colour"),
        ([], "--count"),
    ],
)
def test_bad_input_exits_non_zero_with_one_error_line_naming_it(
    args: list[str], named: str
) -> None:
    done = run_installed(*args)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and named in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_catalogue_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("product_id,product_name,category,price\nP1,Mug,Kitchen,4.999\n")
    result = run("--count", "3", "--catalogue", str(path))
    assert result.exit_code == 2
    assert "line 2: price: must be in whole cents (2 dp), got '4.999'" in result.output


def test_missing_table_is_one_line_naming_it(aws_env: str) -> None:
    result = run("--count", "3", "--table", "NoSuchOrders", "--no-progress")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: AWS DescribeTable failed: ResourceNotFoundException")
    assert "NoSuchOrders" in result.output


def test_unreachable_endpoint_fails_fast_in_one_line_without_traceback() -> None:
    port = free_port()  # nothing listens here
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = run_installed("--count", "5", env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f'Error: cannot reach AWS: Could not connect to the endpoint URL: "http://127.0.0.1:{port}/"'
        f" (AWS_ENDPOINT_URL=http://127.0.0.1:{port})"
    ]


def test_cli_client_config_retries_little_and_connects_briefly() -> None:
    config = aws_client_config()
    assert config.connect_timeout <= 5
    assert config.retries["max_attempts"] <= 3


@pytest.mark.parametrize(
    "unset,message",
    [
        (
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"],
            "Error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and",
        ),
        (
            ["AWS_DEFAULT_REGION", "AWS_REGION"],
            "Error: no AWS region configured: pass --region or set AWS_DEFAULT_REGION",
        ),
    ],
    ids=["no-credentials", "no-region"],
)
def test_missing_aws_configuration_is_one_line_saying_what_to_set(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unset: list[str], message: str
) -> None:
    # No config files and no instance metadata, so nothing else can supply what was unset.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    result = run("--count", "3", "--no-progress")
    assert result.exit_code == 1
    assert result.output.splitlines() == [result.output.strip()]
    assert result.output.startswith(message)


@pytest.mark.parametrize(
    "command",
    [["generate", "--count", "3", "--no-progress"], ["demo", "--orders", "1"], ["dashboard"]],
    ids=lambda command: command[0],
)
def test_a_command_without_aws_settings_points_at_the_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in list(os.environ):
        if name.startswith(("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT", "ORDERS_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert result.output.splitlines() == [result.output.strip()]
    assert result.output.startswith("Error: ") and "--local" in result.output
