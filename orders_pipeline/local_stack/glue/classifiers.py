"""Glue classifiers, which moto does not model: kept on its Glue backend, served by patches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from moto.glue.exceptions import (
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
)
from moto.glue.models import GlueBackend, glue_backends

CLASSIFIER_KINDS = ("GrokClassifier", "XMLClassifier", "JsonClassifier", "CsvClassifier")

_lock = threading.Lock()


def classifiers_of(backend: GlueBackend) -> dict[str, dict[str, Any]]:
    # Kept on the backend object so moto's reset (which replaces backends) clears them too.
    return backend.__dict__.setdefault("orders_pipeline_classifiers", {})


def _classifier_kind(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kinds = [k for k in CLASSIFIER_KINDS if k in request]
    if len(kinds) != 1:
        raise InvalidInputException(
            "CreateClassifier", f"exactly one of {', '.join(CLASSIFIER_KINDS)} is required"
        )
    spec = dict(request[kinds[0]])
    if not spec.get("Name"):
        raise InvalidInputException("CreateClassifier", f"{kinds[0]}.Name is required")
    return kinds[0], spec


def _backend(account_id: str, region: str) -> GlueBackend:
    return glue_backends[account_id][region]


def put_classifier(account_id: str, region: str, request: dict[str, Any]) -> None:
    """CreateClassifier for `request` shaped like boto3's (e.g. {"JsonClassifier": {...}})."""
    kind, spec = _classifier_kind(request)
    now = datetime.now(UTC)
    with _lock:
        classifiers = classifiers_of(_backend(account_id, region))
        if spec["Name"] in classifiers:
            raise AlreadyExistsException(f"Classifier {spec['Name']}")
        classifiers[spec["Name"]] = {
            kind: {**spec, "CreationTime": now, "LastUpdated": now, "Version": 1}
        }


def remove_classifier(account_id: str, region: str, name: str) -> None:
    with _lock:
        if classifiers_of(_backend(account_id, region)).pop(name, None) is None:
            raise EntityNotFoundException(f"Classifier {name} not found.")


def update_classifier(account_id: str, region: str, request: dict[str, Any]) -> None:
    kind, spec = _classifier_kind(request)
    with _lock:
        classifiers = classifiers_of(_backend(account_id, region))
        current = classifiers.get(spec["Name"])
        if current is None:
            raise EntityNotFoundException(f"Classifier {spec['Name']} not found.")
        if kind not in current:
            raise InvalidInputException(
                "UpdateClassifier", f"classifier {spec['Name']} is not a {kind}"
            )
        old = current[kind]
        current[kind] = {
            **old, **spec, "LastUpdated": datetime.now(UTC), "Version": old["Version"] + 1,
        }  # fmt: skip
