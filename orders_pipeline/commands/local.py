"""`orders-pipeline local up|status`: the embedded AWS stack in the foreground, and its counters.
`status` asks the running stack over HTTP (GET /moto-api/orders-pipeline/status on its port).
"""

from __future__ import annotations

import json
import shlex
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from orders_pipeline.deploy import DeployError, deploy_stack
from orders_pipeline.local_stack.server import DEFAULT_HOST, DEFAULT_PORT, PortInUseError
from orders_pipeline.local_stack.services import STATUS_PATH
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS, LocalStack

DEFAULT_ENDPOINT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


@click.group()
def local() -> None:
    """Run the pipeline's AWS services on this machine (no account, no Docker)."""


@local.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to serve.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".local-stack"),
    show_default=True,
    help="Where the workers keep their checkpoints.",
)
@click.option(
    "--deploy/--no-deploy",
    default=True,
    show_default=True,
    help="Deploy infra/template.yaml with low buffering once the stack is up.",
)
def up(host: str, port: int, state_dir: Path, deploy: bool) -> None:
    """Start the local stack in the foreground; Ctrl-C (or SIGTERM) stops it cleanly."""
    with (
        stop_signals() as stop_requested,
        running(LocalStack(host=host, port=port, state_dir=state_dir)) as stack,
    ):
        if deploy:
            deploy_locally()
        click.echo(f"local AWS stack on {stack.endpoint_url}; in another shell run:", err=True)
        echo_exports(stack)
        click.echo("Ctrl-C stops it.", err=True)
        stop_requested.wait()


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
    except PortInUseError as error:
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
