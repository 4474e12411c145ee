"""What signal-cli-rest-api's answers mean for the outbox, and keeping numbers out of them.

signal-cli-rest-api answers `/v2/send` with 429 for a rate limit and with 400 plus
`{"error": "..."}` for almost everything else, so the JSON body is the only place
that tells a network failure from an unregistered recipient from a changed safety
number from a bad request. Every marker below is taken from the real sources
(bbernhard/signal-cli-rest-api 0.100 and master a08db23, AsamK/signal-cli v0.14.6;
the quotes are in docs/run-on-signal.md, "What the service answers"):

- 400 `"Failed to send message"`, exactly: signal-cli's `SendMessageResultUtils`
  throws it when no recipient succeeded for any reason other than untrusted keys or
  rate limits: a network failure (signal-cli could not reach Signal's servers) *and*
  an unregistered recipient give the same text. It is `Unclear`: the transport asks
  the service (`/v1/identities`, `/v1/search`) before calling anyone unreachable,
  and otherwise retries.
- 400 `"Failed to send message: <text> (IOException)"` (signal-cli `SendCommand`):
  transient.
- 400 `"Failed to send message due to untrusted identities"` (REST <= 0.100,
  signal-cli `SendMessageResultUtils`) and `"Unable to complete request due to
  untrusted recipient keys"` (REST master `jsonrpc2.go`, code -4): the safety
  number changed.
- 429 `{"error": "Failed to send message due to rate limiting. Use the attached
  challenge tokens ... '/v1/accounts/{number}/rate-limit-challenge' endpoint.",
  "challenge_tokens": [...], "account": ...}` with no Retry-After header (REST
  `api.go`). A non-empty token means a proof-required (captcha) limit, which waiting
  does not lift: an operator must solve a captcha.
- A 2xx answer may still carry per-recipient failures (`errors.recipients[].reason`
  = signal-cli's result type: `NETWORK_FAILURE`, `UNREGISTERED_FAILURE`,
  `IDENTITY_FAILURE`, `RATE_LIMIT_FAILURE`, ...).

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
    CaptchaRequired,
    DeliveryError,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
    TransportSetupError,
)

#: A rate limit that names no delay (signal-cli-rest-api never sends Retry-After):
#: wait this long the first time, doubling with each 429 in a row, up to the cap.
RATE_LIMIT_FIRST = 60.0
RATE_LIMIT_CAP = 3600.0

#: signal-cli's text when no recipient succeeded for a reason it does not name.
GENERIC_FAILURE = "Failed to send message"

_PHONE = re.compile(r"\+\d{6,15}")
_MAX_DETAIL = 200

SAFETY_NUMBER_CHANGED = (
    "the recipient's safety number changed (signal-cli: untrusted identity); "
    "Holdfast does not trust a new identity automatically, because a changed safety "
    "number can mean the phone was seized or the account taken over: an operator "
    "must verify it with the person and trust it in signal-cli-rest-api"
)
NOT_REGISTERED = "the recipient is not registered on Signal (or deleted their account)"
NOT_A_MEMBER = "the bot is no longer in this Signal group (or the group is gone)"
BOT_NOT_REGISTERED = (
    "signal-cli-rest-api does not know the bot's number (signal.phone_number): "
    "register or link it, see docs/run-on-signal.md"
)

# Markers, compared case-insensitively. Order matters (see `classify`).
_UNTRUSTED = ("untrusted identit", "untrusted recipient keys", "identity_failure")
_RATE_LIMIT = ("rate limit", "rate_limit", "[429]")
_BOT_UNKNOWN = ("not registered with json-rpc",)  # REST client.go: the bot's own number
_UNREGISTERED = ("not registered", "unregistered")
_NETWORK = ("ioexception", "network failure", "network_failure", "timed out", "timeout")
_GROUP_GONE = ("group not found", "not a member in group")
_BAD_REQUEST = ("couldn't process request",)


class SignalSetupError(TransportSetupError):
    """Signal cannot start: the message names the config key and the fix."""


class Unclear(TransientDeliveryError):
    """signal-cli's bare "Failed to send message": a network failure or an unregistered recipient.

    Never raised out of the transport: it asks the service which one it is first.
    """


def redact(text: str, *numbers: str) -> str:
    """Remove phone numbers (and the given numbers, in any form) from a text."""
    for number in numbers:
        if number:
            text = text.replace(number, "<number>")
    return _PHONE.sub("<number>", text)


def _body(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


def error_detail(body: str, *numbers: str) -> str:
    """The service's error message from a response body, redacted and shortened."""
    data = _body(body)
    if isinstance(data, dict):
        data = data.get("error", "")
    return redact(str(data), *numbers).strip()[:_MAX_DETAIL]


