"""The embedded server: free-port check, fixed credentials, reset, the status route, clean stop."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import pytest

from orders_pipeline.local_stack import services
from orders_pipeline.local_stack.gc_tuning import OLDEST_GENERATION_THRESHOLD
from orders_pipeline.local_stack.server import (
    ACCOUNT_ID,
    STATUS_PATH,
    SWITCH_INTERVAL_SECONDS,
    LocalServer,
    PortInUseError,
    check_port_free,
    free_port,
)
from orders_pipeline.local_stack.stack import LocalStack


@pytest.fixture
def listening_socket():
    """A port something else already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def server(monkeypatch):
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)  # restored afterwards: start() sets them
    services.install()
    running = LocalServer(port=free_port())
    running.start()
    yield running
    running.stop()


def _client(service, server):
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1")


def test_start_refuses_a_taken_port_at_once_naming_it(listening_socket):
    started = time.monotonic()
    with pytest.raises(PortInUseError) as raised:
        LocalServer(port=listening_socket).start()
    assert time.monotonic() - started < 2
    message = str(raised.value)
    assert f"port {listening_socket} on 127.0.0.1 is already in use" in message
    assert "--port" in message and "\n" not in message


def test_port_check_passes_for_a_free_port():
    check_port_free("127.0.0.1", free_port())


def test_server_answers_every_service_on_one_port_as_the_fixed_account(server):
    identity = _client("sts", server).get_caller_identity()
    assert identity["Account"] == ACCOUNT_ID
    s3 = _client("s3", server)
    s3.create_bucket(Bucket="one-port-check")
    assert "one-port-check" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket="one-port-check")


def test_start_points_in_process_clients_at_itself_with_fixed_credentials(server):
    session = boto3.session.Session()
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("testing", "testing")
    assert session.region_name == "us-east-1"
    assert session.client("s3").meta.endpoint_url == server.endpoint_url


RESET_SCRIPT = """
import boto3
from orders_pipeline.local_stack.server import LocalServer, free_port
server = LocalServer(port=free_port())
server.start()
s3 = boto3.client("s3")
s3.create_bucket(Bucket="before-reset")
server.reset()
print(len(s3.list_buckets()["Buckets"]))
server.stop()
"""


def test_serving_switches_threads_often_and_collects_the_oldest_objects_rarely():
    # Python's defaults, set here: the session's own stack may already have changed them.
    outside = (sys.getswitchinterval(), gc.get_threshold())
    sys.setswitchinterval(0.005)
    gc.set_threshold(700, 10, 10)
    try:
        server = LocalServer(port=free_port())
        server.start()
        try:
            serving = (sys.getswitchinterval(), gc.get_threshold())
        finally:
            server.stop()
        stopped = (sys.getswitchinterval(), gc.get_threshold())
    finally:
        sys.setswitchinterval(outside[0])
        gc.set_threshold(*outside[1])

    assert serving == (SWITCH_INTERVAL_SECONDS, (700, 10, OLDEST_GENERATION_THRESHOLD))
    assert stopped == (0.005, (700, 10, 10))


def test_reset_forgets_every_resource():
    # moto's state is per process: reset in a process of its own, not under the session's stack.
    done = subprocess.run(
        [sys.executable, "-c", RESET_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_stop_frees_the_port():
    stopped = LocalServer(port=free_port())
    stopped.start()
    stopped.stop()
    check_port_free(stopped.host, stopped.port)


def test_stop_restores_the_environment_it_replaced(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    temporary = LocalServer(port=free_port())
    temporary.start()
    assert os.environ["AWS_ENDPOINT_URL"] == temporary.endpoint_url
    temporary.stop()
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert "AWS_REGION" not in os.environ


def test_status_route_without_a_running_stack_says_so(server):
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(server.endpoint_url + STATUS_PATH, timeout=10)
    assert raised.value.code == 503
    assert "no local stack" in json.load(raised.value)["error"]


def test_stack_env_is_what_a_client_process_needs():
    stack = LocalStack(port=4599)
    assert stack.env() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4599",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def test_stack_status_is_served_over_http_with_resources_and_stages(local_stack):
    _client("s3", local_stack).create_bucket(Bucket="status-route-bucket")
    url = local_stack.endpoint_url + STATUS_PATH
    with urllib.request.urlopen(url, timeout=30) as response:
        document = json.load(response)
    assert document["endpoint_url"] == local_stack.endpoint_url
    assert "status-route-bucket" in document["resources"]["s3_buckets"]
    assert document["workers_running"] is True
    assert set(document["stages"]) == {"pipes", "firehose"}


def test_stack_as_context_manager_stops_server_and_workers():
    with LocalStack(port=free_port(), poll_interval=0.1) as stack:
        assert stack.workers_running
    assert not stack.workers_running
    check_port_free(stack.host, stack.port)
