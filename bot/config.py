"""Holdfast's settings: one typed, frozen object built from TOML and the environment.

This module owns the configuration schema (the dataclasses below *are* the schema:
sections, keys, types and defaults), reading the TOML file, the
`HOLDFAST_<SECTION>_<KEY>` environment overrides (env wins over the file), and
validation. Validation collects every problem before failing, so an operator fixes
the file in one pass, and each problem names the key, the environment variable when
the value came from there, and the fix. Secrets and personal data (tokens, the
secret key, the bot's phone number, URLs that may carry credentials) are never
echoed back in a message.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.durations import check_bounds, format_duration, parse_duration
from bot.core.errors import UserError

log = logging.getLogger(__name__)

ENV_PREFIX = "HOLDFAST_"
CONFIG_ENV = "HOLDFAST_CONFIG"
DEFAULT_FILE = "holdfast.toml"
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclass(frozen=True)
class DatabaseSettings:
    """Where Holdfast remembers everything; SQLite for one server, PostgreSQL at scale."""

    url: str = "sqlite+aiosqlite:///holdfast.db"


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram transport; an empty token turns it off."""

    token: str = ""
    base_url: str = ""
    mode: str = "polling"
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""
    pacing: bool = True

    @property
    def enabled(self) -> bool:
        """Telegram runs only when a bot token is configured."""
        return bool(self.token)


@dataclass(frozen=True)
class SignalSettings:
    """The Signal transport (signal-cli-rest-api); an empty service turns it off."""

    service: str = ""
    phone_number: str = ""

    @property
    def enabled(self) -> bool:
        """Signal runs only when a signal-cli-rest-api service is configured."""
        return bool(self.service)


@dataclass(frozen=True)
class CheckinSettings:
    """The default check-in clock and the bounds people's timers must respect."""

    response_window: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(minutes=15)
    level2_after: timedelta = timedelta(minutes=30)
    min_timer: timedelta = timedelta(minutes=5)
    max_timer: timedelta = timedelta(days=7)
    default_timezone: str = "UTC"


