"""Groups and organisers (issue 5), told as stories over the console harness.

Olga organises; Bob (Bangkok) and Maria (Bogotá) are members with their own trusted
contacts (Carl for Bob, Dora for Maria); "#team" is a group chat bound for alerts.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bot.i18n import language_hint
from bot.store.db import transaction
from bot.store.models import Checkin, GroupMember, User
from bot.store.users import find_user
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, has

FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def code_in(messages: list[str]) -> str:
    """The code of the last group invite shown (console invites are `join CODE` lines)."""
    lines = [line for m in messages for line in m.splitlines() if line.startswith("join ")]
    return lines[-1].split()[-1]


async def new_group(h: Harness, organiser: str, name: str = "Field team") -> tuple[int, str]:
    reply = await h.say(organiser, f"/group_new {name}")
    created = next(m for m in reply if "created" in m)
    match = re.search(r"\(#(\d+)\)", created)
    assert match, created
    return int(match.group(1)), code_in(reply)


async def invite(h: Harness, organiser: str, group: int) -> str:
    return code_in(await h.say(organiser, f"/group_invite {group}"))


async def join(h: Harness, who: str, code: str) -> list[str]:
    """Open the invite with /start CODE, read the consent, press Join (choice 1)."""
    shown = await h.say(who, f"/start {code}")
    assert has(shown, "never see your notes, your well-being scores or your trusted contacts")
    assert has(shown, "1. Join") and has(shown, "2. Cancel")
    return await h.say(who, "1")


async def team(h: Harness, *, policy: str = "window 10m grace 5m level2 20m") -> int:
    """Olga's group with Bob (Bangkok, contact Carl) and Maria (Bogotá, contact Dora)."""
    group, code = await new_group(h, "olga")
    await h.say("bob", "/tz Asia/Bangkok")
    await h.say("maria", "/tz America/Bogota")
    assert has(await join(h, "bob", code), 'You joined group "Field team"')
    assert has(await join(h, "maria", await invite(h, "olga", group)), "You joined")
    await contact_link(h, "bob", "carl")
    await contact_link(h, "maria", "dora")
    if policy:
        assert has(await h.say("olga", f"/group_policy {group} {policy}"), "timing set")
    await h.say_in_group("olga", "team", f"/group_alerts {group}")
    assert has(h.new_for("#team"), f"now receives the alerts of group #{group}")
    return group


async def pause(h: Harness, who: str, length: timedelta) -> None:
    """Pause someone directly in the store (/pause is another module's command)."""
    async with transaction(h.app.rt.sessions) as session:
        user = await find_user(session, "console", who)
        assert user is not None
        user.paused_until = h.clock.now() + length


def start() -> FakeClock:
    return FakeClock(datetime(2026, 6, 1, 0, 0, tzinfo=UTC))


# -- acceptance 1: the scenario ------------------------------------------------------------


