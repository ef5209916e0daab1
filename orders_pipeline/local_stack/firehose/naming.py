"""Firehose's S3 naming rules: `!{...}` prefix expressions, object names and error records.

Pure functions (no I/O), written to the Amazon Data Firehose developer guide's contracts.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"
PROCESSING_FAILED = "processing-failed"

# Firehose evaluates the default error prefix as `<error-output-type>/yyyy/MM/dd/HH/`.
_DEFAULT_ERROR_PREFIX = "!{firehose:error-output-type}/!{timestamp:" + DEFAULT_TIME_PREFIX + "}"
_EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")
_RANDOM_ALPHABET = string.ascii_letters + string.digits

# Java DateTimeFormatter letters Firehose prefixes use, mapped to a formatter of the instant.
_JAVA_FIELDS = {
    "y": lambda t, n: f"{t.year % 100:02d}" if n == 2 else f"{t.year:0{n}d}",
    "u": lambda t, n: f"{t.year % 100:02d}" if n == 2 else f"{t.year:0{n}d}",
    "M": lambda t, n: f"{t.month:0{n}d}",
    "d": lambda t, n: f"{t.day:0{n}d}",
    "D": lambda t, n: f"{t.timetuple().tm_yday:0{n}d}",
    "H": lambda t, n: f"{t.hour:0{n}d}",
    "m": lambda t, n: f"{t.minute:0{n}d}",
    "s": lambda t, n: f"{t.second:0{n}d}",
    "S": lambda t, n: f"{t.microsecond:06d}"[:n].ljust(n, "0"),
}

LAMBDA_ERRORS = {
    "Lambda.FunctionError": (
        "The Lambda function was successfully invoked but it returned an error result."
    ),
    "Lambda.MissingRecordId": (
        "One or more record Ids were not returned. "
        "Ensure that the Lambda function returns all received record Ids."
    ),
    "Lambda.DuplicatedRecordId": (
        "Multiple records were returned with the same record Id. "
        "Ensure that the Lambda function returns unique record Ids for each record."
    ),
    "Lambda.JsonProcessingException": (
        "There was an error parsing returned records from the Lambda function. "
        "Ensure that the returned records follow the status model required by Firehose."
    ),
    "Lambda.ProcessingFailedStatus": "ProcessingFailed status set for record",
}


class PrefixError(ValueError):
    """A Firehose prefix that AWS would reject or could not evaluate."""


def format_java_datetime(pattern: str, instant: datetime) -> str:
    """Format `instant` with a Java DateTimeFormatter pattern (letters, 'quoted' literals)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise PrefixError(f"timestamp pattern {pattern!r}: unterminated quote")
            # '' inside or outside a quoted run is a literal single quote.
            out.append(pattern[i + 1 : end] if end > i + 1 else "'")
            i = end + 1
            continue
        if char.isascii() and char.isalpha():
            run = len(pattern[i:]) - len(pattern[i:].lstrip(char))
            field = _JAVA_FIELDS.get(char)
            if field is None:
                raise PrefixError(
                    f"timestamp pattern {pattern!r}: unsupported pattern letter {char!r}"
                )
            out.append(field(instant, run))
            i += run
            continue
        out.append(char)
        i += 1
    return "".join(out)


