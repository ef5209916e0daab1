"""Athena: StartQueryExecution really runs the SQL (AthenaEngine, in a worker thread)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from moto.athena.exceptions import QueryStillRunning
from moto.athena.models import AthenaBackend, Execution, QueryResults
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import JsonRESTError
from moto.s3.models import FakeKey, s3_backends
from moto.utilities.utils import get_partition
from moto.glue.models import glue_backends

from orders_pipeline.local_stack.athena.engine import (
    AthenaEngine,
    QueryFailed,
    QueryOutcome,
    QueryRequest,
)
from orders_pipeline.local_stack.athena.results import result_page, wire_rows
from orders_pipeline.local_stack.data_access import as_folder
from orders_pipeline.local_stack.glue.catalog import MotoGlueCatalog
from orders_pipeline.local_stack.patching import calls, replaces, requires, requires_attributes, wraps
from orders_pipeline.local_stack.persistence import store
from orders_pipeline.local_stack.s3.objects import MotoObjectStore

# Two cores are shared by everything: queries beyond this wait in QUEUED, as on Athena.
CONCURRENT_QUERIES = 2
_slots = threading.BoundedSemaphore(CONCURRENT_QUERIES)
_FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


requires(AthenaBackend, "_process_ddl", "get_query_execution", declared_in=__name__)
requires(AthenaResponse, "athena_backend", "error", declared_in=__name__)
requires(Execution, "__init__", declared_in=__name__)
requires(QueryResults, "to_dict", declared_in=__name__)
requires_attributes(FakeKey, "last_modified", declared_in=__name__)

calls(
    Execution,
    "__init__",
    "self",
    "query",
    "context",
    "config",
    "workgroup",
    declared_in=__name__,
)
calls(QueryResults, "__init__", "self", "rows", "column_info", declared_in=__name__)


def _modified_time(backend: AthenaBackend) -> Any:
    """When an S3 object was last written (a query's "$file_modified_time")."""
    s3 = s3_backends[backend.account_id][get_partition(backend.region_name)]

    def modified(bucket: str, key: str) -> Any:
        obj = s3.get_object(bucket, key)
        return obj.last_modified if obj is not None else None

    return modified


class EngineExecution(Execution):
    """An execution whose state is set by its worker thread instead of moto's state manager."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state = "QUEUED"
        self.error_message: str | None = None
        self.outcome: QueryOutcome | None = None
        self.started_running: float | None = None
        self.end_time = None

    @property
    def status(self) -> str:  # type: ignore[override]
        return self._state

    @status.setter
    def status(self, value: str) -> None:
        # StopQueryExecution sets CANCELLED; a finished execution keeps its final state.
        if self._state not in _FINISHED:
            self._state = value

    def advance(self) -> None:
        """State moves only with the worker thread."""


class _InvalidRequest(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


def output_location(workgroup: Any, request_config: dict[str, Any] | None) -> str:
    """The enforced workgroup location wins; then the request's; then the workgroup's."""
    configuration = workgroup.configuration if workgroup else {}
    group_location = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
    requested = (request_config or {}).get("OutputLocation")
    if group_location and (configuration.get("EnforceWorkGroupConfiguration") or not requested):
        return group_location
    if requested:
        return requested
    raise _InvalidRequest(
        "No output location provided. An output location is required either through the "
        "Workgroup result configuration setting or as an API input."
    )


def _run(backend: AthenaBackend, execution: EngineExecution, request: QueryRequest) -> None:
    engine = AthenaEngine(
        MotoObjectStore(backend.account_id, backend.region_name),
        MotoGlueCatalog(glue_backends[backend.account_id][backend.region_name]),
        modified=_modified_time(backend),
    )
    with _slots:
        execution.status = "RUNNING"
        execution.started_running = time.time()
        try:
            outcome = engine.execute(request)
            header = [c["Name"] for c in outcome.columns] if outcome.header else None
            rows = ([header] if header else []) + outcome.rows
            backend.query_results[execution.id] = QueryResults(wire_rows(rows), outcome.columns)
            execution.outcome = outcome
            execution.config = {"OutputLocation": outcome.output_location}
            final = "SUCCEEDED"
        except QueryFailed as err:
            execution.error_message = str(err)
            final = "FAILED"
        except Exception as err:  # an engine bug still ends the query, with its reason
            reason = " ".join(f"{type(err).__name__}: {err}".split())
            execution.error_message = f"GENERIC_INTERNAL_ERROR: {reason}"
            final = "FAILED"
        execution.end_time = time.time()
        execution.status = final
    store.current().mark_dirty()


@replaces(AthenaBackend, "start_query_execution")
def start_query_execution(
    self: AthenaBackend,
    query: str,
    context: dict[str, Any] | None,
    config: dict[str, Any] | None,
    workgroup: str | None,
    execution_parameters: list[str] | None,
) -> str:
    group = self.work_groups.get(workgroup or "primary")
    location = output_location(group, config)
    execution = EngineExecution(
        query=query,
        context=context,
        config={},
        workgroup=group,
        execution_parameters=execution_parameters,
    )
    # Athena reports the result file even before (or without) the query producing it.
    execution.config = {"OutputLocation": f"{as_folder(location)}{execution.id}.csv"}
    self.executions[execution.id] = execution
    self._process_ddl(query, context)  # keeps moto's own Athena database list in step
    request = QueryRequest(
        query_id=execution.id,
        sql=query,
        database=(context or {}).get("Database"),
        output_location=location,
    )
    threading.Thread(
        target=_run, args=(self, execution, request), name=f"athena-{execution.id}", daemon=True
    ).start()
    return execution.id


def _execution(response: AthenaResponse) -> EngineExecution:
    exec_id = response._get_param("QueryExecutionId")
    execution = response.athena_backend.executions.get(exec_id)
    if execution is None:
        raise _InvalidRequest(f"QueryExecution {exec_id} was not found")
    return execution


@wraps(AthenaResponse, "get_query_execution")
def get_query_execution(original: Any, self: AthenaResponse) -> str:
    """moto's answer with the engine's state, error, statement type and statistics."""
    execution = _execution(self)
    body = json.loads(original(self))
    if not isinstance(execution, EngineExecution):
        return json.dumps(body)
    details = body["QueryExecution"]
    status = details["Status"]
    if execution.end_time is None:
        status.pop("CompletionDateTime", None)
    if execution.error_message:
        status["StateChangeReason"] = execution.error_message
        status["AthenaError"] = {
            "ErrorCategory": 2,
            "ErrorType": 1000,
            "Retryable": False,
            "ErrorMessage": execution.error_message,
        }
    outcome = execution.outcome
    if outcome is not None:
        details["StatementType"] = outcome.statement_type
    finished = execution.end_time or time.time()
    running = execution.started_running or finished
    details["Statistics"].update(
        {
            "DataScannedInBytes": outcome.data_scanned_bytes if outcome else 0,
            "EngineExecutionTimeInMillis": int((finished - running) * 1000),
            "TotalExecutionTimeInMillis": int((finished - execution.start_time) * 1000),
            "QueryQueueTimeInMillis": int((running - execution.start_time) * 1000),
        }
    )
    details["WorkGroup"] = details.get("WorkGroup") or "primary"
    return json.dumps(body)


@replaces(AthenaResponse, "get_query_results")
def get_query_results(self: AthenaResponse) -> str | tuple[str, dict[str, int]]:
    execution = _execution(self)
    if execution.status == "FAILED":
        return self.error(execution.error_message or "Query failed", 400)
    if execution.status != "SUCCEEDED":
        raise QueryStillRunning(current_status=execution.status)
    results = self.athena_backend.query_results.get(execution.id) or QueryResults([], [])
    try:
        rows, next_token = result_page(
            results.rows, self._get_param("MaxResults"), self._get_param("NextToken")
        )
    except ValueError as err:
        return self.error(str(err), 400)
    body: dict[str, Any] = {
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": results.column_info}},
    }
    outcome = getattr(execution, "outcome", None)
    if outcome is not None and outcome.update_count is not None:
        body["UpdateCount"] = outcome.update_count
    if next_token:
        body["NextToken"] = next_token
    return json.dumps(body)
