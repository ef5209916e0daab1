"""The background-thread life cycle shared by the data-plane workers (Pipes, Firehose).

A worker refreshes its resource list now and then and polls its sources in a loop; it keeps
polling without sleeping while there is data, so latency stays low under load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import boto3
import orjson
from botocore.config import Config

from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore

log = logging.getLogger(__name__)

# Tight timeouts so a stuck call cannot stall a worker; few retries because an unimplemented
# emulator call answers 500 and would otherwise be retried for a long time.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=15,
    retries={"max_attempts": 3, "mode": "standard"},
    max_pool_connections=4,
)


def make_client(
    service: str,
    endpoint_url: str,
    region: str,
    config: Config = CLIENT_CONFIG,
    *,
    caller: str | None = None,
):
    """A boto3 client for the local endpoint; dummy credentials when none are configured.
    `caller` names the AWS service the calls are made for (its User-Agent says
    `app/local-<caller>`, which the stack's meters bill as that service's work)."""
    if caller is not None:
        config = config.merge(Config(user_agent_appid=f"local-{caller}"))
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        session = boto3.session.Session(
            region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
        )
    return session.client(service, endpoint_url=endpoint_url, config=config)


def receive_records_as_sent(client: Any) -> None:
    """Make `client.get_records` return `Records` as the JSON the service sent (wire form).

    Both workers forward records in wire form (base64 data, epoch timestamps, AttributeValue
    JSON), so botocore's shape-by-shape parse, about 0.1 ms per record, would be undone
    right after; orjson.loads is much cheaper. Uses botocore's `before-parse` event.
    """
    service = client.meta.service_model.service_id.hyphenize()

    def take_records(response_dict: dict[str, Any], customized_response_dict: dict, **_: Any):
        if response_dict["status_code"] != 200:
            return  # errors take botocore's usual path
        document = orjson.loads(response_dict["body"])
        customized_response_dict["Records"] = document.pop("Records", [])
        response_dict["body"] = orjson.dumps(document)

    client.meta.events.register(f"before-parse.{service}.GetRecords", take_records)


def shards_in_lineage_order(shards: Iterable[Mapping[str, Any]], finished: set[str]) -> list[str]:
    """Shard ids that may be read now: a child only once its parents are read to their end."""
    listed = {shard["ShardId"] for shard in shards}
    ready = []
    for shard in shards:
        parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")} - {None}
        if shard["ShardId"] not in finished and not (parents & listed) - finished:
            ready.append(shard["ShardId"])
    return ready


class PollingWorker:
    """Runs `refresh()` every `refresh_interval` s and `poll_once()` in a background thread."""

    kind = "worker"
    # Key of the per-resource counters in status(): "pipes", "delivery_streams".
    resources_key = "resources"

    def __init__(
        self, checkpoints: CheckpointStore, poll_interval: float, refresh_interval: float
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0, got {poll_interval!r}")
        self.checkpoints = checkpoints
        self.poll_interval = poll_interval
        self.refresh_interval = refresh_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = float("-inf")
        self.last_error: str | None = None
        # Subclasses keep one run per resource they serve, and the last error of those not served.
        self._runs: dict[str, Any] = {}
        self._errors: dict[str, str] = {}

    def status(self) -> dict[str, Any]:
        """Running or not, the last error, and each resource's counters."""
        runs = {name: run.status() for name, run in list(self._runs.items())}
        for name, error in list(self._errors.items()):
            runs.setdefault(name, {"last_error": error})
        return {"running": self.running, "last_error": self.last_error, self.resources_key: runs}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._last_refresh = float("-inf")
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> bool:
        """Stop after the in-flight step; True when the thread ended within `timeout` s."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if stopped:
            self._thread = None
            self.on_stopped()
        return stopped

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            more = False
            try:
                if time.monotonic() - self._last_refresh >= self.refresh_interval:
                    self.refresh()
                    self._last_refresh = time.monotonic()
                more = self.poll_once()
                self.checkpoints.flush()
            except Exception as exc:  # keep the daemon alive; the error shows in status()
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("%s worker: %s", self.kind, self.last_error)
            if not more:
                due = self.seconds_until_due()
                self._stop.wait(self.poll_interval if due is None else min(self.poll_interval, due))
        self.checkpoints.flush(force=True)

    def refresh(self) -> None:
        """Re-read the resources to serve (picks up new ones, drops deleted or stopped ones)."""
        raise NotImplementedError

    def poll_once(self) -> bool:
        """Move what is available now; True when more is already waiting (poll again now).

        Re-polling only after a full read keeps the request count low: every request to the
        emulator costs a new connection and thread there.
        """
        raise NotImplementedError

    def seconds_until_due(self) -> float | None:
        """Time until held work falls due (a buffer's interval ends); None when none is held.

        The worker wakes then rather than at its next poll, so a deadline is not missed by up
        to a poll interval.
        """
        return None

    def on_stopped(self) -> None:
        """Forget in-flight state so a later start() resumes from the checkpoints."""
