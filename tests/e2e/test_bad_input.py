"""Bad input, table-driven for every routed command: one short answer, nothing changed.

Issue 2, acceptance 5.

Every command in `bot.handlers.ROUTES` is covered, so a command added later is too:
each gets the generic cases (a 5,000-character message; a private-only command sent
in a group chat) and, where its grammar is known here, its own bad arguments
(bad time, bad time zone, durations out of bounds, empty arguments, Unicode junk,
SQL-ish strings). For each case the person gets exactly one reply under 300
characters, saying what is wrong, and every table is unchanged (except the outbox,
handled-update ids, wrong-code attempts and `identities.last_seen_at`, which a
message is allowed to touch).

Each command's cases run on a copy of one prepared database: alice (Europe/London)
has a daily check-in, a running timer, a pending invite, a trusted contact (bob)
and a group she organises (#1).
"""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.handlers import ROUTES
from bot.store.models import Base
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link

T0 = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
EXEMPT_TABLES = {"outbox", "processed_inbound", "bad_code_attempts"}
EXEMPT_COLUMNS = {("identities", "last_seen_at")}
MAX_REPLY = 300

JUNK = "\u202e\u0000\ufeff😀ẞ\u200b%s\\n"
SQLISH = "'; DROP TABLE users; --"
TOO_LONG = "x" * 5000

# Catalog fragments the refusals must contain.
NOT_TIME = "is not a time."
NOT_ZONE = "is not a time zone I know"
NOT_DURATION = "is not a duration"
TOO_SHORT = "That is too short; the minimum is"
TOO_LONG_DURATION = "That is too long; the maximum is"
BAD_CODE = ("That code does not work", "Too many wrong codes")
SCHEDULE_USAGE = "Write it like: /checkin daily 09:00"
NO_GROUP = "You cannot do that, or there is no such group."


@dataclass(frozen=True)
class Case:
    """One bad input: who sends what, and a fragment (or alternatives) of the one reply."""

    text: str
    expect: str | tuple[str, ...]
    who: str = "alice"
    group_chat: str | None = None


def c(
    args: str, expect: str | tuple[str, ...], who: str = "alice"
) -> tuple[str, str | tuple[str, ...], str]:
    return args, expect, who