async def test_group_schedule_fires_per_zone_then_level1_then_level2_then_all_clear(
    sqlite_url: str,
) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        reply = await h.say("olga", f"/group_checkin {group} daily 09:00")
        assert has(reply, "Members who get it: 2")
        assert has(h.new_for("bob"), "Next: Mon 01 Jun 09:00 (Asia/Bangkok)")
        assert has(h.new_for("maria"), "Next: Mon 01 Jun 09:00 (America/Bogota)")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 1, 55, tzinfo=UTC), HOUR)
        assert not h.new_for("bob")
        await h.run_until(datetime(2026, 6, 1, 2, 0, tzinfo=UTC), FIVE)  # 09:00 in Bangkok
        assert has(h.new_for("bob"), "are you safe") and not h.new_for("maria")
        await h.say("bob", "ok")
        await h.run_until(datetime(2026, 6, 1, 13, 55, tzinfo=UTC), HOUR)
        assert not h.new_for("maria")
        await h.run_until(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), FIVE)  # 09:00 in Bogotá
        assert has(h.new_for("maria"), "are you safe") and not h.new_for("bob")
        await h.run_until(datetime(2026, 6, 1, 14, 10, tzinfo=UTC), FIVE)  # group window 10m
        assert has(h.new_for("maria"), "Reminder")
        await h.run_until(datetime(2026, 6, 1, 14, 15, tzinfo=UTC), FIVE)  # group grace 5m
        level1 = h.new_for("dora")
        assert len(level1) == 1 and "SAFETY ALERT: Maria has not checked in" in level1[0]
        assert not (h.new_for("olga") or h.new_for("#team") or h.new_for("carl"))
        await h.run_until(datetime(2026, 6, 1, 14, 30, tzinfo=UTC), FIVE)
        assert not (h.new_for("olga") or h.new_for("#team"))
        await h.run_until(datetime(2026, 6, 1, 14, 35, tzinfo=UTC), FIVE)  # level2 after 20m
        for recipient in ("olga", "#team"):
            got = h.new_for(recipient)
            assert len(got) == 1 and "SAFETY ALERT (group): Maria" in got[0], got
        # Dora (level 1) heard the alert repeated at 14:30: nobody had taken it on
        assert [m.split(":")[0] for m in h.new_for("dora")] == ["REPEAT (1 of 3)"]
        assert not (h.new_for("carl") or h.new_for("bob"))
        await h.say("maria", "ok")
        for recipient in ("dora", "olga", "#team"):
            assert h.new_for(recipient) == ["ALL CLEAR: Maria has checked in and is safe."]
        assert not (h.new_for("carl") or h.new_for("bob"))


async def test_contact_ack_before_level2_stops_it(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), HOUR)
        await h.run_until(datetime(2026, 6, 1, 14, 15, tzinfo=UTC), FIVE)
        assert has(h.new_for("dora"), "SAFETY ALERT: Maria")
        await h.say("bob", "ok")  # Bob answered long ago; make sure he is quiet anyway
        assert has(await h.say("dora", "/ack"), "Nobody else was alerted")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), FIVE)
        assert not (h.new_for("olga") or h.new_for("#team"))
        await h.say("maria", "ok")
        assert h.new_for("dora") == ["ALL CLEAR: Maria has checked in and is safe."]
        assert not (h.new_for("olga") or h.new_for("#team"))  # never alerted, never cleared


async def test_organiser_and_alert_chat_can_take_on_a_level2_alert(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), HOUR)
        await h.run_until(datetime(2026, 6, 1, 14, 35, tzinfo=UTC), FIVE)
        alert = h.new_for("#team")[-1]
        checkin = re.search(r"/ack (\d+)", alert)
        assert checkin and "1. I'm on it" in alert
        h.clear()
        await h.say_in_group("zed", "team", "1")  # someone in the alert chat presses the button
        chat = h.new_for("#team")
        assert has(chat, "The others alerted know you are on it")
        assert h.new_for("olga") == ["Zed is handling the alert for Maria."]
        assert h.new_for("dora") == ["Someone alerted is handling the alert for Maria."]
        assert has(await h.say("olga", f"/ack {checkin.group(1)}"), "Zed is already handling")


async def test_organiser_ack_on_level2_tells_the_others(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), HOUR)
        await h.run_until(datetime(2026, 6, 1, 14, 35, tzinfo=UTC), FIVE)
        assert has(h.new_for("olga"), "SAFETY ALERT (group)")
        h.clear()
        assert has(await h.say("olga", "1"), "The others alerted know you are on it")
        assert h.new_for("#team") == ["Olga is handling the alert for Maria."]
        assert h.new_for("dora") == ["Someone alerted is handling the alert for Maria."]


