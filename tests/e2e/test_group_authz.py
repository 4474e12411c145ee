"""Issue 5, acceptance 2: every group command by every role, for a real and a missing group.

Roles: Olga organises group #1; Bob is a member; Tina is Bob's trusted contact (and
nothing in the group); Sam is a stranger. Group #99 does not exist. Whoever lacks the
role gets exactly the refusal a missing group gets, and nothing anyone receives
carries another member's note or well-being score.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.transports.base import render_numbered
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link

DENIED = ["You cannot do that, or there is no such group. /help lists the commands."]
MISSING = 99
ROLES = ("olga", "bob", "tina", "sam")
#: Every command that names a group, with the rest of its arguments ({x}, {y}: members).
COMMANDS = (
    "group_invite {g}",
    "group_revoke {g}",
    "group_checkin {g} daily 10:00",
    "group_policy {g}",
    "group_policy {g} window 20m",
    "group_members {g}",
    "group_alerts {g}",
    "group_remove {g} {x}",
    "group_promote {g} {y}",
)
NOTES = {"bob": "NOTE-BOB-7f3a", "maria": "NOTE-MARIA-91c2"}


def code_in(messages: list[str]) -> str:
    lines = [line for m in messages for line in m.splitlines() if line.startswith("join ")]
    return lines[-1].split()[-1]


async def setup(h: Harness) -> dict[str, int]:
    """The group, its members' numbers, and notes and scores on group and own check-ins."""
    created = await h.say("olga", "/group_new Field team")
    assert any("(#1)" in m for m in created)
    code = code_in(created)
    members: dict[str, int] = {}
    for number, who in enumerate(("bob", "maria", "xena", "yuri"), start=2):
        await h.say(who, f"/join {code}")
        members[who] = number
        code = code_in(await h.say("olga", "/group_invite 1"))
    await contact_link(h, "bob", "tina")
    await h.say("sam", "/help")
    await h.say("olga", "/group_checkin 1 daily 09:00")
    await h.run_until(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), timedelta(hours=1))
    for who, note in NOTES.items():
        await h.say(who, f"ok 5 {note} group")
        await h.say(who, f"/ok 4 {note} own")
    h.clear()
    return members


async def test_every_group_command_by_every_role(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        members = await setup(h)
        for template in COMMANDS:
            for group in (1, MISSING):
                for who in ROLES:
                    text = "/" + template.format(g=group, x=members["xena"], y=members["yuri"])
                    h.clear()  # notices of earlier commands (a new schedule) are not replies
                    clock.advance(timedelta(seconds=2))  # as fast as a person types, no faster
                    reply = await h.say(who, text)
                    if who == "olga" and group == 1:
                        assert reply and reply != DENIED, (text, reply)
                    else:  # the same words for "no such group" and "not allowed"
                        assert reply == DENIED, (who, text, reply)
                    await _in_a_group_chat(h, who, group, text)
        await _leave(h)
        await _new_and_join(h)
        _nothing_leaked(h)


async def _in_a_group_chat(h: Harness, who: str, group: int, text: str) -> None:
    """The same command typed in a group chat: refused alike, or done by the organiser."""
    if not text.startswith("/group_alerts"):
        return
    chat = f"chat-{who}-{group}"
    await h.say_in_group(who, chat, text)
    got = h.new_for(f"#{chat}")
    if who == "olga" and group == 1:
        assert len(got) == 1 and got[0].startswith("This chat now receives the alerts of group #1")
    else:
        assert got == DENIED, (who, text, got)


async def _leave(h: Harness) -> None:
    """/group_leave: members and organisers may, but the last organiser must hand over first."""
    for group in (1, MISSING):
        for who in ("tina", "sam"):
            assert await h.say(who, f"/group_leave {group}") == DENIED, (who, group)
    for who in ("olga", "bob"):  # Yuri was promoted above, so Olga is not the last organiser
        assert await h.say(who, f"/group_leave {MISSING}") == DENIED
        assert await h.say(who, "/group_leave 1") == [
            'You left group "Field team". Its check-ins stop, and its organisers are no longer '
            "alerted about you."
        ]
        assert await h.say(who, "/group_members 1") == DENIED
    h.clear()
    reply = await h.say("yuri", "/group_leave 1")
    assert len(reply) == 1 and "only organiser" in reply[0]


async def _new_and_join(h: Harness) -> None:
    """Anyone may create a group; a code works for anyone once, a bad one fails alike."""
    for who in ROLES:
        reply = "\n".join(await h.say(who, "/group_new Mine"))
        assert re.search(r'Group "Mine" created \(#\d+\)', reply), reply
    bad = ["That code does not work. It may be mistyped, used or expired; ask for a new one."]
    for who in ROLES:
        assert await h.say(who, "/join NoSuchCode0000") == bad
    code = code_in(await h.say("yuri", "/group_invite 1"))
    assert any("You joined" in m for m in await h.say("sam", f"/join {code}"))
    assert await h.say("tina", f"/join {code}") == bad
    assert await h.say("sam", "/group_members 1") == DENIED  # a member, not an organiser


def _nothing_leaked(h: Harness) -> None:
    """No one but the author ever received a note or a well-being score."""
    for out in h.console.sent:
        text = render_numbered(out)
        for author, note in NOTES.items():
            if out.to.chat_id != author:
                assert note not in text, (out.to.chat_id, text)
        if out.to.chat_id not in NOTES:
            assert not re.search(r"very good|\b[45] good|score", text), (out.to.chat_id, text)
        if out.to.chat_id == "olga" or out.to.chat_id.startswith("#"):
            assert "Tina" not in text  # a member's personal contacts stay theirs
