"""Issue 14, told as stories on the console (numbered choices, as on Signal).

Alice is the defender, Bob her trusted contact (and, when she asks, her buddy),
Olga organises a group. Every reply each person receives is checked: nothing
extra, nothing missing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.core.wellbeing import Entry
from bot.store import wellbeing as wellbeing_store
from bot.store.db import transaction
from bot.store.models import Contact, Group, GroupMember, Outbox, WellbeingEntry
from bot.store.users import find_user
from tests.support.clock import FakeClock
from tests.support.harness import Harness, has

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # a Monday

SCORES = "\n\n1. 1 very bad\n2. 2 bad\n3. 3 okay\n4. 4 good\n5. 5 very good"
FEELINGS = "\n\n1. Safe\n2. Unsure\n3. Scared\n4. Harassed online\n5. Exhausted\n6. Need to talk"
THANKS = "Thank you, you are checked in. How are you feeling? (optional)" + SCORES
ASK_FEELING = "Noted, thank you. How are things? (optional)" + FEELINGS
THANKS_SCORED = "Thank you, you are checked in. How are things? (optional)" + FEELINGS
NOT_NOW = "Check in first with OK. Then you can say how you are."


async def user_id(h: Harness, name: str) -> int:
    async with transaction(h.app.rt.sessions) as session:
        user = await find_user(session, "console", name)
        assert user is not None, name
        return user.id


async def link(h: Harness, defender: str, contact: str) -> int:
    """A trusted-contact link made directly; returns its id (the number /contacts shows)."""
    for name in (defender, contact):
        await h.say(name, "/start")
    ids = [await user_id(h, defender), await user_id(h, contact)]
    async with transaction(h.app.rt.sessions) as session:
        row = Contact(defender_id=ids[0], contact_id=ids[1], created_at=h.clock.now())
        session.add(row)
        await session.flush()
        link_id = row.id
    h.clear()
    return link_id


async def entries(h: Harness, name: str) -> list[Entry]:
    uid = await user_id(h, name)
    async with transaction(h.app.rt.sessions) as session:
        return await wellbeing_store.history(session, uid, wellbeing_store.EPOCH)


async def count(h: Harness, model: type, *where: object) -> int:
    async with transaction(h.app.rt.sessions) as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def pictures(h: Harness) -> int:
    """Picture messages still in the outbox (dedupe keys are sealed: opened here)."""
    async with transaction(h.app.rt.sessions) as session:
        keys = (await session.execute(select(Outbox.dedupe_key))).scalars()
        return sum(1 for k in keys if (k or "").startswith("chart:"))


# -- how are you, in one tap ----------------------------------------------------------------


async def test_score_then_feeling_after_an_ok_each_asked_once(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        assert await h.say("alice", "ok") == [THANKS]
        assert await h.say("alice", "4") == [ASK_FEELING]
        assert await h.say("alice", "2") == ["Noted, thank you."]
        assert await h.say("alice", "feel scared") == [NOT_NOW]  # never asked twice
        got = await entries(h, "alice")
        assert [(e.score, e.feeling) for e in got] == [(4, "unsure")]
        assert h.new_for("bob") == []

        # `ok 3` with the answer: only "how are things" is asked, for the new check-in
        h.clock.advance(timedelta(hours=2))
        assert await h.say("alice", "ok 3") == [THANKS_SCORED]
        assert await h.say("alice", "5") == ["Noted, thank you."]
        # a feeling first, then no score question: the check-in's answer is complete
        h.clock.advance(timedelta(hours=2))
        await h.say("alice", "ok")
        assert await h.say("alice", "feel safe") == ["Noted, thank you."]
        got = await entries(h, "alice")
        assert [(e.score, e.feeling) for e in got] == [
            (4, "unsure"), (3, "exhausted"), (None, "safe"),
        ]  # fmt: skip


async def test_never_asked_after_an_sos(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/sos")
        h.clear()
        assert await h.say("alice", "ok") == ["Thank you, you are checked in."]
        assert await h.say("alice", "feel scared") == [NOT_NOW]
        assert await entries(h, "alice") == []


async def test_scared_offers_to_tell_the_contacts_and_tells_them_when_chosen(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "ok")
        await h.say("alice", "3")
        offer = await h.say("alice", "3")  # Scared
        assert offer == [
            "Noted. I can tell your trusted contacts that you feel this way. Only if you want."
            "\n\n1. Tell my contacts"
        ]
        assert h.new_for("bob") == []  # offered, never forced
        assert await h.say("alice", "1") == ["Done. I told 1 trusted contact."]
        assert h.new_for("bob") == [
            "Alice checked in as safe, and says they feel scared. They wanted you to know. "
            "Maybe get in touch."
        ]
        await h.say("alice", "feel tell")  # a second tap tells nobody twice
        assert h.new_for("bob") == []


async def test_a_coerced_answer_looks_the_same_but_reaches_nobody(sqlite_url: str) -> None:
    """After the duress word: the same questions, but no contact is told, no buddy asked."""
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        link_id = await link(h, "alice", "bob")
        await h.say("alice", "/duress tangerine")
        await h.say("alice", f"/buddy {link_id}")
        await h.say("bob", "1")  # accepts
        h.clear()
        assert await h.say("alice", "ok tangerine") == [THANKS]
        bob_alerted = h.new_for("bob")
        assert len(bob_alerted) == 1 and bob_alerted[0].startswith("SOS (silent)")
        assert await h.say("alice", "2") == [ASK_FEELING]
        assert await h.say("alice", "3")  # Scared: offered as always
        assert await h.say("alice", "1") == ["Done. I told 1 trusted contact."]
        assert h.new_for("bob") == []  # ... but nothing was sent
        assert await h.say("alice", "/buddy ask") == ["I asked Bob to check in with you."]
        assert h.new_for("bob") == []
        async with transaction(h.app.rt.sessions) as session:  # nothing tapped is kept
            rows = (await session.execute(select(WellbeingEntry))).scalars().all()
            assert [(r.score, r.feeling) for r in rows] == [("0", "~~~~~~")]  # given, no value
            assert await wellbeing_store.history(session, 1, T0 - timedelta(days=1)) == []


# -- the gentle word ------------------------------------------------------------------------


async def test_three_low_scores_get_one_gentle_word_a_week_never_an_alert(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        for day in range(2):
            assert await h.say("alice", "ok 2") == [THANKS_SCORED], day
            h.clock.advance(timedelta(days=1))
        third = await h.say("alice", "ok 1")
        assert third[0] == THANKS_SCORED
        assert len(third) == 2 and third[1].startswith("Your last few answers were low.")
        assert "Talk to someone you trust" in third[1]
        h.clock.advance(timedelta(days=1))
        assert await h.say("alice", "ok 1") == [THANKS_SCORED]  # once a week at most
        h.clock.advance(timedelta(days=6))
        again = await h.say("alice", "ok 2")
        assert len(again) == 2 and again[1].startswith("Your last few answers were low.")
        assert h.new_for("bob") == []  # never an alert


async def test_exhausted_twice_in_a_week_gets_a_gentle_word(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        h.clear()
        await h.say("alice", "ok 4")
        assert await h.say("alice", "5") == ["Noted, thank you."]
        h.clock.advance(timedelta(days=3))
        await h.say("alice", "ok 4")
        got = await h.say("alice", "feel exhausted")
        assert got[0] == "Noted, thank you."
        assert got[1].startswith("You said you are exhausted twice this week.")
        assert len(got) == 2


# -- the buddy -----------------------------------------------------------------------------------


async def test_buddy_invite_accept_ask_and_end(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        link_id = await link(h, "alice", "bob")
        assert await h.say("alice", f"/buddy {link_id}") == [
            "I asked Bob to be your buddy. I will tell you when they answer."
        ]
        assert h.new_for("bob") == [
            "Alice asks you to be their buddy: someone they may ask to check on them. You will "
            "never see how they feel, only a request to check in with them."
            "\n\n1. Accept\n2. Decline"
        ]
        assert await h.say("alice", "/buddy") == [
            "You asked Bob to be your buddy. They have not answered yet."
        ]
        assert await h.say("bob", "1") == [
            f"You are now Alice's buddy. You can stop any time with /buddy end {link_id}."
        ]
        assert h.new_for("alice") == ["Bob is now your buddy."]

        await h.say("alice", "ok 3")
        offer = await h.say("alice", "6")  # Need to talk
        assert offer == [
            "Noted. Your buddy can check on you. Only if you want."
            "\n\n1. Ask my buddy to check on me"
        ]
        assert h.new_for("bob") == []
        assert await h.say("alice", "1") == ["I asked Bob to check in with you."]
        assert h.new_for("bob") == ["Alice would like you to check in with them."]  # no score

        assert await h.say("bob", f"/buddy end {link_id}") == ["Your buddy role has ended."]
        assert h.new_for("alice") == ["The buddy role between you and Bob has ended."]
        assert await h.say("alice", "/buddy ask") == [
            "You have no buddy yet. Send /buddy and a number from /contacts."
        ]


async def test_the_defender_ends_the_buddy_role_and_a_stranger_cannot_be_named(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        link_id = await link(h, "alice", "bob")
        await link(h, "carol", "dan")
        assert await h.say("alice", f"/buddy {link_id + 1}") == [
            f"{link_id + 1} is not one of your trusted contacts. /contacts lists them."
        ]
        await h.say("alice", f"/buddy {link_id}")
        await h.say("bob", "1")
        h.clear()
        assert await h.say("alice", "/buddy off") == ["Your buddy role has ended."]
        assert h.new_for("bob") == ["The buddy role between you and Alice has ended."]
        assert await h.say("bob", f"/buddy end {link_id}") == [
            f"There is no buddy request on link {link_id}. /contacts lists your links."
        ]


# -- the group view ------------------------------------------------------------------------------


async def group_of(h: Harness, organiser: str, members: list[str]) -> int:
    for name in (organiser, *members):
        await h.say(name, "/start")
    async with transaction(h.app.rt.sessions) as session:
        group = Group(name="Field team", created_at=h.clock.now())
        session.add(group)
        await session.flush()
        for name in (organiser, *members):
            role = "organiser" if name == organiser else "member"
            uid = (await find_user(session, "console", name)).id  # type: ignore[union-attr]
            session.add(
                GroupMember(group_id=group.id, user_id=uid, role=role, joined_at=h.clock.now())
            )
        gid = group.id
    h.clear()
    return gid


async def test_organisers_see_the_group_only_from_five_answers_never_a_person(
    sqlite_url: str,
) -> None:
    members = ["m1", "m2", "m3", "m4", "m5", "m6"]
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        gid = await group_of(h, "olga", members)
        too_few = (
            "Group Field team: not enough answers this week to show without exposing someone "
            "(at least 5 members who share must answer)."
        )
        for m in members:
            got = await h.say(m, f"/group_wellbeing {gid} share on")
            assert has(got, "You now count in group Field team's weekly well-being average.")
        await h.say("m6", f"/group_wellbeing {gid} share off")
        for i, m in enumerate(members[:4]):
            await h.say(m, f"ok {i + 2}")
        await h.say("m6", "ok 1")  # answered, but did not opt in: never counted
        assert await h.say("olga", f"/group_wellbeing {gid}") == [too_few]
        await h.say("m5", "ok 5")
        await h.say("m5", "6")  # need to talk
        h.clock.advance(timedelta(hours=1))
        assert await h.say("olga", f"/group_wellbeing {gid}") == [
            "Group Field team, last 7 days: average well-being 3.8 (1 to 5), from 5 members "
            "who share. 1 said they need to talk."
        ]
        assert await h.say("m1", f"/group_wellbeing {gid}") == [
            f"You count in group Field team's anonymous weekly well-being. Change it with "
            f"/group_wellbeing {gid} share on (or off)."
        ]
        h.clock.advance(timedelta(days=7))  # a new week: last week's answers do not count
        assert await h.say("olga", f"/group_wellbeing {gid}") == [too_few]
        stranger = await h.say("m9", f"/group_wellbeing {gid}")
        assert stranger[-1] == (
            "You cannot do that, or there is no such group. /help lists the commands."
        )
        for m in members:  # members never see the group's figures, nor anyone's answers
            assert not any("average well-being" in x for x in h.inbox(m))


# -- the picture ---------------------------------------------------------------------------------


async def test_wellbeing_sends_a_png_the_console_saves_and_the_outbox_forgets(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        h.console.files = tmp_path / "files"
        await h.say("alice", "/start")
        assert await h.say("alice", "/wellbeing") == [
            "Nothing to draw yet: you have not said how you are in the last 30 days. "
            "After an OK, tap how you feel."
        ]
        for score in (2, 2, 3, 4, 4, 4, 5, 5, 4, 5, 5, 5, 5, 4):
            await h.say("alice", f"ok {score}")
            h.clock.advance(timedelta(days=1))
        h.clear()
        got = await h.say("alice", "/wellbeing")
        assert got == [
            "Better than the week before.\nOne point a day (1 very bad to 5 very good), gaps "
            "where you did not answer. Marks on top: ● safe, ◆ unsure, ▲ scared, ✖ harassed "
            "online, ■ exhausted, ★ need to talk."
        ]
        sent = h.console.sent[-1]
        assert sent.attachment is not None and sent.attachment.mime_type == "image/png"
        assert sent.attachment.data.startswith(b"\x89PNG\r\n\x1a\n")
        saved = list((tmp_path / "files").iterdir())
        assert [p.read_bytes() for p in saved] == [sent.attachment.data]
        assert await h.say("alice", "/wellbeing 90d")
        assert await h.say("alice", "/wellbeing 120d") == [
            "I can show 7 to 90 days, for example /wellbeing 90d."
        ]
        assert await pictures(h) == 2
        await h.advance(hours=2)  # the hourly purge: a sent picture is not kept
        assert await pictures(h) == 0


async def test_the_weekly_word_names_the_day_in_the_readers_language(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        await h.say("alice", "/lang th")
        (reply,) = await h.say("alice", "/wellbeing weekly on wed")
        assert reply.startswith("ทุกวันพุธ ") and "Wednesday" not in reply  # every Wednesday


async def test_the_weekly_word_comes_on_the_chosen_day_with_last_weeks_picture(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        await h.say("alice", "/tz Europe/Berlin")
        h.clear()
        assert await h.say("alice", "/wellbeing weekly on wed") == [
            "Each Wednesday you will get last week's picture and a word. "
            "Stop with /wellbeing weekly off."
        ]
        await h.say("alice", "ok 4")
        h.clear()
        await h.advance(timedelta(days=2, hours=-0.1))  # Wednesday 09:54 Berlin
        assert h.new_for("alice") == []
        await h.advance(minutes=10)
        got = h.new_for("alice")
        assert got == [
            "Your week. Not enough answers yet to compare with the week before. Thank you for "
            "looking after yourself: it is part of staying safe."
        ]
        assert h.console.sent[-1].attachment is not None
        await h.advance(days=1)
        assert h.new_for("alice") == []  # once a week
        assert await h.say("alice", "/wellbeing weekly off") == ["No more weekly word."]
        await h.advance(days=7)
        assert h.new_for("alice") == []


# -- personal data ---------------------------------------------------------------------------------


async def test_answers_are_sealed_exported_and_erased(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0), secret_key="k" * 32) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "ok 4")
        await h.say("alice", "3")
        async with h.app.engine.connect() as conn:
            raw = (await conn.exec_driver_sql("SELECT score, feeling FROM wellbeing_entries")).all()
        assert len(raw) == 1 and all(v.startswith("hf1:") for v in raw[0])  # sealed like notes
        await h.say("alice", "/mydata")
        files = [o.attachment for o in h.console.sent if o.attachment is not None]
        export = json.loads(files[-1].data)["well_being"]
        assert [(a["score"], a["feeling"]) for a in export["answers"]] == [(4, "scared")]
        await h.say("alice", "/forgetme")
        await h.say("alice", "/forgetme confirm")
        assert await count(h, WellbeingEntry) == 0


async def test_retention_keeps_a_year_only_for_who_chose_it(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0), retention=timedelta(days=30)) as h:
        for who in ("alice", "carol"):
            await h.say(who, "/start")
            await h.say(who, "ok 4")
        assert await h.say("alice", "/wellbeing keep 1y") == [
            "Your well-being history is now kept for one year. "
            "Back to the default: /wellbeing keep 30d."
        ]
        await h.advance(days=31)
        assert [e.score for e in await entries(h, "alice")] == [4]
        assert await entries(h, "carol") == []
        await h.advance(days=340)
        assert await entries(h, "alice") == []


async def test_a_coerced_answer_never_counts_for_the_group(sqlite_url: str) -> None:
    members = ["m1", "m2", "m3", "m4", "m5"]
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        gid = await group_of(h, "olga", members)
        await h.say("m5", "/duress tangerine")
        for m in members:
            await h.say(m, f"/group_wellbeing {gid} share on")
        for m in members[:4]:
            await h.say(m, "ok 4")
        assert await h.say("m5", "ok tangerine 1") == [THANKS_SCORED]  # looks the same ...
        assert h.new_for("olga")[0].startswith("SOS (silent): M5 may be in danger")
        assert await h.say("olga", f"/group_wellbeing {gid}") == [
            "Group Field team: not enough answers this week to show without exposing someone "
            "(at least 5 members who share must answer)."
        ]  # ... but only four real answers count


async def test_the_gentle_word_offers_the_buddy_and_names_the_groups_support(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        gid = await group_of(h, "olga", ["alice"])
        link_id = await link(h, "alice", "bob")
        await h.say("alice", f"/buddy {link_id}")
        await h.say("bob", "1")
        h.clear()
        assert await h.say("alice", f"/group_wellbeing {gid} support call Rosa, +1 555 0100") == [
            "You cannot do that, or there is no such group. /help lists the commands."
        ]  # members cannot set it
        assert await h.say("olga", f"/group_wellbeing {gid} support call Rosa, +1 555 0100") == [
            "Members of Field team who seem to struggle will be told: call Rosa, +1 555 0100"
        ]
        h.clear()
        for _ in range(3):
            got = await h.say("alice", "ok 1")
            h.clock.advance(timedelta(hours=5))
        assert got[1] == (
            "Your last few answers were low. That matters. Some things that help: rest, even a "
            "short break. Talk to someone you trust. Take one small thing off your list today."
            "\nYour group Field team offers support: call Rosa, +1 555 0100"
            "\nYour buddy can check on you if you want.\n\n1. Ask my buddy to check on me"
        )
        assert await h.say("alice", "1") == ["I asked Bob to check in with you."]
        assert h.new_for("bob") == ["Alice would like you to check in with them."]
        assert h.new_for("olga") == []  # the organiser hears nothing about anyone