def challenge_token(body: str) -> str | None:
    """The first non-empty captcha challenge token of a 429 body, if any."""
    data = _body(body)
    tokens = data.get("challenge_tokens") if isinstance(data, dict) else None
    for token in tokens if isinstance(tokens, list) else ():
        if isinstance(token, str) and token.strip():
            return token.strip()
    return None


def rate_limit_delay(strikes: int) -> float:
    """Seconds to wait after the `strikes`-th rate limit in a row (0 = the first)."""
    return min(RATE_LIMIT_CAP, RATE_LIMIT_FIRST * 2.0 ** min(max(strikes, 0), 20))


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), None without one."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def captcha_command(service_url: str, token: str) -> str:
    """The exact command an operator runs, after solving the captcha, to lift the limit.

    The bot's number stays a variable: it must not appear in logs.
    """
    body = json.dumps({"challenge_token": token, "captcha": "signalcaptcha://PASTE"})
    return (
        "solve the captcha at https://signalcaptchas.org/challenge/generate.html, copy the "
        "'Open Signal' link, put it in place of signalcaptcha://PASTE and run: "
        f"curl -X POST -H 'Content-Type: application/json' -d '{body}' "
        f"'{service_url}/v1/accounts/'\"$HOLDFAST_SIGNAL_PHONE_NUMBER\"'/rate-limit-challenge'"
    )


def classify(detail: str, *, default: type[DeliveryError]) -> DeliveryError:
    """Map a signal-cli error text to a delivery error, `default` when unrecognised.

    The order matters: an untrusted identity and a rate limit are checked before
    "not registered" and before the bare generic text, and the bot's own number not
    being registered is checked before a recipient's.
    """
    lowered = detail.casefold()

    def has(markers: tuple[str, ...]) -> bool:
        return any(marker in lowered for marker in markers)

    if has(_UNTRUSTED):
        return RecipientUnreachable(SAFETY_NUMBER_CHANGED)
    if has(_RATE_LIMIT):
        return RateLimited(RATE_LIMIT_FIRST, f"Signal rate limit: {detail}")
    if has(_BOT_UNKNOWN):
        return TransientDeliveryError(BOT_NOT_REGISTERED)
    if has(_UNREGISTERED):
        return RecipientUnreachable(f"{NOT_REGISTERED}: {detail}")
    if has(_NETWORK):
        return TransientDeliveryError(f"signal-cli could not reach Signal: {detail}")
    if has(_GROUP_GONE):
        return RecipientUnreachable(f"{NOT_A_MEMBER}: {detail}")
    if detail.strip().rstrip(".").casefold() == GENERIC_FAILURE.casefold():
        return Unclear(f"signal-cli: {detail}")
    if lowered.startswith(GENERIC_FAILURE.casefold()):
        return TransientDeliveryError(f"signal-cli: {detail}")
    if has(_BAD_REQUEST):
        return PermanentDeliveryError(f"Signal refused the message: {detail}")
    return default(f"Signal refused the message: {detail}")


def for_status(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *numbers: str,
    service_url: str = "",
    rate_limit_strikes: int = 0,
) -> DeliveryError:
    """The delivery error for a non-2xx answer from `/v2/send`.

    `rate_limit_strikes` counts the 429s in a row before this one; the delay doubles
    with each, from `RATE_LIMIT_FIRST`.
    """
    detail = error_detail(body, *numbers)
    if status == 429:
        header = retry_after(headers)
        delay = rate_limit_delay(rate_limit_strikes) if header is None else header
        token = challenge_token(body)
        if token is not None:
            return CaptchaRequired(
                delay, token, captcha_command(service_url, token), "Signal captcha required"
            )
        return RateLimited(delay, f"Signal rate limit (HTTP 429): {detail}")
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
