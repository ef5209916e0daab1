"""S3 objects kept across restarts and out of memory: each body is a file of the state dir (read
and written through, never held), each key's versions a journal row written when it changes; a
bucket's key names are kept sorted, so a listing reads only the keys it returns."""

from __future__ import annotations

import base64
import bisect
import os
import pickle
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, S3Backend, s3_backends
from moto.s3.utils import _VersionedKeyStore

from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires_attributes,
    wraps,
)
from orders_pipeline.local_stack.persistence import snapshot, store
from orders_pipeline.local_stack.persistence.store import Changes, Collection, register

requires_attributes(FakeKey, "_value_buffer", "lock", "name", "bucket_name", declared_in=__name__)
requires_attributes(FakeBucket, "keys", "name", "creation_date", "account_id", declared_in=__name__)
requires_attributes(FakeKey, "_max_buffer_size", declared_in=__name__)
calls(_VersionedKeyStore, "getlist", "self", "key", "default", declared_in=__name__)
calls(_VersionedKeyStore, "setlist", "self", "key", "list_", declared_in=__name__)
calls(S3Backend, "_truncate_result", "self", "result_keys", "max_keys", declared_in=__name__)

_TOKEN_PREFIX = "op1-"


class DiskBody:
    """A body file used the way moto uses its buffer (seek, read, write, truncate, close), opened
    only for each call: a lake of objects never holds a file descriptor each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._position = 0
        self.closed = False
        path.touch()

    def seek(self, position: int, whence: int = 0) -> int:
        size = self.path.stat().st_size
        self._position = {0: position, 1: self._position + position, 2: size + position}[whence]
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(self._position)
            data = handle.read(size)
        self._position += len(data)
        return data

    def write(self, data: bytes) -> int:
        with open(self.path, "r+b") as handle:
            handle.seek(self._position)
            handle.write(data)
        self._position += len(data)
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        os.truncate(self.path, size)
        return size

    def close(self) -> None:
        self.closed = True


def _body_of(key: FakeKey) -> Any:
    return key.__dict__.get("_value_buffer")


@wraps(FakeKey, "__init__")
def key_init(original: Any, self: FakeKey, *args: Any, **kwargs: Any) -> None:
    path = store.current().body_path()
    if path is None:
        original(self, *args, **kwargs)
        return
    # moto writes the value into the buffer it makes; a body file takes its place first.
    self.__dict__["_pending_body"] = path
    original(self, *args, **kwargs)


@wraps(FakeKey, "value")
def key_value(moto_property: property) -> property:
    """moto's `value`, whose setter first swaps in the body file `key_init` chose."""

    def set_value(self: FakeKey, new_value: bytes) -> None:
        pending = self.__dict__.pop("_pending_body", None)
        if pending is not None:
            self._value_buffer = DiskBody(pending)
        moto_property.fset(self, new_value)  # type: ignore[misc]

    return property(moto_property.fget, set_value)


@wraps(FakeKey, "dispose")
def key_dispose(original: Any, self: FakeKey, garbage: bool = False) -> None:
    body = _body_of(self)
    original(self, garbage)
    # Only a key moto let go of on purpose loses its file: one collected at interpreter exit
    # (moto's __del__ passes garbage=True) is still what the journal describes.
    if isinstance(body, DiskBody) and not garbage:
        body.path.unlink(missing_ok=True)


def _restored_key(cls: type, state: dict[str, Any], body_path: str | None, value: bytes) -> Any:
    key = cls.__new__(cls)
    key.__dict__.update(state)
    key.lock = threading.Lock()
    if body_path is not None:
        key._value_buffer = DiskBody(Path(body_path))
    else:
        key._value_buffer = tempfile.SpooledTemporaryFile(max_size=key._max_buffer_size)
        key._value_buffer.write(value)
    return key


def _reduce_key(key: FakeKey) -> tuple:
    state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
    body = _body_of(key)
    if isinstance(body, DiskBody):
        return (_restored_key, (type(key), state, str(body.path), b""))
    try:
        value = key.value
    except ValueError:  # a disposed key's buffer is closed
        value = b""
    return (_restored_key, (type(key), state, None, value))


