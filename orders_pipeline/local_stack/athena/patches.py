"""Athena: StartQueryExecution really runs the SQL (AthenaEngine, in a worker thread); the query
history and results stay bounded (history.py) and survive a restart (persistence.py); the API
calls clients use that moto lacks or answers otherwise (batch get, stop, prepared statements)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

from moto.athena.exceptions import QueryStillRunning
from moto.athena.models import AthenaBackend, Execution, PreparedStatement, QueryResults
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import JsonRESTError
from moto.glue.models import GlueBackend, glue_backends
from moto.s3.models import FakeKey, s3_backends
from moto.utilities.utils import get_partition

from orders_pipeline.local_stack.athena import history, statements
from orders_pipeline.local_stack.athena import metering as athena_metering
from orders_pipeline.local_stack.athena import persistence as _persistence  # noqa: F401
from orders_pipeline.local_stack.athena.engine import (
    AthenaEngine,
    QueryFailed,
    QueryOutcome,
    QueryRequest,
)
from orders_pipeline.local_stack.athena.results import (
    parse_csv,
    parse_text,
    result_page,
    wire_rows,
)
from orders_pipeline.local_stack.data_access import as_folder, split_s3_url
from orders_pipeline.local_stack.glue.catalog import MotoGlueCatalog
from orders_pipeline.local_stack.patching import (
    adds,
    calls,
    replaces,
    requires,
    requires_attributes,
    wraps,
)
from orders_pipeline.local_stack.persistence import store
from orders_pipeline.local_stack.s3.objects import MotoObjectStore

# Two cores are shared by everything: queries beyond this wait in QUEUED, as on Athena.
CONCURRENT_QUERIES = 2
_slots = threading.BoundedSemaphore(CONCURRENT_QUERIES)
# How long StartQueryExecution waits for its query before answering.
SETTLE_SECONDS = 0.25
_FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
# ListQueryExecutions pages: at most 50 ids (AWS's limit).
LIST_PAGE_SIZE = 50


requires(AthenaBackend, "_process_ddl", "get_query_execution", declared_in=__name__)
requires(AthenaResponse, "athena_backend", "error", "_get_param", declared_in=__name__)
requires(Execution, "__init__", declared_in=__name__)
requires(QueryResults, "to_dict", declared_in=__name__)
requires_attributes(FakeKey, "last_modified", declared_in=__name__)
requires_attributes(AthenaBackend, "executions", "query_results", "work_groups",
                    "prepared_statements", declared_in=__name__)  # fmt: skip
requires_attributes(GlueBackend, "databases", declared_in=__name__)
requires_attributes(
    PreparedStatement, "statement_name", "workgroup", "query_statement", "description",
    "last_modified_time", declared_in=__name__,
)  # fmt: skip

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
calls(
    PreparedStatement,
    "__init__",
    "self",
    "statement_name",
    "workgroup",
    "query_statement",
    "description",
    declared_in=__name__,
)


class EngineExecution(Execution):
    """An execution whose state is set by its worker thread instead of moto's state manager; it
    keeps what GetQueryExecution reports, never the result rows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state = "QUEUED"
        self.error_message: str | None = None
        self.started_running: float | None = None
        self.end_time = None
        self.statement_type: str | None = None
        self.data_scanned_bytes = 0
        self.update_count: int | None = None
        self.manifest_location: str | None = None
        self.columns: list[dict[str, Any]] = []
        self.header = False
        self.session: Any = None  # the running statement's session (StopQueryExecution)

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

    def finish(self, outcome: QueryOutcome) -> None:
        self.statement_type = outcome.statement_type
        self.data_scanned_bytes = outcome.data_scanned_bytes
        self.update_count = outcome.update_count
        self.manifest_location = outcome.manifest_location
        self.columns = outcome.columns
        self.header = outcome.header
        self.config = {"OutputLocation": outcome.output_location}


