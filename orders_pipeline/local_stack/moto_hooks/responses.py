"""moto's response finishing step without a regex scan of bodies that have no XML RequestId."""

# `BaseResponse._enrich_response` runs `re.sub` for `<RequestId>` over every response body. The
# data plane's JSON bodies are megabytes (GetRecords, Lambda payloads) and never hold one, and
# the scan cost as much server CPU as the Kinesis calls themselves. Same headers, same bodies.

from __future__ import annotations

from typing import Any

from moto.core.responses import BaseResponse

from orders_pipeline.local_stack.moto_hooks.internals import require_members

_XML_REQUEST_ID = "<RequestId>"
_original: Any = None


def check_internals() -> None:
    """Raise naming the moto internal this hook needs when an upgrade removed it."""
    require_members(__name__, {BaseResponse: ("_enrich_response",)})
    if not isinstance(BaseResponse.__dict__["_enrich_response"], staticmethod):
        raise RuntimeError(
            "moto internal moto.core.responses.BaseResponse._enrich_response is no longer a "
            f"staticmethod: {__name__} needs updating for this moto"
        )


def install() -> None:
    global _original
    check_internals()
    if BaseResponse._enrich_response is enrich_response:
        return
    _original = BaseResponse._enrich_response
    enrich_response.moto_original = _original  # type: ignore[attr-defined]
    BaseResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign]


def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    if isinstance(body, str) and _XML_REQUEST_ID in body:
        return _original(headers, body)
    # moto's header work (status as text, a request id) on an empty body, where its regex has
    # nothing to scan; the body would come back unchanged anyway.
    headers, _ = _original(headers, "")
    return headers, body
