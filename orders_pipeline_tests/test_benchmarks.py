"""The benchmark scripts still run and count what they claim (tiny sizes; no figure is judged)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        cwd=ROOT,
        env={**_clean_env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _clean_env() -> dict[str, str]:
    # The benchmark starts its own stack: no endpoint of this test session may leak into it.
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def test_transform_benchmark_reports_its_throughput() -> None:
    result = _run("transform_throughput.py", "--records", "300", "--runs", "1")

    assert result.returncode == 0, result.stderr
    assert "invocation: 300 records" in result.stdout
    assert "records/s" in result.stdout


@pytest.mark.slow
def test_end_to_end_benchmark_delivers_every_change_and_reports_the_ratio() -> None:
    result = _run("local_stack_end_to_end.py", "--changes", "300", "--runs", "1")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (run,) = report["results"]
    assert run["delivered_changes"] == 300
    assert run["end_to_end_vs_raw"] > 0
    assert set(run["cpu_s_per_1000_changes"]["pipeline"]) >= {"server", "workers", "writer"}
    assert report["summary"]["median"]["end_to_end_vs_raw"] == run["end_to_end_vs_raw"]
    assert "run 1/1" in result.stderr
