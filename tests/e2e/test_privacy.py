"""The defender's data under their control (issue 6): export, erasure, encryption at
rest, key rotation, logs without personal data, and retention.

Some stories use people with real-looking names and a phone number as their platform
id (Zainab, Farhad), sent straight to the router, so that a name found in a file or a
log line cannot be confused with a console user id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, select, update
from sqlalchemy import text as sql

from bot import cli
from bot.core.model import Address, Incoming, Outgoing, Sender
from bot.store import chats, outbox
from bot.store import wellbeing as wellbeing_store
from bot.store.checkins import kind_of
from bot.store.db import create_engine, transaction
from bot.store.migrate import upgrade
from bot.store.models import (
    Alert,
    Base,
    Checkin,
    Outbox,
    ProcessedInbound,
    User,
    WellbeingEntry,
)
from tests.conftest import PG_URL, _fresh_pg
from tests.e2e.test_safety import has, level2, link, user_id
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
KEY = "k7Qp2_fIrStSeCrEt-kEy4tHe8tEsTs0001xyzUVW"
NEW_KEY = "Zr81x_SeCoNdKey-fOrThE7tEsTs002abcLMQPn"
ZAINAB = ("+15550001234", "Zainab Qasemi")
FARHAD = ("+15550009876", "Farhad Karimi")


@pytest.fixture
async def any_db(db_url: str) -> str:
    """SQLite, and PostgreSQL (migrated: the app migrates only SQLite by itself) when set."""
    if db_url.startswith("postgresql"):
        engine = create_engine(db_url)
        await upgrade(engine)
        await engine.dispose()
    return db_url


async def say_as(h: Harness, person: tuple[str, str], text: str) -> list[str]:
    """`person` (platform id, display name) sends `text` in their private chat."""
    who, name = person
    await h.app.router.handle(
        Incoming(Sender("console", who, name), Address("console", who), True, text)
    )
    await h.deliver()
    return h.new_for(who)


def export_in(h: Harness, messages: list[str]) -> dict[str, Any]:
    """The JSON file of the last /mydata answer, whose text is the readable summary."""
    assert has(messages, "What Holdfast stores about you:\nTime zone: "), messages
    files = [o.attachment for o in h.console.sent if o.attachment is not None]
    assert files and files[-1].filename == "holdfast-my-data.json"
    return json.loads(files[-1].data)


async def link_as(h: Harness, defender: tuple[str, str], contact: tuple[str, str]) -> None:
    reply = await say_as(h, defender, "/invite")
    code = next(ln.split()[-1] for ln in reply[-1].splitlines() if ln.startswith("accept "))
    assert has(await say_as(h, contact, f"accept {code}"), "trusted contact of")


# -- /mydata ---------------------------------------------------------------------------


async def test_mydata_holds_everything_and_nothing_about_duress(any_db: str) -> None:
    async with Harness(any_db, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        await contact_link(h, "carol", "alice")
        await h.say("alice", "/tz Europe/Berlin")
        await h.say("alice", "/checkin daily 09:00")
        await h.say("alice", "/invite Dan")
        await h.say("alice", "/timer 2h meeting at the ministry")
        await h.say("alice", "/duress tangerine")
        await h.say("alice", "ok 4 slept well")
        await h.say("alice", "tangerine")  # under duress: Bob is alerted silently
        await h.say("alice", "/pause 1h doctor")
        assert has(h.new_for("bob"), "SOS (silent)")
        doc = export_in(h, await h.say("alice", "/mydata"))
        assert doc["person"]["display_name"] == "Alice"
        assert doc["person"]["timezone"] == "Europe/Berlin"
        assert doc["person"]["pause_reason"] == "doctor"
        assert [(i["platform"], i["id"], i["chat"]) for i in doc["identities"]] == [
            ("console", "alice", "alice")
        ]
        assert [s["spec"] for s in doc["schedules"]] == ["daily 09:00"]
        # her contacts by the label she chose (none: "contact 1"), never by name (issue 10)
        assert [c["label"] for c in doc["trusted_contacts"]] == ["contact 1"]
        assert "name" not in doc["trusted_contacts"][0]
        assert [c["name"] for c in doc["trusted_contact_for"]] == ["Carol"]
        assert {(i["label"], i["status"]) for i in doc["invitations"]} >= {("Dan", "pending")}
        timer = next(c for c in doc["check_ins"] if c["kind"] == "timer")
        assert timer["message"] == "meeting at the ministry" and timer["note"] == "slept well"
        assert {c["kind"] for c in doc["check_ins"]} == {"timer", "manual"}
        assert has([m["text"] for m in doc["messages_to_you"]], "Timer set for 2h")
        text = json.dumps(doc, ensure_ascii=False).casefold()
        for hidden in ("duress", "silent", "tangerine", "scrypt", "pin_hash"):
            assert hidden not in text, hidden
        await h.advance(hours=1)  # one export an hour
        again = export_in(h, await h.say("alice", "/mydata"))  # an export is not exported again
        assert "(an earlier export of your data)" in [m["text"] for m in again["messages_to_you"]]


async def test_mydata_is_a_file_where_the_platform_takes_files(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        chat = Address("telegram", "5550001")
        ask = Incoming(Sender("telegram", "5550001", "Tg Person"), chat, True, "/mydata")
        await h.app.router.handle(ask)
        async with transaction(h.app.rt.sessions) as session:
            rows = await session.execute(select(Outbox).where(Outbox.platform == "telegram"))
            sent = [outbox.decode(o.platform, o.chat_id, o.payload) for o in rows.scalars()]
        export = sent[-1]
        assert export.text.startswith("What Holdfast stores about you:\nTime zone: ")
        assert "Everything Holdfast stores about you is in the attached file." in export.text
        assert export.attachment is not None
        assert export.attachment.filename.endswith(".json")
        assert export.attachment.mime_type == "application/json"
        doc = json.loads(export.attachment.data)
        assert doc["person"]["display_name"] == "Tg Person"


# -- /forgetme -------------------------------------------------------------------------


async def rows_of_every_table(h: Harness) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, decrypted as the app reads it."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with transaction(h.app.rt.sessions) as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(select(table))
            found[table.name] = [dict(row._mapping) for row in result.all()]
    return found


def refers_to_user(table: str, row: dict[str, Any], uid: int) -> list[str]:
    """Columns of `row` that hold `uid` as a reference to users.id (or are its key)."""
    columns = Base.metadata.tables[table].columns
    hits = [
        c.name
        for c in columns
        if any(fk.column.table.name == "users" for fk in c.foreign_keys) and row[c.name] == uid
    ]
    if table == "users" and row["id"] == uid:
        hits.append("id")
    return hits


async def test_forgetme_erases_every_trace_and_tells_links_only_that_they_ended(
    any_db: str,
) -> None:
    async with Harness(any_db, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
        await contact_link(h, "carol", "alice")
        await contact_link(h, "carol", "erin")
        await level2(h, "alice", "olga")
        # Alice helps Carol: she is alerted, says she is on it, hears the all-clear.
        await h.say("carol", "/timer 5m")
        await h.advance(minutes=5)
        await h.advance(minutes=15)
        assert has(await h.say("alice", "/ack"), "The others alerted know you are on it")
        # another contact hears that someone is on it, never who (issue 10)
        assert has(h.new_for("erin"), "Someone alerted is handling the alert for Carol")
        await h.say("carol", "ok")
        # Alice's own life with Holdfast: every kind of row about her.
        await h.say("alice", "/checkin daily 10:00")
        await h.say("alice", "/invite Dan")
        await h.say("alice", "accept notarealcode")
        await h.say("alice", "/sos stopped at the border")
        await h.say("alice", "ok 3 safe now")
        await h.say("alice", "/duress tangerine")
        await h.say("alice", "/timer 1h")
        await h.say("alice", "tangerine")
        await h.say("alice", "/pause 2h away")
        await h.say("alice", "/mydata")
        # Her alerts are closed first: with one open, /forgetme leaves the alert its
        # records until it closes (test_seized_phone tells that story).
        for _ in range(3):
            if has(await h.say("bob", "/resolve"), "no open alert"):
                break
        alice = await user_id(h, "alice")
        before = await rows_of_every_table(h)
        assert any(refers_to_user(t, r, alice) for t, rows in before.items() for r in rows)
        h.clear()

        assert has(await h.say("alice", "/forgetme confirm"), "Nothing to confirm")
        asked = await h.say("alice", "/forgetme")
        assert has(asked, "send /forgetme confirm within 10 minutes")
        assert has(asked, "1. Yes, erase everything")
        assert await h.say("alice", "1") == [
            "Done: everything Holdfast stored about you is erased, and this message is deleted "
            "from the server once sent. If you write again, you start afresh."
        ]
        ended = "One of your trusted-contact links has ended. /contacts shows who is still linked."
        assert h.new_for("bob") == [ended] and h.new_for("carol") == [ended]
        assert h.new_for("erin") == [] and h.new_for("olga") == []
        await h.advance(hours=1)  # the farewell message goes once it was sent

        after = await rows_of_every_table(h)
        assert after["users"] and after["contacts"] and after["outbox"]  # others' data stays
        for table, rows in after.items():
            for row in rows:
                assert not refers_to_user(table, row, alice), (table, row)
                text = json.dumps(row, default=str, ensure_ascii=False).casefold()
                assert "alice" not in text, (table, row)
        assert has(await h.say("carol", "/contacts"), "#")
        assert not has(await h.say("carol", "/contacts"), "Alice")
        assert has(await h.say("alice", "/start"), "Welcome to Holdfast")  # a stranger now


async def test_forgetme_confirmation_expires(sqlite_url: str) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        assert has(await h.say("alice", "/forgetme please"), "Send /forgetme to erase")
        await h.say("alice", "/forgetme")
        await h.advance(minutes=11)
        assert has(await h.say("alice", "/forgetme confirm"), "Nothing to confirm")
        assert has(await h.say("alice", "/status"), "Your status")  # still here


# -- encryption at rest, rotation ------------------------------------------------------

SECRETS = (
    "Zainab Qasemi", "Farhad Karimi", "meeting lawyer Roya", "slept badly after the raid",
    "visiting family in Herat", "taken at checkpoint seven", "tangerine", "90817263",
)  # fmt: skip


async def encrypted_story(h: Harness) -> None:
    """Zainab, with Farhad as her trusted contact, uses every feature that stores text."""
    await link_as(h, ZAINAB, FARHAD)
    await say_as(h, ZAINAB, "/duress tangerine")
    await say_as(h, ZAINAB, "/pin 90817263")
    await say_as(h, ZAINAB, "/timer 30m meeting lawyer Roya")
    await h.advance(minutes=30)
    await h.advance(minutes=15)
    assert has(await say_as(h, FARHAD, "/ack"), "Zainab Qasemi")
    await say_as(h, ZAINAB, "ok 90817263 2 slept badly after the raid")
    await say_as(h, ZAINAB, "/sos taken at checkpoint seven")
    await say_as(h, ZAINAB, "tangerine")
    await say_as(h, ZAINAB, "/pause 1d visiting family in Herat 90817263")  # the PIN goes last
    await say_as(h, ZAINAB, "/mydata 90817263")
    # A group with an alert chat: its chat id must not show either.
    created = await say_as(h, FARHAD, "/group_new Field team")
    code = next(w for m in created for line in m.splitlines() if line.startswith("join ")
                for w in line.split()[1:])  # fmt: skip
    await say_as(h, ZAINAB, f"/join {code}")
    await h.say_in_group(FARHAD[0], GROUP_CHAT, "/group_alerts 1")


#: Platform ids and chat ids: a copy of the database must show none of them.
IDS = ("15550001234", "15550009876", "team-room-4471")
GROUP_CHAT = "team-room-4471"


def database_bytes(folder: Path) -> bytes:
    """The database file, its WAL and shared memory, as they lie on disk."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith("h"))


