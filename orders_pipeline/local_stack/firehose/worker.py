"""Amazon Data Firehose data plane: Kinesis source -> buffer -> Lambda processor -> S3 objects.

Serves every delivery stream with a Kinesis source through boto3, like a user-space daemon.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from botocore.config import Config
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.firehose import naming
from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore
from orders_pipeline.local_stack.workers.polling import (
    PollingWorker,
    make_client,
    receive_records_as_sent,
    shards_in_lineage_order,
)

MIB = 1024 * 1024
KINESIS_READ_LIMIT = 10_000  # the most one Kinesis GetRecords call returns
# Lambda's synchronous request limit, less room for the event envelope.
LAMBDA_REQUEST_LIMIT = 6 * MIB - 64 * 1024
# Per-record share of the event that is not the base64 data (ids, metadata, JSON syntax).
_EVENT_RECORD_OVERHEAD = 400
_KINESIS_STREAM_ARN = re.compile(r"^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/(?P<name>.+)$")
# Firehose's own defaults for an ExtendedS3 destination and a Lambda processor.
DEFAULT_BUFFER_MB, DEFAULT_BUFFER_SECONDS = 5, 300
DEFAULT_PROCESSOR_MB, DEFAULT_PROCESSOR_SECONDS, DEFAULT_PROCESSOR_RETRIES = 1, 60, 3
_EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}

# Firehose retries the processor itself, so botocore must not add its own retries on top.
_LAMBDA_CONFIG = Config(connect_timeout=2, read_timeout=120, retries={"max_attempts": 1})


@dataclass(frozen=True)
class DeliveryConfig:
    """What the worker needs from DescribeDeliveryStream, checked once per refresh."""

    name: str
    arn: str
    version: str
    created: datetime
    kinesis_arn: str
    kinesis_stream: str
    bucket: str
    prefix: str
    error_prefix: str
    size_bytes: int
    interval_seconds: float
    compression: str
    extension: str
    time_zone: tzinfo
    lambda_arn: str | None
    lambda_attempts: int
    lambda_batch_bytes: int


def _processor_parameters(destination: dict[str, Any]) -> dict[str, str] | None:
    processing = destination.get("ProcessingConfiguration") or {}
    if not processing.get("Enabled"):
        return None
    for processor in processing.get("Processors", []):
        if processor.get("Type") == "Lambda":
            return {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    return None


def delivery_config_from_description(description: dict[str, Any]) -> DeliveryConfig | None:
    """A DeliveryConfig for a Kinesis-sourced stream with an S3 destination; None otherwise.

    Raises ValueError naming the field when the configuration is one Firehose would reject.
    """
    name = description["DeliveryStreamName"]
    source = (description.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
    kinesis = _KINESIS_STREAM_ARN.match(source.get("KinesisStreamARN", ""))
    destinations = description.get("Destinations") or [{}]
    destination = destinations[0].get("ExtendedS3DestinationDescription") or destinations[0].get(
        "S3DestinationDescription"
    )
    if not kinesis or not destination:
        return None
    hints = destination.get("BufferingHints") or {}
    size_mb = hints.get("SizeInMBs", DEFAULT_BUFFER_MB)
    interval = hints.get("IntervalInSeconds", DEFAULT_BUFFER_SECONDS)
    compression = destination.get("CompressionFormat", "UNCOMPRESSED")
    if compression not in _EXTENSIONS:
        raise ValueError(
            f"delivery stream {name}: CompressionFormat {compression!r} is not "
            f"supported locally (use one of {sorted(_EXTENSIONS)})"
        )
    prefix = destination.get("Prefix", "")
    error_prefix = destination.get("ErrorOutputPrefix", "")
    try:
        naming.validate_prefix(prefix)
        naming.validate_prefix(error_prefix, error_output=True)
    except naming.PrefixError as exc:
        raise ValueError(f"delivery stream {name}: {exc}") from exc
    processor = _processor_parameters(destination)
    lambda_arn, attempts, batch_bytes = None, 1, LAMBDA_REQUEST_LIMIT
    if processor is not None:
        if "LambdaArn" not in processor:
            raise ValueError(f"delivery stream {name}: Lambda processor has no LambdaArn")
        lambda_arn = processor["LambdaArn"]
        attempts = 1 + int(processor.get("NumberOfRetries", DEFAULT_PROCESSOR_RETRIES))
        batch_mb = float(processor.get("BufferSizeInMBs", DEFAULT_PROCESSOR_MB))
        batch_bytes = min(int(batch_mb * MIB), LAMBDA_REQUEST_LIMIT)
        # One buffer serves both stages: the processor's interval caps the destination's.
        interval = min(
            interval, float(processor.get("BufferIntervalInSeconds", DEFAULT_PROCESSOR_SECONDS))
        )
    zone_name = destination.get("CustomTimeZone") or "UTC"
    try:
        zone: tzinfo = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"delivery stream {name}: CustomTimeZone {zone_name!r} unknown") from exc
    return DeliveryConfig(
        name=name,
        arn=description["DeliveryStreamARN"],
        version=str(description.get("VersionId", "1")),
        created=description.get("CreateTimestamp") or datetime.now(UTC),
        kinesis_arn=source["KinesisStreamARN"],
        kinesis_stream=kinesis.group("name"),
        bucket=destination["BucketARN"].split(":::", 1)[-1],
        prefix=prefix,
        error_prefix=error_prefix,
        size_bytes=int(float(size_mb) * MIB),
        interval_seconds=float(interval),
        compression=compression,
        extension=destination.get("FileExtension") or _EXTENSIONS[compression],
        time_zone=zone,
        lambda_arn=lambda_arn,
        lambda_attempts=attempts,
        lambda_batch_bytes=batch_bytes,
    )


@dataclass
class SourceRecord:
    """A Kinesis record in the buffer, with what checkpointing and the error output need."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data_base64: str  # as Kinesis sent it: the Lambda event carries it unchanged
    arrival: datetime

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_base64)

    @property
    def size(self) -> int:
        return len(self.data_base64) * 3 // 4

    @property
    def record_id(self) -> str:
        return f"{self.shard_id}:{self.sequence_number}"


