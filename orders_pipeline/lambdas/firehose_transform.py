"""Firehose transform Lambda: DynamoDB stream records (via Pipes and Kinesis) to flat JSON lines.
Stdlib only: zipped as-is and deployed with the handler `firehose_transform.lambda_handler`.

Each record takes one of two paths to the same bytes. The general path parses the stream record
with `json` and writes the line attribute by attribute; it reads every DynamoDB type and names
the field and value of whatever it cannot use. The fast path serves the common record (compact
JSON, as Pipes writes it, without escape sequences, whose image holds S, N, B, BOOL and NULL
values) without building Python values: one regular expression checks that the whole record is
such JSON and finds its parts, and the image is rewritten into the line as text, by a pattern
of its own once its shape (names, order, types) has been seen twice. Once the record's envelope
(the members around the image) has been seen twice too, one pattern of the whole record does
all of that in one pass. Whatever the fast path does not recognise goes to the general path,
so it changes the speed and nothing else.
"""

from __future__ import annotations

import binascii
import gc
import json
import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

logger = logging.getLogger(__name__)
# Lambda's root handler prints whatever reaches it; this level lets the INFO summary through.
logger.setLevel(logging.INFO)

# Lambda's synchronous invocation limit, which applies to the response Firehose gets back.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
# Firehose's limit for one record; a longer line goes to the error prefix, not to S3.
RECORD_LIMIT_BYTES = 1000 * 1024

CDC_COLUMNS = ("cdc_event_type", "event_id", "sequence_number", "creation_datetime", "is_deleted")
# `dt` lives only in the S3 path (Hive partition); a column of that name would clash with it.
RESERVED_NAMES = frozenset(CDC_COLUMNS) | {"dt"}

# The image an event's attributes come from (REMOVE is the one event that deletes the item).
IMAGE_BY_EVENT = {"INSERT": "NewImage", "MODIFY": "NewImage", "REMOVE": "OldImage"}
KEY_TYPES = ("S", "N", "B")

# Epoch seconds pass 1e11 only in the year 5138, epoch milliseconds passed it in 1973.
MILLISECONDS_THRESHOLD = 10**11

# An N value JSON can carry as it is, and DynamoDB's wider number text (a leading "+", no digit
# before or after the point, leading zeros), which is rewritten into the first form.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_TEXT = re.compile(r"([+-]?)(?=\.?[0-9])([0-9]*)(?:\.([0-9]*))?([eE][+-]?[0-9]+)?")

# Entries are joined by ", " inside this envelope (json.dumps' defaults, which the Lambda
# runtime uses to write the response). An entry's size is that of these templates plus its
# strings: recordId, data and dt each replace an empty "" (json.dumps' escapes included).
_EMPTY_RESPONSE_BYTES = len(json.dumps({"records": []}))
_OK_ENTRY_BYTES = len(
    json.dumps(
        {"recordId": "", "result": "Ok", "data": "", "metadata": {"partitionKeys": {"dt": ""}}}
    )
)
# Without the two "" of recordId and data; an Ok entry is this much longer than a failed one,
# plus its data and dt, less the failed one's data.
_FAILED_ENTRY_BYTES = (
    len(json.dumps({"recordId": "", "result": "ProcessingFailed", "data": ""})) - 4
)
_GROWTH_BYTES = _OK_ENTRY_BYTES - 2 - (_FAILED_ENTRY_BYTES + 2)


