"""Issue 4 on Signal, through the whole app: the real signalbot, a fake signal-cli-rest-api.

Every message here is pushed into the fake service's receive websocket, parsed by
signalbot, handled by the router and answered through the outbox and `/v2/send`;
the scheduler runs on a fake clock. Defenders and contacts type plain words (no
slash), answer numbered choices with a number, and invite each other with codes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.config import OpsSettings
from bot.store.models import Checkin, Outbox, ProcessedInbound
from tests.support.clock import FakeClock
from tests.support.groups import organise, user_of
from tests.support.harness import Harness, has, make_settings, until
from tests.support.servers.fake_signal import UNTRUSTED_MASTER, FakeSignal, rate_limit_body
from tests.support.signal_harness import SignalSide, SignalUser, fast_signal, signal_app

DINA = SignalUser("Dina", "0b9c1f5e-3a2d-4c6b-8e7f-1a2b3c4d5e6f", "+15550002001")
SAM = SignalUser("Sam", "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9", "+15550002002")

# 09:00 in Berlin (CEST, UTC+2) on Monday 1 June 2026.
NINE_BERLIN = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignal]:
    async with FakeSignal() as server:
        yield server


@pytest.fixture
async def s(sqlite_url: str, clock: FakeClock, fake: FakeSignal) -> AsyncIterator[SignalSide]:
    async with signal_app(sqlite_url, clock, fake) as side:
        yield side


async def defender_with_daily_checkin(s: SignalSide) -> None:
    """Dina (Berlin) checks in daily at 09:00 and Sam is her trusted contact."""
    await s.say(DINA, "tz Europe/Berlin")
    await s.say(DINA, "checkin daily 09:00")
    await s.link(DINA, SAM)
    s.clear()


# ---- the lifecycle -----------------------------------------------------------------


async def test_whole_lifecycle_in_plain_words_and_numbers(
    s: SignalSide, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = await s.say(DINA, "tz Europe/Berlin")
    assert has(first, "Signal encrypts this chat end to end")  # first contact, on Signal
    assert has(first, "Time zone set to Europe/Berlin")
    reply = await s.say(DINA, "checkin daily 09:00")
    assert has(reply, "Next: Mon 01 Jun 09:00 (Europe/Berlin)")
    assert has(reply, "nobody would be alerted")

    code = await s.invite_code(DINA, "Sam")
    assert "t.me" not in "".join(s.inbox(DINA))  # Signal invites are codes, never links
    assert has(await s.say(SAM, f"accept {code}"), "You are now a trusted contact of Dina")
    assert s.new_for(DINA) == ["Sam accepted: they will be alerted if you miss a check-in."]

    await until(s.h, NINE_BERLIN - timedelta(minutes=1))
    assert s.new_for(DINA) == []
    await until(s.h, NINE_BERLIN)
    [prompt] = s.new_for(DINA)  # to her UUID: Signal addresses people by ACI
    assert "are you safe" in prompt
    assert prompt.endswith("\n\n1. I'm safe\n2. I need help")

    await until(s.h, NINE_BERLIN + timedelta(minutes=30))  # window over: reminder
    [reminder] = s.new_for(DINA)
    assert reminder.startswith("Reminder: please check in now") and "1. I'm safe" in reminder
    assert s.new_for(SAM) == []

    await until(s.h, NINE_BERLIN + timedelta(minutes=45))  # grace over: level 1
    [alert] = s.new_for(SAM)
    assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    assert alert.endswith("\n\n1. I'm on it\n2. Resolved: they are safe")
    assert s.new_for(DINA) == []

    thanks = await s.say(SAM, "1")  # the number stands for "/ack N"
    assert has(thanks, "Nobody else was alerted")
    assert s.new_for(DINA) == []  # the defender's phone learns nothing
    assert await acked_by_someone(s)

    checked_in = await s.say(DINA, "ok 4 back at the safehouse")
    assert has(checked_in, "Thank you, you are checked in")
    assert s.new_for(SAM) == ["ALL CLEAR: Dina has checked in and is safe."]
    await s.h.advance(hours=2)  # no level 2, nothing further for anyone
    assert s.new_for(SAM) == [] and s.new_for(DINA) == []

    # People are addressed by UUID; numbers, names and texts stay out of INFO logs.
    recipients = {r for sent in s.fake.sent for r in sent.recipients}
    assert recipients == {DINA.uuid, SAM.uuid}
    assert_no_personal_data_logged(caplog, DINA.number, SAM.number, "Dina", "safehouse", code)


def assert_no_personal_data_logged(caplog: pytest.LogCaptureFixture, *needles: str) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert logged  # the app did log at INFO
    for record in logged:
        text = record.getMessage() + repr(sorted(map(str, vars(record).values())))
        for needle in needles:
            assert needle not in text, (record.name, record.getMessage())


async def acked_by_someone(s: SignalSide) -> bool:
    async with s.h.app.rt.sessions() as session:
        checkin = (await session.execute(select(Checkin))).scalars().one()
        return checkin.acked_by is not None


async def test_two_on_a_prompt_is_sos(s: SignalSide) -> None:
    await defender_with_daily_checkin(s)
    await until(s.h, NINE_BERLIN)
    assert has(s.new_for(DINA), "2. I need help")

    reply = await s.say(DINA, "2")
    assert has(reply, "Your alert is being sent")
    [sos] = s.new_for(SAM)
    assert sos.startswith("SOS: Dina asked for help just now.") and sos.endswith(
        "1. I'm on it\n2. Resolved: they are safe"
    )
    assert has(await s.say(SAM, "1"), "Nobody else was alerted")
    await s.say(DINA, "ok")  # the phone alone never closes an SOS: Sam confirms, then resolves
    [note] = s.new_for(SAM)
    assert note.startswith("Dina answered OK from their phone, but the alert stays open")
    assert note.endswith("\n\n1. Resolved: they are safe")  # Sam has it already: no "I'm on it"
    assert has(await s.say(SAM, "1"), "The alert for Dina is closed")


async def test_a_bare_number_without_choices_shown_is_not_a_command(s: SignalSide) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    reply = await s.say(DINA, "2")
    assert has(reply, "I did not understand") and not has(reply, "alert went out")


@pytest.mark.parametrize("command", ["help", "status", "checkins", "contacts", "tz"])
async def test_commands_work_with_and_without_the_slash(s: SignalSide, command: str) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    plain = await s.say(DINA, command)
    slashed = await s.say(DINA, f"/{command}")
    assert plain == slashed and plain and not has(plain, "I did not understand")


async def test_an_edited_ok_never_counts(s: SignalSide) -> None:
    await defender_with_daily_checkin(s)
    await until(s.h, NINE_BERLIN + timedelta(minutes=15))
    s.clear()
    assert await s.say(DINA, "ok", edit=True) == [
        "That did not count. Edited messages are ignored. Please send a new message."
    ]
    await until(s.h, NINE_BERLIN + timedelta(minutes=45))
    assert has(s.new_for(SAM), "SAFETY ALERT: Dina has not checked in")


# ---- faults ------------------------------------------------------------------------


async def test_abrupt_cut_reconnects_and_the_next_message_is_handled(
    s: SignalSide, fake: FakeSignal
) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    fake.cut_websocket()
    await fake.wait_connected(2)
    assert has(await s.say(DINA, "checkin daily 09:00"), "Check-in #1 added")
    assert fake.dropped == 0


async def test_clean_close_reconnects_and_the_next_message_is_handled(
    s: SignalSide, fake: FakeSignal
) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    await fake.close_websocket()
    await fake.wait_connected(2)
    assert has(await s.say(DINA, "checkin daily 09:00"), "Check-in #1 added")
    await fake.close_websocket()  # and again: the watch does not wear out
    await fake.wait_connected(3)
    assert has(await s.say(DINA, "status"), "Your status:")
    assert fake.dropped == 0


async def outbox_row(h: Harness, fragment: str) -> Outbox:
    async with h.app.rt.sessions() as session:
        rows = (await session.execute(select(Outbox))).scalars().all()
    [row] = [r for r in rows if fragment in r.payload]
    return row


async def test_send_answering_500_is_retried_and_delivered_once(
    s: SignalSide, fake: FakeSignal, clock: FakeClock
) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    fake.fail_next_send(500, count=2)
    assert await s.say(DINA, "checkin daily 09:00") == []  # first try: HTTP 500
    row = await outbox_row(s.h, "Check-in #1 added")
    assert (row.status, row.attempts) == ("pending", 1) and "HTTP 500" in (row.last_error or "")

    clock.advance(timedelta(seconds=3))  # past the first backoff (2s, +/-20%)
    await s.h.deliver()  # second try: HTTP 500 again
    assert s.new_for(DINA) == []
    clock.advance(timedelta(seconds=6))  # past the second backoff (4s, +/-20%)
    await s.h.deliver()
    assert [m for m in s.new_for(DINA) if "Check-in #1 added" in m]
    clock.advance(timedelta(minutes=10))
    await s.h.deliver()
    assert len([m for m in s.inbox(DINA) if "Check-in #1 added" in m]) == 1
    assert (await outbox_row(s.h, "Check-in #1 added")).status == "sent"


async def test_send_answering_429_waits_for_retry_after_and_delivers_once(
    s: SignalSide, fake: FakeSignal, clock: FakeClock
) -> None:
    await s.say(DINA, "tz Europe/Berlin")
    fake.fail_next_send(429, headers={"Retry-After": "30"})
    assert await s.say(DINA, "checkin daily 09:00") == []
    clock.advance(timedelta(seconds=29))
    await s.h.deliver()
    assert s.new_for(DINA) == []  # Signal said 30 seconds
    clock.advance(timedelta(seconds=2))
    await s.h.deliver()
    assert [m for m in s.new_for(DINA) if "Check-in #1 added" in m]
    clock.advance(timedelta(minutes=10))
    await s.h.deliver()
    assert len([m for m in s.inbox(DINA) if "Check-in #1 added" in m]) == 1


async def test_an_alert_rate_limited_without_retry_after_still_arrives_once(
    s: SignalSide, fake: FakeSignal, clock: FakeClock
) -> None:
    await defender_with_daily_checkin(s)
    await until(s.h, NINE_BERLIN + timedelta(minutes=44))
    fake.fail_next_send(429)  # the real 429: no Retry-After, so a minute first
    await until(s.h, NINE_BERLIN + timedelta(minutes=45))
    assert s.new_for(SAM) == []
    clock.advance(timedelta(seconds=59))
    await s.h.deliver()
    assert s.new_for(SAM) == []
    clock.advance(timedelta(seconds=2))
    await s.h.deliver()
    [alert] = s.new_for(SAM)
    assert alert.startswith("SAFETY ALERT: Dina has not checked in.")
    await s.h.advance(minutes=5)
    assert s.new_for(SAM) == []


async def test_restart_while_sends_fail_delivers_after_restart_exactly_once(
    sqlite_url: str, clock: FakeClock, fake: FakeSignal
) -> None:
    async with signal_app(sqlite_url, clock, fake) as s:
        await s.link(DINA, SAM)
        await s.say(DINA, "checkin daily 09:00")  # UTC: 09:00 is three hours away
        await until(s.h, datetime(2026, 6, 1, 9, 44, tzinfo=UTC))
        s.clear()
        fake.fail_next_send(503, count=2)  # signal-cli-rest-api is down
        await until(s.h, datetime(2026, 6, 1, 9, 45, tzinfo=UTC))  # alert: 503
        clock.advance(timedelta(seconds=3))
        await s.h.deliver()  # 503 again
        assert s.new_for(SAM) == []
    await fake.wait_for(lambda: fake.open_sockets == 0)  # the bot is gone

    clock.advance(timedelta(minutes=1))
    async with Harness(sqlite_url, clock, extra_transports={"signal": fast_signal(fake)}) as h:
        await fake.wait_connected(2)
        await h.deliver()  # the service is healthy again
        alerts = [m for m in fake.messages_to(SAM.uuid) if m.startswith("SAFETY ALERT")]
        assert len(alerts) == 1 and "Dina has not checked in" in alerts[0]
        await h.advance(minutes=10)
        await h.deliver()
    assert len([m for m in fake.messages_to(SAM.uuid) if m.startswith("SAFETY ALERT")]) == 1


# ---- a group alert chat on Signal --------------------------------------------------

OLGA = SignalUser("Olga", "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "+15550002004")
PAT = SignalUser("Pat", "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9", "+15550002005")


async def test_group_alert_chat_on_signal(s: SignalSide, fake: FakeSignal) -> None:
    from bot.handlers import groups  # written beside this test; fail, never skip, without it

    assert "group_alerts" in groups.ROUTES
    created = await s.say(OLGA, "group_new Field team")
    assert has(created, 'Group "Field team" created (#1)')
    [code] = [
        line.split()[1] for m in created for line in m.splitlines() if line.startswith("join ")
    ]
    assert has(await s.say(DINA, f"join {code}"), 'You joined group "Field team" (#1)')
    await s.say(DINA, "checkin daily 09:00")  # no personal contacts: level 2 at once

    chat = fake.add_group("Field team alerts", [OLGA.number, PAT.number])
    bound = await s.say(OLGA, "/group_alerts 1", group=chat)
    assert has(bound, "This chat now receives the alerts of group #1")
    chatter = await fake.push_message(PAT.uuid, "see you all at 6", name=PAT.name, group_id=chat)
    s.clear()

    await until(s.h, datetime(2026, 6, 1, 9, 45, tzinfo=UTC))
    [alert] = s.new_for(chat)
    assert alert.startswith("SAFETY ALERT (group): Dina has not checked in")
    # In a group only commands reach the bot, so the choice reads as the command to type.
    assert (
        alert.endswith("\n\nI'm on it: /ack 1\nResolved: they are safe: /resolve 1")
        and "1. I'm on it" not in alert
    )
    assert has(s.new_for(OLGA), "SAFETY ALERT (group): Dina")

    ignored = await fake.push_message(PAT.uuid, "1", name=PAT.name, group_id=chat)
    thanks = await s.say(PAT, "/ack 1", group=chat)  # anyone in the alert chat may take it on
    assert has(thanks, "The others alerted know you are on it")
    for other in (chatter, ignored):  # chatter never reached the app, nor was stored
        assert not await was_handled(s, f"{PAT.uuid}:{other}")
    assert s.new_for(OLGA) == ["Pat is handling the alert for Dina."]

    await s.say(DINA, "ok")
    assert s.new_for(chat) == ["ALL CLEAR: Dina has checked in and is safe."]
    assert s.new_for(OLGA) == ["ALL CLEAR: Dina has checked in and is safe."]


async def was_handled(s: SignalSide, key: str) -> bool:
    async with s.h.app.rt.sessions() as session:
        found = await session.execute(select(ProcessedInbound).where(ProcessedInbound.key == key))
        return found.first() is not None


async def test_sole_contact_unreachable_level2_at_once_and_true_counts(s: SignalSide) -> None:
    """Issue 9 on Signal: a contact whose safety number changed is not counted as alerted."""
    olga = SignalUser("Olga", "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "+15550002009")
    await s.say(olga, "hello")
    await defender_with_daily_checkin(s)
    await organise(
        s.h, await user_of(s.h, "signal", olga.uuid), await user_of(s.h, "signal", DINA.uuid)
    )
    await until(s.h, NINE_BERLIN + timedelta(minutes=30))
    s.clear()
    # Sam's phone may have been seized: signal-cli refuses the new identity key.
    s.fake.fail_next_send(400, body={"error": UNTRUSTED_MASTER})
    await until(s.h, NINE_BERLIN + timedelta(minutes=45))
    await s.h.deliver()
    assert s.new_for(SAM) == []
    [level2] = s.new_for(olga)
    assert level2.startswith(
        "SAFETY ALERT (group): Dina has not checked in for 45m. Their trusted contacts could "
        "not be reached, so you are alerted now."
    )


async def test_a_captcha_is_reported_to_the_operators_once_with_the_command(
    sqlite_url: str, clock: FakeClock, fake: FakeSignal
) -> None:
    ops = OpsSettings(operator_chats=("console:operator",))
    settings = dataclasses.replace(make_settings(sqlite_url), ops=ops)
    async with signal_app(sqlite_url, clock, fake, settings=settings) as s:
        token = "03AFcWeA-challenge"
        fake.fail_next_send(429, count=2, body=rate_limit_body(fake.number, token))
        assert await s.say(DINA, "tz Europe/Berlin") == []  # Signal wants a captcha
        clock.advance(timedelta(seconds=61))
        await s.h.deliver()  # still limited: the next wait is two minutes
        assert s.new_for(DINA) == []
        [told] = s.h.inbox("operator")
        assert told.startswith("Signal wants a captcha before the bot can send again.")
        assert f"{fake.service}/v1/accounts/" in told and "/rate-limit-challenge" in told
        assert token in told and fake.number not in told
        clock.advance(timedelta(seconds=121))  # the operator solved it
        await s.h.deliver()
        assert has(s.new_for(DINA), "Europe/Berlin")
        assert len(s.h.inbox("operator")) == 1  # once per challenge