async def test_member_without_contacts_goes_straight_to_level2(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group, code = await new_group(h, "olga")
        await join(h, "erin", code)
        await h.say_in_group("olga", "team", f"/group_alerts {group}")
        assert not has(await h.say("erin", "/status"), "nobody would be alerted")
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 9, 45, tzinfo=UTC), FIVE)  # default clock
        for recipient in ("olga", "#team"):
            assert has(h.new_for(recipient), "SAFETY ALERT (group): Erin")


async def test_sos_reaches_both_levels_at_once_and_level2_never_carries_notes(
    sqlite_url: str,
) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        await team(h, policy="")
        h.clear()
        assert has(await h.say("bob", "/sos"), "is being sent to 3 people")
        for recipient in ("carl", "olga", "#team"):
            assert has(h.new_for(recipient), "SOS: Bob asked for help")
        await h.say("bob", "ok")
        h.clear()
        await h.say("bob", "/timer 5m meeting at the ministry, room 4")
        await h.run_until(clock.now() + timedelta(minutes=70), FIVE)
        assert has(h.new_for("carl"), "meeting at the ministry")  # level 1: his own contact
        for recipient in ("olga", "#team"):
            got = h.new_for(recipient)
            assert has(got, "SAFETY ALERT (group): Bob's safe-arrival timer")
            assert not has(got, "ministry")


async def test_member_of_two_groups_alerts_both_and_own_checkins_use_defaults(
    sqlite_url: str,
) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        first, code = await new_group(h, "olga", "North")
        second, code2 = await new_group(h, "pia", "South")
        await join(h, "bob", code)
        await join(h, "bob", code2)
        await h.say("olga", f"/group_policy {first} window 5m grace 5m level2 5m")
        await h.say("bob", "/checkin daily 09:00")  # his own: the configured 30m/15m clock
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 9, 40, tzinfo=UTC), FIVE)
        assert not h.new_for("olga")
        await h.run_until(datetime(2026, 6, 1, 9, 45, tzinfo=UTC), FIVE)
        assert has(h.new_for("olga"), "SAFETY ALERT (group): Bob")
        assert has(h.new_for("pia"), "SAFETY ALERT (group): Bob")


# -- invites and consent -------------------------------------------------------------------


async def test_invite_is_single_use_expires_and_can_be_revoked(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock, invite_ttl=timedelta(hours=24)) as h:
        group, code = await new_group(h, "olga")
        assert has(await h.say("bob", f"/join {code}"), "You joined")
        assert has(h.new_for("olga"), "Bob joined group")
        bad = "That code does not work. It may be mistyped, used or expired; ask for a new one."
        assert await h.say("bob", f"/join {code}") == [bad]  # used: like any other bad code
        assert await h.say("maria", f"/join {code}") == [*_welcome(), bad]
        assert has(await h.say("bob", f"/start {await invite(h, 'olga', group)}"), "already in")
        late = await invite(h, "olga", group)
        clock.advance(timedelta(hours=24, minutes=1))
        assert await h.say("maria", f"/join {late}") == [bad]
        revoked = await invite(h, "olga", group)
        reply = await h.say("olga", f"/group_revoke {group}")
        assert has(reply, "cancelled: 1")
        assert await h.say("maria", f"/start {revoked}") == [bad]
        declined = await invite(h, "olga", group)
        await h.say("erin", f"/start {declined}")
        assert await h.say("erin", "2") == ["You did not join. Nothing was shared."]
        assert has(h.new_for("olga"), "turned down")
        assert await h.say("erin", f"/join {declined}") == [bad]
        assert has(await h.say("olga", f"/group_members {group}"), "People: 2.")


def _welcome() -> list[str]:
    return [
        "Welcome to Holdfast. I send you safety check-ins, and if you do not answer, "
        "I alert the people you trust.\n\n" + language_hint(),
        "Before you start: whoever runs this bot can read what you send it. "
        "Only share what your contacts need.",
    ]


