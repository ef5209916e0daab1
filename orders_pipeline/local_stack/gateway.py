"""The local stack's front door: only loopback clients and loopback pages get in, then moto.

The stack is a server on someone's laptop. A web page open in the same browser may send it
requests (CORS, or DNS rebinding through a name that resolves to 127.0.0.1), and moto alone
answers every preflight with "any origin, any method". Here a request is refused (403 with an
AWS-shaped error) unless its Host is a loopback name or the bind address, and its Origin, when a
browser sent one, is a loopback origin or one the user allowed. Observers see every request the
gateway lets through (service, action, status), for the state snapshots and the meters.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ORIGIN_ENV_VAR = "ORDERS_LOCAL_ALLOWED_ORIGINS"
_ORIGIN = re.compile(r"^(https?)://(\[[0-9a-fA-F:.]+\]|[^/:\s]+)(?::(\d{1,5}))?/?$")

Observer = Callable[["RequestRecord"], None]
StartResponse = Callable[..., Any]


def _host_name(host: str) -> str:
    """`[::1]:4566` -> `::1`, `localhost:4566` -> `localhost` (lower case)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_name(name: str) -> bool:
    """localhost, *.localhost (RFC 6761: always loopback) or a loopback IP address."""
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_origin(origin: str) -> bool:
    """`http://localhost:3000`, `http://127.0.0.1:8080`, `http://[::1]` and the like."""
    match = _ORIGIN.match(origin.strip())
    return bool(match) and is_loopback_name(_host_name(match.group(2)))


@dataclass(frozen=True)
class AccessPolicy:
    """Which Host and Origin headers the gateway accepts."""

    bind_host: str = "127.0.0.1"
    extra_origins: frozenset[str] = frozenset()
    extra_hosts: frozenset[str] = frozenset()

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return True  # HTTP/1.0 without Host: only a program sends that, never a browser
        name = _host_name(host)
        if is_loopback_name(name) or name == _host_name(self.bind_host) or name in self.extra_hosts:
            return True
        if self.bind_host in ("0.0.0.0", "::"):
            # Bound to every interface on purpose: clients reach it by IP. A name is refused, so
            # a rebinding domain that resolves to this machine still cannot get in.
            try:
                ipaddress.ip_address(name)
            except ValueError:
                return False
            return True
        return False

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None:
            return True
        origin = origin.strip().rstrip("/")
        return is_loopback_origin(origin) or origin in self.extra_origins


def origins_from_text(text: str | None) -> frozenset[str]:
    """`http://a.example:8080, https://b.example` -> the origins, validated (ValueError)."""
    origins = set()
    for item in (text or "").split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        if item == "*" or not _ORIGIN.match(item):
            raise ValueError(
                f"allowed origin {item!r} is not an origin like http://host:port "
                "(wildcards are not accepted)"
            )
        origins.add(item)
    return frozenset(origins)


@dataclass
class RequestRecord:
    """What observers learn about one request the gateway served. The bodies are kept only for
    an observer that asks (`wants_body`, `wants_response`: the meter)."""

    service: str
    action: str
    method: str
    path: str
    status: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    region: str = "us-east-1"
    caller: str | None = None  # which of the stack's own clients sent it (app/local-<name>)
    request_headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    response_body: bytes | None = None
    seconds: float = 0.0


_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_CALLER = re.compile(r"\bapp/local-([a-z]+)\b")


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    return {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    }


def _region_of(environ: dict[str, Any]) -> str:
    found = _CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else "us-east-1"


def _refusal(environ: dict[str, Any], code: str, message: str) -> tuple[str, list, bytes]:
    """A 403 in the shape the calling SDK parses: JSON for JSON protocols, else XML."""
    content_type = environ.get("CONTENT_TYPE", "")
    if environ.get("HTTP_X_AMZ_TARGET") or "json" in content_type:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    else:
        text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{text}</Message></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml")]
    headers.append(("Content-Length", str(len(body))))
    return "403 Forbidden", headers, body


# Action names that only read (and DynamoDB Streams/Kinesis reads, which only hand out
# iterators). Everything else may change moto's state and runs under the state lock.
_READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Scan",
    "Query",
    "BatchGet",
    "Head",
    "Search",
    "Lookup",
)
# Changes whose data the journal or a record log keeps by itself: no world snapshot needed.
_KEPT_BY_THEMSELVES = {
    ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "DeleteItem"),
    ("dynamodb", "BatchWriteItem"), ("dynamodb", "TransactWriteItems"),
    ("kinesis", "PutRecord"), ("kinesis", "PutRecords"),
    ("s3", "PutObject"), ("s3", "DeleteObject"), ("s3", "PostBucket"),
}  # fmt: skip


def reads_only(service: str, action: str, method: str) -> bool:
    """True for a request that cannot change moto's state."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return True
    return action.startswith(_READ_PREFIXES)


def changes_world(service: str, action: str) -> bool:
    """True when a change is not kept by the journal or a record log on its own."""
    return (service, action) not in _KEPT_BY_THEMSELVES


def action_of(environ: dict[str, Any], service: str) -> str:
    """The API action of a request, as far as the request line and headers tell."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    # moto serves Lambda as the "awslambda" app.
    if service in ("lambda", "awslambda") and method == "POST" and path.endswith("/invocations"):
        return "Invoke"
    if service == "s3":
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2:
            return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}.get(
                method, f"{method.title()}Object"
            )
        if method == "GET" and parts:
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return f"{method.title()}Bucket" if parts else f"{method.title()}Service"
    return f"{method} {path}"


