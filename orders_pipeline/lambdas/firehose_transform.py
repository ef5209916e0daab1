"""Firehose transform Lambda: DynamoDB stream records (via Pipes and Kinesis) to flat JSON lines.
Stdlib only: zipped as-is and deployed with the handler `firehose_transform.lambda_handler`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

logger = logging.getLogger(__name__)
# Lambda's root handler prints whatever reaches it; this level lets the INFO summary through.
logger.setLevel(logging.INFO)

# Lambda's synchronous invocation limit, which applies to the response Firehose gets back.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024

CDC_COLUMNS = ("cdc_event_type", "event_id", "sequence_number", "creation_datetime", "is_deleted")
# `dt` lives only in the S3 path (Hive partition); a column of that name would clash with it.
RESERVED_NAMES = frozenset(CDC_COLUMNS) | {"dt"}

IMAGE_BY_EVENT = {"INSERT": "NewImage", "MODIFY": "NewImage", "REMOVE": "OldImage"}

# Epoch seconds pass 1e11 only in the year 5138, epoch milliseconds passed it in 1973.
MILLISECONDS_THRESHOLD = 10**11

# DynamoDB's number text; re.ASCII because \d would otherwise accept other scripts' digits.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

# A JSON string literal with non-ASCII text left as UTF-8, as the stream record carried it.
_encode_string = json.JSONEncoder(ensure_ascii=False).encode
# Entries are joined by ", " inside this envelope.
_EMPTY_RESPONSE_BYTES = len(json.dumps({"records": []}))


class StreamRecordError(ValueError):
    """A stream record that cannot become a flat record; the message names the field and value."""


def flatten_stream_record(record: dict[str, Any]) -> dict[str, Any]:
    """One DynamoDB stream record -> the flat record: image attributes plus the CDC columns.

    INSERT and MODIFY use NewImage, REMOVE uses OldImage. N values become `Decimal` (exact digits).
    """
    if not isinstance(record, dict):
        raise StreamRecordError(f"record: expected a JSON object, got {_describe(record)}")
    event_name = record.get("eventName")
    image_name = IMAGE_BY_EVENT.get(event_name) if isinstance(event_name, str) else None
    if image_name is None:
        raise StreamRecordError(
            f"eventName: expected INSERT, MODIFY or REMOVE, got {_describe(event_name)}"
        )
    event_id = _required_text(record, "eventID", "eventID")
    stream = record.get("dynamodb")
    if not isinstance(stream, dict):
        raise StreamRecordError(f"dynamodb: expected a JSON object, got {_describe(stream)}")
    sequence_number = _required_text(stream, "SequenceNumber", "dynamodb.SequenceNumber")
    creation_datetime = _iso_utc(stream.get("ApproximateCreationDateTime"))
    image = stream.get(image_name)
    if not isinstance(image, dict) or not image:
        raise StreamRecordError(
            f"dynamodb.{image_name}: missing for {event_name} event, got {_describe(image)}"
        )

    flat: dict[str, Any] = {}
    for name, value in image.items():
        path = f"dynamodb.{image_name}.{name}"
        if name in RESERVED_NAMES:
            raise StreamRecordError(f"{path}: attribute name is reserved for a CDC column")
        flat[name] = _plain_value(value, path)
    flat["cdc_event_type"] = event_name
    flat["event_id"] = event_id
    flat["sequence_number"] = sequence_number
    flat["creation_datetime"] = creation_datetime
    flat["is_deleted"] = event_name == "REMOVE"
    return flat


def serialize_flat_record(flat: dict[str, Any]) -> str:
    """The flat record as one newline-terminated JSON line; Decimals are written digit for digit."""
    return _to_json(flat) + "\n"


def event_date(flat: dict[str, Any]) -> str:
    """The flat record's `dt` partition value (YYYY-MM-DD of its creation_datetime, UTC)."""
    return flat["creation_datetime"][:10]