async def test_guessing_codes_is_throttled_without_revealing_which_exist(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        _, code = await new_group(h, "olga")
        contact_code = (await h.say("bob", "/invite"))[-1].split()[-1]
        await h.say("sam", "/help")
        bad = ["That code does not work. It may be mistyped, used or expired; ask for a new one."]
        assert await h.say("sam", f"/join {contact_code}") == bad  # a contact code is no group code
        for guess in ("AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "CCCC", "DDDD"):
            assert await h.say("sam", f"/join {guess}") == bad
        throttled = ["Too many wrong codes. Please wait a few minutes and try again."]
        assert await h.say("sam", f"/join {code}") == throttled  # a real code, refused alike
        assert await h.say("sam", "/join EEEEEEEEEEEEEEEE") == throttled
        assert await h.say("sam", f"/start {code}") == throttled
        clock.advance(timedelta(minutes=11))
        assert has(await h.say("sam", f"/join {code}"), "You joined")


# -- the organiser's view -----------------------------------------------------------------


async def test_members_shows_status_only(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await join(h, "paul", await invite(h, "olga", group))
        await pause(h, "paul", timedelta(days=2))
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 2, 0, tzinfo=UTC), HOUR)
        await h.say("bob", "ok 5 slept at the safe house near the river")

        async def statuses() -> dict[str, str]:
            listing = "\n".join(await h.say("olga", f"/group_members {group}"))
            assert "safe house" not in listing and "very good" not in listing
            return dict(re.findall(r"^#\d+ (\w+) - \w+, (.+)$", listing, re.M))

        assert await statuses() == {
            "Olga": "no check-in yet", "Bob": "ok", "Maria": "no check-in yet", "Paul": "paused"
        }  # fmt: skip
        await h.run_until(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), HOUR)
        assert (await statuses())["Maria"] == "due"
        await h.run_until(datetime(2026, 6, 1, 14, 10, tzinfo=UTC), FIVE)
        assert (await statuses())["Maria"] == "late"
        await h.run_until(datetime(2026, 6, 1, 14, 15, tzinfo=UTC), FIVE)
        assert (await statuses())["Maria"] == "missed"


