"""The incremental analytics refresh: given the event days that received new raw data, rewrite
only the partitions those changes touch, table by table, in the order the tables feed each other.

order_events: what the arrival sensor asks for reads only the raw files it does not hold yet
(each row keeps its `source_file`) and appends their events, leaving out events it already
holds, so a replay adds nothing and a file a failed run never read is read by the next; the
hourly safety net and a rebuild rewrite the event days whole. hourly_cdc_activity: the event
days that got changes. orders_current, daily_sales and daily_status_funnel: the creation days
of the orders those changes touch (order_events is partitioned by event day then creation day,
so those tables read only their orders' events). Those partitions are replaced, never appended
to, so a re-run changes no number; and replaced in one catalog write, so a reader sees the old
rows or the new ones, never none: a refresh writes its partitions under `refresh=<id>/` by CTAS
into a staging table, then points the table's partitions there and deletes the old files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orders_pipeline import tables
from orders_pipeline.defs.analytics import sql_templates as sql
from orders_pipeline.tables import Table

# Athena's limit of partitions written by one CTAS or INSERT INTO.
MAX_PARTITIONS_PER_QUERY = 100
# Event days refreshed together (a backfill goes by this many at a time): order_events writes
# at least one partition per event day.
EVENT_DAYS_PER_PASS = 30
_TOO_MANY_PARTITIONS = "HIVE_TOO_MANY_OPEN_PARTITIONS"
# Raw files named in one INSERT: Athena's query text is at most 262,144 bytes.
FILES_PER_QUERY = 500
_STAGING = "__refresh_"


@dataclass
class TableRefresh:
    """What one table's refresh did: the days rewritten, rows written, bytes scanned."""

    table: str
    days: list[str] = field(default_factory=list)
    rows: int | None = 0
    bytes_scanned: int = 0
    partitions: int = 0
    query_ids: list[str] = field(default_factory=list)

    def add(self, other: TableRefresh) -> None:
        self.days = sorted({*self.days, *other.days})
        self.rows = None if self.rows is None or other.rows is None else self.rows + other.rows
        self.bytes_scanned += other.bytes_scanned
        self.partitions += other.partitions
        self.query_ids += other.query_ids


@dataclass
class RefreshResult:
    event_days: list[str]
    creation_days: list[str]
    tables: dict[str, TableRefresh] = field(default_factory=dict)
    changes_by_creation_day: dict[str, int] = field(default_factory=dict)
    # The order_events files a refresh that read only new raw files appended (else empty).
    appended_files: list[str] = field(default_factory=list)

    @property
    def bytes_scanned(self) -> int:
        return sum(t.bytes_scanned for t in self.tables.values())

    def add(self, done: TableRefresh) -> None:
        if done.table in self.tables:
            self.tables[done.table].add(done)
        else:
            self.tables[done.table] = done


@dataclass
class Lake:
    """The pipeline's resources as the refresh uses them (the assets pass theirs in)."""

    athena: Any  # AthenaResource
    glue: Any  # GlueCatalogResource
    data_lake: Any  # DataLakeResource

    @property
    def database(self) -> str:
        return self.glue.database

    def location(self, table: str, below: str = "") -> str:
        prefix = sql.table_prefix(self.data_lake.analytics_prefix, table)
        return f"s3://{self.data_lake.bucket}/{prefix}{below}"

    def files_in(self, locations: Iterable[str]) -> set[str]:
        """The S3 URLs of the data files under these folders of the bucket (Athena skips empty
        files and names starting with `_` or `.`)."""
        found = set()
        for location in locations:
            prefix = location.removeprefix(f"s3://{self.data_lake.bucket}/")
            for obj in self.data_lake.list_objects(prefix.rstrip("/") + "/"):
                name = obj["Key"].rsplit("/", 1)[-1]
                if obj["Size"] and not name.startswith(("_", ".")):
                    found.add(f"s3://{self.data_lake.bucket}/{obj['Key']}")
        return found

    def delete_files(self, urls: Iterable[str], table: str) -> None:
        """Delete these files, those inside `table`'s own folder only."""
        own = self.location(table)
        prefix = f"s3://{self.data_lake.bucket}/"
        self.data_lake.delete_keys([u.removeprefix(prefix) for u in urls if u.startswith(own)])

    def written_files(self, manifest_location: str | None) -> list[str]:
        """The files an INSERT wrote, from its manifest."""
        if not manifest_location:
            return []
        bucket, key = manifest_location.removeprefix("s3://").split("/", 1)
        body = self.data_lake.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return [line for line in body.decode().splitlines() if line.strip()]

    def delete_location(self, location: str, table: str) -> None:
        """Delete the files under an S3 URL, if it is inside `table`'s own folder."""
        own = self.location(table)
        if location.startswith(own):
            self.data_lake.delete_prefix(location.removeprefix(f"s3://{self.data_lake.bucket}/"))


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _refresh_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


