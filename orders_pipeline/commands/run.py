"""`orders-pipeline run`, what `make run` calls: the local AWS stack, a trickle of orders, the UI.

One foreground command; Ctrl-C or SIGTERM stops the UI, the trickle and the stack, in that order.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from orders_pipeline.commands.local import (
    build_stack,
    deploy_locally,
    echo_exports,
    running,
    stack_options,
    stop_signals,
)
from orders_pipeline.defs.resources import STACK_NAME_ENV_VAR, environment_from_outputs
from orders_pipeline.deploy import DEFAULT_STACK_NAME
from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.server import (
    PortInUseError,
    check_port_free,
)
from orders_pipeline.orders.changes import generate_changes

WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"
DAGSTER_STOP_SECONDS = 30
GROUP_STOP_SECONDS = 10


@click.command()
@stack_options
@click.option("--dagster-port", default=3000, show_default=True, type=int, help="Dagster UI port.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0.0),
    default=2.0,
    show_default=True,
    help="New mock orders per second written to DynamoDB while running (0: none).",
)
@click.option("--seed", type=int, default=None, help="Seed of the order trickle. [default: random]")
def run(dagster_port: int, rate: float, seed: int | None, **options: Any) -> None:
    """Run the whole pipeline on this machine: AWS stack, deployed template, orders, Dagster UI.

    Sensors and schedules are on by default, so with no clicks orders flow through Pipes,
    Kinesis and Firehose to S3, get crawled, and the Athena aggregates and dashboard refresh.
    """
    host = options["host"]
    try:
        check_port_free(host, dagster_port)
    except PortInUseError as error:
        raise click.ClickException(
            f"port {dagster_port} on {host} is taken; pick another Dagster UI port with "
            "--dagster-port"
        ) from error
    state_dir = options["state_dir"].resolve()
    with stop_signals() as stop_requested, running(build_stack(**options)) as stack:
        outputs = deploy_locally()
        trickle = None
        if rate > 0:
            trickle = threading.Thread(
                target=_trickle_orders,
                args=(outputs["OrdersTableName"], rate, seed, stop_requested),
                name="order-trickle",
                daemon=True,
            )
            trickle.start()
            click.echo(f"writing ~{rate:g} new orders/s (and their lifecycle) to DynamoDB")
        dagster = _start_dagster(host, dagster_port, state_dir / "dagster", outputs)
        try:
            click.echo(f"Dagster UI on http://{host}:{dagster_port}  (Ctrl-C stops everything)")
            click.echo("To use the stack from another shell:")
            echo_exports(stack)
            while not stop_requested.wait(1.0):
                if dagster.poll() is not None:
                    raise click.ClickException(f"dagster dev exited with code {dagster.returncode}")
        finally:
            stop_requested.set()
            click.echo("stopping the Dagster UI and the order trickle ...", err=True)
            _stop_dagster(dagster)
            if trickle is not None:
                trickle.join(timeout=10)


def _trickle_orders(table: str, rate: float, seed: int | None, stop: threading.Event) -> None:
    """Write an endless seeded order stream at `rate` new orders/s until `stop` is set."""
    changes = generate_changes(
        None,
        seed=seed if seed is not None else int.from_bytes(os.urandom(4), "big"),
        orders_per_second=rate,
        finish_lifecycles=False,
    )
    try:
        write_changes(table, itertools.takewhile(lambda _: not stop.is_set(), changes), rate=rate)
    except Exception as error:  # the UI keeps running; say why orders stopped, in one line
        if not stop.is_set():
            click.echo(f"order trickle stopped: {type(error).__name__}: {error}", err=True)


def _start_dagster(
    host: str, port: int, home: Path, outputs: dict[str, str]
) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    instance_config = home / "dagster.yaml"
    if not instance_config.exists():
        # The local stack works offline: no usage statistics to send anywhere.
        instance_config.write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        **environment_from_outputs(outputs),
        STACK_NAME_ENV_VAR: DEFAULT_STACK_NAME,
        "DAGSTER_HOME": str(home),
    }
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    # A new session: the shell's Ctrl-C reaches only us, and we stop dagster with SIGTERM.
    return subprocess.Popen(
        [dagster, "dev", "-w", str(WORKSPACE), "-h", host, "-p", str(port)],
        env=env,
        start_new_session=True,
    )


def _stop_dagster(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to `dagster dev` alone first: it stops the daemon and webserver before their
    code server, so no sensor tick dies mid-request. Then what is left of its group (a run
    still executing, a code server) gets SIGTERM, and SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=DAGSTER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break  # the whole group has exited
        _wait_for_group_exit(process, GROUP_STOP_SECONDS)
    process.wait()


def _wait_for_group_exit(leader: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        leader.poll()  # reaped, so an exited leader does not keep its group alive as a zombie
        try:
            os.killpg(leader.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
