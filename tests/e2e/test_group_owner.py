"""Issue 11, acceptance 5: groups are accountable.

Olga creates group #1 and owns it. Bob and Yuri join; Mia is a plain member. Olga
promotes Bob. Bob, a promoted organiser, cannot remove the owner; when he promotes
Yuri or binds his own chat as the alert chat, every organiser (and for the chat,
every member) is told, and `/group_log` shows it to anyone in the group. When the
owner erases herself, the organiser longest in the group inherits it; when the
last organiser erases herself, the group closes, its alert chat is told and unbound,
and its members are told: no orphaned group or bound chat is left.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.store.models import Group, GroupAlertChat, GroupLogEntry
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has

T0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def code_in(messages: list[str]) -> str:
    lines = [line for m in messages for line in m.splitlines() if line.startswith("join ")]
    return lines[-1].split()[-1]


async def numbers(h: Harness, organiser: str) -> dict[str, int]:
    """Member numbers by lower-case name, from `/group_members 1`."""
    listing = "\n".join(await h.say(organiser, "/group_members 1"))
    return {m[1].lower(): int(m[0]) for m in re.findall(r"#(\d+) (\w+) - ", listing)}


async def group_of(h: Harness, owner: str, *people: str) -> None:
    code = code_in(await h.say(owner, "/group_new Field team"))
    for who in people:
        await h.say(who, f"/join {code}")
        code = code_in(await h.say(owner, "/group_invite 1"))
    h.clear()


async def test_owner_cannot_be_removed_and_every_change_is_told_and_logged(
    sqlite_url: str,
) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock) as h:
        await group_of(h, "olga", "bob", "yuri", "mia")
        n = await numbers(h, "olga")
        assert has(await h.say("olga", f"/group_promote 1 {n['bob']}"), "Bob is now an organiser")
        assert has(h.new_for("bob"), "You are now an organiser")

        refused = await h.say("bob", f"/group_remove 1 {n['olga']}")
        assert refused == [
            "The owner of group #1 cannot be removed. The owner can hand the group over "
            "with /group_owner 1 NUMBER, or leave it."
        ]
        assert has(await numbers_text(h, "olga"), "Olga")  # still in the group
        assert h.new_for("olga") == []  # a refused attempt changes nothing

        await h.say("bob", f"/group_promote 1 {n['yuri']}")
        assert h.new_for("olga") == ['Bob made Yuri an organiser of group "Field team" (#1).']
        assert has(h.new_for("yuri"), "You are now an organiser")
        assert h.new_for("mia") == []

        await h.say_in_group("bob", "bobs-chat", "/group_alerts 1")
        for person in ("olga", "yuri", "mia"):
            assert has(h.new_for(person), "Bob chose a new alert chat"), person
        assert h.new_for("bob") == []

        await h.say("olga", f"/group_remove 1 {n['mia']}")
        assert has(h.new_for("mia"), "You were removed")
        for organiser in ("bob", "yuri"):
            assert h.new_for(organiser) == ['Olga removed Mia from group "Field team" (#1).'], (
                organiser
            )

        log = "\n".join(await h.say("yuri", "/group_log 1"))
        for line in ("Olga created the group.", "Olga made Bob an organiser.",
                     "Bob made Yuri an organiser.", "Bob chose a new alert chat.",
                     "Olga removed Mia."):  # fmt: skip
            assert line in log, (line, log)
        assert "ok" not in log.casefold().split()  # no check-ins, notes or scores

        assert await h.say("bob", f"/group_owner 1 {n['yuri']}") == [
            "Only the owner of group #1 can hand it over."
        ]
        assert has(await h.say("olga", f"/group_owner 1 {n['yuri']}"), "Yuri now owns group #1")
        assert has(h.new_for("yuri"), "You now own group")
        assert has(h.new_for("bob"), "Yuri now owns group")
        refused = await h.say("bob", f"/group_remove 1 {n['yuri']}")
        assert has(refused, "cannot be removed")


async def numbers_text(h: Harness, organiser: str) -> list[str]:
    return await h.say(organiser, "/group_members 1")


async def test_the_owners_forgetme_hands_over_and_the_last_organisers_closes(
    sqlite_url: str,
) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock) as h:
        await group_of(h, "olga", "bob", "yuri", "mia")
        n = await numbers(h, "olga")
        await h.say("olga", f"/group_promote 1 {n['yuri']}")
        clock.advance(timedelta(minutes=1))
        await h.say("olga", f"/group_promote 1 {n['bob']}")
        await h.say_in_group("olga", "team-chat", "/group_alerts 1")
        h.clear()

        await h.say("olga", "/forgetme")
        await h.say("olga", "/forgetme confirm")
        # Bob and Yuri are both organisers; Bob has been in the group longer: he inherits.
        assert has(h.new_for("bob"), 'You now own group "Field team" (#1): its owner left')
        assert has(h.new_for("yuri"), 'Bob now owns group "Field team" (#1).')
        assert has(await h.say("yuri", "/group_log 1"), "Bob became the owner")

        await h.say("bob", "/group_leave 1")  # the owner leaves: Yuri, the other organiser
        assert has(h.new_for("yuri"), "You now own group")
        h.clear()
        await h.say("yuri", "/forgetme")
        await h.say("yuri", "/forgetme confirm")  # the last organiser: the group closes
        assert has(h.new_for("mia"), 'Group "Field team" has closed')
        assert h.inbox("#team-chat")[-1] == (
            "This chat no longer receives the alerts of group #1: the group has closed."
        )
        async with h.app.rt.sessions() as session:
            for model in (Group, GroupAlertChat, GroupLogEntry):
                assert await session.scalar(select(func.count()).select_from(model)) == 0
