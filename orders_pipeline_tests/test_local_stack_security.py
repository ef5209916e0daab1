"""The local stack answers only loopback clients and loopback pages, and its Athena reads no file
of the machine: the probes a web page or a rebinding domain would send are refused."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orders_pipeline.local_stack.athena.session import sandboxed_connection
from orders_pipeline.local_stack.gateway import AccessPolicy, origins_from_text
from orders_pipeline.local_stack.server import LocalServer, RemoteBindError, free_port
from orders_pipeline_tests.polling import wait_for

# What S3 ListBuckets looks like on the wire: a signed GET / is not needed to reach moto.
LIST_BUCKETS = ("GET", "/", None, {})


def _send(
    endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None
):
    parsed = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_request_from_a_foreign_origin_is_refused_with_an_aws_error(local_stack):
    status, headers, body = _send(
        local_stack.endpoint_url, "GET", "/", {"Origin": "https://evil.example"}
    )
    assert status == 403
    assert b"<Code>AccessDeniedException</Code>" in body
    assert b"evil.example" in body
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_a_preflight_from_a_foreign_origin_gets_no_cors_allowance(local_stack):
    status, headers, _ = _send(
        local_stack.endpoint_url,
        "OPTIONS",
        "/",
        {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-target",
        },
    )
    assert status == 403
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_a_json_protocol_refusal_is_json(local_stack):
    status, _, body = _send(
        local_stack.endpoint_url,
        "POST",
        "/",
        {
            "Origin": "http://attacker.example:8080",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
        b"{}",
    )
    assert status == 403
    assert json.loads(body)["__type"] == "AccessDeniedException"


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:5173"]
)
def test_a_loopback_page_may_call_the_stack(local_stack, origin):
    status, headers, _ = _send(
        local_stack.endpoint_url,
        "OPTIONS",
        "/",
        {"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert status == 200
    assert headers.get("Access-Control-Allow-Origin") == origin


def test_a_foreign_host_header_is_refused(local_stack):
    # DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name.
    status, _, body = _send(local_stack.endpoint_url, "GET", "/", {"Host": "evil.example:4566"})
    assert status == 403
    assert b"not this local stack" in body


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "bucket.s3.localhost"])
def test_loopback_host_names_pass_the_gateway(local_stack, host):
    # *.localhost is loopback by definition (RFC 6761): S3 reads it as a virtual-host bucket.
    status, _, body = _send(
        local_stack.endpoint_url, "GET", "/", {"Host": f"{host}:{local_stack.port}"}
    )
    assert status != 403, body


def test_a_cross_site_load_without_an_origin_is_refused(local_stack):
    # <img src="http://127.0.0.1:4566/..."> on a page elsewhere: no Origin header at all.
    status, _, _ = _send(local_stack.endpoint_url, "GET", "/", {"Sec-Fetch-Site": "cross-site"})
    assert status == 403


def test_an_origin_the_user_allowed_may_call_the_stack():
    server = LocalServer(
        port=free_port(), allowed_origins=origins_from_text("https://tools.example:8443")
    )
    server.start()
    try:
        status, headers, _ = _send(
            server.endpoint_url,
            "OPTIONS",
            "/",
            {"Origin": "https://tools.example:8443", "Access-Control-Request-Method": "GET"},
        )
        refused, _, _ = _send(server.endpoint_url, "GET", "/", {"Origin": "https://other.example"})
    finally:
        server.stop()
    assert status == 200
    assert headers.get("Access-Control-Allow-Origin") == "https://tools.example:8443"
    assert refused == 403


@pytest.mark.parametrize("text", ["*", "tools.example", "https://a.example/path"])
def test_an_allowed_origin_must_be_an_origin(text):
    with pytest.raises(ValueError, match="is not an origin"):
        origins_from_text(text)


def test_binding_beyond_loopback_needs_the_explicit_flag():
    with pytest.raises(RemoteBindError, match="--allow-remote"):
        LocalServer(host="0.0.0.0", port=free_port())
    LocalServer(host="0.0.0.0", port=free_port(), allow_remote=True)


def test_bound_to_every_interface_a_name_is_still_refused_but_an_ip_is_served():
    policy = AccessPolicy(bind_host="0.0.0.0")
    assert policy.host_allowed("192.168.1.20:4566")
    assert not policy.host_allowed("evil.example:4566")


# ---- Athena reads no file of the machine -----------------------------------------------------


def _athena_outcome(aws_client: Callable[[str], Any], sql: str) -> tuple[str, str]:
    athena = aws_client("athena")
    query_id = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": "s3://security-probe-results/"}
    )["QueryExecutionId"]

    def finished() -> dict[str, Any] | None:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        return status if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    status = wait_for(finished, timeout=60, what=f"query {sql!r}")
    return status["State"], status.get("StateChangeReason", "")


@pytest.fixture(scope="module")
def results_bucket(aws_client: Callable[[str], Any]) -> str:
    aws_client("s3").create_bucket(Bucket="security-probe-results")
    return "security-probe-results"


@pytest.mark.parametrize(
    ("sql", "kind", "named"),
    [
        ("SELECT * FROM read_text('/etc/passwd')", "FUNCTION_NOT_FOUND", "read_text"),
        ("SELECT * FROM read_csv('/etc/passwd', header = true)", "FUNCTION_NOT_FOUND", "read_csv"),
        ("SELECT * FROM read_blob('/etc/passwd')", "FUNCTION_NOT_FOUND", "read_blob"),
        ("SELECT read_blob('/etc/passwd')", "FUNCTION_NOT_FOUND", "read_blob"),
        ("SELECT * FROM parquet_scan('/etc/passwd')", "FUNCTION_NOT_FOUND", "parquet_scan"),
        ("SELECT getenv('HOME')", "FUNCTION_NOT_FOUND", "getenv"),
        ("SELECT * FROM '/etc/passwd'", "SYNTAX_ERROR", "/etc/passwd"),
        ("SELECT * FROM glob('/etc/*')", "FUNCTION_NOT_FOUND", "glob"),
    ],
)
def test_athena_refuses_what_would_read_the_machines_files(
    aws_client, results_bucket, sql, kind, named
):
    state, reason = _athena_outcome(aws_client, sql)
    assert state == "FAILED"
    assert reason.startswith(kind), reason
    assert named in reason
    assert "root:" not in reason


def test_the_engines_duckdb_cannot_read_outside_its_scratch_dir(tmp_path: Path):
    outside = tmp_path / "secret.json"
    outside.write_text('{"secret": 1}')
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "data.json").write_text('{"a": 1}')
    con = sandboxed_connection(scratch, "256MB")

    assert con.execute(f"SELECT a FROM read_json('{scratch / 'data.json'}')").fetchall() == [(1,)]
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_json('{outside}')")
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_text('{scratch}/../secret.json')")
    with pytest.raises(duckdb.Error, match="lock"):
        con.execute("SET enable_external_access = true")


def test_a_refused_request_is_answered_quickly_under_load(local_stack):
    started = time.monotonic()
    for _ in range(50):
        _send(local_stack.endpoint_url, "GET", "/", {"Origin": "https://evil.example"})
    assert time.monotonic() - started < 30
