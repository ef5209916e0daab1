"""Shared fixtures: one local AWS stack per test session and the pipeline's stack deployed on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from orders_pipeline.deploy import deploy_stack
from orders_pipeline.local_stack import services
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS, LocalStack
from orders_pipeline_tests.prerequisites import postgres_bin_dir, required_module

# Not-implemented moto calls answer 500 and boto3 would retry them for a long time.
TEST_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--skip-slow",
        action="store_true",
        help="deselect tests marked slow (by default, and in CI, they run)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow end-to-end tests run unless the developer asks for --skip-slow."""
    if not config.getoption("--skip-slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server of the module's own on a free port (never 4566, a user's stack's).

    With the local stack's hooks: they are process-wide once any test starts a LocalStack, so
    installing them here keeps a module's behaviour independent of test order.
    """
    services.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A LocalStack on a free port with its workers running; AWS_* env points at it all session."""
    stack = LocalStack(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("local-stack-state"),
        poll_interval=0.1,
    )
    saved = dict(os.environ)
    stack.start()
    os.environ.update(stack.env())
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def deployed_stack(local_stack: LocalStack) -> dict[str, str]:
    """infra/template.yaml deployed on the local stack with low buffering; its Outputs."""
    return deploy_stack(parameters=dict(LOCAL_DEPLOY_PARAMETERS), poll_interval=0.2)


@pytest.fixture(scope="session")
def aws_client(local_stack: LocalStack) -> Callable[[str], Any]:
    """`aws_client("s3")`: a boto3 client bound to the local stack, with few retries."""

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=local_stack.endpoint_url,
            region_name=local_stack.region,
            config=TEST_CLIENT_CONFIG,
        )

    return make


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server on a free loopback port for the session (PostgresServer)."""
    bin_dir = postgres_bin_dir()
    required_module("psycopg2", install="pip install -e '.[dev]' (psycopg2-binary)")
    from orders_pipeline_tests.postgres_server import postgres_server

    with postgres_server(bin_dir) as server:
        yield server
