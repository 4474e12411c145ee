"""`holdfast console` as a person meets it: a real process, typed lines, printed replies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_console(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_console_starts_on_sqlite_default_and_answers_as_each_person(tmp_path: Path) -> None:
    done = run_console(
        tmp_path,
        [
            "/start",
            "/tz Asia/Bangkok",
            "/checkin daily 09:00",
            "/invite",
            ":as bob",
            "/status",
            ":quit",
        ],
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "--> to alice:\nWelcome to Holdfast." in out
    assert "Check-in #1 added: daily 09:00." in out and "(Asia/Bangkok)" in out
    assert "accept " in out  # the console has no deep links: invites are codes
    assert "--> to bob:" in out and "Your status:" in out
    assert (tmp_path / "holdfast.db").exists()  # the SQLite default, migrated on first start


def test_run_without_a_platform_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "HOLDFAST_TELEGRAM_TOKEN" in done.stderr and "holdfast console" in done.stderr


def test_run_with_signal_unreachable_names_the_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    env |= {
        "HOLDFAST_SIGNAL_SERVICE": "127.0.0.1:9",  # nothing listens on the discard port
        "HOLDFAST_SIGNAL_PHONE_NUMBER": "+15550000001",
        "HOLDFAST_SECURITY_SECRET_KEY": "Wm4_Tz8Lp-Qx2Rv7Bn9Cy1Kd6Hs3Jf0Ge5Ua",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "signal.service (HOLDFAST_SIGNAL_SERVICE)" in done.stderr
    assert "+15550000001" not in done.stderr + done.stdout  # the number is never echoed
    assert "Traceback" not in done.stderr


def test_check_config_says_when_demo_mode_is_on(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    env["HOLDFAST_CHECKINS_DEMO"] = "true"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "configuration ok"
    assert lines[-1] == (
        "demo mode is on (checkins.demo): reminder after 20s, contacts alerted 10s later, the "
        "organisation 20s after that, timers from 10s. Not for real use."
    )