@dataclass(frozen=True)
class SchedulerSettings:
    """How often the scheduler claims due work."""

    tick: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class SecuritySettings:
    """Encryption at rest, data retention and invite lifetime."""

    secret_key: str = ""
    retention: timedelta = timedelta(days=30)
    invite_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs, validated; `source` is the file path or "defaults"."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    signal: SignalSettings = field(default_factory=SignalSettings)
    checkins: CheckinSettings = field(default_factory=CheckinSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    source: str = "defaults"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: the key (e.g. "checkins.grace") and the fix."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


_SECTIONS: dict[str, type] = {
    "database": DatabaseSettings,
    "telegram": TelegramSettings,
    "signal": SignalSettings,
    "checkins": CheckinSettings,
    "scheduler": SchedulerSettings,
    "security": SecuritySettings,
}
#: Values never repeated in a message: secrets, personal data, URLs that may hold passwords.
_NEVER_ECHO = frozenset(
    {
        "database.url",
        "telegram.token",
        "telegram.webhook_url",
        "telegram.secret_token",
        "telegram.base_url",
        "signal.phone_number",
        "security.secret_key",
    }
)


def env_name(key: str) -> str:
    """Name the environment variable for a dotted key (`checkins.grace`).

    Returns:
        e.g. HOLDFAST_CHECKINS_GRACE; it overrides the same key in the file.
    """
    return ENV_PREFIX + key.replace(".", "_").upper()


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """Find the config file: $HOLDFAST_CONFIG, else ./holdfast.toml if it exists, else None."""
    env = os.environ if env is None else env
    named = env.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build validated settings from the file and environment (`env=None` reads os.environ).

    Raises:
        ConfigError: with every problem found, each naming its key and the fix.
    """
    env = os.environ if env is None else env
    check = _Check()
    if path is None:
        path = default_config_path(env)
        if path is not None:
            check.origins["config"] = CONFIG_ENV if env.get(CONFIG_ENV, "").strip() else None
    data = _read_file(Path(path).expanduser(), check) if path is not None else {}
    raw = _collect(data, env, check)
    parts = {name: _build(name, cls, raw, check) for name, cls in _SECTIONS.items()}
    settings = Settings(**parts, source=str(path) if path is not None else "defaults")
    for validate in _VALIDATORS:
        validate(settings, check)
    if check.problems:
        raise ConfigError(check.problems)
    log.debug("settings loaded", extra={"action": "config.load", "source": settings.source})
    return settings


def check_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Return every configuration problem, or [] when the configuration is fine."""
    try:
        load_settings(path, env)
    except ConfigError as exc:
        return exc.problems
    return []


# --- messages ------------------------------------------------------------------------
# Operator-facing (not translated): each says what is wrong and what to write instead.

_DRIVERS = "sqlite+aiosqlite:// (SQLite) or postgresql+asyncpg:// (PostgreSQL)"
_MESSAGES = {
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
    "type.duration": 'is not a duration; write it in quotes, e.g. {name} = "{example}"',
    "duration.invalid": "is not a duration; write it like 90s, 45m, 3h, 2d or 1h30m",
    "duration.too_long": "is longer than {max}, the most allowed",
    "duration.range": "{value} is out of range; use a duration {allowed}",
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
    "secret_key": "is too short (at least 32 characters); make one with: {make} and set "
    "HOLDFAST_SECURITY_SECRET_KEY",
}


class _Check:
    """Collects problems; knows which environment variable each value came from."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.origins: dict[str, str | None] = {}
        self.failed: set[str] = set()

    def add(self, key: str, message_id: str, prefix: str = "", **params: Any) -> None:
        """Record a problem with `key`, worded by `_MESSAGES[message_id]`."""
        message = prefix + _MESSAGES[message_id].format(make=MAKE_SECRET, **params)
        origin = self.origins.get(key)
        self.problems.append(
            ConfigProblem(key, f"{message} (from {origin})" if origin else message)
        )
        self.failed.add(key)

    def ok(self, *keys: str) -> bool:
        """Say whether none of `keys` has a problem yet, so cross-checks stay quiet."""
        return not self.failed.intersection(keys)


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    value: Any
    env_var: str | None  # None when the value came from the file


def _read_file(path: Path, check: _Check) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        check.add("config", "file.missing", path=path)
    except tomllib.TOMLDecodeError as exc:  # its message gives line and column, not content
        check.add("config", "file.syntax", path=path, error=exc)
    except UnicodeDecodeError:
        check.add("config", "file.encoding", path=path)
    except OSError as exc:
        check.add("config", "file.unreadable", path=path, error=exc.strerror)
    return {}


def _keys(section: str) -> list[str]:
    return [item.name for item in fields(_SECTIONS[section])]


def _suggest(word: str, choices: list[str], show: Callable[[str], str] = str) -> str:
    """Return '; did you mean X?' for the closest choice (ignoring case), or ''."""
    by_lower = {choice.lower(): choice for choice in choices}
    word = word.lower()
    close = difflib.get_close_matches(word, list(by_lower), n=1, cutoff=0.6)
    # difflib misses a shortened or lengthened name ("phone", "grace_period").
    close = close or [c for c in by_lower if len(word) >= 4 and (c in word or word in c)][:1]
    return f"; did you mean {show(by_lower[close[0]])}?" if close else ""


def _collect(data: dict[str, Any], env: Mapping[str, str], check: _Check) -> dict[str, _Raw]:
    """Merge file and environment into raw values per dotted key; env wins."""
    raw: dict[str, _Raw] = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            hint = _suggest(name, list(_SECTIONS), lambda s: f"[{s}]")
            check.add(name, "section.unknown", name=name, hint=hint, known=", ".join(_SECTIONS))
        elif not isinstance(table, dict):
            check.add(name, "section.not_table", name=name)
        else:
            for key, value in table.items():
                _put(raw, name, key, _Raw(value, None), check)
    for name in sorted(env):
        if name.startswith(ENV_PREFIX):
            _collect_env(raw, name, env[name], check)
    check.origins.update({key: item.env_var for key, item in raw.items()})
    return raw


def _collect_env(raw: dict[str, _Raw], name: str, value: str, check: _Check) -> None:
    """Take HOLDFAST_<SECTION>_<KEY>; other HOLDFAST_* names (HOLDFAST_CONFIG…) are not ours."""
    section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("_")
    if section in _SECTIONS:
        _put(raw, section, key, _Raw(value, name), check)
        return
    # A near miss such as HOLDFAST_TELEGRM_TOKEN would otherwise be silently ignored.
    close = difflib.get_close_matches(section, list(_SECTIONS), n=1, cutoff=0.8)
    if close:
        hint = f"; did you mean {env_name(f'{close[0]}.{key}')}?"
        check.add(f"{section}.{key}", "env.unknown", name=name, hint=hint)


def _put(raw: dict[str, _Raw], section: str, key: str, item: _Raw, check: _Check) -> None:
    known = _keys(section)
    if key in known:
        raw[f"{section}.{key}"] = item
    elif item.env_var:
        hint = _suggest(key, known, lambda k: env_name(f"{section}.{k}"))
        check.add(f"{section}.{key}", "env.unknown", name=item.env_var, hint=hint)
    else:
        hint = _suggest(key, known, lambda k: f'"{k}"')
        known_text = ", ".join(known)
        check.add(f"{section}.{key}", "key.unknown", section=section, hint=hint, known=known_text)


# --- converting ----------------------------------------------------------------------


class _Invalid(Exception):
    """A value of the wrong type or form; carries the message id and its parameters."""

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _to_str(value: Any, from_env: bool) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid("type.str")


def _to_int(value: Any, from_env: bool) -> int:
    if from_env:
        try:
            return int(value.strip())
        except ValueError:
            raise _Invalid("type.int.env") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Invalid("type.int")


def _to_bool(value: Any, from_env: bool) -> bool:
    if from_env:
        word = value.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise _Invalid("type.bool.env")
    if isinstance(value, bool):
        return value
    raise _Invalid("type.bool")


def _to_duration(value: Any, from_env: bool) -> timedelta:
    if not isinstance(value, str):
        raise _Invalid("type.duration")
    try:
        return parse_duration(value)
    except UserError as exc:  # duration.invalid or duration.too_long
        raise _Invalid(exc.key, **exc.params) from None


_CONVERTERS: dict[str, Callable[[Any, bool], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "bool": _to_bool,
    "timedelta": _to_duration,
}


def _build(section: str, cls: type, raw: dict[str, _Raw], check: _Check) -> Any:
    """Make one section object; a value of the wrong type is reported and left at default."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        key = f"{section}.{item.name}"
        if key not in raw:
            continue
        given = raw[key]
        try:
            convert = _CONVERTERS[str(item.type)]
            values[item.name] = convert(given.value, given.env_var is not None)
        except _Invalid as exc:
            shown = "the value " if key in _NEVER_ECHO else f'"{str(given.value)[:40]}" '
            example = format_duration(item.default) if str(item.type) == "timedelta" else ""
            check.add(key, exc.message_id, shown, name=item.name, example=example, **exc.params)
    return cls(**values)


# --- validating ----------------------------------------------------------------------

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_NOT_ZONES = frozenset({"localtime", "posixrules"})  # host-specific files, not IANA names


def _check_database(settings: Settings, check: _Check) -> None:
    url = settings.database.url
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("sqlite+aiosqlite", "postgresql+asyncpg") or not check.ok("database.url"):
        return
    # Only the scheme is ever shown: the rest of a database URL may hold a password.
    if not url:
        check.add("database.url", "db.empty")
    elif scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+"):
        check.add("database.url", "db.postgres", scheme=scheme)
    elif scheme == "sqlite" or scheme.startswith("sqlite+"):
        check.add("database.url", "db.sqlite", scheme=scheme)
    else:
        shown = f'"{scheme}://"' if _SCHEME.fullmatch(scheme) else "this URL"
        check.add("database.url", "db.other", scheme=shown)


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in schemes and bool(parts.hostname) and text.isprintable()
    except ValueError:  # e.g. an unbalanced [ in the host
        return False


def _check_telegram(settings: Settings, check: _Check) -> None:
    tg = settings.telegram
    if tg.token and not _BOT_TOKEN.fullmatch(tg.token):
        check.add("telegram.token", "tg.token")
    if tg.base_url and not _is_url(tg.base_url, ("http", "https")):
        check.add("telegram.base_url", "tg.base_url")
    if tg.mode not in ("polling", "webhook") and check.ok("telegram.mode"):
        hint = _suggest(tg.mode, ["polling", "webhook"], lambda m: f'"{m}"')
        check.add("telegram.mode", "tg.mode", mode=tg.mode[:20], hint=hint)
    if not tg.listen.strip():
        check.add("telegram.listen", "tg.listen")
    if not 1 <= tg.port <= 65535:
        check.add("telegram.port", "tg.port", port=tg.port)
    webhook = tg.mode == "webhook"
    if tg.webhook_url and not _is_url(tg.webhook_url, ("https",)):
        check.add("telegram.webhook_url", "tg.webhook_url")
    elif webhook and not tg.webhook_url and check.ok("telegram.webhook_url"):
        check.add("telegram.webhook_url", "tg.webhook_url.missing")
    if tg.secret_token and not _SECRET_TOKEN.fullmatch(tg.secret_token):
        check.add("telegram.secret_token", "tg.secret_token")
    elif webhook and not tg.secret_token and check.ok("telegram.secret_token"):
        check.add("telegram.secret_token", "tg.secret_token.missing")


def _is_host_port(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    good_host = bool(host) and "/" not in host and host.isprintable() and " " not in host
    return bool(sep) and good_host and port.isdigit() and 1 <= int(port) <= 65535


def _check_signal(settings: Settings, check: _Check) -> None:
    sig = settings.signal
    if sig.service and not _is_host_port(sig.service):
        check.add("signal.service", "signal.service")
    if sig.phone_number and not _E164.fullmatch(sig.phone_number):
        check.add("signal.phone_number", "signal.phone")
    if sig.service and not sig.phone_number and check.ok("signal.phone_number"):
        check.add("signal.phone_number", "signal.phone.missing")
    if sig.phone_number and not sig.service and check.ok("signal.service"):
        check.add("signal.service", "signal.service.missing")


def _bounded(
    check: _Check, key: str, value: timedelta, low: timedelta, high: timedelta | None = None
) -> None:
    if not check.ok(key):
        return
    try:
        check_bounds(value, minimum=low, maximum=high)
    except UserError:
        low_text = format_duration(low)
        allowed = (
            f"between {low_text} and {format_duration(high)}" if high else f"of at least {low_text}"
        )
        check.add(key, "duration.range", value=format_duration(value), allowed=allowed)


def _check_durations(settings: Settings, check: _Check) -> None:
    minute, week = timedelta(minutes=1), timedelta(days=7)
    clock = settings.checkins
    for name in ("response_window", "grace", "level2_after"):
        _bounded(check, f"checkins.{name}", getattr(clock, name), minute, week)
    timers = ("checkins.min_timer", "checkins.max_timer")
    if check.ok(*timers) and clock.min_timer >= clock.max_timer:
        shown = {"min": format_duration(clock.min_timer), "max": format_duration(clock.max_timer)}
        check.add("checkins.min_timer", "timers", **shown)
    _bounded(check, "scheduler.tick", settings.scheduler.tick, timedelta(seconds=1), minute)
    _bounded(check, "security.retention", settings.security.retention, timedelta(days=1))
    invite_ttl = settings.security.invite_ttl
    _bounded(check, "security.invite_ttl", invite_ttl, timedelta(minutes=5), timedelta(days=30))


def _is_zone(name: str) -> bool:
    if not name or name in _NOT_ZONES or name != name.strip():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found; a path, not a key; a directory
        return False
    return True


def _check_timezone(settings: Settings, check: _Check) -> None:
    name = settings.checkins.default_timezone
    if _is_zone(name) or not check.ok("checkins.default_timezone"):
        return
    hint = _suggest(name, sorted(zoneinfo.available_timezones() - _NOT_ZONES))
    shown = f'"{name[:40]}" is not' if name.strip() else "is empty, not"
    check.add("checkins.default_timezone", "timezone", shown=shown, hint=hint)


def _check_secret_key(settings: Settings, check: _Check) -> None:
    if settings.security.secret_key and len(settings.security.secret_key) < 32:
        check.add("security.secret_key", "secret_key")


_VALIDATORS: tuple[Callable[[Settings, _Check], None], ...] = (
    _check_database,
    _check_telegram,
    _check_signal,
    _check_durations,
    _check_timezone,
    _check_secret_key,
)
