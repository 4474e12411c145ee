"""`/mydata` within bounds (issue 11): once an hour per person, each list cut to its newest
entries (saying so), a large file sent in parts that join up to the whole document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.core import exports
from bot.core.model import Outgoing
from tests.support.clock import FakeClock
from tests.support.harness import Harness

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def sent_to(h: Harness, who: str, start: int) -> list[Outgoing]:
    return [o for o in h.console.sent[start:] if o.to.chat_id == who]


async def test_mydata_once_an_hour(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        [first] = await h.say("alice", "/mydata")
        assert first.startswith("What Holdfast stores about you")
        await h.advance(minutes=59)
        start = len(h.console.sent)
        assert await h.say("alice", "/mydata") == [
            "You asked for your data less than an hour ago. You can ask again after "
            "Mon 01 Jun 09:00 (UTC)."
        ]
        assert all(o.attachment is None for o in sent_to(h, "alice", start))  # nothing read
        await h.advance(minutes=1)
        [again] = await h.say("alice", "/mydata")
        assert again.startswith("What Holdfast stores about you")
        await h.say("bob", "/start")
        [bobs] = await h.say("bob", "/mydata")  # per person: Bob is not held back by Alice
        assert bobs.startswith("What Holdfast stores about you")


async def test_a_large_export_is_bounded_and_sent_in_parts(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "MAX_ITEMS", 6)
    monkeypatch.setattr(exports, "PART_BYTES", 1500)
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        for _ in range(10):
            await h.say("alice", "/help")
            await h.advance(seconds=5)  # the flood guard counts a frozen clock
        start = len(h.console.sent)
        await h.say("alice", "/mydata")
        got = sent_to(h, "alice", start)
    assert len(got) >= 2 and all(o.attachment is not None for o in got)
    total = len(got)
    assert f"sent in {total} parts" in got[0].text and "Older ones are left out" in got[0].text
    assert [o.text for o in got[1:]] == [
        f"Your data: part {n} of {total}." for n in range(2, total + 1)
    ]
    names = [o.attachment.filename for o in got if o.attachment]
    assert names == [f"holdfast-my-data-{n}-of-{total}.json" for n in range(1, total + 1)]
    pieces = [o.attachment.data for o in got if o.attachment]
    assert all(len(p) <= 1500 for p in pieces)
    doc = json.loads(b"".join(pieces))  # joined in order: the whole document
    assert len(doc["messages_to_you"]) == 6
    assert doc["left_out"]["messages_to_you"] > 0
    assert "Messages sent to you: " in got[0].text  # the summary counts everything stored
