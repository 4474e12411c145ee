"""The interface every transport implements, and the errors it may raise.

A transport is a thin adapter: it turns platform updates into `Incoming`, renders
`Outgoing` as the platform allows, and translates platform failures into the small
hierarchy below. The outbox (`bot.delivery`) decides retry versus report from the
error's type; a transport never logs-and-drops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from bot.core.model import Delivered, Incoming, Outgoing

#: Called by a transport for every incoming message. It returns only after the
#: message is safely recorded (and its replies queued), so a transport may
#: acknowledge the update to the platform once it returns.
OnIncoming = Callable[[Incoming], Awaitable[None]]


class TransportSetupError(RuntimeError):
    """A transport cannot start (bad token, wrong service mode…); the message names the key."""


class StoreUnavailable(Exception):
    """The app could not record an incoming message: its database is unreachable.

    Not the message's fault: the transport holds it (does not confirm it to the
    platform) and retries without limit, unlike a message that keeps failing.
    """


class DeliveryError(Exception):
    """A message could not be sent. Subclasses say whether to retry."""


class TransientDeliveryError(DeliveryError):
    """Network trouble, time-outs, 5xx: try again later with backoff."""


class RateLimited(TransientDeliveryError):
    """The platform asked us to slow down; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after}s)")
        self.retry_after = float(retry_after)


class CaptchaRequired(RateLimited):
    """A rate limit that waiting does not lift: an operator must solve a captcha.

    Attributes:
        token: the platform's challenge token (not personal data).
        command: the exact instruction for the operator, with the token in it.
    """

    def __init__(self, retry_after: float, token: str, command: str, message: str) -> None:
        super().__init__(retry_after, message)
        self.token = token
        self.command = command


class PermanentDeliveryError(DeliveryError):
    """The platform rejected the message itself (bad request): retrying won't help."""


class RecipientUnreachable(PermanentDeliveryError):
    """The recipient blocked the bot, left, or is not registered on the platform."""


class ChatMoved(PermanentDeliveryError):
    """The chat has a new id (e.g. a Telegram group upgraded to a supergroup).

    The outbox re-addresses the message (and the stored chat) and retries at once.
    """

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = str(new_chat_id)


@runtime_checkable
class Transport(Protocol):
    """One chat platform. Composed into the app, never inherited by the core.

    Attributes:
        platform: "telegram", "signal" or "console"; matches `Address.platform`.
        numbered_choices: True when the platform has no buttons, so choices are
            rendered as a numbered list and a bare number reply selects one.
    """

    platform: str
    numbered_choices: bool

    async def start(self, on_incoming: OnIncoming, *, receive: bool = True) -> None:
        """Connect and begin receiving; return once running (receiving goes on in tasks).

        With `receive=False` only sending works (a worker process). A platform that
        allows one reader (Telegram polling, Signal) also has `start_receiving()` and
        `stop_receiving()`, called as this process gains or loses the ingest lease.
        """
        ...

    async def send(self, out: Outgoing) -> Delivered:
        """Render and send one message; raise a `DeliveryError` subtype on failure."""
        ...

    async def stop(self) -> None:
        """Stop receiving and disconnect. Idempotent."""
        ...


def render_numbered(out: Outgoing) -> str:
    """Render text plus choices for platforms without buttons (Signal, console).

    Each choice is numbered; the person replies with the number or types the command.
    """
    choices = out.flat_choices
    if not choices:
        return out.text
    lines = [out.text, ""]
    lines += [f"{i}. {c.label}" for i, c in enumerate(choices, start=1)]
    return "\n".join(lines)