class _InvalidRequest(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


class _NotFound(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


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


# --- the backend's bounded state ----------------------------------------------------------------


@wraps(AthenaBackend, "__init__")
def backend_init(original: Any, self: AthenaBackend, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    bound_state(self)


def bound_state(backend: AthenaBackend) -> None:
    backend.executions = history.Executions((backend.account_id, backend.region_name))
    backend.query_results = history.ResultCache()


class BackendPrepared:
    """The engine's view of a backend's prepared statements (kept by (workgroup, name))."""

    def __init__(self, backend: AthenaBackend) -> None:
        self.backend = backend

    def get(self, workgroup: str, name: str) -> str | None:
        found = self.backend.prepared_statements.get((workgroup, name))
        return found.query_statement if found else None

    def put(self, workgroup: str, name: str, statement: str) -> None:
        self.backend.prepared_statements[(workgroup, name)] = PreparedStatement(
            statement_name=name, workgroup=workgroup, query_statement=statement, description=""
        )
        store.current().mark_dirty()

    def delete(self, workgroup: str, name: str) -> bool:
        found = self.backend.prepared_statements.pop((workgroup, name), None) is not None
        store.current().mark_dirty()
        return found


def _modified_time(s3: Any) -> Any:
    """When an S3 object was last written (a query's "$file_modified_time")."""

    def modified(bucket: str, key: str) -> Any:
        obj = s3.get_object(bucket, key)
        return obj.last_modified if obj is not None else None

    return modified


def _engine(backend: AthenaBackend) -> AthenaEngine:
    glue = glue_backends[backend.account_id][backend.region_name]
    s3 = s3_backends[backend.account_id][get_partition(backend.region_name)]
    return AthenaEngine(
        MotoObjectStore(backend.account_id, backend.region_name),
        MotoGlueCatalog(glue),
        modified=_modified_time(s3),
        prepared=BackendPrepared(backend),
        databases=lambda: list(glue.databases),
    )


def _run(backend: AthenaBackend, execution: EngineExecution, request: QueryRequest) -> None:
    engine = _engine(backend)
    with _slots:
        if execution.status == "CANCELLED":  # stopped while it waited
            execution.end_time = time.time()
            backend.executions.changed(execution.id)
            return
        execution.status = "RUNNING"
        execution.started_running = time.time()
        try:
            outcome = engine.execute(request, on_session=lambda s: setattr(execution, "session", s))
            header = [c["Name"] for c in outcome.columns] if outcome.header else None
            rows = ([header] if header else []) + outcome.rows
            backend.query_results[execution.id] = QueryResults(wire_rows(rows), outcome.columns)
            execution.finish(outcome)
            final = "SUCCEEDED"
        except QueryFailed as err:
            execution.error_message = str(err)
            final = "FAILED"
        except Exception as err:  # an engine bug still ends the query, with its reason
            reason = " ".join(f"{type(err).__name__}: {err}".split())
            execution.error_message = f"GENERIC_INTERNAL_ERROR: {reason}"
            final = "FAILED"
        execution.session = None
        execution.end_time = time.time()
        execution.status = final
        backend.executions.changed(execution.id)
    succeeded = final == "SUCCEEDED"
    athena_metering.query_finished(
        str(getattr(execution, "statement_type", "") or ""),
        int(getattr(execution, "data_scanned_bytes", 0) or 0),
        succeeded,
    )
    store.current().mark_dirty()


def _database(context: dict[str, Any] | None) -> str | None:
    name = (context or {}).get("Database")
    return statements.unquote(name) if name else None


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
        database=_database(context),
        output_location=location,
        workgroup=group.name if group else "primary",
        parameters=tuple(execution_parameters or ()),
    )
    worker = threading.Thread(
        target=_run, args=(self, execution, request), name=f"athena-{execution.id}", daemon=True
    )
    worker.start()
    # A short query is done by the client's first GetQueryExecution, as a client polling an
    # Athena query of a second or more would see it; a longer one runs on meanwhile.
    worker.join(SETTLE_SECONDS)
    return execution.id


def _execution(response: AthenaResponse, exec_id: str | None = None) -> Any:
    exec_id = exec_id or response._get_param("QueryExecutionId")
    execution = response.athena_backend.executions.get(exec_id)
    if execution is None:
        raise _InvalidRequest(f"QueryExecution {exec_id} was not found")
    return execution


def describe_execution(execution: Any) -> dict[str, Any]:
    """The QueryExecution structure of GetQueryExecution / BatchGetQueryExecution."""
    finished = execution.end_time or time.time()
    running = getattr(execution, "started_running", None) or finished
    status: dict[str, Any] = {
        "State": execution.status,
        "SubmissionDateTime": execution.start_time,
    }
    if execution.end_time is not None:
        status["CompletionDateTime"] = execution.end_time
    message = getattr(execution, "error_message", None)
    if message:
        status["StateChangeReason"] = message
        status["AthenaError"] = {
            "ErrorCategory": 2,
            "ErrorType": 1000,
            "Retryable": False,
            "ErrorMessage": message,
        }
    statistics: dict[str, Any] = {
        "DataScannedInBytes": getattr(execution, "data_scanned_bytes", 0),
        "EngineExecutionTimeInMillis": int((finished - running) * 1000),
        "TotalExecutionTimeInMillis": int((finished - execution.start_time) * 1000),
        "QueryQueueTimeInMillis": int((running - execution.start_time) * 1000),
        "ServicePreProcessingTimeInMillis": 0,
        "QueryPlanningTimeInMillis": 0,
        "ServiceProcessingTimeInMillis": 0,
        "ResultReuseInformation": {"ReusedPreviousResult": False},
    }
    manifest = getattr(execution, "manifest_location", None)
    if manifest:
        statistics["DataManifestLocation"] = manifest
    details: dict[str, Any] = {
        "QueryExecutionId": execution.id,
        "Query": execution.query,
        "StatementType": getattr(execution, "statement_type", None) or _guess_type(execution.query),
        "ResultConfiguration": execution.config,
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        "QueryExecutionContext": execution.context or {},
        "Status": status,
        "Statistics": statistics,
        "WorkGroup": execution.workgroup.name if execution.workgroup else "primary",
        "EngineVersion": {
            "SelectedEngineVersion": "AUTO",
            "EffectiveEngineVersion": "Athena engine version 3",
        },
    }
    if execution.execution_parameters:
        details["ExecutionParameters"] = execution.execution_parameters
    return details


def _guess_type(query: str) -> str:
    words = query.strip().split(None, 1)
    first = words[0].upper() if words else ""
    if first in ("SELECT", "WITH", "VALUES", "INSERT", "UNLOAD", "EXPLAIN", "EXECUTE"):
        return "DML"
    if first in ("SHOW",):
        return "UTILITY"
    return "DDL"


@replaces(AthenaResponse, "get_query_execution")
def get_query_execution(self: AthenaResponse) -> str:
    return json.dumps({"QueryExecution": describe_execution(_execution(self))})


@adds(AthenaResponse, "batch_get_query_execution")
def batch_get_query_execution(self: AthenaResponse) -> str:
    found, missing = [], []
    for exec_id in self._get_param("QueryExecutionIds") or []:
        execution = self.athena_backend.executions.get(exec_id)
        if execution is None:
            missing.append(
                {
                    "QueryExecutionId": exec_id,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": f"QueryExecution {exec_id} was not found",
                }
            )
        else:
            found.append(describe_execution(execution))
    return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})


