"""Athena statements and API calls clients rely on, through boto3 on the local stack: DESCRIBE,
SHOW ..., EXPLAIN, UNLOAD, manifests, hidden columns, quoting, prepared statements, execution
parameters, ListQueryExecutions / BatchGetQueryExecution / StopQueryExecution, result LRU."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.athena import patches as athena_hooks
from orders_pipeline_tests.test_athena_engine import QUERY_DEADLINE_S, _lines, _rows, _wait, lake

__all__ = ["lake"]


def _ok(lake, sql: str, **request) -> dict:
    execution = lake["run"](sql, **request)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    return execution


def _failed(lake, sql: str, **request) -> str:
    execution = lake["run"](sql, **request)
    assert execution["Status"]["State"] == "FAILED", execution["Status"]
    return execution["Status"]["StateChangeReason"]


def _body(lake, url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    return lake["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()


def test_describe_lists_columns_then_the_partition_section(lake):
    execution = _ok(lake, "DESCRIBE orders_raw")
    assert execution["StatementType"] == "DDL"
    rows = _rows(lake["athena"], execution["QueryExecutionId"])
    names = [r[0].strip() for r in rows]
    assert names[:4] == ["orderid", "quantity", "price", "status"]
    assert "# Partition Information" in names and names[-1] == "dt"
    text = _body(lake, execution["ResultConfiguration"]["OutputLocation"]).decode()
    assert text.splitlines()[0].split("\t")[0].strip() == "orderid"


def test_show_statements_answer_from_the_catalog(lake):
    create = _rows(lake["athena"], _ok(lake, "SHOW CREATE TABLE orders_raw")["QueryExecutionId"])
    lines = [r[0] for r in create]
    assert lines[0] == f"CREATE EXTERNAL TABLE `{lake['database']}`.`orders_raw`("
    assert f"  's3://{lake['bucket']}/raw/orders_raw/'" in lines
    partitions = _rows(lake["athena"], _ok(lake, "SHOW PARTITIONS orders_raw")["QueryExecutionId"])
    assert partitions == [["dt=2024-01-01"], ["dt=2024-01-02"], ["dt=2024-01-03"]]
    columns = _rows(lake["athena"], _ok(lake, "SHOW COLUMNS IN orders_raw")["QueryExecutionId"])
    assert [c[0] for c in columns] == ["orderid", "quantity", "price", "status", "dt"]
    databases = _ok(lake, f"SHOW DATABASES LIKE '{lake['database'][:6]}*'")
    assert [lake["database"]] in _rows(lake["athena"], databases["QueryExecutionId"])


def test_explain_validates_and_shows_a_plan(lake):
    valid = _ok(lake, "EXPLAIN (TYPE VALIDATE) SELECT count(*) FROM orders_raw")
    assert _rows(lake["athena"], valid["QueryExecutionId"]) == [["Valid"], ["true"]]
    plan = _rows(lake["athena"], _ok(lake, "EXPLAIN SELECT 1")["QueryExecutionId"])
    assert plan[0] == ["Query Plan"] and plan[1][0]
    assert _failed(lake, "EXPLAIN SELECT nope(1)").startswith("FUNCTION_NOT_FOUND")


def test_unload_writes_parquet_and_a_manifest_of_its_files(lake):
    target = f"s3://{lake['bucket']}/unload/orders/"
    sql = (
        "UNLOAD (SELECT orderid, quantity, dt FROM orders_raw WHERE dt = '2024-01-01') "
        f"TO '{target}' WITH (format = 'PARQUET', compression = 'SNAPPY')"
    )
    execution = _ok(lake, sql)
    manifest = execution["Statistics"]["DataManifestLocation"]
    files = _body(lake, manifest).decode().split()
    assert files and all(f.startswith(target) and f.endswith(".parquet") for f in files)
    assert _body(lake, files[0])[:4] == b"PAR1"
    assert _failed(lake, sql).startswith("HIVE_PATH_ALREADY_EXISTS")


def test_ctas_and_insert_list_their_files_and_bucketing_is_registered(lake):
    location = f"s3://{lake['bucket']}/tables/bucketed/"
    ctas = _ok(
        lake,
        "CREATE TABLE bucketed WITH (format = 'PARQUET', external_location = "
        f"'{location}', bucketed_by = ARRAY['orderid'], bucket_count = 4) AS "
        "SELECT orderid, quantity FROM orders_raw",
    )
    written = _body(lake, ctas["Statistics"]["DataManifestLocation"]).decode().split()
    assert written and all(w.startswith(location) for w in written)
    table = lake["glue"].get_table(DatabaseName=lake["database"], Name="bucketed")["Table"]
    assert table["StorageDescriptor"]["BucketColumns"] == ["orderid"]
    assert table["StorageDescriptor"]["NumberOfBuckets"] == 4
    insert = _ok(lake, "INSERT INTO bucketed SELECT 'x', 1")
    added = _body(lake, insert["Statistics"]["DataManifestLocation"]).decode().split()
    assert len(added) == 1 and added[0] not in written
    reason = _failed(
        lake,
        "CREATE TABLE nobuckets WITH (bucketed_by = ARRAY['orderid']) AS SELECT 'a' AS orderid",
    )
    assert reason.startswith("INVALID_TABLE_PROPERTY")


def test_hidden_columns_name_each_row_file(lake):
    execution = _ok(
        lake,
        'SELECT DISTINCT "$path", "$file_size", typeof("$file_modified_time") FROM orders_raw '
        "WHERE dt = '2024-01-02'",
    )
    rows = _rows(lake["athena"], execution["QueryExecutionId"])[1:]
    assert rows == [
        [
            f"s3://{lake['bucket']}/raw/orders_raw/dt=2024-01-02/part-0",
            str(lake["sizes"]["2024-01-02"]),
            "timestamp(3) with time zone",
        ]
    ]
    star = _rows(lake["athena"], _ok(lake, "SELECT * FROM orders_raw LIMIT 1")["QueryExecutionId"])
    assert "$path" not in star[0]


def test_backticks_quote_names_in_ddl_and_are_refused_in_queries(lake):
    database = lake["database"]
    assert _ok(lake, f"MSCK REPAIR TABLE `{database}`.`orders_raw`")
    assert _ok(lake, f'SELECT count(*) FROM "{database}"."orders_raw"')
    reason = _failed(lake, "SELECT `orderid` FROM orders_raw")
    assert reason.startswith("SYNTAX_ERROR") and "backquoted" in reason


def test_context_database_may_be_backquoted(lake):
    # awswrangler passes QueryExecutionContext.Database as `db`.
    execution = lake["athena"].start_query_execution(
        QueryString="SELECT count(*) FROM orders_raw",
        WorkGroup=lake["workgroup"],
        QueryExecutionContext={"Database": f"`{lake['database']}`"},
    )["QueryExecutionId"]
    assert _wait(lake["athena"], execution)["Status"]["State"] == "SUCCEEDED"


def test_prepared_statements_in_sql_and_through_the_api(lake):
    athena, workgroup = lake["athena"], lake["workgroup"]
    _ok(lake, "PREPARE by_day FROM SELECT count(*) FROM orders_raw WHERE dt = ? AND quantity > ?")
    executed = _ok(lake, "EXECUTE by_day USING '2024-01-02', 10")
    assert _rows(athena, executed["QueryExecutionId"]) == [["_col0"], ["9"]]
    stored = athena.get_prepared_statement(StatementName="by_day", WorkGroup=workgroup)
    assert "WHERE dt = ?" in stored["PreparedStatement"]["QueryStatement"]
    _ok(lake, "DEALLOCATE PREPARE by_day")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        athena.get_prepared_statement(StatementName="by_day", WorkGroup=workgroup)
    assert _failed(lake, "EXECUTE by_day USING '2024-01-02', 10").startswith("NOT_FOUND")

    athena.create_prepared_statement(
        StatementName="api", WorkGroup=workgroup, QueryStatement="SELECT ? + 1"
    )
    with pytest.raises(ClientError, match="already exists"):
        athena.create_prepared_statement(
            StatementName="api", WorkGroup=workgroup, QueryStatement="SELECT 2"
        )
    athena.update_prepared_statement(
        StatementName="api", WorkGroup=workgroup, QueryStatement="SELECT ? * 10"
    )
    listed = athena.list_prepared_statements(WorkGroup=workgroup)["PreparedStatements"]
    assert [s["StatementName"] for s in listed] == ["api"]
    executed = _ok(lake, "EXECUTE api USING 4")
    assert _rows(athena, executed["QueryExecutionId"])[1] == ["40"]
    athena.delete_prepared_statement(StatementName="api", WorkGroup=workgroup)
    assert athena.list_prepared_statements(WorkGroup=workgroup)["PreparedStatements"] == []


def test_execution_parameters_fill_the_placeholders(lake):
    execution = _ok(
        lake,
        "SELECT count(*) FROM orders_raw WHERE dt = ? AND status = ?",
        ExecutionParameters=["'2024-01-03'", "'NEW'"],
    )
    assert execution["ExecutionParameters"] == ["'2024-01-03'", "'NEW'"]
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1] == ["30"]
    reason = _failed(lake, "SELECT ?, ?", ExecutionParameters=["1"])
    assert reason.startswith("INVALID_PARAMETER_USAGE")
    assert _failed(lake, "SELECT ?").startswith("INVALID_PARAMETER_USAGE")


def test_list_and_batch_get_query_executions(lake):
    athena, workgroup = lake["athena"], lake["workgroup"]
    ids = [_ok(lake, f"SELECT {n}")["QueryExecutionId"] for n in range(3)]
    listed = athena.list_query_executions(WorkGroup=workgroup, MaxResults=2)
    assert listed["QueryExecutionIds"] == ids[::-1][:2] and "NextToken" in listed
    following = athena.list_query_executions(WorkGroup=workgroup, NextToken=listed["NextToken"])
    assert following["QueryExecutionIds"][0] == ids[0]
    assert ids[0] not in athena.list_query_executions()["QueryExecutionIds"]  # primary's only
    batch = athena.batch_get_query_execution(QueryExecutionIds=[ids[1], "no-such-id"])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [ids[1]]
    assert batch["QueryExecutions"][0]["Status"]["State"] == "SUCCEEDED"
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "no-such-id"


def test_stop_query_execution_cancels_a_running_query(lake, monkeypatch):
    reading, release = threading.Event(), threading.Event()

    class HeldStore(athena_hooks.MotoObjectStore):
        def read_object(self, bucket: str, key: str) -> bytes:
            reading.set()
            release.wait(QUERY_DEADLINE_S)
            return super().read_object(bucket, key)

    monkeypatch.setattr(athena_hooks, "MotoObjectStore", HeldStore)
    athena = lake["athena"]
    query_id = athena.start_query_execution(
        QueryString="SELECT count(*) FROM orders_raw",
        WorkGroup=lake["workgroup"],
        QueryExecutionContext={"Database": lake["database"]},
    )["QueryExecutionId"]
    assert reading.wait(QUERY_DEADLINE_S)
    athena.stop_query_execution(QueryExecutionId=query_id)
    release.set()
    execution = _wait(athena, query_id)
    assert execution["Status"]["State"] == "CANCELLED"
    with pytest.raises(ClientError, match="cancelled"):
        athena.get_query_results(QueryExecutionId=query_id)


def test_older_results_are_read_back_from_their_files(lake, aws_client):
    athena = lake["athena"]
    first = _ok(lake, "SELECT NULL AS n, '' AS e, 'a\"b' AS q, DECIMAL '1.50' AS d")
    expected = athena.get_query_results(QueryExecutionId=first["QueryExecutionId"])
    for n in range(athena_hooks.history.MAX_CACHED_RESULTS + 1):
        _ok(lake, f"SELECT {n}")
    again = athena.get_query_results(QueryExecutionId=first["QueryExecutionId"])
    assert again["ResultSet"] == expected["ResultSet"]
    assert again["ResultSet"]["Rows"][1]["Data"][:2] == [{}, {"VarCharValue": ""}]


def test_partition_pruning_evaluates_the_where_with_trinos_semantics(lake):
    # substr(x, 0) is '' in Trino (DuckDB's own substring would keep x and prune every day).
    execution = _ok(lake, "SELECT count(*) FROM orders_raw WHERE substr(dt, 0) = ''")
    assert _rows(lake["athena"], execution["QueryExecutionId"]) == [["_col0"], ["60"]]
    pruned = _ok(lake, "SELECT count(*) FROM orders_raw WHERE split_part(dt, '-', 3) = '02'")
    assert _rows(lake["athena"], pruned["QueryExecutionId"])[1] == ["20"]
    assert pruned["Statistics"]["DataScannedInBytes"] == lake["sizes"]["2024-01-02"]


def test_nested_json_fields_keep_the_spelling_of_the_data(lake):
    from orders_pipeline.local_stack.glue.tables import table_input

    location = f"s3://{lake['bucket']}/nested/sites/"
    lake["s3"].put_object(
        Bucket=lake["bucket"],
        Key="nested/sites/part-0",
        Body=b'{"host": "a", "flags": {"isNew": true, "Score": 7}}\n',
    )
    columns = [
        {"Name": "host", "Type": "string"},
        {"Name": "flags", "Type": "struct<isNew:boolean,Score:int>"},
    ]
    lake["glue"].create_table(
        DatabaseName=lake["database"],
        TableInput=table_input("sites", "json", columns, [], location),
    )
    execution = _ok(lake, "SELECT host, flags.isnew, flags.score, flags FROM sites")
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1] == [
        "a", "true", "7", "{isNew=true, Score=7}"
    ]  # fmt: skip


def test_insert_with_a_column_list_leaves_the_others_null(lake):
    _ok(
        lake, "CREATE TABLE listed WITH (format = 'PARQUET') AS SELECT 'a' AS k, 1 AS n, 2.5e0 AS x"
    )
    _ok(lake, "INSERT INTO listed (x, k) VALUES (7.5e0, 'b')")
    execution = _ok(lake, "SELECT k, n, x FROM listed ORDER BY k")
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1:] == [
        ["a", "1", "2.5"],
        ["b", None, "7.5"],
    ]
    assert _failed(lake, "INSERT INTO listed (nope) VALUES (1)").startswith("COLUMN_NOT_FOUND")


@pytest.fixture(scope="module")
def two_files(lake) -> dict[str, str]:
    """An unpartitioned copy of orders_raw's layout over a folder of two files: URL -> body."""
    raw = lake["glue"].get_table(DatabaseName=lake["database"], Name="orders_raw")["Table"]
    location = f"s3://{lake['bucket']}/paths/two_files/"
    bodies = {f"{location}part-{n}": _lines(f"file{n}", 5 * (n + 1)) for n in range(2)}
    for url, body in bodies.items():
        lake["s3"].put_object(Bucket=lake["bucket"], Key=url.split("/", 3)[3], Body=body)
    lake["glue"].create_table(
        DatabaseName=lake["database"],
        TableInput={
            "Name": "two_files",
            "StorageDescriptor": {**raw["StorageDescriptor"], "Location": location},
            "TableType": "EXTERNAL_TABLE",
            "Parameters": raw.get("Parameters", {}),
        },
    )
    return {url: body.decode() for url, body in bodies.items()}


