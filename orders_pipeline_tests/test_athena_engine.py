"""Athena on the local stack through boto3: states, failures, results files, pages, bytes scanned,
CTAS / INSERT INTO / views / partitions DDL against the Glue catalog."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.athena import patches as athena_hooks
from orders_pipeline_tests.crawled import crawl_raw
from orders_pipeline_tests.prerequisites import aws_cli

QUERY_DEADLINE_S = 60
DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")


def _lines(day: str, count: int) -> bytes:
    return "\n".join(
        json.dumps({"orderid": f"{day}-{i}", "quantity": i, "price": 2.5, "status": "NEW"})
        for i in range(count)
    ).encode()


def _wait(athena, query_id: str, done=("SUCCEEDED", "FAILED", "CANCELLED")) -> dict:
    deadline = time.monotonic() + QUERY_DEADLINE_S
    while time.monotonic() < deadline:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] in done:
            return execution
        time.sleep(0.05)
    raise AssertionError(f"query {query_id} not in {done} after {QUERY_DEADLINE_S}s")


@pytest.fixture(scope="module")
def lake(aws_client):
    """A bucket with 3 days of orders (10, 20, 30 lines) crawled into <db>.orders_raw, and an
    Athena workgroup whose results go to s3://<bucket>/athena-results/."""
    s3, glue, athena = aws_client("s3"), aws_client("glue"), aws_client("athena")
    suffix = uuid.uuid4().hex[:8]
    bucket, database, workgroup = f"athena-{suffix}", f"db_{suffix}", f"wg-{suffix}"
    s3.create_bucket(Bucket=bucket)
    sizes = {}
    for count, day in enumerate(DAYS, start=1):
        body = _lines(day, 10 * count)
        sizes[day] = len(body)
        s3.put_object(Bucket=bucket, Key=f"raw/orders_raw/dt={day}/part-0", Body=body)
    crawl_raw(
        glue,
        bucket=bucket,
        database=database,
        crawler=f"crawler-{suffix}",
        timeout=QUERY_DEADLINE_S,
    )
    athena.create_work_group(
        Name=workgroup,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )

    def run(sql: str, **request) -> dict:
        query_id = athena.start_query_execution(
            QueryString=sql,
            WorkGroup=workgroup,
            QueryExecutionContext={"Database": database},
            **request,
        )["QueryExecutionId"]
        return _wait(athena, query_id)

    return {
        "s3": s3,
        "glue": glue,
        "athena": athena,
        "bucket": bucket,
        "database": database,
        "workgroup": workgroup,
        "sizes": sizes,
        "run": run,
    }


def _rows(athena, query_id: str) -> list[list[str | None]]:
    result = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["Rows"]]


def test_query_answers_from_the_crawled_data(lake):
    execution = lake["run"]("SELECT dt, count(*) AS n FROM orders_raw GROUP BY dt ORDER BY dt")

    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML"
    assert _rows(lake["athena"], execution["QueryExecutionId"]) == [
        ["dt", "n"],
        ["2024-01-01", "10"],
        ["2024-01-02", "20"],
        ["2024-01-03", "30"],
    ]


