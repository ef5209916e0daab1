"""The Glue crawler: JSON type inference (pure) and real crawls of S3 through the Glue API."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.glue import patches as glue_hooks
from orders_pipeline.local_stack.glue.crawler import (
    infer_json_lines_schema,
    infer_json_type,
    merge_types,
    partition_path,
    render_type,
    table_name_for,
)

CRAWL_DEADLINE_S = 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", "string"),
        (7, "int"),
        (2**31, "bigint"),
        (1.25, "double"),
        (True, "boolean"),
        ([1, 2.5], "array<double>"),
        ({"SKU": "a", "qty": 1}, "struct<sku:string,qty:int>"),
        (None, "string"),
    ],
)
def test_json_values_get_glue_types(value, expected):
    assert render_type(infer_json_type(value)) == expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("int", "bigint", "bigint"),
        ("int", "double", "double"),
        ("bigint", "string", "string"),
        ("boolean", "int", "string"),
        (None, "int", "int"),
        (("array", "int"), ("array", "double"), ("array", "double")),
        (
            ("struct", {"a": "int"}),
            ("struct", {"b": "string"}),
            ("struct", {"a": "int", "b": "string"}),
        ),
        (("struct", {"a": "int"}), "string", "string"),
    ],
)
def test_types_widen_across_records_like_glue(first, second, expected):
    assert merge_types(first, second) == expected


def test_schema_keeps_first_seen_column_order_and_lowercases_names():
    lines = [b'{"OrderId": "a", "price": 1}', b"", b'{"orderid": "b", "price": 2.5, "note": null}']
    schema = infer_json_lines_schema(lines, "s3://b/k")
    assert {k: render_type(v) for k, v in schema.items()} == {
        "orderid": "string",
        "price": "double",
        "note": "string",
    }


def test_malformed_line_names_object_and_line():
    with pytest.raises(Exception, match=r"s3://b/k line 2: not valid JSON"):
        infer_json_lines_schema([b'{"a": 1}', b'{"a": '], "s3://b/k")


@pytest.mark.parametrize(
    ("relative_key", "expected"),
    [
        ("dt=2024-01-01/part-1.json", [("dt", "2024-01-01")]),
        ("Year=2024/month=01/f", [("year", "2024"), ("month", "01")]),
        ("f.json", []),
        ("dt=2024-01-01/extra/f.json", [("dt", "2024-01-01")]),
    ],
)
def test_hive_partition_folders_are_read_from_the_key(relative_key, expected):
    assert partition_path(relative_key) == expected


@pytest.mark.parametrize(
    ("target", "prefix", "expected"),
    [("s3://b/raw/orders_raw/", "", "orders_raw"), ("s3://b/raw/Orders-Raw", "p_", "p_orders_raw")],
)
def test_table_is_named_after_the_target_folder(target, prefix, expected):
    assert table_name_for(target, prefix) == expected


# --- through the Glue API -------------------------------------------------------------------


def _record(order: int, day: str, **extra) -> dict:
    return {
        "orderid": f"order-{order}",
        "quantity": order,
        "price": 10.5 + order,
        "is_deleted": False,
        "cdc_event_type": "INSERT",
        "creation_datetime": f"{day}T10:00:00Z",
        **extra,
    }


def _put_lines(s3, bucket: str, key: str, records: list[dict]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(json.dumps(r) for r in records).encode())


def _wait_for_crawl(glue, name: str) -> dict:
    deadline = time.monotonic() + CRAWL_DEADLINE_S
    while time.monotonic() < deadline:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler["LastCrawl"]
        time.sleep(0.05)
    raise AssertionError(f"crawler {name} still {crawler['State']} after {CRAWL_DEADLINE_S}s")


@pytest.fixture
def lake(aws_client):
    """A fresh bucket, Glue database and crawler over s3://<bucket>/raw/orders_raw/."""
    s3, glue = aws_client("s3"), aws_client("glue")
    suffix = uuid.uuid4().hex[:8]
    bucket, database, crawler = f"crawl-{suffix}", f"db_{suffix}", f"crawler-{suffix}"
    s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_crawler(
        Name=crawler,
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=database,
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/raw/orders_raw/"}]},
        SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
    )
    return {"s3": s3, "glue": glue, "bucket": bucket, "database": database, "crawler": crawler}


