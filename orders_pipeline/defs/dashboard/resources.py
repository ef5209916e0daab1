"""Where the dashboard page goes: a local file a person opens, and a key in the data bucket."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DASHBOARD_PATH_ENV_VAR = "ORDERS_DASHBOARD_PATH"
DEFAULT_LOCAL_PATH = ".dashboards/orders.html"
DEFAULT_S3_KEY = "dashboards/orders.html"


class DashboardOutputResource(dg.ConfigurableResource):
    """`local_path` is relative to the working directory unless absolute."""

    local_path: str = DEFAULT_LOCAL_PATH
    s3_key: str = DEFAULT_S3_KEY

    def path(self) -> Path:
        return Path(self.local_path).expanduser().resolve()


def dashboard_output() -> DashboardOutputResource:
    if DASHBOARD_PATH_ENV_VAR in os.environ:
        return DashboardOutputResource(local_path=dg.EnvVar(DASHBOARD_PATH_ENV_VAR))
    return DashboardOutputResource()


defs = dg.Definitions(resources={"dashboard_output": dashboard_output()})
