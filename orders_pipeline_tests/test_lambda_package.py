"""Specs of the transform Lambda's zip: deterministic bytes, handler at the root, stdlib only."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from orders_pipeline.lambda_package import LAMBDA_HANDLER, build_lambda_zip, lambda_zip_key


@pytest.fixture(scope="module")
def zip_bytes() -> bytes:
    return build_lambda_zip()


def test_building_twice_gives_identical_bytes(zip_bytes: bytes) -> None:
    assert build_lambda_zip() == zip_bytes


def test_zip_holds_only_the_handler_module_at_its_root(zip_bytes: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(zip_bytes))

    assert archive.namelist() == [LAMBDA_HANDLER.split(".")[0] + ".py"]


def test_zipped_module_is_the_repository_source(zip_bytes: bytes) -> None:
    source = resources.files("orders_pipeline.lambdas").joinpath("firehose_transform.py")

    zipped = zipfile.ZipFile(io.BytesIO(zip_bytes)).read("firehose_transform.py")

    assert zipped == source.read_bytes()


def test_entries_carry_a_fixed_timestamp_and_readable_mode(zip_bytes: bytes) -> None:
    for entry in zipfile.ZipFile(io.BytesIO(zip_bytes)).infolist():
        assert entry.date_time == (1980, 1, 1, 0, 0, 0)
        assert entry.external_attr >> 16 == 0o100644


def test_zip_key_names_the_function_and_the_content_hash(zip_bytes: bytes) -> None:
    assert re.fullmatch(
        r"lambda/process-kinesis-firehose-[0-9a-f]{16}\.zip", lambda_zip_key(zip_bytes)
    )


def test_zip_key_changes_when_the_zip_changes(zip_bytes: bytes) -> None:
    changed = zip_bytes[:-1] + bytes([zip_bytes[-1] ^ 1])

    assert lambda_zip_key(changed) != lambda_zip_key(zip_bytes)


def test_handler_runs_from_the_zip_with_only_the_standard_library(
    zip_bytes: bytes, tmp_path: Path
) -> None:
    """The zip imported on a bare interpreter (-I -S: no site-packages) as Lambda resolves it."""
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(zip_bytes)
    stream_record = {
        "eventID": "e-1",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": 1718000000,
            "Keys": {"orderid": {"S": "ord-1"}},
            "NewImage": {"orderid": {"S": "ord-1"}, "price": {"N": "19.990"}},
            "SequenceNumber": "1",
        },
    }
    event = {
        "records": [
            {
                "recordId": "r-1",
                "data": base64.b64encode(json.dumps(stream_record).encode()).decode(),
            }
        ]
    }
    module, function = LAMBDA_HANDLER.split(".")
    program = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(zip_path)!r})\n"
        f"from {module} import {function}\n"
        f"print(json.dumps({function}(json.loads(sys.stdin.read()), None)))\n"
    )

    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", program],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    (entry,) = json.loads(completed.stdout)["records"]
    assert entry["result"] == "Ok"
    assert '"price":19.990' in base64.b64decode(entry["data"]).decode()
