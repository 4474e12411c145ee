"""Issue 10 (part B): a seized phone neither reads a silent alert nor learns the network.

Real python-telegram-bot against the fake Bot API (getChatMember answers as the real
one), real router, outbox and delivery on a fake clock. Each story asserts what
every chat receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.clock import FakeClock
from tests.support.groups import organise, user_of
from tests.support.harness import has
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import TelegramSide, TelegramUser, telegram_app

TINA = TelegramUser("Tina", 515151)  # the defender, whose phone is seized
TOMAS = TelegramUser("Tomas", 424242)  # her trusted contact
TESS = TelegramUser("Tess", 636363)  # her second trusted contact
OLGA = TelegramUser("Olga", 717171)  # the organiser of her group
TEAM = -4001  # the group's bound alert chat (the usual team chat)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock, fake: FakeTelegram) -> AsyncIterator[TelegramSide]:
    async with telegram_app(sqlite_url, clock, fake) as side:
        yield side


async def team(tg: TelegramSide, *contacts: TelegramUser) -> None:
    """Tina with contacts, in Olga's group whose alert chat is TEAM; duress word set."""
    for contact in contacts:
        await tg.link(TINA, contact)
    await tg.say(OLGA, "/start")
    await organise(
        tg.h, await user_of(tg.h, "telegram", str(OLGA.id)),
        await user_of(tg.h, "telegram", str(TINA.id)),
    )  # fmt: skip
    bound = await tg.say(OLGA, "/group_alerts 1", group=TEAM)
    assert has(bound, "now receives the alerts of group #1"), bound
    await tg.say(TINA, "/duress tangerine")
    tg.clear()


def asked_about(fake: FakeTelegram, chat: int) -> list[int]:
    return [c["user_id"] for c in fake.calls_of("getChatMember") if c["chat_id"] == chat]


# -- acceptance 5: a duress alert never reaches an alert chat the defender is in ----------


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("member", None),
        ("administrator", None),
        ("creator", None),
        ("restricted", None),  # restricted, but still in the chat (is_member true)
        (None, "Bad Request: PARTICIPANT_ID_INVALID"),  # Telegram will not say: fail safe
        (None, "Bad Request: user not found"),
    ],
)
async def test_duress_is_not_posted_to_an_alert_chat_the_defender_is_in(
    tg: TelegramSide, status: str | None, refusal: str | None
) -> None:
    await team(tg, TOMAS)
    if status:
        tg.fake.set_member(TEAM, TINA.id, status)
    if refusal:
        tg.fake.fail_next("getChatMember", 400, description=refusal)

    reply = await tg.say(TINA, "tangerine")  # the duress word: a silent alert
    await tg.h.deliver()

    assert has(reply, "checked in")  # looks like an OK on the phone
    assert asked_about(tg.fake, TEAM) == [TINA.id]  # asked at alert time
    assert tg.new_for(TEAM) == []  # the seized phone never sees it in the team chat
    assert [m.split(":")[0] for m in tg.new_for(TOMAS)] == ["SOS (silent)"]
    assert [m.split(":")[0] for m in tg.new_for(OLGA.id)] == ["SOS (silent)"]

    await tg.h.advance(minutes=10)  # withheld for good: not asked again, not retried
    await tg.h.deliver()
    assert asked_about(tg.fake, TEAM) == [TINA.id]
    tg.clear()
    await tg.press(TOMAS, "I'm on it")  # later notices do not reach the chat either
    assert tg.new_for(TEAM) == []
    assert tg.new_for(OLGA.id) == ["Tomas is handling the alert for Tina."]  # organiser
    assert tg.new_for(TINA) == []


@pytest.mark.parametrize("status", ["left", "kicked", "restricted_left"])
async def test_duress_is_posted_to_an_alert_chat_the_defender_is_not_in(
    tg: TelegramSide, status: str
) -> None:
    await team(tg, TOMAS)
    tg.fake.set_member(TEAM, TINA.id, status)

    await tg.say(TINA, "tangerine")
    await tg.h.deliver()

    assert asked_about(tg.fake, TEAM) == [TINA.id]
    [alert] = tg.new_for(TEAM)
    assert alert.startswith("SOS (silent): Tina may be in danger")
    await tg.press(TOMAS, "I'm on it")
    assert tg.new_for(TEAM) == ["Tomas is handling the alert for Tina."]  # chats see who


async def test_a_loud_sos_still_reaches_the_chat_the_defender_is_in(tg: TelegramSide) -> None:
    await team(tg, TOMAS)
    tg.fake.set_member(TEAM, TINA.id, "member")

    await tg.say(TINA, "/sos")
    await tg.h.deliver()

    assert asked_about(tg.fake, TEAM) == []  # nothing to hide: not even asked
    [alert] = tg.new_for(TEAM)
    assert alert.startswith("SOS: Tina asked for help just now.")


async def test_a_network_failure_asking_retries_and_never_posts_unchecked(
    tg: TelegramSide,
) -> None:
    await team(tg, TOMAS)
    tg.fake.set_member(TEAM, TINA.id, "member")
    tg.fake.fail_next("getChatMember", 502)

    await tg.say(TINA, "tangerine")
    await tg.h.deliver()
    assert tg.new_for(TEAM) == []
    await tg.h.advance(minutes=10)  # the retry asks again, and still does not post
    await tg.h.deliver()
    assert asked_about(tg.fake, TEAM) == [TINA.id, TINA.id]
    assert tg.new_for(TEAM) == []


# -- "X is handling the alert" never names the network on a contact's phone --------------


async def test_contacts_hear_someone_is_handling_organisers_hear_who(tg: TelegramSide) -> None:
    await team(tg, TOMAS, TESS)
    tg.fake.set_member(TEAM, TINA.id, "left")

    await tg.say(TINA, "/sos")
    await tg.h.deliver()
    tg.clear()
    assert has(await tg.press(TOMAS, "I'm on it"), "Thank you")

    assert tg.new_for(TESS) == ["Someone alerted is handling the alert for Tina."]
    assert tg.new_for(OLGA.id) == ["Tomas is handling the alert for Tina."]
    assert tg.new_for(TEAM) == ["Tomas is handling the alert for Tina."]
    assert tg.new_for(TINA) == []
    again = await tg.say(TESS, "/ack")
    assert again == ["Someone else is already handling this alert."]
    assert not any("Tomas" in m for m in tg.inbox(TESS))