def test_crawl_creates_json_table_with_inferred_columns_and_partitions(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    for day in ("2024-01-01", "2024-01-02"):
        _put_lines(
            s3, bucket, f"raw/orders_raw/dt={day}/part-0", [_record(1, day), _record(2, day)]
        )
    glue.start_crawler(Name=lake["crawler"])

    assert _wait_for_crawl(glue, lake["crawler"])["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=lake["database"], Name="orders_raw")["Table"]
    descriptor = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        ("orderid", "string"),
        ("quantity", "int"),
        ("price", "double"),
        ("is_deleted", "boolean"),
        ("cdc_event_type", "string"),
        ("creation_datetime", "string"),
    ]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["classification"] == "json"
    assert descriptor["Location"] == f"s3://{bucket}/raw/orders_raw/"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="orders_raw")
    assert sorted(
        (p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions["Partitions"]
    ) == [
        (["2024-01-01"], f"s3://{bucket}/raw/orders_raw/dt=2024-01-01/"),
        (["2024-01-02"], f"s3://{bucket}/raw/orders_raw/dt=2024-01-02/"),
    ]
    metrics = glue.get_crawler_metrics(CrawlerNameList=[lake["crawler"]])["CrawlerMetricsList"]
    assert (metrics[0]["TablesCreated"], metrics[0]["TablesUpdated"]) == (1, 0)


def test_recrawl_keeps_columns_adds_new_ones_and_new_partitions(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    _put_lines(s3, bucket, "raw/orders_raw/dt=2024-01-01/a", [_record(1, "2024-01-01")])
    glue.start_crawler(Name=lake["crawler"])
    _wait_for_crawl(glue, lake["crawler"])
    _put_lines(
        s3, bucket, "raw/orders_raw/dt=2024-01-02/b", [_record(2, "2024-01-02", coupon="X1")]
    )

    glue.start_crawler(Name=lake["crawler"])

    assert _wait_for_crawl(glue, lake["crawler"])["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=lake["database"], Name="orders_raw")["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names[0] == "orderid" and names[-1] == "coupon"
    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="orders_raw")
    assert sorted(p["Values"][0] for p in partitions["Partitions"]) == ["2024-01-01", "2024-01-02"]
    metrics = glue.get_crawler_metrics(CrawlerNameList=[lake["crawler"]])["CrawlerMetricsList"]
    assert (metrics[0]["TablesCreated"], metrics[0]["TablesUpdated"]) == (0, 1)


def test_crawl_skips_empty_objects_and_sibling_prefixes(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    _put_lines(s3, bucket, "raw/orders_raw/dt=2024-01-01/a", [_record(1, "2024-01-01")])
    s3.put_object(Bucket=bucket, Key="raw/orders_raw/dt=2024-01-03/empty", Body=b"")
    _put_lines(s3, bucket, "raw/orders_raw_old/x", [{"other": 1}])
    glue.start_crawler(Name=lake["crawler"])

    assert _wait_for_crawl(glue, lake["crawler"])["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=lake["database"], Name="orders_raw")["Table"]
    assert "other" not in [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="orders_raw")
    assert [p["Values"] for p in partitions["Partitions"]] == [["2024-01-01"]]


def test_crawl_of_malformed_json_fails_with_the_reason(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    s3.put_object(Bucket=bucket, Key="raw/orders_raw/dt=2024-01-01/bad", Body=b'{"orderid": \n')
    glue.start_crawler(Name=lake["crawler"])

    last = _wait_for_crawl(glue, lake["crawler"])

    assert last["Status"] == "FAILED"
    assert f"s3://{bucket}/raw/orders_raw/dt=2024-01-01/bad line 1" in last["ErrorMessage"]


def test_start_while_running_raises_crawler_running(lake, monkeypatch):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    _put_lines(s3, bucket, "raw/orders_raw/dt=2024-01-01/a", [_record(1, "2024-01-01")])
    release = threading.Event()

    class HeldStore(glue_hooks.MotoObjectStore):
        def read_object(self, bucket: str, key: str) -> bytes:
            release.wait(CRAWL_DEADLINE_S)  # the crawl stays RUNNING until the test lets it go
            return super().read_object(bucket, key)

    monkeypatch.setattr(glue_hooks, "MotoObjectStore", HeldStore)
    glue.start_crawler(Name=lake["crawler"])
    try:
        assert glue.get_crawler(Name=lake["crawler"])["Crawler"]["State"] == "RUNNING"
        with pytest.raises(ClientError) as raised:
            glue.start_crawler(Name=lake["crawler"])
        assert raised.value.response["Error"]["Code"] == "CrawlerRunningException"
    finally:
        release.set()
    assert _wait_for_crawl(glue, lake["crawler"])["Status"] == "SUCCEEDED"


def test_classifier_can_be_created_read_updated_and_deleted(aws_client):
    glue = aws_client("glue")
    name = f"json-{uuid.uuid4().hex[:8]}"
    glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$"})
    glue.update_classifier(JsonClassifier={"Name": name, "JsonPath": "$[*]"})

    found = glue.get_classifier(Name=name)["Classifier"]["JsonClassifier"]
    listed = [c["JsonClassifier"]["Name"] for c in glue.get_classifiers()["Classifiers"]]
    glue.delete_classifier(Name=name)

    assert (found["JsonPath"], found["Version"]) == ("$[*]", 2)
    assert name in listed
    with pytest.raises(ClientError) as raised:
        glue.get_classifier(Name=name)
    assert raised.value.response["Error"]["Code"] == "EntityNotFoundException"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("create_twice", "AlreadyExistsException"),
        ("delete_missing", "EntityNotFoundException"),
        ("update_missing", "EntityNotFoundException"),
    ],
)
def test_classifier_errors_match_aws(aws_client, call, code):
    glue = aws_client("glue")
    name = f"json-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as raised:
        if call == "create_twice":
            glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$"})
            glue.create_classifier(JsonClassifier={"Name": name, "JsonPath": "$"})
        elif call == "delete_missing":
            glue.delete_classifier(Name=name)
        else:
            glue.update_classifier(JsonClassifier={"Name": name, "JsonPath": "$"})
    assert raised.value.response["Error"]["Code"] == code


def test_crawl_of_parquet_objects_registers_a_parquet_table(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    table = pa.table(
        {
            "orderid": ["a", "b"],
            "amount": pa.array([Decimal("1.50"), Decimal("2.25")], pa.decimal128(12, 2)),
            "items": pa.array([1, 2], pa.int64()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(
        Bucket=bucket, Key="raw/orders_raw/dt=2024-01-01/part.parquet", Body=sink.getvalue()
    )
    glue.start_crawler(Name=lake["crawler"])

    assert _wait_for_crawl(glue, lake["crawler"])["Status"] == "SUCCEEDED"
    found = glue.get_table(DatabaseName=lake["database"], Name="orders_raw")["Table"]
    assert found["Parameters"]["classification"] == "parquet"
    assert [(c["Name"], c["Type"]) for c in found["StorageDescriptor"]["Columns"]] == [
        ("orderid", "string"),
        ("amount", "decimal(12,2)"),
        ("items", "bigint"),
    ]