class StreamRecordError(ValueError):
    """A stream record that cannot become a flat record; the message names the field and value."""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point Firehose invokes for each buffered batch of Kinesis records."""
    # Nothing here makes reference cycles, and the response's thousands of entries would make
    # each of the collector's passes longer: reference counting alone frees what is dropped.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return transform_records(event)
    finally:
        if collecting:
            gc.enable()


def transform_records(
    event: dict[str, Any], response_limit_bytes: int = RESPONSE_LIMIT_BYTES
) -> dict[str, Any]:
    """A Firehose transformation invocation -> its response: every recordId once, in order.

    Records that cannot be flattened, and records whose Ok result would take the response past
    `response_limit_bytes`, come back ProcessingFailed with their original data, so Firehose
    writes them under the error prefix instead of failing (and later skipping) the whole batch.
    """
    records = event["records"]
    entries: list[dict[str, Any]] = []
    # Per record, how much its Ok entry adds to its ProcessingFailed one (None: it has none).
    growths: list[int | None] = []
    reasons: dict[int, str] = {}
    data_bytes = total_growth = positive_growth = 0  # data_bytes: the `data` JSON of them all
    # Bound once: the loop runs per record, and most records take the fast path inline.
    a2b, b2a, fast_line, add = binascii.a2b_base64, binascii.b2a_base64, _fast_line, entries.append
    for record in records:
        data = record.get("data")
        found = raw = None
        if type(data) is str:
            try:
                raw = a2b(data, strict_mode=True)
            except ValueError:  # not base64: _slow_line_bytes says so
                pass
            else:
                found = fast_line(raw)
        if found is not None and len(found[0]) <= RECORD_LIMIT_BYTES:
            line, dt = found
        else:
            try:
                line, dt = _slow_line_bytes(data, raw, found)
            except StreamRecordError as error:
                reasons[len(entries)] = str(error)
                add({"recordId": record["recordId"], "result": "ProcessingFailed", "data": data})
                growths.append(None)
                data_bytes += _json_size(data)
                continue
        encoded = b2a(line, newline=False).decode("ascii")
        metadata = _METADATA.get(dt) or _metadata(dt)
        add({"recordId": record["recordId"], "result": "Ok", "data": encoded, "metadata": metadata})
        # `data` decoded as strict base64: its JSON is itself in quotes.
        size = len(data)
        data_bytes += size + 2
        growth = _GROWTH_BYTES + len(encoded) + len(dt) - size
        growths.append(growth)
        total_growth += growth
        if growth > 0:
            positive_growth += growth

    # Start from the all-failed response (never larger than the request Firehose sent) and keep
    # Ok results while they fit, so whatever is left out still reaches the error prefix.
    count = len(entries)
    separators = 2 * max(count - 1, 0)
    # json.dumps of the list of recordIds: their JSON, the brackets and the separators.
    id_bytes = len(json.dumps([entry["recordId"] for entry in entries])) - 2 - separators
    response_bytes = (
        _EMPTY_RESPONSE_BYTES + separators + count * _FAILED_ENTRY_BYTES + id_bytes + data_bytes
    )
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
    over_budget_count = 0
    if response_bytes + positive_growth <= response_limit_bytes:
        # Every Ok entry fits, whatever the order: no record needs the budget's decision.
        response_bytes += total_growth
    else:
        for index, growth in enumerate(growths):
            if growth is None:
                continue
            if growth <= 0 or response_bytes + growth <= response_limit_bytes:
                response_bytes += growth
                continue
            entries[index] = {
                "recordId": entries[index]["recordId"],
                "result": "ProcessingFailed",
                "data": records[index].get("data"),
            }
            over_budget_count += 1
            reasons[index] = (
                f"response budget: its Ok result would take the response past the "
                f"{response_limit_bytes}-byte Lambda limit; original data sent to the error prefix"
            )
    for index in sorted(reasons):
        logger.warning(
            "recordId %s ProcessingFailed: %s", entries[index]["recordId"], reasons[index]
        )
    failed_count = len(reasons)

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


def flat_line(record: Any) -> tuple[str, str]:
    """One DynamoDB stream record -> (its flat JSON line, newline-terminated; its `dt`).

    The line holds the image's attributes with the key attributes of `dynamodb.Keys` laid over
    them, then the CDC columns. INSERT and MODIFY take NewImage, REMOVE takes OldImage; without
    that image (KEYS_ONLY, or the view that lacks it) the line has the keys and CDC columns only.
    """
    columns, dt = _flat_columns(record)
    return _join_columns(columns), dt


def flatten_stream_record(record: Any) -> dict[str, Any]:
    """The flat record of `flat_line` as Python values (numbers as int or exact Decimal)."""
    return json.loads(flat_line(record)[0], parse_float=Decimal)


# ------------------------------------------------------------------------------ general path


def _slow_line_bytes(
    data: Any, raw: bytes | None, found: tuple[bytes, str] | None
) -> tuple[bytes, str]:
    """(The flat line as UTF-8, its `dt`) of a Kinesis record's base64 data that the fast path
    did not serve: `raw` is the data decoded (None: it is not base64 text), `found` the fast
    path's line (then too long) or None. Or the StreamRecordError that says why there is none.
    """
    if type(data) is not str:
        raise StreamRecordError(f"data: expected base64 text, got {_describe(data)}")
    if raw is None:
        try:
            raw = binascii.a2b_base64(data, strict_mode=True)
        except ValueError as error:
            message = f"data: not valid base64 ({error}): {_describe(data)}"
            raise StreamRecordError(message) from None
    line_and_dt = found if found is not None else _general_line(raw)
    if len(line_and_dt[0]) > RECORD_LIMIT_BYTES:
        raise StreamRecordError(
            f"record size: its flat line is {len(line_and_dt[0])} bytes, past Firehose's "
            f"{RECORD_LIMIT_BYTES}-byte record limit"
        )
    return line_and_dt


def _general_line(raw: bytes) -> tuple[bytes, str]:
    try:
        # Decimal keeps a fractional ApproximateCreationDateTime exact (it becomes milliseconds).
        record = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError) as error:
        raise StreamRecordError(f"data: not a JSON document ({error}): {_describe(raw)}") from None
    columns, dt = _flat_columns(record)
    try:
        return _join_columns(columns).encode("utf-8"), dt
    except UnicodeEncodeError as error:
        # JSON lets "\ud800" escapes through; UTF-8 cannot carry a lone surrogate.
        name = next(name for name, text in columns.items() if not _utf8_encodable(name + text))
        raise StreamRecordError(
            f"attribute {name!r}: text is not valid Unicode ({error.reason})"
        ) from None


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _flat_columns(record: Any) -> tuple[dict[str, str], str]:
    """The flat record's columns, {name: JSON text}, and its `dt`."""
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
    second, dt, millis = _creation_time(stream.get("ApproximateCreationDateTime"))
    keys = _key_columns(stream.get("Keys"))

    columns: dict[str, str] = {}
    image = stream.get(image_name)
    if image is not None:
        image_path = f"dynamodb.{image_name}"
        if not isinstance(image, dict):
            raise StreamRecordError(f"{image_path}: expected a JSON object, got {_describe(image)}")
        if not RESERVED_NAMES.isdisjoint(image):
            name = next(name for name in image if name in RESERVED_NAMES)
            raise StreamRecordError(
                f"{image_path}.{name}: attribute name is reserved for a CDC column"
            )
        for name, value in image.items():
            # S, the most common value, written here; every other one by _value_json.
            text = value.get("S") if type(value) is dict and len(value) == 1 else None
            if type(text) is str:
                columns[name] = encode_basestring(text)
            else:
                columns[name] = _value_json(value, image_path, name)
    columns.update(keys)
    columns["cdc_event_type"] = f'"{event_name}"'
    columns["event_id"] = encode_basestring(event_id)
    columns["sequence_number"] = encode_basestring(sequence_number)
    columns["creation_datetime"] = f'"{second.decode()}.{millis % 1000:03d}Z"'
    columns["is_deleted"] = "true" if event_name == "REMOVE" else "false"
    return columns, dt


