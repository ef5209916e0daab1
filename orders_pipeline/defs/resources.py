"""Resources every domain shares: the stack's AWS services, named by `ORDERS_*` environment
variables, else the stack's Outputs (`ORDERS_STACK_NAME`), else the defaults of DEVELOPERS.md."""

# Endpoints come from boto3's own configuration (`AWS_ENDPOINT_URL`): no code path checks for local.

import gzip
import os
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

import boto3
import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError
from dagster_aws.s3 import S3Resource
from pyathena import connect
from pyathena.error import Error as AthenaError
from pyathena.util import RetryConfig
from pydantic import PrivateAttr

from orders_pipeline.aws import client_config, describe_aws_error
from orders_pipeline.deploy import DeployError, stack_outputs
from orders_pipeline.lib.days import recent_days
from orders_pipeline.lib.sql import validate_day
from orders_pipeline.orders.reconciliation import OrderState

# Glue's limits per call: BatchGetPartition 1,000 partitions, BatchCreatePartition and
# BatchUpdatePartition 100, BatchDeletePartition 25.
_GET_PARTITIONS_BATCH = 1000
_CREATE_PARTITIONS_BATCH = 100
_UPDATE_PARTITIONS_BATCH = 100
_DELETE_PARTITIONS_BATCH = 25


# The Hive types a crawler gives plain JSON values; structs, arrays and maps keep theirs.
_SCALAR_TYPES = frozenset(
    {"boolean", "tinyint", "smallint", "int", "integer", "bigint", "float", "double", "decimal",
     "date", "timestamp", "char", "varchar"}
)  # fmt: skip
_TABLE_INPUT_KEYS = (
    "Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys",
    "TableType", "Parameters", "ViewOriginalText", "ViewExpandedText",
)  # fmt: skip


def _partition_input(partition: dict[str, Any]) -> dict[str, Any]:
    """What GetPartitions returns, as the PartitionInput the write calls accept."""
    return {
        key: partition[key]
        for key in ("Values", "StorageDescriptor", "Parameters")
        if key in partition
    }


def _raise_partition_errors(table: str, doing: str, response: dict[str, Any]) -> None:
    failed = [
        e
        for e in response.get("Errors", [])
        if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
    ]
    if failed:
        detail = failed[0].get("ErrorDetail", {})
        raise RuntimeError(
            f"{doing} partition {failed[0].get('PartitionValues')} of {table} failed: "
            f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
        )


GZIP_MAGIC = b"\x1f\x8b"
# The error types Firehose writes under the error prefix for an S3 destination with a processor.
ERROR_OUTPUT_TYPES = ("processing-failed",)


@dataclass(frozen=True)
class Setting:
    """One name the pipeline needs: its environment variable, stack Output and fixed default."""

    env_var: str
    stack_output: str
    default: str | None


SETTINGS = (
    Setting("ORDERS_TABLE_NAME", "OrdersTableName", "OrdersRawTable"),
    Setting("ORDERS_KINESIS_STREAM", "KinesisStreamName", "kinesis-for-sales-data"),
    Setting("ORDERS_DELIVERY_STREAM", "DeliveryStreamName", "firehose-sales-data-to-s3"),
    Setting("ORDERS_DATA_BUCKET", "DataBucketName", None),
    Setting("ORDERS_RAW_PREFIX", "RawDataPrefix", "raw/orders_raw/"),
    Setting("ORDERS_ERROR_PREFIX", "ErrorDataPrefix", "errors/orders_raw/"),
    Setting("ORDERS_ANALYTICS_PREFIX", "AnalyticsPrefix", "analytics/"),
    Setting("ORDERS_GLUE_DATABASE", "GlueDatabaseName", "orders_db"),
    Setting("ORDERS_GLUE_CRAWLER", "GlueCrawlerName", "orders-raw-crawler"),
    Setting("ORDERS_GLUE_RAW_TABLE", "GlueRawTableName", "orders_raw"),
    Setting("ORDERS_ATHENA_WORKGROUP", "AthenaWorkGroupName", "orders-pipeline"),
    Setting("ORDERS_ATHENA_OUTPUT_LOCATION", "AthenaOutputLocation", ""),
)
STACK_NAME_ENV_VAR = "ORDERS_STACK_NAME"


