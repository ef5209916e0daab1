"""The production Dagster instance config (infra/dagster/dagster.yaml) made runnable here: the
same storage, queue, monitoring and retries, with runs in-process and compute logs on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_CONFIG = REPO_ROOT / "infra" / "dagster" / "dagster.yaml"
WORKSPACE = REPO_ROOT / "infra" / "dagster" / "workspace.yaml"


def production_config() -> dict[str, Any]:
    return yaml.safe_load(INSTANCE_CONFIG.read_text())


def local_config(compute_log_dir: Path) -> dict[str, Any]:
    """Production's config with only what needs ECS or S3 swapped: the default run launcher
    (a subprocess per run) and compute logs under `compute_log_dir`."""
    config = production_config()
    del config["run_launcher"]
    config["compute_logs"] = {
        "module": "dagster.core.storage.local_compute_log_manager",
        "class": "LocalComputeLogManager",
        "config": {"base_dir": str(compute_log_dir)},
    }
    return config


def write_dagster_home(home: Path) -> Path:
    """A DAGSTER_HOME holding the local variant of the production config; its path."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(local_config(home / "compute_logs")))
    return home
