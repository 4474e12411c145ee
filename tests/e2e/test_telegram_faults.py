"""Issue 3, acceptance 2: Telegram faults through the whole app, each a test.

The real python-telegram-bot talks to the fake Bot API, which answers 429, 500,
time-outs, 403 and "group upgraded to a supergroup" on demand; the app (router,
outbox, delivery, scheduler on a fake clock) must deliver every message exactly
once and in order per chat, fail only what cannot be delivered (and say so), and
lose nothing across a stop, a crash mid-update, or a restart.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.model import Outgoing
from bot.i18n import language_hint
from bot.store import outbox as outbox_store
from bot.store.models import Checkin, Outbox, ProcessedInbound
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has, until
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import (
    MigratingFake,
    TelegramSide,
    TelegramUser,
    fast_telegram,
    telegram_app,
)

TINA = TelegramUser("Tina", 515151)
TOMAS = TelegramUser("Tomas", 424242)
TESS = TelegramUser("Tess", 636363)
THEO = TelegramUser("Theo", 737373)
OLGA = TelegramUser("Olga", 818181)
PAT = TelegramUser("Pat", 929292)

NINE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # everyone here keeps the default zone, UTC
FIRST_CONTACT = [
    "Welcome to Holdfast. I send you safety check-ins, and if you do not answer, I alert "
    "the people you trust.\n\n" + language_hint(),  # the fake's users send no language_code
    "Before you start: Telegram bot chats are NOT end-to-end encrypted. Telegram and whoever "
    "runs this bot can read what you send here. If you are at high risk, use Holdfast on "
    "Signal instead.",
]


@pytest.fixture
async def fake() -> AsyncIterator[MigratingFake]:
    async with MigratingFake() as server:
        yield server


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock, fake: FakeTelegram) -> AsyncIterator[TelegramSide]:
    async with telegram_app(sqlite_url, clock, fake) as side:
        yield side


async def defender_with_contacts(tg: TelegramSide, *contacts: TelegramUser) -> None:
    """Tina checks in daily at 09:00 UTC; `contacts` accepted her deep-link invites."""
    for contact in contacts:
        await tg.link(TINA, contact)
    await tg.say(TINA, "/checkin daily 09:00")
    tg.clear()


async def outbox_rows(h: Harness, chat: TelegramUser | int) -> list[Outbox]:
    chat_id = str(chat.id if isinstance(chat, TelegramUser) else chat)
    async with h.app.rt.sessions() as session:
        found = await session.execute(
            select(Outbox).where(Outbox.platform == "telegram", Outbox.chat_id == chat_id)
        )
        return list(found.scalars())


def sends_to(fake: FakeTelegram, chat: TelegramUser | int) -> list[str]:
    """Every sendMessage the bot attempted to a chat, refused or not."""
    chat_id = chat.id if isinstance(chat, TelegramUser) else chat
    return [p.get("text", "") for p in fake.calls_of("sendMessage") if p.get("chat_id") == chat_id]


async def deliver_for(h: Harness, clock: FakeClock, seconds: float, step: float) -> None:
    """Deliver, then move the fake clock by `step`, until `seconds` of fake time passed."""
    elapsed = 0.0
    while elapsed <= seconds:
        await h.deliver()
        clock.advance(timedelta(seconds=step))
        elapsed += step


# ---- 429, 5xx, time-outs ---------------------------------------------------------------


async def test_five_429s_then_every_message_arrives_once_in_order_per_chat(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    people = (TINA, TOMAS, TESS, THEO)
    paced = fast_telegram(fake, pacing=True)  # a 429 also holds the transport's pacer
    async with telegram_app(sqlite_url, clock, fake, transport=paced) as tg:
        for who in people:  # each gets three replies: welcome, privacy note, answer
            await tg.push(who, "/tz Europe/Berlin")
        fake.fail_next("sendMessage", 429, count=5, retry_after=1)

        await tg.h.deliver()
        assert fake.too_many == 0  # injected 429s, not the fake's flood control
        assert all(tg.inbox(who) == [] for who in people)  # four sends, four 429s
        loop = asyncio.get_running_loop()
        started = loop.time()
        await deliver_for(tg.h, clock, seconds=5, step=1.1)  # Telegram said: 1 second

        expected = [*FIRST_CONTACT, "Time zone set to Europe/Berlin. Your check-ins now follow it."]
        for who in people:
            assert tg.inbox(who) == expected  # exactly once each, in order
        assert len(fake.calls_of("sendMessage")) == 12 + 5  # each 429 cost one attempt
        assert loop.time() - started >= 0.9  # the pacer held every send for retry_after
        for who in people:
            assert {r.status for r in await outbox_rows(tg.h, who)} == {"sent"}


async def test_500s_and_a_time_out_are_retried_and_the_alert_delivered_once(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    impatient = fast_telegram(fake, pacing=False, request_timeout=0.3)
    async with telegram_app(sqlite_url, clock, fake, transport=impatient) as tg:
        await defender_with_contacts(tg, TOMAS)
        await until(tg.h, NINE + timedelta(minutes=30))
        fake.fail_next("sendMessage", 500, count=2)
        fake.hang_next("sendMessage", seconds=3)  # longer than the bot waits: TimedOut

        await until(tg.h, NINE + timedelta(minutes=45))  # the alert: 500
        [row] = [r for r in await outbox_rows(tg.h, TOMAS) if "SAFETY ALERT" in r.payload]
        assert (row.status, row.attempts) == ("pending", 1)
        assert "Internal Server Error" in (row.last_error or "")
        await deliver_for(tg.h, clock, seconds=40, step=1.0)  # backoff 2 s, 4 s, 8 s (±20%)

        alerts = [m for m in tg.inbox(TOMAS) if m.startswith("SAFETY ALERT")]
        assert len(alerts) == 1 and alerts[0].startswith("SAFETY ALERT: Tina has not checked in")
        assert len([t for t in sends_to(fake, TOMAS) if t.startswith("SAFETY ALERT")]) == 4
        [row] = [r for r in await outbox_rows(tg.h, TOMAS) if "SAFETY ALERT" in r.payload]
        assert (row.status, row.attempts) == ("sent", 4)


async def test_a_burst_keeps_at_most_max_in_flight_calls_on_the_wire(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    people = [TelegramUser(f"P{n}", 700_000 + n) for n in range(12)]
    narrow = fast_telegram(fake, pacing=False, max_in_flight=3)
    async with telegram_app(sqlite_url, clock, fake, transport=narrow) as tg:
        for who in people:
            await tg.push(who, "/help")  # welcome, privacy note, help: 36 messages
        fake.hang_next("sendMessage", count=36, seconds=0.05, deliver=True)  # a slow API
        on_the_wire: list[int] = []

        async def watch() -> None:
            while True:
                on_the_wire.append(len(fake.calls_of("sendMessage")) - len(fake.sent))
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        try:
            await tg.h.deliver()  # the outbox hands the transport 12 chats at once
        finally:
            watcher.cancel()
        assert max(on_the_wire) == 3  # never more; and the cap was reached
        assert all(len(tg.inbox(who)) == 3 for who in people)


# ---- 403 -------------------------------------------------------------------------------


async def test_a_contact_who_blocked_the_bot_fails_once_and_the_others_are_told(
    tg: TelegramSide, fake: MigratingFake, clock: FakeClock
) -> None:
    await defender_with_contacts(tg, TOMAS, TESS, THEO)
    fake.block(TESS.id)
    await until(tg.h, NINE + timedelta(minutes=45))
    await deliver_for(tg.h, clock, seconds=600, step=60)  # nothing retries a 403

    note = "Note: the alert about Tina could not reach one of the people who should have"
    for other in (TOMAS, THEO):
        alert, told = tg.new_for(other)
        assert alert.startswith("SAFETY ALERT: Tina has not checked in.")
        assert told.startswith(note) and "Tess" not in told  # contacts are never named
    [failed] = [r for r in await outbox_rows(tg.h, TESS) if r.alert_id is not None]
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "SAFETY ALERT" in failed.payload
    assert "RecipientUnreachable" in (failed.last_error or "")
    assert "blocked" in (failed.last_error or "")
    assert len([t for t in sends_to(fake, TESS) if "SAFETY ALERT" in t]) == 1
    assert not has(tg.inbox(TINA), "could not reach")  # the defender's phone is not told


# ---- stops, crashes, restarts ----------------------------------------------------------


async def test_stopped_while_sends_fail_the_alert_goes_out_after_the_restart(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    async with telegram_app(sqlite_url, clock, fake) as tg:
        await defender_with_contacts(tg, TOMAS)
        await until(tg.h, NINE + timedelta(minutes=44))
        fake.fail_next("sendMessage", 502, count=2)  # the Bot API is having a bad day
        await until(tg.h, NINE + timedelta(minutes=45))
        clock.advance(timedelta(seconds=3))
        await tg.h.deliver()
        assert tg.inbox(TOMAS)[-1].startswith("You are now a trusted contact")  # no alert yet
    assert len([t for t in sends_to(fake, TOMAS) if t.startswith("SAFETY ALERT")]) == 2

    clock.advance(timedelta(minutes=1))  # the bot is down for a minute
    async with telegram_app(sqlite_url, clock, fake) as tg:
        await tg.h.deliver()
        alerts = [m for m in tg.inbox(TOMAS) if m.startswith("SAFETY ALERT")]
        assert len(alerts) == 1 and "Tina has not checked in" in alerts[0]
        await tg.h.advance(minutes=10)
    assert len([m for m in fake.messages_to(TOMAS.id) if m.startswith("SAFETY ALERT")]) == 1


async def test_killed_mid_update_the_answer_counts_once_after_restart_and_no_alert(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    reached, never = asyncio.Event(), asyncio.Event()
    real_enqueue = outbox_store.enqueue

    async def dies_mid_handler(session: object, out: Outgoing, **kw: object) -> bool:
        """The answer is written in the handler's transaction; the process dies before commit."""
        if out.to.chat_id == str(TINA.id) and "checked in" in out.text:
            reached.set()
            await never.wait()
        return await real_enqueue(session, out, **kw)  # type: ignore[arg-type]

    async with telegram_app(sqlite_url, clock, fake) as tg:
        await defender_with_contacts(tg, TOMAS)
        await until(tg.h, NINE + timedelta(minutes=10))
        monkeypatch.setattr(outbox_store, "enqueue", dies_mid_handler)
        answer = fake.push_text(TINA.id, "ok", first_name=TINA.name)
        async with asyncio.timeout(5):
            await reached.wait()
    monkeypatch.undo()  # "the process" is gone; the next one has the real code

    assert answer + 1 not in fake.offsets  # never acknowledged to Telegram
    clock.set(NINE + timedelta(minutes=50))  # down past the reminder and the alert deadline

    async with telegram_app(sqlite_url, clock, fake) as tg:
        # start() returned only after the backlog was handled and acknowledged, so the
        # first ticks (the real ticker's first comes a second after start) see the answer.
        assert answer + 1 in fake.offsets
        await tg.h.tick()  # the real ticker's first two ticks, a second apart
        await tg.h.advance(seconds=1)
        await tg.h.advance(hours=1)
        assert (
            tg.inbox(TINA)[-1] == "Thank you, you are checked in. How are you feeling? (optional)"
        )
        assert len([m for m in tg.inbox(TINA) if "you are checked in" in m]) == 1
        # No false alert (and so no all-clear); the reminder was overtaken by the answer.
        assert tg.inbox(TOMAS)[-1].startswith("You are now a trusted contact of Tina")
        assert not [m for m in tg.inbox(TINA) if m.startswith("Reminder")]
        async with tg.h.app.rt.sessions() as session:
            [checkin] = (await session.execute(select(Checkin))).scalars()
            keys = (await session.execute(select(ProcessedInbound.key))).scalars().all()
        assert (checkin.state, checkin.level, checkin.acked_by) == ("ok", 0, None)
        assert list(keys).count(str(answer)) == 1
        await fake.wait_for(lambda: answer + 1 in fake.offsets)


