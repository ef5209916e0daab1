"""A base for a service's metering rules: bills nothing, needs no body; services override."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson


class MeteringRules:
    def wants_body(self, record: Any) -> bool:
        return False

    def wants_response(self, record: Any) -> bool:
        return False

    def before(self, record: Any) -> Any:
        return None

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        return {}


def json_body(data: bytes | None) -> dict[str, Any]:
    """A JSON request or response body; {} when there is none or it is not JSON."""
    if not data:
        return {}
    try:
        # orjson: the data plane's bodies are megabytes. It reads an integer past 64 bits as a
        # float, which none of the AWS JSON APIs the meters read sends; json for what it
        # refuses (NaN).
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            parsed = json.loads(data)
        except ValueError:
            return {}
    return parsed if isinstance(parsed, dict) else {}
