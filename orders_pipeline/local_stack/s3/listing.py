"""ListObjectsV2's XML written directly, as moto's serializer writes it: that serializer took
about 0.7 ms per object listed, and sensors and watchers list their prefixes every few seconds."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

# The members of ListObjectsV2Output and of its Object, in the order of botocore's model (the
# order the serializer writes them in); lists are flattened, as the model says.
_RESULT_MEMBERS = (
    "IsTruncated",
    "Contents",
    "Name",
    "Prefix",
    "Delimiter",
    "MaxKeys",
    "CommonPrefixes",
    "EncodingType",
    "KeyCount",
    "NextContinuationToken",
    "StartAfter",
)
_OBJECT_MEMBERS = (
    "Key",
    "LastModified",
    "ETag",
    "ChecksumAlgorithm",
    "Size",
    "StorageClass",
    "Owner",
)
_KNOWN_RESULT = frozenset(_RESULT_MEMBERS)
_KNOWN_OBJECT = frozenset(_OBJECT_MEMBERS)
# moto's own LastModified text, which its serializer writes back unchanged.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'


def listing_xml(result: Any) -> str | None:
    """The ListBucketResult document of moto's ListObjectsV2 result; None for one of another
    form (moto's serializer writes that)."""
    if type(result) is not dict or not _KNOWN_RESULT.issuperset(result):
        return None
    parts = [_HEAD]
    for member in _RESULT_MEMBERS:
        value = result.get(member)
        if value is None:
            continue
        if member == "Contents":
            for item in value:
                written = _object_xml(item)
                if written is None:
                    return None
                parts.append(written)
        elif member == "CommonPrefixes":
            for folder in value:
                if type(folder) is not dict or type(folder.get("Prefix")) is not str:
                    return None
                parts.append(
                    f"<CommonPrefixes>{_element('Prefix', folder['Prefix'])}</CommonPrefixes>"
                )
        else:
            written = _scalar_element(member, value)
            if written is None:
                return None
            parts.append(written)
    parts.append("</ListBucketResult>")
    return "".join(parts)


def _object_xml(item: Any) -> str | None:
    if type(item) is not dict or not _KNOWN_OBJECT.issuperset(item):
        return None
    parts = ["<Contents>"]
    for member in _OBJECT_MEMBERS:
        value = item.get(member)
        if value is None:
            continue
        if member == "LastModified":
            if type(value) is not str or not _TIMESTAMP.fullmatch(value):
                return None
            parts.append(f"<LastModified>{value}</LastModified>")
        elif member == "ChecksumAlgorithm":
            if type(value) is not list or not all(type(name) is str for name in value):
                return None
            parts.extend(_element(member, name) for name in value)
        elif member == "Owner":
            if type(value) is not dict or not {"DisplayName", "ID"}.issuperset(value):
                return None
            owner = [
                _scalar_element(name, value[name])
                for name in ("DisplayName", "ID")
                if value.get(name) is not None
            ]
            if None in owner:
                return None
            parts.append(f"<Owner>{''.join(owner)}</Owner>")
        else:
            written = _scalar_element(member, value)
            if written is None:
                return None
            parts.append(written)
    parts.append("</Contents>")
    return "".join(parts)


def _scalar_element(name: str, value: Any) -> str | None:
    """The element of a string, boolean or integer member; None for a value of another type."""
    if type(value) is str:
        return _element(name, value)
    if type(value) is bool:
        return _element(name, "true" if value else "false")
    if type(value) is int:
        return _element(name, str(value))
    return None


def _element(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>" if text else f"<{name}/>"