async def test_members_only_in_private_or_the_bound_alert_chat(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await h.say_in_group("olga", "coffee", f"/group_members {group}")
        assert h.new_for("#coffee") == [
            f"Send /group_members {group} to me in a private chat, or in this group's alert chat."
        ]
        await h.say_in_group("olga", "team", f"/group_members {group}")
        assert has(h.new_for("#team"), "#2 Bob - member")
        assert has(await h.say("olga", f"/group_alerts {group}"), "inside the group chat")
        await h.say_in_group("olga", "team", f"/group_alerts {group} off")
        assert h.new_for("#team") == [f"This chat no longer receives the alerts of group #{group}."]


# -- membership and roles ------------------------------------------------------------------


async def test_leave_remove_promote(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group = await team(h)
        await h.say("olga", f"/group_checkin {group} daily 09:00")
        assert has(await h.say("bob", "/checkins"), "(group)")
        assert has(await h.say("olga", f"/group_leave {group}"), "only organiser")
        assert has(await h.say("olga", f"/group_remove {group} 1"), "/group_leave")
        assert has(await h.say("olga", f"/group_remove {group} 77"), "has no member #77")
        h.clear()
        assert await h.say("olga", f"/group_promote {group} #2") == [
            f"Bob is now an organiser of group #{group}."
        ]
        assert has(h.new_for("bob"), "You are now an organiser")
        assert has(await h.say("bob", f"/group_members {group}"), "#3 Maria - member")
        assert has(await h.say("bob", "/checkins"), "(group)")  # promotion keeps his check-ins
        assert has(await h.say("bob", f"/group_remove {group} 3"), "Maria was removed")
        assert has(h.new_for("maria"), 'You were removed from group "Field team"')
        assert await h.say("maria", "/checkins") == [
            "You have no check-ins. Add one with /checkin daily 09:00."
        ]
        assert has(await h.say("maria", f"/group_members {group}"), "cannot do that")
        assert has(await h.say("olga", f"/group_leave {group}"), "You left group")
        assert has(h.new_for("bob"), "Olga left group")
        assert has(await h.say("olga", f"/group_members {group}"), "cannot do that")
        assert has(await h.say("bob", f"/group_leave {group}"), "the group is closed")


async def test_group_checkin_change_off_and_late_joiners(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group, code = await new_group(h, "olga")
        await join(h, "bob", code)
        await h.say("olga", f"/group_checkin {group} weekdays 08:30")
        assert await h.say("olga", "/checkins") == [
            "You have no check-ins. Add one with /checkin daily 09:00."
        ]  # the creator runs the group; its check-ins are for members
        joined = await join(h, "maria", await invite(h, "olga", group))
        assert has(joined, "asks you to check in: weekdays 08:30")
        reply = await h.say("olga", f"/group_checkin {group} daily 10:00 18:00")
        assert has(reply, "Members who get it: 2")
        h.clear()
        for member in ("bob", "maria"):
            listed = await h.say(member, "/checkins")
            assert len(listed) == 1 and listed[0].count("(group)") == 1
            assert "daily 10:00 18:00" in listed[0]
        assert has(await h.say("olga", f"/group_checkin {group} off"), "removed")
        assert has(h.new_for("maria"), "no longer sends you check-ins")
        assert has(await h.say("bob", "/checkins"), "You have no check-ins")
        reply = await h.say("olga", f"/group_checkin {group} daily 25:00")
        assert reply == ['"25:00" is not a time. Write it as HH:MM, for example 09:00 or 21:30.']


async def test_policy_show_and_bounds(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        group, _ = await new_group(h, "olga")
        assert has(await h.say("olga", f"/group_policy {group}"), "answer within 30m")
        assert await h.say("olga", f"/group_policy {group} window 10s") == [
            "That is too short; the minimum is 1m."
        ]
        assert has(await h.say("olga", f"/group_policy {group} windows 10m"), "Write it like")
        await h.say("olga", f"/group_policy {group} grace 1h")
        reply = await h.say("olga", f"/group_policy {group} grace default level2 2h")
        assert has(reply, "and 15m later") and has(reply, "2h after that")


# -- acceptance 3: a 500-member group in one answer, at a constant query count -------------


async def seed_members(h: Harness, group: int, count: int) -> None:
    """Add `count` members straight through the store, each with a noted, scored check-in."""
    now = h.clock.now()
    states = ("ok", "pending", "late", "missed", "resolved", "cancelled")
    async with transaction(h.app.rt.sessions) as session:
        users = [User(display_name=f"Member {i:03d}", created_at=now) for i in range(count)]
        session.add_all(users)
        await session.flush()
        session.add_all(
            GroupMember(group_id=group, user_id=u.id, role="member", joined_at=now) for u in users
        )
        session.add_all(
            Checkin(
                user_id=u.id, group_id=group, kind="scheduled", due_at=now, deadline_at=now,
                state=states[i % len(states)], level=0, grace_s=0, level2_after_s=0,
                created_at=now, answered_at=now, score=5, note=f"SECRET-NOTE-{i}",
            )
            for i, u in enumerate(users)
        )  # fmt: skip


async def statements_for(h: Harness, who: str, text: str) -> list[str]:
    """Every SQL statement one incoming message causes (delivery excluded)."""
    seen: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = h.app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        h.console.user, h.console.group = who, None
        await h.console.feed(text)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    await h.deliver()
    return seen


async def test_members_of_500_in_clean_parts_at_constant_query_count(sqlite_url: str) -> None:
    clock = start()
    async with Harness(sqlite_url, clock) as h:
        small, _ = await new_group(h, "olga", "Small")
        large, _ = await new_group(h, "olga", "Large")
        await seed_members(h, small, 4)
        await seed_members(h, large, 499)
        h.clear()
        few = await statements_for(h, "olga", f"/group_members {small}")
        few_parts = h.new_for("olga")
        many = await statements_for(h, "olga", f"/group_members {large}")
        parts = h.new_for("olga")

        assert len(few_parts) == 1 and len(parts) > 1
        reads = [s for s in many if s.lstrip().upper().startswith("SELECT")]
        assert len(reads) == 5  # router: identity, user; handler: role, overview, alert chats
        assert not Counter(few) - Counter(many)
        extra = Counter(many) - Counter(few)  # one outbox row per extra message part, no more
        assert all(s.startswith("INSERT INTO outbox") for s in extra)
        assert extra.total() == len(parts) - 1

        lines = [line for part in parts for line in part.splitlines()]
        members = [int(n) for n in re.findall(r"^#(\d+) ", "\n".join(lines), re.M)]
        assert len(members) == 500 and members == sorted(members)
        for number, part in enumerate(parts, start=1):
            assert part.startswith(f"({number}/{len(parts)})\n")
            assert len(part.encode("utf-16-le")) // 2 <= 4096
            assert all(re.fullmatch(r"#\d+ .+ - (organiser|member), .+", line)
                       for line in part.splitlines()[1:] if line.startswith("#"))  # fmt: skip
        listing = "\n".join(parts)
        assert "SECRET-NOTE" not in listing and "very good" not in listing
        for status in ("ok", "due", "late", "missed", "no check-in yet"):
            assert f"member, {status}\n" in listing + "\n"


# -- groups by name (issue 16) ----------------------------------------------------------


async def test_every_group_command_takes_the_name_or_the_number(sqlite_url: str) -> None:
    async with Harness(sqlite_url, start()) as h:
        group = await team(h, policy="")
        assert has(await h.say("olga", "/group_policy field TEAM window 10m"), f"#{group}")
        await h.say_in_group("olga", "ops", "/group_alerts Field team")
        assert has(h.new_for("#ops"), f"now receives the alerts of group #{group}")
        by_name = await h.say("olga", "/group_members field team")
        assert by_name == await h.say("olga", f"/group_members {group}")
        assert has(await h.say("olga", "/group_checkin Field team daily 09:00"), "Members who")
        assert has(await h.say("olga", "/group_invite Field Team"), "join ")
        assert has(await h.say("olga", "/group_revoke field team"), "cancelled: 1")
        assert has(await h.say("olga", "/group_promote Field team 2"), "Bob is now an organiser")
        assert has(await h.say("olga", "/group_remove Field team 3"), "Maria was removed")
        assert has(await h.say("bob", "/group_leave field team"), 'You left group "Field team"')


async def test_a_name_is_looked_up_only_among_the_senders_groups(sqlite_url: str) -> None:
    async with Harness(sqlite_url, start()) as h:
        await new_group(h, "olga", "Field team")
        await new_group(h, "olga", "Field")
        assert has(await h.say("olga", "/group_members Field"), 'Group "Field" (#2)')
        refused = "You are in no group with that name."
        assert (await h.say("eve", "/group_members Field team"))[-1] == (
            f"{refused} Write the group's name or number, for example: /group_members 3"
        )
        assert has(await h.say("olga", "/group_members Team"), refused)


async def test_an_ambiguous_name_is_answered_with_the_choices(sqlite_url: str) -> None:
    async with Harness(sqlite_url, start()) as h:
        await new_group(h, "olga", "Team")
        await new_group(h, "olga", "team")
        assert await h.say("olga", "/group_checkin TEAM daily 09:00") == [
            'You are in more than one group called "TEAM": #1, #2. Use the number instead, '
            "for example: /group_checkin 1 daily 09:00\n\n1. #1\n2. #2"
        ]
        assert has(await h.say("olga", "2"), "Group #2 check-in set: daily 09:00")
