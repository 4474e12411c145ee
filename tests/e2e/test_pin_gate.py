"""The PIN guards every command that lowers protection (issue 10), over the route table.

Whoever holds Alice's unlocked phone can type anything. With her safe PIN set, each
command in `commands.LOWERS_PROTECTION` is refused without the PIN (and changes
nothing: the same command then works with it), and works with the PIN as its last
word. Every routed command must be classified here, so a new command that nobody
thought about fails this test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.commands import LOWERS_PROTECTION, Command, lowers_protection
from bot.handlers import ROUTES
from bot.handlers.secrets import CARRIES_SECRET
from tests.e2e.test_safety import link
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PIN = "4821"


SEND_NOW = "That was not done yet: it needs your PIN. Send your PIN now, as your next message."


def asks_pin(name: str) -> str:
    """Without the PIN: asked for next, except where the command's own words are secret."""
    return needs_pin(name) if name in CARRIES_SECRET else SEND_NOW


def needs_pin(name: str) -> str:
    return (
        f"That was not done: it needs your PIN. Send /{name} again with your PIN as the last word."
    )


async def _link(h: Harness, defender: str, contact: str) -> None:
    await link(h, defender, contact)


async def _group(h: Harness, organiser: str, member: str) -> None:
    created = await h.say(organiser, "/group_new Team")
    code = next(w for m in created for line in m.splitlines() if line.startswith("join ")
                for w in line.split()[1:])  # fmt: skip
    assert has(await h.say(member, f"/join {code}"), "joined"), "setup: joined the group"


async def nothing(h: Harness) -> None:
    await h.say("alice", "/start")


async def a_schedule(h: Harness) -> None:
    await h.say("alice", "/checkin daily 09:00")


async def a_timer(h: Harness) -> None:
    await h.say("alice", "/timer 30m")


async def a_contact(h: Harness) -> None:
    await _link(h, "alice", "bob")


async def in_a_group(h: Harness) -> None:
    await _group(h, "olga", "alice")


async def runs_a_group(h: Harness) -> None:
    await _group(h, "alice", "bob")


async def asked_to_forget(h: Harness) -> None:
    await h.say("alice", "/forgetme")


async def an_alert_to_resolve(h: Harness) -> None:
    await _link(h, "bob", "alice")
    await h.say("bob", "/sos")


async def a_group_checkin(h: Harness) -> None:
    await runs_a_group(h)
    assert has(await h.say("alice", "/group_checkin 1 daily 09:00"), "check-in set")


Setup = Callable[[Harness], Awaitable[None]]

#: Every command that lowers protection: how to get there, the command, and a fragment
#: of what it answers once carried out.
LOWERING: dict[str, tuple[Setup, str, str]] = {
    "checkin_remove": (a_schedule, "/checkin_remove 1", "Check-in #1 removed."),
    "timer": (a_timer, "/timer cancel", "Timer cancelled."),
    "contact_remove": (a_contact, "/contact_remove 1", "The link with"),
    "group_leave": (in_a_group, "/group_leave 1", "You left"),
    "group_remove": (runs_a_group, "/group_remove 1 2", "was removed from group #1"),
    "pause": (nothing, "/pause 2h", "Check-ins paused for 2h"),
    "duress": (nothing, "/duress tangerine", "Duress word saved."),
    "pin": (nothing, "/pin 5555", "PIN changed."),
    "forgetme": (asked_to_forget, "/forgetme confirm", "Done: everything Holdfast stored"),
    "contacts": (a_contact, "/contacts", "#1 contact 1"),  # by label, never by name
    "mydata": (nothing, "/mydata", "What Holdfast stores about you"),
    "unlink": (nothing, "/unlink", "No other app is linked."),
    "resolve": (an_alert_to_resolve, "/resolve", "The alert for Bob is closed"),
    "group_checkin": (a_group_checkin, "/group_checkin 1 off", "Group #1 check-in removed"),
    "group_policy": (runs_a_group, "/group_policy 1 window 45m", "Group #1 timing set"),
}

#: Every other command, as typed bare: it never asks for the PIN.
NOT_LOWERING = frozenset(ROUTES) - LOWERS_PROTECTION


def test_every_routed_command_is_classified() -> None:
    assert set(LOWERING) == LOWERS_PROTECTION
    assert LOWERS_PROTECTION <= set(ROUTES)  # no stale name in the list


