"""EventBridge Pipes data plane: moves DynamoDB stream records of every RUNNING pipe to Kinesis.

Talks to the emulated services only through boto3, like a user-space daemon would.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from orders_pipeline.local_stack.checkpoints import CheckpointStore
from orders_pipeline.local_stack.polling_worker import (
    PollingWorker,
    make_client,
    receive_records_as_sent,
    shards_in_lineage_order,
)

KINESIS_MAX_RECORDS_PER_PUT = 500
STREAM_READ_LIMIT = 1000  # the most one DynamoDB Streams GetRecords call returns
PUT_ATTEMPTS = 5
_DYNAMODB_STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+/stream/.+$")
_KINESIS_STREAM_ARN = re.compile(r"^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/(?P<name>.+)$")
_JSONPATH_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def parse_jsonpath(path: str) -> tuple[str, ...]:
    """Split a `$.a.b.c` JSONPath into its field names; other JSONPath forms are rejected."""
    if not isinstance(path, str) or not path.startswith("$."):
        raise ValueError(f"PartitionKey {path!r}: only the $.a.b.c JSONPath form is supported")
    fields = tuple(path[2:].split("."))
    for name in fields:
        if not _JSONPATH_FIELD.fullmatch(name):
            raise ValueError(
                f"PartitionKey {path!r}: unsupported JSONPath segment {name!r} "
                "(only the $.a.b.c form is supported)"
            )
    return fields


def evaluate_jsonpath(fields: tuple[str, ...], document: dict[str, Any]) -> str:
    """The string at `fields` in `document`; KeyError naming the path when it is absent."""
    value: Any = document
    for name in fields:
        if not isinstance(value, dict) or name not in value:
            raise KeyError(f"$.{'.'.join(fields)} not found in the record")
        value = value[name]
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def pipe_event(stream_record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """The event a pipe puts for one stream record in wire form: the record + eventSourceARN."""
    dynamodb = dict(stream_record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None:
        # DynamoDB Streams events carry ApproximateCreationDateTime in whole epoch seconds.
        dynamodb["ApproximateCreationDateTime"] = int(created)
    return {**stream_record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


@dataclass
class PipeRun:
    """One RUNNING pipe as read from the Pipes API, with its in-memory shard positions."""

    name: str
    stream_arn: str
    kinesis_stream: str
    partition_key: tuple[str, ...]
    batch_size: int
    starting_position: str
    iterators: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    shards: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    put: int = 0
    failed: int = 0
    lag_ms: int = 0
    last_error: str | None = None

    def status(self) -> dict[str, Any]:
        return {
            "source": self.stream_arn,
            "target": self.kinesis_stream,
            "records_read": self.read,
            "records_put": self.put,
            "failed": self.failed,
            "lag_ms": self.lag_ms,
            "last_error": self.last_error,
        }


def pipe_run_from_description(pipe: dict[str, Any]) -> PipeRun | None:
    """A PipeRun for a DynamoDB-stream -> Kinesis pipe; None for pipes of other kinds."""
    target = _KINESIS_STREAM_ARN.match(pipe.get("Target", ""))
    if not _DYNAMODB_STREAM_ARN.match(pipe.get("Source", "")) or not target:
        return None
    source = pipe.get("SourceParameters", {}).get("DynamoDBStreamParameters", {})
    kinesis = pipe.get("TargetParameters", {}).get("KinesisStreamParameters", {})
    if "PartitionKey" not in kinesis:
        raise ValueError(
            f"pipe {pipe['Name']}: TargetParameters.KinesisStreamParameters."
            "PartitionKey is required for a Kinesis target"
        )
    position = source.get("StartingPosition", "LATEST")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise ValueError(
            f"pipe {pipe['Name']}: StartingPosition {position!r} is not TRIM_HORIZON or LATEST"
        )
    return PipeRun(
        name=pipe["Name"],
        stream_arn=pipe["Source"],
        kinesis_stream=target.group("name"),
        partition_key=parse_jsonpath(kinesis["PartitionKey"]),
        # AWS's default and maximum batch size for a DynamoDB stream source: 100 and 10,000.
        batch_size=min(int(source.get("BatchSize", 100)), STREAM_READ_LIMIT),
        starting_position=position,
    )


class PipesWorker(PollingWorker):
    """Polls the source stream of every RUNNING pipe; puts each record into its Kinesis target."""

    kind = "pipes"

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        checkpoints: CheckpointStore,
        poll_interval: float = 0.2,
        *,
        refresh_interval: float = 2.0,
    ) -> None:
        super().__init__(checkpoints, poll_interval, refresh_interval)
        self._pipes_api = make_client("pipes", endpoint_url, region)
        self._streams = make_client("dynamodbstreams", endpoint_url, region)
        receive_records_as_sent(self._streams)
        self._kinesis = make_client("kinesis", endpoint_url, region)
        self._runs: dict[str, PipeRun] = {}
        self._errors: dict[str, str] = {}

    def status(self) -> dict[str, Any]:
        pipes = {name: run.status() for name, run in list(self._runs.items())}
        for name, error in list(self._errors.items()):
            pipes.setdefault(name, {"last_error": error})
        return {"running": self.running, "last_error": self.last_error, "pipes": pipes}

    def refresh(self) -> None:
        wanted = {
            summary["Name"]
            for page in self._pipes_api.get_paginator("list_pipes").paginate()
            for summary in page["Pipes"]
            if summary.get("DesiredState") == "RUNNING"
        }
        for name in list(self._runs):
            if name not in wanted:
                del self._runs[name]  # stopped or deleted: positions stay in the checkpoints
        for name in wanted:
            try:
                self._refresh_pipe(name)
                self._errors.pop(name, None)
            except (ValueError, ClientError) as exc:
                # One broken pipe (bad config, source gone) must not stop the others.
                self._errors[name] = str(exc)
                self._runs.pop(name, None)

    def _refresh_pipe(self, name: str) -> None:
        run = pipe_run_from_description(self._pipes_api.describe_pipe(Name=name))
        if run is None:
            return
        shards = self._list_shards(run.stream_arn)
        current = self._runs.get(name)
        if current is None or current.stream_arn != run.stream_arn:
            # The stream ARN carries the stream's creation label: a re-created table starts
            # a new stream whose shard ids may repeat, so old positions are dropped.
            self.checkpoints.bind(f"pipe/{name}", run.stream_arn)
            self._runs[name] = current = run
        else:
            current.partition_key, current.batch_size = run.partition_key, run.batch_size
            current.kinesis_stream = run.kinesis_stream
        current.shards = shards

    def _list_shards(self, stream_arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def on_stopped(self) -> None:
        self._runs.clear()

    def poll_once(self) -> bool:
        more = False
        for run in list(self._runs.values()):
            if self.stopping:
                break
            try:
                more |= self._poll_pipe(run)
            except Exception as exc:
                run.last_error = f"{type(exc).__name__}: {exc}"
                run.iterators.clear()  # resume from the checkpoints on the next poll
        return more

    def _checkpoint_key(self, run: PipeRun, shard_id: str) -> str:
        return f"pipe/{run.name}/{shard_id}"

    def _iterator(self, run: PipeRun, shard_id: str) -> str:
        if shard_id in run.iterators:
            return run.iterators[shard_id]
        last = self.checkpoints.get(self._checkpoint_key(run, shard_id))
        kwargs: dict[str, Any] = {"StreamArn": run.stream_arn, "ShardId": shard_id}
        if last is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
        elif any(s["ShardId"] == shard_id and s.get("ParentShardId") for s in run.shards):
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # a child shard is read from its start
        else:
            kwargs["ShardIteratorType"] = run.starting_position
        return self._streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _poll_pipe(self, run: PipeRun) -> bool:
        more = False
        for shard_id in shards_in_lineage_order(run.shards, run.finished):
            response = self._streams.get_records(
                ShardIterator=self._iterator(run, shard_id), Limit=STREAM_READ_LIMIT
            )
            records = response.get("Records", [])
            run.read += len(records)
            # One read serves several batches: BatchSize bounds what one PutRecords carries.
            for start in range(0, len(records), run.batch_size):
                batch = records[start : start + run.batch_size]
                self._put(run, batch)
                self.checkpoints.put(
                    self._checkpoint_key(run, shard_id), batch[-1]["dynamodb"]["SequenceNumber"]
                )
            created = (
                records[-1]["dynamodb"].get("ApproximateCreationDateTime") if records else None
            )
            run.lag_ms = max(0, int((time.time() - created) * 1000)) if created else 0
            more |= len(records) == STREAM_READ_LIMIT
            following = response.get("NextShardIterator")
            if following is None:
                run.finished.add(shard_id)  # closed shard read to its end: children may start
                run.iterators.pop(shard_id, None)
            else:
                run.iterators[shard_id] = following
        return more

    def _put(self, run: PipeRun, records: list[dict[str, Any]]) -> None:
        entries = []
        for record in records:
            event = pipe_event(record, run.stream_arn)
            try:
                key = evaluate_jsonpath(run.partition_key, event)
            except KeyError as exc:
                # AWS Pipes fails such a record (no DLQ here): count it and say which one.
                run.failed += 1
                run.last_error = f"record {event.get('eventID')}: partition key {exc.args[0]}"
                continue
            data = json.dumps(event, separators=(",", ":")).encode("utf-8")
            entries.append({"Data": data, "PartitionKey": key})
        for start in range(0, len(entries), KINESIS_MAX_RECORDS_PER_PUT):
            self._put_chunk(run, entries[start : start + KINESIS_MAX_RECORDS_PER_PUT])

    def _put_chunk(self, run: PipeRun, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for attempt in range(PUT_ATTEMPTS):
            response = self._kinesis.put_records(StreamName=run.kinesis_stream, Records=pending)
            results = response["Records"]
            retry = [
                entry
                for entry, result in zip(pending, results, strict=True)
                if "ErrorCode" in result
            ]
            run.put += len(pending) - len(retry)
            if not retry:
                return
            pending = retry
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off before re-putting
        raise RuntimeError(
            f"pipe {run.name}: {len(pending)} records still failing after {PUT_ATTEMPTS} "
            f"put_records attempts ({results[0].get('ErrorCode')})"
        )
