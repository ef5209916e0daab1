"""The Dagster code location: every definition found under `defs/`, one folder per domain."""

from pathlib import Path

import dagster as dg

import orders_pipeline.defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.components.load_defs(
        defs_root=orders_pipeline.defs, project_root=Path(__file__).resolve().parent.parent
    )
