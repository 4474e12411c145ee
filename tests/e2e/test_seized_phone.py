"""Issue 10 (part B): a seized phone neither reads a silent alert nor learns the network.

Real python-telegram-bot against the fake Bot API (getChatMember answers as the real
one), real router, outbox and delivery on a fake clock. Each story asserts what
every chat receives.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.store.models import Checkin, DeferredCommand, Identity, Schedule, User
from bot.transports.base import RateLimited, TransientDeliveryError
from tests.e2e.test_escalation import MIN, NINE, Story
from tests.e2e.test_privacy import export_in, refers_to_user, rows_of_every_table
from tests.support.clock import FakeClock
from tests.support.groups import organise, user_of
from tests.support.harness import Harness, contact_link, has
from tests.support.servers.fake_signal import FakeSignal
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.signal_harness import SignalUser, signal_app
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


# -- nothing undoes an open alert silently (console-free fake platform, scripted failures) --


async def alice_missed(s: Story) -> None:
    """Alice (contact Bob, organiser Olga) missed her 09:00 check-in: Bob alerted at 09:45."""
    await s.contacts("alice", "bob")
    await s.organiser("alice", "olga")
    await s.missed_at_945()


async def rows(s: Story, model: type, *where: object) -> int:
    async with s.h.app.rt.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


WARNED = (
    "WARNING: Alice's account sent {command} while this alert was open. Treat it as a sign "
    "of danger: someone else may be using their phone."
)


async def test_forgetme_after_a_missed_checkin_keeps_the_alert_going(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await alice_missed(s)
        assert s.heads("bob") == ["SAFETY ALERT"]
        alice = await s.uid("alice")
        await s.say("alice", "/forgetme")
        done = await s.say("alice", "/forgetme confirm")

        assert done == [
            "Done: your data is erased. A few records stay until messages already on their "
            "way have been dealt with; then they are erased too. If you write again, you "
            "start afresh."
        ]
        assert s.new("bob") == [WARNED.format(command="/forgetme")]  # once, told to Bob only
        assert s.new("olga") == []  # not alerted yet: nothing to say to her
        assert await rows(s, Schedule, Schedule.user_id == alice) == 0  # erased at once
        assert await rows(s, Identity, Identity.user_id == alice) == 0
        assert has(await s.say("alice", "/contacts"), "no trusted contacts")  # a new person

        await s.until(NINE + 75 * MIN)  # level 2 was not cancelled
        assert [m.split(":")[0] for m in s.new("olga")] == ["SAFETY ALERT (group)"]
        assert has(await s.say("bob", "/ack"), "Thank you")  # Bob can still acknowledge
        assert s.new("olga") == ["Bob is handling the alert for Alice."]
        assert has(await s.say("olga", "/resolve"), "is closed")  # closed: the rest goes
        await s.h.tick()
        assert s.new("bob") == [
            "RESOLVED: someone alerted says Alice is safe. The alert is closed.",
            "One of your trusted-contact links has ended. /contacts shows who is still linked.",
        ]
        assert await rows(s, User, User.id == alice) == 0
        assert await rows(s, Checkin, Checkin.user_id == alice) == 0
        assert await rows(s, DeferredCommand) == 0
        after = await rows_of_every_table(s.h)
        assert not [(t, r) for t, rs in after.items() for r in rs if refers_to_user(t, r, alice)]
        assert s.new("bob") == [] and not has(s.new("olga"), "WARNING")  # told exactly once


@pytest.mark.parametrize(
    "failure",
    [lambda: RateLimited(60), lambda: TransientDeliveryError("Signal is down")],
    ids=["429-hold", "outage"],
)
async def test_forgetme_before_the_alert_left_still_alerts_and_tells(
    sqlite_url: str, failure: Callable[[], Exception]
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.fake.fail_next(failure, times=2, chat="bob")  # the alert cannot leave yet
        await s.until(NINE + 45 * MIN)
        assert s.new("bob") == []
        await s.say("alice", "/forgetme")
        await s.say("alice", "/forgetme confirm")
        assert s.new("bob") == []

        await s.until(NINE + 60 * MIN)  # the platform is back: nothing was deleted
        told = s.new("bob")
        assert [m.split(":")[0] for m in told[:2]] == ["SAFETY ALERT", "WARNING"]
        assert told[1] == WARNED.format(command="/forgetme")
        assert has(await s.say("bob", "/resolve"), "is closed")
        await s.h.tick()
        assert await rows(s, User, User.display_name == "Alice") == 0


async def test_a_lowering_command_waits_until_the_alert_is_out(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.fake.fail_next(TransientDeliveryError("down"), times=2, chat="bob")
        await s.until(NINE + 45 * MIN)
        s.clear()

        reply = await s.say("alice", "/checkin_remove 1")
        assert reply == [
            "Received. This is done as soon as the messages already on their way have been sent."
        ]
        assert await rows(s, Schedule) == 1  # not yet
        await s.until(NINE + 60 * MIN)
        assert [m.split(":")[0] for m in s.new("bob")][:2] == ["SAFETY ALERT", "WARNING"]
        assert s.new("alice") == ["Check-in #1 removed."]  # carried out after the alert left
        assert await rows(s, Schedule) == 0


async def test_lowering_while_the_alert_is_out_runs_now_and_is_told(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await alice_missed(s)
        s.clear()
        assert await s.say("alice", "/pause 2h") != []
        assert s.new("bob") == [WARNED.format(command="/pause")]
        assert await s.say("alice", "/contacts") != []  # shows only: nobody is told
        assert s.new("bob") == []


async def test_without_an_open_alert_nobody_is_told(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        assert await s.say("alice", "/checkin_remove 1") == ["Check-in #1 removed."]
        assert s.new("bob") == []
        assert await rows(s, DeferredCommand) == 0


# -- the chat does not draw the network ---------------------------------------------------


async def test_the_defenders_chat_names_contacts_only_by_their_labels(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(NINE)) as h:
        await contact_link(h, "alice", "bob")  # /invite with no label: "contact 1"
        assert h.new_for("alice")[-1] == (
            "contact 1 accepted: they will be alerted if you miss a check-in."
        )
        reply = await h.say("alice", "/invite lawyer")
        code = next(ln.split()[-1] for ln in reply[-1].splitlines() if ln.startswith("accept "))
        await h.say("carol", f"accept {code}")
        assert h.new_for("alice") == [
            "lawyer accepted: they will be alerted if you miss a check-in."
        ]
        await contact_link(h, "dan", "alice")  # Alice protects Dan

        listing = "\n".join(await h.say("alice", "/contacts"))
        assert "contact 1" in listing and "lawyer" in listing
        assert "Bob" not in listing and "Carol" not in listing
        doc = export_in(h, await h.say("alice", "/mydata"))
        assert [c["label"] for c in doc["trusted_contacts"]] == ["contact 1", "lawyer"]
        text = json.dumps(doc["trusted_contacts"], ensure_ascii=False)
        assert "Bob" not in text and "Carol" not in text
        everything = h.inbox("alice")
        assert not any("Bob" in m or "Carol" in m for m in everything)

        await h.say("carol", "/contact_remove 2")  # Carol ends it: Alice hears the label
        assert h.new_for("alice") == ["Your trusted-contact link with lawyer has ended."]


async def test_an_alert_about_someone_i_protect_never_names_their_other_contacts(
    sqlite_url: str,
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.missed_at_945()
        await s.say("carol", "/ack")
        await s.say("carol", "/resolve called her, all fine")
        for message in s.fake.to("bob"):
            assert "Carol" not in message, message


# -- /cleanup 24h: the chat does not keep a history -----------------------------------------


async def test_cleanup_deletes_the_chat_on_telegram_but_keeps_alerts(tg: TelegramSide) -> None:
    await tg.link(TOMAS, TINA)  # Tina protects Tomas: alerts about him must stay
    setup = await tg.say(TINA, "/cleanup 24h")
    assert setup[0].startswith("Cleanup is on: 24 hours after sending, I delete my messages")
    assert "Not deleted: alerts about people you protect" in setup[0]
    before = max(mid for _, mid in tg.fake._sent_at)  # what was there before stays
    answer = await tg.say(TINA, "/status")
    assert answer
    await tg.say(TOMAS, "/sos")
    await tg.h.deliver()
    [alert] = [m for m in tg.new_for(TINA) if m.startswith("SOS: Tomas")]
    alert_id = tg.last_message_id(TINA.id, "SOS: Tomas")
    status_id = tg.last_message_id(TINA.id, answer[0][:20])

    await tg.h.advance(hours=23)
    assert tg.fake.deleted == []  # not before the time chosen
    await tg.h.advance(hours=1, minutes=1)
    deleted = set(tg.fake.deleted)
    assert (TINA.id, status_id) in deleted  # the bot's reply
    assert (TINA.id, alert_id) not in deleted  # the alert about Tomas stays
    mine = {(TINA.id, mid) for (chat, mid) in tg.fake._sent_at if chat == TINA.id}
    theirs = {m for m in mine if m[1] > before} - {
        (s["chat_id"], s["message_id"]) for s in tg.fake.sent
    }
    assert theirs and theirs <= deleted  # and what Tina typed herself
    assert all(chat == TINA.id for chat, _ in deleted)  # nobody else's chat is touched


async def test_cleanup_drops_what_telegram_no_longer_deletes(tg: TelegramSide) -> None:
    await tg.say(TINA, "/cleanup 24h")
    await tg.say(TINA, "/status")
    for chat, mid in list(tg.fake._sent_at):
        tg.fake.age(chat, mid, 49 * 3600)  # e.g. the bot was down for two days
    await tg.h.advance(hours=25)
    tries = len(tg.fake.calls_of("deleteMessage"))
    assert tries > 0 and tg.fake.deleted == []  # "message can't be deleted"
    await tg.h.advance(hours=1)
    assert len(tg.fake.calls_of("deleteMessage")) == tries  # given up, not retried forever


async def test_cleanup_off_stops_it(tg: TelegramSide) -> None:
    await tg.say(TINA, "/cleanup 24h")
    await tg.say(TINA, "/status")
    assert await tg.say(TINA, "/cleanup off") == [
        "Cleanup is off. Messages from now on stay in this chat."
    ]
    await tg.h.advance(hours=25)
    assert tg.fake.calls_of("deleteMessage") == []


async def test_cleanup_on_signal_sets_the_chats_disappearing_timer(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with FakeSignal() as fake, signal_app(sqlite_url, clock, fake) as s:
        dina = SignalUser("Dina", "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f", "+15550003333")
        await s.say(dina, "/start")
        reply = await s.say(dina, "/cleanup 24h")
        assert reply[0].startswith("Cleanup is on: this chat's disappearing messages are set")
        await s.h.deliver()
        assert fake.expirations == {dina.uuid: 24 * 3600}
        off = await s.say(dina, "/cleanup off")
        assert off == [
            "Cleanup is off here. To stop disappearing messages, switch them off yourself: "
            "tap the chat name, then Disappearing messages, then Off."
        ]


async def test_cleanup_refuses_what_it_cannot_keep(tg: TelegramSide) -> None:
    await tg.say(TINA, "/start")
    refused = await tg.say(TINA, "/cleanup 3d")  # Telegram deletes only within 48 hours
    assert refused == [
        "Send /cleanup and a time from 1h to 47h, for example /cleanup 24h, or /cleanup off."
    ]
    assert await tg.say(TINA, "/cleanup") == [
        "Cleanup is off. Send /cleanup 24h to have the messages in this chat deleted after "
        "24 hours."
    ]


async def test_forgetme_during_a_telegram_429_hold_on_the_real_transport(
    tg: TelegramSide,
) -> None:
    """The alert waits out Telegram's flood control; /forgetme meanwhile deletes nothing."""
    await tg.say(TINA, "/tz Europe/Berlin")
    await tg.link(TINA, TOMAS)
    await tg.say(TINA, "/checkin daily 09:00")
    nine = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    await tg.h.run_until(nine + timedelta(minutes=30), timedelta(minutes=15))
    tg.clear()
    tg.fake.fail_next("sendMessage", 429, retry_after=120)  # the alert meets a hold
    await tg.h.run_until(nine + timedelta(minutes=45), timedelta(minutes=15))
    assert tg.new_for(TOMAS) == []

    await tg.say(TINA, "/forgetme")
    done = await tg.say(TINA, "/forgetme confirm")
    assert has(done, "Done: your data is erased. A few records stay")

    await tg.h.advance(minutes=3)  # the hold is over
    told = tg.new_for(TOMAS)
    assert [m.split(":")[0] for m in told] == ["SAFETY ALERT", "WARNING"]
    assert told[1] == (
        "WARNING: Tina's account sent /forgetme while this alert was open. Treat it as a "
        "sign of danger: someone else may be using their phone."
    )