def _location(partition: dict[str, Any]) -> str:
    return partition["StorageDescriptor"]["Location"].rstrip("/") + "/"


def _check_layout(lake: Lake, table: Table, found: dict[str, Any]) -> None:
    """ValueError naming the rebuild when the Glue table is laid out unlike its declaration."""
    layout = [c["Name"] for c in found["StorageDescriptor"].get("Columns", [])] + [
        k["Name"] for k in found.get("PartitionKeys", [])
    ]
    if layout != list(table.column_names):
        raise ValueError(
            f"{lake.database}.{table.name} has the columns {layout}, not the declared "
            f"{list(table.column_names)}: rebuild the analytics (the analytics_refresh "
            "asset with all_days: true)"
        )


def _ensure_table(lake: Lake, table: Table, query: str, rebuild: bool) -> list[str]:
    """Create `table` empty if it is missing (or `rebuild`, or laid out unlike its declaration
    while rebuilding); the query ids run."""
    found = lake.glue.get_table(table.name)
    if found is not None:
        if not rebuild:
            _check_layout(lake, table, found)
            return []
        lake.glue.delete_table(table.name)
    # Files without a table are orphans, and CTAS refuses a location that holds any.
    lake.delete_location(lake.location(table.name), table.name)
    created = lake.athena.run(
        sql.create_table_statement(
            table, database=lake.database, location=lake.location(table.name), query=query
        )
    )
    return [created.query_id]


def _clear_stale_staging(lake: Lake, table: Table) -> None:
    """Staging tables a failed refresh left: their files go unless the table points at them."""
    for name in lake.glue.table_names():
        if not name.startswith(f"{table.name}{_STAGING}"):
            continue
        staged = lake.glue.partitions(name)
        days = sorted({p["Values"][0] for p in staged})
        in_use = {_location(p) for p in lake.glue.partitions(table.name, days)}
        for partition in staged:
            if _location(partition) not in in_use:
                lake.delete_location(_location(partition), table.name)
        lake.glue.delete_table(name)


def _stage(lake: Lake, table: Table, name: str, location: str, query: str) -> TableRefresh:
    """CTAS the query's rows into staging table `name`; past Athena's partitions-per-query
    limit, an empty CTAS and one INSERT per 100 partitions."""
    done = TableRefresh(table.name)
    try:
        created = lake.athena.run(
            sql.create_table_statement(
                table,
                database=lake.database,
                location=location,
                query=query,
                name=name,
                with_data=True,
            )
        )
        done.query_ids.append(created.query_id)
        done.rows = created.update_count
        done.bytes_scanned = created.bytes_scanned
        return done
    except Exception as exc:
        if _TOO_MANY_PARTITIONS not in str(exc):
            raise
    # Athena may leave some files of the failed query behind.
    lake.delete_location(location, table.name)
    found = lake.athena.run(sql.partition_values_query(table, query=query))
    created = lake.athena.run(
        sql.create_table_statement(
            table, database=lake.database, location=location, query=query, name=name
        )
    )
    done.query_ids += [found.query_id, created.query_id]
    done.bytes_scanned += found.bytes_scanned
    values = sorted(tuple(row[key] for key in table.partition_keys) for row in found.rows)
    for chunk in _chunks(values, MAX_PARTITIONS_PER_QUERY):
        inserted = lake.athena.run(
            sql.insert_partitions_statement(
                table, database=lake.database, name=name, query=query, partitions=chunk
            )
        )
        done.query_ids.append(inserted.query_id)
        done.bytes_scanned += inserted.bytes_scanned
        done.rows = (
            None
            if done.rows is None or inserted.update_count is None
            else (done.rows + inserted.update_count)
        )
    return done


def replace_partitions(
    lake: Lake, table: Table, days: Iterable[str], query: str, *, rebuild: bool = False
) -> TableRefresh:
    """Make the `days` of `table` hold exactly the rows of `query` (whose rows all fall on
    those days), switching each partition over in one catalog write."""
    days = sorted(set(days))
    query_ids = _ensure_table(lake, table, query, rebuild)
    _clear_stale_staging(lake, table)
    refresh_id = _refresh_id()
    name = f"{table.name}{_STAGING}{refresh_id}"
    done = _stage(lake, table, name, lake.location(table.name, f"refresh={refresh_id}/"), query)
    done.days, done.query_ids = days, query_ids + done.query_ids
    staged = lake.glue.partitions(name)
    before = lake.glue.partitions(table.name, days)
    lake.glue.put_partitions(table.name, staged)
    now_at = {tuple(p["Values"]) for p in staged}
    lake.glue.delete_partitions(
        table.name, [p["Values"] for p in before if tuple(p["Values"]) not in now_at]
    )
    lake.glue.delete_table(name)
    for partition in before:
        lake.delete_location(_location(partition), table.name)
    done.partitions = len(staged)
    return done


