"""Turning one frame from signal-cli-rest-api's receive websocket into an `Incoming`.

signal-cli (json-rpc mode) pushes every envelope the account gets: data messages,
edits, receipts, typing indicators, reactions, calls, stories, and "sync" copies of
what the bot's own number sent from another device. Only a person's data message
(or an edit of one) becomes an `Incoming`; in a group only what looks like a
command does, so ordinary group chatter never reaches the router and nothing of it
is stored.

Parsing goes through signalbot's public `parse()`, so the envelope schema is the
library's, not ours; but the library's schema is stricter than what the real server
sends, so every frame is normalised first (`normalise`):

- signalbot 2.2.1 requires `isVoiceNote` on every attachment
  (`_generated/receive/attachment.py`: `is_voice_note: bool = Field(...)`), which
  signal-cli <= 0.14.6 never writes (`json/JsonAttachment.java` has no such field),
  so without a default a photo captioned "ok", a voice note or a reply quoting a
  picture would fail validation as a whole and be lost;
- signal-cli writes absent fields as `null` (its ObjectMapper has no NON_NULL
  default, `util/Util.java`); nulls are dropped so the models' defaults apply.

If a message still fails validation, it is parsed again without its media (the
attachments, quote, previews, shared contacts, sticker): a message whose text can be
read is never dropped because of what is attached to it.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

import pydantic
from signalbot import DataMessage, EditMessage, UnknownMessageFormatError, parse

from bot.core.model import Address, Incoming, Sender

if TYPE_CHECKING:
    from signalbot._client import SignalAPI

log = logging.getLogger(__name__)

PLATFORM = "signal"

#: First words that let a group message through (besides anything starting with
#: "/"): the commands that make sense inside a group chat, typed with or without
#: the slash.
DEFAULT_GROUP_COMMANDS = frozenset({"group_alerts", "/group_alerts", "ack", "/ack"})

#: Signal puts U+FFFC (object replacement character) where a mention sits in the
#: text, e.g. "@Holdfast /ack" arrives as "\ufffc /ack".
_MENTION = "\ufffc"

#: Data-message parts that carry media rather than what the person typed.
_MEDIA_PARTS = ("attachments", "quote", "previews", "contacts", "sticker")

#: Envelope parts that never carry a person's message to the bot.
_IGNORED_PARTS = ("receiptMessage", "typingMessage", "callMessage", "storyMessage")


class ReceiveErrorFrame(Exception):
    """signal-cli-rest-api sent `{"error": ...}` on the websocket instead of an envelope."""


def group_chat_id(internal_id: str) -> str:
    """Return the group id `/v2/send` accepts for a group's internal id.

    Envelopes carry the internal id (base64 of the group's master-key hash); the
    REST API addresses groups as "group." + base64(internal id), the same
    conversion signal-cli-rest-api's `convertInternalGroupIdToGroupId` does. Doing
    it here needs no `/v1/groups` round trip, so a group the bot joined a minute
    ago works at once.
    """
    return "group." + base64.b64encode(internal_id.encode()).decode()


def is_group_command(text: str, group_commands: frozenset[str]) -> bool:
    """Say whether a group message is addressed to the bot.

    True when its first word starts with "/" or is one of `group_commands`
    (compared case-insensitively).
    """
    words = text.split(maxsplit=1)
    if not words:
        return False
    first = words[0].casefold()
    return first.startswith("/") or first in {w.casefold() for w in group_commands}


def skip_reason(frame: dict[str, Any], own_number: str) -> str | None:
    """Return why a decoded frame is not a person's message, or None if it may be.

    Sync messages are dropped before parsing on purpose: signalbot reports a
    "sent from another device of this account" copy with the *recipient* as its
    source, which would make the bot's own words look like the recipient's.
    """
    envelope = frame.get("envelope")
    if not isinstance(envelope, dict):
        return "no envelope"
    if "syncMessage" in envelope:
        return "sync"
    if own_number and envelope.get("sourceNumber") == own_number:
        return "own number"
    for part in _IGNORED_PARTS:
        if part in envelope:
            return part
    if "dataMessage" not in envelope and "editMessage" not in envelope:
        return "no message"
    return None


async def to_incoming(
    api: SignalAPI, raw: str, *, own_number: str, group_commands: frozenset[str]
) -> Incoming | None:
    """Convert one websocket text frame; None when it is not for the router.

    Raises:
        ReceiveErrorFrame: the frame is an error report from signal-cli-rest-api;
            the caller logs it without its content.
    """
    frame = _decode(raw)
    if frame is None:
        return None
    if "error" in frame and "envelope" not in frame:
        raise ReceiveErrorFrame(str(frame.get("error")))
    reason = skip_reason(frame, own_number)
    if reason is not None:
        log.debug("ignored a Signal envelope (%s)", reason, extra={"action": "signal.ignored"})
        return None
    frame = normalise(frame)
    has_media = any(part in data for data in _data_parts(frame) for part in _MEDIA_PARTS)
    try:
        message = await _parse(api, frame)
    except (UnknownMessageFormatError, pydantic.ValidationError) as exc:
        log.warning(
            "could not parse a Signal envelope (%s)",
            type(exc).__name__,
            extra={"action": "signal.unparsed"},
        )
        return None
    if not isinstance(message, DataMessage):  # reactions, remote deletes, group updates
        log.debug("ignored a Signal %s", type(message).__name__, extra={"action": "signal.ignored"})
        return None
    return _from_data_message(message, group_commands, has_media)


def normalise(value: Any) -> Any:
    """The frame as signalbot's models accept it: nulls dropped, attachment defaults set.

    Every object with a `contentType` is an attachment in signal-cli's output (or a
    quoted attachment, whose model ignores the extra field).
    """
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if not isinstance(value, dict):
        return value
    clean = {key: normalise(item) for key, item in value.items() if item is not None}
    if "contentType" in clean:
        clean.setdefault("isVoiceNote", False)
    return clean


async def _parse(api: SignalAPI, frame: dict[str, Any]) -> object:
    """Signalbot's `parse()`; on a validation error, once more without the media parts."""
    try:
        return await parse(api, json.dumps(frame))
    except pydantic.ValidationError:
        stripped = json.loads(json.dumps(frame))
        for data in _data_parts(stripped):
            for part in _MEDIA_PARTS:
                data.pop(part, None)
        message = await parse(api, json.dumps(stripped))
        log.warning(
            "a Signal message's attachments could not be read; its text was kept",
            extra={"action": "signal.media_dropped"},
        )
        return message


