"""S3 objects read and written straight through moto's S3 backend (the data plane's ObjectStore)."""

from __future__ import annotations

from moto.s3.models import FakeKey, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from orders_pipeline.local_stack.data_access import StoredObject
from orders_pipeline.local_stack.metering import meters
from orders_pipeline.local_stack.patching import calls, requires
from orders_pipeline.local_stack.persistence import store
from orders_pipeline.local_stack.s3 import metering as s3_metering

requires(S3Backend, "list_objects", "get_bucket", "get_object", "put_object", declared_in=__name__)
requires(FakeKey, "size", "value", declared_in=__name__)

calls(
    S3Backend,
    "list_objects",
    "self",
    "bucket",
    "prefix",
    "delimiter",
    "marker",
    "max_keys",
    declared_in=__name__,
)
calls(S3Backend, "get_bucket", "self", "bucket_name", declared_in=__name__)
calls(S3Backend, "get_object", "self", "bucket_name", "key_name", declared_in=__name__)
calls(S3Backend, "put_object", "self", "bucket_name", "key_name", "value", declared_in=__name__)


class MotoObjectStore:
    """An `ObjectStore` over one account's S3 backend in this process."""

    def __init__(self, account_id: str, region: str) -> None:
        self._backend = s3_backends[account_id][get_partition(region)]

    def list_objects(self, bucket: str, prefix: str) -> list[StoredObject]:
        keys, _, _, _ = self._backend.list_objects(
            self._backend.get_bucket(bucket), prefix, None, None, None
        )
        # An engine's listing is billed as the LIST calls that return that many keys.
        meters.current().add_many(s3_metering.listed(len(keys)))
        return [StoredObject(key=k.name, size=k.size) for k in keys]

    def read_object(self, bucket: str, key: str) -> bytes:
        obj = self._backend.get_object(bucket, key)
        meters.add(s3_metering.TIER2, 1)
        if obj is None:
            raise FileNotFoundError(f"s3://{bucket}/{key} does not exist")
        return obj.value

    def write_object(self, bucket: str, key: str, data: bytes) -> None:
        # Engines write from their own threads, outside any request: a snapshot waits for it.
        with store.current().lock.shared():
            self._backend.put_object(bucket_name=bucket, key_name=key, value=data)
        meters.add(s3_metering.TIER1, 1)