@dataclass
class _ChangedDays:
    creation_days: list[str]
    changes_by_creation_day: dict[str, int]
    undated: int  # changes without a creation time, REMOVEs left out
    without_creation_time: int = 0  # every change without one (a key-only REMOVE included)


def _changed_days(
    lake: Lake, event_days: list[str], files: list[str] | None = None
) -> _ChangedDays:
    found = lake.athena.run(
        sql.creation_days_query(database=lake.database, event_days=event_days, files=files)
    )
    days: set[str] = set()
    keyless = 0
    changed = _ChangedDays([], {}, 0)
    for row in found.rows:
        changes = int(row["changes"])
        changed.undated += int(row["undated"] or 0)
        changed.without_creation_time += int(row["without_creation_time"] or 0)
        if row["created_dt"] == tables.UNKNOWN_DAY:
            keyless += changes
        else:
            days.add(row["created_dt"])
        changed.changes_by_creation_day[row["created_dt"]] = changes
    if keyless and lake.glue.table_exists(tables.ORDERS_CURRENT.name):
        # REMOVEs that carry only the order's key (a KEYS_ONLY or NEW_IMAGE stream): the days
        # of those orders are where orders_current holds them.
        placed = lake.athena.run(
            sql.keyless_creation_days_query(database=lake.database, event_days=event_days)
        )
        days |= {row["created_dt"] for row in placed.rows if row["created_dt"]}
    changed.creation_days = sorted(days)
    return changed


def _refresh_order_events(
    lake: Lake, event_days: list[str], result: RefreshResult, rebuild: bool
) -> _ChangedDays:
    """Rewrite order_events for `event_days`; what their changes touch. Records without a
    creation time look up when their order was first seen in the earlier days of order_events:
    at once when the raw table has no created_at at all, else (other code's items among ours)
    in a second pass only when the first found such records, so our own pay nothing for it."""
    raw_columns = lake.glue.columns(lake.glue.raw_table)
    earlier = not rebuild and lake.glue.table_exists(tables.ORDER_EVENTS.name)
    dated = "created_at" in raw_columns

    def events(earlier_events: bool) -> TableRefresh:
        return replace_partitions(
            lake,
            tables.ORDER_EVENTS,
            event_days,
            sql.order_events_query(
                raw_columns,
                database=lake.database,
                raw_table=lake.glue.raw_table,
                event_days=event_days,
                earlier_events=earlier_events,
            ),
            rebuild=rebuild,
        )

    written = events(earlier and not dated)
    changed = _changed_days(lake, event_days)
    if earlier and dated and changed.undated:
        again = events(True)
        again.bytes_scanned += written.bytes_scanned
        again.query_ids = written.query_ids + again.query_ids
        written, changed = again, _changed_days(lake, event_days)
    result.add(written)
    return changed


def _new_raw_files(lake: Lake, event_days: list[str]) -> dict[str, list[str]]:
    """Per event day, the raw files whose events order_events does not hold yet: one listing
    per day folder, and the distinct source_file of those days (one small column)."""
    delivered = {
        partition["Values"][0]: lake.files_in([_location(partition)])
        for partition in lake.glue.partitions(lake.glue.raw_table, event_days)
    }
    if not any(delivered.values()):
        return {}
    kept = lake.athena.run(sql.ingested_files_query(database=lake.database, event_days=event_days))
    ingested = {row["source_file"] for row in kept.rows}
    new = {day: sorted(files - ingested) for day, files in delivered.items()}
    return {day: files for day, files in sorted(new.items()) if files}


def _insert_events(
    lake: Lake,
    raw_columns: dict[str, str],
    event_days: list[str],
    files: list[str],
    earlier: bool,
    done: TableRefresh,
) -> list[str] | None:
    """INSERT the events of `files` into order_events, FILES_PER_QUERY at a time; the files
    written, or None past Athena's partitions-per-INSERT limit."""
    written: list[str] = []
    done.rows = 0
    for chunk in _chunks(files, FILES_PER_QUERY):
        query = sql.order_events_query(
            raw_columns,
            database=lake.database,
            raw_table=lake.glue.raw_table,
            event_days=event_days,
            earlier_events=earlier,
            files=chunk,
        )
        try:
            inserted = lake.athena.run(
                sql.insert_statement(tables.ORDER_EVENTS, database=lake.database, query=query)
            )
        except Exception as exc:
            if _TOO_MANY_PARTITIONS not in str(exc):
                raise
            return None
        done.query_ids.append(inserted.query_id)
        done.bytes_scanned += inserted.bytes_scanned
        done.rows = (
            None
            if done.rows is None or inserted.update_count is None
            else done.rows + inserted.update_count
        )
        written += lake.written_files(inserted.manifest_location)
    return written


