"""Per-shard checkpoints of the data-plane workers: in memory, or a JSON file replaced atomically.

Keys look like `pipe/<name>/<shardId>` or `firehose/<name>/<shardId>`; values are the last
sequence number delivered downstream, so a restart resumes right after it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path


class CheckpointStore:
    """Thread-safe map of checkpoint key -> last delivered sequence number."""

    def __init__(self, path: Path | None = None, *, write_interval: float = 0.2) -> None:
        self._path = Path(path) if path is not None else None
        # Writes are coalesced to one per `write_interval` s; a crash in between only replays
        # (at-least-once), and `flush(force=True)` on a clean stop writes the latest positions.
        self._write_interval = write_interval
        self._last_write = float("-inf")
        self._dirty = False
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        # scope (e.g. `pipe/<name>`) -> identity of the source incarnation its checkpoints
        # belong to; a re-created stream reuses shard ids, so old positions must not apply.
        self._sources: dict[str, str] = {}
        if self._path is not None and self._path.exists():
            self._values, self._sources = self._load(self._path)

    @staticmethod
    def _load(path: Path) -> tuple[dict[str, str], dict[str, str]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"checkpoint file {path} is not valid JSON: {exc}") from exc
        sections = []
        for section in ("checkpoints", "sources"):
            values = data.get(section, {}) if isinstance(data, dict) else None
            if not isinstance(values, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in values.items()
            ):
                raise ValueError(f"checkpoint file {path}: {section!r} must map strings to strings")
            sections.append(values)
        return sections[0], sections[1]

    @property
    def path(self) -> Path | None:
        return self._path

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, sequence_number: str) -> None:
        self.put_many({key: sequence_number})

    def put_many(self, values: dict[str, str]) -> None:
        """Record several checkpoints in one durable write (all or none on a crash)."""
        if not values:
            return
        for key, value in values.items():
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"checkpoint {key!r}: sequence number must be a string, got {value!r}"
                )
        with self._lock:
            self._values.update(values)
            self._dirty = True
            if time.monotonic() - self._last_write >= self._write_interval:
                self._persist()

    def flush(self, *, force: bool = False) -> None:
        """Write pending checkpoints (at once with `force`, else when the interval passed)."""
        with self._lock:
            if self._dirty and (
                force or time.monotonic() - self._last_write >= self._write_interval
            ):
                self._persist()

    def bind(self, scope: str, source_identity: str) -> bool:
        """Tie the checkpoints under `scope/` to one incarnation of their source.

        Returns True (and forgets the scope's checkpoints) when the source was re-created
        since they were written.
        """
        with self._lock:
            previous = self._sources.get(scope)
            if previous == source_identity:
                return False
            self._sources[scope] = source_identity
            stale = [key for key in self._values if key.startswith(f"{scope}/")]
            for key in stale:
                del self._values[key]
            self._persist()
            return previous is not None

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Every checkpoint and source binding, in the checkpoint file's layout."""
        with self._lock:
            return {"checkpoints": dict(self._values), "sources": dict(self._sources)}

    def restore(self, snapshot: dict[str, dict[str, str]]) -> None:
        """Take over a `snapshot()` (an in-memory store handed on to a restarted worker)."""
        with self._lock:
            self._values = dict(snapshot.get("checkpoints", {}))
            self._sources = dict(snapshot.get("sources", {}))
            self._persist()

    def items(self, prefix: str = "") -> dict[str, str]:
        with self._lock:
            return {k: v for k, v in self._values.items() if k.startswith(prefix)}

    def _persist(self) -> None:
        if self._path is not None:
            self._write({"checkpoints": self._values, "sources": self._sources})
        self._dirty = False
        self._last_write = time.monotonic()

    def _write(self, snapshot: dict[str, dict[str, str]]) -> None:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(snapshot, handle, sort_keys=True, indent=1)
            # os.replace is atomic on POSIX: a killed process leaves the old or the new file,
            # never half of one. No fsync: surviving power loss is not worth a sync per batch
            # for a local emulator.
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
