"""Translate python-telegram-bot errors into the transport's `DeliveryError` hierarchy.

The outbox decides retry versus report from the type alone, so this mapping is the
whole retry policy for Telegram. PTB's HTTP layer (`request/_baserequest.py`) gives:
400 → BadRequest, 401/404 → InvalidToken, 403 → Forbidden, 409 → Conflict, any other
status (5xx included) → NetworkError, a `retry_after` parameter → RetryAfter, a
`migrate_to_chat_id` parameter → ChatMigrated, and httpx time-outs → TimedOut.
Note that BadRequest and TimedOut are subclasses of NetworkError: order matters.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.transports.base import (
    ChatMoved,
    DeliveryError,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
)

# PTB 22.2+ emits a PTBDeprecationWarning whenever a time period is read as an int,
# and RetryAfter.__init__ itself reads one: every 429 would warn (and fail tests run
# with warnings as errors). Opting in to the next major version's timedelta values,
# as the warning suggests, silences it; retry_after_seconds() accepts both types.
os.environ.setdefault("PTB_TIMEDELTA", "true")

#: 400 descriptions that mean "this recipient cannot be reached", not "bad message".
_UNREACHABLE_400 = (
    "chat not found",
    "user not found",
    "have no rights to send",
    "not enough rights to send",
    "bot was kicked",
    "chat_write_forbidden",
    "peer_id_invalid",
)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, from a RetryAfter.

    PTB 22.2+ stores a timedelta; reading `.retry_after` still returns an int and
    emits a PTBDeprecationWarning unless PTB_TIMEDELTA is set, so read it with that
    warning silenced and accept either type.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def to_delivery_error(exc: TelegramError, token: str = "") -> DeliveryError:
    """The `DeliveryError` for a PTB error (raise it `from exc`).

    Args:
        exc: what PTB raised.
        token: the bot token, scrubbed from the message in case an HTTP error echoed
            the request URL.
    """
    text = redact(str(exc), token)
    if isinstance(exc, RetryAfter):
        return RateLimited(retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return ChatMoved(str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        return RecipientUnreachable(text)
    if isinstance(exc, BadRequest):
        if any(marker in text.lower() for marker in _UNREACHABLE_400):
            return RecipientUnreachable(text)
        return PermanentDeliveryError(text)
    if isinstance(exc, InvalidToken):
        # The token was revoked while running. Every message would fail the same way;
        # keep them queued (transient) until an operator fixes telegram.token.
        return TransientDeliveryError("Telegram rejected the bot token (telegram.token)")
    if isinstance(exc, NetworkError):  # TimedOut, 5xx, connection errors
        return TransientDeliveryError(text)
    # Conflict, an unparsable server response: nothing about the message itself.
    return TransientDeliveryError(text)


def redact(text: str, token: str) -> str:
    """`text` with the bot token replaced, for messages that may reach logs."""
    return text.replace(token, "<token>") if token else text


def is_query_too_old(exc: BadRequest) -> bool:
    """A callback query can only be answered for a short while, and only once."""
    text = str(exc).lower()
    return "query is too old" in text or "query id is invalid" in text


def is_not_modified(exc: BadRequest) -> bool:
    """Editing a message to exactly what it already says is a no-op, not a failure."""
    return "message is not modified" in str(exc).lower()
