"""Field encryption, secret hashing, and key rotation against a real SQLite file."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, select, text, type_coerce

from bot.rotate import RotationError, rotate_key, secret_columns
from bot.store import crypto
from bot.store.db import create_engine, session_factory, transaction
from bot.store.migrate import upgrade
from bot.store.models import Checkin, User

KEY_A = "a" * 32 + "-first-key"
KEY_B = "b" * 32 + "-second-key"
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_key() -> Iterator[None]:
    """The cipher is process-wide: every test starts and ends without a key."""
    crypto.configure("")
    yield
    crypto.configure("")


# -- the field cipher ------------------------------------------------------------------


def test_without_a_key_values_are_stored_as_they_are() -> None:
    assert not crypto.is_configured()
    assert crypto.encrypt_field("meeting at noon") == "meeting at noon"
    assert crypto.decrypt_field("meeting at noon") == "meeting at noon"


def test_sealed_values_open_and_do_not_show_the_text() -> None:
    crypto.configure(KEY_A)
    sealed = crypto.encrypt_field("meeting at noon")
    assert "meeting" not in sealed and sealed.startswith("hf1:")
    assert crypto.decrypt_field(sealed) == "meeting at noon"
    assert crypto.sealed_with(sealed) == crypto.current_key_id()


def test_the_same_text_seals_differently_each_time() -> None:
    crypto.configure(KEY_A)
    assert crypto.encrypt_field("x") != crypto.encrypt_field("x")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_round_trips(value: str) -> None:
    crypto.configure(KEY_A)
    assert crypto.decrypt_field(crypto.encrypt_field(value)) == value


def test_a_tampered_value_is_refused() -> None:
    crypto.configure(KEY_A)
    prefix, key_id, payload = crypto.encrypt_field("reason").split(":", 2)
    blob = bytearray(base64.b64decode(payload))
    blob[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_field(f"{prefix}:{key_id}:{base64.b64encode(bytes(blob)).decode()}")


def test_a_value_sealed_with_an_unknown_key_says_which_setting_to_fix() -> None:
    crypto.configure(KEY_A)
    sealed = crypto.encrypt_field("note")
    crypto.configure(KEY_B)
    with pytest.raises(crypto.DecryptionError, match="HOLDFAST_SECURITY_SECRET_KEY"):
        crypto.decrypt_field(sealed)


def test_old_keys_still_open_what_they_sealed() -> None:
    crypto.configure(KEY_A)
    old = crypto.encrypt_field("note")
    crypto.configure(KEY_B, (KEY_A,))
    assert crypto.decrypt_field(old) == "note"
    assert not crypto.is_sealed_with_current(old)
    assert crypto.is_sealed_with_current(crypto.encrypt_field("note"))


# -- secrets people type ---------------------------------------------------------------


def test_secret_hashes_are_salted_slow_and_not_the_secret() -> None:
    first, second = crypto.hash_secret("tangerine"), crypto.hash_secret("tangerine")
    assert first != second  # salted
    assert first.startswith("scrypt$") and "tangerine" not in first
    assert crypto.verify_secret("tangerine", first) and crypto.verify_secret("tangerine", second)
    assert not crypto.verify_secret("tangerina", first)


def test_secrets_compare_normalised() -> None:
    stored = crypto.hash_secret("Tangerine")
    assert crypto.verify_secret(" tangerine ", stored)
    assert crypto.verify_secret("ＴＡＮＧＥＲＩＮＥ", stored)  # fullwidth, as some keyboards type


@pytest.mark.parametrize(
    "stored", [None, "", "plain", "md5$abc$def", "scrypt$***$***", "scrypt$YWJj$YWJj"]
)
def test_a_missing_or_malformed_hash_never_matches(stored: str | None) -> None:
    assert not crypto.verify_secret("1234", stored)


def test_with_a_key_the_hash_is_sealed_too() -> None:
    crypto.configure(KEY_A)
    stored = crypto.hash_secret("4821")
    assert stored.startswith("hf1:") and "scrypt" not in stored
    assert crypto.verify_secret("4821", stored) and not crypto.verify_secret("4822", stored)
    crypto.configure(KEY_B)  # without the key, nothing matches (the clock keeps running)
    assert not crypto.verify_secret("4821", stored)


async def test_hashing_runs_off_the_event_loop() -> None:
    stored = await crypto.hash_secret_async("482193")
    assert await crypto.verify_secret_async("482193", stored)
    assert not await crypto.verify_secret_async("482194", stored)
    assert not await crypto.verify_secret_async("482193", None)


# -- SecretText in the database, and rotation ------------------------------------------


async def _seed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with transaction(session_factory(engine)) as session:
        pin = crypto.hash_secret("4821")
        session.add(User(display_name="Zainab Qasemi", created_at=NOW, lang="en",
                         pause_reason="family visit", pin_hash=pin))  # fmt: skip
        await session.flush()
        session.add(
            Checkin(user_id=1, kind="manual", due_at=NOW, deadline_at=NOW, state="ok",
                    level=0, grace_s=0, level2_after_s=0, note="slept badly", created_at=NOW)
        )  # fmt: skip
    await engine.dispose()


async def _raw(url: str) -> list[str]:
    """Every stored secret value as it lies in the database."""
    engine = create_engine(url)
    found: list[str] = []
    async with engine.connect() as conn:
        for _table, columns in secret_columns():
            stmt = select(*[type_coerce(c, Text) for c in columns])
            for row in (await conn.execute(stmt)).all():
                found += [v for v in row if v is not None]
    await engine.dispose()
    return found


async def _read(url: str) -> tuple[str, str | None, str | None]:
    """What the app reads back: name, pause reason, note (and the PIN still checks)."""
    engine = create_engine(url)
    async with transaction(session_factory(engine)) as session:
        user = await session.get_one(User, 1)
        note = (await session.execute(select(Checkin.note))).scalar_one()
        result = (user.display_name, user.pause_reason, note)
        assert crypto.verify_secret("4821", user.pin_hash)
    await engine.dispose()
    return result


async def test_secret_columns_are_sealed_in_the_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    crypto.configure(KEY_A)
    await _seed(url)
    raw = await _raw(url)
    assert raw and all(v.startswith("hf1:") for v in raw)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"Zainab", b"family visit", b"slept badly"):
        assert secret not in blob
    assert await _read(url) == ("Zainab Qasemi", "family visit", "slept badly")


async def test_rotation_reseals_every_value_and_can_be_run_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    crypto.configure(KEY_A)
    await _seed(url)
    old_id = crypto.current_key_id()
    engine = create_engine(url)
    report = await rotate_key(engine, KEY_B, (KEY_A,), batch=1)
    assert report.total == 5 and report.resealed["users"] == 4  # a PIN filler too
    again = await rotate_key(engine, KEY_B, (KEY_A,))
    await engine.dispose()
    assert again.total == 0 and again.current >= 3
    raw = await _raw(url)
    assert all(crypto.sealed_with(v) == crypto.current_key_id() != old_id for v in raw)
    crypto.configure(KEY_B)  # the old key is no longer needed
    assert await _read(url) == ("Zainab Qasemi", "family visit", "slept badly")


async def test_rotation_encrypts_data_stored_before_any_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    await _seed(url)  # no key: clear text
    raw = await _raw(url)
    assert "slept badly" in raw and any(v.startswith("scrypt$") for v in raw)
    engine = create_engine(url)
    await rotate_key(engine, KEY_A)
    await engine.dispose()
    assert all(v.startswith("hf1:") for v in await _raw(url))
    crypto.configure(KEY_A)
    assert (await _read(url))[2] == "slept badly"


async def test_rotation_with_a_wrong_old_key_names_the_row_and_the_fix(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
    crypto.configure(KEY_A)
    await _seed(url)
    engine = create_engine(url)
    with pytest.raises(RotationError, match=r"users\.display_name of row 1.*--old-key"):
        await rotate_key(engine, KEY_B, ("not-the-key-" * 3,))
    async with engine.connect() as conn:  # nothing it could not open was changed
        raw = (await conn.execute(text("SELECT display_name FROM users"))).scalar_one()
    await engine.dispose()
    assert raw.startswith("hf1:")
    crypto.configure(KEY_A)
    assert (await _read(url))[0] == "Zainab Qasemi"


async def test_slow_hashes_never_take_more_than_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many people setting PINs at once queue on one thread; the event loop keeps the other."""
    import asyncio
    import threading
    import time

    running, peak, threads = 0, 0, set()
    lock = threading.Lock()

    def observed(secret: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.current_thread().name)
        time.sleep(0.01)
        with lock:
            running -= 1
        return secret

    monkeypatch.setattr(crypto, "hash_secret", observed)
    results = await asyncio.gather(*(crypto.hash_secret_async(str(i)) for i in range(10)))
    assert results == [str(i) for i in range(10)]
    assert peak == 1 and len(threads) == 1
