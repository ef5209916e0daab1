"""What infra/Dockerfile builds, without a Docker engine: its pins are pyproject's; the wheel
installs into a clean venv with them; the three entry commands start there and answer."""

# The venv is installed once per module with uv (seconds, from uv's cache); the image itself uses
# pip on the same pins. The processes use the production instance config on the session's real
# PostgreSQL (runs in-process, compute logs on disk), and reach no AWS: AWS_ENDPOINT_URL points
# at a closed local port.

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orders_pipeline.local_stack.server import free_port
from orders_pipeline_tests.polling import wait_for
from orders_pipeline_tests.prerequisites import required_program
from orders_pipeline_tests.production_instance import WORKSPACE, write_dagster_home

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "infra" / "Dockerfile"
PYPROJECT = REPO_ROOT / "pyproject.toml"
# The packages the Dockerfile pins; each must carry pyproject's exact pin.
IMAGE_PINS = ("dagster", "dagster-webserver", "dagster-aws", "dagster-postgres", "psycopg2-binary")
START_TIMEOUT = 90


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["production"]
    pins = (re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", r) for r in requirements)
    return {pin.group(1).lower(): pin.group(2) for pin in pins if pin}


def _dockerfile_pins() -> dict[str, str]:
    pins = re.findall(r"^\s+([a-z0-9_.-]+)==([0-9][^\s\\]*)", DOCKERFILE.read_text(), re.M)
    return {name.lower(): version for name, version in pins}


def test_the_dockerfile_pins_exactly_what_pyproject_pins() -> None:
    pyproject, dockerfile = _pyproject_pins(), _dockerfile_pins()
    assert set(dockerfile) == set(IMAGE_PINS)
    assert dockerfile == {name: pyproject[name] for name in IMAGE_PINS}


def test_the_base_image_tag_is_pinned_to_a_patch_release() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.M)
    assert bases and all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base) for base in bases)


def test_the_image_runs_as_a_non_root_user_with_the_instance_config_in_dagster_home() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^USER\s+(?!0\b|root\b)\S+", text, re.M)
    assert "COPY infra/dagster/dagster.yaml $DAGSTER_HOME/dagster.yaml" in text


def test_the_build_context_sends_everything_the_dockerfile_copies_and_no_venv() -> None:
    ignore = (REPO_ROOT / ".dockerignore").read_text().split("\n")
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", DOCKERFILE.read_text(), re.M)
    sources = {source.rstrip("/") for line in copied for source in line.split()}
    assert "*" in ignore
    assert all(any(s == a or s.startswith(f"{a}/") for a in allowed) for s in sources), sources


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel and the image's pins in a virtual environment of their own."""
    uv = required_program(Path(sys.executable).parent / "uv", "uv", install="pip install uv")
    work = tmp_path_factory.mktemp("image")
    subprocess.run(
        [uv, "build", "--quiet", "--wheel", "--out-dir", str(work / "dist"), str(REPO_ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = (work / "dist").glob("orders_pipeline-*.whl")
    venv = work / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    pins = [f"{name}=={version}" for name, version in _dockerfile_pins().items()]
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)]
        + pins,
        check=True,
        timeout=600,
    )
    return venv / "bin"