#: Known bad arguments per command: (args, expected fragment, sender).
KNOWN: dict[str, list[tuple[str, Any, str]]] = {
    "start": [c("NOTACODE123", BAD_CODE), c("' OR '1'='1", BAD_CODE), c(JUNK, BAD_CODE)],
    "tz": [
        c("Mars/Olympus", NOT_ZONE), c("Europe/Londonn", NOT_ZONE),
        c(f"Europe/London{SQLISH}", NOT_ZONE), c(JUNK, NOT_ZONE),
        c("+05:00", "Which one is yours:"),
    ],
    "lang": [c("klingon", "I do not have that language"), c("../../etc/passwd", "I do not have")],
    "checkin": [
        c("", SCHEDULE_USAGE), c("daily 25:00", NOT_TIME), c("daily 09:60", NOT_TIME),
        c("daily 9am", NOT_TIME), c("fortnightly 09:00", "is not a day"),
        c("mon,funday 18:00", "is not a day"), c("every 1m", TOO_SHORT),
        c("every 8d", TOO_LONG_DURATION), c("every soon", NOT_DURATION),
        c("daily " + " ".join(f"{h:02d}:00" for h in range(13)), "At most 12 times a day"),
        c(f"daily 09:00{SQLISH}", NOT_TIME), c(JUNK, SCHEDULE_USAGE), c("every", SCHEDULE_USAGE),
    ],
    "checkin_remove": [
        c("", "Send /checkin_remove and the check-in number"), c("abc", "Send /checkin_remove"),
        c("999", "You have no check-in #999"), c("1 2", "Send /checkin_remove"),
        c("1; DELETE FROM schedules", "Send /checkin_remove"), c(JUNK, "Send /checkin_remove"),
    ],
    "timer": [
        c("", "Write it like /timer 2h"), c("1m", TOO_SHORT), c("8d", TOO_LONG_DURATION),
        c("soon", NOT_DURATION), c("0m", TOO_SHORT), c("0s", TOO_SHORT),
        c("99999999d", NOT_DURATION), c("-5m", NOT_DURATION), c(f"{SQLISH} 2h", NOT_DURATION),
        c(JUNK, NOT_DURATION),
    ],
    "ok": [c("9", "The well-being score is a number from 1"), c("0", "from 1 (very bad) to 5")],
    "accept": [
        c("", "Send the code exactly as you received it"), c("a b", "Send the code exactly"),
        c("NOPE", BAD_CODE), c("x" * 65, "Send the code exactly"), c(SQLISH, "Send the code"),
    ],
    "decline": [c("", "Send the code exactly"), c("NOPE", BAD_CODE), c(JUNK, BAD_CODE)],
    "contact_remove": [
        c("", "Send /contact_remove and the number"), c("abc", "Send /contact_remove"),
        c("999", "There is no link #999 of yours"), c("1 2", "Send /contact_remove"),
    ],
    "ack": [
        c("abc", "Send /ack, or /ack and the alert number.", "bob"),
        c("1 2", "Send /ack, or /ack and the alert number.", "bob"),
        c("", "You have no open alert to acknowledge.", "bob"),
        c("999", "Alert #999 is closed, or it is not yours to handle.", "bob"),
        c("", "You have no open alert to acknowledge."),
    ],
    "pause": [
        c("", "Write it like /pause 2h"), c("1m", TOO_SHORT), c("31d", TOO_LONG_DURATION),
        c("forever", NOT_DURATION), c(JUNK, NOT_DURATION),
    ],
    "resume": [c("", "not paused")],
    "duress": [c("", "Choose a duress word"), c("ab", "Please choose one word of 4 to 40"),
               c("two words", "Choose a duress word"), c("ok", "Please choose one word")],
    "pin": [
        c("", "Set a safe PIN of 4 to 8 digits"), c("12", "A PIN is 4 to 8 digits"),
        c("abcd", "A PIN is 4 to 8 digits"), c("off", "You have no PIN"),
        c("1234 5678", "Set a safe PIN"), c("1 2 3", "Set a safe PIN"),
    ],
    "forgetme": [c("please", "Send /forgetme to erase"), c("confirm", "Nothing to confirm")],
    "group_new": [c("", "Give the group a name")],
    "group_invite": [
        c("", "Add the group's name or number"), c("999", NO_GROUP),
        c("abc", "You are in no group with that name"),
    ],
    "group_revoke": [c("", "Add the group's name or number"), c("999", NO_GROUP)],
    "join": [c("", "Send the code exactly as you received it"), c("NOPE", BAD_CODE)],
    "group_checkin": [
        c("", "Write it like: /group_checkin 3 daily 09:00"), c("1 daily 25:00", NOT_TIME),
        c("999 daily 09:00", NO_GROUP), c("1 every 1m", TOO_SHORT),
    ],
    "group_policy": [
        c("", "Write it like: /group_policy 3"), c("1 window 1s", TOO_SHORT),
        c("1 window 8d", TOO_LONG_DURATION), c("1 colour red", "Write it like: /group_policy 3"),
        c("999 window 30m", NO_GROUP), c("1 window soon", NOT_DURATION),
    ],
    "group_alerts": [c("", "Send it inside the group chat"), c("1", "inside the group chat")],
    "group_members": [c("", "Add the group's name or number"), c("999", NO_GROUP)],
    "group_remove": [c("", "Write it like /group_remove 3 12"), c("1 999", "has no member #999"),
                     c("1 abc", "Write it like /group_remove")],
    "group_promote": [c("", "Write it like /group_promote 3 12"), c("1 999", "has no member #999")],
    "group_leave": [c("", "Add the group's name or number"), c("999", NO_GROUP)],
}  # fmt: skip


def cases_for(name: str) -> list[Case]:
    """Known cases, then the generic ones every command gets."""
    found = [
        Case(f"/{name} {args}".strip(), expect, who) for args, expect, who in KNOWN.get(name, [])
    ]
    found.append(Case(f"/{name} {TOO_LONG}", "That message is too long"))
    if ROUTES[name].private_only:
        found.append(
            Case(f"/{name}", "Please send that to me in a private chat", group_chat="team")
        )
    return found


# -- the prepared database ---------------------------------------------------------------