@dataclass
class Failure:
    record: SourceRecord
    error_code: str
    attempts: int
    message: str | None = None


@dataclass
class Transformed:
    """The processor's verdict on a batch: delivered lines, dropped count, failures."""

    ok: list[tuple[SourceRecord, bytes, dict[str, str]]] = field(default_factory=list)
    dropped: int = 0
    failed: list[Failure] = field(default_factory=list)

    def extend(self, other: Transformed) -> None:
        self.ok.extend(other.ok)
        self.dropped += other.dropped
        self.failed.extend(other.failed)


@dataclass
class DeliveryRun:
    """One delivery stream being served: config, shard positions, buffer and counters."""

    config: DeliveryConfig
    shards: list[dict[str, Any]] = field(default_factory=list)
    iterators: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    buffer: list[SourceRecord] = field(default_factory=list)
    buffer_bytes: int = 0
    buffer_started: float = 0.0
    retry_after: float = 0.0
    lag_ms: dict[str, int] = field(default_factory=dict)
    read: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    objects: int = 0
    last_error: str | None = None

    def status(self) -> dict[str, Any]:
        return {
            "source": self.config.kinesis_arn,
            "records_read": self.read,
            "delivered": self.delivered,
            "failed": self.failed,
            "dropped": self.dropped,
            "objects_written": self.objects,
            "buffered": len(self.buffer),
            "lag_ms": max(self.lag_ms.values(), default=0),
            "last_error": self.last_error,
        }


def lambda_batches(records: list[SourceRecord], limit_bytes: int) -> list[list[SourceRecord]]:
    """Split records into processor invocations whose event stays under `limit_bytes`."""
    batches: list[list[SourceRecord]] = []
    current: list[SourceRecord] = []
    size = 0
    for record in records:
        record_size = len(record.data_base64) + _EVENT_RECORD_OVERHEAD
        if current and size + record_size > limit_bytes:
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        batches.append(current)
    return batches


def newline_delimited(lines: list[bytes]) -> bytes:
    """Records one per line; a record the processor already ended with a newline keeps one."""
    return b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)