def _data_parts(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The data messages of a frame: the message itself, or the new version of an edit."""
    envelope = frame.get("envelope") or {}
    parts = [envelope.get("dataMessage"), (envelope.get("editMessage") or {}).get("dataMessage")]
    return [part for part in parts if isinstance(part, dict)]


def _decode(raw: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        log.warning("a Signal frame was not JSON", extra={"action": "signal.unparsed"})
        return None
    return frame if isinstance(frame, dict) else None


def _from_data_message(
    message: DataMessage, group_commands: frozenset[str], has_media: bool
) -> Incoming | None:
    sender_id = message.source_uuid or message.source_number
    if not sender_id:
        return None
    text = message.text or ""
    in_group = message.is_group()
    if in_group:
        text = text.lstrip(_MENTION + " \t")
    has_text = bool(text.strip())
    if not has_text and not has_media:
        # Expiry-timer changes, profile-key updates, polls: nothing a person typed.
        return None
    if in_group and not is_group_command(text, group_commands):
        return None
    sender = Sender(PLATFORM, sender_id, message.source_name or "")
    if in_group:
        assert message.group_info is not None and message.group_info.group_id is not None
        chat = Address(PLATFORM, group_chat_id(message.group_info.group_id))
    else:
        chat = Address(PLATFORM, sender_id)
    return Incoming(
        sender=sender,
        chat=chat,
        is_private=not in_group,
        text=text,
        edited=isinstance(message, EditMessage),
        has_text=has_text,
        dedupe_key=f"{sender_id}:{message.timestamp}",
    )
