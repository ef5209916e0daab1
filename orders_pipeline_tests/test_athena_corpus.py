"""The Athena oracle: documented SQL examples with Athena's documented results (athena_corpus/,
written as its README.md says), run through the local stack's Athena API. A wrong value is the worst
defect; a clear Athena error kind instead of a value is an xfail."""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

CORPUS_DIR = Path(__file__).with_name("athena_corpus")
SCORE_THRESHOLD = 0.97
# All queries are submitted at once and the emulator runs two at a time: the deadline is for all.
QUERY_DEADLINE_S = 300
POLL_INTERVAL_S = 0.02

_CASE_KEYS = {"id", "sql", "source", "expected", "error", "types", "columns", "unordered", "note"}
_ID = re.compile(r"[a-z][a-z0-9_]*")
_ERROR_KIND = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# The error kind an Athena message starts with ("SYNTAX_ERROR: line 1:8: ...").
_LEADING_KIND = re.compile(r"\s*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b")
# Kinds that say the engine broke, not what is wrong with the query.
_UNCLEAR_KINDS = {"GENERIC_INTERNAL_ERROR", "INTERNAL_ERROR_QUERY_ENGINE"}
_STATEMENT = re.compile(r"\s*(SELECT|WITH|VALUES)\b", re.IGNORECASE)

Row = tuple[str | None, ...]


class CorpusError(Exception):
    """A malformed corpus file or case; the message names the file and the case id."""


@dataclass(frozen=True)
class Case:
    file: str
    id: str
    sql: str
    source: str
    expected: tuple[Row, ...] | None = None
    error: str | None = None
    types: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None
    unordered: bool = False
    note: str | None = None


def _strings(value: Any, what: str, problem: list[str]) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problem.append(f"{what} must be a list of non-empty strings, got {value!r}")
        return None
    return tuple(value)


def _rows(value: Any, problem: list[str]) -> tuple[Row, ...] | None:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        problem.append(f"expected must be a list of rows (lists), got {value!r}")
        return None
    for row in value:
        for cell in row:
            if cell is not None and not isinstance(cell, str):
                # YAML reads an unquoted 3 or true as a number or a boolean, not as the text.
                problem.append(f"expected cell {cell!r} is a {type(cell).__name__}; quote it")
    if len({len(row) for row in value}) > 1:
        problem.append(f"expected rows have different widths: {value!r}")
    return tuple(tuple(row) for row in value)


def parse_case(raw: Any, file: str) -> Case:
    """One YAML mapping -> Case; CorpusError naming the file and the id when it is malformed."""
    if not isinstance(raw, dict):
        raise CorpusError(f"{file}: every entry must be a mapping, got {raw!r}")
    case_id = raw.get("id")
    where = f"{file}: case {case_id!r}"
    if not isinstance(case_id, str) or not _ID.fullmatch(case_id):
        raise CorpusError(f"{where}: id must match {_ID.pattern}")
    problem: list[str] = []
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        problem.append(f"unknown keys {sorted(unknown)}")
    sql, source = raw.get("sql"), raw.get("source")
    if not isinstance(sql, str) or not _STATEMENT.match(sql):
        problem.append("sql must be a query text starting with SELECT, WITH or VALUES")
    if not isinstance(source, str) or not source.startswith("https://"):
        problem.append("source must be the https URL of the documenting page")
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        problem.append("note must be a string")
    unordered = raw.get("unordered", False)
    if not isinstance(unordered, bool):
        problem.append("unordered must be true or false")
    if ("expected" in raw) == ("error" in raw):
        problem.append("give exactly one of expected and error")
    expected = _rows(raw["expected"], problem) if "expected" in raw else None
    error = raw.get("error")
    if "error" in raw:
        if not isinstance(error, str) or not _ERROR_KIND.fullmatch(error):
            problem.append(f"error must be an error kind like DIVISION_BY_ZERO, got {error!r}")
        if {"types", "columns", "unordered"} & set(raw):
            problem.append("types, columns and unordered go with expected, not with error")
    types = _strings(raw["types"], "types", problem) if "types" in raw else None
    columns = _strings(raw["columns"], "columns", problem) if "columns" in raw else None
    for what, names in (("types", types), ("columns", columns)):
        if names is not None and expected and len(names) != len(expected[0]):
            problem.append(f"{what} has {len(names)} entries for rows of {len(expected[0])}")
    if problem:
        raise CorpusError(f"{where}: " + "; ".join(problem))
    return Case(file, case_id, sql, source, expected, error, types, columns, unordered, note)


