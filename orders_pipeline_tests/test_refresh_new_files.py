"""A refresh that reads only the raw files order_events does not hold yet (what the arrival
sensor asks for): it appends their events, rewrites only what they touch, and its tables end
up exactly what a rebuild from every file gives."""

from __future__ import annotations

import pytest

from orders_pipeline import tables
from orders_pipeline.tables import DAILY_SALES, ORDER_EVENTS, ORDERS_CURRENT
from orders_pipeline_tests.owned_lake import OwnedLake, change, keys_only

D1, D2 = "2025-04-01", "2025-04-02"


def at(day: str, time: str = "10:00:00") -> str:
    return f"{day}T{time}Z"


@pytest.fixture
def lake(local_stack, aws_client) -> OwnedLake:
    return OwnedLake(local_stack, aws_client, "newfiles")


def deliver_and_refresh(lake: OwnedLake, records: list[dict]):
    return lake.refresh(lake.deliver(records), only_new_files=True)


DELIVERIES = [
    [change("o1", "e1", "1", at(D1)), change("o2", "e2", "2", at(D1, "11:00:00"), quantity=3)],
    [change("o1", "e3", "3", at(D1, "12:00:00"), cdc_event_type="MODIFY", status="PAID",
            created=at(D1))],
    # A replay of e1 in a later file, a change on the next day, a late change of yesterday.
    [change("o1", "e1", "1", at(D1)), change("o3", "e4", "4", at(D2)),
     change("o2", "e5", "5", at(D1, "23:00:00"), cdc_event_type="MODIFY", status="CANCELLED",
            created=at(D1, "11:00:00"))],
    [keys_only("o3", "e6", "6", at(D2, "13:00:00"))],
]  # fmt: skip


def test_deliveries_refreshed_one_by_one_equal_a_rebuild_from_every_file(
    lake, local_stack, aws_client
):
    for records in DELIVERIES:
        deliver_and_refresh(lake, records)
    whole = OwnedLake(local_stack, aws_client, "newfiles-whole")
    whole.refresh(whole.deliver([r for d in DELIVERIES for r in d]), rebuild=True)
    for table in tables.ANALYTICS_TABLES:
        assert lake.table(table).equals(whole.table(table)), table.name


def test_a_replay_in_a_later_file_keeps_the_first_copy(lake):
    deliver_and_refresh(lake, DELIVERIES[0])
    first_file = set(
        lake.rows("SELECT source_file FROM order_events WHERE event_id = 'e1'")[0].values()
    )
    deliver_and_refresh(lake, [change("o1", "e1", "1", at(D1))])
    copies = lake.rows("SELECT source_file FROM order_events WHERE event_id = 'e1'")
    assert [set(row.values()) for row in copies] == [first_file]


def test_a_refresh_with_no_new_file_writes_nothing(lake):
    deliver_and_refresh(lake, DELIVERIES[0])
    before = {t.name: lake.partition_locations(t) for t in tables.ANALYTICS_TABLES}
    result = lake.refresh([D1], only_new_files=True)
    assert (result.event_days, result.creation_days, result.tables) == ([], [], {})
    assert {t.name: lake.partition_locations(t) for t in tables.ANALYTICS_TABLES} == before


def test_only_the_new_file_is_read_from_the_raw_data(lake):
    big = [change(f"o{n}", f"e{n}", str(n), at(D1)) for n in range(1, 301)]
    deliver_and_refresh(lake, big)
    raw_day = sum(obj["Size"] for obj in lake.data_lake.list_objects("raw/"))
    late = change("o1", "e999", "999", at(D1, "12:00:00"), cdc_event_type="MODIFY", status="PAID")
    result = deliver_and_refresh(lake, [late])
    inserts = [
        q for q in result.tables[ORDER_EVENTS.name].query_ids
        if lake.athena_query(q)["StatementType"] == "DML"
        and lake.athena_query(q)["Query"].lstrip().upper().startswith("INSERT")
    ]  # fmt: skip
    assert len(inserts) == 1
    raw_read = lake.athena_query(inserts[0])["Statistics"]["DataScannedInBytes"]
    assert raw_read < raw_day / 10


def test_the_new_changes_rewrite_only_their_creation_days(lake):
    deliver_and_refresh(lake, [change("o1", "e1", "1", at(D1)), change("o2", "e2", "2", at(D2))])
    before = lake.partition_locations(DAILY_SALES)
    result = deliver_and_refresh(lake, [change("o3", "e3", "3", at(D2, "12:00:00"))])
    assert (result.event_days, result.creation_days) == ([D2], [D2])
    after = lake.partition_locations(DAILY_SALES)
    assert after[(D1,)] == before[(D1,)] and after[(D2,)] != before[(D2,)]


def test_a_file_a_failed_refresh_never_read_is_read_by_the_next(lake):
    deliver_and_refresh(lake, DELIVERIES[0])
    lake.deliver(DELIVERIES[1])  # delivered, but its refresh never ran
    deliver_and_refresh(lake, [change("o4", "e7", "7", at(D1, "13:00:00"))])
    assert current_status(lake) == {"o1": "PAID", "o2": "PLACED", "o4": "PLACED"}


def current_status(lake: OwnedLake) -> dict[str, str]:
    rows = lake.table(ORDERS_CURRENT)
    return dict(zip(rows["orderid"], rows["status"], strict=True))


def test_an_undated_item_appended_later_keeps_the_day_it_was_first_seen(lake):
    def bare(orderid, event_id, seq, when, **values):
        return {"orderid": orderid, **values, "cdc_event_type": "INSERT" if seq == "1" else
                "MODIFY", "event_id": event_id, "sequence_number": seq,
                "creation_datetime": when, "is_deleted": False}  # fmt: skip

    deliver_and_refresh(lake, [bare("17", "e1", "1", at(D1), quantity=2, price=12.5),
                               change("o1", "e2", "1", at(D1))])  # fmt: skip
    deliver_and_refresh(lake, [bare("17", "e3", "2", at(D1, "15:00:00"), quantity=4, price=12.5)])
    deliver_and_refresh(lake, [bare("17", "e4", "3", at(D2), quantity=3, price=12.5)])
    rows = lake.table(ORDERS_CURRENT)
    assert rows[rows["orderid"] == "17"][["quantity", "dt"]].values.tolist() == [[3, D1]]