@pytest.mark.parametrize("name", sorted(LOWERING))
async def test_with_a_pin_a_lowering_command_needs_it(sqlite_url: str, name: str) -> None:
    setup, command, done = LOWERING[name]
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        for who in ("alice", "bob", "olga"):
            await h.say(who, "/start")
        await setup(h)
        await h.say("alice", f"/pin {PIN}")
        h.clear()
        assert await h.say("alice", command) == [asks_pin(name)]
        assert await h.say("alice", f"{command} 1111") == [needs_pin(name)]  # a wrong PIN
        assert not h.new_for("bob") and not h.new_for("olga")  # nothing happened to them
        reply = await h.say("alice", f"{command} {PIN}")
        assert has(reply, done), reply
        assert not has(reply, PIN)


async def test_with_a_pin_other_commands_never_ask_for_it(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", f"/pin {PIN}")
        for name in sorted(NOT_LOWERING - {"start"}):
            h.clock.advance(timedelta(seconds=10))  # the flood guard counts messages at one instant
            reply = await h.say("alice", f"/{name}")
            assert not has(reply, "needs your PIN"), (name, reply)
        # The two that lower protection only with a word: starting a timer, asking to forget.
        assert has(await h.say("alice", "/timer 30m"), "Timer set for 30m")
        assert has(await h.say("alice", "/forgetme"), "This erases everything")


async def test_with_a_pin_a_new_timer_replaces_a_running_one_only_with_it(
    sqlite_url: str,
) -> None:
    """`/timer 30d` while a timer runs would move its deadline a month away."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", f"/pin {PIN}")
        assert has(await h.say("alice", "/timer 30m"), "Timer set for 30m")  # none running
        assert await h.say("alice", "/timer 30d") == [SEND_NOW]
        assert await h.say("alice", "/timer 30d 1111") == [needs_pin("timer")]
        h.clear()
        await h.advance(minutes=31)  # the first timer still runs out as set
        assert has(h.new_for("alice"), "Your safe-arrival timer has run out")
        assert has(await h.say("alice", f"/timer 2h {PIN}"), "Your earlier timer is replaced")


def test_group_changes_lower_protection_but_showing_does_not() -> None:
    assert lowers_protection(Command("group_checkin", "1 off", True))
    assert lowers_protection(Command("group_policy", "1 window 2h", True))
    assert not lowers_protection(Command("group_checkin", "1", True))
    assert not lowers_protection(Command("group_policy", "1", True))


def test_only_cancel_and_confirm_narrow_timer_and_forgetme() -> None:
    assert lowers_protection(Command("timer", "cancel", True))
    assert not lowers_protection(Command("timer", "30m cancel", True))
    assert lowers_protection(Command("forgetme", "CONFIRM", True))
    assert not lowers_protection(Command("forgetme", "", True))
    assert not lowers_protection(Command("ok", "", False))


# -- buttons: the PIN as the next message ------------------------------------------------


async def test_a_pressed_button_that_needs_the_pin_waits_for_it(sqlite_url: str) -> None:
    """The /forgetme confirm button cannot carry the PIN: it is asked for next."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", f"/pin {PIN}")
        assert has(await h.say("alice", "/forgetme"), "1. Yes, erase everything")
        assert await h.say("alice", "1") == [SEND_NOW]  # the button
        assert has(await h.say("alice", PIN), "Done: everything Holdfast stored")
        assert has(h.new_for("bob"), "One of your trusted-contact links has ended.")


async def test_the_waiting_command_needs_the_right_pin_and_waits_one_message(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", f"/pin {PIN}")
        h.clear()
        assert await h.say("alice", "/contact_remove 1") == [SEND_NOW]
        assert await h.say("alice", "1111") == [needs_pin("contact_remove")]  # wrong: counted
        assert await h.say("alice", PIN) != []  # no longer waiting: the PIN alone is an OK
        assert await h.say("alice", "/contact_remove 1") == [SEND_NOW]
        await h.say("alice", "/status")  # another message: the command is dropped
        reply = await h.say("alice", PIN)
        assert not has(reply, "The link with") and h.new_for("bob") == []
        assert await h.say("alice", "/contact_remove 1") == [SEND_NOW]
        h.clock.advance(timedelta(minutes=6))  # too late
        assert not has(await h.say("alice", PIN), "The link with")
        assert await h.say("alice", "/contact_remove 1") == [SEND_NOW]
        assert has(await h.say("alice", PIN), "has ended.")
        assert has(h.new_for("bob"), "ended")


async def test_a_contact_with_a_pin_resolves_from_the_alert_button(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "bob", "alice")
        await h.say("alice", f"/pin {PIN}")
        await h.say("bob", "/sos")
        shown = h.new_for("alice")
        assert has(shown, "2. Resolved: they are safe"), shown
        assert await h.say("alice", "2") == [SEND_NOW]
        assert has(await h.say("alice", PIN), "The alert for Bob is closed")
