"""Answers as a person in a hurry types them (issue 10), told as stories.

Alice is the defender, Bob her trusted contact. Each story counts exactly what each
of them receives: an OK that counts closes the check-in (Bob hears nothing, then or
later); one that does not count says so first, and the clock keeps running; an SOS
reaches Bob at once, however it is typed.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_safety import T0, link, wellbeing_of
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has

THANKS = "Thank you, you are checked in. How are you feeling? (optional)"
SENT = (
    "Your alert is being sent to 1 person. I will tell you when it has reached them. "
    "Stay as safe as you can."
)
REACHED = "Your SOS reached 1 of 1 people. They have been asked to check on you."


async def prompted(h: Harness) -> None:
    """Alice has a daily check-in at 09:00; it is 09:00 and the prompt is out."""
    await link(h, "alice", "bob")
    await h.say("alice", "/checkin daily 09:00")
    await h.advance(hours=1)
    assert has(h.new_for("alice"), "1. I'm safe")
    h.clear()


@pytest.mark.parametrize("answer", ["ok!", "Ok.", "👍", "I am ok", "i'm OK!!", "✅", "safe."])
async def test_an_ok_as_typed_in_a_hurry_checks_in(sqlite_url: str, answer: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await prompted(h)
        reply = await h.say("alice", answer)
        assert len(reply) == 1 and reply[0].startswith(THANKS), reply
        await h.advance(hours=3)  # past the reminder and both levels
        assert h.new_for("bob") == []
        assert h.new_for("alice") == []  # no reminder either


@pytest.mark.parametrize("answer", ["SOS!!", "sos!", "Sos.", "sos they took me", "🆘", "HELP ME"])
async def test_an_sos_as_typed_in_a_hurry_alerts_at_once(sqlite_url: str, answer: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        assert await h.say("alice", answer) == [SENT, REACHED]
        got = h.new_for("bob")
        assert len(got) == 1 and got[0].startswith("SOS: Alice asked for help just now."), got
        if "took me" in answer:
            assert "they took me" in got[0]


@pytest.mark.parametrize("answer", ["ok 6", "ok 0", "OK 9!"])
async def test_a_bad_score_says_first_that_it_did_not_count(sqlite_url: str, answer: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await prompted(h)
        reply = await h.say("alice", answer)
        assert reply == [
            "That did not check you in. The well-being score is a number from 1 (very bad) "
            "to 5 (very good), for example: ok 4"
        ]
        await h.advance(minutes=30)  # the clock kept running: a reminder, then Bob
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "SAFETY ALERT: Alice has not checked in")


@pytest.mark.parametrize("answer", ["I am not ok", "not safe", "is it ok if I am late?"])
async def test_what_looks_like_an_answer_but_is_not_says_so(sqlite_url: str, answer: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await prompted(h)
        assert await h.say("alice", answer) == [
            "That did not check you in. To check in, send just: ok (or ok 4 to add how you "
            "feel, 1 to 5). If you need help, send SOS."
        ]
        assert h.new_for("bob") == []  # not an alert either
        await h.advance(minutes=30)
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "SAFETY ALERT: Alice has not checked in")


async def test_help_alone_while_a_check_in_waits_asks_and_alerts_nobody(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await prompted(h)
        assert await h.say("alice", "help!") == [
            "Do you need help now? Send SOS to raise an alert. To see what I can do, send "
            "/help.\n\n1. SOS: I need help"
        ]
        assert h.new_for("bob") == []
        assert await h.say("alice", "1") == [SENT, REACHED]  # the button
        assert h.new_for("bob")[0].startswith("SOS: Alice asked for help just now.")


async def test_help_alone_with_nothing_waiting_is_the_command_list(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        assert await h.say("alice", "HELP?") == await h.say("alice", "/help")
        assert h.new_for("bob") == []


async def test_ok_4_falcon_is_a_duress_answer(sqlite_url: str) -> None:
    """Issue 10: `ok 4 falcon` (score first, as the prompt teaches) was a plain check-in."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/duress falcon")
        await prompted(h)
        reply = await h.say("alice", "ok 4 falcon")
        assert reply[0].startswith("Thank you, you are checked in.")
        got = h.new_for("bob")
        assert len(got) == 1 and got[0].startswith("SOS (silent): Alice may be in danger"), got


async def test_with_a_pin_the_im_safe_button_then_the_pin_checks_in(sqlite_url: str) -> None:
    """Issue 10: with a PIN set the "I'm safe" button no longer worked at all."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/pin 4821")
        await prompted(h)
        assert await h.say("alice", "1") == [  # the button: the PIN is asked for
            "That did not check you in: send your PIN now, or ok with your PIN, e.g. ok 1234"
        ]
        reply = await h.say("alice", "4821")  # the next message
        assert len(reply) == 1 and reply[0].startswith(THANKS), reply
        assert await h.say("alice", "4") == [  # the score button needs no PIN
            "Noted, thank you. How are things? (optional)\n\n1. Safe\n2. Unsure\n3. Scared\n"
            "4. Harassed online\n5. Exhausted\n6. Need to talk"
        ]
        await h.advance(hours=3)
        assert h.new_for("bob") == []


async def test_a_long_sos_with_punctuation_is_never_refused(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        text = "SOS!! " + "they took my phone at the border " * 100
        assert await h.say("alice", text) == [SENT, REACHED]
        assert len(h.new_for("bob")) == 1


async def test_with_a_pin_a_score_button_waits_for_the_pin(sqlite_url: str) -> None:
    """A score pressed with no answer just before it is an OK: it waits for the PIN."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/pin 4821")
        await prompted(h)
        assert await h.say("alice", "/ok 4") == [
            "That did not check you in: send your PIN now, or ok with your PIN, e.g. ok 1234"
        ]
        reply = await h.say("alice", "4821")
        assert len(reply) == 1 and reply[0].startswith(
            "Thank you, you are checked in. How are things? (optional)"  # the score came along
        ), reply
        assert [e.score for e in await wellbeing_of(h, "alice")] == [4]
        await h.advance(hours=3)
        assert h.new_for("bob") == []
