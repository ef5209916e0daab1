"""LocalStack: the server, every service's patches, the kept state and the supervised data-plane
workers, started and stopped as one."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from orders_pipeline.local_stack import services
from orders_pipeline.local_stack.awslambda import runtime as lambda_runtime
from orders_pipeline.local_stack.metering import meters as metering
from orders_pipeline.local_stack.metering.registry import Sampling, request_meter
from orders_pipeline.local_stack.persistence import store as persistence
from orders_pipeline.local_stack.persistence.record_log import deferred_writes
from orders_pipeline.local_stack.persistence.store import DEFAULT_SNAPSHOT_INTERVAL, StateStore
from orders_pipeline.local_stack.server import (
    CREDENTIALS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    REGION,
    LocalServer,
    client_env,
)
from orders_pipeline.local_stack.supervisor import Supervisor
from orders_pipeline.local_stack.workers.process import Snapshot, WorkerProcess

CHECKPOINTS_FILE = "checkpoints.json"
# Records past their retention are dropped this often (AWS trims continuously; a minute is
# well inside a 24 h retention).
HOUSEKEEPING_SECONDS = 60.0
# The meters are sampled (storage, shards) and saved this often.
METERING_SECONDS = 5.0

# Template parameters for a local deploy: tiny buffers so a change reaches S3 within seconds.
# Buffering below AWS's minimums is legal only against the local stack. A batch of 500 (the most
# one Kinesis PutRecords takes) lets the pipe move a busy stream in few requests: each one costs
# the single-process server a fixed overhead, whatever it carries.
LOCAL_DEPLOY_PARAMETERS: dict[str, str] = {
    "FirehoseBufferIntervalSeconds": "1",
    "FirehoseBufferSizeMiB": "1",
    "PipeBatchSize": "500",
}

# Status lookups must not hang the CLI or a sensor when the server is busy; they are the
# stack's own (app/local-status), never billed.
_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 2},
    user_agent_appid="local-status",
)


class LocalStack:
    """The whole local AWS: one server on host:port plus the Pipes and Firehose workers.

    With a `state_dir` every service's state is kept there (see persistence/store.py) and a
    later start continues from it; without one the state lives and dies with the process. The
    workers run in a child process that is restarted when it dies; without a state_dir their
    checkpoints live here between a stop_workers() and the next start_workers().
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        state_dir: Path | None = None,
        # Idle, a poll costs the server one request per source shard; under load the workers
        # read without pausing. 0.2 s keeps the added latency per stage around 0.1 s.
        poll_interval: float = 0.2,
        *,
        snapshot_interval: float = DEFAULT_SNAPSHOT_INTERVAL,
        allowed_origins: frozenset[str] = frozenset(),
        allow_remote: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.poll_interval = poll_interval
        self.region = REGION
        self.store = StateStore(self.state_dir, snapshot_interval)
        self.restored = False
        self._server = LocalServer(
            host,
            port,
            allowed_origins=allowed_origins,
            allow_remote=allow_remote,
            state_lock=self.store.lock,
            write_scope=deferred_writes,
            on_change=self.store.mark_dirty,
        )
        self._server.status_provider = self.status
        self.meters = metering.Meters(
            self.state_dir / metering.FILE_NAME if self.state_dir is not None else None
        )
        self._outer_meters = metering.current()
        self._sampling = Sampling(self.meters)
        self._request_meter = request_meter()
        self._server.observe(self._request_meter)
        self._checkpoints: Snapshot = {"checkpoints": {}, "sources": {}}
        self._workers: Supervisor | None = None
        self._lock = threading.Lock()
        self._stop_housekeeping = threading.Event()
        self._housekeeping: threading.Thread | None = None
        self._last_trim = 0.0

    @property
    def endpoint_url(self) -> str:
        return self._server.endpoint_url

    @property
    def workers_running(self) -> bool:
        with self._lock:
            return self._workers is not None

    def env(self) -> dict[str, str]:
        """The environment variables a client process needs to use this stack."""
        return client_env(self.endpoint_url, self.region)

    def start(self, *, workers: bool = True) -> LocalStack:
        """Install the patches, restore the kept state, serve on host:port, start the workers.

        StateError (one line naming the file and `local reset`) when the state dir is unusable.
        """
        services.install()
        self._outer_meters = metering.activate(self.meters)
        if self.store.durable:
            has_state = self.store.open()
            try:
                persistence.activate(self.store)
                if has_state:
                    self.store.restore()
                    self.restored = True
            except BaseException:
                persistence.deactivate(self.store)
                self.store.stop()
                raise
        try:
            self._server.start()
        except BaseException:
            persistence.deactivate(self.store)
            self.store.stop()
            raise
        self.store.start()
        self._stop_housekeeping.clear()
        self._housekeeping = threading.Thread(
            target=self._run_housekeeping, name="local-stack-housekeeping", daemon=True
        )
        self._housekeeping.start()
        if workers:
            self.start_workers()
        return self

    def stop(self) -> None:
        """Stop the workers, the Lambda processes and the server, then write the state; safe to
        call twice.

        Lambda processes belong to this Python process: another stack running here starts its
        functions afresh on their next invocation.
        """
        self.stop_workers()
        lambda_runtime.shutdown_all()
        self._stop_housekeeping.set()
        if self._housekeeping is not None:
            self._housekeeping.join()
            self._housekeeping = None
        self._server.stop()
        self._sampling.sample(force=True)
        self.meters.save()
        metering.deactivate(self.meters, self._outer_meters)
        self.store.stop()
        persistence.deactivate(self.store)

    def reset(self) -> None:
        """Drop every resource and all data, and the meters: a new account. Workers keep
        running and find an empty stack."""
        lambda_runtime.shutdown_all()
        self._server.reset()
        self.meters.reset()
        self.store.mark_dirty()

    def _run_housekeeping(self) -> None:
        from orders_pipeline.local_stack.dynamodb.patches import trim_expired as trim_streams
        from orders_pipeline.local_stack.kinesis.patches import trim_expired as trim_kinesis

        while not self._stop_housekeeping.wait(METERING_SECONDS):
            try:
                now = time.time()
                self._sampling.sample(now)
                self.meters.save()
                if now - self._last_trim >= HOUSEKEEPING_SECONDS:
                    self._last_trim = now
                    trim_streams(now)
                    trim_kinesis(now)
            except Exception:  # noqa: BLE001 - housekeeping retries next time
                continue

    # -- workers --------------------------------------------------------------------------------

    def _launch_workers(self) -> WorkerProcess:
        path = None
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path = self.state_dir / CHECKPOINTS_FILE
        workers = WorkerProcess(
            self.endpoint_url, self.region, path, self._checkpoints, self.poll_interval
        )
        workers.start()
        return workers

    def start_workers(self) -> None:
        """Start the supervised worker process; returns once its workers run
        (WorkerProcessError if not)."""
        with self._lock:
            if self._workers is not None:
                return
            supervisor = Supervisor("workers", self._launch_workers)
            supervisor.start()
            self._workers = supervisor

    def stop_workers(self, timeout: float = 10) -> None:
        with self._lock:
            supervisor, self._workers = self._workers, None
        if supervisor is not None:
            workers = supervisor.stop()
            if isinstance(workers, WorkerProcess):
                self._checkpoints = workers.stop(timeout=timeout)

    def status(self) -> dict[str, Any]:
        """Resources found through the AWS APIs, the workers' counters, restarts, the state."""
        with self._lock:
            supervisor = self._workers
        workers = supervisor.child if supervisor is not None else None
        self._sampling.sample()
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "meters": self.meters.document(),
            "metering_errors": self._request_meter.errors,
            "actions": dict(sorted(self._request_meter.actions.items())),
            "workers_running": workers is not None,
            "workers_pid": workers.pid if workers is not None else None,
            "supervision": {"workers": supervisor.status()} if supervisor is not None else {},
            "state": self.store.status(),
            "resources": self._resources(),
            "stages": workers.status() if isinstance(workers, WorkerProcess) else {},
        }

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=_CLIENT_CONFIG,
        )

    def _resources(self) -> dict[str, list[str]]:
        stacks = self._client("cloudformation").describe_stacks()["Stacks"]
        return {
            "stacks": [f"{s['StackName']} ({s['StackStatus']})" for s in stacks],
            "dynamodb_tables": self._client("dynamodb").list_tables()["TableNames"],
            "kinesis_streams": self._client("kinesis").list_streams()["StreamNames"],
            "pipes": [
                f"{p['Name']} ({p['CurrentState']})"
                for p in self._client("pipes").list_pipes()["Pipes"]
            ],
            "lambda_functions": [
                f["FunctionName"] for f in self._client("lambda").list_functions()["Functions"]
            ],
            "delivery_streams": self._client("firehose").list_delivery_streams()[
                "DeliveryStreamNames"
            ],
            "s3_buckets": [b["Name"] for b in self._client("s3").list_buckets()["Buckets"]],
            "glue_databases": [
                d["Name"] for d in self._client("glue").get_databases()["DatabaseList"]
            ],
            "glue_crawlers": [c["Name"] for c in self._client("glue").get_crawlers()["Crawlers"]],
            "athena_workgroups": [
                w["Name"] for w in self._client("athena").list_work_groups()["WorkGroups"]
            ],
        }

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
