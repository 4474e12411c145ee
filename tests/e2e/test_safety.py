"""SOS, the duress word, the safe PIN and pauses (issue 6), told as stories.

Alice is the defender, Bob her trusted contact, Olga the organiser of her group
(level 2). The duress stories run twice, once with a normal answer and once under
duress, and compare what Alice's phone shows, message by message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.model import Outgoing
from bot.core.wellbeing import Entry
from bot.store import crypto
from bot.store import wellbeing as wellbeing_store
from bot.store.checkins import kind_of
from bot.store.db import transaction
from bot.store.models import Checkin, Contact, Group, GroupMember, User
from bot.store.users import find_user
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PIN_NEEDED = "That did not check you in: send your PIN now, or ok with your PIN, e.g. ok 1234"
THANKS = "Thank you, you are checked in. How are you feeling? (optional)"
THANKS_SCORED = (
    "Thank you, you are checked in. How are things? (optional)\n\n1. Safe\n2. Unsure\n"
    "3. Scared\n4. Harassed online\n5. Exhausted\n6. Need to talk"
)


async def user_id(h: Harness, name: str) -> int:
    async with transaction(h.app.rt.sessions) as session:
        user = await find_user(session, "console", name)
        assert user is not None, name
        return user.id


async def wellbeing_of(h: Harness, name: str) -> list[Entry]:
    uid = await user_id(h, name)
    async with transaction(h.app.rt.sessions) as session:
        return await wellbeing_store.history(session, uid, wellbeing_store.EPOCH)


async def link(h: Harness, defender: str, contact: str) -> None:
    """A trusted-contact link, made directly (no random invite code in the transcripts)."""
    for name in (defender, contact):
        await h.say(name, "/start")
    ids = [await user_id(h, defender), await user_id(h, contact)]
    async with transaction(h.app.rt.sessions) as session:
        session.add(Contact(defender_id=ids[0], contact_id=ids[1], created_at=h.clock.now()))
    h.clear()


async def level2(h: Harness, defender: str, organiser: str) -> None:
    """`defender` is a member of a group `organiser` runs: level 2 of her alerts."""
    for name in (defender, organiser):
        await h.say(name, "/start")
    member, boss = await user_id(h, defender), await user_id(h, organiser)
    async with transaction(h.app.rt.sessions) as session:
        group = Group(name="Field team", created_at=h.clock.now())
        session.add(group)
        await session.flush()
        for uid, role in ((boss, "organiser"), (member, "member")):
            session.add(
                GroupMember(group_id=group.id, user_id=uid, role=role, joined_at=h.clock.now())
            )
    h.clear()


async def checkins_of(h: Harness, name: str) -> list[Checkin]:
    uid = await user_id(h, name)
    async with transaction(h.app.rt.sessions) as session:
        rows = await session.execute(select(Checkin).where(Checkin.user_id == uid))
        return list(rows.scalars())


# -- SOS -------------------------------------------------------------------------------


async def test_sos_reaches_levels_one_and_two_at_once_even_while_paused(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await level2(h, "alice", "olga")
        await h.say("alice", "/pause 1d holiday")
        reply = await h.say("alice", "/sos stopped at the checkpoint on route 7")
        assert reply == [
            "Your alert is being sent to 2 people. I will tell you when it has reached them. "
            "Stay as safe as you can.",
            "Your SOS reached 2 of 2 people. They have been asked to check on you.",
        ]
        for who in ("bob", "olga"):
            got = h.new_for(who)
            assert len(got) == 1, (who, got)
            assert got[0].startswith("SOS: Alice asked for help just now.")
            assert "Their message: stopped at the checkpoint on route 7" in got[0]
        await h.say("alice", "ok")  # the phone alone never closes an SOS: confirm in person
        for who in ("bob", "olga"):
            got = h.new_for(who)
            assert len(got) == 1 and got[0].startswith(
                "Alice answered OK from their phone, but the alert stays open"
            ), got
        reply = await h.say("bob", "/resolve")
        assert reply == ["Thank you. The alert for Alice is closed, and the others alerted know."]
        assert h.new_for("olga") == ["RESOLVED: Bob says Alice is safe. The alert is closed."]


async def test_the_prompts_help_button_is_an_sos(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.advance(hours=1)
        assert has(h.new_for("alice"), "2. I need help")
        assert has(await h.say("alice", "2"), "Your alert is being sent to 1 person")
        assert h.new_for("bob")[0].startswith("SOS: Alice asked for help just now.")


# -- duress ----------------------------------------------------------------------------


async def duress_story(url: str, answer: str, *, pin: bool) -> tuple[list[Outgoing], list[str]]:
    """Alice answers a check-in with `answer`, then looks at everything she can look at.

    Returns what her phone received after the set-up, and what Bob received.
    """
    async with Harness(url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/duress tangerine")
        if pin:
            await h.say("alice", "/pin 4821")
        await h.say("alice", "/checkin daily 09:00")
        await h.advance(hours=1)
        await h.advance(minutes=10)
        start = len([o for o in h.console.sent if o.to.chat_id == "alice"])
        await h.say("alice", answer)
        await h.say("alice", "/ok 4")  # the well-being button right after
        for command in ("/status", "/checkins", "/mydata", "/contacts"):
            guarded = command in ("/mydata", "/contacts") and pin  # they need the PIN
            await h.say("alice", f"{command} 4821" if guarded else command)
        await h.advance(hours=3)  # no reminder, no alert the phone could see
        await h.say("alice", "/status")
        mine = [o for o in h.console.sent if o.to.chat_id == "alice"][start:]
        return mine, h.inbox("bob")


#: Well-being scores kept (normal story, duress story). "/ok 4" right after an answer is
#: a tap; after an answer that carried a score it is a new OK (not under duress), and
#: the PIN guards it when one is set.
KEPT = {
    "Tangerine": [[4], []],
    "safe tangerine": [[4], []],
    "ok tangerine 3 tired": [[4], [4]],
    "ok tangerine": [[4], []],
    "tangerine": [[4], []],
    "ok 4821 tangerine 2": [[2], []],
    "ok 3 tired, tangerine!": [[4], [4]],
    "ok 4 tangerine": [[4], [4]],  # the typed 4 is not kept; the tap after it is a new OK
    "👍 TANGERINE": [[4], []],
    "ok 4821 tangerine": [[4], []],
    "tangerine 4821": [[4], []],
    "ok tangerine 4821": [[4], []],
}


def mydata(out: Outgoing) -> dict[str, Any]:
    """The export a `/mydata` reply carries."""
    assert out.attachment is not None
    doc: dict[str, Any] = json.loads(out.attachment.data)
    return doc


@pytest.mark.parametrize(
    ("normal", "duress", "pin"),
    [
        ("ok", "Tangerine", False),
        ("safe", "safe tangerine", False),
        ("ok 3 tired", "ok tangerine 3 tired", False),
        ("ok 3 tired,", "ok 3 tired, tangerine!", False),  # anywhere, any punctuation
        ("ok 4", "ok 4 tangerine", False),  # the score first (issue 10)
        ("👍", "👍 TANGERINE", False),
        ("ok 4821", "ok 4821 tangerine", True),
        ("ok 4821", "tangerine 4821", True),  # any order
        ("ok 4821", "ok tangerine 4821", True),
        ("ok 4821 2", "ok 4821 tangerine 2", True),
    ],
)
async def test_a_duress_answer_looks_exactly_like_a_normal_one(
    tmp_path: object, normal: str, duress: str, pin: bool
) -> None:
    seen_normal, bob_normal = await duress_story(
        f"sqlite+aiosqlite:///{tmp_path}/normal.db", normal, pin=pin
    )
    seen_duress, bob_duress = await duress_story(
        f"sqlite+aiosqlite:///{tmp_path}/duress.db", duress, pin=pin
    )
    assert seen_normal[0].text.startswith("Thank you, you are checked in.")
    assert len(seen_normal) == 7 and seen_normal[4].text.startswith("What Holdfast stores")
    # text, buttons, kind, attachment: byte for byte, but for the well-being answer tapped
    # right after, which under duress is not kept (it is not the defender's well-being)
    normal_export, duress_export = (mydata(seen[4]) for seen in (seen_normal, seen_duress))
    scores = [
        [a["score"] for a in e["well_being"]["answers"]] for e in (normal_export, duress_export)
    ]
    assert scores == KEPT[duress]  # what is tapped or typed with a duress answer is not kept
    normal_export["well_being"]["answers"] = duress_export["well_being"]["answers"]
    assert duress_export == normal_export
    assert seen_duress[:4] + seen_duress[5:] == seen_normal[:4] + seen_normal[5:]
    assert not has(bob_normal, "SOS")
    silent = [m for m in bob_duress if m.startswith("SOS (silent): Alice may be in danger")]
    assert len(silent) == 1 and "/ack" in silent[0]
    assert not has(bob_duress, "ALL CLEAR")


async def test_duress_after_an_alert_sends_no_all_clear_and_a_later_ok_clears_nothing(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await level2(h, "alice", "olga")
        await h.say("alice", "/duress tangerine")
        await h.say("alice", "/checkin daily 09:00")
        await h.advance(hours=1)
        for _ in range(3):
            await h.advance(minutes=15)
        assert has(h.new_for("bob"), "SAFETY ALERT: Alice has not checked in")
        h.clear()
        assert await h.say("alice", "ok tangerine") == [THANKS + "\n\n" + "\n".join(
            f"{n}. {label}" for n, label in enumerate(
                ["1 very bad", "2 bad", "3 okay", "4 good", "5 very good"], start=1)
        )]  # fmt: skip
        for who in ("bob", "olga"):
            got = h.new_for(who)
            assert len(got) == 1 and got[0].startswith("SOS (silent)"), (who, got)
        await h.say("alice", "ok")  # may be coerced too: the duress alert stands
        for who in ("bob", "olga"):
            got = h.new_for(who)
            assert len(got) == 1 and got[0].startswith("Alice answered OK from their phone, but")
        await h.advance(minutes=14)
        assert h.new_for("bob") == [] and h.new_for("olga") == []
        assert has(await h.say("bob", "/ack"), "The others alerted know you are on it")
        kinds = {kind_of(c): c for c in await checkins_of(h, "alice")}
        assert kinds["duress"].kind == "sos"  # at rest an SOS; the variant is sealed
        assert kinds["duress"].state == "missed"
        assert kinds["scheduled"].state == "resolved"


async def test_duress_with_nobody_to_alert_still_looks_normal(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/duress tangerine")
        assert (await h.say("alice", "tangerine"))[0].startswith(THANKS)
        assert (await h.say("alice", "tangerines")) == [
            "I did not understand. Reply OK if you are safe, SOS if you need help, or /help "
            "for the commands."
        ]


async def test_duress_word_rules_and_replies_never_repeat_it(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        for bad in ("ok", "SOS", "help", "abc", "blue42", "1234", "safe"):
            assert has(await h.say("alice", f"/duress {bad}"), "Please choose one word")
        assert has(await h.say("alice", "/duress"), "Choose a duress word")
        assert has(await h.say("alice", "/duress two words"), "Choose a duress word")
        reply = await h.say("alice", "/duress Marmalade")
        assert reply == [
            "Duress word saved. Delete your /duress message and this reply from this chat "
            "now, so nobody who takes your phone can read them."
        ]
        async with transaction(h.app.rt.sessions) as session:
            user = await session.get_one(User, await user_id(h, "alice"))
            assert user.duress_hash and crypto.looks_sealed(user.duress_hash)  # hash, sealed
            assert crypto.decrypt_field(user.duress_hash).startswith("scrypt$")
            assert "armalade" not in crypto.decrypt_field(user.duress_hash).casefold()
        assert has(await h.say("alice", "/duress off"), "Duress word removed")
        assert has(await h.say("alice", "marmalade"), "I did not understand")


# -- PIN -------------------------------------------------------------------------------


async def test_with_a_pin_only_the_right_pin_stops_the_escalation(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        reply = await h.say("alice", "/pin 4821")
        assert has(reply, "PIN saved") and not has(reply, "4821")
        await h.say("alice", "/checkin daily 09:00")
        await h.advance(hours=1)
        assert has(h.new_for("alice"), "1. I'm safe")
        assert await h.say("alice", "1") == [PIN_NEEDED]  # the "I'm safe" button
        assert await h.say("alice", "ok") == [PIN_NEEDED]
        assert await h.say("alice", "ok 1111") == [PIN_NEEDED]
        assert await h.say("alice", "ok 4 fine") == [PIN_NEEDED]
        await h.advance(minutes=30)
        assert has(h.new_for("alice"), "Reminder")  # the clock kept running
        assert await h.say("alice", "/ok 48211") == [PIN_NEEDED]
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "SAFETY ALERT: Alice has not checked in")
        reply = await h.say("alice", "ok 4821 4 home now")
        assert reply == [THANKS_SCORED]  # the score came with the answer: only "how are things"
        assert h.new_for("bob") == ["ALL CLEAR: Alice has checked in and is safe."]
        answered = [c for c in await checkins_of(h, "alice") if c.kind == "scheduled"]
        assert [c.note for c in answered] == ["home now"]  # the PIN is not a note
        assert [e.score for e in await wellbeing_of(h, "alice")] == [4]


async def test_guessing_the_pin_is_throttled_and_the_clock_keeps_running(sqlite_url: str) -> None:
    throttled = (
        "Too many wrong PINs. No PIN is accepted for the next 10 minutes; if you miss your "
        "check-in meanwhile, your contacts are alerted as usual."
    )
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/pin 4821")
        await h.say("alice", "/timer 30m")
        for guess in ("0000", "1111", "2222", "3333", "4444"):
            assert await h.say("alice", f"ok {guess}") == [PIN_NEEDED]
        assert await h.say("alice", "ok 4821") == [  # even the right one, for now; said first
            "That did not check you in: too many wrong PINs. No PIN is accepted for the next "
            "10 minutes; if you miss your check-in meanwhile, your contacts are alerted as usual."
        ]
        assert await h.say("alice", "/pin off 4821") == [throttled]
        await h.advance(minutes=31)
        assert has(h.new_for("alice"), "safe-arrival timer has run out")
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "SAFETY ALERT")  # locked out is alerted for, not dropped
        reply = await h.say("alice", "ok 4821")  # the window has passed
        assert len(reply) == 1 and reply[0].startswith(THANKS)
        assert h.new_for("bob") == ["ALL CLEAR: Alice has checked in and is safe."]


async def test_arabic_indic_digits_are_the_same_pin(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/pin ٤٨٢١")
        assert (await h.say("alice", "ok 4821"))[0].startswith("Thank you")


async def test_changing_or_removing_the_pin_needs_the_current_one(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        assert has(await h.say("alice", "/pin off"), "You have no PIN")
        assert has(await h.say("alice", "/pin 12"), "A PIN is 4 to 8 digits")
        assert has(await h.say("alice", "/pin 123456789"), "A PIN is 4 to 8 digits")
        await h.say("alice", "/pin 4821")
        needs = "That was not done: it needs your PIN. Send /pin again with your PIN as the last"
        assert has(await h.say("alice", "/pin 5555"), needs)
        assert has(await h.say("alice", "/pin off"), needs)
        assert has(await h.say("alice", "/pin off 1111"), needs)
        assert has(await h.say("alice", "/pin 5555 4821"), "PIN changed")
        assert await h.say("alice", "ok 4821") == [PIN_NEEDED]
        assert has(await h.say("alice", "/pin off 5555"), "PIN removed")
        assert (await h.say("alice", "ok"))[0].startswith("Thank you")


# -- pause -----------------------------------------------------------------------------


async def test_a_pause_suppresses_prompts_and_escalation_and_ends_by_itself(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/checkin every 1h")
        await h.say("alice", "/timer 40m")
        await h.advance(hours=1)  # 09:00: a prompt, and the timer has run out
        assert has(h.new_for("alice"), "are you safe")
        reply = await h.say("alice", "/pause 3h travelling")
        assert reply[0].startswith("Check-ins paused for 3h, until Mon 01 Jun 12:00 (UTC).")
        status = await h.say("alice", "/status")
        assert has(status, "Paused until Mon 01 Jun 12:00 (UTC)")
        assert not has(status, "waiting for your answer") and not has(status, "Timer running")
        assert not has(status, "ran out") and not has(status, "missed a check-in")
        for _ in range(11):  # 3 hours in 15-minute steps: prompts due, nothing sent
            await h.advance(minutes=15)
        assert h.new_for("alice") == [] and h.new_for("bob") == []
        await h.advance(minutes=15)  # 12:00: the pause is over, and so is the silence
        back = h.new_for("alice")
        assert has(back, "Your pause has ended. Check-ins are back on.")
        assert has(back, "are you safe")
        early = T0 + timedelta(hours=1)
        assert {c.state for c in await checkins_of(h, "alice") if c.due_at <= early} == {
            "cancelled"
        }


async def test_a_timer_set_during_a_pause_still_alerts(sqlite_url: str) -> None:
    """Pausing routine check-ins must not silence a timer set for a risky trip."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/pause 1d holiday")
        assert has(await h.say("alice", "/timer 1h crossing the border"), "Timer set for 1h")
        await h.advance(hours=1)
        assert has(h.new_for("alice"), "safe-arrival timer has run out")
        await h.advance(minutes=15)
        alert = h.new_for("bob")
        assert len(alert) == 1 and "crossing the border" in alert[0]


