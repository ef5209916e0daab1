"""The Kinesis stream properties moto's CloudFormation model ignores (encryption, mode)."""

from __future__ import annotations

from typing import Any

from moto.kinesis.models import KinesisBackend, Stream, kinesis_backends

from orders_pipeline.local_stack.cloudformation.resources import completes_after_moto
from orders_pipeline.local_stack.patching import calls

calls(
    KinesisBackend,
    "start_stream_encryption",
    "self", "stream_arn", "stream_name", "encryption_type", "key_id",
    declared_in=__name__,
)  # fmt: skip
calls(
    KinesisBackend,
    "update_stream_mode",
    "self",
    "stream_arn",
    "stream_mode",
    declared_in=__name__,
)


def complete_stream(stream: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = kinesis_backends[account_id][region]
    encryption = props.get("StreamEncryption")
    if encryption:
        backend.start_stream_encryption(
            stream_arn=stream.arn,
            stream_name=stream.stream_name,
            encryption_type=encryption["EncryptionType"],
            key_id=encryption["KeyId"],
        )
    if "StreamModeDetails" in props:
        backend.update_stream_mode(stream.arn, props["StreamModeDetails"])


completes_after_moto(Stream, complete_stream)
