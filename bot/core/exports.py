"""`/mydata` within bounds: how often, how big, in how many parts (pure rules).

An export reads everything stored about a person, so one request costs real work:
it is served at most once an hour per person (`EXPORT_EVERY`), each list in it holds
at most `MAX_ITEMS` entries (the newest; the document says how many were left out),
and the file goes in parts of at most `PART_BYTES`, cut at line ends, well under what
every platform takes (Telegram bots send documents up to 50 MB, Signal attachments
up to 100 MB), so no part is refused for its size.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

#: How often a person may have their data sent.
EXPORT_EVERY = timedelta(hours=1)
#: The most entries of one kind an export carries (messages, check-ins, ...).
MAX_ITEMS = 2000
#: The largest part of the export file.
PART_BYTES = 1_000_000
#: Where a bounded document says what it left out.
LEFT_OUT = "left_out"


def next_allowed(last: datetime | None, now: datetime) -> datetime | None:
    """When this person may have an export again; None if they may now."""
    if last is None or last > now or now >= last + EXPORT_EVERY:
        return None
    return last + EXPORT_EVERY


def bound(doc: dict[str, Any], limit: int = MAX_ITEMS) -> dict[str, Any]:
    """The document with every list cut to its newest `limit` entries (lists are oldest first).

    What was cut is counted under `LEFT_OUT` ({section: how many}), so the document
    never claims to be complete when it is not.
    """
    out: dict[str, Any] = {}
    left: dict[str, int] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            inner = bound(value, limit)
            left.update({f"{key}.{k}": n for k, n in inner.pop(LEFT_OUT, {}).items()})
            out[key] = inner
        elif isinstance(value, list) and len(value) > limit:
            out[key] = value[len(value) - limit :]
            left[key] = len(value) - limit
        else:
            out[key] = value
    if left:
        out[LEFT_OUT] = left
    return out


def parts(data: bytes, size: int = PART_BYTES) -> list[bytes]:
    """`data` in pieces of at most `size` bytes, cut after a newline where there is one.

    Joined in order they give `data` back exactly. Always at least one part.
    """
    if size <= 0:
        raise ValueError("part size must be positive")
    found: list[bytes] = []
    start = 0
    while len(data) - start > size:
        cut = data.rfind(b"\n", start, start + size)
        end = cut + 1 if cut >= start else start + size
        found.append(data[start:end])
        start = end
    found.append(data[start:])
    return found
