"""The local stack's state directory: every service's state kept across a stop and a start.

moto holds the state as Python objects. Most of it is small (stacks, functions, pipes, the Glue
catalog) and is pickled whole into `world.pickle` when something changed; what grows with the
data is kept outside it: DynamoDB items, S3 object metadata and the Athena query history as
keyed rows of `journal.sqlite3` (only what changed is written), stream and Kinesis records in
append-only logs, S3 bodies as files. A snapshot runs every `snapshot_interval` seconds, so a
killed stack loses at most that much of what it acknowledged (records and bodies: nothing).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pickle
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from orders_pipeline.local_stack.persistence import snapshot
from orders_pipeline.local_stack.persistence.journal import Journal, JournalError
from orders_pipeline.local_stack.persistence.record_log import RecordLog, RecordLogError
from orders_pipeline.local_stack.persistence.rwlock import StateLock

log = logging.getLogger(__name__)

# Bumped whenever what the files hold changes shape: an older state dir is refused, never
# misread.
FORMAT_VERSION = 1
FORMAT_FILE = "FORMAT.json"
WORLD_FILE = "world.pickle"
JOURNAL_FILE = "journal.sqlite3"
LOCK_FILE = "LOCK"
DEFAULT_SNAPSHOT_INTERVAL = 2.0
# How long a snapshot waits for the changes in flight before trying again later.
EXCLUSIVE_WAIT_SECONDS = 2.0


class StateError(RuntimeError):
    """The state directory cannot be used; the message names the file and the way out."""


@dataclass
class Changes:
    """What one collection changed since the last snapshot, ready to write."""

    puts: list[tuple[bytes, bytes]] = field(default_factory=list)
    deletes: list[bytes] = field(default_factory=list)
    # Every row whose key starts with one of these goes (e.g. all items of a deleted table).
    delete_prefixes: list[bytes] = field(default_factory=list)


class Collection:
    """A keyed collection kept outside the world snapshot (see `register`)."""

    name = "collection"

    def changes(self) -> Changes:
        """Called with moto's state held still: what changed since the last call, as bytes."""
        raise NotImplementedError

    def restore(self, rows: Iterable[tuple[bytes, bytes]]) -> None:
        """Called after the world is loaded, with every row the journal holds."""
        raise NotImplementedError


_collections: list[Collection] = []


def register(collection: Collection) -> Collection:
    """Keep `collection` in the journal (service modules register theirs when imported)."""
    _collections.append(collection)
    return collection