async def test_nothing_personal_is_in_the_database_file_in_clear(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    async with Harness(url, FakeClock(T0), secret_key=KEY) as h:
        await encrypted_story(h)
        doc = export_in(h, h.inbox(ZAINAB[0]))
        assert doc["person"]["pause_reason"] == "visiting family in Herat"  # readable in the app
        blob = database_bytes(tmp_path)
        async with transaction(h.app.rt.sessions) as session:
            user = (await session.execute(select(User).where(User.id == 1))).scalar_one()
    assert blob.count(b"hf1:") > 20  # the text is there, sealed
    lowered = blob.lower()
    for secret in SECRETS:
        assert secret.lower().encode() not in lowered, secret
    for stored in (user.duress_hash, user.pin_hash):  # slow hashes, sealed with the key
        assert stored is not None and stored.startswith("hf1:") and "scrypt" not in stored
    assert database_bytes(tmp_path).count(b"hf1:") > 20  # after the app stopped (WAL folded)
    for secret in SECRETS:
        assert secret.lower().encode() not in database_bytes(tmp_path).lower(), secret
    for platform_id in IDS:  # identities, outbox, dedupe keys, recipients, alert chats
        assert platform_id.encode() not in blob, platform_id
        assert platform_id.encode() not in database_bytes(tmp_path), platform_id
    with sqlite3.connect(tmp_path / "holdfast.db") as conn:  # what `sqlite3 .dump` shows
        dump = "\n".join(conn.iterdump())
        conn.row_factory = sqlite3.Row
        tables = {
            name: [dict(r) for r in conn.execute(f"SELECT * FROM {name}")]  # noqa: S608
            for name in (*ALERT_TABLES, "wellbeing_entries")
        }
    assert dump.count("hs1:") > 10  # the ids are there, sealed
    for text in (*SECRETS, *IDS):
        assert text.lower() not in dump.lower(), text
    sos_and_duress_look_alike(tables)


#: The tables an alert leaves rows in.
ALERT_TABLES = ("checkins", "alerts", "alert_recipients", "outbox")


def _shape(column: str, value: Any) -> Any:
    """What a copy shows of a value, with times and sealed values reduced to their kind."""
    if value is None:
        return None
    text = str(value)
    if text.startswith(("hf1:", "hs1:")):
        return ("sealed", len(text))
    if column.endswith("_at"):
        return "a time"
    return text


def sos_and_duress_look_alike(tables: dict[str, list[dict[str, Any]]]) -> None:
    """The story raised one SOS and one duress alert: a copy must not tell which is which.

    Nothing says "duress" (no kind, no column), and the two alerts leave the same rows
    (check-in, levels, recipients, messages), value for value, but for ids, times,
    sealed values of one length, and the SOS's own text (an SOS may carry none).
    """
    checkins = tables["checkins"]
    assert "duress" not in checkins[0] and "duress" not in (tables["wellbeing_entries"] or [{}])[0]
    assert all(c["kind"] != "duress" for c in checkins)
    emergencies = [c for c in checkins if c["kind"] == "sos"]
    assert len(emergencies) == 2  # the SOS and the duress alert, both stored as an SOS

    def trace(checkin: dict[str, Any]) -> tuple[Any, ...]:
        row = tuple(
            (k, _shape(k, v)) for k, v in sorted(checkin.items()) if k not in ("id", "message")
        )
        alerts = [a for a in tables["alerts"] if int(a["checkin_id"]) == int(checkin["id"])]
        ids = {int(a["id"]) for a in alerts}
        recipients = sorted(
            (str(r["status"]), r["user_id"] is None)
            for r in tables["alert_recipients"]
            if int(r["alert_id"]) in ids
        )
        messages = sorted(
            (str(o["kind"]), str(o["priority"]), str(o["status"]), str(o["attempts"]))
            for o in tables["outbox"]
            if o["alert_id"] is not None and int(o["alert_id"]) in ids
        )
        return row, sorted(str(a["level"]) for a in alerts), recipients, messages

    sos, duress = (trace(c) for c in emergencies)
    assert sos == duress
    defender = str(emergencies[0]["user_id"])  # her reach report is a reply like any other
    assert not any(o["kind"] == "alert" and str(o["user_id"]) == defender for o in tables["outbox"])


def pg_tables(dump: str, names: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Rows of some tables, read from the COPY blocks of a `pg_dump --data-only`."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    lines = iter(dump.splitlines())
    for line in lines:
        if not line.startswith("COPY public."):
            continue
        name, _, rest = line[len("COPY public.") :].partition(" ")
        columns = rest[rest.index("(") + 1 : rest.index(")")].split(", ")
        for row in iter(lines.__next__, "\\."):
            if name in found:
                values = [None if v == "\\N" else v for v in row.split("\t")]
                found[name].append(dict(zip(columns, values, strict=True)))
    return found


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`cli.main` configures the root logger; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_rotate_key_then_restart_with_the_new_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    clock = FakeClock(T0)
    async with Harness(url, clock, secret_key=KEY) as h:
        await encrypted_story(h)
    monkeypatch.setenv("HOLDFAST_DATABASE_URL", url)
    monkeypatch.setenv("HOLDFAST_SECURITY_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("HOLDFAST_SECURITY_OLD_KEY", KEY)
    assert await asyncio_to_thread(cli.main, ["rotate-key"]) == 0
    assert "re-encrypted" in capsys.readouterr().out
    clock.advance(timedelta(hours=1))  # one export an hour
    async with Harness(url, clock, secret_key=NEW_KEY) as h:
        contacts = await say_as(h, FARHAD, "/contacts")
        assert has(contacts, "Zainab Qasemi")
        doc = export_in(h, await say_as(h, ZAINAB, "/mydata 90817263"))
        assert doc["person"]["display_name"] == "Zainab Qasemi"
        assert doc["person"]["pause_reason"] == "visiting family in Herat"
        assert any(c["note"] == "slept badly after the raid" for c in doc["check_ins"])
        assert any(c["message"] == "taken at checkpoint seven" for c in doc["check_ins"])
        assert await say_as(h, ZAINAB, "ok") == [
            "That did not check you in: send your PIN now, or ok with your PIN, e.g. ok 1234"
        ]
        assert (await say_as(h, ZAINAB, "ok 90817263"))[0].startswith("Thank you")
        assert has(await say_as(h, ZAINAB, "tangerine 90817263"), "Thank you")  # duress known
        assert has(h.new_for(FARHAD[0]), "SOS (silent): Zainab Qasemi")


async def asyncio_to_thread(fn: Any, *args: Any) -> Any:
    """`cli.main` runs its own event loop: call it from a thread."""
    return await asyncio.to_thread(fn, *args)


# -- no personal data in logs ----------------------------------------------------------


async def test_logs_at_info_carry_no_text_names_numbers_or_contacts(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await encrypted_story(h)
        await say_as(h, FARHAD, "/contacts")
        await say_as(h, ZAINAB, "/status")
        await say_as(h, ZAINAB, "/forgetme")
        await say_as(h, ZAINAB, "/forgetme confirm 90817263")
        await h.advance(hours=2)
    actions = {getattr(r, "action", None) for r in caplog.records}
    assert {"checkin.escalate", "command.private", "privacy.erased"} <= actions  # it did log
    # The duress word, the PIN and OK are one kind of line: nobody reading the logs can
    # tell who set or used a safety feature.
    assert not {"command.duress", "command.pin", "command.ok", "command.sos"} & actions
    forbidden = [*SECRETS, ZAINAB[0], ZAINAB[0][1:], FARHAD[0][1:], "Zainab", "Farhad"]
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__!r}"
        for secret in forbidden:
            assert secret not in line, (secret, record.name, line)


# -- retention -------------------------------------------------------------------------


async def test_retention_purges_old_history_but_nothing_open_or_unsent(any_db: str) -> None:
    clock = FakeClock(T0)
    async with Harness(any_db, clock, retention=timedelta(days=1)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "ok 3 fine")  # closed at once
        await h.say("alice", "/timer 10m")
        await h.say("alice", "ok")  # a closed timer
        await h.say("alice", "/timer 5m")
        await h.advance(minutes=5)
        await h.advance(minutes=15)  # missed: Bob alerted, the alert unresolved
        assert has(h.new_for("bob"), "SAFETY ALERT")
        async with transaction(h.app.rt.sessions) as session:
            await outbox.enqueue(session, Outgoing(Address("telegram", "42"), "x"), now=T0)
            await session.execute(  # waiting for a platform that is down: not sent yet
                update(Outbox).where(Outbox.platform == "telegram")
                .values(next_attempt_at=T0 + timedelta(days=365))
            )  # fmt: skip
            await chats.first_time(session, "telegram", "update-1", T0)

        report = await h.advance(days=2)
        assert report.purged > 0
        left = await rows_of_every_table(h)
        assert [(c["kind"], c["state"]) for c in left["checkins"]] == [("timer", "missed")]
        assert [a["resolved_at"] for a in left["alerts"]] == [None]
        waiting = [(o["platform"], o["status"]) for o in left["outbox"] if o["status"] != "sent"]
        assert waiting == [("telegram", "pending")]
        # the open alert's latest "still open" notices are younger than retention: they stay
        recent = h.clock.now() - timedelta(days=1)
        assert all(o["sent_at"] >= recent for o in left["outbox"] if o["status"] == "sent")
        assert left["processed_inbound"] == []

        await h.say("alice", "ok")  # the old missed timer closes now
        assert (await h.advance(minutes=1)).purged == 0  # at most once an hour
        async with transaction(h.app.rt.sessions) as session:
            assert (await session.execute(select(Checkin.state))).scalars().all() == ["resolved"]
        await h.advance(hours=1)
        async with transaction(h.app.rt.sessions) as session:
            assert (await session.execute(select(Checkin.id))).scalars().all() == []
            assert (await session.execute(select(Alert.id))).scalars().all() == []
            assert (await session.execute(select(ProcessedInbound.id))).scalars().all() == []


async def test_info_logs_of_a_duress_answer_match_a_plain_ok(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever reads the logs cannot tell a duress word from an OK, nor an SOS it raised."""
    caplog.set_level(logging.INFO)
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        for who, contact in (("alice", "carol"), ("bob", "dave")):
            await contact_link(h, who, contact)
            await h.say(who, "/duress tangerine")
            await h.say(who, "/timer 30m")

        caplog.clear()
        await h.say("alice", "ok")
        plain = [getattr(r, "action", "") for r in caplog.records if r.levelno >= logging.INFO]
        caplog.clear()
        await h.say("bob", "ok tangerine")
        duress = [getattr(r, "action", "") for r in caplog.records if r.levelno >= logging.INFO]
        assert has(h.new_for("dave"), "SOS")  # the silent alert did go out
        assert plain == duress


@pytest.mark.postgres
async def test_a_pg_dump_shows_no_name_id_or_note() -> None:
    """The same story on PostgreSQL; `pg_dump` of the database shows nobody."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set HOLDFAST_TEST_DATABASE_URL to run this case")
    db_url = await _fresh_pg()
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed; install the PostgreSQL client to run this test")
    engine = create_engine(db_url)
    await upgrade(engine)
    await engine.dispose()
    async with Harness(db_url, FakeClock(T0), secret_key=KEY) as h:
        await encrypted_story(h)
    url = make_url(db_url)
    dump = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", "--data-only", url.database or "test"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert dump.stdout.count("hs1:") > 10 and dump.stdout.count("hf1:") > 20
    for text in (*SECRETS, *IDS):
        assert text.lower() not in dump.stdout.lower(), text
    sos_and_duress_look_alike(pg_tables(dump.stdout, (*ALERT_TABLES, "wellbeing_entries")))


async def test_an_older_databases_duress_alerts_become_sealed_sos_alerts(sqlite_url: str) -> None:
    """Migration 0013 and the first start with the key: no 'duress' kind is left, the bot
    still knows which SOS was a duress alert, and answers kept marked as coerced go."""
    engine = create_engine(sqlite_url)
    await upgrade(engine, "0012_deferred_commands")
    async with engine.begin() as conn:
        await conn.execute(sql(
            "INSERT INTO users (id, display_name, lang, created_at) VALUES (1, 'Zed', 'en', :t)"
        ), {"t": T0})  # fmt: skip
        for checkin_id, kind in ((1, "sos"), (2, "duress"), (3, "scheduled")):
            await conn.execute(sql(
                "INSERT INTO checkins (id, user_id, kind, due_at, deadline_at, state, level, "
                "grace_s, level2_after_s, duress, repeats_sent, created_at) "
                "VALUES (:id, 1, :kind, :t, :t, 'missed', 1, 0, 0, :duress, 0, :t)"
            ), {"id": checkin_id, "kind": kind, "t": T0, "duress": kind == "duress"})  # fmt: skip
        for checkin_id, duress in ((2, True), (3, False)):
            await conn.execute(sql(
                "INSERT INTO wellbeing_entries (user_id, checkin_id, at, score, duress) "
                "VALUES (1, :c, :t, '3', :d)"
            ), {"c": checkin_id, "t": T0, "d": duress})  # fmt: skip
    await engine.dispose()
    async with Harness(sqlite_url, FakeClock(T0), secret_key=KEY) as h:
        async with transaction(h.app.rt.sessions) as session:
            rows = (await session.execute(select(Checkin).order_by(Checkin.id))).scalars().all()
            assert [(c.kind, kind_of(c).value) for c in rows] == [
                ("sos", "sos"), ("sos", "duress"), ("scheduled", "scheduled"),
            ]  # fmt: skip
            entries = (await session.execute(select(WellbeingEntry))).scalars().all()
            assert [e.checkin_id for e in entries] == [3]
    with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as conn:
        variants = [v for (v,) in conn.execute("SELECT variant FROM checkins ORDER BY id")]
    assert variants[0].startswith("hf1:") and len(variants[0]) == len(variants[1])
    assert variants[0] != variants[1] and variants[2] is None


async def test_scores_an_older_holdfast_kept_on_check_ins_become_sealed_answers(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(sql(
            "INSERT INTO users (id, display_name, lang, created_at) VALUES (1, 'Zed', 'en', :t)"
        ), {"t": T0})  # fmt: skip
        for checkin_id, score in ((1, 2), (2, None), (3, 5)):
            await conn.execute(sql(
                "INSERT INTO checkins (id, user_id, kind, due_at, deadline_at, state, level, "
                "grace_s, level2_after_s, repeats_sent, created_at, answered_at, score) "
                "VALUES (:id, 1, 'scheduled', :t, :t, 'ok', 0, 0, 0, 0, :t, :t, :score)"
            ), {"id": checkin_id, "t": T0 + timedelta(days=checkin_id), "score": score})
    await engine.dispose()
    async with Harness(sqlite_url, FakeClock(T0 + timedelta(days=4)), secret_key=KEY) as h:
        async with transaction(h.app.rt.sessions) as session:
            history = await wellbeing_store.history(session, 1, T0)
            assert [(e.at, e.score) for e in history] == [
                (T0 + timedelta(days=1), 2), (T0 + timedelta(days=3), 5),
            ]  # fmt: skip
            left = (await session.execute(select(Checkin.score))).scalars().all()
            assert left == [None, None, None]
    with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as conn:
        stored = [v for (v,) in conn.execute("SELECT score FROM wellbeing_entries")]
    assert len(stored) == 2 and all(v.startswith("hf1:") for v in stored)  # sealed at rest


async def test_a_duress_alert_leaves_the_row_an_sos_reach_report_leaves(sqlite_url: str) -> None:
    """An SOS tells the defender how many it reached; a duress alert tells nothing.

    At rest the two must still look alike: the duress alert leaves the same reply row
    in the defender's chat, recorded as sent and never sent (the phone shows nothing).
    """
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        await link(h, "alice", "bob")
        await h.say("alice", "/duress tangerine")
        h.clear()
        shown = await h.say("alice", "tangerine")  # everything the phone shows for it
        assert has(shown, "checked in") and not has(shown, "Your SOS reached")
        assert has(h.new_for("bob"), "may be in danger")
        h.clock.advance(timedelta(hours=1))
        assert has(await h.say("alice", "/sos"), "Your SOS reached 1 of 1 people")
        await h.deliver()
        assert h.new_for("alice") == []  # the stand-in row was never sent
        async with transaction(h.app.rt.sessions) as session:
            alerts = (await session.execute(
                select(Checkin).where(Checkin.kind == "sos").order_by(Checkin.id)
            )).scalars().all()  # fmt: skip
            assert [kind_of(c).value for c in alerts] == ["duress", "sos"]
            rows = [
                (await session.execute(
                    select(Outbox).where(Outbox.dedupe_key == f"{prefix}{c.id}")
                )).scalar_one()  # fmt: skip
                for prefix, c in zip(("hidreach:", "sosreach:"), alerts, strict=True)
            ]
        assert len(rows[0].dedupe_key) == len(rows[1].dedupe_key)  # sealed: equally long
        doc = export_in(h, await h.say("alice", "/mydata"))
    reports = [m for m in doc["messages_to_you"] if m["text"].startswith("Your SOS reached")]
    assert len(reports) == 1  # the SOS's: the stand-in is never exported
    duress_row, sos_row = (
        (r.kind, r.priority, r.status, r.attempts, r.user_id, r.platform, r.alert_id)
        for r in rows
    )
    assert duress_row == sos_row == ("reply", sos_row[1], "sent", 1, sos_row[4], "console", None)