class Gateway:
    """WSGI app in front of moto's per-service apps: refuses foreign Hosts and Origins, answers
    the stack's own routes, then hands the request to the service's app and tells observers."""

    def __init__(
        self,
        application_for: Callable[[dict[str, Any]], Any],
        policy: AccessPolicy,
        *,
        routes: dict[str, Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]] | None = None,
        state_lock: Any = None,
        write_scope: Callable[[], AbstractContextManager[None]] = nullcontext,
        on_change: Callable[[], None] | None = None,
        unlocked: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        # moto's DomainDispatcherApplication.get_application: the Flask app of the service the
        # request is for (its `service` attribute names it).
        self._application_for = application_for
        self.policy = policy
        self._routes = dict(routes or {})
        self._observers: list[Observer] = []
        # Changes run under the shared side of the state lock, so a snapshot sees none half
        # made; `unlocked` (service, action) pairs take it themselves around their changes.
        self._state_lock = state_lock
        # Entered with the lock: what the change writes to disk is written when the service has
        # run, in one go, and the response goes out only after that.
        self._write_scope = write_scope
        self._on_change = on_change
        self._unlocked = unlocked

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        if not self.policy.host_allowed(environ.get("HTTP_HOST")):
            return self._refuse(
                environ,
                start_response,
                f"Host {environ.get('HTTP_HOST')!r} is not this local stack's address "
                "(only loopback names are served)",
            )
        if not self.policy.origin_allowed(origin):
            return self._refuse(
                environ,
                start_response,
                f"Origin {origin!r} may not use this local stack; allow it with "
                f"--allow-origin or {ORIGIN_ENV_VAR}",
            )
        if origin is None and environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            # A page elsewhere loading a URL of ours (an <img>, a <script>): no Origin is sent.
            return self._refuse(environ, start_response, "cross-site requests are refused")
        route = self._routes.get(environ.get("PATH_INFO", ""))
        if route is not None:
            status, document = route(environ)
            body = json.dumps(document, default=str).encode()
            start_response(
                f"{status} {'OK' if status == 200 else 'Error'}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        app = self._application_for(environ)
        service = str(getattr(app, "service", "unknown"))
        method = environ.get("REQUEST_METHOD", "GET")
        action = action_of(environ, service)
        if self._state_lock is not None and not reads_only(service, action, method):
            return self._changing(app, service, action, environ, start_response)
        return self._respond(app, service, action, environ, start_response)

    def _changing(
        self,
        app: Any,
        service: str,
        action: str,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterator[bytes]:
        """A request that may change state, holding the state lock for as long as the service
        runs: until its response is iterated, since an observed response runs lazily."""
        try:
            if (service, action) in self._unlocked:
                yield from self._respond(app, service, action, environ, start_response)
            else:
                with self._state_lock.shared(), self._write_scope():
                    # A changing request's response is small; held until its writes are done.
                    response = list(self._respond(app, service, action, environ, start_response))
                yield from response
        finally:  # a client gone before the end of its response may still have changed state
            if self._on_change is not None and changes_world(service, action):
                self._on_change()

    def _respond(
        self,
        app: Any,
        service: str,
        action: str,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        if not self._observers:
            return app(environ, start_response)
        return self._observed(app, service, action, environ, start_response)

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, message: str):
        status, headers, body = _refusal(environ, "AccessDeniedException", message)
        start_response(status, headers)
        return [body]

    def _observed(
        self,
        app: Any,
        service: str,
        action: str,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterator[bytes]:
        user_agent = environ.get("HTTP_USER_AGENT", "")
        caller = _CALLER.search(user_agent)
        record = RequestRecord(
            service=service,
            action=action,
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", ""),
            request_bytes=int(environ.get("CONTENT_LENGTH") or 0),
            query=environ.get("QUERY_STRING", ""),
            region=_region_of(environ),
            caller=caller.group(1) if caller else None,
            request_headers=_request_headers(environ),
        )
        if any(_asks(o, "wants_body", record) for o in self._observers):
            body = environ["wsgi.input"].read(record.request_bytes) if record.request_bytes else b""
            environ["wsgi.input"] = io.BytesIO(body)
            record.body = body
        keep_response = any(_asks(o, "wants_response", record) for o in self._observers)
        contexts = [o.before(record) if hasattr(o, "before") else None for o in self._observers]

        def recording_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            record.status = int(status.split(" ", 1)[0])
            record.headers = {k.lower(): v for k, v in headers}
            return start_response(status, headers, *rest)

        started = time.monotonic()
        response = app(environ, recording_start)
        kept: list[bytes] = []
        told = False

        def tell() -> None:
            nonlocal told
            told = True
            record.seconds = time.monotonic() - started
            if keep_response:
                record.response_body = b"".join(kept)
            for observer, context in zip(self._observers, contexts, strict=True):
                if hasattr(observer, "before"):
                    observer(record, context)
                else:
                    observer(record)

        try:
            # One chunk held back: observers (the meters) are told before the client has the
            # whole response, so what it does next sees them up to date.
            held: bytes | None = None
            for chunk in response:
                record.response_bytes += len(chunk)
                if keep_response:
                    kept.append(chunk)
                if held is not None:
                    yield held
                held = chunk
            tell()
            if held is not None:
                yield held
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
            if not told:
                tell()


def _asks(observer: Any, question: str, record: RequestRecord) -> bool:
    ask = getattr(observer, question, None)
    return bool(ask(record)) if ask is not None else False
