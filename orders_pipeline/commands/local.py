"""`orders-pipeline local up|status|reset`: the embedded AWS stack in the foreground, its
counters, and wiping its kept state.
`status` asks the running stack over HTTP (GET /moto-api/orders-pipeline/status on its port).
"""

from __future__ import annotations

import json
import shlex
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from orders_pipeline.costs.estimate import estimate, load_prices, parse_meters
from orders_pipeline.deploy import DeployError, deploy_stack
from orders_pipeline.local_stack.gateway import ORIGIN_ENV_VAR, is_loopback_name, origins_from_text
from orders_pipeline.local_stack.persistence.store import (
    DEFAULT_SNAPSHOT_INTERVAL,
    StateError,
    wipe,
)
from orders_pipeline.local_stack.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    STATUS_PATH,
    PortInUseError,
    RemoteBindError,
    remote_bind_warning,
)
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS, LocalStack

# Under --state-dir: the AWS stack's state here, the Dagster instance (run) beside it.
AWS_STATE = "aws"

DEFAULT_ENDPOINT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


@click.group()
def local() -> None:
    """Run the pipeline's AWS services on this machine (no account, no Docker)."""


def stack_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that starts the local stack takes (local up, run)."""
    options = [
        click.option(
            "--host",
            default=DEFAULT_HOST,
            show_default=True,
            help="Address to listen on (loopback; another needs --allow-remote).",
        ),
        click.option(
            "--port", default=DEFAULT_PORT, show_default=True, type=int, help="AWS stack port."
        ),
        click.option(
            "--state-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path(".local-stack"),
            show_default=True,
            help="Every service's state (and the Dagster instance) lives here across restarts.",
        ),
        click.option(
            "--snapshot-interval",
            type=click.FloatRange(min=0.1),
            default=DEFAULT_SNAPSHOT_INTERVAL,
            show_default=True,
            help="Seconds between state snapshots: the most a killed stack can lose.",
        ),
        click.option(
            "--allow-origin",
            "allowed_origins",
            multiple=True,
            envvar=ORIGIN_ENV_VAR,
            help=(
                "A web origin (http://host:port) whose pages may call the stack, besides "
                f"loopback ones; repeatable, or comma-separated in ${ORIGIN_ENV_VAR}."
            ),
        ),
        click.option(
            "--allow-remote",
            is_flag=True,
            help="Allow --host to be a non-loopback address (no authentication: trusted networks).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_stack(
    *,
    host: str,
    port: int,
    state_dir: Path,
    snapshot_interval: float,
    allowed_origins: tuple[str, ...],
    allow_remote: bool,
) -> LocalStack:
    """The LocalStack the options describe; one clear line for a bad option."""
    try:
        origins = origins_from_text(",".join(allowed_origins))
        stack = LocalStack(
            host=host,
            port=port,
            state_dir=state_dir / AWS_STATE,
            snapshot_interval=snapshot_interval,
            allowed_origins=origins,
            allow_remote=allow_remote,
        )
    except (ValueError, RemoteBindError) as error:
        raise click.ClickException(str(error)) from error
    if allow_remote and not is_loopback_name(host.strip("[]")):
        click.echo(remote_bind_warning(host, port), err=True)
    return stack


@local.command()
@stack_options
@click.option(
    "--deploy/--no-deploy",
    default=True,
    show_default=True,
    help="Deploy infra/template.yaml with low buffering once the stack is up.",
)
def up(deploy: bool, **options: Any) -> None:
    """Start the local stack in the foreground; Ctrl-C (or SIGTERM) stops it cleanly.

    Its state is kept in --state-dir: a later `local up` (or `run`) continues where it stopped.
    """
    with stop_signals() as stop_requested, running(build_stack(**options)) as stack:
        if deploy:
            deploy_locally()
        click.echo(f"local AWS stack on {stack.endpoint_url}; in another shell run:", err=True)
        echo_exports(stack)
        click.echo("Ctrl-C stops it.", err=True)
        stop_requested.wait()


@local.command()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".local-stack"),
    show_default=True,
    help="The state directory to wipe.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(state_dir: Path, yes: bool) -> None:
    """Wipe the local stack's state (every service's data, the Dagster instance)."""
    if not state_dir.exists() or not any(state_dir.iterdir()):
        click.echo(f"{state_dir} holds no state: nothing to remove")
        return
    if not yes:
        click.confirm(f"Remove everything under {state_dir}?", abort=True)
    try:
        removed = wipe(state_dir)
    except StateError as error:
        raise click.ClickException(str(error)) from error
    for entry in removed:
        click.echo(f"removed {entry}")
    click.echo(f"{state_dir} is empty: the next start begins afresh")


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C or SIGTERM sets, for a foreground command to stop cleanly on."""
    stop_requested = threading.Event()
    # Installed before anything starts so an early Ctrl-C still takes the clean path.
    previous = {
        signum: signal.signal(signum, lambda *_: stop_requested.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop_requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def running(stack: LocalStack) -> Iterator[LocalStack]:
    """The stack started (a taken port is one clear line) and stopped again on the way out."""
    try:
        stack.start()
    except (PortInUseError, StateError) as error:
        raise click.ClickException(str(error)) from error
    try:
        yield stack
    finally:
        click.echo("stopping the local stack ...", err=True)
        stack.stop()
        click.echo("stopped.", err=True)


def deploy_locally() -> dict[str, str]:
    """infra/template.yaml deployed with low buffering on the started stack; its Outputs."""
    # deploy_stack's default boto3 clients read the AWS_* variables stack.start() pointed here.
    click.echo("deploying infra/template.yaml ...", err=True)
    try:
        outputs = deploy_stack(
            parameters=dict(LOCAL_DEPLOY_PARAMETERS),
            progress=lambda line: click.echo(f"  {line}", err=True),
            poll_interval=0.5,
        )
    except DeployError as error:
        raise click.ClickException(f"deploying the stack failed: {error}") from error
    click.echo(f"stack deployed: {len(outputs)} outputs", err=True)
    return outputs


def echo_exports(stack: LocalStack) -> None:
    """The `export` lines a shell needs to use the stack, on stdout."""
    for name, value in stack.env().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@local.command()
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    default=DEFAULT_ENDPOINT_URL,
    show_default=True,
    help="The running local stack (default: $AWS_ENDPOINT_URL).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw status document.")
def status(endpoint_url: str, as_json: bool) -> None:
    """Resources of the running local stack and each stage's counters."""
    document = fetch_status(endpoint_url)
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"local stack {document['endpoint_url']} ({document['region']})")
    click.echo("resources:")
    for kind, names in document["resources"].items():
        click.echo(f"  {kind}: {', '.join(names) if names else '-'}")
    click.echo("stages:" if document["workers_running"] else "stages: workers are stopped")
    for stage, counters in document["stages"].items():
        click.echo(f"  {stage}:")
        for line in _indented(counters, depth=2):
            click.echo(line)
    for section in ("supervision", "state"):
        if document.get(section):
            click.echo(f"{section}:")
            for line in _indented(document[section], depth=1):
                click.echo(line)
    if document.get("meters"):
        click.echo(f"metered: {running_total(document['meters'])}")


