"""The production Dagster instance config (infra/dagster/dagster.yaml) made runnable here: the
same storage, queue, monitoring, retries and compute logs in S3, with runs in-process (and, where
no S3 is at hand, compute logs on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_CONFIG = REPO_ROOT / "infra" / "dagster" / "dagster.yaml"
WORKSPACE = REPO_ROOT / "infra" / "dagster" / "workspace.yaml"


def production_config() -> dict[str, Any]:
    return yaml.safe_load(INSTANCE_CONFIG.read_text())


def local_config(compute_log_dir: Path | None = None) -> dict[str, Any]:
    """Production's config with the default run launcher (a subprocess per run) in place of
    ECS; compute logs under `compute_log_dir` if given, else in S3 as in production."""
    config = production_config()
    del config["run_launcher"]
    if compute_log_dir is not None:
        config["compute_logs"] = {
            "module": "dagster.core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(compute_log_dir)},
        }
    return config


def write_dagster_home(home: Path, *, compute_logs_in_s3: bool = False) -> Path:
    """A DAGSTER_HOME holding the local variant of the production config; its path."""
    home.mkdir(parents=True, exist_ok=True)
    config = local_config(None if compute_logs_in_s3 else home / "compute_logs")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home
