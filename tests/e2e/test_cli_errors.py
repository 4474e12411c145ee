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

KEY = "Wm4_Tz8Lp-Qx2Rv7Bn9Cy1Kd6Hs3Jf0Ge5Ua"
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
    """No key in the configuration, and no key file can be made where it is configured."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    env = {
        "HOLDFAST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/holdfast.db",
        "HOLDFAST_SECURITY_KEY_FILE": f"{blocker}/secret.key",
    }
    if command == "migrate":  # the schema needs no key: this one works
        return env, [], ""
    if command == "rotate-key":
        return env, [], "security.secret_key (HOLDFAST_SECURITY_SECRET_KEY)"
    return env, [], "security.key_file"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", [broken_url, unwritable_path, missing_key])
def test_each_command_fails_in_one_line_naming_the_key(
    tmp_path: Path, command: str, case: object
) -> None:
    env, args, named = case(tmp_path, command)  # type: ignore[operator]
    code, err = run(tmp_path, command, env, *args)
    assert "Traceback" not in err and "SECRETPW" not in err
    if not named:  # migrate without a key: nothing to complain about
        assert code == 0, err
        return
    lines = err.strip().splitlines()
    assert code != 0
    assert len(lines) == 1, err
    assert named in lines[0]


def test_a_worker_thread_outliving_the_loop_prints_no_traceback() -> None:
    """aiosqlite's thread may hand back a failed connect after the loop closed."""
    import threading

    from bot.cli import quiet_closed_loop

    seen: list[BaseException | None] = []
    hook = quiet_closed_loop(lambda args: seen.append(args.exc_value))

    def fail(error: BaseException) -> None:
        try:
            raise error
        except BaseException as caught:
            hook(threading.ExceptHookArgs(
                (type(caught), caught, caught.__traceback__, threading.current_thread())
            ))  # fmt: skip

    fail(RuntimeError("Event loop is closed"))
    assert seen == []  # dropped: the one-line error was already printed
    bug = ValueError("a real bug")
    fail(bug)
    assert seen == [bug]  # anything else goes to the hook that was there before