def environment_from_outputs(outputs: Mapping[str, str]) -> dict[str, str]:
    """The environment variables that point the pipeline at a deployed stack, from its Outputs."""
    return {s.env_var: outputs[s.stack_output] for s in SETTINGS if s.stack_output in outputs}


@cache
def _stack_outputs(stack_name: str) -> dict[str, str]:
    """The stack's Outputs, read once; empty when the stack cannot be read.

    An unreadable stack must not stop the code location from loading: the defaults apply, and
    a setting with no default stays an EnvVar that names itself when a run needs it.
    """
    try:
        client = boto3.client("cloudformation", config=client_config())
        return stack_outputs(stack_name, client=client)
    except (BotoCoreError, ClientError, DeployError, ValueError):
        return {}


def setting(env_var: str) -> Any:
    """Config value for one setting: the EnvVar when set, else the stack Output, else the default.

    An EnvVar stays visible as such in the Dagster UI; a setting with neither an Output nor a
    default stays an EnvVar so that launching a run names the missing variable.
    """
    spec = next(s for s in SETTINGS if s.env_var == env_var)
    if env_var in os.environ:
        return dg.EnvVar(env_var)
    stack_name = os.environ.get(STACK_NAME_ENV_VAR)
    value = _stack_outputs(stack_name).get(spec.stack_output) if stack_name else None
    if value:
        return value
    return spec.default if spec.default is not None else dg.EnvVar(env_var)


