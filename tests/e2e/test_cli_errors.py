"""Every command-line command, run wrong the three usual ways, answers in one line.

A broken database URL, a path that cannot be written, and a missing key: each
command (`migrate`, `console`, `rotate-key`, `check-config`) is a real process with
default logging, and its error output must be one line that names the key (or the
path) and the fix, never a traceback and never a password from the URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KEY = "k" * 40
#: Nothing listens on port 1; the password must never be echoed.
BROKEN_PG = "postgresql+asyncpg://holdfast:SECRETPW@127.0.0.1:1/holdfast"
COMMANDS = ("migrate", "console", "rotate-key", "check-config")


def run(tmp_path: Path, command: str, env: dict[str, str], *args: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", command, *args],
        input=":quit\n", capture_output=True, text=True, cwd=tmp_path, env=clean | env,
        timeout=50, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr


def broken_url(tmp_path: Path, command: str) -> tuple[dict[str, str], list[str], str]:
    if command == "check-config":  # it reads the configuration, it does not connect
        return {"HOLDFAST_DATABASE_URL": "mysql://u:SECRETPW@h/db"}, [], "database.url"
    env = {"HOLDFAST_DATABASE_URL": BROKEN_PG, "HOLDFAST_SECURITY_SECRET_KEY": KEY}
    return env, [], "database.url (HOLDFAST_DATABASE_URL)"


def unwritable_path(tmp_path: Path, command: str) -> tuple[dict[str, str], list[str], str]:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    if command == "check-config":
        return {}, ["--config", str(tmp_path)], str(tmp_path)  # a folder, not a file
    env = {
        "HOLDFAST_DATABASE_URL": f"sqlite+aiosqlite:///{blocker}/holdfast.db",
        "HOLDFAST_SECURITY_SECRET_KEY": KEY,
    }
    return env, [], f"{blocker}/holdfast.db"


def missing_key(tmp_path: Path, command: str) -> tuple[dict[str, str], list[str], str]:
    if command == "migrate":  # the schema needs no key: this reaches the database
        return {"HOLDFAST_DATABASE_URL": BROKEN_PG}, [], "database.url"
    return {"HOLDFAST_DATABASE_URL": BROKEN_PG}, [], "HOLDFAST_SECURITY_SECRET_KEY"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", [broken_url, unwritable_path, missing_key])
def test_each_command_fails_in_one_line_naming_the_key(
    tmp_path: Path, command: str, case: object
) -> None:
    env, args, named = case(tmp_path, command)  # type: ignore[operator]
    code, err = run(tmp_path, command, env, *args)
    lines = err.strip().splitlines()
    assert code != 0
    assert len(lines) == 1, err
    assert named in lines[0]
    assert "Traceback" not in err and "SECRETPW" not in err


def test_migrate_then_console_work_without_a_key_on_sqlite(tmp_path: Path) -> None:
    """SQLite without a key works (a loud warning); the error cases above are real errors."""
    code, err = run(tmp_path, "migrate", {})
    assert code == 0, err
    code, err = run(tmp_path, "console", {})
    assert code == 0, err
    assert "security.secret_key is empty" in err and "Traceback" not in err
