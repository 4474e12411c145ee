"""No plaintext mode: a key file made on first start, and a database that knows its key.

Started without `security.secret_key`, `holdfast run`/`console` make a random key in
a 0600 file in the user's configuration folder and say where it is; the SQLite file
and its -wal/-shm are 0600. Started with another key, or none, on a database sealed
with a key, the program stops at once naming `security.secret_key`, before anything
is read or written. A database written in clear by an older Holdfast is sealed on the
first start with a key, and text that merely looks like a sealed value ("hf1:x:y") is
stored and shown as the text it is.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Text, insert, select, text, type_coerce

from bot import cli
from bot.config import DatabaseSettings, SecuritySettings, Settings
from bot.store import crypto
from bot.store.db import create_engine, transaction
from bot.store.keycheck import KeyMismatch
from bot.store.migrate import upgrade
from bot.store.models import Checkin, Contact, Identity, User
from tests.support.clock import FakeClock
from tests.support.harness import TEST_KEY, Harness, contact_link, has

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
OTHER_KEY = "Qm2_Zx9Lp-Rt7Yv4Bn8Cw1Kd6Hs3Jf0Ge5Ua-Io_Pe"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_makes_a_private_key_file_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = Settings(database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/h.db"))
    keyed = cli.keyed(settings)
    key_file = tmp_path / "config" / "holdfast" / "secret.key"
    assert keyed is not None and keyed.security.secret_key
    assert key_file.read_text().strip() == keyed.security.secret_key
    assert mode(key_file) == 0o600
    err = capsys.readouterr().err
    assert str(key_file) in err and "Back it up" in err
    again = cli.keyed(settings)  # the second start reads the same key, says nothing
    assert again is not None and again.security.secret_key == keyed.security.secret_key
    assert capsys.readouterr().err == ""


def test_a_key_file_readable_by_others_or_weak_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(OTHER_KEY)
    key_file.chmod(0o644)
    settings = Settings(security=SecuritySettings(key_file=str(key_file)))
    assert cli.keyed(settings) is None
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "security.key_file" in err and "chmod 600" in err
    key_file.chmod(0o600)
    key_file.write_text("k" * 40)
    assert cli.keyed(settings) is None
    assert "does not hold a strong key" in capsys.readouterr().err


async def test_database_files_are_private(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    async with Harness(url, FakeClock(T0)) as h:
        await h.say("alice", "/start")
        files = sorted(tmp_path.glob("holdfast.db*"))
        assert {p.name for p in files} >= {"holdfast.db", "holdfast.db-wal", "holdfast.db-shm"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`cli.main` sets up logging for a process; put the test's logging back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


async def test_a_start_with_another_key_or_none_stops_at_once(
    restore_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    async with Harness(url, FakeClock(T0)) as h:  # sealed with TEST_KEY
        await contact_link(h, "alice", "bob")
    with pytest.raises(KeyMismatch, match="security.secret_key"):
        async with Harness(url, FakeClock(T0), secret_key=OTHER_KEY):
            pass
    # The real command line: a wrong key, then no key at all (a new key file is made,
    # and it does not open this database either). Both stop before any platform starts.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOLDFAST_DATABASE_URL", url)
    monkeypatch.setenv("HOLDFAST_TELEGRAM_TOKEN", "123456:abcdefghijklmnopqrstuvwxyz")
    monkeypatch.setenv("HOLDFAST_TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    for key in (OTHER_KEY, None):
        if key:
            monkeypatch.setenv("HOLDFAST_SECURITY_SECRET_KEY", key)
        else:
            monkeypatch.delenv("HOLDFAST_SECURITY_SECRET_KEY")
        assert await asyncio.to_thread(cli.main, ["run"]) == 2
        err = capsys.readouterr().err
        assert "security.secret_key does not open this database" in err
        assert "Traceback" not in err
    async with Harness(url, FakeClock(T0)) as h:  # the right key still opens everything
        assert has(await h.say("alice", "/contacts"), "#1 contact 1")


async def test_text_that_looks_sealed_is_just_text(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    clock = FakeClock(T0)
    async with Harness(url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/timer 5m hf1:x:y")
        await h.advance(minutes=5)
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "hf1:x:y")
        await h.say("alice", "/checkin every 6h")
        await h.advance(hours=6)  # ticks go on working
        assert has(h.new_for("alice"), "are you safe?")


async def test_an_old_database_in_clear_is_sealed_on_the_first_start_with_a_key(
    tmp_path: Path,
) -> None:
    """What an older Holdfast, run without a key, left: names and notes in clear."""
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    engine = create_engine(url)
    await upgrade(engine)
    crypto.configure("")  # the old release's plaintext mode
    async with engine.begin() as conn:
        for uid, name in ((1, "Alice"), (2, "Bob")):
            await conn.execute(insert(User).values(id=uid, display_name=name, lang="en",
                                                   created_at=T0))  # fmt: skip
            await conn.execute(insert(Identity).values(user_id=uid, platform="console",
                               external_id=name.lower(), chat_id=name.lower(),
                               last_seen_at=T0))  # fmt: skip
        await conn.execute(insert(Checkin).values(
            user_id=1, kind="timer", state="pending", level=0, due_at=T0,
            next_action_at=T0 + timedelta(minutes=5), deadline_at=T0 + timedelta(minutes=5),
            grace_s=900, level2_after_s=1800, message="hf1:x:y", created_at=T0,
        ))  # fmt: skip
        await conn.execute(insert(Contact).values(defender_id=1, contact_id=2, created_at=T0))
    await engine.dispose()
    clock = FakeClock(T0)
    async with Harness(url, clock) as h:
        async with transaction(h.app.rt.sessions) as session:
            raw = type_coerce(User.display_name, Text)
            stored = (await session.execute(select(raw))).scalars().all()
            note = (await session.execute(select(type_coerce(Checkin.message, Text)))).scalar()
            ids = (
                await session.execute(
                    select(type_coerce(Identity.external_id, Text),
                           type_coerce(Identity.chat_id, Text))
                )
            ).all()  # fmt: skip
        assert all(crypto.looks_sealed(v) for v in stored), "names must be sealed now"
        assert crypto.looks_sealed(note) and crypto.decrypt_field(note) == "hf1:x:y"
        assert all(crypto.looks_sealed_id(v) for row in ids for v in row), ids
        # Nothing lost: the open timer still escalates to the contact, by the sealed ids.
        await h.advance(minutes=5)
        await h.advance(minutes=15)
        assert has(h.new_for("bob"), "Alice")
        assert has(await h.say("alice", "/contacts"), "#1 contact 1")
    assert crypto.current_key_id() is not None and TEST_KEY


async def test_a_database_copy_does_not_show_who_has_a_duress_word_or_pin(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    async with Harness(url, FakeClock(T0)) as h:
        for who in ("alice", "bob", "carol", "dan"):
            await h.say(who, "/start")
        await h.say("bob", "/duress tangerine")
        await h.say("carol", "/pin 4821")
        async with transaction(h.app.rt.sessions) as session:
            await session.execute(insert(User).values(id=99, display_name="Old", lang="en",
                                                      created_at=T0))  # fmt: skip
    async with Harness(url, FakeClock(T0)) as h:  # a restart fills what older code left NULL
        async with transaction(h.app.rt.sessions) as session:
            raw = (
                await session.execute(
                    select(type_coerce(User.duress_hash, Text), type_coerce(User.pin_hash, Text))
                )
            ).all()
            users = {u.id: u for u in (await session.execute(select(User))).scalars()}
    stored = [value for row in raw for value in row]
    assert all(v is not None and crypto.looks_sealed(v) for v in stored)
    assert len({len(v) for v in stored}) == 1, "set and unset must look alike"
    assert len(set(stored)) == len(stored), "every filler is sealed afresh"
    with_duress = sorted(u.id for u in users.values() if u.duress_hash is not None)
    with_pin = sorted(u.id for u in users.values() if u.pin_hash is not None)
    assert (len(with_duress), len(with_pin)) == (1, 1)  # with the key, the app still knows


async def test_ids_in_clear_under_an_existing_key_are_sealed_once(tmp_path: Path) -> None:
    """A database that had its key before platform ids were sealed (the previous release)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"
    async with Harness(url, FakeClock(T0)) as h:
        await contact_link(h, "alice", "bob")
    engine = create_engine(url)
    async with engine.begin() as conn:  # what that release left: ids in clear
        await conn.execute(text("UPDATE identities SET external_id = 'alice', chat_id = 'alice' "
                                "WHERE id = 1"))  # fmt: skip
        await conn.execute(text("UPDATE key_check SET ids_sealed = false"))
    await engine.dispose()
    async with Harness(url, FakeClock(T0)) as h:
        assert has(await h.say("alice", "/contacts"), "#1 contact 1")  # found by the sealed id
        async with transaction(h.app.rt.sessions) as session:
            raw = (await session.execute(text("SELECT external_id, chat_id FROM identities"))).all()
            marked = (await session.execute(text("SELECT ids_sealed FROM key_check"))).scalar()
    assert all(crypto.looks_sealed_id(v) for row in raw for v in row) and marked
    assert len(raw) == 2  # alice was recognised, not registered a second time