@contextmanager
def failing_clearly() -> Iterator[None]:
    """Turn an AWS error into a Dagster Failure with one readable line and no retries."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise dg.Failure(description=describe_aws_error(exc), allow_retries=False) from exc
    except AthenaError as exc:
        # pyathena's message is Athena's StateChangeReason (e.g. the SQL error), one line.
        message = " ".join(str(exc).split())
        raise dg.Failure(
            description=f"Athena query failed: {message}", allow_retries=False
        ) from exc


class OrdersTableResource(dg.ConfigurableResource):
    """The DynamoDB table of orders (`OrdersRawTable`)."""

    table_name: str
    region_name: str | None = None

    def dynamodb(self) -> Any:
        """A boto3 DynamoDB service resource (what `dynamodb_writer.write_changes` takes)."""
        return boto3.resource("dynamodb", region_name=self.region_name, config=client_config())

    def table(self) -> Any:
        return self.dynamodb().Table(self.table_name)

    def order_states(self) -> dict[str, OrderState]:
        """Every live order's value and `updated_at`, by orderid.

        The value is `order_total`, or quantity x price - discount for items without one (as
        the analytics derive it); None when the item carries neither. The scan reads only these
        attributes, so it stays cheap on wide items.
        """
        table = self.table()
        states: dict[str, OrderState] = {}
        names = ("orderid", "order_total", "updated_at", "quantity", "price", "discount")
        request: dict[str, Any] = {
            "ProjectionExpression": ", ".join(f"#{i}" for i in range(len(names))),
            "ExpressionAttributeNames": {f"#{i}": name for i, name in enumerate(names)},
        }
        while True:
            page = table.scan(**request)
            for item in page["Items"]:
                updated = item.get("updated_at")
                states[str(item["orderid"])] = OrderState(
                    order_total=item_total(item),
                    updated_at=updated if isinstance(updated, str) else None,
                )
            if "LastEvaluatedKey" not in page:
                return states
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def item_total(item: dict[str, Any]) -> Decimal | None:
    """An item's order value the way order_events types it: its total, else quantity x price
    less the discount, rounded to the cent; None when neither is there (or neither is a number)."""
    total = _decimal(item.get("order_total"))
    if total is not None:
        return total.quantize(Decimal("0.01"))
    quantity, price = _decimal(item.get("quantity")), _decimal(item.get("price"))
    if quantity is None or price is None:
        return None
    discount = _decimal(item.get("discount")) or Decimal(0)
    whole = quantity.to_integral_value(ROUND_HALF_UP)  # CAST(x AS INTEGER) rounds half up
    return (whole * price - discount).quantize(Decimal("0.01"))


class StreamsResource(dg.ConfigurableResource):
    """The Kinesis stream the Pipe fills and the Firehose stream that delivers it to S3."""

    kinesis_stream: str
    delivery_stream: str
    region_name: str | None = None

    def kinesis_summary(self) -> dict[str, Any]:
        """Status and open shard count of the Kinesis stream."""
        client = boto3.client("kinesis", region_name=self.region_name, config=client_config())
        summary = client.describe_stream_summary(StreamName=self.kinesis_stream)
        description = summary["StreamDescriptionSummary"]
        return {"status": description["StreamStatus"], "open_shards": description["OpenShardCount"]}

    def delivery_summary(self) -> dict[str, Any]:
        """Status of the Firehose stream and the buffering hints of its S3 destination."""
        client = boto3.client("firehose", region_name=self.region_name, config=client_config())
        description = client.describe_delivery_stream(DeliveryStreamName=self.delivery_stream)[
            "DeliveryStreamDescription"
        ]
        destination = (description.get("Destinations") or [{}])[0]
        s3 = destination.get("ExtendedS3DestinationDescription") or destination.get(
            "S3DestinationDescription", {}
        )
        return {
            "status": description["DeliveryStreamStatus"],
            "version": description.get("VersionId", "1"),
            "buffering_hints": s3.get("BufferingHints", {}),
            "compression": s3.get("CompressionFormat", "UNCOMPRESSED"),
        }


class DataLakeResource(dg.ConfigurableResource):
    """The data bucket: Firehose landing zone, its error prefix and the analytics tables."""

    s3: S3Resource
    bucket: str
    raw_prefix: str = "raw/orders_raw/"
    error_prefix: str = "errors/orders_raw/"
    analytics_prefix: str = "analytics/"

    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        # Creating a boto3 client costs far more than a request: make it once per resource.
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def list_objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under `prefix` (Key, Size, LastModified), across all listing pages."""
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def list_after(self, prefix: str, start_after: str) -> tuple[list[dict[str, Any]], int]:
        """The objects under `prefix` whose keys sort after `start_after`; and the LIST calls
        it took (one per 1,000 keys returned)."""
        paginator = self.client().get_paginator("list_objects_v2")
        found: list[dict[str, Any]] = []
        calls = 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, StartAfter=start_after):
            calls += 1
            found += page.get("Contents", [])
        return found, calls

    def recent_raw_folders(self, now: datetime) -> list[str]:
        """The raw `dt=` folders a delivery can still land in: today and the two days before."""
        return [f"{self.raw_prefix}dt={day}/" for day in recent_days(now)]

    def recent_error_folders(self, now: datetime) -> list[str]:
        """The error folders of today and yesterday (their `dt=` is the day Firehose failed)."""
        return [
            f"{self.error_prefix}{kind}/dt={day}/"
            for kind in ERROR_OUTPUT_TYPES
            for day in recent_days(now, late_days=1)
        ]

    def objects_in(self, folders: list[str]) -> list[dict[str, Any]]:
        """Every object of these folders (a listing per folder: never the whole prefix)."""
        return [obj for folder in folders for obj in self.list_objects(folder)]

    def has_objects(self, prefix: str) -> bool:
        """Whether anything is under `prefix` (one LIST call of at most one key)."""
        page = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        return bool(page.get("Contents"))

    def read(self, key: str) -> bytes:
        """An object's content (gzip objects, as Firehose writes them compressed, unpacked)."""
        data = self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return gzip.decompress(data) if data[:2] == GZIP_MAGIC else data

    def read_head(self, key: str, size: int) -> bytes:
        """Up to the first `size` bytes of an object's content (a ranged GET); of a gzip
        object, what its first `size` bytes unpack to."""
        data = (
            self.client()
            .get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"]
            .read()
        )
        if data[:2] != GZIP_MAGIC:
            return data
        return zlib.decompressobj(wbits=31).decompress(data)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many were deleted."""
        return self.delete_keys([obj["Key"] for obj in self.list_objects(prefix)])

    def delete_keys(self, keys: list[str]) -> int:
        """Delete the given objects; returns how many were deleted."""
        client = self.client()
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)


class GlueCatalogResource(dg.ConfigurableResource):
    """The Glue database, its crawler and the raw table the crawler maintains."""

    database: str
    crawler_name: str
    raw_table: str
    region_name: str | None = None

    _client: Any = PrivateAttr(default=None)

    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client(
                "glue", region_name=self.region_name, config=client_config()
            )
        return self._client

    def get_table(self, table: str) -> dict[str, Any] | None:
        """The Glue table (or view) called `table`; None if there is none."""
        try:
            return self.client().get_table(DatabaseName=self.database, Name=table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                return None
            raise

    def table_exists(self, table: str) -> bool:
        return self.get_table(table) is not None

    def table_type(self, table: str) -> str | None:
        """The Glue TableType (EXTERNAL_TABLE, VIRTUAL_VIEW) of a table or view; None if absent."""
        found = self.get_table(table)
        return None if found is None else found.get("TableType", "EXTERNAL_TABLE")

    def delete_table(self, table: str) -> None:
        """Remove a table from the catalog (its files stay where they are)."""
        self.client().delete_table(DatabaseName=self.database, Name=table)

    def table_names(self) -> list[str]:
        """Names of every table and view in the database, sorted."""
        pages = self.client().get_paginator("get_tables").paginate(DatabaseName=self.database)
        return sorted(table["Name"] for page in pages for table in page["TableList"])

    def columns(self, table: str) -> dict[str, str]:
        """A table's data columns (not its partition keys): name -> Glue type."""
        found = self.client().get_table(DatabaseName=self.database, Name=table)["Table"]
        return {c["Name"]: c["Type"] for c in found["StorageDescriptor"].get("Columns", [])}

    def existing_days(self, table: str, days: list[str]) -> list[str]:
        """Which of `days` the table has a `dt` partition for (Glue BatchGetPartition: requests
        in proportion to the days asked about, never to the partitions there)."""
        client, known = self.client(), set()
        wanted = sorted(set(days))
        for start in range(0, len(wanted), _GET_PARTITIONS_BATCH):
            batch = [{"Values": [day]} for day in wanted[start : start + _GET_PARTITIONS_BATCH]]
            while batch:
                found = client.batch_get_partition(
                    DatabaseName=self.database, TableName=table, PartitionsToGet=batch
                )
                known |= {p["Values"][0] for p in found.get("Partitions", [])}
                batch = found.get("UnprocessedKeys") or []
        return sorted(known)

    def add_partitions(self, table: str, days: list[str]) -> list[str]:
        """Register the `dt` partitions of `days` the table lacks (Glue BatchCreatePartition, no
        crawl); returns the days added. Each inherits the table's storage description."""
        if not days:
            return []
        missing = sorted(set(days) - set(self.existing_days(table, days)))
        if not missing:
            return []
        client = self.client()
        descriptor = self.get_table(table)["StorageDescriptor"]
        location = descriptor["Location"].rstrip("/") + "/"
        for start in range(0, len(missing), _CREATE_PARTITIONS_BATCH):
            inputs = [
                {
                    "Values": [day],
                    "StorageDescriptor": {**descriptor, "Location": f"{location}dt={day}/"},
                }
                for day in missing[start : start + _CREATE_PARTITIONS_BATCH]
            ]
            response = client.batch_create_partition(
                DatabaseName=self.database, TableName=table, PartitionInputList=inputs
            )
            _raise_partition_errors(table, "registering", response)
        return missing

    def read_scalars_as_text(self, table: str) -> list[str]:
        """Declare the table's plain columns (numbers, booleans, ...) `string`, in the table and
        every partition; the columns changed. The analytics type them themselves (TRY_CAST), so
        one record whose value does not fit the crawler's guess ("abc" as a price) is rejected
        alone instead of failing every query over its partition (HIVE_BAD_DATA)."""
        found = self.get_table(table)
        if found is None:
            return []
        descriptor = found["StorageDescriptor"]
        columns, changed = [], []
        for column in descriptor.get("Columns", []):
            kind = column["Type"].lower()
            if kind != "string" and kind.split("(")[0] in _SCALAR_TYPES:
                changed.append(column["Name"])
                column = {**column, "Type": "string"}
            columns.append(column)
        if not changed:
            return []
        client = self.client()
        table_input = {k: found[k] for k in _TABLE_INPUT_KEYS if k in found}
        table_input["StorageDescriptor"] = {**descriptor, "Columns": columns}
        client.update_table(DatabaseName=self.database, TableInput=table_input)
        stale = [
            {**p, "StorageDescriptor": {**p["StorageDescriptor"], "Columns": columns}}
            for p in self.partitions(table)
            if p["StorageDescriptor"].get("Columns") != columns
        ]
        self._update_partitions(table, stale, "retyping")
        return changed

    def partitions(self, table: str, days: list[str] | None = None) -> list[dict[str, Any]]:
        """The table's partitions (Values, StorageDescriptor), all of them or those whose `dt`
        is one of `days` (a GetPartitions filter expression: pages for those days only)."""
        if days is not None and not days:
            return []
        arguments: dict[str, Any] = {"DatabaseName": self.database, "TableName": table}
        if days is not None:
            listed = ", ".join(f"'{validate_day(d)}'" for d in sorted(set(days)))
            arguments["Expression"] = f"dt IN ({listed})"
        pages = self.client().get_paginator("get_partitions").paginate(**arguments)
        return [p for page in pages for p in page["Partitions"]]

    def put_partitions(self, table: str, partitions: list[dict[str, Any]]) -> None:
        """Point each partition (Values, StorageDescriptor) where it says: create the ones the
        table lacks, update the others (each partition switches in one Glue write)."""
        if not partitions:
            return
        client = self.client()
        known = {tuple(p["Values"]) for p in self.partitions(table, self._days(partitions))}
        new = [p for p in partitions if tuple(p["Values"]) not in known]
        changed = [p for p in partitions if tuple(p["Values"]) in known]
        for start in range(0, len(new), _CREATE_PARTITIONS_BATCH):
            response = client.batch_create_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionInputList=[
                    _partition_input(p) for p in new[start : start + _CREATE_PARTITIONS_BATCH]
                ],
            )
            _raise_partition_errors(table, "registering", response)
        self._update_partitions(table, changed, "moving")

    def _update_partitions(self, table: str, partitions: list[dict[str, Any]], doing: str) -> None:
        """Rewrite existing partitions as given (BatchUpdatePartition, in batches)."""
        for start in range(0, len(partitions), _UPDATE_PARTITIONS_BATCH):
            response = self.client().batch_update_partition(
                DatabaseName=self.database,
                TableName=table,
                Entries=[
                    {"PartitionValueList": p["Values"], "PartitionInput": _partition_input(p)}
                    for p in partitions[start : start + _UPDATE_PARTITIONS_BATCH]
                ],
            )
            _raise_partition_errors(table, doing, response)

    def delete_partitions(self, table: str, values: list[list[str]]) -> None:
        """Unregister these partitions (their files stay where they are)."""
        client = self.client()
        for start in range(0, len(values), _DELETE_PARTITIONS_BATCH):
            response = client.batch_delete_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionsToDelete=[
                    {"Values": v} for v in values[start : start + _DELETE_PARTITIONS_BATCH]
                ],
            )
            _raise_partition_errors(table, "deleting", response)

    @staticmethod
    def _days(partitions: list[dict[str, Any]]) -> list[str]:
        return sorted({p["Values"][0] for p in partitions})

    def partition_values(self, table: str) -> list[str]:
        """The `dt` values of a table's partitions, sorted."""
        paginator = self.client().get_paginator("get_partitions")
        pages = paginator.paginate(DatabaseName=self.database, TableName=table)
        return sorted({p["Values"][0] for page in pages for p in page["Partitions"]})


