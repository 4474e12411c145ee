"""What signal-cli-rest-api's answers mean for the outbox, and keeping numbers out of them.

signal-cli-rest-api answers `/v2/send` with 429 for a rate limit and with 400 plus
`{"error": "..."}` for almost everything else, so the JSON body is the only place
that tells an unregistered recipient from a changed safety number from a bad
request. A 2xx answer may still carry per-recipient failures (`errors.recipients`).
This module turns those into the `DeliveryError` hierarchy of `bot.transports.base`.

Error texts travel into exceptions and logs, so every text taken from the service is
passed through `redact()` first: no phone number, not even the bot's own, leaves
this module.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from bot.transports.base import (
    DeliveryError,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
    TransportSetupError,
)

#: Seconds to wait after a 429 that names no Retry-After.
DEFAULT_RETRY_AFTER = 5.0

_PHONE = re.compile(r"\+\d{6,15}")
_MAX_DETAIL = 200

SAFETY_NUMBER_CHANGED = (
    "the recipient's safety number changed (signal-cli: untrusted identity); "
    "Holdfast does not trust a new identity automatically, because a changed safety "
    "number can mean the phone was seized or the account taken over: an operator "
    "must verify it with the person and trust it in signal-cli-rest-api"
)
NOT_REGISTERED = "the recipient is not registered on Signal (or deleted their account)"


class SignalSetupError(TransportSetupError):
    """Signal cannot start: the message names the config key and the fix."""


def redact(text: str, *numbers: str) -> str:
    """Remove phone numbers (and the given numbers, in any form) from a text."""
    for number in numbers:
        if number:
            text = text.replace(number, "<number>")
    return _PHONE.sub("<number>", text)


def error_detail(body: str, *numbers: str) -> str:
    """The service's error message from a response body, redacted and shortened."""
    try:
        data = json.loads(body)
    except ValueError:
        data = body
    if isinstance(data, dict):
        data = data.get("error", "")
    return redact(str(data), *numbers).strip()[:_MAX_DETAIL]


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), else the default."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def classify(detail: str, *, default: type[DeliveryError]) -> DeliveryError:
    """Map a signal-cli error text to a delivery error, `default` when unrecognised.

    The order matters: an untrusted identity is checked before "not registered"
    because signal-cli's wording for both mentions the recipient.
    """
    lowered = detail.casefold()
    if "rate limit" in lowered or "ratelimit" in lowered or "[429]" in lowered:
        return RateLimited(DEFAULT_RETRY_AFTER, f"Signal rate limit: {detail}")
    if "untrusted identity" in lowered or "identity_failure" in lowered:
        return RecipientUnreachable(SAFETY_NUMBER_CHANGED)
    if "unregistered" in lowered or "not registered" in lowered:
        return RecipientUnreachable(f"{NOT_REGISTERED}: {detail}")
    return default(f"Signal refused the message: {detail}")


def for_status(status: int, headers: Mapping[str, str], body: str, *numbers: str) -> DeliveryError:
    """The delivery error for a non-2xx answer from `/v2/send`."""
    detail = error_detail(body, *numbers)
    if status == 429:
        return RateLimited(retry_after(headers), f"Signal rate limit (HTTP 429): {detail}")
    if status >= 500 or status == 408:
        return TransientDeliveryError(f"signal-cli-rest-api answered HTTP {status}: {detail}")
    return classify(detail, default=PermanentDeliveryError)


def recipient_failure(item: Any, *numbers: str) -> DeliveryError | None:
    """The delivery error hidden in a 2xx answer's `errors.recipients`, if any.

    Only a send to one person uses this: for a group, some members failing does not
    mean the group did not get the message.
    """
    if not isinstance(item, dict):
        return None
    errors = item.get("errors") or {}
    failures = errors.get("recipients") if isinstance(errors, dict) else None
    if not failures:
        return None
    first = failures[0] if isinstance(failures[0], dict) else {}
    detail = redact(str(first.get("reason") or "unknown failure"), *numbers)[:_MAX_DETAIL]
    return classify(detail, default=TransientDeliveryError)