def expand_prefix(
    template: str,
    *,
    arrival: datetime,
    partition_keys: Mapping[str, str] | None = None,
    error_output_type: str | None = None,
) -> str:
    """Evaluate every `!{namespace:value}` expression of a Firehose prefix.

    `arrival` is the approximate arrival time of the oldest record in the object (UTC unless
    it carries another zone); `error_output_type` is only set for the error prefix.
    """
    keys = partition_keys or {}

    def evaluate(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return format_java_datetime(value, arrival)
        if namespace == "firehose":
            if value == "random-string":
                return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(11))
            if value == "error-output-type":
                if error_output_type is None:
                    raise PrefixError(
                        f"prefix {template!r}: !{{firehose:error-output-type}} is only "
                        "allowed in ErrorOutputPrefix"
                    )
                return error_output_type
            raise PrefixError(f"prefix {template!r}: unknown firehose value {value!r}")
        if namespace in ("partitionKeyFromLambda", "partitionKeyFromQuery"):
            if error_output_type is not None:
                raise PrefixError(
                    f"ErrorOutputPrefix {template!r}: {namespace} is not allowed there"
                )
            if value not in keys:
                raise PrefixError(
                    f"prefix {template!r}: partition key {value!r} missing from the record "
                    f"(got {sorted(keys)})"
                )
            return str(keys[value])
        raise PrefixError(f"prefix {template!r}: unknown namespace {namespace!r}")

    if "!{" in _EXPRESSION.sub("", template):
        raise PrefixError(f"prefix {template!r}: malformed !{{namespace:value}} expression")
    return _EXPRESSION.sub(evaluate, template)


def validate_prefix(template: str | None, *, error_output: bool = False) -> None:
    """Reject what Firehose rejects at configuration time: unknown namespaces or values, bad
    timestamp patterns, partition keys in ErrorOutputPrefix, error-output-type in Prefix."""
    if not template:
        return
    keys = {match.group(2): "key" for match in _EXPRESSION.finditer(template)}
    expand_prefix(
        template,
        arrival=datetime(2000, 1, 1, tzinfo=UTC),
        partition_keys=None if error_output else keys,
        error_output_type=PROCESSING_FAILED if error_output else None,
    )


def data_prefix(
    template: str | None, *, arrival: datetime, partition_keys: Mapping[str, str] | None = None
) -> str:
    """The evaluated `Prefix` for delivered data, with AWS's default time prefix rules.

    No prefix -> `yyyy/MM/dd/HH/`; a prefix without expressions is the legacy form that
    Firehose prepends to the default time prefix.
    """
    template = template or ""
    if not _EXPRESSION.search(template):
        template += "!{timestamp:" + DEFAULT_TIME_PREFIX + "}"
    return expand_prefix(template, arrival=arrival, partition_keys=partition_keys)


def error_prefix(
    template: str | None, *, arrival: datetime, error_output_type: str = PROCESSING_FAILED
) -> str:
    """The evaluated `ErrorOutputPrefix` (AWS default: `<error-output-type>/yyyy/MM/dd/HH/`)."""
    template = template or _DEFAULT_ERROR_PREFIX
    if not _EXPRESSION.search(template):
        template += _DEFAULT_ERROR_PREFIX
    return expand_prefix(template, arrival=arrival, error_output_type=error_output_type)


def object_name(
    stream_name: str, version: str | int, arrival: datetime, unique: uuid.UUID | None = None
) -> str:
    """The key suffix: `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`."""
    stamp = format_java_datetime("yyyy-MM-dd-HH-mm-ss", arrival)
    return f"{stream_name}-{version}-{stamp}-{unique or uuid.uuid4()}"


def epoch_millis(instant: datetime) -> int:
    """Milliseconds since the epoch, as Firehose writes its timestamps."""
    return int(instant.astimezone(UTC).timestamp() * 1000)


def processing_failed_record(
    *,
    raw_data: bytes,
    arrival: datetime,
    attempts_made: int,
    error_code: str,
    lambda_arn: str,
    attempt_ending: datetime,
    error_message: str | None = None,
) -> dict[str, object]:
    """One line of the `processing-failed` error output, in Firehose's JSON shape."""
    if error_message is None:
        if error_code not in LAMBDA_ERRORS:
            raise ValueError(f"error_code {error_code!r} needs an error_message")
        error_message = LAMBDA_ERRORS[error_code]
    return {
        "attemptsMade": attempts_made,
        "arrivalTimestamp": epoch_millis(arrival),
        "errorCode": error_code,
        "errorMessage": error_message,
        "attemptEndingTimestamp": epoch_millis(attempt_ending),
        "rawData": base64.b64encode(raw_data).decode("ascii"),
        "lambdaArn": lambda_arn,
    }
