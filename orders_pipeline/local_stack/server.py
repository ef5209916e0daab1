"""The local stack's HTTP server: moto's services behind the loopback-only gateway, on a port
checked to be free, with fixed local credentials and region.

moto's own ThreadedMotoServer hangs forever when its port is taken, answers any origin and any
Host, and binds wherever it is told; this server probes the port first, serves through
`gateway.Gateway`, and binds a non-loopback address only when asked to explicitly.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
import sys
import threading
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from orders_pipeline.local_stack.gateway import AccessPolicy, Gateway, Observer, is_loopback_name
from orders_pipeline.local_stack.gc_tuning import collect_oldest_rarely

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
REGION = "us-east-1"
# moto's default account: every ARN and account-scoped name the stack creates uses it.
ACCOUNT_ID = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
STATUS_PATH = "/moto-api/orders-pipeline/status"
# The server runs a thread per request under one GIL. A thread back from a socket call waits up
# to the switch interval (5 ms by default) for the GIL while another request computes, so every
# small read or write of a request pays it again; a shorter interval keeps short requests short.
SWITCH_INTERVAL_SECONDS = 0.001


class PortInUseError(RuntimeError):
    """The requested host:port already has a listener (or cannot be bound)."""


class RemoteBindError(ValueError):
    """A non-loopback address was asked for without saying so explicitly (allow_remote)."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUseError naming the port (and how to pick another) if it cannot be bound."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        # Same option werkzeug's server sets: a port in TIME_WAIT is free, a listening one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"fails: {exc}"
            raise PortInUseError(
                f"port {port} on {host} {reason}; stop what listens there or pick another "
                f"port with --port (e.g. --port {port + 1})"
            ) from exc


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port the OS says is free right now (for tests and throwaway stacks)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def client_env(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """The environment a boto3/pyathena client needs to talk to the local stack."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def remote_bind_warning(host: str, port: int) -> str:
    return (
        f"WARNING: serving on {host}:{port}, beyond this machine's loopback: anyone who can reach "
        "it can read and change every resource and object of the stack (there is no "
        "authentication). Use it only on a network you trust."
    )


class LocalServer:
    """Every emulated AWS service on host:port, behind the gateway."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        allowed_origins: frozenset[str] = frozenset(),
        allow_remote: bool = False,
        state_lock: Any = None,
        write_scope: Callable[[], AbstractContextManager[None]] = nullcontext,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if not allow_remote and not is_loopback_name(host.strip("[]")):
            raise RemoteBindError(
                f"{host} is not a loopback address: serving beyond this machine needs "
                "--allow-remote (there is no authentication)"
            )
        self.host = host
        self.port = port
        self.policy = AccessPolicy(bind_host=host, extra_origins=allowed_origins)
        self.status_provider: Callable[[], dict[str, Any]] | None = None
        self._state_lock = state_lock
        self._write_scope = write_scope
        self._on_change = on_change
        self._observers: list[Observer] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._replaced_env: dict[str, str | None] = {}
        self._replaced_switch_interval: float | None = None
        self._replaced_gc_threshold: tuple[int, ...] | None = None

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def observe(self, observer: Observer) -> None:
        """Call `observer` after every request served (before start())."""
        self._observers.append(observer)

    def _status(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.status_provider is None:
            return 503, {"error": "no local stack status provider is registered in this server"}
        return 200, self.status_provider()

    def start(self) -> str:
        """Start serving and return the endpoint URL; PortInUseError if the port is taken."""
        if self._server is not None:
            return self.endpoint_url
        check_port_free(self.host, self.port)
        # Every client in this process (workers, Lambda runtimes it spawns) talks to this server,
        # signing with fixed values so real credentials are never sent to the emulator; stop()
        # puts the previous values back.
        env = client_env(self.endpoint_url)
        self._replaced_env = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        # werkzeug logs every request at INFO: thousands of lines a second under load.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        dispatcher = DomainDispatcherApplication(create_backend_app)
        gateway = Gateway(
            dispatcher.get_application,
            self.policy,
            routes={STATUS_PATH: self._status},
            state_lock=self._state_lock,
            write_scope=self._write_scope,
            on_change=self._on_change,
            # An invocation runs for as long as the function does: the Lambda patches take the
            # lock only around the few changes it makes (its log events).
            unlocked=frozenset({("awslambda", "Invoke")}),
        )
        for observer in self._observers:
            gateway.observe(observer)
        self._server = make_server(
            self.host, self.port, gateway, threaded=True, request_handler=MotoRequestHandler
        )
        self._replaced_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(SWITCH_INTERVAL_SECONDS, self._replaced_switch_interval))
        self._replaced_gc_threshold = collect_oldest_rarely()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-stack-server", daemon=True
        )
        self._thread.start()
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
        if self._replaced_switch_interval is not None:
            sys.setswitchinterval(self._replaced_switch_interval)
            self._replaced_switch_interval = None
        if self._replaced_gc_threshold is not None:
            gc.set_threshold(*self._replaced_gc_threshold)
            self._replaced_gc_threshold = None
        for name, value in self._replaced_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def reset(self) -> None:
        """Forget every resource and all data (moto's documented reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
