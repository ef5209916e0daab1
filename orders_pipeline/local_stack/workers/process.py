"""The data-plane workers (Pipes, Firehose) in a child process of the local stack.

The workers only use boto3 against the endpoint. Run as threads of the moto server they held
its GIL for their JSON and boto3 work, and every request the server was serving waited
(benchmarks/local_stack_end_to_end.py measures it); a process of their own runs on another core.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orders_pipeline
from orders_pipeline.local_stack.firehose.worker import FirehoseWorker
from orders_pipeline.local_stack.gc_tuning import collect_oldest_rarely
from orders_pipeline.local_stack.pipes.worker import PipesWorker
from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore

# The data-plane stages, named as `status()` reports them.
STAGES: dict[str, type[PipesWorker] | type[FirehoseWorker]] = {
    "pipes": PipesWorker,
    "firehose": FirehoseWorker,
}
# A spawned interpreter imports boto3 afresh: seconds on a loaded machine, never a minute.
START_TIMEOUT = 60.0
REPLY_TIMEOUT = 10.0

Snapshot = dict[str, dict[str, str]]


def serve(
    endpoint_url: str,
    region: str,
    checkpoint_path: Path | None,
    snapshot: Snapshot,
    poll_interval: float,
    connection: Connection,
) -> None:
    """Child process entry point: run the workers, answer `status`, stop on `stop` or EOF."""
    # Ctrl-C reaches the whole foreground process group: the parent decides when workers stop,
    # so their last checkpoints are written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        checkpoints = CheckpointStore(checkpoint_path)
        if checkpoint_path is None:
            checkpoints.restore(snapshot)
        workers = {
            stage: worker_class(endpoint_url, region, checkpoints, poll_interval)
            for stage, worker_class in STAGES.items()
        }
        # The workers turn thousands of records a second into short-lived objects, and each of
        # Python's full collections would rescan all of boto3's service models as well: those
        # are frozen out of collection, and full collections made rare, as in the server.
        gc.freeze()
        collect_oldest_rarely()
        for worker in workers.values():
            worker.start()
    except Exception as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    stop_timeout = 10.0
    while True:
        try:
            command, argument = connection.recv()
        except EOFError:
            break  # the parent is gone: stop rather than run orphaned
        if command == "status":
            connection.send(("status", {stage: w.status() for stage, w in workers.items()}))
        elif command == "stop":
            stop_timeout = argument
            break
    for worker in workers.values():
        worker.stop(timeout=stop_timeout)
    checkpoints.flush(force=True)
    try:
        connection.send(("stopped", checkpoints.snapshot()))
    except OSError:
        pass  # nobody is listening any more


class WorkerProcessError(RuntimeError):
    """The worker process did not start or stopped answering."""


def main() -> None:
    """`python -m orders_pipeline.local_stack.workers.process FD`; the first message on the
    connection at FD is the configuration (see WorkerProcess.start)."""
    connection = Connection(int(sys.argv[1]))
    _, config = connection.recv()
    serve(**config, connection=connection)


class WorkerProcess:
    """Starts, queries and stops the workers' child process, a fresh interpreter.

    A `python -m` child rather than multiprocessing's spawn, which re-runs the parent's main
    script and so breaks any script that starts a stack without an `if __name__` guard.
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        checkpoint_path: Path | None,
        snapshot: Snapshot,
        poll_interval: float,
    ) -> None:
        self._config = {
            "endpoint_url": endpoint_url,
            "region": region,
            "checkpoint_path": checkpoint_path,
            "snapshot": snapshot,
            "poll_interval": poll_interval,
        }
        self._connection: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.snapshot = snapshot

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        # The child imports this package from where the parent found it, whatever its cwd.
        package_root = str(Path(orders_pipeline.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=env,
            )
        # Our end sees EOF once the child exits; the child's once we do, and then it stops.
        self._connection = Connection(ours.detach())
        with self._lock:
            self._send(("config", self._config))
            kind, detail = self._receive(START_TIMEOUT, "start", "ready", "error")
        if kind != "ready":
            self._process.wait(5)
            raise WorkerProcessError(f"data-plane workers failed to start: {detail}")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exit_code(self) -> int | None:
        """The child's exit code once it ended (killed: minus the signal); None while it runs."""
        return self._process.poll() if self._process is not None else None

    def status(self) -> dict[str, Any]:
        """Per-stage worker status; each stage reports the failure if the process is gone."""
        try:
            with self._lock:
                self._send(("status", None))
                _, stages = self._receive(REPLY_TIMEOUT, "status", "status")
            return stages
        except WorkerProcessError as exc:
            return {stage: {"running": False, "last_error": str(exc)} for stage in STAGES}

    def stop(self, timeout: float = 10) -> Snapshot:
        """Stop the workers after their in-flight step; the checkpoints they ended with."""
        try:
            with self._lock:
                self._send(("stop", timeout))
                _, detail = self._receive(timeout + REPLY_TIMEOUT, "stop", "stopped")
            self.snapshot = detail
        except WorkerProcessError:
            pass  # already gone: the last snapshot (or the checkpoint file) stands
        if self._process is not None:
            try:
                self._process.wait(REPLY_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._connection is not None:
            self._connection.close()
        return self.snapshot

    def _send(self, message: tuple[str, Any]) -> None:
        if self._connection is None:
            raise WorkerProcessError("worker process was never started")
        try:
            self._connection.send(message)
        except OSError:
            raise self._exited() from None

    def _receive(self, timeout: float, what: str, *kinds: str) -> tuple[str, Any]:
        """The next reply of one of `kinds`; a late reply to an earlier, timed-out request
        is dropped so it cannot pass for this one."""
        assert self._connection is not None
        deadline = time.monotonic() + timeout
        try:
            while self._connection.poll(max(0.0, deadline - time.monotonic())):
                reply = self._connection.recv()
                if reply[0] in kinds:
                    return reply
        except (EOFError, OSError):
            raise self._exited() from None
        raise WorkerProcessError(
            f"worker process (pid {self.pid}) did not answer {what} within {timeout:g}s"
        )

    def _exited(self) -> WorkerProcessError:
        assert self._process is not None
        try:
            code: int | None = self._process.wait(1)
        except subprocess.TimeoutExpired:
            code = None
        return WorkerProcessError(f"worker process (pid {self.pid}) exited with code {code}")


if __name__ == "__main__":
    main()
