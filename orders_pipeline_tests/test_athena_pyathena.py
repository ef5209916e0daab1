"""pyathena's Cursor and PandasCursor, unmodified, against the local Athena: answers over crawled
order-change history match what pandas computes from the very lines that were written."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pyathena
import pytest
from pyathena.pandas.cursor import PandasCursor

CRAWL_DEADLINE_S = 60
CENT = Decimal("0.01")
CATEGORIES = ("books", "garden", "toys")


def _json_line(record: dict) -> str:
    """One JSON object; Decimals written as bare JSON numbers with their exact digits."""
    fields = [
        f"{json.dumps(k)}: {v if isinstance(v, Decimal) else json.dumps(v)}"
        for k, v in record.items()
    ]
    return "{" + ", ".join(fields) + "}"


def _change_history(seed: int = 7, orders: int = 120) -> list[dict]:
    """Flat CDC records: INSERT, then MODIFYs, some REMOVEs. Sequence numbers grow from 2 to 4
    digits, so ordering them as text would pick the wrong latest change."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 22, 0, tzinfo=UTC)
    records, sequence = [], 10
    for number in range(orders):
        order = {
            "orderid": f"o-{number:04d}",
            "customer_id": f"c-{rng.randrange(30)}",
            "category": rng.choice(CATEGORIES),
            "quantity": rng.randint(1, 5),
            "price": Decimal(rng.randrange(100, 20000)) * CENT,
            "status": "PLACED",
        }
        events = ["INSERT"] + ["MODIFY"] * rng.randint(0, 3)
        if rng.random() < 0.2:
            events.append("REMOVE")
        for event in events:
            if event == "MODIFY":
                order = {**order, "status": rng.choice(("PAID", "SHIPPED", "DELIVERED"))}
                order["quantity"] = rng.randint(1, 5)
            sequence += rng.randint(1, 15)
            moment = start + timedelta(minutes=rng.randrange(0, 6 * 60))
            records.append(
                {
                    **order,
                    "cdc_event_type": event,
                    "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "sequence_number": str(sequence),
                    "creation_datetime": moment.strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{moment.microsecond // 1000:03d}Z",
                    "is_deleted": event == "REMOVE",
                }
            )
    return records


@pytest.fixture(scope="module")
def orders(aws_client, local_stack):
    """The history written as JSON lines under raw/orders_raw/dt=<event date>/, crawled; the
    pandas oracle is parsed back from the written bytes (money as Decimal)."""
    s3, glue, athena = aws_client("s3"), aws_client("glue"), aws_client("athena")
    suffix = uuid.uuid4().hex[:8]
    bucket, database, workgroup = f"pyathena-{suffix}", f"db_{suffix}", f"wg-{suffix}"
    s3.create_bucket(Bucket=bucket)
    by_day: dict[str, list[str]] = {}
    for record in _change_history():
        by_day.setdefault(record["creation_datetime"][:10], []).append(_json_line(record))
    written = []
    for day, lines in by_day.items():
        for part in range(2):  # two Firehose deliveries per day
            body = "\n".join(lines[part::2]) + "\n"
            s3.put_object(Bucket=bucket, Key=f"raw/orders_raw/dt={day}/delivery-{part}", Body=body)
            written += [
                {**json.loads(line, parse_float=Decimal), "dt": day} for line in body.splitlines()
            ]
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_crawler(
        Name=f"crawler-{suffix}",
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=database,
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/raw/orders_raw/"}]},
    )
    glue.start_crawler(Name=f"crawler-{suffix}")
    deadline = time.monotonic() + CRAWL_DEADLINE_S
    while (last := glue.get_crawler(Name=f"crawler-{suffix}")["Crawler"].get("LastCrawl")) is None:
        assert time.monotonic() < deadline, "crawl did not finish"
        time.sleep(0.05)
    assert last["Status"] == "SUCCEEDED", last
    athena.create_work_group(
        Name=workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"}},
    )
    frame = pd.DataFrame(written)
    frame["sequence"] = frame["sequence_number"].map(int)
    return {
        "frame": frame,
        "connect": lambda **kwargs: pyathena.connect(
            s3_staging_dir=f"s3://{bucket}/athena-results/",
            work_group=workgroup,
            schema_name=database,
            region_name=local_stack.region,
            **kwargs,
        ),
    }


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("sequence").groupby("orderid").tail(1).set_index("orderid")


def test_history_spans_two_days_and_text_order_of_sequence_numbers_is_wrong(orders):
    frame = orders["frame"]
    assert sorted(frame["dt"].unique()) == ["2024-03-01", "2024-03-02"]
    assert frame["sequence_number"].max() != str(frame["sequence"].max())


def test_revenue_by_day_and_category_matches_pandas(orders):
    frame = orders["frame"]
    amount = frame["price"].map(lambda p: p.quantize(CENT)) * frame["quantity"]
    expected = (
        frame.assign(amount=amount)
        .groupby(["dt", "category"])
        .agg(revenue=("amount", "sum"), changes=("orderid", "size"))
    )
    cursor = orders["connect"]().cursor()
    cursor.execute(
        "SELECT dt, category, sum(CAST(price AS DECIMAL(12,2)) * quantity) AS revenue, "
        "count(*) AS changes FROM orders_raw GROUP BY dt, category ORDER BY dt, category"
    )

    rows = cursor.fetchall()

    assert [d[0] for d in cursor.description] == ["dt", "category", "revenue", "changes"]
    assert {(dt, cat): (rev, n) for dt, cat, rev, n in rows} == {
        key: (row.revenue, row.changes) for key, row in expected.iterrows()
    }
    assert all(isinstance(rev, Decimal) for _, _, rev, _ in rows)


def test_latest_status_per_order_with_max_by_matches_pandas(orders):
    cursor = orders["connect"]().cursor()
    cursor.execute(
        "SELECT orderid, max_by(status, CAST(sequence_number AS DECIMAL(38,0))) AS status "
        "FROM orders_raw GROUP BY orderid"
    )

    assert dict(cursor.fetchall()) == _latest(orders["frame"])["status"].to_dict()


def test_current_orders_deduplicated_with_row_number_match_pandas(orders):
    latest = _latest(orders["frame"])
    current = latest[~latest["is_deleted"]]
    expected_amount = sum(
        (p.quantize(CENT) * q for p, q in zip(current["price"], current["quantity"], strict=True)),
        Decimal(0),
    )
    cursor = orders["connect"]().cursor()
    cursor.execute(
        "WITH ranked AS (SELECT *, row_number() OVER (PARTITION BY orderid "
        "ORDER BY CAST(sequence_number AS DECIMAL(38,0)) DESC) AS rn FROM orders_raw) "
        "SELECT count(*) AS n, sum(CAST(price AS DECIMAL(12,2)) * quantity) AS amount "
        "FROM ranked WHERE rn = 1 AND NOT is_deleted"
    )

    assert cursor.fetchone() == (len(current), expected_amount)


def test_changes_per_hour_with_date_functions_match_pandas(orders):
    frame = orders["frame"]
    stamps = pd.to_datetime(frame["creation_datetime"], utc=True)
    expected = stamps.dt.floor("h").dt.strftime("%Y-%m-%d %H:00").value_counts().to_dict()
    cursor = orders["connect"]().cursor()
    cursor.execute(
        "SELECT date_format(date_trunc('hour', from_iso8601_timestamp(creation_datetime)), "
        "'%Y-%m-%d %H:00') AS hour, count(*) AS n FROM orders_raw GROUP BY 1"
    )

    assert dict(cursor.fetchall()) == expected


def test_pandas_cursor_reads_the_result_csv(orders):
    frame = orders["frame"]
    expected = frame.groupby("customer_id")["quantity"].sum().sort_index()
    cursor = orders["connect"](cursor_class=PandasCursor).cursor()

    result = cursor.execute(
        "SELECT customer_id, sum(quantity) AS quantity, "
        "sum(CAST(price AS DECIMAL(12,2))) AS spent FROM orders_raw "
        "WHERE dt = '2024-03-01' OR dt = '2024-03-02' GROUP BY customer_id ORDER BY customer_id"
    ).as_pandas()

    assert list(result["customer_id"]) == list(expected.index)
    assert list(result["quantity"]) == list(expected)
    spent = frame.assign(p=frame["price"].map(lambda p: p.quantize(CENT))).groupby("customer_id")
    assert [Decimal(str(v)) for v in result["spent"]] == list(spent["p"].sum().sort_index())


def test_pyathena_surfaces_a_failed_query_as_an_error(orders):
    cursor = orders["connect"]().cursor()
    with pytest.raises(pyathena.error.OperationalError, match="no_such_column"):
        cursor.execute("SELECT no_such_column FROM orders_raw")


def test_cursor_parameters_client_side_and_as_execution_parameters(orders):
    frame = orders["frame"]
    expected = int((frame["dt"] == "2024-03-01").sum())
    cursor = orders["connect"]().cursor()
    cursor.execute("SELECT count(*) FROM orders_raw WHERE dt = %(day)s", {"day": "2024-03-01"})
    assert cursor.fetchall() == [(expected,)]
    cursor.execute(
        "SELECT count(*), max(category) FROM orders_raw WHERE dt = ? AND category = ?",
        ["'2024-03-01'", "'toys'"],
        paramstyle="qmark",
    )
    toys = int(((frame["dt"] == "2024-03-01") & (frame["category"] == "toys")).sum())
    assert cursor.fetchall() == [(toys, "toys")]


def test_pandas_cursor_with_unload_reads_the_parquet_files(orders):
    frame = orders["frame"]
    expected = frame.groupby("category")["quantity"].sum().sort_index()
    cursor = orders["connect"](cursor_class=PandasCursor).cursor(unload=True)
    result = cursor.execute(
        "SELECT category, sum(quantity) AS quantity FROM orders_raw GROUP BY category"
    ).as_pandas()
    result = result.sort_values("category")
    assert list(result["category"]) == list(expected.index)
    assert list(result["quantity"]) == list(expected)