def _join_columns(columns: dict[str, str]) -> str:
    return (
        "{"
        + ",".join(f"{encode_basestring(name)}:{text}" for name, text in columns.items())
        + "}\n"
    )


def _key_columns(keys: Any) -> dict[str, str]:
    """dynamodb.Keys -> {key attribute: its JSON text}; each must be a non-empty S, N or B."""
    if not isinstance(keys, dict) or not keys:
        raise StreamRecordError(
            f"dynamodb.Keys: expected the item's key attributes, got {_describe(keys)}"
        )
    columns = {}
    for name, value in keys.items():
        path = f"dynamodb.Keys.{name}"
        if name in RESERVED_NAMES:
            raise StreamRecordError(f"{path}: attribute name is reserved for a CDC column")
        tag, inner = (
            next(iter(value.items())) if type(value) is dict and len(value) == 1 else (None, None)
        )
        if not (tag == "N" or (tag in KEY_TYPES and type(inner) is str and inner)):
            raise StreamRecordError(
                f"{path}: expected a non-empty S, N or B key value, got {_describe(value)}"
            )
        columns[name] = _value_json(value, "dynamodb.Keys", name)
    return columns


def _value_json(value: Any, parent: str, name: str | int) -> str:
    """A DynamoDB JSON attribute value ({"S": ...}, {"N": ...}, ...) -> its plain JSON text.

    `parent` and `name` say where it is, for error messages (an int `name` is a list index).
    """
    if type(value) is not dict or len(value) != 1:
        raise StreamRecordError(
            f"{_path(parent, name)}: expected a DynamoDB attribute value like "
            f'{{"S": ...}}, got {_describe(value)}'
        )
    ((tag, inner),) = value.items()
    if tag == "S" or tag == "B":
        if type(inner) is str:
            return encode_basestring(inner)
        kind = "string"
    elif tag == "N":
        return _number_json(inner, parent, name)
    elif tag == "BOOL":
        if type(inner) is bool:
            return "true" if inner else "false"
        kind = "boolean"
    elif tag == "NULL":
        return "null"
    elif tag == "M":
        if type(inner) is dict:
            path = _path(parent, name)
            members = (
                f"{encode_basestring(key)}:{_value_json(item, path, key)}"
                for key, item in inner.items()
            )
            return "{" + ",".join(members) + "}"
        kind = "object"
    elif tag == "L":
        if type(inner) is list:
            path = _path(parent, name)
            items = (_value_json(item, path, index) for index, item in enumerate(inner))
            return "[" + ",".join(items) + "]"
        kind = "array"
    elif tag == "SS" or tag == "BS":
        if type(inner) is list and all(type(item) is str for item in inner):
            return "[" + ",".join(map(encode_basestring, inner)) + "]"
        kind = "array of strings"
    elif tag == "NS":
        if type(inner) is list:
            return "[" + ",".join(_number_json(item, parent, name) for item in inner) + "]"
        kind = "array"
    else:
        raise StreamRecordError(f"{_path(parent, name)}: unknown DynamoDB type {_describe(tag)}")
    raise StreamRecordError(
        f"{_path(parent, name)}: {tag} value must be a JSON {kind}, got {_describe(inner)}"
    )


