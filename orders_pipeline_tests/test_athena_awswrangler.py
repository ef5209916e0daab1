"""awswrangler (aws-sdk-pandas), unmodified, against the local Athena through AWS_ENDPOINT_URL:
read_sql_query with its three approaches (CTAS and its manifest, the result CSV, UNLOAD), and
describe_table / show_create_table / repair_table."""

from __future__ import annotations

import uuid
from decimal import Decimal

import awswrangler as wr
import pandas as pd
import pytest

from orders_pipeline_tests.crawled import crawl_raw

CRAWL_DEADLINE_S = 60
QUERY = (
    "SELECT orderid, quantity, CAST(price AS DECIMAL(10,2)) AS price, dt FROM orders_raw "
    "ORDER BY orderid"
)


@pytest.fixture(scope="module")
def lake(aws_client, local_stack):
    """Two days of order lines crawled into <db>.orders_raw; a workgroup writing to the bucket."""
    s3, glue, athena = aws_client("s3"), aws_client("glue"), aws_client("athena")
    suffix = uuid.uuid4().hex[:8]
    bucket, database, workgroup = f"wrangler-{suffix}", f"db_{suffix}", f"wg-{suffix}"
    s3.create_bucket(Bucket=bucket)
    for day, orders in (("2024-05-01", 3), ("2024-05-02", 2)):
        lines = [
            f'{{"orderid": "{day}-{n}", "quantity": {n + 1}, "price": {n + 1}.25}}'
            for n in range(orders)
        ]
        s3.put_object(
            Bucket=bucket, Key=f"raw/orders_raw/dt={day}/part-0", Body="\n".join(lines) + "\n"
        )
    crawl_raw(
        glue,
        bucket=bucket,
        database=database,
        crawler=f"crawler-{suffix}",
        timeout=CRAWL_DEADLINE_S,
    )
    athena.create_work_group(
        Name=workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/results/"}},
    )
    return {"bucket": bucket, "database": database, "workgroup": workgroup, "s3": s3}


def _read(lake, **options) -> pd.DataFrame:
    return wr.athena.read_sql_query(
        QUERY, database=lake["database"], workgroup=lake["workgroup"], **options
    )


def _expected() -> list[tuple]:
    return [
        ("2024-05-01-0", 1, Decimal("1.25"), "2024-05-01"),
        ("2024-05-01-1", 2, Decimal("2.25"), "2024-05-01"),
        ("2024-05-01-2", 3, Decimal("3.25"), "2024-05-01"),
        ("2024-05-02-0", 1, Decimal("1.25"), "2024-05-02"),
        ("2024-05-02-1", 2, Decimal("2.25"), "2024-05-02"),
    ]


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    frame = frame.sort_values("orderid")
    return [(r.orderid, int(r.quantity), Decimal(str(r.price)), r.dt) for r in frame.itertuples()]


def test_read_sql_query_with_the_default_ctas_approach_returns_the_rows(lake):
    frame = _read(lake)
    assert _tuples(frame) == _expected()
    # The temporary table and its files are gone afterwards, as on AWS.
    names = wr.catalog.tables(database=lake["database"])["Table"].tolist()
    assert names == ["orders_raw"]


def test_read_sql_query_from_the_result_csv(lake):
    frame = _read(lake, ctas_approach=False)
    assert _tuples(frame) == _expected()
    assert str(frame["quantity"].dtype) == "Int32"


def test_read_sql_query_with_unload(lake):
    path = f"s3://{lake['bucket']}/unload/{uuid.uuid4().hex}/"
    frame = _read(lake, ctas_approach=False, unload_approach=True, s3_output=path)
    assert _tuples(frame) == _expected()


def test_read_sql_query_with_parameters(lake):
    frame = wr.athena.read_sql_query(
        "SELECT count(*) AS n FROM orders_raw WHERE dt = ?",
        database=lake["database"],
        workgroup=lake["workgroup"],
        ctas_approach=False,
        params=["'2024-05-02'"],
        paramstyle="qmark",
    )
    assert frame["n"].tolist() == [2]


def test_describe_show_create_and_repair_table(lake):
    described = wr.athena.describe_table(
        table="orders_raw", database=lake["database"], workgroup=lake["workgroup"]
    )
    assert described["Column Name"].tolist() == ["orderid", "quantity", "price", "dt"]
    assert described["Partition"].tolist() == [False, False, False, True]
    assert described["Type"].tolist()[-1] == "string"
    ddl = wr.athena.show_create_table(
        table="orders_raw", database=lake["database"], workgroup=lake["workgroup"]
    )
    assert ddl.startswith(f"CREATE EXTERNAL TABLE `{lake['database']}`.`orders_raw`(")
    lake["s3"].put_object(
        Bucket=lake["bucket"],
        Key="raw/orders_raw/dt=2024-05-03/part-0",
        Body=b'{"orderid": "2024-05-03-0", "quantity": 9, "price": 9.5}\n',
    )
    state = wr.athena.repair_table(
        table="orders_raw", database=lake["database"], workgroup=lake["workgroup"]
    )
    assert state == "SUCCEEDED"
    frame = wr.athena.read_sql_query(
        "SELECT quantity FROM orders_raw WHERE dt = '2024-05-03'",
        database=lake["database"],
        workgroup=lake["workgroup"],
        ctas_approach=False,
    )
    assert frame["quantity"].tolist() == [9]