@replaces(AthenaResponse, "list_query_executions")
def list_query_executions(self: AthenaResponse) -> str:
    """Newest first, 50 a page at most, one workgroup's (primary when none is named)."""
    workgroup = self._get_param("WorkGroup") or "primary"
    if workgroup not in self.athena_backend.work_groups:
        return self.error(f"WorkGroup {workgroup} is not found.", 400)
    size = int(self._get_param("MaxResults") or LIST_PAGE_SIZE)
    if not 0 < size <= LIST_PAGE_SIZE:
        return self.error(f"MaxResults: {size} is not between 0 and {LIST_PAGE_SIZE}", 400)
    ids = [
        e.id
        for e in self.athena_backend.executions.newest_first()
        if (e.workgroup.name if e.workgroup else "primary") == workgroup
    ]
    token = self._get_param("NextToken")
    start = ids.index(token) if token in ids else 0
    page = ids[start : start + size]
    body: dict[str, Any] = {"QueryExecutionIds": page}
    if start + size < len(ids):
        body["NextToken"] = ids[start + size]
    return json.dumps(body)


@replaces(AthenaResponse, "stop_query_execution")
def stop_query_execution(self: AthenaResponse) -> str:
    execution = _execution(self)
    if execution.status not in _FINISHED:
        execution.status = "CANCELLED"
        execution.end_time = time.time()
        session = getattr(execution, "session", None)
        if session is not None:
            session.interrupt()  # DuckDB stops the statement; the worker sees it end
        self.athena_backend.executions.changed(execution.id)
    return json.dumps({})


def _stored_results(backend: AthenaBackend, execution: Any) -> QueryResults:
    """Rows of a query no longer cached: read back from its result file (and .metadata)."""
    location = (execution.config or {}).get("OutputLocation", "")
    objects = MotoObjectStore(backend.account_id, backend.region_name)
    bucket, key = split_s3_url(location)
    try:
        data = objects.read_object(bucket, key)
    except (FileNotFoundError, KeyError, AttributeError):
        raise _InvalidRequest(
            f"Query results of {execution.id} are no longer in {location}"
        ) from None
    columns = list(getattr(execution, "columns", []) or [])
    if key.endswith(".csv"):
        try:
            columns = json.loads(objects.read_object(bucket, key + ".metadata"))["ColumnInfo"]
        except (FileNotFoundError, KeyError, ValueError, AttributeError):
            pass
        rows = parse_csv(data)
    else:
        rows = parse_text(data, max(len(columns), 1))
    results = QueryResults(wire_rows(rows), columns)
    backend.query_results[execution.id] = results
    return results


