"""`holdfast run | console | migrate | check-config | rotate-key`: entry points, no logic.

Exit codes: 0 fine, 1 a runtime failure, 2 a configuration problem (the message
names the key and the fix).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)

#: The key `rotate-key` opens existing values with (not a setting: only that command reads it).
OLD_KEY_ENV = "HOLDFAST_SECURITY_OLD_KEY"
#: `console --demo` is `[checkins] demo = true` given on the command line.
DEMO_ENV = "HOLDFAST_CHECKINS_DEMO"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="holdfast", description="Safety check-ins that escalate.")
    parser.add_argument("--version", action="version", version=f"holdfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "run the bot on every configured platform"),
        ("console", "the same bot in this terminal, no token needed"),
        ("migrate", "bring the database schema to the newest revision"),
        ("check-config", "validate the configuration, key by key"),
        ("status", "the health of a running deployment, on one screen"),
        ("rotate-key", "re-encrypt stored data with security.secret_key (stop the bot first)"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument(
            "--config",
            metavar="FILE",
            help="TOML file (default: $HOLDFAST_CONFIG or ./holdfast.toml)",
        )
        if name == "run":
            cmd.add_argument(
                "--role",
                choices=("all", "ingest", "worker"),
                default="all",
                help="all (default): everything; ingest: receive from the platforms; "
                "worker: tick the scheduler and send (PostgreSQL: any number of each)",
            )
        if name == "console":
            cmd.add_argument(
                "--user", default="alice", help="who you are at first (default: alice)"
            )
            cmd.add_argument(
                "--demo",
                action="store_true",
                help="a clock in seconds, to watch a missed check-in escalate in two minutes",
            )
        if name == "rotate-key":
            cmd.add_argument(
                "--old-key",
                default=None,
                help=f"the key the data is encrypted with now (default: ${OLD_KEY_ENV}; "
                "none if it was stored without a key)",
            )
    return parser


def quiet_closed_loop(
    previous: Callable[[threading.ExceptHookArgs], object],
) -> Callable[[threading.ExceptHookArgs], object]:
    """A thread hook that drops the one error that echoes an error already told.

    When a command stops on a database it cannot open, aiosqlite's worker thread may
    still be handing back a second failed attempt after the event loop has closed; it
    then raises "Event loop is closed". The operator has already read the one line
    that matters, so that echo is dropped. Every other thread error goes to the hook
    that was there before, as Python (or a test runner) reports it.
    """

    def hook(args: threading.ExceptHookArgs) -> object:
        if isinstance(args.exc_value, RuntimeError) and "Event loop is closed" in str(
            args.exc_value
        ):
            return None
        return previous(args)

    hook.holdfast_quiet = True  # type: ignore[attr-defined]
    return hook


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run a subcommand; returns the exit code."""
    if not getattr(threading.excepthook, "holdfast_quiet", False):
        threading.excepthook = quiet_closed_loop(threading.excepthook)
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return _check_config(args.config)
    try:
        env = {k: v for k, v in os.environ.items() if k != OLD_KEY_ENV}
        if getattr(args, "demo", False):
            env[DEMO_ENV] = "true"
        settings = load_settings(args.config, env)
    except ConfigError as error:
        print(f"holdfast: the configuration has problems:\n{error}", file=sys.stderr)
        return 2
    from bot.logging import setup

    setup(logging.WARNING if args.command in ("console", "status") else logging.INFO)
    if args.command == "migrate":
        command = _migrate(settings)
    elif args.command == "console":
        command = _console(settings, args.user)
    elif args.command == "status":
        command = _status(settings)
    elif args.command == "rotate-key":
        old_key = args.old_key if args.old_key is not None else os.environ.get(OLD_KEY_ENV, "")
        command = _rotate_key(settings, old_key)
    else:
        command = _run(settings, args.role)
    try:
        return asyncio.run(_one_line(settings, command))
    except KeyboardInterrupt:
        return 0