async def test_resume_ends_a_pause_early_and_quietly(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        assert await h.say("alice", "/resume") == ["Your check-ins are not paused."]
        await h.say("alice", "/pause 2h")
        assert await h.say("alice", "/resume") == ["Pause ended. Check-ins are back on."]
        await h.advance(hours=3)
        assert h.new_for("alice") == []  # no "pause has ended" later
        assert not has(await h.say("alice", "/status"), "Paused")


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("/pause", "Write it like /pause 2h"),
        ("/pause 1m", "too short; the minimum is 5m"),
        ("/pause 31d", "too long; the maximum is 30d"),
        ("/pause soon", "is not a duration"),
    ],
)
async def test_pause_bounds(sqlite_url: str, command: str, fragment: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        assert has(await h.say("alice", command), fragment)
        assert not has(await h.say("alice", "/status"), "Paused")


async def test_with_a_pin_a_pause_needs_it(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/pin 4821")
        needs = "That was not done: it needs your PIN. Send /pause again with your PIN as the last"
        assert has(await h.say("alice", "/pause 2h"), "Send your PIN now, as your next message")
        assert has(await h.say("alice", "/pause 2h away 1111"), needs)
        assert has(await h.say("alice", "/pause 2h 4821 away"), "Send your PIN now")  # goes last
        assert not has(await h.say("alice", "/status"), "Paused")
        assert has(await h.say("alice", "/pause 2h away 4821"), "Check-ins paused for 2h")
        async with transaction(h.app.rt.sessions) as session:
            user = await session.get_one(User, await user_id(h, "alice"))
            assert user.pause_reason == "away"