@replaces(AthenaResponse, "get_query_results")
def get_query_results(self: AthenaResponse) -> str | tuple[str, dict[str, int]]:
    execution = _execution(self)
    if execution.status == "FAILED":
        return self.error(getattr(execution, "error_message", None) or "Query failed", 400)
    if execution.status == "CANCELLED":
        return self.error(f"Query has been cancelled: {execution.id}", 400)
    if execution.status != "SUCCEEDED":
        raise QueryStillRunning(current_status=execution.status)
    results = self.athena_backend.query_results.get(execution.id)
    if results is None:
        results = _stored_results(self.athena_backend, execution)
    try:
        rows, next_token = result_page(
            results.rows, self._get_param("MaxResults"), self._get_param("NextToken")
        )
    except ValueError as err:
        return self.error(str(err), 400)
    body: dict[str, Any] = {
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": results.column_info}},
    }
    update_count = getattr(execution, "update_count", None)
    if update_count is not None:
        body["UpdateCount"] = update_count
    if next_token:
        body["NextToken"] = next_token
    return json.dumps(body)


# --- prepared statements (the API; PREPARE / EXECUTE in SQL share them) ------------------------


def _group(response: AthenaResponse) -> str:
    name = response._get_param("WorkGroup") or "primary"
    if name not in response.athena_backend.work_groups:
        raise _InvalidRequest(f"WorkGroup {name} is not found.")
    return name


def _statement_dict(found: PreparedStatement) -> dict[str, Any]:
    modified = found.last_modified_time
    stamp = modified.timestamp() if isinstance(modified, dt.datetime) else modified
    return {
        "StatementName": found.statement_name,
        "QueryStatement": found.query_statement,
        "WorkGroupName": found.workgroup,
        "Description": found.description or "",
        "LastModifiedTime": stamp,
    }


def _put_statement(response: AthenaResponse, creating: bool) -> str:
    group = _group(response)
    name = response._get_param("StatementName")
    key = (group, name)
    exists = key in response.athena_backend.prepared_statements
    if creating and exists:
        raise _InvalidRequest(f"Prepared statement {name} already exists in workgroup {group}")
    if not creating and not exists:
        raise _NotFound(f"Prepared statement {name} was not found in workgroup {group}")
    response.athena_backend.prepared_statements[key] = PreparedStatement(
        statement_name=name,
        workgroup=group,
        query_statement=response._get_param("QueryStatement"),
        description=response._get_param("Description") or "",
    )
    store.current().mark_dirty()
    return json.dumps({})


@replaces(AthenaResponse, "create_prepared_statement")
def create_prepared_statement(self: AthenaResponse) -> str:
    return _put_statement(self, creating=True)


@adds(AthenaResponse, "update_prepared_statement")
def update_prepared_statement(self: AthenaResponse) -> str:
    return _put_statement(self, creating=False)


@replaces(AthenaResponse, "get_prepared_statement")
def get_prepared_statement(self: AthenaResponse) -> str:
    group = _group(self)
    name = self._get_param("StatementName")
    found = self.athena_backend.prepared_statements.get((group, name))
    if found is None:
        raise _NotFound(f"Prepared statement {name} was not found in workgroup {group}")
    return json.dumps({"PreparedStatement": _statement_dict(found)})


@adds(AthenaResponse, "delete_prepared_statement")
def delete_prepared_statement(self: AthenaResponse) -> str:
    group = _group(self)
    name = self._get_param("StatementName")
    if self.athena_backend.prepared_statements.pop((group, name), None) is None:
        raise _NotFound(f"Prepared statement {name} was not found in workgroup {group}")
    store.current().mark_dirty()
    return json.dumps({})


@adds(AthenaResponse, "list_prepared_statements")
def list_prepared_statements(self: AthenaResponse) -> str:
    group = _group(self)
    found = [
        {
            "StatementName": s.statement_name,
            "LastModifiedTime": _statement_dict(s)["LastModifiedTime"],
        }
        for (g, _), s in sorted(self.athena_backend.prepared_statements.items())
        if g == group
    ]
    return json.dumps({"PreparedStatements": found})


@adds(AthenaResponse, "batch_get_prepared_statement")
def batch_get_prepared_statement(self: AthenaResponse) -> str:
    group = _group(self)
    found, missing = [], []
    for name in self._get_param("PreparedStatementNames") or []:
        statement = self.athena_backend.prepared_statements.get((group, name))
        if statement is None:
            message = f"Prepared statement {name} was not found"
            missing.append(
                {"StatementName": name, "ErrorCode": "INVALID_INPUT", "ErrorMessage": message}
            )
        else:
            found.append(_statement_dict(statement))
    return json.dumps({"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing})
