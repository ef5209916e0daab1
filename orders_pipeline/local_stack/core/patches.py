"""moto's request dispatcher and response finishing step, same results at a lower cost.

`DomainDispatcherApplication.get_backend_for_host` asks `moto.backends.list_of_moto_modules()`
on each request, which lists and stats moto's package directory (0.5 ms here) while holding the
lock every request passes through; the installed package does not change while the server runs.
`BaseResponse._enrich_response` runs `re.sub` for `<RequestId>` over every response body: the
data plane's JSON bodies are megabytes (GetRecords, Lambda payloads) and never hold one.
The response serializer reads each timestamp moto keeps as ISO 8601 text back with dateutil
(0.4 ms each under cProfile, a third of a ListObjectsV2 of 100 objects); `fromisoformat`
reads it alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto import backends
from moto.core.responses import BaseResponse
from moto.core.serialize import TimestampSerializer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from orders_pipeline.local_stack.patching import requires_source, wraps

_XML_REQUEST_ID = "<RequestId>"
_modules: tuple[str, ...] | None = None

requires_source(
    DomainDispatcherApplication,
    "get_backend_for_host",
    r"backends\.list_of_moto_modules\(\)",
    declared_in=__name__,
)

requires_source(
    TimestampSerializer,
    "_convert_timestamp_to_str",
    r"parse_to_aware_datetime\(value\)[\s\S]*converter\(datetime_obj\)",
    declared_in=__name__,
)


@wraps(backends, "list_of_moto_modules")
def list_of_moto_modules(original: Callable[[], Iterable[str]]) -> Iterable[str]:
    """moto's backend module names, listed once."""
    global _modules
    if _modules is None:
        _modules = tuple(original())
    return _modules


@wraps(BaseResponse, "_enrich_response")
def enrich_response(
    original: Callable[..., tuple[dict[str, str], Any]], headers: dict[str, str], body: Any
) -> tuple[dict[str, str], Any]:
    if isinstance(body, str) and _XML_REQUEST_ID in body:
        return original(headers, body)
    # moto's header work (status as text, a request id) on an empty body, where its regex has
    # nothing to scan; the body would come back unchanged anyway.
    headers, _ = original(headers, "")
    return headers, body


@wraps(TimestampSerializer, "_convert_timestamp_to_str")
def convert_timestamp_to_str(
    original: Callable[..., Any], self: TimestampSerializer, value: Any, timestamp_format: str
) -> Any:
    """A UTC ISO 8601 text ("...Z", as moto keeps them) read without dateutil; else moto's."""
    if type(value) is str and value.endswith("Z"):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return original(self, value, timestamp_format)
        return getattr(self, f"_timestamp_{timestamp_format.lower()}")(moment)
    return original(self, value, timestamp_format)