def load_corpus(directory: Path = CORPUS_DIR) -> list[Case]:
    """Every case of every *.yaml file in directory, ids unique across files."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CorpusError(f"{directory}: no *.yaml corpus files")
    for path in files:
        try:
            entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise CorpusError(f"{path.name}: not valid YAML: {err}") from None
        if not isinstance(entries, list):
            raise CorpusError(f"{path.name}: the file must be a list of cases")
        for raw in entries:
            case = parse_case(raw, path.name)
            if case.id in seen:
                raise CorpusError(
                    f"{path.name}: case {case.id!r}: id already used in {seen[case.id]}"
                )
            seen[case.id] = path.name
            cases.append(case)
    return cases


# --- running ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the Athena API reported for one query."""

    state: str  # SUCCEEDED, FAILED, CANCELLED, TIMEOUT or REJECTED (StartQueryExecution refused)
    message: str = ""
    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def _type_name(info: dict[str, Any]) -> str:
    """Athena's ColumnInfo type as the corpus writes it: decimal carries its precision and scale."""
    name = info.get("Type", "")
    if name == "decimal":
        return f"decimal({info.get('Precision')},{info.get('Scale')})"
    return name


def _results(athena: Any, query_id: str) -> Outcome:
    rows: list[Row] = []
    info: list[dict[str, Any]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_set = page["ResultSet"]
        info = info or result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
        rows.extend(tuple(d.get("VarCharValue") for d in r["Data"]) for r in result_set["Rows"])
    # The first row of a SELECT's results is its header.
    return Outcome(
        "SUCCEEDED",
        rows=rows[1:],
        columns=[c["Name"] for c in info],
        types=[_type_name(c) for c in info],
    )


def run_corpus(athena: Any, workgroup: str, cases: Iterable[Case]) -> dict[str, Outcome]:
    """Submit every case's query, then wait for each one (one shared deadline)."""
    started: dict[str, str] = {}
    outcomes: dict[str, Outcome] = {}
    for case in cases:
        try:
            started[case.id] = athena.start_query_execution(
                QueryString=case.sql, WorkGroup=workgroup
            )["QueryExecutionId"]
        except ClientError as err:
            outcomes[case.id] = Outcome("REJECTED", message=str(err))
    deadline = time.monotonic() + QUERY_DEADLINE_S
    for case_id, query_id in started.items():
        while True:
            execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution["Status"]
            if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            if time.monotonic() > deadline:
                status = {"State": "TIMEOUT", "StateChangeReason": f"not done {QUERY_DEADLINE_S}s"}
                break
            time.sleep(POLL_INTERVAL_S)
        if status["State"] == "SUCCEEDED":
            outcomes[case_id] = _results(athena, query_id)
        else:
            reasons = [
                status.get("StateChangeReason", ""),
                status.get("AthenaError", {}).get("ErrorMessage", ""),
            ]
            message = " | ".join(dict.fromkeys(r for r in reasons if r))
            outcomes[case_id] = Outcome(status["State"], message=message)
    return outcomes


# --- judging ---------------------------------------------------------------------------------

PASS = "pass"
WRONG_VALUE = "wrong value"
VALUE_INSTEAD_OF_ERROR = "value where an error was expected"
CLEAR_ERROR = "clear error, not a wrong answer"
OTHER_ERROR_KIND = "clear error of another kind"
UNCLEAR_ERROR = "error without an Athena error kind"
NOT_FINISHED = "query did not finish"
XFAIL_VERDICTS = {CLEAR_ERROR, OTHER_ERROR_KIND}


@dataclass(frozen=True)
class Verdict:
    kind: str
    detail: str


def error_kind(message: str) -> str | None:
    """The Athena error kind a failure message starts with, when that kind explains the failure."""
    found = _LEADING_KIND.match(message)
    if found is None or found.group(1) in _UNCLEAR_KINDS:
        return None
    return found.group(1)


def _sorted_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: [(cell is not None, cell or "") for cell in row])


