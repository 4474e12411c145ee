"""Any text, through each transport's real receive path, is handled inside the boundary.

Hypothesis writes messages of up to 5,000 characters from all of Unicode (digits of
other scripts, "²", controls, surrogate-free astral characters, what looks like a
sealed value) and each is pushed into a fake server: the console's feed, a Telegram
update fetched by python-telegram-bot, a Signal frame from the fake
signal-cli-rest-api. Every one must be *handled*: its update id committed with its
replies (`handled` fails after a few seconds otherwise), which only happens when no
exception escaped the router. After the batch, a plain "/help" is still answered:
nothing stalled.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clock import FakeClock
from tests.support.harness import Harness
from tests.support.servers.fake_signal import FakeSignal
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.signal_harness import SignalUser, signal_app
from tests.support.telegram_harness import TelegramUser, telegram_app

T0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
#: Text no transport refuses to carry: any code point but surrogates, up to 5,000 of them.
MESSAGES = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=5000),
        st.sampled_from(["²", "¹²", "①", "๙", "ok ²", "/checkin_remove ²", "hf1:x:y", "\x00"]),
        st.builds(
            lambda w, t: f"{w} {t}",
            st.sampled_from(
                ["/ok", "ok", "/sos", "/timer", "/tz", "/checkin", "/ack", "accept", "/join", "1"]
            ),
            st.text(max_size=60),
        ),
    ),
    min_size=8,
    max_size=8,
)
FUZZ = settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _db() -> str:
    return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/holdfast.db"


@FUZZ
@given(MESSAGES)
def test_console_handles_any_text(messages: list[str]) -> None:
    async def scenario() -> None:
        async with Harness(_db(), FakeClock(T0)) as h:
            for text in messages:
                await h.say("fuzzer", text)  # an escaping exception fails here
            assert await h.say("fuzzer", "/help")

    asyncio.run(scenario())


@FUZZ
@given(MESSAGES)
def test_telegram_handles_any_text(messages: list[str]) -> None:
    async def scenario() -> None:
        who = TelegramUser("Fuzz", 777001)
        async with FakeTelegram() as fake, telegram_app(_db(), FakeClock(T0), fake) as tg:
            for text in messages:
                await tg.push(who, text[:4096])  # Telegram's own limit for a message
            assert await tg.say(who, "/help")

    asyncio.run(scenario())


@FUZZ
@given(MESSAGES)
def test_signal_handles_any_text(messages: list[str]) -> None:
    async def scenario() -> None:
        who = SignalUser("Fuzz", "5d3e2c8a-0000-4000-8000-00000000f022", "+15550100999")
        async with FakeSignal() as fake, signal_app(_db(), FakeClock(T0), fake) as s:
            for text in messages:
                await s.push(who, text)
            assert await s.say(who, "help")

    asyncio.run(scenario())
