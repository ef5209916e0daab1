"""A missing prerequisite skips a test on a laptop and fails it under CI=true."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orders_pipeline_tests.prerequisites import (
    postgres_bin_dir,
    required_module,
    required_program,
)


def test_a_program_found_on_path_or_at_its_path_is_returned(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    assert required_program(tmp_path / "absent", sys.executable, install="-") == sys.executable
    assert required_program(Path(sys.executable), install="-") == sys.executable


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)]
)
def test_a_missing_program_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no-such-program-xyz is installed: apt-get install xyz"):
        required_program("no-such-program-xyz", install="apt-get install xyz")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("false", pytest.skip.Exception)]
)
def test_a_missing_module_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no_such_module_xyz is not installed"):
        required_module("no_such_module_xyz", install="pip install xyz")
    assert required_module("json", install="-").__name__ == "json"


def test_postgres_off_path_is_found_in_the_newest_debian_directory(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for version in ("13", "15"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "initdb").touch()
    assert postgres_bin_dir(tmp_path) == tmp_path / "15" / "bin"


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("false", pytest.skip.Exception)]
)
def test_missing_postgres_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(outcome, match="PostgreSQL is not installed: apt-get install postgresql"):
        postgres_bin_dir(tmp_path)