@dataclass(frozen=True)
class AthenaResult:
    """One finished Athena query: its id, the bytes it scanned, its rows as dicts, and for an
    INSERT the rows it wrote."""

    query_id: str
    bytes_scanned: int
    rows: list[dict[str, Any]]
    update_count: int | None = None
    manifest_location: str | None = None  # CTAS / INSERT: the S3 URL listing the files written


class AthenaResource(dg.ConfigurableResource):
    """Athena through pyathena, in the pipeline's workgroup and Glue database."""

    database: str
    work_group: str
    output_location: str | None = None
    region_name: str | None = None

    _connection: Any = PrivateAttr(default=None)

    def connection(self) -> Any:
        # A pyathena connection holds a boto3 client, which costs far more than a query's
        # requests to make: one per resource.
        if self._connection is None:
            self._connection = connect(
                s3_staging_dir=self.output_location or "",
                work_group=self.work_group,
                schema_name=self.database,
                region_name=self.region_name,
                poll_interval=0.2,
                retry_config=RetryConfig(attempt=2),
                config=client_config(),
            )
        return self._connection

    def run(self, sql: str) -> AthenaResult:
        """Run one statement to completion; raises pyathena's error with Athena's reason."""
        with self.connection().cursor() as cursor:
            cursor.execute(sql)
            # DDL and INSERT statements return no result set.
            names = [column[0] for column in cursor.description or []]
            rows = []
            if names:
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            return AthenaResult(
                query_id=cursor.query_id,
                bytes_scanned=cursor.data_scanned_in_bytes or 0,
                rows=rows,
                update_count=cursor.rowcount if cursor.rowcount >= 0 else None,
                manifest_location=cursor.data_manifest_location,
            )


