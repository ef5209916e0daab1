"""Which S3 objects are new since a sensor's last tick, tracked by a small cursor."""

# The cursor is the newest LastModified seen plus the keys written at that same instant: objects
# landing in the same second are not missed, and the cursor stays as small as one instant's keys.

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ArrivalCursor:
    newest: datetime | None = None
    keys_at_newest: frozenset[str] = frozenset()

    def to_json(self) -> str:
        return json.dumps(
            {
                "newest": self.newest.isoformat() if self.newest else None,
                "keys_at_newest": sorted(self.keys_at_newest),
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> ArrivalCursor:
        """Parse a stored cursor; no cursor (first tick) means every object is new."""
        if not text:
            return cls()
        data = json.loads(text)
        newest = datetime.fromisoformat(data["newest"]) if data.get("newest") else None
        return cls(newest=newest, keys_at_newest=frozenset(data.get("keys_at_newest", [])))


def new_arrivals(
    listing: Iterable[Mapping[str, Any]], cursor: ArrivalCursor
) -> tuple[list[Mapping[str, Any]], ArrivalCursor]:
    """Split a full listing (objects with Key and LastModified) into new objects and next cursor.

    An empty listing (emptied bucket) keeps the cursor, so nothing already seen comes back.
    """
    objects = list(listing)
    new = [
        obj
        for obj in objects
        if cursor.newest is None
        or obj["LastModified"] > cursor.newest
        or (obj["LastModified"] == cursor.newest and obj["Key"] not in cursor.keys_at_newest)
    ]
    if not new:
        return [], cursor
    newest = max(obj["LastModified"] for obj in new)
    keys = {obj["Key"] for obj in new if obj["LastModified"] == newest}
    if newest == cursor.newest:
        keys |= cursor.keys_at_newest
    new.sort(key=lambda obj: (obj["LastModified"], obj["Key"]))
    return new, ArrivalCursor(newest=newest, keys_at_newest=frozenset(keys))


def arrival_run_key(new_objects: Iterable[Mapping[str, Any]]) -> str:
    """Deterministic run key for a batch of arrivals: the same objects give the same key."""
    keys = sorted(obj["Key"] for obj in new_objects)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    return f"arrivals-{len(keys)}-{digest}"
