"""The Athena query history kept across restarts: each execution is a journal row (what
GetQueryExecution reports; the result rows stay in S3), written when it changes and deleted when
the bounded history lets it go. Prepared statements and workgroups stay in the world snapshot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
from moto.athena.models import AthenaBackend, athena_backends

from orders_pipeline.local_stack.athena import history
from orders_pipeline.local_stack.persistence import snapshot
from orders_pipeline.local_stack.persistence.store import Changes, Collection, register

_SEPARATOR = "/"
_FIELDS = (
    "query", "context", "execution_parameters", "start_time", "end_time", "started_running",
    "error_message", "statement_type", "data_scanned_bytes", "update_count",
    "manifest_location", "columns", "header", "config",
)  # fmt: skip


def _key(owner: tuple[str, str], exec_id: str) -> bytes:
    return _SEPARATOR.join((*owner, exec_id)).encode()


def execution_row(execution: Any) -> bytes:
    """An execution as JSON: its state and what GetQueryExecution reports."""
    row = {name: getattr(execution, name, None) for name in _FIELDS}
    row["state"] = execution.status
    row["workgroup"] = execution.workgroup.name if execution.workgroup else None
    return orjson.dumps(row)


def restored_execution(backend: AthenaBackend, exec_id: str, row: dict[str, Any]) -> Any:
    from orders_pipeline.local_stack.athena.patches import EngineExecution

    execution = EngineExecution(
        query=row["query"],
        context=row.get("context"),
        config={},
        workgroup=backend.work_groups.get(row.get("workgroup") or "primary"),
        execution_parameters=row.get("execution_parameters"),
    )
    execution.id = exec_id
    for name in _FIELDS:
        if name in row and name not in ("query", "context", "execution_parameters"):
            setattr(execution, name, row[name])
    state = row.get("state", "FAILED")
    if state not in ("SUCCEEDED", "FAILED", "CANCELLED"):
        # It was queued or running when the stack stopped: it ended there.
        state = "FAILED"
        execution.error_message = (
            "GENERIC_INTERNAL_ERROR: the local stack stopped while the query was running"
        )
        execution.end_time = execution.end_time or time.time()
    execution._state = state
    return execution


class ExecutionsCollection(Collection):
    """Every backend's query history, one row per execution (key: account/region/id)."""

    name = "athena-executions"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed: dict[bytes, tuple[tuple[str, str], str, bool]] = {}

    def touch(self, owner: tuple[str, str], exec_id: str, kept: bool) -> None:
        with self._lock:
            self._changed[_key(owner, exec_id)] = (owner, exec_id, kept)

    def changes(self) -> Changes:
        with self._lock:
            changed, self._changed = self._changed, {}
        found = Changes()
        for key, (owner, exec_id, kept) in changed.items():
            execution = None
            if kept:
                backend = _backend(owner)
                execution = backend.executions.get(exec_id) if backend else None
            if execution is None:
                found.deletes.append(key)
            else:
                found.puts.append((key, execution_row(execution)))
        return found

    def restore(self, rows: Iterable[tuple[bytes, bytes]]) -> None:
        loaded: list[tuple[float, AthenaBackend, str, dict[str, Any]]] = []
        for key, value in rows:
            account, region, exec_id = key.decode().split(_SEPARATOR, 2)
            row = orjson.loads(value)
            if time.time() - float(row.get("start_time") or 0) > history.MAX_AGE_SECONDS:
                self.touch((account, region), exec_id, False)  # older than AWS keeps
                continue
            loaded.append((float(row.get("start_time") or 0), athena_backends[account][region],
                           exec_id, row))  # fmt: skip
        backends = []
        for _, backend, exec_id, row in sorted(loaded, key=lambda item: item[0]):
            execution = restored_execution(backend, exec_id, row)
            backend.executions.put_restored(exec_id, execution)
            if row.get("state") != execution.status:
                backend.executions.changed(exec_id)
            if backend not in backends:
                backends.append(backend)
        for backend in backends:
            backend.executions.trim()


def _backend(owner: tuple[str, str]) -> AthenaBackend | None:
    account, region = owner
    try:
        return athena_backends[account][region]
    except KeyError:
        return None


EXECUTIONS = register(ExecutionsCollection())
history.ON_CHANGE = EXECUTIONS.touch


@snapshot.reduces(AthenaBackend)
def _backend_without_history(backend: AthenaBackend) -> tuple:
    # The history is journal rows and result rows are S3 files: the world keeps neither.
    owner = (backend.account_id, backend.region_name)
    return snapshot.without(
        backend,
        "executions",
        "query_results",
        executions=history.Executions(owner),
        query_results=history.ResultCache(),
    )