def test_query_is_queued_then_running_then_succeeded(lake, monkeypatch):
    slot = threading.BoundedSemaphore(1)
    reading = threading.Event()
    release = threading.Event()

    class HeldStore(athena_hooks.MotoObjectStore):
        def read_object(self, bucket: str, key: str) -> bytes:
            reading.set()
            release.wait(QUERY_DEADLINE_S)  # the query stays RUNNING until the test lets go
            return super().read_object(bucket, key)

    monkeypatch.setattr(athena_hooks, "_slots", slot)
    monkeypatch.setattr(athena_hooks, "MotoObjectStore", HeldStore)
    athena = lake["athena"]
    slot.acquire()  # every engine slot busy: the query must wait in QUEUED
    try:
        query_id = athena.start_query_execution(
            QueryString="SELECT count(*) FROM orders_raw",
            WorkGroup=lake["workgroup"],
            QueryExecutionContext={"Database": lake["database"]},
        )["QueryExecutionId"]
        queued = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        slot.release()
        assert reading.wait(QUERY_DEADLINE_S)
        running = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    finally:
        release.set()
    assert queued["Status"]["State"] == "QUEUED"
    assert running["Status"]["State"] == "RUNNING"
    assert _wait(athena, query_id)["Status"]["State"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELEC 1", "SYNTAX_ERROR"),
        ("SELECT * FROM no_such_table", "TABLE_NOT_FOUND"),
        ("SELECT no_such_column FROM orders_raw", "no_such_column"),
        ("SELECT * FROM no_such_db.orders_raw", "SCHEMA_NOT_FOUND"),
        ("SELECT CAST('x' AS integer)", "Could not convert"),
    ],
)
def test_invalid_queries_fail_with_the_engine_reason(lake, sql, reason):
    execution = lake["run"](sql)

    assert execution["Status"]["State"] == "FAILED"
    assert reason in execution["Status"]["StateChangeReason"]
    with pytest.raises(ClientError) as raised:
        lake["athena"].get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_results_csv_and_metadata_land_in_the_enforced_workgroup_location(lake):
    s3, bucket = lake["s3"], lake["bucket"]
    execution = lake["run"](
        "SELECT 'a\"b' AS text, CAST(NULL AS varchar) AS missing, 1.50 AS amount",
        ResultConfiguration={"OutputLocation": f"s3://{bucket}/ignored/"},
    )

    key = f"athena-results/{execution['QueryExecutionId']}.csv"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/{key}"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b'"text","missing","amount"\n"a""b",,"1.50"\n'
    s3.head_object(Bucket=bucket, Key=key + ".metadata")


def test_column_info_carries_athena_types(lake):
    execution = lake["run"](
        "SELECT CAST(1 AS integer) AS i, count(*) AS n, CAST(2.5 AS decimal(12,2)) AS d, "
        "true AS b, DATE '2024-01-01' AS day, 1.5e0 AS x"
    )
    result = lake["athena"].get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    info = result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [
        ("i", "integer"),
        ("n", "bigint"),
        ("d", "decimal"),
        ("b", "boolean"),
        ("day", "date"),
        ("x", "double"),
    ]
    assert (info[2]["Precision"], info[2]["Scale"]) == (12, 2)


def test_results_are_paginated_with_the_header_only_on_the_first_page(lake):
    athena = lake["athena"]
    execution = lake["run"]("SELECT n FROM UNNEST(sequence(1, 2500)) AS t(n) ORDER BY n")
    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = athena.get_query_results(
            QueryExecutionId=execution["QueryExecutionId"], MaxResults=1000, **kwargs
        )
        pages.append([r["Data"][0]["VarCharValue"] for r in page["ResultSet"]["Rows"]])
        token = page.get("NextToken")
        if not token:
            break

    assert [len(p) for p in pages] == [1000, 1000, 501]
    assert pages[0][0] == "n"
    assert [int(v) for p in pages for v in p if v != "n"] == list(range(1, 2501))


def test_bytes_scanned_are_the_bytes_read_and_partition_filters_prune(lake):
    sizes = lake["sizes"]
    full = lake["run"]("SELECT count(*) FROM orders_raw")
    pruned = lake["run"]("SELECT count(*) FROM orders_raw WHERE dt = '2024-01-02'")

    assert full["Statistics"]["DataScannedInBytes"] == sum(sizes.values())
    assert pruned["Statistics"]["DataScannedInBytes"] == sizes["2024-01-02"]
    assert _rows(lake["athena"], pruned["QueryExecutionId"])[1] == ["20"]


