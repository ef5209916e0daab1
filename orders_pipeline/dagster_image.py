"""Build infra/Dockerfile and push it to this account's ECR, for deploy-dagster --build.
Needs a Docker engine; without one, deploy with --image of an image built elsewhere."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from orders_pipeline.deploy import DeployError, Progress

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "infra" / "Dockerfile"
DEFAULT_REPOSITORY = "orders-pipeline-dagster"

Runner = Callable[..., subprocess.CompletedProcess]


def docker_engine_available(run: Runner = subprocess.run) -> bool:
    """True when `docker info` reaches an engine (a client alone is not enough)."""
    try:
        return run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_repository(ecr: Any, name: str) -> str:
    """The repository's URI; created if missing with immutable tags and scan on push."""
    try:
        (repository,) = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        repository = ecr.create_repository(
            repositoryName=name,
            # A tag names one image forever: deploying a tag is deploying exactly that build.
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "AES256"},
        )["repository"]
    return repository["repositoryUri"]


def build_and_push(
    *,
    ecr: Any,
    tag: str,
    repository: str = DEFAULT_REPOSITORY,
    run: Runner = subprocess.run,
    progress: Progress | None = None,
) -> str:
    """docker build -f infra/Dockerfile . ; docker login to ECR ; docker push. The image URI."""
    say = progress or (lambda _: None)
    if not docker_engine_available(run):
        raise DeployError(
            "no Docker engine here (docker info fails): build the image elsewhere with "
            "`docker build -f infra/Dockerfile .`, push it, and pass --image"
        )
    image = f"{ensure_repository(ecr, repository)}:{tag}"
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    registry = token["proxyEndpoint"].removeprefix("https://")
    steps: Sequence[tuple[list[str], str | None]] = (
        (["docker", "build", "-f", str(DOCKERFILE), "-t", image, str(REPO_ROOT)], None),
        (["docker", "login", "--username", user, "--password-stdin", registry], password),
        (["docker", "push", image], None),
    )
    for command, stdin in steps:
        say(" ".join(command[:2]) + f" {image if command[1] != 'login' else registry}")
        result = run(command, input=stdin, text=True)
        if result.returncode != 0:
            raise DeployError(f"`{' '.join(command[:2])}` failed (exit {result.returncode})")
    return image
