"""What Athena bills: the bytes each query scans, rounded up to the megabyte with a 10 MB minimum;
DDL, partition statements and failed queries are free."""

from __future__ import annotations

from orders_pipeline.local_stack.metering import meters
from orders_pipeline.local_stack.metering.units import athena_billed_bytes

BILLED_BYTES = "athena.bytes_scanned_billed"
QUERIES = "athena.queries"


def query_finished(statement_type: str, scanned: int, succeeded: bool) -> None:
    meters.add(QUERIES, 1)
    # A query that read data (a SELECT, INSERT INTO, CTAS with data, UNLOAD) is billed; so is a
    # SELECT that read nothing, at the minimum.
    if succeeded and (statement_type == "DML" or scanned > 0):
        meters.add(BILLED_BYTES, athena_billed_bytes(scanned))
