"""The bounds of `/mydata` (pure): once an hour, lists cut to the newest, parts that join up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core import exports

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_once_an_hour() -> None:
    assert exports.next_allowed(None, NOW) is None
    last = NOW - timedelta(minutes=59)
    assert exports.next_allowed(last, NOW) == last + timedelta(hours=1)
    assert exports.next_allowed(NOW - timedelta(hours=1), NOW) is None
    assert exports.next_allowed(NOW + timedelta(hours=2), NOW) is None  # a clock set back


def test_every_list_keeps_its_newest_entries_and_says_what_it_left_out() -> None:
    doc = {"messages": list(range(5)), "person": {"x": 1}, "w": {"answers": list(range(4))}}
    assert exports.bound(doc, limit=3) == {
        "messages": [2, 3, 4],
        "person": {"x": 1},
        "w": {"answers": [1, 2, 3]},
        "left_out": {"messages": 2, "w.answers": 1},
    }
    assert exports.bound({"a": [1]}, limit=3) == {"a": [1]}


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=200))
def test_parts_join_up_and_none_is_too_big(data: bytes, size: int) -> None:
    found = exports.parts(data, size)
    assert b"".join(found) == data
    assert all(len(p) <= size for p in found) and found
    assert all(p for p in found) or data == b""


def test_parts_are_cut_after_a_line() -> None:
    assert exports.parts(b"ab\ncd\nef\n", 7) == [b"ab\ncd\n", b"ef\n"]
