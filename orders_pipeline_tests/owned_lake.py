"""A data lake a test owns on the session's local stack: its bucket, Glue database and crawler,
raw change records written as Firehose would, and the analytics refresh run over them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import pandas as pd
from dagster_aws.s3 import S3Resource

from orders_pipeline import tables
from orders_pipeline.defs.analytics.refresh import Lake, RefreshResult, refresh
from orders_pipeline.defs.analytics.sql_templates import select_table_query
from orders_pipeline.defs.catalog.crawler import run_crawler
from orders_pipeline.defs.resources import (
    AthenaResource,
    DataLakeResource,
    GlueCatalogResource,
)

RAW_PREFIX = "raw/orders_raw/"


def change(
    orderid: str | None,
    event_id: str,
    sequence_number: str,
    when: str,
    *,
    cdc_event_type: str = "INSERT",
    created: str | None = None,
    omit: Iterable[str] = (),
    **attributes: Any,
) -> dict[str, Any]:
    """One flat change record as the Firehose transform writes it (the record contract): the
    change captured at `when` (ISO 8601 UTC) of an order created at `created` (default: when),
    the attributes given replacing the defaults, those in `omit` left out."""
    quantity = attributes.get("quantity", 2)
    price = attributes.get("price", 10.0)
    discount = attributes.get("discount", 0.0)
    record: dict[str, Any] = {
        "orderid": orderid,
        "customer_id": "C-1",
        "customer_name": "Ada Lovelace",
        "product_id": "P-1",
        "product_name": "Atlas of Remote Islands",
        "category": "Books",
        "quantity": quantity,
        "price": price,
        "discount": discount,
        "order_total": (
            round(quantity * price - discount, 2)
            if all(isinstance(v, int | float) for v in (quantity, price, discount))
            else None
        ),
        "currency": "USD",
        "status": "PLACED",
        "payment_method": "paypal",
        "channel": "web",
        "shipping_country": "France",
        "shipping_city": "Lyon",
        "created_at": created or when,
        "updated_at": when,
        **attributes,
        "cdc_event_type": cdc_event_type,
        "event_id": event_id,
        "sequence_number": sequence_number,
        "creation_datetime": when,
        "is_deleted": cdc_event_type == "REMOVE",
    }
    for name in omit:
        record.pop(name)
    return record


def keys_only(orderid: str, event_id: str, sequence_number: str, when: str) -> dict[str, Any]:
    """A REMOVE as a NEW_IMAGE or KEYS_ONLY stream delivers it: the key and the CDC columns."""
    return {
        "orderid": orderid,
        "cdc_event_type": "REMOVE",
        "event_id": event_id,
        "sequence_number": sequence_number,
        "creation_datetime": when,
        "is_deleted": True,
    }


class OwnedLake:
    """An isolated bucket, Glue database and crawler; resources bound to them."""

    def __init__(self, local_stack: Any, aws_client: Any, label: str = "lake") -> None:
        suffix = uuid.uuid4().hex[:10]
        self.bucket = f"{label}-{suffix}"
        self.database = f"{label.replace('-', '_')}_{suffix}"
        self.s3 = aws_client("s3")
        self.s3.create_bucket(Bucket=self.bucket)
        glue = aws_client("glue")
        glue.create_database(DatabaseInput={"Name": self.database})
        glue.create_crawler(
            Name=f"crawler-{suffix}",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=self.database,
            Targets={"S3Targets": [{"Path": f"s3://{self.bucket}/{RAW_PREFIX}"}]},
        )
        self.data_lake = DataLakeResource(
            s3=S3Resource(region_name=local_stack.region, max_attempts=2), bucket=self.bucket
        )
        self.glue = GlueCatalogResource(
            database=self.database, crawler_name=f"crawler-{suffix}", raw_table=tables.RAW.name
        )
        self.athena = AthenaResource(
            database=self.database,
            work_group="primary",
            output_location=f"s3://{self.bucket}/athena-results/",
        )
        self.files = 0
        self._athena_client = aws_client("athena")

    def athena_query(self, query_id: str) -> dict[str, Any]:
        """GetQueryExecution of one query: its text, statement type and statistics."""
        return self._athena_client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]

    @property
    def lake(self) -> Lake:
        return Lake(self.athena, self.glue, self.data_lake)

    def deliver(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Write the records as Firehose does (one object per event day, under dt=); register
        the days as partitions (crawling once, to create the table). The days written."""
        by_day: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_day.setdefault(record["creation_datetime"][:10], []).append(record)
        for day, day_records in sorted(by_day.items()):
            self.files += 1
            body = "".join(json.dumps(r) + "\n" for r in day_records).encode()
            key = f"{RAW_PREFIX}dt={day}/delivery-{self.files:06d}"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        days = sorted(by_day)
        if not self.glue.table_exists(self.glue.raw_table):
            run_crawler(
                self.glue.client(), self.glue.crawler_name, timeout_seconds=60, poll_seconds=0.1
            )
            self.glue.read_scalars_as_text(self.glue.raw_table)  # as the catalog asset does
        else:
            self.glue.add_partitions(self.glue.raw_table, days)
        return days

    def refresh(
        self, days: Iterable[str], *, rebuild: bool = False, only_new_files: bool = False
    ) -> RefreshResult:
        return refresh(self.lake, days, rebuild=rebuild, only_new_files=only_new_files)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return self.athena.run(sql).rows

    def table(self, table: tables.Table | str) -> pd.DataFrame:
        """A whole table, its rows in a fixed order (so two reads compare equal); without
        order_events' source_file, which names this lake's own files."""
        table = tables.table(table) if isinstance(table, str) else table
        frame = pd.DataFrame(
            self.rows(select_table_query(table, database=self.database)),
            columns=list(table.column_names),
        ).drop(columns=["source_file"], errors="ignore")
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    def partition_locations(self, table: tables.Table) -> dict[tuple[str, ...], str]:
        return {
            tuple(p["Values"]): p["StorageDescriptor"]["Location"]
            for p in self.glue.partitions(table.name)
        }