async def _prepare(url: str) -> None:
    async with Harness(url, FakeClock(T0)) as h:
        await h.say("alice", "/tz Europe/London")
        await h.say("alice", "/checkin daily 09:00")
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/timer 2h")
        await h.say("alice", "/invite Dan")
        assert (await h.say("alice", "/group_new Team"))[0].startswith("Group")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module, in its own thread and event loop."""
    path = tmp_path_factory.mktemp("bad-input") / "template.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _prepare(f"sqlite+aiosqlite:///{path}")).result()
    return path


@pytest.fixture
def prepared(template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "holdfast.db"
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{copy}{suffix}")
    return f"sqlite+aiosqlite:///{copy}"


async def snapshot(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a bad input must not touch."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with h.app.rt.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in EXEMPT_TABLES:
                continue
            columns = [col for col in table.c if (table.name, col.name) not in EXEMPT_COLUMNS]
            stmt = select(*columns).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in (await session.execute(stmt)).all()]
    return found


async def run_case(h: Harness, case: Case) -> list[str]:
    if case.group_chat is None:
        return await h.say(case.who, case.text)
    await h.say_in_group(case.who, case.group_chat, case.text)
    return h.new_for(f"#{case.group_chat}")


def problems_with(case: Case, replies: list[str], changed: list[str]) -> list[str]:
    wanted = case.expect if isinstance(case.expect, tuple) else (case.expect,)
    found = []
    if len(replies) != 1:
        found.append(f"{len(replies)} replies: {replies!r}")
    elif len(replies[0]) >= MAX_REPLY:
        found.append(f"reply of {len(replies[0])} chars: {replies[0][:80]!r}…")
    elif not any(w in replies[0] for w in wanted):
        found.append(f"reply {replies[0]!r} lacks {wanted!r}")
    if changed:
        found.append(f"changed tables: {changed}")
    return [f"{case.text[:60]!r} from {case.who}: {p}" for p in found]


@pytest.mark.parametrize("name", sorted(ROUTES))
async def test_bad_input_gets_one_short_answer_and_changes_nothing(
    prepared: str, name: str
) -> None:
    async with Harness(prepared, FakeClock(T0 + timedelta(minutes=1))) as h:
        await h.say("bob", "/help")  # bob's first-contact greeting is not part of any case
        h.clear()
        failures: list[str] = []
        before = await snapshot(h)
        for case in cases_for(name):
            replies = await run_case(h, case)
            after = await snapshot(h)
            changed = [t for t in before if before[t] != after[t]]
            failures += problems_with(case, replies, changed)
            before = after
        assert not failures, "\n".join(failures)


#: Commands whose arguments are free text or ignored: only the generic cases apply.
FREE_ARGS = {"help", "checkins", "contacts", "invite", "sos", "status", "mydata", "group_new"}


def test_the_table_names_routed_commands_only() -> None:
    assert set(KNOWN) <= set(ROUTES), set(KNOWN) - set(ROUTES)
    untabled = set(ROUTES) - set(KNOWN) - FREE_ARGS
    assert all(cases_for(name) for name in untabled)  # a new command still gets the generic ones


UNKNOWN = [
    Case("/frobnicate", "I do not know /frobnicate"),
    Case("/checkin_removee 1", "I do not know /checkin_removee"),
    Case("/" + "a" * 100, "I do not know /aaaa"),
    Case(f"/{SQLISH}", "I do not know"),
    Case(f"/{JUNK}", "I do not know"),
    Case("hello there", "I did not understand"),
    Case(SQLISH, "I did not understand"),
    Case(JUNK, "I did not understand"),
    Case(TOO_LONG, "That message is too long"),
    Case("ok " + TOO_LONG, "That message is too long"),
    Case("/frobnicate", "I do not know /frobnicate", group_chat="team"),
]


async def test_unknown_commands_and_plain_text(prepared: str) -> None:
    async with Harness(prepared, FakeClock(T0 + timedelta(minutes=1))) as h:
        failures: list[str] = []
        before = await snapshot(h)
        for case in UNKNOWN:
            replies = await run_case(h, case)
            after = await snapshot(h)
            changed = [t for t in before if before[t] != after[t]]
            failures += problems_with(case, replies, changed)
            before = after
        assert not failures, "\n".join(failures)
        before = await snapshot(h)
        await h.say_in_group("alice", "team", "just chatting in the group")
        assert h.new_for("#team") == [] and await snapshot(h) == before  # chatter is ignored