class StateStore:
    """One state directory (None: keep nothing, the state lives and dies with the process)."""

    def __init__(
        self, root: Path | None, snapshot_interval: float = DEFAULT_SNAPSHOT_INTERVAL
    ) -> None:
        self.root = Path(root).resolve() if root is not None else None
        self.snapshot_interval = snapshot_interval
        self.lock = StateLock()
        self._journal: Journal | None = None
        self._lock_handle: Any = None
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_snapshot: float | None = None
        self.last_snapshot_seconds: float | None = None
        self.last_error: str | None = None
        self.snapshots = 0

    # -- where things go ------------------------------------------------------------------------

    @property
    def durable(self) -> bool:
        return self.root is not None

    def directory(self, *parts: str) -> Path | None:
        """A folder of the state dir (created), or None when nothing is kept."""
        if self.root is None:
            return None
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def record_log(self, kind: str, retention_seconds: float) -> RecordLog:
        """A new, empty record log (on disk when the state is kept)."""
        folder = None
        if self.root is not None:
            folder = self.root / "streams" / kind / uuid.uuid4().hex
        return RecordLog(folder, retention_seconds)

    def body_path(self) -> Path | None:
        """Where a new S3 object body goes (None: in memory)."""
        folder = self.directory("s3", "objects")
        return None if folder is None else folder / uuid.uuid4().hex

    # -- open, restore, snapshot --------------------------------------------------------------

    def open(self) -> bool:
        """Lock the directory and check its format; True when it holds state to restore."""
        if self.root is None:
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_handle = open(self.root / LOCK_FILE, "a+")  # noqa: SIM115 - held while open
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_handle.close()
            self._lock_handle = None
            raise StateError(
                f"{self.root} is in use by another running local stack; stop it first "
                "(or pick another --state-dir)"
            ) from None
        format_path = self.root / FORMAT_FILE
        existing = format_path.exists()
        if existing:
            self._check_format(format_path)
        else:
            format_path.write_text(
                json.dumps({"format": FORMAT_VERSION, "moto": version("moto")}, indent=1) + "\n"
            )
        try:
            self._journal = Journal(self.root / JOURNAL_FILE)
        except JournalError as error:
            raise StateError(f"{error}; `orders-pipeline local reset` wipes the state") from None
        return existing and (self.root / WORLD_FILE).exists()

    def _check_format(self, path: Path) -> None:
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise StateError(
                f"{path} cannot be read ({error}); `orders-pipeline local reset` wipes the state"
            ) from None
        if found.get("format") != FORMAT_VERSION or found.get("moto") != version("moto"):
            raise StateError(
                f"{path}: state written by another version (format {found.get('format')}, moto "
                f"{found.get('moto')}; this is format {FORMAT_VERSION}, moto {version('moto')}); "
                "`orders-pipeline local reset` wipes it"
            )

    def restore(self) -> None:
        """Load the world snapshot into moto, then every collection from the journal."""
        assert self.root is not None and self._journal is not None
        path = self.root / WORLD_FILE
        try:
            snapshot.load_world(path.read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as error:
            raise StateError(
                f"{path} cannot be read ({type(error).__name__}: {error}); "
                "`orders-pipeline local reset` wipes the state"
            ) from None
        except RecordLogError as error:
            raise StateError(f"{error}; `orders-pipeline local reset` wipes the state") from None
        for collection in _collections:
            collection.restore(self._journal.read(collection.name))

    def mark_dirty(self) -> None:
        """Something outside the collections changed: the next snapshot pickles the world."""
        self._dirty.set()

    def snapshot(self) -> bool:
        """Write what changed; False when moto's state could not be held still in time."""
        if self.root is None or self._journal is None:
            return True
        started = time.monotonic()
        world: bytes | None = None
        with self.lock.exclusive(EXCLUSIVE_WAIT_SECONDS) as acquired:
            if not acquired:
                return False
            changes = [(c.name, c.changes()) for c in _collections]
            if self._dirty.is_set():
                self._dirty.clear()
                world = snapshot.dump_world()
        self._journal.write(
            puts=[(name, k, v) for name, change in changes for k, v in change.puts],
            deletes=[(name, k) for name, change in changes for k in change.deletes],
            delete_prefixes=[(name, p) for name, change in changes for p in change.delete_prefixes],
        )
        if world is not None:
            temporary = self.root / (WORLD_FILE + ".new")
            temporary.write_bytes(world)
            os.replace(temporary, self.root / WORLD_FILE)
        self.last_snapshot = time.time()
        self.last_snapshot_seconds = time.monotonic() - started
        self.snapshots += 1
        return True

    def start(self) -> None:
        """Snapshot every interval in a background thread until stop()."""
        if self.root is None or self._thread is not None:
            return
        self._stop.clear()
        self._dirty.set()  # the first snapshot records the world as restored or created
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.snapshot_interval):
            try:
                self.snapshot()
                self.last_error = None
            except Exception as error:  # keep snapshotting; the reason shows in status()
                self.last_error = f"{type(error).__name__}: {error}"

    def stop(self) -> None:
        """A last snapshot, then release the directory."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.root is not None and self._journal is not None:
            self._dirty.set()
            try:
                for _ in range(5):
                    if self.snapshot():
                        break
            except Exception as error:  # the last snapshot failed: say so, release the dir
                self.last_error = f"{type(error).__name__}: {error}"
                log.error("the last state snapshot of %s failed: %s", self.root, self.last_error)
            self._journal.close()
            self._journal = None
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def status(self) -> dict[str, Any]:
        return {
            "state_dir": str(self.root) if self.root else None,
            "snapshot_interval_s": self.snapshot_interval,
            "snapshots": self.snapshots,
            "last_snapshot": self.last_snapshot,
            "last_snapshot_seconds": (
                round(self.last_snapshot_seconds, 3) if self.last_snapshot_seconds else None
            ),
            "last_error": self.last_error,
        }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _refuse_if_held(folder: Path) -> None:
    lock_path = folder / LOCK_FILE
    if not lock_path.exists():
        return
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                f"{folder} is in use by a running local stack; stop it before resetting"
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def wipe(root: Path) -> list[str]:
    """Delete everything under `root` (a stack's state dir, or a folder holding one: refused
    while a running stack holds it); one line per thing removed."""
    root = Path(root)
    if not root.exists():
        return []
    stores = [root, *[child for child in root.iterdir() if (child / LOCK_FILE).exists()]]
    for folder in stores:
        _refuse_if_held(folder)
    removed: list[str] = []
    for folder in sorted({p for p in root.iterdir()}):
        entries = sorted(folder.iterdir()) if folder in stores and folder.is_dir() else [folder]
        for entry in entries:
            label = f"{entry} ({_size(entry) / 1e6:.1f} MB)"
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(label)
        if folder.exists() and folder.is_dir():
            folder.rmdir()
    return removed


_current: StateStore = StateStore(None)
_current_lock = threading.Lock()


def current() -> StateStore:
    """The store of the local stack running in this process (moto's state is per process)."""
    return _current


def activate(store: StateStore) -> None:
    """Make `store` the process's store; one durable store at a time."""
    global _current
    with _current_lock:
        if _current.durable and store.durable and _current.root != store.root:
            raise StateError(
                f"this process already runs a local stack keeping its state in {_current.root}"
            )
        _current = store


def deactivate(store: StateStore) -> None:
    global _current
    with _current_lock:
        if _current is store:
            _current = StateStore(None)
