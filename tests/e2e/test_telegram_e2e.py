"""Issue 3 on Telegram, through the whole app: real python-telegram-bot, a fake Bot API.

Every update here is pushed into the fake server, fetched by the transport's own
long-polling task, parsed by PTB, handled by the router and answered through the
outbox; the scheduler runs on a fake clock. People press inline buttons (callback
queries), open invite deep links (`/start CODE`), and talk to the bot in groups as
`/cmd@HoldfastBot`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.store.models import Checkin, Contact, Invite, ProcessedInbound, WellbeingEntry
from tests.support.clock import FakeClock
from tests.support.groups import organise, user_of
from tests.support.harness import has, until
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import TelegramSide, TelegramUser, telegram_app

TINA = TelegramUser("Tina", 515151)
TOMAS = TelegramUser("Tomas", 424242)
TESS = TelegramUser("Tess", 636363)
GROUP = -4001  # a basic group: Telegram ids of groups are negative

# 09:00 in Berlin (CEST, UTC+2) on Monday 1 June 2026.
NINE_BERLIN = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock, fake: FakeTelegram) -> AsyncIterator[TelegramSide]:
    async with telegram_app(sqlite_url, clock, fake) as side:
        yield side


async def count(tg: TelegramSide, model: type, *where: object) -> int:
    async with tg.h.app.rt.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


def strips_of(tg: TelegramSide, chat: int, message_id: int) -> list[dict[str, object]]:
    """The edits that removed the keyboard of one message."""
    return [
        s
        for s in tg.fake.sent
        if s["method"] == "editMessageReplyMarkup"
        and (s["chat_id"], s["message_id"]) == (chat, message_id)
        and not s["reply_markup"]
    ]


# ---- the lifecycle ---------------------------------------------------------------------


async def test_whole_lifecycle_with_buttons_and_a_deep_link_invite(
    tg: TelegramSide, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = await tg.say(TINA, "/tz Europe/Berlin")
    assert has(first, "Telegram bot chats are NOT end-to-end encrypted")  # first contact
    assert has(first, "Time zone set to Europe/Berlin")
    reply = await tg.say(TINA, "/checkin daily 09:00")
    assert has(reply, "Next: Mon 01 Jun 09:00 (Europe/Berlin)")
    assert has(reply, "nobody would be alerted")

    # The invite is a deep link; opening it sends "/start CODE" and shows who asks.
    username, code = await tg.invite_link(TINA, "Tomas")
    assert username == "HoldfastBot"
    shown = await tg.say(TOMAS, f"/start {code}")
    assert has(shown, "Tina asks you to be a trusted contact")
    invite_msg = tg.last_message_id(TOMAS.id, "asks you to be a trusted contact")
    assert tg.labels(TOMAS.id, invite_msg) == [["Accept", "Decline"]]
    accepted = await tg.press(TOMAS, "Accept")
    assert accepted == [
        "You are now a trusted contact of Tina. If they miss a check-in, I will alert you here."
    ]
    assert tg.labels(TOMAS.id, invite_msg) == []  # cannot be pressed again
    assert tg.new_for(TINA) == ["Tomas accepted: they will be alerted if you miss a check-in."]

    await until(tg.h, NINE_BERLIN - timedelta(minutes=15))
    assert tg.new_for(TINA) == []
    await until(tg.h, NINE_BERLIN)
    [prompt] = tg.new_for(TINA)
    assert prompt.startswith("Check-in: are you safe?")
    prompt_msg = tg.last_message_id(TINA.id, "are you safe")
    assert tg.labels(TINA.id, prompt_msg) == [["I'm safe", "I need help"]]
    assert "1. I'm safe" not in prompt  # buttons, not a numbered list

    await until(tg.h, NINE_BERLIN + timedelta(minutes=30))  # window over: reminder
    [reminder] = tg.new_for(TINA)
    assert reminder.startswith("Reminder: please check in now")
    assert tg.new_for(TOMAS) == []

    await until(tg.h, NINE_BERLIN + timedelta(minutes=45))  # grace over: level 1
    [alert] = tg.new_for(TOMAS)
    assert alert.startswith("SAFETY ALERT: Tina has not checked in.")
    alert_msg = tg.last_message_id(TOMAS.id, "SAFETY ALERT")
    assert tg.labels(TOMAS.id, alert_msg) == [["I'm on it", "Resolved: they are safe"]]
    assert tg.new_for(TINA) == []

    answered = len(tg.fake.answered)
    thanks = await tg.press(TOMAS, "I'm on it")
    assert has(thanks, "Nobody else was alerted")
    assert len(tg.fake.answered) == answered + 1  # the button's spinner was answered
    assert strips_of(tg, TOMAS.id, alert_msg) and tg.labels(TOMAS.id, alert_msg) == []
    assert tg.new_for(TINA) == []  # the defender's phone learns nothing
    assert await count(tg, Checkin, Checkin.acked_by.is_not(None)) == 1

    checked_in = await tg.press(TINA, "I'm safe")  # the reminder's button
    assert checked_in == ["Thank you, you are checked in. How are you feeling? (optional)"]
    assert tg.new_for(TOMAS) == ["ALL CLEAR: Tina has checked in and is safe."]
    thanks_msg = tg.last_message_id(TINA.id, "you are checked in")
    assert tg.labels(TINA.id, thanks_msg) == [
        ["1 very bad", "2 bad", "3 okay", "4 good", "5 very good"]
    ]
    assert tg.labels(TINA.id, tg.last_message_id(TINA.id, "Reminder")) == []

    assert await tg.press(TINA, "4 good") == ["Noted, thank you. How are things? (optional)"]
    assert tg.labels(TINA.id, thanks_msg) == []
    asked = tg.last_message_id(TINA.id, "How are things?")
    assert tg.labels(TINA.id, asked) == [
        ["Safe", "Unsure", "Scared"],
        ["Harassed online", "Exhausted", "Need to talk"],
    ]
    assert await count(tg, WellbeingEntry) == 1  # sealed: the score is not a plain column

    await tg.h.advance(hours=2)  # no level 2, nothing further for anyone
    assert tg.new_for(TOMAS) == [] and tg.new_for(TINA) == []
    assert all(s["parse_mode"] is None for s in tg.fake.sent)  # plain text, always
    assert_no_personal_data_logged(caplog, "Tina", "Tomas", "Europe/Berlin", code)


def assert_no_personal_data_logged(caplog: pytest.LogCaptureFixture, *needles: str) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert logged  # the app did log at INFO
    for record in logged:
        text = record.getMessage() + repr(sorted(map(str, vars(record).values())))
        for needle in needles:
            assert needle not in text, (record.name, record.getMessage())


async def test_an_invite_declined_with_its_button_links_nobody(tg: TelegramSide) -> None:
    await tg.say(TINA, "/tz Europe/Berlin")
    _, code = await tg.invite_link(TINA, "Tess")
    await tg.say(TESS, f"/start {code}")
    tg.new_for(TINA)

    declined = await tg.press(TESS, "Decline")
    assert declined == ["You declined. Nothing was shared."]
    assert tg.new_for(TINA) == ["Your invitation was declined."]
    assert await count(tg, Contact) == 0
    assert await count(tg, Invite, Invite.status == "declined") == 1
    invite_msg = tg.last_message_id(TESS.id, "asks you to be a trusted contact")
    assert tg.labels(TESS.id, invite_msg) == []

    # The link is used up: opening it again reveals nothing and links nobody.
    again = await tg.say(TESS, f"/start {code}")
    assert again == [
        "That code does not work. It may be mistyped, used or expired; ask for a new one."
    ]
    assert has(await tg.say(TINA, "/contacts"), "You have no trusted contacts yet")


async def test_the_prompts_i_need_help_button_alerts_at_once(tg: TelegramSide) -> None:
    await tg.say(TINA, "/tz Europe/Berlin")
    await tg.link(TINA, TOMAS)
    await tg.say(TINA, "/checkin daily 09:00")
    await until(tg.h, NINE_BERLIN)
    tg.clear()

    reply = await tg.press(TINA, "I need help")
    assert has(reply, "Your alert is being sent to 1 person")
    [sos] = tg.new_for(TOMAS)
    assert sos.startswith("SOS: Tina asked for help just now.")
    assert tg.labels(TOMAS.id, tg.last_message_id(TOMAS.id, "SOS")) == [
        ["I'm on it", "Resolved: they are safe"]
    ]


# ---- group chats -----------------------------------------------------------------------


async def test_commands_in_a_group_chat(tg: TelegramSide) -> None:
    await tg.say(TINA, "/tz Europe/Berlin")
    await tg.say(TINA, "/checkin daily 09:00")

    help_text = await tg.say(TINA, "/help@HoldfastBot", group=GROUP)
    assert len(help_text) == 1 and help_text[0].startswith("Stay safe\nok - I am safe")

    for private in ("/ok@HoldfastBot 4 at the office", "/status@HoldfastBot", "/checkins"):
        refused = await tg.say(TINA, private, group=GROUP)
        assert refused == [
            "That did not count here. Please send that to me in a private chat, not in a group."
        ]
    group_text = "\n".join(tg.inbox(GROUP))
    for personal in ("Tina", "Berlin", "Mon 01 Jun", "office", "Check-in #1"):
        assert personal not in group_text
    assert await count(tg, Checkin) == 0  # the /ok in the group counted for nothing

    before = len(tg.fake.sent)
    chatter = tg.fake.push_text(TOMAS.id, "see you all at 6", chat_id=GROUP, chat_type="group")
    other_bot = tg.fake.push_text(TOMAS.id, "/ok@OtherBot", chat_id=GROUP, chat_type="group")
    await tg.say(TOMAS, "/help@HoldfastBot", group=GROUP)  # handled after both
    assert len(tg.fake.sent) == before + 1  # only the help answer
    for ignored in (chatter, other_bot):
        assert await count(tg, ProcessedInbound, ProcessedInbound.key == str(ignored)) == 0
    assert max(o for o in tg.fake.offsets if o is not None) > other_bot  # acknowledged


async def test_edits_stickers_and_forwards_never_count_as_check_ins(tg: TelegramSide) -> None:
    await tg.say(TINA, "/tz Europe/Berlin")
    await tg.say(TINA, "/checkin daily 09:00")
    await until(tg.h, NINE_BERLIN)
    tg.clear()

    tg.fake.push_sticker(TINA.id)
    got = await tg.say(TINA, "ok", edited=True)  # handled after the sticker
    got += await tg.say(TINA, "/ok", forwarded=True)
    assert got == [
        "That did not count: I can only read text messages. Reply OK if you are safe, "
        "or /help for the commands.",
        "That did not count. Edited messages are ignored. Please send a new message.",
        "Forwarded messages do not count. Please send your own message.",
    ]
    assert await count(tg, Checkin, Checkin.answered_at.is_not(None)) == 0
    tg.fake.push_text(TOMAS.id, "/ok", is_bot=True)  # another bot: never handled
    assert has(await tg.say(TINA, "/ok"), "you are checked in")
    assert await count(tg, Checkin, Checkin.answered_at.is_not(None)) == 1


async def test_sole_contact_blocked_the_bot_level2_at_once_and_true_counts(
    tg: TelegramSide,
) -> None:
    """Issue 9 on Telegram: a 403 for the only contact is "not alerted", never "went out"."""
    olga = TelegramUser("Olga", 717171)
    await tg.say(TINA, "/tz Europe/Berlin")
    await tg.link(TINA, TOMAS)
    await tg.say(olga, "/start")
    await organise(
        tg.h, await user_of(tg.h, "telegram", str(olga.id)),
        await user_of(tg.h, "telegram", str(TINA.id)),
    )  # fmt: skip
    await tg.say(TINA, "/checkin daily 09:00")
    tg.fake.block(TOMAS.id)  # Tomas blocked the bot: every send to him gets 403
    tg.clear()

    await until(tg.h, NINE_BERLIN + timedelta(minutes=45))  # grace over: level 1 fails
    await tg.h.deliver()
    assert tg.new_for(TOMAS) == []
    [level2] = tg.new_for(olga.id)  # at once, not 30 minutes later
    assert level2.startswith(
        "SAFETY ALERT (group): Tina has not checked in for 45m. Their trusted contacts could "
        "not be reached, so you are alerted now."
    )
    assert has(await tg.press(olga, "Resolved: they are safe"), "The alert for Tina is closed")

    reply = await tg.say(TINA, "/sos")
    await tg.h.deliver()
    told = reply + tg.new_for(TINA)
    assert has(told, "Your alert is being sent to 2 people")
    assert has(told, "Your SOS reached 1 of 2 people")  # Olga only: Tomas is not counted
    assert has(tg.new_for(olga.id), "SOS: Tina asked for help just now.")