snapshot.reduces(FakeKey)(_reduce_key)


# ---- keys: sorted names, changes journaled ----------------------------------------------------


def bucket_identity(bucket: FakeBucket) -> bytes:
    return f"{bucket.account_id}/{bucket.name}/{bucket.creation_date.isoformat()}".encode()


class KeyStore(_VersionedKeyStore):
    """moto's versioned key store that keeps its names sorted and reports every change."""

    def __init__(self, bucket: FakeBucket) -> None:
        super().__init__()
        self.bucket = bucket
        self.ordered: list[str] = []

    def _changed(self, name: str) -> None:
        OBJECTS.touch(self.bucket, name)

    def _added(self, name: str) -> None:
        position = bisect.bisect_left(self.ordered, name)
        if position == len(self.ordered) or self.ordered[position] != name:
            self.ordered.insert(position, name)

    def _removed(self, name: str) -> None:
        position = bisect.bisect_left(self.ordered, name)
        if position < len(self.ordered) and self.ordered[position] == name:
            del self.ordered[position]

    def __setitem__(self, key: str, value: Any) -> Any:
        super().__setitem__(key, value)
        self._added(key)
        self._changed(key)

    def setlist(self, key: Any, list_: Any) -> Any:
        super().setlist(key, list_)
        self._added(key)
        self._changed(key)

    def pop(self, key: str) -> None:  # type: ignore[override]
        super().pop(key)
        self._removed(key)
        self._changed(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._removed(key)
        self._changed(key)

    def restore(self, name: str, versions: list[Any]) -> None:
        dict.__setitem__(self, name, versions)
        self._added(name)

    def names_between(self, start: str, prefix: str) -> list[str]:
        """Key names >= `start` that begin with `prefix`, in order (a copy: safe while keys
        change)."""
        low = bisect.bisect_left(self.ordered, start)
        if not prefix:
            return self.ordered[low:]
        high = bisect.bisect_left(self.ordered, prefix[:-1] + chr(ord(prefix[-1]) + 1), low)
        return self.ordered[low:high]


@wraps(FakeBucket, "__init__")
def bucket_init(original: Any, self: FakeBucket, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    self.keys = KeyStore(self)


def _key_store(bucket: FakeBucket) -> KeyStore:
    if not isinstance(bucket.keys, KeyStore):  # a bucket made before install (tests)
        converted = KeyStore(bucket)
        for name in list(dict.keys(bucket.keys)):
            converted.restore(name, bucket.keys.getlist(name))
        bucket.keys = converted
    return bucket.keys


@snapshot.reduces(FakeBucket)
def _bucket_without_keys(bucket: FakeBucket) -> tuple:
    # Each key's versions are a journal row; a restored bucket gets an empty store to fill.
    return (
        _restored_bucket,
        (type(bucket), {k: v for k, v in bucket.__dict__.items() if k != "keys"}),
    )


def _restored_bucket(cls: type, state: dict[str, Any]) -> FakeBucket:
    bucket = cls.__new__(cls)
    bucket.__dict__.update(state)
    bucket.keys = KeyStore(bucket)
    return bucket


class ObjectsCollection(Collection):
    """Every key's list of versions (metadata; bodies are files), one row per key."""

    name = "s3-objects"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dirty: dict[tuple[bytes, str], FakeBucket] = {}
        self._dropped: set[bytes] = set()

    def touch(self, bucket: FakeBucket, name: str) -> None:
        with self._lock:
            self._dirty[(bucket_identity(bucket), name)] = bucket

    def drop_bucket(self, bucket: FakeBucket) -> None:
        with self._lock:
            self._dropped.add(bucket_identity(bucket))

    def changes(self) -> Changes:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            dropped, self._dropped = self._dropped, set()
        found = Changes(delete_prefixes=[identity + b"\x00" for identity in dropped])
        for (identity, name), bucket in dirty.items():
            if identity in dropped:
                continue
            row = identity + b"\x00" + name.encode()
            versions = dict.get(bucket.keys, name)
            if not versions:
                found.deletes.append(row)
                continue
            found.puts.append((row, snapshot.dumps(list(versions))))
        return found

    def restore(self, rows: Iterable[tuple[bytes, bytes]]) -> None:
        buckets = {
            bucket_identity(bucket): bucket
            for backends in s3_backends.values()
            for backend in backends.values()
            for bucket in backend.buckets.values()
        }
        for row, value in rows:
            identity, _, name = row.partition(b"\x00")
            bucket = buckets.get(identity)
            if bucket is None:
                with self._lock:
                    self._dropped.add(identity)
                continue
            _key_store(bucket).restore(name.decode(), pickle.loads(value))


OBJECTS = register(ObjectsCollection())


@wraps(S3Backend, "delete_bucket")
def delete_bucket(original: Any, self: S3Backend, bucket_name: str) -> Any:
    bucket = self.buckets.get(bucket_name)
    answer = original(self, bucket_name)
    if bucket is not None:
        OBJECTS.drop_bucket(bucket)
    return answer


# ---- listings that read only what they return -------------------------------------------------


def _token(name: str) -> str:
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(name.encode()).decode()


def _after(self: S3Backend, token: str | None, start_after: str | None) -> str | None:
    if token:
        if token.startswith(_TOKEN_PREFIX):
            return base64.urlsafe_b64decode(token[len(_TOKEN_PREFIX) :]).decode()
        return self._pagination_tokens.get(token) or token
    return start_after


def _listed(
    bucket: FakeBucket, prefix: str, delimiter: str | None, after: str | None, wanted: int | None
) -> list[FakeKey | str]:
    """Keys and common prefixes under `prefix`, in name order, after `after`, at most
    `wanted` + 1 of them (one more says the listing is truncated)."""
    keys = _key_store(bucket)
    start = max(prefix, after or "")
    found: list[FakeKey | str] = []
    names = keys.names_between(start, prefix)
    position = 0
    while position < len(names):
        name = names[position]
        position += 1
        if not name.startswith(prefix):
            break
        if after is not None and name <= after:
            continue
        rest = name[len(prefix) :]
        if delimiter and delimiter in rest:
            folder = prefix + rest.split(delimiter, 1)[0] + delimiter
            if after is None or folder > after:
                found.append(folder)
            # Skip the folder's other keys: the first name past every "folder..." name.
            position = bisect.bisect_left(
                names, folder[:-1] + chr(ord(delimiter[-1]) + 1), position
            )
        else:
            versions = dict.get(keys, name)
            latest = versions[-1] if versions else None
            if latest is None or isinstance(latest, FakeDeleteMarker):
                continue
            found.append(latest)
        if wanted is not None and len(found) > wanted:
            break
    return found


@replaces(S3Backend, "list_objects")
def list_objects(
    self: S3Backend,
    bucket: FakeBucket,
    prefix: str | None,
    delimiter: str | None,
    marker: str | None,
    max_keys: int | None,
) -> tuple[list[FakeKey], list[str], bool, str | None]:
    after = (self._pagination_tokens.get(marker) or marker) if marker else None
    found = _listed(bucket, prefix or "", delimiter, after, max_keys)
    truncated = max_keys is not None and len(found) > max_keys
    if max_keys is not None:
        found = found[:max_keys] if max_keys else []
    keys = [k for k in found if isinstance(k, FakeKey)]
    folders = [k for k in found if isinstance(k, str)]
    next_marker = None
    if truncated:
        last = found[-1]
        next_marker = last.name if isinstance(last, FakeKey) else last
    return keys, folders, truncated, next_marker


@replaces(S3Backend, "list_objects_v2")
def list_objects_v2(
    self: S3Backend,
    bucket: FakeBucket,
    prefix: str | None,
    delimiter: str | None,
    continuation_token: str | None,
    start_after: str | None,
    max_keys: int,
) -> tuple[list[FakeKey | str], bool, str | None]:
    after = _after(self, continuation_token, start_after)
    found = _listed(bucket, prefix or "", delimiter, after, max_keys)
    if max_keys == 0:
        return [], False, None
    if len(found) <= max_keys:
        return found, False, None
    found = found[:max_keys]
    last = found[-1]
    return found, True, _token(last.name if isinstance(last, FakeKey) else last)