def test_ctas_writes_partitioned_parquet_and_registers_table_and_partitions(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    location = f"s3://{bucket}/analytics/daily_ctas/"
    execution = lake["run"](
        f"CREATE TABLE daily_ctas WITH (format='PARQUET', external_location='{location}', "
        "partitioned_by=ARRAY['dt']) AS "
        "SELECT orderid, CAST(price AS decimal(12,2)) AS price, dt FROM orders_raw"
    )

    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["StatementType"] == "DDL"
    result = lake["athena"].get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert result["UpdateCount"] == 60
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="analytics/daily_ctas/")["Contents"]
    ]
    assert sorted({k.split("/")[2] for k in keys}) == [f"dt={d}" for d in DAYS]
    assert all(s3.get_object(Bucket=bucket, Key=k)["Body"].read(4) == b"PAR1" for k in keys)
    table = glue.get_table(DatabaseName=lake["database"], Name="daily_ctas")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("orderid", "string"),
        ("price", "decimal(12,2)"),
    ]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="daily_ctas")
    assert sorted(p["Values"][0] for p in partitions["Partitions"]) == list(DAYS)
    total = lake["run"]("SELECT sum(price) AS total, count(*) AS n FROM daily_ctas")
    assert _rows(lake["athena"], total["QueryExecutionId"])[1] == ["150.00", "60"]


def test_ctas_with_no_data_creates_the_columns_and_no_rows(lake):
    s3, glue, bucket = lake["s3"], lake["glue"], lake["bucket"]
    location = f"s3://{bucket}/analytics/no_data/"
    execution = lake["run"](
        f"CREATE TABLE no_data WITH (format='PARQUET', external_location='{location}', "
        "partitioned_by=ARRAY['dt']) AS SELECT orderid, quantity, dt FROM orders_raw WITH NO DATA"
    )

    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    table = glue.get_table(DatabaseName=lake["database"], Name="no_data")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["orderid", "quantity"]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="analytics/no_data/")["KeyCount"] == 0
    counted = lake["run"]("SELECT count(*) AS n FROM no_data")
    assert _rows(lake["athena"], counted["QueryExecutionId"]) == [["n"], ["0"]]
    lake["run"](
        "INSERT INTO no_data SELECT orderid, quantity, dt FROM orders_raw WHERE dt = '2024-01-01'"
    )
    counted = lake["run"]("SELECT count(*) AS n FROM no_data")
    assert _rows(lake["athena"], counted["QueryExecutionId"]) == [["n"], ["10"]]


def test_ctas_into_a_non_empty_location_fails(lake):
    lake["s3"].put_object(Bucket=lake["bucket"], Key="analytics/occupied/x", Body=b"1")
    execution = lake["run"](
        f"CREATE TABLE occupied WITH (external_location='s3://{lake['bucket']}/analytics/occupied/')"
        " AS SELECT 1 AS a"
    )
    assert execution["Status"]["State"] == "FAILED"
    assert "HIVE_PATH_ALREADY_EXISTS" in execution["Status"]["StateChangeReason"]


def test_insert_into_appends_rows_and_new_partitions(lake):
    location = f"s3://{lake['bucket']}/analytics/daily_insert/"
    lake["run"](
        f"CREATE TABLE daily_insert WITH (external_location='{location}', "
        "partitioned_by=ARRAY['dt']) AS SELECT orderid, quantity, dt FROM orders_raw "
        "WHERE dt = '2024-01-01'"
    )
    execution = lake["run"](
        "INSERT INTO daily_insert "
        "SELECT orderid, quantity, dt FROM orders_raw WHERE dt <> '2024-01-01'"
    )

    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    counted = lake["run"]("SELECT dt, count(*) FROM daily_insert GROUP BY dt ORDER BY dt")
    assert _rows(lake["athena"], counted["QueryExecutionId"])[1:] == [
        ["2024-01-01", "10"],
        ["2024-01-02", "20"],
        ["2024-01-03", "30"],
    ]
    partitions = lake["glue"].get_partitions(
        DatabaseName=lake["database"], TableName="daily_insert"
    )
    assert len(partitions["Partitions"]) == 3