def _append_order_events(
    lake: Lake, event_days: list[str], result: RefreshResult
) -> tuple[_ChangedDays, list[str]] | None:
    """Append to order_events the events of the raw files it does not hold yet (replays of
    events it holds left out); what those changes touch, and the event days that got them.
    None when there is no new file. Past Athena's partitions-per-INSERT limit (a long
    backfill), those days are rewritten whole instead."""
    by_day = _new_raw_files(lake, event_days)
    if not by_day:
        return None
    event_days = list(by_day)
    new = [file for files in by_day.values() for file in files]
    raw_columns = lake.glue.columns(lake.glue.raw_table)
    done = TableRefresh(tables.ORDER_EVENTS.name, days=event_days)
    earlier = "created_at" not in raw_columns
    written = _insert_events(lake, raw_columns, event_days, new, earlier, done)
    changed = _ChangedDays([], {}, 0)
    if written:
        changed = _changed_days(lake, event_days, files=written)
        if not earlier and changed.without_creation_time:
            # Records without a creation time take the day their order was first seen, which
            # needs the lookup: this INSERT is undone (its files deleted) and made again with it.
            # Our own items always carry one, so they never pay for it.
            lake.delete_files(written, tables.ORDER_EVENTS.name)
            written = _insert_events(lake, raw_columns, event_days, new, True, done)
            if written:
                changed = _changed_days(lake, event_days, files=written)
    if written is None:
        result.add(done)
        return _refresh_order_events(lake, event_days, result, rebuild=False), event_days
    done.partitions = len({file.rsplit("/", 1)[0] for file in written})
    result.add(done)
    result.appended_files += written
    return changed, event_days


def _refresh_pass(
    lake: Lake, event_days: list[str], result: RefreshResult, rebuild: bool, only_new_files: bool
) -> None:
    database = lake.database
    found = None if rebuild or not only_new_files else lake.glue.get_table(tables.ORDER_EVENTS.name)
    if found is not None:
        _check_layout(lake, tables.ORDER_EVENTS, found)
        appended = _append_order_events(lake, event_days, result)
        if appended is None:
            return
        changed, event_days = appended
    else:
        changed = _refresh_order_events(lake, event_days, result, rebuild)
    result.event_days = sorted({*result.event_days, *event_days})
    for day, changes in changed.changes_by_creation_day.items():
        result.changes_by_creation_day[day] = result.changes_by_creation_day.get(day, 0) + changes
    creation_days = changed.creation_days
    result.creation_days = sorted({*result.creation_days, *creation_days})
    for chunk in _chunks(creation_days, MAX_PARTITIONS_PER_QUERY):
        for table, query in (
            (tables.ORDERS_CURRENT, sql.orders_current_query),
            (tables.DAILY_SALES, sql.daily_sales_query),
            (tables.DAILY_STATUS_FUNNEL, sql.daily_status_funnel_query),
        ):
            result.add(
                replace_partitions(
                    lake,
                    table,
                    chunk,
                    query(database=database, creation_days=chunk),
                    rebuild=rebuild and table.name not in result.tables,
                )
            )
    result.add(
        replace_partitions(
            lake,
            tables.HOURLY_CDC_ACTIVITY,
            event_days,
            sql.hourly_cdc_activity_query(database=database, event_days=event_days),
            rebuild=rebuild,
        )
    )


def refresh(
    lake: Lake, event_days: Iterable[str], *, rebuild: bool = False, only_new_files: bool = False
) -> RefreshResult:
    """Rewrite every analytics partition that the changes of `event_days` touch. `rebuild`:
    drop and create every table first (with every event day: a full rebuild).
    `only_new_files`: read only the raw files order_events does not hold yet (appended to it),
    not the event days whole; the partitions the new changes touch are rewritten as ever."""
    event_days = sorted(set(event_days))
    # The event days written, filled in pass by pass (only those with new files, if asked).
    result = RefreshResult(event_days=[], creation_days=[])
    for number, chunk in enumerate(_chunks(event_days, EVENT_DAYS_PER_PASS)):
        _refresh_pass(
            lake, chunk, result, rebuild=rebuild and number == 0, only_new_files=only_new_files
        )
    return result
