"""The keyed collections that grow with the data (DynamoDB items, S3 object metadata, Athena query
history), kept in one SQLite file: a snapshot writes only what changed since the last one."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    collection TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID
"""


class JournalError(RuntimeError):
    """The journal file cannot be read; the message names it."""


class Journal:
    """(collection, key) -> value bytes; `write` applies one snapshot's changes atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # WAL survives a killed process; NORMAL skips the fsync per commit (a power cut may
            # lose the last snapshot, never corrupt the file).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise JournalError(f"{self.path}: {error}") from None

    def write(
        self,
        puts: Iterable[tuple[str, bytes, bytes]] = (),
        deletes: Iterable[tuple[str, bytes]] = (),
        delete_prefixes: Iterable[tuple[str, bytes]] = (),
    ) -> None:
        """Delete the rows under `delete_prefixes` and those in `deletes`, then upsert `puts`:
        all or nothing."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for collection, prefix in delete_prefixes:
                    # Keys are bytes: every key starting with `prefix` sorts in [prefix, end).
                    end = prefix[:-1] + bytes([prefix[-1] + 1]) if prefix[-1] < 255 else None
                    if end is None:
                        self._db.execute(
                            "DELETE FROM entries WHERE collection = ? AND key >= ?",
                            (collection, prefix),
                        )
                    else:
                        self._db.execute(
                            "DELETE FROM entries WHERE collection = ? AND key >= ? AND key < ?",
                            (collection, prefix, end),
                        )
                self._db.executemany(
                    "DELETE FROM entries WHERE collection = ? AND key = ?", list(deletes)
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries (collection, key, value) VALUES (?, ?, ?)",
                    list(puts),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, collection: str) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) of one collection."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM entries WHERE collection = ?", (collection,)
            ).fetchall()
        yield from rows

    def get(self, collection: str, key: bytes) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM entries WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
        return row[0] if row else None

    def collections(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT collection FROM entries").fetchall()
        return [row[0] for row in rows]

    def count(self, collection: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM entries WHERE collection = ?", (collection,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
