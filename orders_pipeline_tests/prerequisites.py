"""A test whose prerequisite (a program, a module) is missing skips; under CI=true it fails."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Tools that pin their own boto3/botocore get a virtual environment each (the Makefile makes them).
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
AWS_CLI = REPO_ROOT / ".venv-awscli" / "bin" / "aws"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing_prerequisite(reason: str) -> NoReturn:
    """Skip the calling test (or module) for `reason`; fail it instead under CI=true."""
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def required_program(*candidates: str | Path, install: str) -> str:
    """The first candidate that is an executable file (a Path) or a program on PATH (a name)."""
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return str(found)
    names = ", ".join(str(candidate) for candidate in candidates)
    missing_prerequisite(f"none of {names} is installed: {install}")


def required_module(name: str, *, install: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing_prerequisite(f"Python module {name} is not installed: {install}")


def postgres_bin_dir(debian_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """Where PostgreSQL's initdb and postgres are: on PATH, else the newest of Debian's versioned
    directories (the postgresql package does not put them on PATH)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    debian = sorted(debian_root.glob("*/bin/initdb"), key=_major_version)
    if debian:
        return debian[-1].parent
    missing_prerequisite("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")


def _major_version(initdb: Path) -> int:
    version = initdb.parent.parent.name
    return int(version) if version.isdigit() else 0


def checkov() -> str:
    return required_program(CHECKOV, install="`make test` creates .venv-checkov")


def aws_cli() -> str:
    """The project's pinned aws CLI, else one on PATH."""
    return required_program(AWS_CLI, "aws", install="`make test` creates .venv-awscli")
