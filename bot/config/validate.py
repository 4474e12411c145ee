"""Per-key and cross-key checks run on settings that already have the right types.

Each check adds a `ConfigProblem` through `Check` naming the key and the fix, and
stays quiet about a key that already failed conversion (`Check.ok`), so one mistake
is reported once. Only a database URL's scheme is ever shown: the rest may hold a
password.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from bot.config.messages import Check, suggest
from bot.config.schema import Settings
from bot.core.durations import check_bounds, format_duration
from bot.core.errors import UserError

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PLATFORMS = frozenset({"telegram", "signal", "console"})
_NOT_ZONES = frozenset({"localtime", "posixrules"})  # host-specific files, not IANA names


def _check_database(settings: Settings, check: Check) -> None:
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


def _check_telegram(settings: Settings, check: Check) -> None:
    tg = settings.telegram
    if tg.token and not _BOT_TOKEN.fullmatch(tg.token):
        check.add("telegram.token", "tg.token")
    if tg.base_url and not _is_url(tg.base_url, ("http", "https")):
        check.add("telegram.base_url", "tg.base_url")
    if tg.mode not in ("polling", "webhook") and check.ok("telegram.mode"):
        hint = suggest(tg.mode, ["polling", "webhook"], lambda m: f'"{m}"')
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
    return bool(sep) and good_host and port.isascii() and port.isdigit() and 1 <= int(port) <= 65535


def _check_signal(settings: Settings, check: Check) -> None:
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
    check: Check, key: str, value: timedelta, low: timedelta, high: timedelta | None = None
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


def _check_durations(settings: Settings, check: Check) -> None:
    minute, week = timedelta(minutes=1), timedelta(days=7)
    clock = settings.checkins
    shortest = timedelta(seconds=1) if clock.demo else minute  # demo: a clock in seconds
    for name in ("response_window", "grace", "level2_after", "repeat_every", "ack_timeout"):
        _bounded(check, f"checkins.{name}", getattr(clock, name), shortest, week)
    _bounded(check, "checkins.min_timer", clock.min_timer, shortest)
    _bounded(check, "checkins.alert_retry_report", clock.alert_retry_report, minute, week)
    if check.ok("checkins.repeats") and not 0 <= clock.repeats <= 20:
        check.add("checkins.repeats", "int.range", value=clock.repeats, allowed="between 0 and 20")
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


def _check_timezone(settings: Settings, check: Check) -> None:
    name = settings.checkins.default_timezone
    if _is_zone(name) or not check.ok("checkins.default_timezone"):
        return
    hint = suggest(name, sorted(zoneinfo.available_timezones() - _NOT_ZONES))
    shown = f'"{name[:40]}" is not' if name.strip() else "is empty, not"
    check.add("checkins.default_timezone", "timezone", shown=shown, hint=hint)


def _check_ops(settings: Settings, check: Check) -> None:
    ops = settings.ops
    if ops.listen and not _is_host_port(ops.listen):
        check.add("ops.listen", "ops.listen")
    if ops.heartbeat_url and not _is_url(ops.heartbeat_url, ("http", "https")):
        check.add("ops.heartbeat_url", "ops.heartbeat_url")
    for chat in ops.operator_chats:
        platform, sep, chat_id = chat.partition(":")
        if not (sep and platform in _PLATFORMS and chat_id.strip() and chat.isprintable()):
            check.add("ops.operator_chats", "ops.operator_chat", chat=chat[:40])
    _bounded(check, "ops.failover", ops.failover, timedelta(seconds=5), timedelta(minutes=10))


def key_strength_bits(key: str) -> float:
    """A rough upper bound of a key's randomness: length x log2(distinct characters).

    `secrets.token_urlsafe(32)` scores about 200; "k" * 40 scores 0, a 40-letter
    sentence about 170. Anything under `MIN_KEY_BITS` is not 32 random bytes' worth.
    """
    distinct = len(set(key))
    return len(key) * math.log2(distinct) if distinct > 1 else 0.0


#: What a key must score in `key_strength_bits` (32 random bytes = 256 bits; the estimate
#: is rough, so generated keys pass with room to spare and typed phrases do not).
MIN_KEY_BITS = 180.0


def _check_secret_key(settings: Settings, check: Check) -> None:
    key = settings.security.secret_key
    if key and (len(key) < 32 or key_strength_bits(key) < MIN_KEY_BITS):
        check.add("security.secret_key", "secret_key")


#: Every check `load_settings` runs, in order, once the values have their types.
VALIDATORS: tuple[Callable[[Settings, Check], None], ...] = (
    _check_database,
    _check_telegram,
    _check_signal,
    _check_durations,
    _check_timezone,
    _check_ops,
    _check_secret_key,
)