def _differences(case: Case, got: Outcome) -> list[str]:
    expected = list(case.expected or ())
    rows = list(got.rows)
    if case.unordered:
        expected, rows = _sorted_rows(expected), _sorted_rows(rows)
    found = []
    if rows != expected:
        found.append(f"rows: got {rows!r}, expected {expected!r}")
    if case.types is not None and tuple(got.types) != case.types:
        found.append(f"types: got {got.types!r}, expected {list(case.types)!r}")
    if case.columns is not None and tuple(got.columns) != case.columns:
        found.append(f"columns: got {got.columns!r}, expected {list(case.columns)!r}")
    return found


def judge(case: Case, got: Outcome) -> Verdict:
    if got.state == "TIMEOUT":
        return Verdict(NOT_FINISHED, got.message)
    if got.state == "SUCCEEDED":
        if case.error is not None:
            return Verdict(VALUE_INSTEAD_OF_ERROR, f"expected {case.error}, got rows {got.rows!r}")
        differences = _differences(case, got)
        if differences:
            return Verdict(WRONG_VALUE, "; ".join(differences))
        return Verdict(PASS, "")
    kind = error_kind(got.message)
    if case.error is not None and re.search(rf"\b{case.error}\b", got.message):
        return Verdict(PASS, "")
    if kind is None:
        return Verdict(UNCLEAR_ERROR, f"{got.state}: {got.message}")
    if case.error is not None:
        return Verdict(OTHER_ERROR_KIND, f"expected {case.error}, got {got.message}")
    return Verdict(CLEAR_ERROR, got.message)


def score_report(cases: list[Case], verdicts: dict[str, Verdict]) -> tuple[float, str]:
    """Exact matches / total, and the non-matching ids grouped by outcome."""
    passed = sum(verdicts[c.id].kind == PASS for c in cases)
    score = passed / len(cases)
    groups: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        verdict = verdicts[case.id]
        if verdict.kind != PASS:
            groups[verdict.kind].append(f"  {case.id} ({case.file}): {verdict.detail}")
    lines = [f"Athena corpus score: {passed}/{len(cases)} = {score:.3f}"]
    for kind in sorted(groups):
        lines.append(f"{kind}: {len(groups[kind])}")
        lines.extend(groups[kind])
    return score, "\n".join(lines)


# --- tests -----------------------------------------------------------------------------------

CASES = load_corpus()


