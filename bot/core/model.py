"""Frozen, platform-neutral value types at the seam between transports and the bot.

Transports turn platform updates into `Incoming` and render `Outgoing`; handlers and
core never see a platform object. `raw_ref` is for debugging only: a handler that
reads it is a bug.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any


class Platform(enum.StrEnum):
    """The chat platforms Holdfast speaks on."""

    TELEGRAM = "telegram"
    SIGNAL = "signal"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: a chat on one platform (a private chat or a group chat)."""

    platform: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an incoming message: one platform identity of a person."""

    platform: str
    user_id: str
    display_name: str = ""
    #: The language the person's app is set to, as the platform reports it (Telegram's
    #: `from.language_code`, an IETF tag such as "th" or "pt-br"); "" when unknown.
    language_code: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message or button press, as every transport reports it.

    Attributes:
        sender: the platform identity of the person.
        chat: the chat it arrived in; replies go there.
        is_private: True for a one-to-one chat with the bot.
        text: the message text ("" for a button press or a non-text message).
        choice: the command carried by a pressed button, if any.
        edited: an edited message; never counts as a check-in.
        forwarded: a forwarded message; never counts as a check-in.
        has_text: False for stickers, photos and other non-text messages.
        dedupe_key: a platform-unique id (e.g. Telegram update id) so an update
            fetched twice is handled once; None when the platform has none.
        answer_ref: an opaque handle the transport needs to acknowledge a button
            press (e.g. the callback query id); not for handlers.
        message_ref: the platform's id of this message in its chat, where the bot
            may delete it later (`/cleanup`: a Telegram message_id); else None.
        raw_ref: debugging only.
    """

    sender: Sender
    chat: Address
    is_private: bool
    text: str = ""
    choice: str | None = None
    edited: bool = False
    forwarded: bool = False
    has_text: bool = True
    dedupe_key: str | None = None
    answer_ref: str | None = None
    message_ref: str | None = field(default=None, compare=False)
    raw_ref: Any = field(default=None, compare=False, repr=False)

    def evolve(self, **changes: Any) -> Incoming:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


class MessageKind(enum.StrEnum):
    """What an outgoing message is; decides its delivery priority."""

    ALERT = "alert"  # escalations, SOS, duress, acknowledgements, all-clears
    #: the reply to a check-in answer or an SOS: goes before alerts, so how long it
    #: takes never depends on the alerts the same message raised (a duress answer)
    ANSWER = "answer"
    REPLY = "reply"  # answers to something the person just typed
    REMINDER = "reminder"
    PROMPT = "prompt"
    INFO = "info"  # pause ended, link ended, and other notices


#: Lower sorts first. Alerts must never wait behind a burst of routine prompts.
PRIORITY: dict[MessageKind, int] = {
    MessageKind.ANSWER: -1,
    MessageKind.ALERT: 0,
    MessageKind.REPLY: 1,
    MessageKind.REMINDER: 2,
    MessageKind.INFO: 3,
    MessageKind.PROMPT: 4,
}


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: what it says, and the command text it stands for.

    `command` is plain command text such as "/ok" or "/ack 12"; pressing the button
    is the same as typing it. Telegram puts it in callback_data (at most 64 bytes);
    text platforms number the choices and map a numbered reply back to it.
    """

    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message (a chart, a data export)."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the bot sends: text plus abstract choices, rendered by each transport.

    Attributes:
        to: the chat it goes to.
        text: plain text (never markup: names and notes are sent as they are).
        choices: rows of buttons.
        kind: decides priority in the outbox.
        attachment: an optional file.
        edit_ref: when set, the transport may edit that earlier message (e.g. the
            prompt whose button was pressed) instead of sending a new one.
        answer_ref: a button press to acknowledge (Telegram answerCallbackQuery).
    """

    to: Address
    text: str
    choices: tuple[tuple[Choice, ...], ...] = ()
    kind: MessageKind = MessageKind.REPLY
    attachment: Attachment | None = None
    edit_ref: str | None = None
    answer_ref: str | None = None

    def evolve(self, **changes: Any) -> Outgoing:
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    @property
    def flat_choices(self) -> tuple[Choice, ...]:
        """All choices in reading order (for numbered rendering)."""
        return tuple(c for row in self.choices for c in row)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a transport reports after a successful send."""

    message_id: str | None = None
