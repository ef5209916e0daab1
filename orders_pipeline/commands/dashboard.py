"""`orders-pipeline dashboard`: materialize the dashboard page now and print where it is."""

from __future__ import annotations

import logging
import os
import re
import webbrowser
from pathlib import Path

import click
import dagster as dg

from orders_pipeline.aws import LOCAL_HINT
from orders_pipeline.defs.dashboard.assets import orders_dashboard
from orders_pipeline.defs.dashboard.resources import (
    DASHBOARD_PATH_ENV_VAR,
    DEFAULT_LOCAL_PATH,
    DashboardOutputResource,
)
from orders_pipeline.defs.resources import STACK_NAME_ENV_VAR, build_resources
from orders_pipeline.deploy import DEFAULT_STACK_NAME

# Dagster's step logs and tracebacks would bury the one line this command prints; a failure is
# reported below from the run's own failure event.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _instance() -> dg.DagsterInstance:
    """The developer's Dagster instance when DAGSTER_HOME is set, so the run shows in the UI."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _failure_reason(result: dg.ExecuteInProcessResult) -> str:
    for event in result.get_step_failure_events():
        failure = event.step_failure_data
        if failure.user_failure_data and failure.user_failure_data.description:
            return failure.user_failure_data.description
        if failure.error:
            return " ".join(failure.error.message.split())
    return "the run failed"


def _config_problem(error: dg.DagsterInvalidConfigError) -> str:
    """One line for resources that cannot be configured: usually a setting left unset."""
    unset = re.search(r'environment variable "([A-Z0-9_]+)" which is not set', str(error))
    if unset:
        return (
            f"{unset.group(1)} is not set and the stack "
            f"{os.environ.get(STACK_NAME_ENV_VAR, DEFAULT_STACK_NAME)}'s Outputs could not be "
            f"read (set {STACK_NAME_ENV_VAR}, or deploy it); {LOCAL_HINT}"
        )
    return " ".join(str(error).split())


@click.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_LOCAL_PATH,
    envvar=DASHBOARD_PATH_ENV_VAR,
    show_default=True,
    help=f"Where to write the HTML page (also ${DASHBOARD_PATH_ENV_VAR}).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
def dashboard(output: Path, open_browser: bool) -> None:
    """Render the dashboard from the aggregate tables (Athena), write it and print its path.

    The page also goes to s3://<data bucket>/dashboards/orders.html. It is the same Dagster
    asset (`orders_dashboard`) that refreshes whenever the aggregates do.
    """
    resources = {
        **build_resources(),
        "dashboard_output": DashboardOutputResource(local_path=str(output)),
    }
    # pyathena logs a traceback for every failed query before raising it.
    logging.getLogger("pyathena").setLevel(logging.CRITICAL)
    with _instance() as instance:
        try:
            result = dg.materialize(
                [orders_dashboard],
                resources=resources,
                instance=instance,
                run_config=QUIET_RUN_CONFIG,
                raise_on_error=False,
            )
        except dg.DagsterInvalidConfigError as error:
            raise click.ClickException(f"dashboard not written: {_config_problem(error)}") from None
    if not result.success:
        raise click.ClickException(f"dashboard not written: {_failure_reason(result)}")
    (materialization,) = result.asset_materializations_for_node(orders_dashboard.op.name)
    path = materialization.metadata["path"].value
    click.echo(path)
    if open_browser:
        webbrowser.open(Path(path).as_uri())
