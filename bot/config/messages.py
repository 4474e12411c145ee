"""How configuration problems are worded: the message table, hints, and the collector.

Messages are operator-facing (not translated): each says what is wrong and what to
write instead, and none repeats a secret. `Check` collects every problem before
loading fails, so an operator fixes the file in one pass, and adds the environment
variable a value came from; `suggest` offers the closest known name for a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from bot.config.schema import ConfigProblem

MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

_DRIVERS = "sqlite+aiosqlite:// (SQLite) or postgresql+asyncpg:// (PostgreSQL)"
MESSAGES = {
    "file.missing": "file {path} does not exist; fix the path, or copy config.example.toml "
    "there and edit it",
    "file.syntax": "{path} is not valid TOML: {error}; fix that spot (text and durations need "
    'quotes, e.g. grace = "15m")',
    "file.encoding": "{path} is not UTF-8 text; save it as UTF-8",
    "file.unreadable": "cannot read {path} ({error}); point to a readable file",
    "section.unknown": "unknown section [{name}]{hint} (known: {known})",
    "section.not_table": "must be a section: write [{name}] on its own line, then its keys "
    "below it",
    "key.unknown": "unknown key in [{section}]{hint} (known: {known})",
    "env.unknown": "unknown setting {name}{hint}",
    "type.str": 'is not text; put it in quotes: {name} = "…"',
    "type.int.env": "is not a whole number; write digits only, e.g. 8443",
    "type.int": "is not a whole number; write it without quotes, e.g. {name} = 8443",
    "type.bool.env": "is not true or false; use true/false, 1/0 or yes/no",
    "type.bool": "is not true or false; write it without quotes, e.g. {name} = true",
    "type.list": 'is not a list of text; write it like {name} = ["telegram:123456"]',
    "type.duration": 'is not a duration; write it in quotes, e.g. {name} = "{example}"',
    "duration.invalid": "is not a duration; write it like 90s, 45m, 3h, 2d or 1h30m",
    "duration.too_long": "is longer than {max}, the most allowed",
    "duration.range": "{value} is out of range; use a duration {allowed}",
    "int.range": "{value} is out of range; use a whole number {allowed}",
    "db.empty": f"is empty; it must start with {_DRIVERS}",
    "db.postgres": '"{scheme}://" is not supported; use postgresql+asyncpg://… instead (the '
    "rest of the URL stays the same)",
    "db.sqlite": '"{scheme}://" is not supported; use sqlite+aiosqlite:///path/to/holdfast.db',
    "db.other": f"{{scheme}} is not supported; it must start with {_DRIVERS}, the supported "
    "drivers",
    "tg.token": "does not look like a bot token (digits, a colon, then letters, digits, _ or "
    "-); copy it again from @BotFather, with no spaces",
    "tg.base_url": "must be an http:// or https:// URL such as http://127.0.0.1:8081/bot; "
    "leave it empty to use api.telegram.org",
    "tg.mode": '"{mode}" is not a mode; use "polling" or "webhook"{hint}',
    "tg.listen": "is empty; use 127.0.0.1 behind a reverse proxy, or 0.0.0.0 for every interface",
    "tg.port": "{port} is not a port; use a number from 1 to 65535",
    "tg.webhook_url": "must be an https:// URL that reaches this server (Telegram only calls "
    "https), e.g. https://bot.example.org/telegram",
    "tg.webhook_url.missing": 'is required when telegram.mode is "webhook"; set the public '
    'https:// URL, or use mode = "polling"',
    "tg.secret_token": "may hold only letters, digits, _ and - (at most 256); make one with: "
    "{make}",
    "tg.secret_token.missing": 'is required when telegram.mode is "webhook" (it lets the bot '
    "reject forged updates); make one with: {make} and set HOLDFAST_TELEGRAM_SECRET_TOKEN",
    "signal.service": "must be host:port of signal-cli-rest-api, e.g. 127.0.0.1:8080 (no "
    "http://, port 1 to 65535)",
    "signal.service.missing": "is empty but signal.phone_number is set; set host:port of "
    "signal-cli-rest-api, or clear signal.phone_number to turn Signal off",
    "signal.phone": "is not in E.164 form (+ and country code); write + then 7 to 15 digits, "
    "no spaces or dashes",
    "signal.phone.missing": "is required when signal.service is set: the bot's own number as "
    "registered in signal-cli, in E.164 form (+ and country code)",
    "timers": "({min}) must be shorter than checkins.max_timer ({max}); lower one or raise "
    "the other",
    "timezone": "{shown} an IANA time zone; use a name like UTC, Europe/Berlin or "
    "America/Bogota{hint}",
    "ops.listen": "must be host:port for the health endpoint, e.g. 127.0.0.1:9464, or empty "
    "to turn it off",
    "ops.heartbeat_url": "must be an http:// or https:// URL (the check URL your dead-man's "
    "switch service gave you), or empty",
    "ops.operator_chat": '"{chat}" is not a chat; write "platform:chat_id" with platform '
    'telegram, signal or console, e.g. "telegram:123456789"',
    "secret_key": "is too weak (it must hold 32 random bytes' worth: at least 32 characters, "
    "not a phrase or a pattern); make one with: {make} and set HOLDFAST_SECURITY_SECRET_KEY",
}


class Check:
    """Collects problems; knows which environment variable each value came from."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.origins: dict[str, str | None] = {}
        self.failed: set[str] = set()

    def add(self, key: str, message_id: str, prefix: str = "", **params: Any) -> None:
        """Record a problem with `key`, worded by `MESSAGES[message_id]`."""
        message = prefix + MESSAGES[message_id].format(make=MAKE_SECRET, **params)
        origin = self.origins.get(key)
        self.problems.append(
            ConfigProblem(key, f"{message} (from {origin})" if origin else message)
        )
        self.failed.add(key)

    def ok(self, *keys: str) -> bool:
        """Say whether none of `keys` has a problem yet, so cross-checks stay quiet."""
        return not self.failed.intersection(keys)


def suggest(word: str, choices: list[str], show: Callable[[str], str] = str) -> str:
    """Return '; did you mean X?' for the closest choice (ignoring case), or ''."""
    by_lower = {choice.lower(): choice for choice in choices}
    word = word.lower()
    close = difflib.get_close_matches(word, list(by_lower), n=1, cutoff=0.6)
    # difflib misses a shortened or lengthened name ("phone", "grace_period").
    close = close or [c for c in by_lower if len(word) >= 4 and (c in word or word in c)][:1]
    return f"; did you mean {show(by_lower[close[0]])}?" if close else ""