async def _one_line(settings: Settings, command: Coroutine[Any, Any, int]) -> int:
    """Run a command; a database it cannot use ends in one line, never a traceback.

    Caught inside the event loop, so the database driver's threads close cleanly.
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return await command
    except (OSError, SQLAlchemyError) as error:
        print(database_problem(settings.database.url, error), file=sys.stderr)
        return 1


def database_problem(url: str, error: BaseException) -> str:
    """One line naming database.url and the fix; the URL itself may hold a password."""
    reason = getattr(error, "orig", None) or error
    detail = getattr(reason, "strerror", None) or str(reason).splitlines()[0][:120]
    key = "database.url (HOLDFAST_DATABASE_URL)"
    if url.startswith("sqlite"):
        path = url.partition(":///")[2] or "holdfast.db"
        return (
            f"holdfast: cannot open the SQLite database {path} named by {key}: {detail}. "
            "Check that its folder exists and you may write there, or point it elsewhere."
        )
    return (
        f"holdfast: cannot use the database at {key}: {type(reason).__name__}. "
        "Check that PostgreSQL is running and the URL's host, port, user and database are right."
    )


def _check_config(path: str | None) -> int:
    try:
        settings = load_settings(path)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{problem.key}: {problem.message}", file=sys.stderr)
        return 2
    from bot.keys import describe

    unusable = _unusable_key_file(settings)
    if unusable:
        print(unusable, file=sys.stderr)
        return 2
    print("configuration ok")
    print(f"secret key: from {describe(settings).description}")
    if settings.checkins.demo:
        print(_demo_note(settings))
    return 0


def _unusable_key_file(settings: Settings) -> str:
    """Why the key file could not be made on first start, or "" (check-config only)."""
    from bot.keys import key_file_path

    if settings.security.secret_key:
        return ""
    path = key_file_path(settings)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if path.exists() or (folder.is_dir() and os.access(folder, os.W_OK)):
        return ""
    return (
        f"security.key_file: cannot make the key file {path}: {folder} is not a writable "
        "folder. Point security.key_file (HOLDFAST_SECURITY_KEY_FILE) to a writable place, "
        "or set HOLDFAST_SECURITY_SECRET_KEY."
    )


def _demo_note(settings: Settings) -> str:
    from bot.core.durations import format_duration as fmt

    c = settings.checkins
    return (
        f"demo mode is on (checkins.demo): reminder after {fmt(c.response_window)}, "
        f"contacts alerted {fmt(c.grace)} later, the organisation {fmt(c.level2_after)} after "
        f"that, timers from {fmt(c.min_timer)}. Not for real use."
    )


async def _migrate(settings: Settings) -> int:
    from bot.store.db import create_engine
    from bot.store.migrate import status, upgrade

    engine = create_engine(settings.database.url)
    try:
        await upgrade(engine)
        found = await status(engine)
        print(f"database at revision {found.current} (newest)")
        return 0
    finally:
        await engine.dispose()


async def _status(settings: Settings) -> int:
    from bot.clock import SystemClock
    from bot.ops import status

    code, screen = await status.run(settings, SystemClock().now())
    print(screen, file=sys.stdout if code == 0 or "\n" in screen else sys.stderr)
    return code


async def _run(settings: Settings, role: str = "all") -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import App
    from bot.ops.roles import Role, RoleRefused
    from bot.store.keycheck import KeyMismatch
    from bot.store.migrate import SchemaOutOfDate
    from bot.transports.base import TransportSetupError

    if not (settings.telegram.enabled or settings.signal.enabled):
        print(
            "holdfast: no platform is configured. Set telegram.token (HOLDFAST_TELEGRAM_TOKEN) "
            "for Telegram, or signal.service and signal.phone_number (HOLDFAST_SIGNAL_SERVICE, "
            "HOLDFAST_SIGNAL_PHONE_NUMBER) for Signal.\nTo try Holdfast without either, run: "
            "holdfast console",
            file=sys.stderr,
        )
        return 2
    keyed_settings = keyed(settings)
    if keyed_settings is None:
        return 2
    app = App(keyed_settings, role=Role(role))
    try:
        await app.run_until_stopped()
    except (SchemaOutOfDate, TransportSetupError, KeyMismatch, RoleRefused) as error:
        print(f"holdfast: {error}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as error:
        print(database_problem(settings.database.url, error), file=sys.stderr)
        return 1
    return 0


def keyed(settings: Settings) -> Settings | None:
    """The settings with their key (made on first start); None after a one-line error.

    There is no plaintext mode: without `security.secret_key` a key file is read, or
    made and announced (it must be backed up: without it nothing can be read).
    """
    from bot.keys import KeyFileError, with_key

    try:
        settings, source = with_key(settings)
    except KeyFileError as error:
        print(f"holdfast: {error}", file=sys.stderr)
        return None
    if source.created:
        print(
            f"holdfast: made a new secret key in {source.description}. Back it up now: "
            "without it nothing stored can be read.",
            file=sys.stderr,
        )
    return settings


#: What `holdfast console --demo` prints first: the whole ladder in a few typed lines.
DEMO_SCRIPT = """[demo] Demo mode: the clock runs in seconds. Try this:
[demo] 1. /invite  ({user} makes a code for a trusted contact)
[demo] 2. :as bob  then  accept CODE  (bob becomes {user}'s contact)
[demo] 3. :as {user}  then  /timer {timer}  and wait. Do not answer.
[demo]    After {timer} the timer runs out and {user} is asked to reply OK.
[demo]    {grace} later bob is alerted.
[demo] 4. :as bob  then  /ack  (bob is on it)
[demo] 5. :as {user}  then  ok  (everyone alerted hears that {user} is safe)"""


def _demo_script(settings: Settings, user: str) -> str:
    from bot.core.durations import format_duration as fmt

    c = settings.checkins
    return DEMO_SCRIPT.format(user=user, timer=fmt(c.min_timer), grace=fmt(c.grace))


_MAKE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


async def _rotate_key(settings: Settings, old_key: str) -> int:
    from bot.rotate import RotationError, rotate_key
    from bot.store.db import create_engine
    from bot.store.migrate import status

    if not settings.security.secret_key:
        print(
            "holdfast: set the new key in security.secret_key (HOLDFAST_SECURITY_SECRET_KEY) "
            f"and the current one in {OLD_KEY_ENV} or --old-key. Make a key with: {_MAKE_KEY}",
            file=sys.stderr,
        )
        return 2
    engine = create_engine(settings.database.url)
    try:
        if not (await status(engine)).up_to_date:
            print(
                "holdfast: the database schema is not current; run: holdfast migrate",
                file=sys.stderr,
            )
            return 2
        report = await rotate_key(
            engine, settings.security.secret_key, (old_key,) if old_key else ()
        )
    except RotationError as error:
        print(f"holdfast: {error}. Run rotate-key again with that key.", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(
        f"re-encrypted {report.total} values ({report.current} already used the new key). "
        "Start the bot with the new key; the old one is no longer needed."
    )
    return 0


async def _open_database(settings: Settings) -> None:
    """Open the database once (migrating SQLite, as `run` does); raises what `main` reports."""
    from bot.store.db import create_engine
    from bot.store.migrate import ensure_schema

    engine = create_engine(settings.database.url)
    try:
        await ensure_schema(engine)
    finally:
        await engine.dispose()


async def _console(settings: Settings, user: str) -> int:
    from bot.app import App
    from bot.store.keycheck import KeyMismatch
    from bot.transports.console import ConsoleTransport

    keyed_settings = keyed(settings)
    if keyed_settings is None:
        return 2
    await _open_database(keyed_settings)  # a bad URL or path: one line, before anything starts
    if settings.checkins.demo:
        print(_demo_script(settings, user), flush=True)
    stop = asyncio.Event()
    console = ConsoleTransport(user=user, on_eof=stop.set, files=Path("holdfast-files"))
    app = App(keyed_settings, transports={"console": console}, ops_endpoint=False)
    try:
        await app.run_until_stopped(stop, flush=5.0)
    except KeyMismatch as error:
        print(f"holdfast: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
