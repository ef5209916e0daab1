"""The Athena query history stays bounded in memory and survives a restart: a stack started again
on its state dir still answers GetQueryExecution, GetQueryResults and ListQueryExecutions for a
query run before the stop."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from orders_pipeline.local_stack.athena import history
from orders_pipeline_tests.polling import wait_for
from orders_pipeline_tests.test_local_stack_state import StackProcess, _start, stacks

__all__ = ["stacks"]


def _execution(state: str, started: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(status=state, start_time=started or time.time())


def test_the_history_keeps_the_newest_and_never_drops_a_running_query():
    heard: list[tuple[str, bool]] = []
    executions = history.Executions(
        ("1", "r"), limit=3, on_change=lambda owner, key, kept: heard.append((key, kept))
    )
    executions["running"] = _execution("RUNNING")
    for name in ("a", "b", "c", "d"):
        executions[name] = _execution("SUCCEEDED")
    assert list(executions) == ["running", "c", "d"]
    assert ("a", False) in heard and ("b", False) in heard and ("d", True) in heard


def test_the_history_forgets_what_aws_no_longer_keeps():
    executions = history.Executions(("1", "r"), limit=100)
    executions["old"] = _execution("SUCCEEDED", started=time.time() - history.MAX_AGE_SECONDS - 60)
    executions["new"] = _execution("SUCCEEDED")
    assert list(executions) == ["new"]


def test_the_result_cache_keeps_the_recently_used():
    cache = history.ResultCache(limit=2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and cache.get("b") is None


def _wait_done(athena, query_id: str) -> dict:
    found: dict = {}

    def done() -> bool:
        found.update(athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"])
        return found["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED")

    wait_for(done, 60, "the query")
    return found


def test_a_restarted_stack_still_answers_for_queries_run_before(stacks, tmp_path: Path):
    first: StackProcess = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(first.answers, 90, "local up")
    s3, athena = first.client("s3"), first.client("athena")
    s3.create_bucket(Bucket="history-results")
    athena.create_work_group(
        Name="history",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://history-results/q/"}},
    )
    query_id = athena.start_query_execution(
        QueryString="SELECT x, x * 2 AS y FROM (VALUES 1, 2, NULL) AS t (x) ORDER BY x",
        WorkGroup="history",
    )["QueryExecutionId"]
    before = _wait_done(athena, query_id)
    assert before["Status"]["State"] == "SUCCEEDED"
    results = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]
    first.stop()

    second = _start(stacks, tmp_path / "state", "--no-deploy")
    wait_for(second.answers, 90, "local up again")
    athena = second.client("athena")
    after = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert after["Status"] == before["Status"]
    assert after["StatementType"] == "DML" and after["Query"] == before["Query"]
    assert athena.get_query_results(QueryExecutionId=query_id)["ResultSet"] == results
    assert athena.list_query_executions(WorkGroup="history")["QueryExecutionIds"] == [query_id]
    newer = athena.start_query_execution(QueryString="SELECT 1", WorkGroup="history")
    assert _wait_done(athena, newer["QueryExecutionId"])["Status"]["State"] == "SUCCEEDED"
    listed = athena.list_query_executions(WorkGroup="history")["QueryExecutionIds"]
    assert listed == [newer["QueryExecutionId"], query_id]