class FirehoseWorker(PollingWorker):
    """Reads every Kinesis-sourced delivery stream's shards and delivers buffered batches to S3."""

    kind = "firehose"
    resources_key = "delivery_streams"

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
        self.region = region
        self._firehose = make_client("firehose", endpoint_url, region, caller="firehose")
        self._kinesis = make_client("kinesis", endpoint_url, region, caller="firehose")
        receive_records_as_sent(self._kinesis)
        self._lambda = make_client(
            "lambda", endpoint_url, region, _LAMBDA_CONFIG, caller="firehose"
        )
        self._s3 = make_client("s3", endpoint_url, region, caller="firehose")

    def on_stopped(self) -> None:
        self._runs.clear()  # the buffered batch is abandoned: its checkpoints never advanced

    # -- resources -----------------------------------------------------------------------

    def refresh(self) -> None:
        names = self._list_delivery_streams()
        for name in list(self._runs):
            if name not in names:
                del self._runs[name]
        for name in names:
            try:
                self._refresh_stream(name)
                self._errors.pop(name, None)
            except (ValueError, ClientError) as exc:
                # One broken delivery stream (bad config, source gone) must not stop the others.
                self._errors[name] = str(exc)
                self._runs.pop(name, None)

    def _refresh_stream(self, name: str) -> None:
        description = self._firehose.describe_delivery_stream(DeliveryStreamName=name)
        config = delivery_config_from_description(description["DeliveryStreamDescription"])
        if config is None:
            return
        shards = self._list_shards(config.kinesis_stream)
        run = self._runs.get(name)
        if run is None or run.config.kinesis_arn != config.kinesis_arn:
            self._bind_checkpoints(config)
            run = self._runs[name] = DeliveryRun(config)
        else:
            run.config = config
        run.shards = shards

    def _list_delivery_streams(self) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"DeliveryStreamType": "KinesisStreamAsSource", "Limit": 100}
        while True:
            page = self._firehose.list_delivery_streams(**kwargs)
            names.extend(page["DeliveryStreamNames"])
            if not page.get("HasMoreDeliveryStreams") or not page["DeliveryStreamNames"]:
                return names
            kwargs["ExclusiveStartDeliveryStreamName"] = names[-1]

    def _bind_checkpoints(self, config: DeliveryConfig) -> None:
        # Kinesis shard ids repeat when a stream is re-created: tie positions to this incarnation.
        summary = self._kinesis.describe_stream_summary(StreamName=config.kinesis_stream)
        created = summary["StreamDescriptionSummary"]["StreamCreationTimestamp"]
        identity = f"{config.kinesis_arn}@{created.timestamp()}|{config.created.timestamp()}"
        self.checkpoints.bind(f"firehose/{config.name}", identity)

    def _list_shards(self, stream_name: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": stream_name}
        while True:
            page = self._kinesis.list_shards(**kwargs)
            shards.extend(page["Shards"])
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    # -- reading -------------------------------------------------------------------------

    def poll_once(self) -> bool:
        more = False
        for run in list(self._runs.values()):
            if self.stopping:
                break
            try:
                more |= self._read(run)
                if self._flush_due(run):
                    self._flush(run)
            except Exception as exc:
                run.last_error = f"{type(exc).__name__}: {exc}"
                # Re-read what is not delivered yet from the checkpoints, after a pause.
                run.iterators.clear()
                run.buffer, run.buffer_bytes = [], 0
                run.retry_after = time.monotonic() + max(1.0, self.poll_interval)
        return more

    def _checkpoint_key(self, run: DeliveryRun, shard_id: str) -> str:
        return f"firehose/{run.config.name}/{shard_id}"

    def _iterator(self, run: DeliveryRun, shard_id: str) -> str:
        if shard_id in run.iterators:
            return run.iterators[shard_id]
        kwargs: dict[str, Any] = {"StreamName": run.config.kinesis_stream, "ShardId": shard_id}
        last = self.checkpoints.get(self._checkpoint_key(run, shard_id))
        if last is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=last)
        else:
            # Firehose reads from the position the delivery stream was created at.
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=run.config.created)
        return self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"]

    def _read(self, run: DeliveryRun) -> bool:
        """Read every shard into the buffer; True when a shard had more than one read took."""
        if time.monotonic() < run.retry_after:
            return False
        read, more = 0, False
        for shard_id in shards_in_lineage_order(run.shards, run.finished):
            if run.buffer_bytes >= run.config.size_bytes:
                more = True  # the buffer is full: deliver it before reading more
                break
            response = self._kinesis.get_records(
                ShardIterator=self._iterator(run, shard_id), Limit=KINESIS_READ_LIMIT
            )
            run.lag_ms[shard_id] = response.get("MillisBehindLatest", 0)
            for record in response["Records"]:
                if not run.buffer:
                    run.buffer_started = time.monotonic()
                buffered = SourceRecord(
                    shard_id=shard_id,
                    sequence_number=record["SequenceNumber"],
                    partition_key=record["PartitionKey"],
                    data_base64=record["Data"],
                    arrival=datetime.fromtimestamp(record["ApproximateArrivalTimestamp"], UTC),
                )
                run.buffer.append(buffered)
                run.buffer_bytes += buffered.size
            read += len(response["Records"])
            more |= len(response["Records"]) == KINESIS_READ_LIMIT
            following = response.get("NextShardIterator")
            if following is None:
                run.finished.add(shard_id)
                run.iterators.pop(shard_id, None)
            else:
                run.iterators[shard_id] = following
        run.read += read
        return more

    def seconds_until_due(self) -> float | None:
        due = [
            run.buffer_started + run.config.interval_seconds - time.monotonic()
            for run in list(self._runs.values())
            if run.buffer
        ]
        return max(0.0, min(due)) if due else None

    def _flush_due(self, run: DeliveryRun) -> bool:
        if not run.buffer:
            return False
        waited = time.monotonic() - run.buffer_started
        return run.buffer_bytes >= run.config.size_bytes or waited >= run.config.interval_seconds

    # -- delivering ----------------------------------------------------------------------

    def _flush(self, run: DeliveryRun) -> None:
        """Transform, write every object, then checkpoint: nothing is acknowledged unwritten."""
        records = run.buffer
        config = run.config
        outcome = Transformed()
        if config.lambda_arn is None:
            outcome.ok = [(record, record.data, {}) for record in records]
        else:
            for batch in lambda_batches(records, config.lambda_batch_bytes):
                outcome.extend(self._invoke_processor(config, batch))
        objects, delivered = self._data_objects(config, outcome)
        if outcome.failed:
            objects.append(self._error_object(config, outcome.failed))
        for key, body in objects:
            if config.compression == "GZIP":
                body = gzip.compress(body, mtime=0)
            self._s3.put_object(Bucket=config.bucket, Key=key, Body=body)
        positions = {self._checkpoint_key(run, r.shard_id): r.sequence_number for r in records}
        self.checkpoints.put_many(positions)
        run.buffer, run.buffer_bytes = [], 0
        run.delivered += delivered
        run.failed += len(outcome.failed)
        run.dropped += outcome.dropped
        run.objects += len(objects)

    def _data_objects(
        self, config: DeliveryConfig, outcome: Transformed
    ) -> tuple[list[tuple[str, bytes]], int]:
        """One object per evaluated prefix; records whose prefix fails join the failures."""
        groups: dict[tuple[tuple[str, str], ...], list[tuple[SourceRecord, bytes]]] = defaultdict(
            list
        )
        for record, data, keys in outcome.ok:
            groups[tuple(sorted(keys.items()))].append((record, data))
        objects, delivered = [], 0
        for keys, members in groups.items():
            # Firehose names an object after the arrival time of its oldest record.
            oldest = min(record.arrival for record, _ in members).astimezone(config.time_zone)
            try:
                prefix = naming.data_prefix(
                    config.prefix, arrival=oldest, partition_keys=dict(keys)
                )
            except naming.PrefixError as exc:
                outcome.failed.extend(
                    Failure(record, "DynamicPartitioning.MetadataExtractionFailed", 1, str(exc))
                    for record, _ in members
                )
                continue
            name = naming.object_name(config.name, config.version, oldest)
            body = newline_delimited([data for _, data in members])
            objects.append((f"{prefix}{name}{config.extension}", body))
            delivered += len(members)
        return objects, delivered

    def _error_object(self, config: DeliveryConfig, failures: list[Failure]) -> tuple[str, bytes]:
        oldest = min(f.record.arrival for f in failures).astimezone(config.time_zone)
        ending = datetime.now(UTC)
        lines = [
            json.dumps(
                naming.processing_failed_record(
                    raw_data=f.record.data,
                    arrival=f.record.arrival,
                    attempts_made=f.attempts,
                    error_code=f.error_code,
                    error_message=f.message,
                    lambda_arn=config.lambda_arn or "",
                    attempt_ending=ending,
                ),
                separators=(",", ":"),
            ).encode("utf-8")
            for f in failures
        ]
        prefix = naming.error_prefix(config.error_prefix, arrival=oldest)
        name = naming.object_name(config.name, config.version, oldest)
        return f"{prefix}{name}{config.extension}", newline_delimited(lines)

    def _invoke_processor(self, config: DeliveryConfig, batch: list[SourceRecord]) -> Transformed:
        """Invoke the Lambda processor, retrying per NumberOfRetries, and judge each record."""
        error_code, message = "Lambda.FunctionError", None
        for attempt in range(1, config.lambda_attempts + 1):
            try:
                response = self._lambda.invoke(
                    FunctionName=config.lambda_arn,
                    Payload=orjson.dumps(self._event(config, batch)),
                )
            except ClientError as exc:
                error = exc.response.get("Error", {})
                error_code = f"Lambda.{error.get('Code', 'ServiceException')}"
                message = error.get("Message") or str(exc)
                continue
            payload = response["Payload"].read()
            if response.get("FunctionError"):
                error_code, message = "Lambda.FunctionError", None
                continue
            try:
                returned = orjson.loads(payload)["records"]
                if not isinstance(returned, list):
                    raise TypeError("records is not a list")
            except (ValueError, KeyError, TypeError):
                error_code, message = "Lambda.JsonProcessingException", None
                continue
            return self._judge(batch, returned, attempt)
        return Transformed(
            failed=[Failure(r, error_code, config.lambda_attempts, message) for r in batch]
        )

    def _event(self, config: DeliveryConfig, batch: list[SourceRecord]) -> dict[str, Any]:
        records = []
        for record in batch:
            arrival_ms = naming.epoch_millis(record.arrival)
            records.append(
                {
                    "recordId": record.record_id,
                    "approximateArrivalTimestamp": arrival_ms,
                    "data": record.data_base64,
                    "kinesisRecordMetadata": {
                        "sequenceNumber": record.sequence_number,
                        "subsequenceNumber": 0,
                        "partitionKey": record.partition_key,
                        "shardId": record.shard_id,
                        "approximateArrivalTimestamp": arrival_ms,
                    },
                }
            )
        return {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": config.arn,
            "sourceKinesisStreamArn": config.kinesis_arn,
            "region": self.region,
            "records": records,
        }

    @staticmethod
    def _judge(batch: list[SourceRecord], returned: list[Any], attempts: int) -> Transformed:
        by_id: dict[str, Any] = {}
        duplicated: set[str] = set()
        for result in returned:
            record_id = result.get("recordId") if isinstance(result, dict) else None
            if record_id in by_id:
                duplicated.add(record_id)
            by_id[record_id] = result
        outcome = Transformed()
        for record in batch:
            result = by_id.get(record.record_id)
            if record.record_id in duplicated:
                outcome.failed.append(Failure(record, "Lambda.DuplicatedRecordId", attempts))
            elif result is None:
                outcome.failed.append(Failure(record, "Lambda.MissingRecordId", attempts))
            elif result.get("result") == "Dropped":
                outcome.dropped += 1
            elif result.get("result") == "ProcessingFailed":
                outcome.failed.append(Failure(record, "Lambda.ProcessingFailedStatus", attempts))
            elif result.get("result") == "Ok":
                try:
                    data = base64.b64decode(result.get("data", ""), validate=True)
                except (binascii.Error, TypeError):
                    outcome.failed.append(
                        Failure(record, "Lambda.JsonProcessingException", attempts)
                    )
                    continue
                keys = (result.get("metadata") or {}).get("partitionKeys") or {}
                outcome.ok.append((record, data, {str(k): str(v) for k, v in keys.items()}))
            else:
                outcome.failed.append(Failure(record, "Lambda.JsonProcessingException", attempts))
        return outcome
