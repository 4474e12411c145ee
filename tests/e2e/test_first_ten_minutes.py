"""Issue 16, "the first ten minutes": replies a newcomer meets, each told the truth.

/help per role, and the wrong replies the issue lists, one story each, asserting
exactly what each person receives.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.model import Address, Attachment, Outgoing
from bot.i18n import language_hint, t
from bot.transports.console import ConsoleTransport
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def sections(*keys: str) -> list[str]:
    return ["\n\n".join(t(f"help.{key}", "en") for key in keys)]


# -- /help per role ---------------------------------------------------------------------


async def test_help_shows_what_each_person_can_do_now(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("stranger", "/start")
        assert await h.say("stranger", "/help") == sections("start", "safety", "more")
        await contact_link(h, "alice", "bob")
        h.clear()
        assert await h.say("alice", "/help") == sections("safety", "defender", "more")
        assert await h.say("bob", "/help") == sections("start", "safety", "contact", "more")
        await h.say("olga", "/group_new Team")
        assert await h.say("olga", "/help") == sections("safety", "defender", "organiser", "more")
        reply = await h.say("alice", "/help")
        assert "/duress" not in reply[0] and "/group_promote" not in reply[0]


async def test_help_all_lists_everything_the_short_help_leaves_out(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        (everything,) = await h.say("alice", "/help all")
        for command in ("/duress", "/lang", "accept CODE", "/join CODE", "/group_promote"):
            assert command in everything


#: Commands a person never needs to type: /start and /help themselves, and the answers
#: that buttons send for them (a contact confirming a re-check, a well-being feeling).
NOT_IN_HELP = {"start", "help", "contact_confirm", "feel"}


async def test_help_all_names_every_command(sqlite_url: str) -> None:
    from bot.handlers import ROUTES

    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        (everything,) = await h.say("alice", "/help all")
    named = set(re.findall(r"(?<![\w/])/([a-z_]+)", everything))
    named |= set(re.findall(r"\b([a-z]+) CODE\b", everything))  # accept CODE, decline CODE
    assert set(ROUTES) - NOT_IN_HELP - named == set()


# -- time zones as people name them ---------------------------------------------------


async def test_tz_understands_cities_and_offers_zones_for_an_offset(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        assert await h.say("alice", "/tz bangkok") == [
            "Time zone set to Asia/Bangkok. Your check-ins now follow it."
        ]
        (offset,) = await h.say("alice", "/tz +7")
        assert offset.startswith("Which one is yours: Asia/Bangkok, Asia/Jakarta, ")
        assert offset.endswith("Send /tz and the name, for example /tz Asia/Bangkok")
        assert await h.say("alice", "/tz EST") == [
            '"EST" means different places. Send your city instead, for example /tz New York'
        ]
        assert await h.say("alice", "/tz") == [
            "Your time zone is Asia/Bangkok. Change it with /tz Area/City, for example "
            "/tz Africa/Nairobi."
        ]


# -- true replies: one story per wrong reply of the issue --------------------------------


async def test_status_after_the_timer_ran_out_does_not_say_it_is_running(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        await h.say("alice", "/timer 30m")
        running = await h.say("alice", "/status")
        assert "Timer running until Mon 01 Jun 08:30 (UTC)." in running[0]
        await h.advance(minutes=31)
        h.clear()
        (status,) = await h.say("alice", "/status")
        assert "running" not in status and "(late)" not in status
        assert "Your timer ran out at Mon 01 Jun 08:30 (UTC). Reply OK now" in status


async def test_status_counts_people_without_bad_plurals(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        (status,) = await h.say("alice", "/status")
        assert "1 trusted contacts" not in status
        assert status.endswith(
            "If you go silent, these people are alerted: first your trusted contacts (1), "
            "then your groups (0)."
        )


async def test_status_shows_an_open_sos(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        await h.say("alice", "/sos")
        (status,) = await h.say("alice", "/status")
        assert "Your SOS from Mon 01 Jun 08:00 (UTC) is still open." in status


async def test_a_new_timer_says_it_replaces_the_running_one(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        first = await h.say("alice", "/timer 1h")
        assert first[0].startswith("Timer set for 1h")
        (second,) = await h.say("alice", "/timer 2h")
        assert second.startswith("Your earlier timer is replaced. New timer: 2h, until ")


async def test_ok_with_a_score_does_not_ask_how_you_feel(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        (scored,) = await h.say("alice", "ok 4")  # the score is not asked again
        assert scored.startswith("Thank you, you are checked in. How are things?")  # issue 14
        (plain,) = await h.say("alice", "ok")
        assert plain.startswith("Thank you, you are checked in. How are you feeling?")


async def test_ack_with_nobody_else_alerted_says_so(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        await h.say("alice", "/sos")
        h.clear()
        assert await h.say("bob", "/ack") == [
            "Thank you: you are handling the alert for Alice. Nobody else was alerted. "
            "You will hear when Alice checks in."
        ]


async def test_ack_of_a_closed_alert_points_to_the_open_one(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        await h.say("alice", "/timer 30m")
        await h.run_until(T0 + timedelta(minutes=50))  # missed: bob is alerted (#1)
        await h.say("alice", "ok")  # closed
        await h.say("alice", "/sos")  # open (#2)
        h.clear()
        assert await h.say("bob", "/ack 1") == [
            "Alert #1 is closed, or it is not yours to handle. Another alert is open: "
            "send /ack to take it on."
        ]


async def test_a_group_checkin_listed_by_checkins_says_how_to_stop_it(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        reply = await h.say("olga", "/group_new Team")
        code = next(line.split()[-1] for m in reply for line in m.splitlines() if "join " in line)
        await h.say("olga", "/group_checkin Team daily 09:00")
        await h.say("alice", f"/join {code}")
        (listing,) = await h.say("alice", "/checkins")
        assert "#1 daily 09:00 (group)" in listing
        assert await h.say("alice", "/checkin_remove 1") == [
            "Check-in #1 comes from your group #1, so only its organisers can change it. "
            "To stop it, leave the group: /group_leave 1"
        ]


async def test_an_invite_code_read_aloud_works_in_any_case(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        reply = await h.say("alice", "/invite")
        lines = reply[-1].splitlines()
        code = next(line.split()[-1] for line in lines if line.startswith("accept"))
        assert len(code) == 24 and code.count("-") == 4
        answer = await h.say("bob", f"accept {code.lower()}")
        assert any("trusted contact of Alice" in a for a in answer), answer


# -- /mydata: a summary to read, and the whole file ----------------------------------


async def test_mydata_is_a_readable_summary_with_the_whole_file(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/tz Asia/Bangkok")
        await h.say("alice", "/checkin daily 09:00")
        h.clear()
        (summary,) = await h.say("alice", "/mydata")
        assert summary.startswith(
            "What Holdfast stores about you:\nTime zone: Asia/Bangkok\nCheck-in times: 1\n"
            "Check-ins answered or missed: 0\nYour trusted contacts: 1\n"
            "People you are a contact for: 0\nGroups: 0\nMessages sent to you: "
        )
        assert summary.endswith("Delete it from this chat once you have saved it somewhere safe.")
        (sent,) = [o for o in h.console.sent if o.attachment is not None]
        assert json.loads(sent.attachment.data)["person"]["timezone"] == "Asia/Bangkok"


async def test_the_console_writes_an_attachment_to_a_file(tmp_path: Path) -> None:
    shown = io.StringIO()
    console = ConsoleTransport(read_stdin=False, output=shown, files=tmp_path / "files")
    data = b'{"a": 1}' * 5000  # far longer than any chat message: never cut
    out = Outgoing(Address("console", "alice"), "Your file.", attachment=Attachment(
        "holdfast-my-data.json", "application/json", data))  # fmt: skip
    await console.send(out)
    saved = tmp_path / "files" / "alice-holdfast-my-data.json"
    assert saved.read_bytes() == data
    assert f"[console] file saved: {saved}" in shown.getvalue()


# -- the privacy notice for someone who first wrote in a group --------------------------


async def test_someone_whose_first_message_is_in_a_group_gets_the_notice_in_private(
    sqlite_url: str,
) -> None:
    # No app language on the console: English, with how to choose each other language.
    notice = [t("start.welcome", "en") + "\n\n" + language_hint(), t("privacy.other", "en")]
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("olga", "/group_new Team")
        h.clear()
        await h.say_in_group("gina", "team-chat", "/group_members 1")
        assert h.new_for("gina") == []  # nothing personal is posted to the group chat
        assert not any(notice[1] in m for m in h.inbox("#team-chat"))
        first = await h.say("gina", "/tz")  # her first private message
        assert first[:2] == notice
        again = await h.say("gina", "/tz")
        assert not any(m in again for m in notice)  # told once, not on every message
        new = await h.say("stranger", "/tz")  # someone new in private: told at once, once
        assert new[:2] == notice and new.count(notice[1]) == 1
