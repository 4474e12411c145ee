"""Escalation that ends only when someone acts (issue 9), told as stories with a fake clock.

Alice is the defender; Bob and Carol her trusted contacts; Olga the organiser of her
group (level 2). Everyone talks to the bot on a scripted `FakeTransport`, so a send
can fail exactly when a story says so. Each story asserts exactly what each person
receives. Defaults: window 30m, grace 15m, level 2 30m after level 1, repeats every
15m (3 at most), acknowledgement time-out 2h.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.store.db import transaction
from bot.store.models import Contact, Group, GroupMember
from bot.store.users import find_user
from bot.transports.base import RecipientUnreachable, TransientDeliveryError
from tests.support.clock import FakeClock
from tests.support.fakes import FakeTransport
from tests.support.harness import Harness

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


class Story:
    """A harness on the fake platform, with per-person "what is new" reading."""

    def __init__(self, url: str, **checkins: object) -> None:
        self.fake = FakeTransport("fake")
        self.h = Harness(url, FakeClock(T0), extra_transports={"fake": self.fake}, **checkins)
        self._seen: dict[str, int] = {}

    async def __aenter__(self) -> Story:
        await self.h.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.h.__aexit__(*exc)

    async def say(self, who: str, text: str) -> list[str]:
        await self.fake.push(who, text)
        await self.h.deliver()
        return self.new(who)

    def new(self, who: str) -> list[str]:
        box = self.fake.to(who)
        start = self._seen.get(who, 0)
        self._seen[who] = len(box)
        return box[start:]

    def heads(self, who: str) -> list[str]:
        """The first words (up to the first colon or full stop) of each new message."""
        return [m.split(":")[0].split(".")[0] for m in self.new(who)]

    def clear(self) -> None:
        for who in {o.to.chat_id for o in self.fake.sent}:
            self.new(who)

    async def until(self, when: datetime, step: timedelta = 5 * MIN) -> None:
        await self.h.run_until(when, step)

    async def uid(self, name: str) -> int:
        async with transaction(self.h.app.rt.sessions) as session:
            user = await find_user(session, "fake", name)
            assert user is not None, name
            return user.id

    async def people(self, *names: str) -> None:
        for name in names:
            await self.say(name, "/start")

    async def contacts(self, defender: str, *contacts: str) -> None:
        """Accepted trusted-contact links, made directly (no random invite codes)."""
        await self.people(defender, *contacts)
        d = await self.uid(defender)
        ids = [await self.uid(c) for c in contacts]
        async with transaction(self.h.app.rt.sessions) as session:
            for cid in ids:
                session.add(Contact(defender_id=d, contact_id=cid, created_at=self.h.clock.now()))

    async def organiser(self, defender: str, organiser: str) -> None:
        """`defender` is a member of a group `organiser` runs: level 2 of her alerts."""
        await self.people(defender, organiser)
        member, boss = await self.uid(defender), await self.uid(organiser)
        async with transaction(self.h.app.rt.sessions) as session:
            group = Group(name="Field team", created_at=self.h.clock.now())
            session.add(group)
            await session.flush()
            for uid, role in ((boss, "organiser"), (member, "member")):
                session.add(GroupMember(group_id=group.id, user_id=uid, role=role, joined_at=T0))

    async def missed_at_945(self) -> None:
        """Alice's 09:00 check-in goes unanswered: level 1 at 09:45."""
        await self.say("alice", "/checkin daily 09:00")
        self.clear()
        await self.until(NINE + 45 * MIN)


