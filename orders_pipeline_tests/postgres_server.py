"""A throwaway PostgreSQL server for tests: initdb in a temporary directory, one free port on
loopback, a password-authenticated user; stopped and removed on exit."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from orders_pipeline.local_stack.server import free_port
from orders_pipeline_tests.polling import wait_for

USER = "dagster"
DATABASE = "dagster"
# PostgreSQL refuses to run as root; CI runs as root, so there the server runs as this account
# (Debian's postgresql package creates it).
SERVICE_ACCOUNT = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: Path

    def connect(self):  # noqa: ANN201 - a psycopg2 connection
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            connect_timeout=5,
        )

    def environment(self) -> dict[str, str]:
        """The variables infra/dagster/dagster.yaml reads its storage settings from."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": self.database,
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
        }


@contextmanager
def postgres_server(bin_dir: Path, *, timeout: float = 60) -> Iterator[PostgresServer]:
    """Run `postgres` from `bin_dir` until the block ends; its data lives only that long."""
    run_as = _service_account() if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: its 0700 parents would shut the service account out.
    base = Path(tempfile.mkdtemp(prefix="orders-pg-"))
    data_dir, socket_dir = base / "data", base / "socket"
    socket_dir.mkdir()
    password = secrets.token_hex(16)
    password_file = base / "password"
    password_file.write_text(password)
    if run_as is not None:
        for path in (base, socket_dir, password_file):
            os.chown(path, run_as.pw_uid, run_as.pw_gid)
    user = run_as.pw_name if run_as is not None else None
    process = None
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data_dir),
                "--username",
                USER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            user=user,
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        port = free_port()
        process = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data_dir),
                "-p",
                str(port),
                "-k",
                str(socket_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                # Test data needs no durability; fsync off keeps the runs fast on a busy machine.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ],
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server = PostgresServer("127.0.0.1", port, USER, password, "postgres", socket_dir)
        wait_for(lambda: _accepts(server, process), timeout=timeout, what="postgres to accept")
        connection = server.connect()
        connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            connection.close()
        yield PostgresServer("127.0.0.1", port, USER, password, DATABASE, socket_dir)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: end sessions, exit
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base, ignore_errors=True)


def _accepts(server: PostgresServer, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        error = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"postgres exited with {process.returncode}: {error}")
    try:
        server.connect().close()
    except psycopg2.OperationalError:
        return False
    return True


def _service_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        raise RuntimeError(
            f"running as root needs the {SERVICE_ACCOUNT!r} account to run postgres "
            "(apt-get install postgresql creates it)"
        ) from None