@pytest.fixture(scope="module")
def image_env(postgres, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment the template gives the containers, pointed at this machine."""
    home = write_dagster_home(tmp_path_factory.mktemp("image-dagster-home"))
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {
        **{name: os.environ[name] for name in keep if name in os.environ},
        **postgres.environment(),
        "DAGSTER_HOME": str(home),
        # No run may start: sensors and automation must not launch work in this test.
        "DAGSTER_MAX_CONCURRENT_RUNS": "0",
        "DAGSTER_CODE_LOCATION_HOST": "127.0.0.1",
        "DAGSTER_CODE_LOCATION_PORT": str(free_port()),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as sink:
        # Own session: SIGTERM reaches the command and the children it starts.
        return subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def code_location(image_venv, image_env, tmp_path_factory) -> Iterator[subprocess.Popen]:
    """The code location's entry command, serving until the module ends."""
    log = tmp_path_factory.mktemp("logs") / "grpc.log"
    process = _start(
        [
            str(image_venv / "dagster"),
            "api",
            "grpc",
            "-m",
            "orders_pipeline.definitions",
            "--location-name",
            "orders_pipeline",
            "-h",
            "127.0.0.1",
            "-p",
            image_env["DAGSTER_CODE_LOCATION_PORT"],
        ],
        image_env,
        log,
    )
    try:
        wait_for(
            lambda: _grpc_healthy(image_venv, image_env, process, log),
            timeout=START_TIMEOUT,
            interval=1,
            what="the gRPC code location to answer its health check",
        )
        yield process
    finally:
        _stop(process)


def _grpc_healthy(bin_dir: Path, env: dict[str, str], process: subprocess.Popen, log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"dagster api grpc exited {process.returncode}:\n{log.read_text()}")
    check = subprocess.run(
        [
            str(bin_dir / "dagster"),
            "api",
            "grpc-health-check",
            "-p",
            env["DAGSTER_CODE_LOCATION_PORT"],
        ],
        env=env,
        capture_output=True,
        timeout=60,
    )
    return check.returncode == 0


@pytest.fixture(scope="module")
def webserver(image_venv, image_env, code_location, tmp_path_factory) -> Iterator[str]:
    """The webserver's entry command with the image's workspace file; its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "webserver.log"
    command = [str(image_venv / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    process = _start([*command, "-w", str(WORKSPACE)], image_env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _answers(f"{url}/server_info", process, log),
            timeout=START_TIMEOUT,
            interval=0.5,
            what="the webserver to answer /server_info",
        )
        yield url
    finally:
        _stop(process)


def _answers(url: str, process: subprocess.Popen, log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"exited {process.returncode}:\n{log.read_text()}")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


@pytest.fixture(scope="module")
def daemon(image_venv, image_env, code_location, tmp_path_factory) -> Iterator[subprocess.Popen]:
    log = tmp_path_factory.mktemp("logs") / "daemon.log"
    process = _start(
        [str(image_venv / "dagster-daemon"), "run", "-w", str(WORKSPACE)], image_env, log
    )
    try:
        yield process
    finally:
        _stop(process)


def test_the_code_location_answers_its_health_check(code_location) -> None:
    assert code_location.poll() is None


def test_the_webserver_reports_its_dagster_version(webserver) -> None:
    with urllib.request.urlopen(f"{webserver}/server_info", timeout=10) as response:
        info = json.load(response)
    assert info["dagster_webserver_version"] == "1.13.27"


def test_the_webserver_loads_the_code_location_through_the_workspace_file(webserver) -> None:
    query = (
        "{ workspaceOrError { ... on Workspace { locationEntries { name "
        "locationOrLoadError { __typename } } } } }"
    )
    request = urllib.request.Request(
        f"{webserver}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
        ("orders_pipeline", "RepositoryLocation")
    ]


def test_the_daemon_heartbeats_into_postgres(daemon, postgres) -> None:
    def heartbeats() -> set[str]:
        assert daemon.poll() is None, f"dagster-daemon exited {daemon.returncode}"
        with postgres.connect() as connection, connection.cursor() as cursor:
            # The session's database sees no other daemon: every heartbeat is this one's.
            cursor.execute("SELECT daemon_type FROM daemon_heartbeats")
            return {row[0] for row in cursor.fetchall()}

    # The daemons the production config turns on: queue, monitoring, retries, sensors, schedules.
    expected = {"QUEUED_RUN_COORDINATOR", "MONITORING", "EVENT_LOG_CONSUMER", "SENSOR", "SCHEDULER"}
    wait_for(
        lambda: expected <= heartbeats(),
        timeout=START_TIMEOUT,
        interval=1,
        what=f"daemon heartbeats {sorted(expected)} in PostgreSQL",
    )