async def test_an_invite_sent_while_the_bot_was_down_gets_a_deep_link(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    async with telegram_app(sqlite_url, clock, fake) as tg:
        await tg.say(TINA, "/tz Europe/Berlin")
    fake.push_text(TINA.id, "/invite Tomas", first_name=TINA.name)

    async with telegram_app(sqlite_url, clock, fake) as tg:
        await tg.h.deliver()
        assert "https://t.me/HoldfastBot?start=" in tg.inbox(TINA)[-1]


async def test_a_name_full_of_markup_and_bidi_characters_arrives_clean_and_literal(
    tg: TelegramSide,
) -> None:
    sly = TelegramUser("<b>*_[Layla\u202e\u200b](x) \u0644\u064a\u0644\u0649\u200f`", 575757)
    _, code = await tg.invite_link(sly, "Tomas")
    shown = await tg.say(TOMAS, f"/start {code}")
    clean = "<b>*_[Layla](x) \u0644\u064a\u0644\u0649`"
    assert shown[-1].startswith(f"{clean} asks you to be a trusted contact")
    await tg.press(TOMAS, "Accept")
    await tg.say(sly, "/checkin daily 09:00")
    tg.clear()

    await until(tg.h, NINE + timedelta(minutes=45))
    [alert] = tg.new_for(TOMAS)
    assert alert.startswith(f"SAFETY ALERT: {clean} has not checked in.")
    for hidden in ("\u202e", "\u200b", "\u200f"):
        assert hidden not in alert
    [sent] = [s for s in tg.fake.sent if s["text"] == alert]
    assert sent["parse_mode"] is None  # markup stays literal: nothing can break parsing


# ---- a group upgraded to a supergroup --------------------------------------------------

LINK = re.compile(r"https://t\.me/HoldfastBot\?start=([A-Za-z0-9_-]+)")
OLD_GROUP, SUPERGROUP = -4001, -1004001


async def test_an_alert_chat_upgraded_to_a_supergroup_keeps_getting_alerts(
    tg: TelegramSide, fake: MigratingFake, clock: FakeClock
) -> None:
    created = await tg.say(OLGA, "/group_new Field team")
    [code] = LINK.findall("\n".join(created))
    assert has(
        await tg.say(PAT, f"/start {code}"), 'You are invited to join the group "Field team"'
    )
    assert has(await tg.press(PAT, "Join"), 'You joined group "Field team" (#1)')
    await tg.say(PAT, "/checkin daily 09:00")  # no personal contacts: the group at once
    bound = await tg.say(OLGA, "/group_alerts@HoldfastBot 1", group=OLD_GROUP)
    assert has(bound, "This chat now receives the alerts of group #1")
    tg.clear()

    fake.migrate(OLD_GROUP, SUPERGROUP)  # an admin turned on a supergroup feature
    await until(tg.h, NINE + timedelta(minutes=45))
    [alert] = tg.new_for(SUPERGROUP)
    assert alert.startswith("SAFETY ALERT (group): Pat has not checked in")
    assert tg.labels(SUPERGROUP, tg.last_message_id(SUPERGROUP, "SAFETY ALERT")) == [
        ["I'm on it", "Resolved: they are safe"]
    ]
    assert has(tg.new_for(OLGA), "SAFETY ALERT (group): Pat")
    assert tg.new_for(OLD_GROUP) == []
    assert len(sends_to(fake, OLD_GROUP)) == 2  # the bind answer, and the refused alert

    assert has(await tg.say(PAT, "/ok"), "you are checked in")
    assert tg.new_for(SUPERGROUP) == ["ALL CLEAR: Pat has checked in and is safe."]

    # The next day's alert goes straight to the new id: the bound chat followed it.
    tries_at_old_id = len(sends_to(fake, OLD_GROUP))
    await until(tg.h, NINE + timedelta(days=1, minutes=45))
    assert has(tg.new_for(SUPERGROUP), "SAFETY ALERT (group): Pat has not checked in")
    assert len(sends_to(fake, OLD_GROUP)) == tries_at_old_id


async def test_the_i_am_on_it_button_works_in_the_upgraded_supergroup(
    tg: TelegramSide, fake: MigratingFake
) -> None:
    created = await tg.say(OLGA, "/group_new Field team")
    [code] = LINK.findall("\n".join(created))
    await tg.say(PAT, f"/start {code}")
    await tg.press(PAT, "Join")
    await tg.say(PAT, "/checkin daily 09:00")
    await tg.say(OLGA, "/group_alerts@HoldfastBot 1", group=OLD_GROUP)
    fake.migrate(OLD_GROUP, SUPERGROUP)
    await until(tg.h, NINE + timedelta(minutes=45))
    tg.clear()

    # Theo is only in the alert chat: the chat itself is what the alert went to.
    thanks = await tg.press(THEO, "I'm on it", chat=SUPERGROUP)
    assert has(thanks, "The others alerted know you are on it")
    assert tg.new_for(OLGA) == ["Theo is handling the alert for Pat."]


# ---- buttons across a restart ----------------------------------------------------------


async def test_a_button_sent_before_a_restart_still_works_after_it(
    sqlite_url: str, clock: FakeClock, fake: MigratingFake
) -> None:
    async with telegram_app(sqlite_url, clock, fake) as tg:
        await defender_with_contacts(tg, TOMAS, TESS)
        await until(tg.h, NINE + timedelta(minutes=45))
        alert_msg = tg.last_message_id(TOMAS.id, "SAFETY ALERT")

    answered = len(fake.answered)
    async with telegram_app(sqlite_url, clock, fake) as tg:  # a new process, same database
        thanks = await tg.press(TOMAS, "I'm on it", message_id=alert_msg)
        assert has(thanks, "Thank you. The others alerted know you are on it")
        assert len(fake.answered) == answered + 1  # the press was answered
        assert tg.labels(TOMAS.id, alert_msg) == []  # and its keyboard removed
        assert tg.inbox(TESS)[-1] == "Someone alerted is handling the alert for Tina."
        await tg.h.advance(hours=1)  # acknowledged: level 2 never comes
        assert has(await tg.say(TINA, "/ok"), "you are checked in")
        assert tg.inbox(TOMAS)[-1] == "ALL CLEAR: Tina has checked in and is safe."