def running_total(meters: dict[str, Any]) -> str:
    """What the stack's work so far would have cost on AWS, and the $/day it runs at."""
    prices = load_prices()
    cost = estimate(parse_meters(meters, prices), prices)
    hours = cost.seconds / 3600
    return (
        f"${cost.usd:.4f} on AWS over {hours:.2f} h of running, ${cost.usd_per_day:.2f}/day at "
        "this rate (us-east-1 list prices; `orders-pipeline cost` for each meter)"
    )


def fetch_status(endpoint_url: str, timeout: float = 30) -> dict[str, Any]:
    """The status document of the stack serving `endpoint_url`; ClickException if unreachable."""
    url = endpoint_url.rstrip("/") + STATUS_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise click.ClickException(
            f"{url} answered HTTP {error.code}: is this an orders-pipeline local stack?"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise click.ClickException(
            f"no local stack at {endpoint_url} ({reason}); "
            "start one with `orders-pipeline local up` (or `make run`)"
        ) from error


def _indented(value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if not isinstance(value, dict):
        return [f"{pad}{value}"]
    lines = []
    for key, item in value.items():
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(_indented(item, depth + 1))
        elif isinstance(item, dict):
            lines.append(f"{pad}{key}: -")
        else:
            lines.append(f"{pad}{key}: {item}")
    return lines
