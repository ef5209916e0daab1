"""Where a Firehose delivery can land, and which listed objects are new: the sensors list only
there, so a tick costs the same on a lake of a day and of a year.

Firehose names an object `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` after the arrival of
its oldest record, under a `dt=` folder of the record's event day. An object written now is
named at most one buffer interval in the past, in a folder of the last few days (stream and
Kinesis retention bound how late a change can be). So a tick lists, in each of those folders,
only the names from `now - lookback` on (S3 `StartAfter`), and remembers the keys it saw within
that window so none is taken twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

# Beyond the buffer interval, for clocks and the time a delivery takes to write.
LOOKBACK_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True)
class DeliveryNames:
    """How the delivery stream names its objects (from DescribeDeliveryStream)."""

    stream: str
    version: str
    buffer_interval: timedelta
    time_zone: tzinfo = UTC

    @property
    def lookback(self) -> timedelta:
        return self.buffer_interval + LOOKBACK_MARGIN

    def name_at(self, moment: datetime) -> str:
        """The smallest object name Firehose gives a delivery whose oldest record arrived at
        `moment` or later."""
        return f"{self.stream}-{self.version}-{moment.astimezone(self.time_zone):%Y-%m-%d-%H-%M-%S}"


@dataclass(frozen=True)
class Listing:
    """One S3 listing a tick makes: a folder, and the key to start after."""

    prefix: str
    start_after: str


def listings(folders: Iterable[str], names: DeliveryNames, now: datetime) -> list[Listing]:
    """Per folder (a prefix ending in `/`), the listing that finds every delivery of the window."""
    start = names.name_at(now - names.lookback)
    return [Listing(prefix=folder, start_after=f"{folder}{start}") for folder in folders]


@dataclass(frozen=True)
class ArrivalCursor:
    """The keys seen within the lookback window (a key is taken once), and when."""

    seen: Mapping[str, str] = field(default_factory=dict)  # key -> when first seen, ISO 8601

    def to_json(self) -> str:
        return json.dumps({"seen": dict(sorted(self.seen.items()))})

    @classmethod
    def from_json(cls, text: str | None) -> ArrivalCursor:
        """A stored cursor; no cursor (a first tick) or one of an older layout starts empty."""
        if not text:
            return cls()
        data = json.loads(text)
        seen = data.get("seen") if isinstance(data, dict) else None
        return cls(seen=dict(seen)) if isinstance(seen, dict) else cls()


def new_arrivals(
    listed: Iterable[Mapping[str, Any]],
    cursor: ArrivalCursor,
    now: datetime,
    window: timedelta,
) -> tuple[list[Mapping[str, Any]], ArrivalCursor]:
    """The listed objects not seen before, oldest first, and the cursor after them.

    Keys first seen longer than two windows ago are forgotten: a listing can no longer return
    them, so the cursor stays as small as a window's deliveries.
    """
    objects = list(listed)
    new = sorted(
        (obj for obj in objects if obj["Key"] not in cursor.seen),
        key=lambda obj: (obj["LastModified"], obj["Key"]),
    )
    stamp = now.astimezone(UTC).isoformat()
    seen = dict(cursor.seen)
    seen.update({obj["Key"]: stamp for obj in new})
    oldest = now - 2 * window
    kept = {key: when for key, when in seen.items() if datetime.fromisoformat(when) >= oldest}
    return new, ArrivalCursor(seen=kept)


def dt_of(key: str, prefix: str) -> str | None:
    """The `dt=` day of an object under `prefix`, None when it sits elsewhere."""
    rest = key[len(prefix) :] if key.startswith(prefix) else ""
    folder = rest.split("/", 1)[0]
    if not folder.startswith("dt=") or "/" not in rest:
        return None
    day = folder[len("dt=") :]
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    return day


def record_keys(data: bytes) -> set[str]:
    """The attribute names in the complete JSON lines of an object's first bytes."""
    keys: set[str] = set()
    lines = data.split(b"\n")
    for line in lines[:-1] if not data.endswith(b"\n") else lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the crawler and the error sensor report malformed lines
        if isinstance(record, dict):
            keys.update(k.lower() for k in record)
    return keys