@pytest.fixture(scope="module")
def corpus_outcomes(aws_client) -> dict[str, Outcome]:
    """Every case run once through the local stack's Athena API, in its own workgroup."""
    s3, athena = aws_client("s3"), aws_client("athena")
    suffix = uuid.uuid4().hex[:8]
    bucket, workgroup = f"athena-corpus-{suffix}", f"athena-corpus-{suffix}"
    s3.create_bucket(Bucket=bucket)
    athena.create_work_group(
        Name=workgroup,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/results/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    return run_corpus(athena, workgroup, CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case: Case, corpus_outcomes: dict[str, Outcome]) -> None:
    verdict = judge(case, corpus_outcomes[case.id])
    if verdict.kind in XFAIL_VERDICTS:
        pytest.xfail(f"{verdict.kind}: {verdict.detail}")
    assert verdict.kind == PASS, f"{verdict.kind}: {verdict.detail}\nSQL: {case.sql}"


def test_corpus_score(corpus_outcomes: dict[str, Outcome]) -> None:
    verdicts = {case.id: judge(case, corpus_outcomes[case.id]) for case in CASES}
    score, report = score_report(CASES, verdicts)
    print(report)
    assert score >= SCORE_THRESHOLD, report


def test_malformed_case_names_file_and_id(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "- id: good_case\n  sql: SELECT 1\n  expected: [['1']]\n  source: https://example.com\n"
        "- id: bad_case\n  sql: SELECT 1\n  expected: [[1]]\n  source: https://example.com\n"
    )
    with pytest.raises(CorpusError, match=r"bad\.yaml: case 'bad_case': expected cell 1 is a int"):
        load_corpus(tmp_path)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"id": "x", "sql": "SELECT 1", "source": "https://e"},
            "exactly one of expected and error",
        ),
        (
            {"id": "x", "sql": "SELECT 1", "source": "https://e", "error": "oops"},
            "error must be an error kind",
        ),
        ({"id": "x", "sql": "DROP TABLE t", "source": "https://e", "expected": []}, "sql must"),
        ({"id": "x", "sql": "SELECT 1", "source": "e", "expected": []}, "source must"),
        (
            {"id": "x", "sql": "SELECT 1", "source": "https://e", "expected": [["1"]], "tpyes": []},
            "unknown keys",
        ),
        (
            {"id": "x", "sql": "SELECT 1", "source": "https://e", "expected": [["1"]], "types": []},
            "types has 0 entries",
        ),
        ({"id": "Bad Id", "sql": "SELECT 1", "source": "https://e", "expected": []}, "id must"),
    ],
)
def test_case_schema(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(CorpusError, match=re.escape(problem)):
        parse_case(entry, "some.yaml")


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    case = "- id: same\n  sql: SELECT 1\n  expected: [['1']]\n  source: https://example.com\n"
    (tmp_path / "a.yaml").write_text(case)
    (tmp_path / "b.yaml").write_text(case)
    with pytest.raises(CorpusError, match=r"b\.yaml: case 'same': id already used in a\.yaml"):
        load_corpus(tmp_path)


_VALUE = Case("f.yaml", "value", "SELECT 1", "https://e", expected=(("1",),))
_TYPED = Case("f.yaml", "typed", "SELECT 1", "https://e", expected=(("1",),), types=("integer",))
_TWO = Case("f.yaml", "two", "SELECT 1", "https://e", expected=(("1",), ("2",)), unordered=True)
_ERROR = Case("f.yaml", "error", "SELECT 1", "https://e", error="DIVISION_BY_ZERO")


@pytest.mark.parametrize(
    ("case", "outcome", "kind"),
    [
        (_VALUE, Outcome("SUCCEEDED", rows=[("1",)]), PASS),
        (_VALUE, Outcome("SUCCEEDED", rows=[("2",)]), WRONG_VALUE),
        (_TYPED, Outcome("SUCCEEDED", rows=[("1",)], types=["bigint"]), WRONG_VALUE),
        (_TWO, Outcome("SUCCEEDED", rows=[("2",), ("1",)]), PASS),
        (_VALUE, Outcome("FAILED", "FUNCTION_NOT_FOUND: line 1:8: f"), CLEAR_ERROR),
        (_VALUE, Outcome("FAILED", "Binder Error: no"), UNCLEAR_ERROR),
        (_VALUE, Outcome("FAILED", "INTERNAL_ERROR_QUERY_ENGINE: KeyError"), UNCLEAR_ERROR),
        (_ERROR, Outcome("FAILED", "DIVISION_BY_ZERO: Division by zero"), PASS),
        (_ERROR, Outcome("SUCCEEDED", rows=[("Infinity",)]), VALUE_INSTEAD_OF_ERROR),
        (_ERROR, Outcome("FAILED", "NOT_SUPPORTED: x"), OTHER_ERROR_KIND),
        (_ERROR, Outcome("TIMEOUT", "slow"), NOT_FINISHED),
    ],
)
def test_judge(case: Case, outcome: Outcome, kind: str) -> None:
    assert judge(case, outcome).kind == kind
