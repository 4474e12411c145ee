"""A duress answer on Telegram: what the defender's phone shows, and when (issue 10).

Through the real Telegram transport and the fake Bot API, the defender's transcript
(every text, button, edit and callback answer, in order) is byte-identical between
an answer carrying the duress word and the same answer without it, in every state
an answer can meet; the contact gets one silent alert only in the first. And the
reply does not wait for the alerts: its latency with 60 recipients is that with 1.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.transports.telegram import Limits
from tests.support.clock import FakeClock
from tests.support.duress_timing import measure
from tests.support.harness import has
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import TelegramSide, TelegramUser, telegram_app

TINA = TelegramUser("Tina", 515151)
TOMAS = TelegramUser("Tomas", 424242)
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SILENT = "SOS (silent): Tina may be in danger"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def transcript(tg: TelegramSide, chat: int, since: int) -> list[tuple[Any, ...]]:
    """What a chat was sent since `since`: method, text, buttons, format, and which
    message (numbered by first appearance: ids are the server's, not the phone's)."""
    ids: dict[int, int] = {}
    seen = []
    for s in tg.fake.sent[since:]:
        if s["chat_id"] != chat:
            continue
        which = ids.setdefault(s["message_id"], len(ids))
        seen.append((s["method"], s["text"], s["reply_markup"], s["parse_mode"], which))
    return seen


async def story(url: str, answer: str, *, pin: bool, locked: bool) -> tuple[list[Any], list[str]]:
    """Tina answers her 09:00 prompt with `answer`, presses what it offers, looks around."""
    async with FakeTelegram() as fake, telegram_app(url, FakeClock(T0), fake) as tg:
        await tg.link(TINA, TOMAS)
        await tg.say(TINA, "/duress falcon")
        if pin:
            await tg.say(TINA, "/pin 4821")
        await tg.say(TINA, "/checkin daily 09:00")
        await tg.h.advance(hours=1)
        if locked:  # five wrong PINs: no PIN is accepted for 10 minutes
            for guess in ("0000", "1111", "2222", "3333", "4444"):
                await tg.say(TINA, f"ok {guess}")
        tg.clear()
        start = len(tg.fake.sent)
        await tg.say(TINA, answer)
        newest = tg.last_message_id(TINA.id, "")
        if any("4 good" in row for row in tg.labels(TINA.id, newest)):
            await tg.press(TINA, "4 good")
        await tg.say(TINA, "/status")
        await tg.h.advance(minutes=30)  # a reminder, if the answer did not count
        mine = transcript(tg, TINA.id, start)
        return mine, tg.new_for(TOMAS)


@pytest.mark.parametrize(
    ("normal", "duress", "pin", "locked"),
    [
        ("ok", "ok falcon", False, False),  # plain
        ("ok", "Falcon!", False, False),  # the word alone
        ("ok 4", "ok 4 falcon", False, False),  # with a score (issue 10: was no alert)
        ("ok 4821", "ok 4821 falcon", True, False),  # with the PIN
        ("ok 4821", "falcon ok 4821", True, False),
        ("ok 1111", "ok 1111 falcon", True, False),  # a wrong PIN: still a PIN refusal
        ("ok", "ok falcon", True, False),  # no PIN given: still a PIN refusal
        ("ok 4821", "ok 4821 falcon", True, True),  # during a lock-out: the lock-out reply
    ],
)
async def test_the_phone_shows_the_same_with_or_without_the_duress_word(
    tmp_path: Path, normal: str, duress: str, pin: bool, locked: bool
) -> None:
    seen, tomas = await story(f"sqlite+aiosqlite:///{tmp_path}/n.db", normal, pin=pin,
                              locked=locked)  # fmt: skip
    seen_duress, tomas_duress = await story(f"sqlite+aiosqlite:///{tmp_path}/d.db", duress,
                                            pin=pin, locked=locked)  # fmt: skip
    assert seen and seen_duress == seen  # texts, buttons, edits, order: byte for byte
    assert not has(tomas, SILENT)
    assert len([m for m in tomas_duress if m.startswith(SILENT)]) == 1, tomas_duress
    if locked:
        assert seen[0][1].startswith("That did not check you in: too many wrong PINs.")
    elif pin and normal != "ok 4821":
        assert seen[0][1].startswith("That did not check you in")


LOOSER = Limits(global_per_second=100, per_chat_interval=0.05, margin=0.01)


async def test_the_reply_does_not_wait_for_the_alerts(tmp_path: Path) -> None:
    """60 alerts take 0.6 s at 100 a second: a reply queued behind them would show it."""
    one = await measure(tmp_path, runs=5, recipients=1, limits=LOOSER)
    many = await measure(tmp_path, runs=5, recipients=60, limits=LOOSER)
    assert (one.alerts, many.alerts, one.too_many, many.too_many) == (5, 300, 0, 0)
    spread = statistics.median(many.latencies) - statistics.median(one.latencies)
    assert spread < 0.25, (one.latencies, many.latencies)