def _path(parent: str, name: str | int) -> str:
    return f"{parent}[{name}]" if type(name) is int else f"{parent}.{name}"


def _number_json(text: Any, parent: str, name: str | int) -> str:
    """An N value as a JSON number: the same digits, in JSON's spelling where DynamoDB's differs
    ("+1" -> "1", ".5" -> "0.5", "5." -> "5", "007" -> "7")."""
    if type(text) is str:
        if _JSON_NUMBER.fullmatch(text):
            return text
        # Checked by pattern, not Decimal(): that would also take "NaN", "Infinity", "1_000".
        match = _NUMBER_TEXT.fullmatch(text)
        if match:
            sign, whole, fraction, exponent = match.groups()
            return (
                ("-" if sign == "-" else "")
                + (whole.lstrip("0") or "0")
                + (f".{fraction}" if fraction else "")
                + (exponent or "")
            )
    raise StreamRecordError(
        f"{_path(parent, name)}: N value {_describe(text)} is not a decimal number"
    )


def _required_text(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise StreamRecordError(f"{path}: expected a non-empty string, got {_describe(value)}")
    return value


def _creation_time(epoch: Any) -> tuple[bytes, str, int]:
    """ApproximateCreationDateTime (epoch seconds, whole or fractional, or milliseconds) ->
    (b'YYYY-MM-DDTHH:MM:SS' of it in UTC, its date, its epoch milliseconds)."""
    if isinstance(epoch, bool) or not isinstance(epoch, int | Decimal) or not epoch > 0:
        raise StreamRecordError(
            "dynamodb.ApproximateCreationDateTime: expected epoch seconds or milliseconds, "
            f"got {_describe(epoch)}"
        )
    millis = int(epoch) if epoch >= MILLISECONDS_THRESHOLD else int(epoch * 1000)
    second = _utc_second(millis // 1000)
    if second is None:
        raise StreamRecordError(
            f"dynamodb.ApproximateCreationDateTime: {_describe(epoch)} is out of range"
        )
    return second[0], second[1], millis


# Records of one batch share few seconds, and formatting a datetime costs more than the rest
# of a fast-path line: epoch seconds -> (b'YYYY-MM-DDTHH:MM:SS' in UTC, 'YYYY-MM-DD').
_SECONDS: dict[int, tuple[bytes, str]] = {}


def _utc_second(seconds: int) -> tuple[bytes, str] | None:
    """The `_SECONDS` entry of epoch seconds; None when out of datetime's range."""
    known = _SECONDS.get(seconds)
    if known is None:
        try:
            text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        except (OverflowError, ValueError, OSError):
            return None
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[seconds] = known = (text.encode("ascii"), text[:10])
    return known


# Entries of one date share their metadata: the response is only ever serialized.
_METADATA: dict[str, dict[str, dict[str, str]]] = {}


def _metadata(dt: str) -> dict[str, dict[str, str]]:
    if len(_METADATA) >= 4096:
        _METADATA.clear()
    _METADATA[dt] = metadata = {"partitionKeys": {"dt": dt}}
    return metadata


def _json_size(value: Any) -> int:
    """len(json.dumps(value)), cheaply for the strings a Firehose record holds."""
    if type(value) is str:
        return len(encode_basestring_ascii(value))
    return len(json.dumps(value))


def _describe(value: Any, limit: int = 60) -> str:
    """The value as its JSON showed it (repr of str and bytes), cut to `limit` characters."""
    if isinstance(value, Decimal):
        text = str(value)
    else:
        text = repr(value[:limit] if isinstance(value, str | bytes) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------ fast path
#
# Without a backslash or control character in it, every `"` of a JSON text opens or closes a
# string, and `"[^"]*"` is exactly a JSON string, its text being its value. The record pattern
# accepts a compact JSON object whose images are objects of {"<tag>": <string or true/false>}
# values (which covers S, N, B, BOOL and NULL) and captures the parts the line is made of; the
# image the line takes is then checked value by value as it is rewritten. A repeated name keeps
# its last value, as in json.loads. `(?>...)` and possessive repeats never backtrack.

_NUMBER = rb"-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+"
_SCALAR = rb'(?>"[^"]*+"|' + _NUMBER + rb"|true|false|null)"
_ANY_VALUE = rb'\{"[^"]++":(?>"[^"]*+"|true|false)\}'
_IMAGE = rb'\{(?:"[^"]*+":' + _ANY_VALUE + rb',)*+"[^"]*+":' + _ANY_VALUE + rb"\}"
# Keys as the general path takes them: non-empty S or B values, or N values.
_KEY_VALUE = rb'\{(?>"[SB]":"[^"]++"|"N":"' + _NUMBER + rb'")\}'
_KEYS = rb'\{(?:"[^"]*+":' + _KEY_VALUE + rb',)*+"[^"]*+":' + _KEY_VALUE + rb"\}"
_NEXT = rb'(?:,(?=")|(?=\}))'
# Any other eventName fails the pattern, and the general path names it.
_EVENT_NAMES = b"|".join(name.encode() for name in IMAGE_BY_EVENT)
_STREAM = (
    rb'\{(?:(?>"NewImage":(?P<new>' + _IMAGE + rb')|"OldImage":(?P<old>' + _IMAGE + rb")"
    rb'|"Keys":(?P<keys>' + _KEYS + rb')|"SequenceNumber":"(?P<seq>[^"]++)"'
    rb'|"ApproximateCreationDateTime":(?P<created>' + _NUMBER + rb")"
    rb'|"(?!(?:NewImage|OldImage|Keys|SequenceNumber|ApproximateCreationDateTime)")'
    rb'[^"]*+":' + _SCALAR + rb")" + _NEXT + rb")*+\}"
)
_FAST_RECORD = re.compile(
    rb'\{(?:(?>"eventID":"(?P<id>[^"]++)"|"eventName":"(?P<name>' + _EVENT_NAMES + rb')"'
    rb'|"dynamodb":(?P<stream>' + _STREAM + rb')|"(?!(?:eventID|eventName|dynamodb)")'
    rb'[^"]*+":' + _SCALAR + rb")" + _NEXT + rb")*+\}"
)
# match.regs holds the spans of these groups in this order.
_GROUP_ORDER = ("id", "name", "stream", "new", "old", "keys", "seq", "created")
assert tuple(_FAST_RECORD.groupindex) == _GROUP_ORDER, _FAST_RECORD.groupindex
_fast_record = _FAST_RECORD.fullmatch
# Values as the general path writes them as they are: S and B text, N digits as JSON spells
# them, BOOL; and NULL. Split at them, an image becomes [b'{"a":', text, digits, bool, null,
# b',"b":', ..., b'}']; joined without the Nones (NULL aside), the attributes' plain JSON.
_STRING, _DIGITS, _BOOL, _NULL = range(4)
_VALUE_PATTERNS = (
    rb'\{"[SB]":("[^"]*+")\}',
    rb'\{"N":"(' + _NUMBER + rb')"\}',
    rb'\{"BOOL":(true|false)\}',
    rb'\{"NULL":(true)\}',
)
_split_values = re.compile(b"|".join(_VALUE_PATTERNS)).split
_VALUE_KINDS = len(_VALUE_PATTERNS)
_RESERVED_PIECES = frozenset(f',"{name}":'.encode() for name in RESERVED_NAMES)
# What sends a record to the general path at once: backslashes and control characters.
_NOT_FAST = b"\\" + bytes(range(32))
# The line's tail by event, to fill with event_id, sequence_number, the second and the
# milliseconds of creation_datetime.
_TAILS = tuple(
    (
        f',"cdc_event_type":"{name}","event_id":"%s","sequence_number":"%s",'
        f'"creation_datetime":"%s.%03dZ","is_deleted":{"true" if name == "REMOVE" else "false"}'
        "}\n"
    ).encode()
    for name in IMAGE_BY_EVENT
)
# By the first byte of the event name: its index in _TAILS, its tail, and whether its line
# comes from OldImage.
_BY_EVENT = {
    name.encode()[0]: (index, _TAILS[index], image == "OldImage")
    for index, (name, image) in enumerate(IMAGE_BY_EVENT.items())
}
assert len(_BY_EVENT) == len(IMAGE_BY_EVENT)
# ApproximateCreationDateTime's text -> (b'YYYY-MM-DDTHH:MM:SS', dt, milliseconds of the second)
_FAST_TIMES: dict[bytes, tuple[bytes, str, int]] = {}
# Images of one table mostly share their shape (names, their order and their types). A shape
# seen twice gets a pattern of its own that checks such an image and captures its values in
# one pass, and formats (one per event, as _TAILS) that write its line from them and the CDC
# values: (fullmatch, formats), most recently used first, the last one dropped for a new one.
_SHAPES: list[tuple[Any, tuple[bytes, ...]]] = []
_SHAPES_KEPT = 8
# How often each shape (names and kinds; up to a thousand of them) was split while it had no
# pattern. A shape gets its pattern when seen twice, and again (it had been dropped) when its
# count reaches 256, 512, 1024...: images of ever new shapes compile nothing, and many shapes
# taking turns compile a few patterns each, not one per few images.
_SHAPES_SEEN: dict[bytes, int] = {}
# Records of one stream mostly share their envelope too: the members around the image, their
# order and values' types, which images they carry. An envelope seen twice with an image of a
# known shape gets a pattern for the whole record: the members as _FAST_RECORD takes them, the
# image by its shape, and Keys' values referred back to in it, so one pass finds every part of
# the line. (fullmatch, format, the slice of the groups that are the image's values, and the
# groups of eventID, SequenceNumber and ApproximateCreationDateTime), by the event's first
# letter, most recently used first; counted and renewed as the shapes are.
_RECORDS: dict[bytes, list[tuple[Any, ...]]] = {}
_RECORDS_KEPT = 4
_RECORDS_SEEN: dict[bytes, int] = {}
# An image value that must equal a Keys value: the %s is the group that captured it.
_REFERRED_VALUES = {_STRING: rb'\{"[SB]":("(?P=%s)")\}', _DIGITS: rb'\{"N":"((?P=%s))"\}'}
_KEY_PATTERNS = {
    b"S": rb'\{"[SB]":"(?P<%s>[^"]++)"\}',
    b"B": rb'\{"[SB]":"(?P<%s>[^"]++)"\}',
    b"N": rb'\{"N":"(?P<%s>' + _NUMBER.replace(b"%", b"%%") + rb')"\}',
}
_KEY_MEMBERS = re.compile(rb'[{,]"([^"]*+)":\{"([SBN])":').findall
# A record's envelope: its text with each scalar member value as \x00 and the parts the line
# takes as \x01 (eventID's text), \x02 (eventName's, kept as it is), \x03 (Keys), \x04
# (SequenceNumber's text), \x05 (ApproximateCreationDateTime), \x06 (the image) and \x07 (the
# other image).
_SKELETON_SCALARS = re.compile(
    rb'(?<=:)(?:"[^"\x00-\x1f]*+"|' + _NUMBER + rb"|true|false|null)(?=[,}])"
).sub
_SKELETON_PARTS = re.compile(rb"([\x00-\x07])").split


def _fast_line(raw: bytes) -> tuple[bytes, str] | None:
    """The general path's line for a common record, found faster; None for any other record."""
    if len(raw.translate(None, _NOT_FAST)) != len(raw):
        return None
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    at = raw.find(b'"eventName":"')
    learned = _RECORDS.get(raw[at + 13 : at + 14]) if at >= 0 else None
    if learned:  # the most recent envelope of the event first, then the others
        line_and_dt = _flat_by_record(raw, learned[0]) or _flat_by_other_records(raw, learned)
        if line_and_dt is not None:
            return line_and_dt
    match = _fast_record(raw)
    if match is None:
        return None
    regs = match.regs
    _, id_, name, stream, new, old, keys, sequence, created = regs
    event = _BY_EVENT.get(raw[name[0]])  # without an eventName, raw[-1]: "}", none's first byte
    if event is None:
        return None
    which, tail, deletes = event
    image_start, image_end = old if deletes else new
    # Captures of an earlier "dynamodb" member are not this record's (json.loads keeps the last).
    start = stream[0]
    if (
        id_[0] < 0
        or keys[0] < start
        or sequence[0] < start
        or created[0] < start
        or -1 < image_start < start
    ):
        return None
    created_text = raw[created[0] : created[1]]
    when = _FAST_TIMES.get(created_text) or _fast_time(created_text)
    if when is None:
        return None
    second, dt, millis = when
    cdc = (raw[id_[0] : id_[1]], raw[sequence[0] : sequence[1]], second, millis)
    if image_start < 0:
        line = _flat_by_split(raw[keys[0] : keys[1]], tail % cdc, learn=False)
    elif not _holds_keys(raw, image_start, image_end, raw[keys[0] : keys[1] - 1]):
        return None  # Keys laid over the image would change it: the general path does that
    else:
        shape = _SHAPES[0] if _SHAPES else None  # the most recent shape: most images have it
        match = shape[0](raw, image_start, image_end) if shape is not None else None
        if match is None:
            shaped = _flat_by_shape(raw, image_start, image_end)
            if shaped is None:
                line = _flat_by_split(raw[image_start:image_end], tail % cdc, learn=True)
                return None if line is None else (line, dt)
            shape, match = shaped
        line = shape[1][which] % (match.groups() + cdc)
        _learn_record(raw, regs, shape, (line, dt))
    return None if line is None else (line, dt)


def _flat_by_shape(raw: bytes, start: int, end: int) -> tuple[Any, Any] | None:
    """(The shape, its match) of the image raw[start:end] if it has one of the known shapes but
    the most recent (_fast_line tries that one), which becomes the most recent; else None."""
    for index in range(1, len(_SHAPES)):
        match = _SHAPES[index][0](raw, start, end)
        if match is not None:
            _SHAPES.insert(0, _SHAPES.pop(index))
            return _SHAPES[0], match
    return None


def _flat_by_record(raw: bytes, record: tuple[Any, ...]) -> tuple[bytes, str] | None:
    """(The line, its dt) of a record of a learned envelope, by its pattern; else None."""
    fullmatch, line_format, first, last, at_id, at_sequence, at_created = record
    match = fullmatch(raw)
    if match is None:
        return None
    groups = match.groups()
    created = groups[at_created]
    when = _FAST_TIMES.get(created) or _fast_time(created)
    if when is None:
        return None
    cdc = (groups[at_id], groups[at_sequence], when[0], when[2])
    return line_format % (groups[first:last] + cdc), when[1]


def _flat_by_other_records(raw: bytes, learned: list[tuple[Any, ...]]) -> tuple[bytes, str] | None:
    """`_flat_by_record` by the event's other envelopes, the one that matches made the most
    recent."""
    for index in range(1, len(learned)):
        line_and_dt = _flat_by_record(raw, learned[index])
        if line_and_dt is not None:
            learned.insert(0, learned.pop(index))
            return line_and_dt
    return None


def _flat_by_split(image: bytes, tail: bytes, learn: bool) -> bytes | None:
    """The line of an image (or of Keys) whose values all have a fast-path form; else None.

    `learn`: count the image's shape towards a pattern of its own (images, not Keys).
    """
    parts = _split_values(image)
    stride = _VALUE_KINDS + 1
    names = parts[::stride]
    names[0] = b"," + names[0][1:]
    if (
        len(set(names)) != len(names)  # a repeated name: json.loads keeps one, so must the line
        or not _RESERVED_PIECES.isdisjoint(names)
        or b"{" in b"".join(names)  # a value of another form, left between two names
    ):
        return None
    nulls = parts[_NULL + 1 :: stride].count(None) != len(names) - 1
    if learn:
        kinds = bytes(
            next(kind for kind in range(_VALUE_KINDS) if parts[start + kind] is not None)
            for start in range(1, len(parts) - 1, stride)
        )
        _learn_shape(names, kinds)
    if nulls:
        return None  # the split leaves `true` for NULL; a shape or the general path write null
    parts[-1] = tail
    return b"".join(filter(None, parts))


def _time_to_learn(counts: dict[bytes, int], key: bytes) -> bool:
    """Count a sighting of `key` (up to a thousand keys are counted); True on the second and
    the 256th, 512th, 1024th...: what is seen once compiles nothing, and what keeps coming back
    after being dropped compiles again now and then, not once per few sightings."""
    seen = counts.get(key, 0) + 1
    if len(counts) >= 1024:
        counts.clear()
    counts[key] = seen
    return seen == 2 or (seen >= 256 and not seen & (seen - 1))


def _learn_shape(names: list[bytes], kinds: bytes) -> None:
    """Count a shape's split; on the second (and 256th, 512th...), give it its pattern."""
    if not _time_to_learn(_SHAPES_SEEN, b"".join(names) + kinds):
        return
    names = tuple(names[: len(kinds)])
    line_format = [b"{"]
    for index, kind in enumerate(kinds):
        name = names[index][1:] if index == 0 else names[index]
        line_format.append(name.replace(b"%", b"%%") + (b"null" if kind == _NULL else b"%s"))
    formats = tuple(b"".join(line_format) + tail for tail in _TAILS)
    fullmatch = re.compile(_image_pattern(names, kinds, {})).fullmatch
    _SHAPES.insert(0, (fullmatch, formats, names, kinds))
    del _SHAPES[_SHAPES_KEPT:]


def _image_pattern(names: tuple[bytes, ...], kinds: bytes, references: dict[int, bytes]) -> bytes:
    """The pattern of a shape's images (`names` as `,"name":`), capturing the values the line
    writes; an attribute in `references` must have the value of the group it names."""
    pattern = [rb"\{"]
    for index, kind in enumerate(kinds):
        name = names[index][1:] if index == 0 else names[index]
        group = references.get(index)
        if group is None:
            value = _VALUE_PATTERNS[kind].replace(b"(true)", b"true")
        else:
            value = _REFERRED_VALUES[kind] % group
        pattern.append(re.escape(name) + value)
    pattern.append(rb"\}")
    return b"".join(pattern)


def _learn_record(raw: bytes, regs: Any, shape: tuple[Any, ...], line_and_dt: Any) -> None:
    """Count the envelope of a record whose image had a known shape; on the second (and
    256th, 512th...), give the envelope and the shape a pattern for the whole record.

    `regs` are the spans of the record pattern's groups, `line_and_dt` what the record gave.
    """
    _, id_, name, stream, new, old, keys, sequence, created = regs
    event = raw[name[0] : name[1]]
    image, other = (old, new) if event == b"REMOVE" else (new, old)
    _, formats, names, kinds = shape
    if keys[0] > image[0]:
        return  # the image refers back to Keys' values, so Keys must come first
    key_members = _KEY_MEMBERS(raw, keys[0], keys[1])
    # _holds_keys found each key attribute in the image, with Keys' value (so of its kind).
    references = {
        names.index(b',"' + key + b'":'): b"k%d" % index
        for index, (key, _) in enumerate(key_members)
    }
    parts = sorted(
        (span, marker)
        for span, marker in zip(
            (id_, name, keys, sequence, created, image, other),
            b"\x01\x02\x03\x04\x05\x06\x07",
            strict=True,
        )
        if span[0] >= 0
    )
    pieces, end = [], 0
    for (start, stop), marker in parts:
        pieces += (raw[end:start], bytes((marker,)))
        end = stop
    pieces.append(raw[end:])
    # A member that repeats is no matter: the pattern captures where _FAST_RECORD did.
    skeleton = _SKELETON_SCALARS(b"\x00", b"".join(pieces))
    if not _time_to_learn(
        _RECORDS_SEEN, b"%s\x00%s\x00%s" % (event, b"".join(names) + kinds, skeleton)
    ):
        return
    keys_pattern = (
        rb"\{"
        + b",".join(
            b'"%s":' % re.escape(key) + _KEY_PATTERNS[tag] % (b"k%d" % index)
            for index, (key, tag) in enumerate(key_members)
        )
        + rb"\}"
    )
    replacements = {
        b"\x00": _SCALAR,
        b"\x01": rb'(?P<id>[^"]++)',
        b"\x02": re.escape(event),
        b"\x03": keys_pattern,
        b"\x04": rb'(?P<seq>[^"]++)',
        b"\x05": rb"(?P<created>" + _NUMBER + rb")",
        b"\x06": _image_pattern(names, kinds, references),
        b"\x07": _IMAGE,
    }
    compiled = re.compile(
        b"".join(
            replacements.get(piece) or re.escape(piece)
            for piece in _SKELETON_PARTS(skeleton)
            if piece
        )
    )
    values = sorted(set(range(1, compiled.groups + 1)) - set(compiled.groupindex.values()))
    record = (
        compiled.fullmatch,
        formats[_BY_EVENT[event[0]][0]],
        values[0] - 1 if values else 0,
        values[-1] if values else 0,
        compiled.groupindex["id"] - 1,
        compiled.groupindex["seq"] - 1,
        compiled.groupindex["created"] - 1,
    )
    # The pattern must give this record's line, or it is not kept.
    if _flat_by_record(raw, record) != line_and_dt:
        return
    learned = _RECORDS.setdefault(event[:1], [])
    learned.insert(0, record)
    del learned[_RECORDS_KEPT:]


def _holds_keys(raw: bytes, start: int, end: int, keys: bytes) -> bool:
    """Whether the (fast-path) image raw[start:end] holds each key attribute with the value
    Keys gives it; `keys` is the Keys object's text without its closing brace."""
    if raw.startswith(keys, start, end):
        return True  # the keys first, in Keys' order
    members = keys[1:]
    # One key: `,"name":{...}` in the image is that attribute (a `,"` followed by a name's
    # text cannot close a string), and `"}` ends its value. More keys in other places: no.
    return b'},"' not in members and raw.find(b"," + members, start, end) >= 0


def _fast_time(created: bytes) -> tuple[bytes, str, int] | None:
    """`_creation_time` of a whole or decimal-point epoch's number text; else None."""
    whole, point, fraction = created.partition(b".")
    if not whole.isdigit() or (point and not fraction.isdigit()):
        return None
    epoch = int(whole)
    if epoch == 0:
        return None
    if epoch >= MILLISECONDS_THRESHOLD:
        millis = epoch
    else:
        millis = epoch * 1000 + (int(fraction[:3].ljust(3, b"0")) if point else 0)
    second = _utc_second(millis // 1000)
    if second is None:
        return None
    if len(_FAST_TIMES) >= 4096:
        _FAST_TIMES.clear()
    _FAST_TIMES[created] = when = (second[0], second[1], millis % 1000)
    return when