def test_a_path_filter_reads_only_the_files_it_names(lake, two_files):
    second = sorted(two_files)[1]
    execution = _ok(lake, f"SELECT count(*) FROM two_files WHERE \"$path\" IN ('{second}')")
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1] == ["10"]
    assert execution["Statistics"]["DataScannedInBytes"] == len(two_files[second])


def test_without_a_path_filter_every_file_is_read(lake, two_files):
    execution = _ok(lake, "SELECT count(*) FROM two_files WHERE quantity >= 0")
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1] == ["15"]
    assert execution["Statistics"]["DataScannedInBytes"] == sum(map(len, two_files.values()))


def test_a_path_named_only_under_or_still_filters_every_row(lake, two_files):
    first, second = sorted(two_files)
    execution = _ok(
        lake, f"SELECT count(*) FROM two_files WHERE \"$path\" = '{first}' OR quantity > 100"
    )
    assert _rows(lake["athena"], execution["QueryExecutionId"])[1] == ["5"]


def test_insert_into_an_existing_partition_appends_where_the_catalog_puts_it(lake):
    location = f"s3://{lake['bucket']}/tables/appended/"
    elsewhere = f"s3://{lake['bucket']}/tables/moved/dt=2030-01-01/"
    _ok(
        lake,
        f"CREATE TABLE appended WITH (format = 'PARQUET', external_location = '{location}', "
        "partitioned_by = ARRAY['dt']) AS SELECT orderid, dt FROM orders_raw",
    )
    _ok(lake, f"ALTER TABLE appended ADD PARTITION (dt = '2030-01-01') LOCATION '{elsewhere}'")
    insert = _ok(lake, "INSERT INTO appended SELECT 'late', '2030-01-01'")
    written = _body(lake, insert["Statistics"]["DataManifestLocation"]).decode().split()
    assert len(written) == 1 and written[0].startswith(elsewhere)
    found = _ok(lake, "SELECT orderid FROM appended WHERE dt = '2030-01-01'")
    assert _rows(lake["athena"], found["QueryExecutionId"])[1:] == [["late"]]
