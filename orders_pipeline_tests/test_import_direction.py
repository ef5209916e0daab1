"""Imports point down: commands -> defs -> shared helpers -> pure domain; the emulator is imported
only by the CLI; a Dagster domain folder does not import another's modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "orders_pipeline"
# Below the Dagster definitions: they may import each other, never defs/ or commands/.
SHARED = ("lib", "tables.py", "orders", "costs", "dashboard", "aws.py", "lambdas")
# Where the local stack may be imported from (besides itself).
EMULATOR_USERS = ("cli.py", "commands", "local_stack")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    """Every orders_pipeline module `path` imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("orders_pipeline")}


def where(path: Path) -> tuple[str, ...]:
    return path.relative_to(PACKAGE).parts


@pytest.mark.parametrize("path", modules(), ids=lambda p: "/".join(where(p)))
def test_the_local_stack_is_imported_only_by_the_cli(path):
    if where(path)[0] in EMULATOR_USERS:
        return
    assert not {m for m in imported(path) if m.startswith("orders_pipeline.local_stack")}


@pytest.mark.parametrize("path", modules(), ids=lambda p: "/".join(where(p)))
def test_shared_modules_do_not_import_the_definitions_or_the_commands(path):
    if where(path)[0] not in SHARED:
        return
    above = ("orders_pipeline.defs", "orders_pipeline.commands", "orders_pipeline.demo")
    assert not {m for m in imported(path) if m.startswith(above)}


@pytest.mark.parametrize("path", modules(), ids=lambda p: "/".join(where(p)))
def test_a_definitions_domain_imports_no_other_domain(path):
    parts = where(path)
    if parts[0] != "defs" or len(parts) < 3:
        return
    domain = parts[1]
    others = {
        m
        for m in imported(path)
        if m.startswith("orders_pipeline.defs.") and m.split(".")[2] not in (domain, "resources")
    }
    assert not others
    assert not {m for m in imported(path) if m.startswith("orders_pipeline.commands")}
