"""Issue 16, "the first ten minutes": replies a newcomer meets, each told the truth.

/help per role, and the wrong replies the issue lists, one story each, asserting
exactly what each person receives.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import t
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