def test_drop_table_removes_the_catalog_entry_but_keeps_the_data(lake):
    location = f"s3://{lake['bucket']}/analytics/to_drop/"
    lake["run"](f"CREATE TABLE to_drop WITH (external_location='{location}') AS SELECT 1 AS a")

    assert lake["run"]("DROP TABLE to_drop")["Status"]["State"] == "SUCCEEDED"
    with pytest.raises(ClientError):
        lake["glue"].get_table(DatabaseName=lake["database"], Name="to_drop")
    listed = lake["s3"].list_objects_v2(Bucket=lake["bucket"], Prefix="analytics/to_drop/")
    assert listed["KeyCount"] == 1
    assert lake["run"]("DROP TABLE IF EXISTS to_drop")["Status"]["State"] == "SUCCEEDED"
    assert lake["run"]("DROP TABLE to_drop")["Status"]["State"] == "FAILED"


def test_views_are_stored_in_glue_and_expanded_on_read(lake):
    created = lake["run"](
        "CREATE OR REPLACE VIEW big_days AS "
        "SELECT dt, count(*) FROM orders_raw GROUP BY dt HAVING count(*) > 10"
    )
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]

    view = lake["glue"].get_table(DatabaseName=lake["database"], Name="big_days")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    assert view["ViewOriginalText"].startswith("/* Presto View: ")
    read = lake["run"]("SELECT * FROM big_days ORDER BY dt")
    assert _rows(lake["athena"], read["QueryExecutionId"]) == [
        ["dt", "_col1"],
        ["2024-01-02", "20"],
        ["2024-01-03", "30"],
    ]
    again = lake["run"]("CREATE VIEW big_days AS SELECT 1 AS a")
    assert again["Status"]["State"] == "FAILED"


def test_partition_ddl_decides_which_data_is_visible(lake):
    s3, bucket, run = lake["s3"], lake["bucket"], lake["run"]
    location = f"s3://{bucket}/raw/orders_raw/"
    run(
        f"CREATE TABLE late WITH (format='JSON', external_location='s3://{bucket}/late/', "
        "partitioned_by=ARRAY['dt']) AS SELECT orderid, dt FROM orders_raw WHERE dt = '2024-01-01'"
    )
    s3.put_object(Bucket=bucket, Key="late/dt=2024-02-01/x", Body=b'{"orderid": "late-1"}\n')
    count = "SELECT count(*) FROM late"

    before = run(count)
    run("MSCK REPAIR TABLE late")
    repaired = run(count)
    run("ALTER TABLE late DROP PARTITION (dt='2024-01-01')")
    dropped = run(count)
    run(
        "ALTER TABLE late ADD IF NOT EXISTS PARTITION (dt='2024-01-01') "
        f"LOCATION '{location}dt=2024-01-01/'"
    )
    added = run(count)

    counts = [
        _rows(lake["athena"], e["QueryExecutionId"])[1][0]
        for e in (before, repaired, dropped, added)
    ]
    assert counts == ["10", "11", "1", "11"]


def test_aws_cli_runs_a_query_and_follows_result_pages(lake):
    aws = aws_cli()

    def cli(*args: str) -> dict:
        done = subprocess.run(
            [aws, "athena", *args, "--output", "json"],
            capture_output=True, text=True, timeout=QUERY_DEADLINE_S, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    started = cli(
        "start-query-execution",
        "--query-string", "SELECT n FROM UNNEST(sequence(1, 1500)) AS t(n) ORDER BY n",
        "--work-group", lake["workgroup"],
    )  # fmt: skip
    assert _wait(lake["athena"], started["QueryExecutionId"])["Status"]["State"] == "SUCCEEDED"
    # The CLI's paginator walks NextToken itself and merges the pages.
    results = cli("get-query-results", "--query-execution-id", started["QueryExecutionId"])
    values = [r["Data"][0]["VarCharValue"] for r in results["ResultSet"]["Rows"]]
    assert values == ["n", *map(str, range(1, 1501))]
