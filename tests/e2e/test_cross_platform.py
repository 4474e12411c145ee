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
    assert s.new_for(SAM) == ["Someone alerted is handling the alert for Dina."]  # no name
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


# ---- one person, two platforms: /link and failover --------------------------------

TOMAS_ON_SIGNAL = SignalUser("Tomas", "3c2b1a09-8f7e-4d6c-9b5a-4a3b2c1d0e9f", "+15550002003")


async def tomas_on_both(both: Both) -> None:
    """Dina (Signal) has Tomas and Sam as contacts; Tomas links his Signal account too."""
    s, tg, h = both.signal, both.telegram, both.h
    code = await s.invite_code(DINA, "Tomas")
    await tg.say(TOMAS, f"accept {code}")
    await s.link(DINA, SAM)
    [offer] = await tg.say(TOMAS, "/link")
    [link_code] = [line.split()[1] for line in offer.splitlines() if line.startswith("link ")]
    assert has(await s.say(TOMAS_ON_SIGNAL, f"link {link_code}"), "Linked.")
    assert tg.new_for(TOMAS) == [
        "Your account on Signal is now linked. If you did not do this, send /unlink now."
    ]
    await s.say(DINA, "checkin daily 09:00")
    await h.advance(minutes=15)
    await tg.say(TOMAS, "/help")  # Telegram is the app Tomas used last: alerts go there first
    s.clear()


async def test_an_alert_telegram_refuses_arrives_on_signal_once_and_the_ack_there_stops_it(
    both: Both,
) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    await tomas_on_both(both)
    tg.fake.block(TOMAS.id)  # Telegram answers 403

    await until(h, NINE + timedelta(minutes=45))
    await h.deliver()
    assert tg.new_for(TOMAS) == []
    [alert] = s.new_for(TOMAS_ON_SIGNAL)
    assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    assert "\n\n1. I'm on it\n" in alert
    [sams] = s.new_for(SAM)  # the alert, and no "could not reach one of the people"
    assert sams.startswith("SAFETY ALERT: Dina has not checked in.")

    assert has(await s.say(TOMAS_ON_SIGNAL, "1"), "The others alerted know you are on it")
    await h.advance(hours=1)  # acknowledged: no repeats, on either app (ack_timeout is 2h)
    assert s.new_for(TOMAS_ON_SIGNAL) == [] and tg.new_for(TOMAS) == []
    assert [m for m in s.inbox(TOMAS_ON_SIGNAL) if m.startswith("SAFETY ALERT")] == [alert]


async def test_an_alert_telegram_rate_limits_for_ten_minutes_also_goes_out_on_signal(
    both: Both,
) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    await tomas_on_both(both)

    await until(h, NINE + timedelta(minutes=44))
    tg.fake.fail_next("sendMessage", 429, retry_after=600)
    await until(h, NINE + timedelta(minutes=45))
    await h.deliver()
    [alert] = s.new_for(TOMAS_ON_SIGNAL)
    assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    assert tg.new_for(TOMAS) == []
    h.clock.advance(timedelta(minutes=10, seconds=1))  # the limit lifts: Telegram gets it too
    await h.deliver()
    [on_telegram] = tg.new_for(TOMAS)
    assert on_telegram.startswith("SAFETY ALERT: Dina has not checked in.")
    assert s.new_for(TOMAS_ON_SIGNAL) == []  # the copy went out once


async def test_unlink_keeps_only_this_app(both: Both) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    await tomas_on_both(both)
    assert await tg.say(TOMAS, "/unlink") == ["Unlinked. The bot now reaches you only on this app."]
    tg.fake.block(TOMAS.id)
    await until(h, NINE + timedelta(minutes=45))
    await h.deliver()
    assert s.new_for(TOMAS_ON_SIGNAL) == []  # no other way left
    assert has(s.new_for(SAM), "could not reach one of the people")


async def test_when_both_apps_refuse_each_is_tried_once_and_the_others_are_told(
    both: Both,
) -> None:
    s, tg, h = both.signal, both.telegram, both.h
    await tomas_on_both(both)
    tg.fake.block(TOMAS.id)
    s.fake.refused[TOMAS_ON_SIGNAL.uuid] = UNTRUSTED_MASTER  # his Signal safety number changed

    await until(h, NINE + timedelta(minutes=45))
    await h.deliver()
    await h.deliver()
    assert s.new_for(TOMAS_ON_SIGNAL) == [] and tg.new_for(TOMAS) == []
    async with h.app.rt.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "alert"))).scalars()
        tomas = [r for r in rows if r.chat_id in (str(TOMAS.id), TOMAS_ON_SIGNAL.uuid)]
    assert sorted((r.platform, r.status) for r in tomas) == [
        ("signal", "failed"),
        ("telegram", "failed"),
    ]
    assert has(s.new_for(SAM), "could not reach one of the people")


async def test_link_refuses_an_account_with_its_own_contacts_a_wrong_code_and_this_app(
    both: Both,
) -> None:
    s, tg = both.signal, both.telegram
    code = await s.invite_code(DINA, "Tomas")
    await tg.say(TOMAS, f"accept {code}")  # Tomas's Telegram account has a contact link
    *_, offer = await s.say(DINA, "link")  # after the "Tomas accepted" notice
    [link_code] = [line.split()[1] for line in offer.splitlines() if line.startswith("link ")]
    assert await s.say(DINA, f"link {link_code}") == [
        "Send this code from your other app, not from this one."
    ]
    assert has(await tg.say(TOMAS, f"/link {link_code}"), "already has its own check-ins")
    assert has(await tg.say(TINA, "/link wrongcode"), "code")
    assert has(await tg.say(TINA, f"/link {link_code}"), "Linked.")  # a new account may
    assert await tg.say(TINA, f"/link {link_code}") != ["Linked."]  # and only once
    assert has(s.new_for(DINA), "Your account on Telegram is now linked.")