def _region() -> Any:
    return dg.EnvVar("AWS_REGION") if "AWS_REGION" in os.environ else None


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources every asset, check and sensor uses, keyed by their parameter names."""
    region = _region()
    return {
        "orders_table": OrdersTableResource(
            table_name=setting("ORDERS_TABLE_NAME"), region_name=region
        ),
        "streams": StreamsResource(
            kinesis_stream=setting("ORDERS_KINESIS_STREAM"),
            delivery_stream=setting("ORDERS_DELIVERY_STREAM"),
            region_name=region,
        ),
        "data_lake": DataLakeResource(
            s3=S3Resource(region_name=region, max_attempts=2),
            bucket=setting("ORDERS_DATA_BUCKET"),
            raw_prefix=setting("ORDERS_RAW_PREFIX"),
            error_prefix=setting("ORDERS_ERROR_PREFIX"),
            analytics_prefix=setting("ORDERS_ANALYTICS_PREFIX"),
        ),
        "glue": GlueCatalogResource(
            database=setting("ORDERS_GLUE_DATABASE"),
            crawler_name=setting("ORDERS_GLUE_CRAWLER"),
            raw_table=setting("ORDERS_GLUE_RAW_TABLE"),
            region_name=region,
        ),
        "athena": AthenaResource(
            database=setting("ORDERS_GLUE_DATABASE"),
            work_group=setting("ORDERS_ATHENA_WORKGROUP"),
            output_location=setting("ORDERS_ATHENA_OUTPUT_LOCATION"),
            region_name=region,
        ),
    }


@dg.definitions
def defs() -> dg.Definitions:
    # Built when the code location loads, so the environment of that moment names the resources.
    return dg.Definitions(resources=build_resources())
