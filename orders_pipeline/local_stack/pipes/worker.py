"""EventBridge Pipes data plane: moves DynamoDB stream records of every RUNNING pipe to Kinesis.

Talks to the emulated services only through boto3, like a user-space daemon would. A failing
batch is retried, bisected and finally dead-lettered as AWS Pipes does: nothing is skipped
without being counted and described in the pipe's dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore
from orders_pipeline.local_stack.workers.polling import (
    PollingWorker,
    make_client,
    receive_records_as_sent,
    shards_in_lineage_order,
)

log = logging.getLogger(__name__)

KINESIS_MAX_RECORDS_PER_PUT = 500
STREAM_READ_LIMIT = 1000  # the most one DynamoDB Streams GetRecords call returns
PUT_ATTEMPTS = 5
# DynamoDB Streams keeps a record 24 h: with infinite retries a batch fails once it is older.
STREAM_RETENTION_SECONDS = 24 * 3600
# Back-off between retries of a failing batch: doubles from the first value up to the cap.
RETRY_DELAY_SECONDS, RETRY_DELAY_CAP_SECONDS = 0.1, 5.0
# Checkpoint value for a shard that was empty when a LATEST pipe started on it: every record
# it will ever hold is new, so reading resumes at its start.
SHARD_START = "TRIM_HORIZON"
_DYNAMODB_STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+/stream/.+$")
_KINESIS_STREAM_ARN = re.compile(r"^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/(?P<name>.+)$")
_DEAD_LETTER_ARN = re.compile(
    r"^arn:[^:]+:(?P<service>sqs|sns):(?P<region>[^:]*):(?P<account>[^:]*):(?P<name>[^:/]+)$"
)
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


def _iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dead_letter_message(
    pipe_arn: str,
    stream_arn: str,
    shard_id: str,
    records: list[dict[str, Any]],
    condition: str,
    now: datetime,
) -> dict[str, Any]:
    """What AWS Pipes sends to the DLQ for a failed batch of a DynamoDB stream source.

    The batch's position in the stream, not its data (as on AWS): a person reads the records
    back from the stream within its 24 h retention.
    """
    created = [r["dynamodb"].get("ApproximateCreationDateTime") for r in (records[0], records[-1])]
    return {
        "context": {"partnerResourceArn": pipe_arn, "condition": condition},
        "version": "1.0",
        "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso_seconds(created[0] or 0),
            "approximateArrivalOfLastRecord": _iso_seconds(created[1] or 0),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def give_up_condition(
    retries: int, max_retries: int, oldest_record_age: float, max_record_age: int
) -> str | None:
    """Why a batch that just failed for the `retries`-th time is given up, or None to retry.

    -1 means unlimited for both limits; unlimited age still ends at the stream's retention.
    """
    age_limit = STREAM_RETENTION_SECONDS if max_record_age == -1 else max_record_age
    if oldest_record_age > age_limit:
        return "RecordAgeExceeded"
    if max_retries != -1 and retries >= max_retries:
        return "RetryAttemptsExhausted"
    return None


class BatchFailure(Exception):
    """The target refused a batch (a customer error on AWS): retried, bisected, dead-lettered.

    `unsent` are the batch's records that did not reach the target, in stream order.
    """

    def __init__(self, message: str, unsent: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.unsent = unsent


@dataclass
class PendingBatch:
    """Records read from a shard and not yet put or dead-lettered, with their retry state."""

    records: list[dict[str, Any]]
    retries: int = 0
    retry_after: float = 0.0
    # The batch's last sequence number as read: still the checkpoint once the records that
    # reached Kinesis in a partly failed attempt are dropped from `records`.
    through: str = ""

    def __post_init__(self) -> None:
        self.through = self.through or self.records[-1]["dynamodb"]["SequenceNumber"]


@dataclass
class PipeRun:
    """One RUNNING pipe as read from the Pipes API, with its in-memory shard positions."""

    name: str
    arn: str
    stream_arn: str
    kinesis_stream: str
    partition_key: tuple[str, ...]
    batch_size: int
    starting_position: str
    max_retries: int = -1
    max_record_age: int = -1
    bisect: bool = False
    dead_letter_arn: str | None = None
    iterators: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    shards: list[dict[str, Any]] = field(default_factory=list)
    # Per shard, the batches read but not yet settled; the shard is read further once empty.
    backlog: dict[str, deque[PendingBatch]] = field(default_factory=dict)
    read: int = 0
    put: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lag_ms: int = 0
    last_error: str | None = None

    def status(self) -> dict[str, Any]:
        return {
            "source": self.stream_arn,
            "target": self.kinesis_stream,
            "records_read": self.read,
            "records_put": self.put,
            "failed": self.failed,
            "retries": self.retried,
            "dead_lettered": self.dead_lettered,
            "dead_letter_queue": self.dead_letter_arn,
            "lag_ms": self.lag_ms,
            "last_error": self.last_error,
        }

    def configure(self, other: PipeRun) -> None:
        """Take the updatable settings of a re-described pipe (source and name are fixed)."""
        self.partition_key, self.batch_size = other.partition_key, other.batch_size
        self.kinesis_stream = other.kinesis_stream
        self.max_retries, self.max_record_age = other.max_retries, other.max_record_age
        self.bisect, self.dead_letter_arn = other.bisect, other.dead_letter_arn


def pipe_run_from_description(pipe: dict[str, Any]) -> PipeRun | None:
    """A PipeRun for a DynamoDB-stream -> Kinesis pipe; None for pipes of other kinds."""
    target = _KINESIS_STREAM_ARN.match(pipe.get("Target", ""))
    if not _DYNAMODB_STREAM_ARN.match(pipe.get("Source", "")) or not target:
        return None
    name = pipe["Name"]
    source = pipe.get("SourceParameters", {}).get("DynamoDBStreamParameters", {})
    kinesis = pipe.get("TargetParameters", {}).get("KinesisStreamParameters", {})
    if "PartitionKey" not in kinesis:
        raise ValueError(
            f"pipe {name}: TargetParameters.KinesisStreamParameters."
            "PartitionKey is required for a Kinesis target"
        )
    position = source.get("StartingPosition", "LATEST")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise ValueError(
            f"pipe {name}: StartingPosition {position!r} is not TRIM_HORIZON or LATEST"
        )
    # AWS's defaults and ranges for a DynamoDB stream source.
    limits = {"MaximumRetryAttempts": (-1, 10_000), "MaximumRecordAgeInSeconds": (-1, 604_800)}
    values = {}
    for key, (low, high) in limits.items():
        value = source.get(key, -1)
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"pipe {name}: {key} {value!r} is not an integer in [{low}, {high}]")
        values[key] = value
    dead_letter_arn = (source.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter_arn is not None and not _DEAD_LETTER_ARN.match(dead_letter_arn):
        raise ValueError(
            f"pipe {name}: DeadLetterConfig.Arn {dead_letter_arn!r} is not an SQS queue "
            "or SNS topic ARN"
        )
    return PipeRun(
        name=name,
        arn=pipe.get("Arn", ""),
        stream_arn=pipe["Source"],
        kinesis_stream=target.group("name"),
        partition_key=parse_jsonpath(kinesis["PartitionKey"]),
        # AWS's default and maximum batch size for a DynamoDB stream source: 100 and 10,000.
        batch_size=min(int(source.get("BatchSize", 100)), STREAM_READ_LIMIT),
        starting_position=position,
        max_retries=values["MaximumRetryAttempts"],
        max_record_age=values["MaximumRecordAgeInSeconds"],
        bisect=source.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT",
        dead_letter_arn=dead_letter_arn,
    )


class PipesWorker(PollingWorker):
    """Polls the source stream of every RUNNING pipe; puts each record into its Kinesis target."""

    kind = "pipes"
    resources_key = "pipes"

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
        self._pipes_api = make_client("pipes", endpoint_url, region, caller="pipes")
        self._streams = make_client("dynamodbstreams", endpoint_url, region, caller="pipes")
        receive_records_as_sent(self._streams)
        self._kinesis = make_client("kinesis", endpoint_url, region, caller="pipes")
        self._sqs = make_client("sqs", endpoint_url, region, caller="pipes")
        self._sns = make_client("sns", endpoint_url, region, caller="pipes")

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
            run.shards = shards
            if run.starting_position == "LATEST":
                # Fixed before the pipe shows as served, so a change written after that is sent.
                for shard in shards:
                    run.iterators[shard["ShardId"]] = self._iterator(run, shard["ShardId"])
            self._runs[name] = current = run
        else:
            current.configure(run)
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
                # Pipe-internal trouble (endpoint down, 5xx, DLQ unreachable) is retried without
                # limit: resume from the checkpoints on the next poll.
                run.last_error = f"{type(exc).__name__}: {exc}"
                run.iterators.clear()
                run.backlog.clear()
        return more

    def _checkpoint_key(self, run: PipeRun, shard_id: str) -> str:
        return f"pipe/{run.name}/{shard_id}"

    def _iterator(self, run: PipeRun, shard_id: str) -> str:
        if shard_id in run.iterators:
            return run.iterators[shard_id]
        key = self._checkpoint_key(run, shard_id)
        last = self.checkpoints.get(key)
        kwargs: dict[str, Any] = {"StreamArn": run.stream_arn, "ShardId": shard_id}
        if last == SHARD_START:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        elif last is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
        elif any(s["ShardId"] == shard_id and s.get("ParentShardId") for s in run.shards):
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # a child shard is read from its start
        elif run.starting_position == "LATEST":
            # Persist where LATEST is now, so changes written while the worker is down are
            # read after a restart instead of being skipped by a fresh LATEST iterator.
            self.checkpoints.put(key, self._latest_position(run, shard_id))
            return self._iterator(run, shard_id)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return self._streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _latest_position(self, run: PipeRun, shard_id: str) -> str:
        """The sequence number of the shard's newest record (SHARD_START when it has none).

        Streams has no call that names the LATEST position, so the shard is read to its end.
        """
        iterator: str | None = self._streams.get_shard_iterator(
            StreamArn=run.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        newest = SHARD_START
        while iterator:
            response = self._streams.get_records(ShardIterator=iterator, Limit=STREAM_READ_LIMIT)
            records = response.get("Records", [])
            if not records:
                break
            newest = records[-1]["dynamodb"]["SequenceNumber"]
            iterator = response.get("NextShardIterator")
        return newest

    def _poll_pipe(self, run: PipeRun) -> bool:
        more = False
        for shard_id in shards_in_lineage_order(run.shards, run.finished):
            backlog = run.backlog.setdefault(shard_id, deque())
            if backlog:
                # Order within a shard: nothing newer is read until the failing batch settles.
                self._settle(run, shard_id, backlog)
                continue
            response = self._streams.get_records(
                ShardIterator=self._iterator(run, shard_id), Limit=STREAM_READ_LIMIT
            )
            records = response.get("Records", [])
            run.read += len(records)
            # One read serves several batches: BatchSize bounds what one PutRecords carries.
            backlog.extend(
                PendingBatch(records[start : start + run.batch_size])
                for start in range(0, len(records), run.batch_size)
            )
            self._settle(run, shard_id, backlog)
            created = (
                records[-1]["dynamodb"].get("ApproximateCreationDateTime") if records else None
            )
            run.lag_ms = max(0, int((time.time() - created) * 1000)) if created else 0
            more |= len(records) == STREAM_READ_LIMIT and not backlog
            following = response.get("NextShardIterator")
            if following is None:
                # A closed shard read to its end: children may start once its backlog settled.
                if not backlog:
                    run.finished.add(shard_id)
                run.iterators.pop(shard_id, None)
            else:
                run.iterators[shard_id] = following
        return more

    def _settle(self, run: PipeRun, shard_id: str, backlog: deque[PendingBatch]) -> None:
        """Put, bisect, retry or dead-letter the shard's pending batches in order.

        Returns early while the head batch waits for its retry back-off, so one failing pipe
        never stalls the others in this thread.
        """
        key = self._checkpoint_key(run, shard_id)
        while backlog and not self.stopping:
            batch = backlog[0]
            if time.monotonic() < batch.retry_after:
                return
            try:
                self._put(run, batch.records)
            except BatchFailure as failure:
                run.last_error = str(failure)
                batch.records = failure.unsent  # what reached Kinesis is not sent again
                if run.bisect and len(batch.records) > 1:
                    # Halves are retried at once (AWS does not count a split as a retry).
                    half = len(batch.records) // 2
                    backlog.popleft()
                    backlog.extendleft(
                        [
                            PendingBatch(
                                batch.records[half:], batch.retries, through=batch.through
                            ),
                            PendingBatch(batch.records[:half], batch.retries),
                        ]
                    )
                    continue
                created = batch.records[0]["dynamodb"].get("ApproximateCreationDateTime")
                age = time.time() - created if created else 0.0
                condition = give_up_condition(
                    batch.retries, run.max_retries, age, run.max_record_age
                )
                if condition is None:
                    run.retried += 1
                    delay = min(RETRY_DELAY_SECONDS * 2**batch.retries, RETRY_DELAY_CAP_SECONDS)
                    batch.retries += 1
                    batch.retry_after = time.monotonic() + delay
                    return
                self._dead_letter(run, shard_id, batch.records, condition, str(failure))
            backlog.popleft()
            self.checkpoints.put(key, batch.through)

    def _dead_letter(
        self,
        run: PipeRun,
        shard_id: str,
        records: list[dict[str, Any]],
        condition: str,
        error: str,
    ) -> None:
        """Describe a given-up batch in the pipe's DLQ (if any) and count its records failed."""
        message = dead_letter_message(
            run.arn, run.stream_arn, shard_id, records, condition, datetime.now(UTC)
        )
        body = json.dumps(message, separators=(",", ":"))
        target = _DEAD_LETTER_ARN.match(run.dead_letter_arn or "")
        if target is None:
            # No DLQ: AWS drops the batch; the log and the counters keep it findable.
            log.warning("pipe %s dropped a failed batch (%s, no DLQ): %s", run.name, error, body)
        elif target["service"] == "sqs":
            url = self._sqs.get_queue_url(
                QueueName=target["name"], QueueOwnerAWSAccountId=target["account"]
            )["QueueUrl"]
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
        else:
            self._sns.publish(TopicArn=run.dead_letter_arn, Message=body)
        run.failed += len(records)
        if target is not None:
            run.dead_lettered += len(records)
        run.last_error = f"{condition}: {len(records)} records given up after: {error}"

    def _put(self, run: PipeRun, records: list[dict[str, Any]]) -> None:
        """Put one batch into Kinesis; BatchFailure names what the target refused."""
        entries = []
        for record in records:
            event = pipe_event(record, run.stream_arn)
            try:
                key = evaluate_jsonpath(run.partition_key, event)
            except KeyError as exc:
                # The target request cannot be built: the whole batch fails, as on AWS.
                raise BatchFailure(
                    f"record {event.get('eventID')}: partition key {exc.args[0]}", records
                ) from None
            data = orjson.dumps(event)
            entries.append({"Data": data, "PartitionKey": key})
        for start in range(0, len(entries), KINESIS_MAX_RECORDS_PER_PUT):
            chunk = entries[start : start + KINESIS_MAX_RECORDS_PER_PUT]
            try:
                unsent = self._put_chunk(run, chunk)
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) >= 500:
                    raise  # the emulator's own trouble: retried without limit
                raise BatchFailure(
                    f"put_records to {run.kinesis_stream}: {exc}", records[start:]
                ) from exc
            if unsent:
                raise BatchFailure(
                    f"put_records to {run.kinesis_stream}: {len(unsent)} records still failing "
                    f"after {PUT_ATTEMPTS} attempts",
                    [records[start + i] for i in unsent] + records[start + len(chunk) :],
                )

    def _put_chunk(self, run: PipeRun, entries: list[dict[str, Any]]) -> list[int]:
        """put_records with re-puts of throttled entries; the indexes still failing at the end."""
        pending = list(range(len(entries)))
        for attempt in range(PUT_ATTEMPTS):
            response = self._kinesis.put_records(
                StreamName=run.kinesis_stream, Records=[entries[i] for i in pending]
            )
            pending = [
                index
                for index, result in zip(pending, response["Records"], strict=True)
                if "ErrorCode" in result
            ]
            run.put += len(response["Records"]) - len(pending)
            if not pending:
                return []
            time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off before re-putting
        return pending
