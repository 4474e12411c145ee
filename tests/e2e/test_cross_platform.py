"""Alerts, acknowledgements and all-clears across Signal and Telegram, in one app.

Both fakes run at once: a fake signal-cli-rest-api driven through the real
signalbot, and a fake Bot API driven through the real python-telegram-bot (long
polling). One database, one outbox, one scheduler on a fake clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.store.models import Outbox
from bot.transports.telegram import TelegramTransport
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has, until
from tests.support.servers.fake_signal import UNTRUSTED_MASTER, FakeSignal
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.signal_harness import SignalSide, SignalUser, fast_signal, handled

DINA = SignalUser("Dina", "0b9c1f5e-3a2d-4c6b-8e7f-1a2b3c4d5e6f", "+15550002001")
SAM = SignalUser("Sam", "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9", "+15550002002")


@dataclass(frozen=True)
class TelegramUser:
    name: str
    id: int


TOMAS = TelegramUser("Tomas", 424242)
TINA = TelegramUser("Tina", 515151)

NINE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class TelegramSide:
    """Type and press buttons as Telegram users; read what the fake Bot API was sent."""

    def __init__(self, h: Harness, fake: FakeTelegram) -> None:
        self.h, self.fake = h, fake
        self._seen: dict[int, int] = {}

    async def say(self, who: TelegramUser, text: str) -> list[str]:
        update_id = self.fake.push_text(who.id, text, first_name=who.name)
        return await self._settle(who, update_id)

    async def press(self, who: TelegramUser, label: str) -> list[str]:
        """Press the newest button labelled `label` in `who`'s chat (a callback query)."""
        message_id, data = self.button(who, label)
        update_id = self.fake.push_callback(who.id, data, message_id, first_name=who.name)
        return await self._settle(who, update_id)

    def button(self, who: TelegramUser, label: str) -> tuple[int, str]:
        for sent in reversed(self.fake.sent):
            markup = sent.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for key in row:
                    if sent["chat_id"] == who.id and key["text"] == label:
                        return sent["message_id"], key["callback_data"]
        raise AssertionError(f"no {label!r} button in {who.name}'s chat")

    def new_for(self, who: TelegramUser) -> list[str]:
        box = self.fake.messages_to(who.id)
        start = self._seen.get(who.id, 0)
        self._seen[who.id] = len(box)
        return box[start:]

    async def _settle(self, who: TelegramUser, update_id: int) -> list[str]:
        await handled(self.h, "telegram", str(update_id))
        await self.h.deliver()
        return self.new_for(who)


@dataclass
class Both:
    h: Harness
    signal: SignalSide
    telegram: TelegramSide


@pytest.fixture
async def both(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Both]:
    async with FakeSignal() as sig, FakeTelegram() as tg:
        transports: dict[str, Any] = {
            "signal": fast_signal(sig),
            "telegram": TelegramTransport(
                tg.token, base_url=tg.base_url, pacing=False, poll_timeout=1
            ),
        }
        async with Harness(sqlite_url, clock, extra_transports=transports) as h:
            await sig.wait_connected()
            yield Both(h, SignalSide(h, sig), TelegramSide(h, tg))


async def test_signal_defender_with_a_telegram_and_a_signal_contact(both: Both) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    code = await s.invite_code(DINA, "Tomas")
    accepted = await tg.say(TOMAS, f"accept {code}")  # typed as the Signal invite says
    assert has(accepted, "You are now a trusted contact of Dina")
    await s.link(DINA, SAM)
    assert has(s.inbox(DINA), "Tomas accepted") and has(s.inbox(DINA), "Sam accepted")
    await s.say(DINA, "checkin daily 09:00")
    s.clear()

    await until(h, NINE + timedelta(minutes=45))  # prompt, reminder, silence
    prompt, reminder = s.new_for(DINA)
    assert "are you safe" in prompt and reminder.startswith("Reminder")
    [alert_sam] = s.new_for(SAM)
    [alert_tomas] = tg.new_for(TOMAS)
    for alert in (alert_sam, alert_tomas):
        assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    assert alert_sam.endswith("\n\n1. I'm on it\n2. Resolved: they are safe")  # numbered
    assert "1. I'm on it" not in alert_tomas  # a button on Telegram
    _, data = tg.button(TOMAS, "I'm on it")
    assert data.startswith("/ack ")

    thanks = await tg.press(TOMAS, "I'm on it")
    assert has(thanks, "Thank you. The others alerted know you are on it")
    assert len(tg.fake.answered) == 1  # the button's spinner was answered
    assert s.new_for(SAM) == ["Tomas is handling the alert for Dina."]
    assert s.new_for(DINA) == []  # the defender's phone learns nothing

    assert has(await s.say(DINA, "ok"), "Thank you, you are checked in")
    assert s.new_for(SAM) == ["ALL CLEAR: Dina has checked in and is safe."]
    assert tg.new_for(TOMAS) == ["ALL CLEAR: Dina has checked in and is safe."]
    await h.advance(hours=1)  # level 2 never comes: it was acknowledged and resolved
    assert s.new_for(SAM) == [] and tg.new_for(TOMAS) == []


async def test_telegram_defender_with_a_signal_contact(both: Both) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    invite = await tg.say(TINA, "/invite Sam")
    [link] = [w for m in invite for w in m.split() if "?start=" in w]
    code = link.split("?start=", 1)[1]
    assert has(await s.say(SAM, f"accept {code}"), "You are now a trusted contact of Tina")
    assert has(tg.new_for(TINA), "Sam accepted")
    await tg.say(TINA, "/checkin daily 09:00")

    await until(h, NINE + timedelta(minutes=45))
    [alert] = s.new_for(SAM)
    assert alert.startswith("SAFETY ALERT: Tina has not checked in.")
    assert has(await s.say(SAM, "1"), "Nobody else was alerted")
    assert not has(tg.new_for(TINA), "Sam")

    assert has(await tg.press(TINA, "I'm safe"), "you are checked in")  # the reminder's button
    assert s.new_for(SAM) == ["ALL CLEAR: Tina has checked in and is safe."]


async def test_a_changed_safety_number_is_reported_to_the_other_contact(both: Both) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    code = await s.invite_code(DINA, "Tomas")
    await tg.say(TOMAS, f"accept {code}")
    await s.link(DINA, SAM)
    await s.say(DINA, "checkin daily 09:00")
    await until(h, NINE + timedelta(minutes=30))
    s.clear()

    # Sam's phone may have been seized: signal-cli refuses the new identity key.
    s.fake.fail_next_send(400, body={"error": UNTRUSTED_MASTER})
    await until(h, NINE + timedelta(minutes=45))
    await h.deliver()  # the report about the failed alert
    assert s.new_for(SAM) == []
    alert, note = tg.new_for(TOMAS)
    assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    assert note.startswith("Note: the alert about Dina could not reach one of the people")
    async with h.app.rt.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.chat_id == SAM.uuid))).scalars()
        [failed] = [r for r in rows if r.status == "failed"]
    assert "safety number changed" in (failed.last_error or "")
    assert SAM.number not in (failed.last_error or "")