async def test_three_repeats_then_silence_while_level2_keeps_its_clock(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.organiser("alice", "olga")
        await s.missed_at_945()
        assert s.heads("bob") == ["SAFETY ALERT"]
        await s.until(NINE + 60 * MIN)
        assert s.heads("bob") == ["REPEAT (1 of 3)"] and s.new("olga") == []
        await s.until(NINE + 75 * MIN)  # level 2 on its own clock; Bob's second repeat
        assert s.heads("bob") == ["REPEAT (2 of 3)"]
        [level2] = s.new("olga")
        assert level2.startswith("SAFETY ALERT (group): Alice has not checked in for 1h15m.")
        await s.until(NINE + 90 * MIN)
        assert s.heads("bob") == ["REPEAT (3 of 3)"] == s.heads("olga")
        await s.until(NINE + 90 * MIN + 2 * 60 * MIN - MIN)  # no more repeats
        assert s.new("bob") == [] and s.new("olga") == []
        assert s.heads("alice") == ["Check-in", "Reminder"]  # the defender sees no alert
        await s.until(NINE + 90 * MIN + 2 * 60 * MIN)  # an open alert is never forgotten
        assert s.heads("bob") == ["STILL OPEN"] == s.heads("olga")
        [repeat] = [m for m in s.fake.to("bob") if m.startswith("REPEAT (2")]
        assert "Alice has been silent for 1h15m" in repeat  # how long, in every repeat


async def test_ack_times_out_reopens_for_everyone_and_releases_level2(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.organiser("alice", "olga")
        await s.missed_at_945()
        s.clear()
        await s.h.advance(minutes=5)  # 09:50
        reply = await s.say("bob", "/ack")
        assert reply == [
            "Thank you. The others alerted know you are on it. You will hear when Alice checks in."
        ]  # the person acknowledging is not told that they are handling it
        # contacts are not told who else protects Alice (issue 10): their phones may be seized
        assert s.new("carol") == ["Someone alerted is handling the alert for Alice."]
        await s.until(NINE + 50 * MIN + 2 * 60 * MIN - MIN)  # held: no repeats, no level 2
        assert s.new("bob") == [] and s.new("carol") == [] and s.new("olga") == []
        await s.until(NINE + 50 * MIN + 2 * 60 * MIN)  # 11:50: nobody resolved it
        lapsed = (
            "ALERT OPEN AGAIN: someone said they were handling the alert for Alice 2h ago, but "
            "nobody has resolved it. Alice is still silent."
        )
        for who in ("bob", "carol"):
            [msg] = s.new(who)
            assert msg.startswith(lapsed), msg
        [level2] = s.new("olga")  # held back by the acknowledgement; released now
        assert level2.startswith("SAFETY ALERT (group): Alice has not checked in for 2h50m.")
        await s.until(NINE + 65 * MIN + 2 * 60 * MIN)  # repeats start again, for everyone
        assert s.heads("bob") == s.heads("carol") == s.heads("olga") == ["REPEAT (1 of 3)"]


async def test_a_contact_resolves_the_alert_and_the_others_hear_it(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.missed_at_945()
        s.clear()
        reply = await s.say("carol", "/resolve I called her, she lost her phone")
        assert reply == ["Thank you. The alert for Alice is closed, and the others alerted know."]
        assert s.new("bob") == [  # a contact hears the all-clear, not who else protects Alice
            "RESOLVED: someone alerted says Alice is safe. The alert is closed. "
            "Their note: I called her, she lost her phone"
        ]
        assert s.new("alice") == []
        await s.until(NINE + 5 * 60 * MIN)  # closed: no repeats, nothing more
        assert s.new("bob") == [] and s.new("carol") == []
        assert await s.say("bob", "/ack") == ["You have no open alert to acknowledge."]
        assert await s.say("bob", "/resolve") == ["You have no open alert to resolve."]


@pytest.mark.parametrize("kind", ["sos", "duress"])
async def test_ok_after_sos_or_duress_keeps_the_alert_open(sqlite_url: str, kind: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.organiser("alice", "olga")
        if kind == "duress":
            await s.say("alice", "/duress tangerine")
            await s.say("alice", "ok tangerine")
        else:
            await s.say("alice", "/sos")
        first = "SOS (silent)" if kind == "duress" else "SOS"
        assert s.heads("bob") == [first] == s.heads("olga")
        s.clear()
        assert (await s.say("alice", "ok"))[0].startswith("Thank you, you are checked in")
        for who in ("bob", "olga"):
            [msg] = s.new(who)
            assert msg.startswith(
                "Alice answered OK from their phone, but the alert stays open: the phone may "
                'not be in their hands. Confirm it with them yourself, then tap "Resolved".'
            )
        assert s.new("alice") == []  # the phone learns nothing of it
        await s.until(T0 + 15 * MIN)  # still open: the repeats go on
        assert s.heads("bob") == ["REPEAT (1 of 3)"] == s.heads("olga")
        await s.say("bob", "/ack")
        assert s.new("olga") == ["Bob is handling the alert for Alice."]
        await s.until(T0 + 15 * MIN + 2 * 60 * MIN)  # and the acknowledgement times out
        assert s.heads("bob") == ["ALERT OPEN AGAIN"] == s.heads("olga")
        assert (await s.say("olga", "/resolve"))[0].startswith("Thank you. The alert for Alice")
        assert s.heads("bob") == ["RESOLVED"]
        await s.until(T0 + 6 * 60 * MIN)
        assert s.new("bob") == [] and s.new("olga") == [] and s.new("alice") == []


async def test_sole_contact_blocked_the_bot_level2_goes_out_at_once(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.organiser("alice", "olga")
        s.fake.fail_next(RecipientUnreachable("bot was blocked by the user"), 10, chat="bob")
        await s.missed_at_945()
        assert s.new("bob") == []
        [level2] = s.new("olga")  # at 09:45, not at 10:15
        assert level2.startswith(
            "SAFETY ALERT (group): Alice has not checked in for 45m. Their trusted contacts "
            "could not be reached, so you are alerted now."
        )
        await s.until(NINE + 60 * MIN)
        assert s.heads("olga") == ["REPEAT (1 of 3)"] and s.new("bob") == []


async def test_nobody_reachable_tells_the_operators(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        s.fake.fail_next(RecipientUnreachable("bot was blocked by the user"), 10, chat="bob")
        with caplog.at_level(logging.ERROR):
            await s.missed_at_945()
        told = [r for r in caplog.records if getattr(r, "action", "") == "ops.alert_unreachable"]
        assert len(told) == 1 and told[0].levelno == logging.ERROR


async def test_a_contact_removed_mid_alert_can_no_longer_act(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.organiser("alice", "olga")
        await s.missed_at_945()
        s.clear()
        listing = await s.say("bob", "/contacts")
        [link] = [w for m in listing for w in m.split() if w.startswith("#")]
        await s.say("bob", f"/contact_remove {link}")  # Bob ends the link himself
        s.clear()
        assert await s.say("bob", "/ack") == ["You have no open alert to acknowledge."]
        assert await s.say("bob", "/resolve") == ["You have no open alert to resolve."]
        assert s.new("carol") == []  # nothing happened: nobody is handling it
        await s.until(NINE + 60 * MIN)
        assert s.new("bob") == [] and s.heads("carol") == ["REPEAT (1 of 3)"]
        await s.until(NINE + 75 * MIN)  # Bob could not stop level 2
        assert s.heads("olga") == ["SAFETY ALERT (group)"]


async def test_leaving_tells_the_others_without_a_name(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.missed_at_945()
        s.clear()
        listing = await s.say("alice", "/contacts")
        [bob_link] = [w for m in listing for line in m.splitlines() if "contact 1" in line
                      for w in line.split() if w.startswith("#")]  # fmt: skip
        await s.say("alice", f"/contact_remove {bob_link}")
        assert s.new("carol") == [
            # the phone lowered protection while the alert was open (issue 10)
            "WARNING: Alice's account sent /contact_remove while this alert was open. Treat "
            "it as a sign of danger: someone else may be using their phone.",
            "Note: one of the people alerted about Alice is no longer part of this alert.",
        ]


async def test_thirty_hours_of_server_errors_then_the_alert_arrives(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Story(sqlite_url, repeats=0) as s:
        await s.contacts("alice", "bob")
        s.fake.fail_next(TransientDeliveryError("502 Bad Gateway"), 100_000, chat="bob")
        with caplog.at_level(logging.ERROR):
            await s.missed_at_945()
            await s.until(NINE + 45 * MIN + 30 * 60 * MIN, step=10 * MIN)
        assert s.new("bob") == []
        failing = [
            r for r in caplog.records if getattr(r, "action", "") == "ops.alert_send_failing"
        ]
        assert failing  # reported to the operators after an hour (sending goes on)
        assert all(r.minutes >= 60 for r in failing)
        s.fake.recover("bob")
        await s.h.advance(minutes=10)
        assert s.heads("bob")[0] == "SAFETY ALERT"


async def test_the_same_update_delivered_twice_is_handled_once(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.missed_at_945()
        s.clear()
        for _ in range(2):  # the platform redelivers the button press
            await s.fake.push("bob", "/ack", dedupe_key="update-77")
            await s.h.deliver()
        assert len(s.new("bob")) == 1


async def test_sos_reply_counts_only_the_people_reached(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        s.fake.fail_next(RecipientUnreachable("bot was blocked by the user"), 10, chat="bob")
        assert await s.say("alice", "/sos") == [
            "Your alert is being sent to 1 person. I will tell you when it has reached them. "
            "Stay as safe as you can.",
            "Your SOS could not reach any of the 1 people it was sent to. The service's "
            "operators have been told. If you can, contact someone you trust another way.",
        ]


async def test_a_defender_with_no_contacts_never_reads_contacts_were_alerted(
    sqlite_url: str,
) -> None:
    async with Story(sqlite_url) as s:
        await s.organiser("alice", "olga")  # a group, but no trusted contacts
        await s.say("alice", "/timer 1h on the road")
        await s.missed_at_945()
        await s.until(NINE + 3 * 60 * MIN)
        await s.say("alice", "/status")
        await s.say("alice", "/sos")
        everything = s.fake.to("alice") + s.fake.to("olga")
        for untrue in ("contacts were alerted", "contacts are alerted", "contacts alerted",
                       "trusted contacts will be alerted"):  # fmt: skip
            assert not [m for m in everything if untrue in m], untrue
        prompt = next(m for m in s.fake.to("alice") if m.startswith("Check-in: are you safe?"))
        assert "15m after that: your group's organisers are alerted" in prompt
        assert any("They have no trusted contacts, so you are the first to be alerted" in m
                   for m in s.fake.to("olga"))  # fmt: skip


async def test_nobody_at_all_is_told_so_in_every_prompt(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.people("alice")
        await s.missed_at_945()
        [prompt, reminder] = s.fake.to("alice")[-2:]
        assert "nobody can be alerted, because you have no trusted contacts or group" in prompt
        assert "nobody can be alerted" in reminder


async def test_a_long_sos_raises_the_alert_with_its_text_cut(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        words = "stopped at the checkpoint, they have my passport. " * 60  # ~3,000 characters
        reply = await s.say("alice", "/sos " + words)
        assert reply[0].startswith("Your alert is being sent to 1 person")
        [alert] = s.new("bob")
        assert alert.startswith("SOS: Alice asked for help just now.")
        assert "Their message: stopped at the checkpoint, they have my passport." in alert
        assert len(alert) < len(words)


async def test_an_organiser_who_leaves_the_group_can_no_longer_act(sqlite_url: str) -> None:
    async with Story(sqlite_url) as s:
        await s.organiser("alice", "olga")
        await s.people("oscar")
        olga, oscar = await s.uid("olga"), await s.uid("oscar")
        async with transaction(s.h.app.rt.sessions) as session:  # a second organiser stays
            found = await session.execute(select(GroupMember).where(GroupMember.user_id == olga))
            [gid] = [m.group_id for m in found.scalars()]
            session.add(GroupMember(group_id=gid, user_id=oscar, role="organiser", joined_at=T0))
        await s.missed_at_945()
        assert s.heads("olga") == ["SAFETY ALERT (group)"] == s.heads("oscar")
        await s.say("olga", f"/group_leave {gid}")
        s.clear()
        assert await s.say("olga", "/ack") == ["You have no open alert to acknowledge."]
        await s.until(NINE + 60 * MIN)
        assert s.new("olga") == [] and s.heads("oscar") == ["REPEAT (1 of 3)"]


async def test_a_prompt_delayed_by_an_outage_still_gets_its_full_answer_window(
    sqlite_url: str,
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        s.h.clock.set(NINE + 60 * MIN)  # the bot was down from 08:00 to 10:00
        await s.h.tick()
        assert s.heads("alice") == ["Check-in"]
        await s.until(NINE + 89 * MIN)  # 30 minutes from 10:00, not from 09:00
        assert s.new("alice") == [] and s.new("bob") == []
        await s.until(NINE + 90 * MIN)
        assert s.heads("alice") == ["Reminder"] and s.new("bob") == []


async def test_one_contact_unreachable_and_one_acknowledging_holds_level2(
    sqlite_url: str,
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.organiser("alice", "olga")
        s.fake.fail_next(RecipientUnreachable("bot was blocked by the user"), 10, chat="bob")
        await s.missed_at_945()  # Bob is unreachable, Carol was reached: no level 2 at once
        assert s.new("olga") == []
        assert s.new("carol")[-1].startswith("Note: the alert about Alice could not reach one")
        await s.say("carol", "/ack")
        await s.until(NINE + 2 * 60 * MIN)  # neither the clock nor Bob raises level 2
        assert s.new("olga") == []