def transform_records(
    event: dict[str, Any], response_limit_bytes: int = RESPONSE_LIMIT_BYTES
) -> dict[str, Any]:
    """A Firehose transformation invocation -> its response: every recordId once, in order.

    Records that cannot be flattened, and records whose Ok result would take the response past
    `response_limit_bytes`, come back ProcessingFailed with their original data, so Firehose
    writes them under the error prefix instead of failing (and later skipping) the whole batch.
    """
    records = event["records"]
    entries = [_failed_entry(record) for record in records]
    failed_sizes = [_entry_size(entry) for entry in entries]
    # Start from the all-failed response (never larger than the request Firehose sent) and swap
    # in Ok results while they fit, so whatever is left out still reaches the error prefix.
    response_bytes = _EMPTY_RESPONSE_BYTES + 2 * max(len(entries) - 1, 0) + sum(failed_sizes)
    if response_bytes > response_limit_bytes:
        # Cannot happen under Lambda's equal request limit; if it does, Lambda rejects the
        # response and Firehose, after its retries, routes the whole batch to the error prefix.
        logger.error(
            "invocation %s: even an all-ProcessingFailed response (%d bytes) exceeds the %d-byte "
            "response limit",
            event.get("invocationId"),
            response_bytes,
            response_limit_bytes,
        )
    failed_count = over_budget_count = 0
    for index, record in enumerate(records):
        record_id = record["recordId"]
        ok_entry, reason = _transform_record(record)
        if ok_entry is not None:
            growth = _entry_size(ok_entry) - failed_sizes[index]
            if growth <= 0 or response_bytes + growth <= response_limit_bytes:
                entries[index] = ok_entry
                response_bytes += growth
                continue
            over_budget_count += 1
            reason = (
                f"response budget: its Ok result would take the response past the "
                f"{response_limit_bytes}-byte Lambda limit; original data sent to the error prefix"
            )
        failed_count += 1
        logger.warning("recordId %s ProcessingFailed: %s", record_id, reason)

    logger.info(
        "invocation %s: %d records, %d Ok, %d ProcessingFailed (%d past the response budget), "
        "response %d bytes",
        event.get("invocationId"),
        len(records),
        len(records) - failed_count,
        failed_count,
        over_budget_count,
        response_bytes,
    )
    return {"records": entries}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point Firehose invokes for each buffered batch of Kinesis records."""
    return transform_records(event)


def _transform_record(record: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        flat = flatten_stream_record(_decode_data(record.get("data")))
        line = serialize_flat_record(flat).encode("utf-8")
    except StreamRecordError as error:
        return None, str(error)
    except UnicodeEncodeError as error:
        # JSON lets "\ud800" escapes through; UTF-8 cannot carry a lone surrogate.
        name = _unencodable_attribute(flat)
        return None, f"attribute {name!r}: text is not valid Unicode ({error.reason})"
    return {
        "recordId": record["recordId"],
        "result": "Ok",
        "data": base64.b64encode(line).decode("ascii"),
        "metadata": {"partitionKeys": {"dt": event_date(flat)}},
    }, None


def _unencodable_attribute(flat: dict[str, Any]) -> str:
    """The first attribute whose JSON text UTF-8 cannot carry; only called after one failed."""
    return next(name for name, value in flat.items() if not _utf8_encodable({name: value}))


def _utf8_encodable(value: dict[str, Any]) -> bool:
    try:
        _to_json(value).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _failed_entry(record: dict[str, Any]) -> dict[str, Any]:
    # Firehose writes the record's original data under the error prefix (`rawData`).
    return {
        "recordId": record["recordId"],
        "result": "ProcessingFailed",
        "data": record.get("data"),
    }


def _entry_size(entry: dict[str, Any]) -> int:
    # json.dumps' defaults (ASCII, ", " separators) are at least as long as the runtime's encoding.
    return len(json.dumps(entry))


def _decode_data(data: Any) -> Any:
    try:
        raw = base64.b64decode(data, validate=True)
    except (TypeError, ValueError) as error:
        raise StreamRecordError(f"data: not valid base64 ({error}): {_describe(data)}") from None
    try:
        # Decimal keeps a fractional ApproximateCreationDateTime exact (it becomes milliseconds).
        return json.loads(raw, parse_float=Decimal)
    except ValueError as error:
        raise StreamRecordError(f"data: not a JSON document ({error}): {_describe(raw)}") from None


def _plain_value(value: Any, path: str) -> Any:
    """A DynamoDB JSON attribute value ({"S": ...}, {"N": ...}, ...) -> plain JSON value."""
    if not isinstance(value, dict) or len(value) != 1:
        raise StreamRecordError(
            f'{path}: expected a DynamoDB attribute value like {{"S": ...}}, got {_describe(value)}'
        )
    ((tag, inner),) = value.items()
    if tag == "S" or tag == "B":
        return _typed(inner, str, path, tag)
    if tag == "N":
        return _number(inner, path)
    if tag == "BOOL":
        return _typed(inner, bool, path, tag)
    if tag == "NULL":
        return None
    if tag == "M":
        members = _typed(inner, dict, path, tag)
        return {name: _plain_value(member, f"{path}.{name}") for name, member in members.items()}
    if tag == "L":
        items = _typed(inner, list, path, tag)
        return [_plain_value(item, f"{path}[{index}]") for index, item in enumerate(items)]
    if tag == "SS" or tag == "BS":
        return [_typed(item, str, path, tag) for item in _typed(inner, list, path, tag)]
    if tag == "NS":
        return [_number(item, path) for item in _typed(inner, list, path, tag)]
    raise StreamRecordError(f"{path}: unknown DynamoDB type {_describe(tag)}")


def _typed(inner: Any, kind: type, path: str, tag: str) -> Any:
    if not isinstance(inner, kind):
        raise StreamRecordError(
            f"{path}: {tag} value must be a JSON {kind.__name__}, got {_describe(inner)}"
        )
    return inner


def _number(text: Any, path: str) -> Decimal:
    # Checked by pattern: Decimal() alone would also accept "NaN", "Infinity" and "1_000".
    if not isinstance(text, str) or not _NUMBER_TEXT.fullmatch(text):
        raise StreamRecordError(f"{path}: N value {_describe(text)} is not a decimal number")
    return Decimal(text)


def _required_text(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise StreamRecordError(f"{path}: expected a non-empty string, got {_describe(value)}")
    return value


def _iso_utc(epoch: Any) -> str:
    """Epoch seconds (int or fractional) or milliseconds -> 'YYYY-MM-DDTHH:MM:SS.mmmZ'."""
    if isinstance(epoch, bool) or not isinstance(epoch, int | Decimal) or not epoch > 0:
        raise StreamRecordError(
            "dynamodb.ApproximateCreationDateTime: expected epoch seconds or milliseconds, "
            f"got {_describe(epoch)}"
        )
    millis = int(epoch) if epoch >= MILLISECONDS_THRESHOLD else int(epoch * 1000)
    try:
        moment = datetime.fromtimestamp(millis // 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise StreamRecordError(
            f"dynamodb.ApproximateCreationDateTime: {_describe(epoch)} is out of range"
        ) from None
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def _to_json(value: Any) -> str:
    if isinstance(value, str):
        return _encode_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal) and value.is_finite():
        # str() keeps every digit ("19.990", big integers); the json module would go via float.
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        members = (f"{_encode_string(name)}:{_to_json(item)}" for name, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_to_json(item) for item in value) + "]"
    raise TypeError(f"flat record value {value!r} ({type(value).__name__}) is not JSON-writable")


def _describe(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
