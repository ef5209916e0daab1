"""LocalStack: the moto server, our hooks and the data-plane workers, started and stopped as one."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from orders_pipeline.local_stack import services
from orders_pipeline.local_stack.awslambda import runtime as lambda_runtime
from orders_pipeline.local_stack.server import (
    CREDENTIALS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    REGION,
    MotoServer,
    client_env,
)
from orders_pipeline.local_stack.workers.process import Snapshot, WorkerProcess

CHECKPOINTS_FILE = "checkpoints.json"

# Template parameters for a local deploy: tiny buffers so a change reaches S3 within seconds.
# Buffering below AWS's minimums is legal only against the local stack. A batch of 500 (the most
# one Kinesis PutRecords takes) lets the pipe move a busy stream in few requests: each one costs
# the single-process server a fixed overhead, whatever it carries.
LOCAL_DEPLOY_PARAMETERS: dict[str, str] = {
    "FirehoseBufferIntervalSeconds": "1",
    "FirehoseBufferSizeMiB": "1",
    "PipeBatchSize": "500",
}

# Status lookups must not hang the CLI or a sensor when the server is busy.
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2})


class LocalStack:
    """The whole local AWS: one moto server on host:port plus Pipes and Firehose workers.

    The workers run in a child process (worker_process); without a state_dir their
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
    ) -> None:
        self.host = host
        self.port = port
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.poll_interval = poll_interval
        self.region = REGION
        self._server = MotoServer(host, port)
        self._checkpoints: Snapshot = {"checkpoints": {}, "sources": {}}
        self._workers: WorkerProcess | None = None
        self._lock = threading.Lock()

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
        """Install the moto hooks, serve on host:port and (by default) start the workers."""
        services.install()
        self._server.start()
        services.set_status_provider(self.port, self.status)
        if workers:
            self.start_workers()
        return self

    def stop(self) -> None:
        """Stop the workers, the Lambda processes and the server; safe to call twice.

        Lambda processes belong to this Python process: another stack running here starts its
        functions afresh on their next invocation.
        """
        self.stop_workers()
        lambda_runtime.shutdown_all()
        services.set_status_provider(self.port, None)
        self._server.stop()

    def reset(self) -> None:
        """Drop every resource and all data; workers keep running and find an empty stack."""
        lambda_runtime.shutdown_all()
        self._server.reset()

    def start_workers(self) -> None:
        """Start the worker process; returns once its workers run (WorkerProcessError if not)."""
        with self._lock:
            if self._workers is not None:
                return
            path = None
            if self.state_dir is not None:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                path = self.state_dir / CHECKPOINTS_FILE
            workers = WorkerProcess(
                self.endpoint_url, self.region, path, self._checkpoints, self.poll_interval
            )
            workers.start()
            self._workers = workers

    def stop_workers(self, timeout: float = 10) -> None:
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            self._checkpoints = workers.stop(timeout=timeout)

    def status(self) -> dict[str, Any]:
        """Resources found through the AWS APIs plus the per-stage counters of the workers."""
        with self._lock:
            workers = self._workers
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "workers_running": workers is not None,
            "workers_pid": workers.pid if workers is not None else None,
            "resources": self._resources(),
            "stages": workers.status() if workers is not None else {},
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
