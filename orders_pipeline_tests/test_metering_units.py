"""The meters' pure helpers: a base64 payload's decoded size, a request or response body read
as JSON."""

from __future__ import annotations

import base64
import os

import pytest

from orders_pipeline.local_stack.metering.rules import json_body
from orders_pipeline.local_stack.metering.units import base64_size


@pytest.mark.parametrize("length", range(0, 40))
def test_the_decoded_size_of_base64_is_that_of_its_bytes(length: int) -> None:
    text = base64.b64encode(os.urandom(length)).decode("ascii")

    assert base64_size(text) == length


@pytest.mark.parametrize("text", ["QUJD\nREVG", "QUJDRA", "QUJDRA=", "QU=JDRA="])
def test_text_that_is_not_padded_base64_is_decoded_as_b64decode_reads_it(text: str) -> None:
    try:
        expected = len(base64.b64decode(text))
    except ValueError:
        with pytest.raises(ValueError):
            base64_size(text)
    else:
        assert base64_size(text) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"Records": [{"Data": "QUJD"}]}', {"Records": [{"Data": "QUJD"}]}),
        (b'{"x": NaN}', "nan"),
        (b"[1, 2]", {}),
        (b"not json", {}),
        (b"", {}),
        (None, {}),
    ],
    ids=["object", "nan", "array", "not-json", "empty", "none"],
)
def test_a_body_is_read_as_a_json_object_or_nothing(body: bytes | None, expected) -> None:
    parsed = json_body(body)

    if expected == "nan":
        assert parsed["x"] != parsed["x"]
    else:
        assert parsed == expected
