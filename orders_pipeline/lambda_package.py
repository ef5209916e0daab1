"""Builds the Firehose transform Lambda's deployment zip, byte for byte the same for the same code.
The S3 key carries the zip's hash, so a re-deploy with unchanged code changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from importlib import resources

LAMBDA_FUNCTION_NAME = "process-kinesis-firehose"
LAMBDA_HANDLER = "firehose_transform.lambda_handler"
# Modules at the zip's root; the handler string above names the first one.
LAMBDA_MODULES = ("firehose_transform.py",)

# The earliest timestamp a zip entry can hold; the build time must not leak into the bytes.
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_FILE_MODE = stat.S_IFREG | 0o644


def build_lambda_zip() -> bytes:
    """The deployment zip: the LAMBDA_MODULES of `orders_pipeline.lambdas` at its root."""
    sources = resources.files("orders_pipeline.lambdas")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in LAMBDA_MODULES:
            entry = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            entry.create_system = _UNIX
            entry.external_attr = _FILE_MODE << 16
            # Stored, not deflated: zlib builds differ across machines, and the module is small.
            entry.compress_type = zipfile.ZIP_STORED
            archive.writestr(entry, sources.joinpath(name).read_bytes())
    return buffer.getvalue()


def lambda_zip_key(zip_bytes: bytes) -> str:
    """The artifacts-bucket key for a zip: `lambda/process-kinesis-firehose-<sha256[:16]>.zip`."""
    digest = hashlib.sha256(zip_bytes).hexdigest()[:16]
    return f"lambda/{LAMBDA_FUNCTION_NAME}-{digest}.zip"
