"""moto's ThreadedMotoServer on a port checked to be free, with fixed local credentials and region.
moto's server hangs forever when its port is taken, so the port is probed before it starts.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import socket
import sys
import urllib.request

from moto.server import ThreadedMotoServer

from orders_pipeline.local_stack.gc_tuning import collect_oldest_rarely

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
REGION = "us-east-1"
# moto's default account: every ARN and account-scoped name the stack creates uses it.
ACCOUNT_ID = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The server runs a thread per request under one GIL. A thread back from a socket call waits up
# to the switch interval (5 ms by default) for the GIL while another request computes, so every
# small read or write of a request pays it again; a shorter interval keeps short requests short.
SWITCH_INTERVAL_SECONDS = 0.001


class PortInUseError(RuntimeError):
    """The requested host:port already has a listener (or cannot be bound)."""


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUseError naming the port (and how to pick another) if it cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
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


class MotoServer:
    """One moto server serving every AWS service on host:port."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.host = host
        self.port = port
        self._server: ThreadedMotoServer | None = None
        self._replaced_env: dict[str, str | None] = {}
        self._replaced_switch_interval: float | None = None
        self._replaced_gc_threshold: tuple[int, ...] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

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
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._replaced_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(SWITCH_INTERVAL_SECONDS, self._replaced_switch_interval))
        self._replaced_gc_threshold = collect_oldest_rarely()
        server.start()
        self._server = server
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None
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
