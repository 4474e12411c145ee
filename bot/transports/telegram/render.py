"""Render `Outgoing` pieces the way Telegram takes them: keyboards, split texts, refs.

Text is always sent without parse_mode, so markup characters, right-to-left
overrides and zero-width characters in names and notes arrive exactly as written
and can never break parsing or smuggle formatting.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.model import Choice
from bot.transports.base import PermanentDeliveryError

#: Telegram's limits, in UTF-16 code units (what Telegram counts).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8


def keyboard(rows: tuple[tuple[Choice, ...], ...]) -> InlineKeyboardMarkup:
    """Inline keyboard whose buttons carry their command as callback_data.

    Raises:
        PermanentDeliveryError: a command longer than Telegram's 64 bytes; this is a
            bug upstream (commands must stay short), so retrying cannot help.
    """
    for row in rows:
        for choice in row:
            if len(choice.command.encode("utf-8")) > CALLBACK_DATA_LIMIT:
                raise PermanentDeliveryError(
                    f"button command is over {CALLBACK_DATA_LIMIT} bytes of UTF-8"
                )
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label, callback_data=c.command) for c in row] for row in rows]
    )


def tg_len(text: str) -> int:
    """Length as Telegram measures it (UTF-16 code units; emoji count double)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split `text` into parts of at most `limit`, on line boundaries where possible.

    A single line longer than the limit is cut hard (never inside a character).
    The newline that ends a part stays with it, so joining the parts gives back
    `text`, except for parts that would be only whitespace: Telegram refuses those
    ("message text is empty") and trims edge whitespace anyway, so they are dropped.
    """
    if tg_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        while tg_len(line) > limit:  # one very long line: cut it hard
            parts.append(current)
            current, size = "", 0
            head = _take(line, limit)
            parts.append(head)
            line = line[len(head) :]
        if size + tg_len(line) > limit:
            parts.append(current)
            current, size = "", 0
        current += line
        size += tg_len(line)
    parts.append(current)
    return [part for part in parts if part.strip()]


def _take(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units."""
    size = 0
    for index, char in enumerate(text):
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit:
            return text[:index]
    return text


def parse_answer_ref(ref: str) -> tuple[str, str | None, int | None]:
    """(callback query id, chat id, message id) from an `Incoming.answer_ref`."""
    query_id, _, rest = ref.partition("|")
    target = parse_edit_ref(rest) if rest else None
    return (query_id, *target) if target else (query_id, None, None)


def parse_edit_ref(ref: str) -> tuple[str, int] | None:
    """(chat id, message id) from an edit ref, or None when it is malformed.

    Accepts "chat_id|message_id" and also a whole answer_ref
    ("query_id|chat_id|message_id"), so the app may pass either.
    """
    pieces = ref.split("|")
    if len(pieces) not in (2, 3):
        return None
    chat_id, message_id = pieces[-2], pieces[-1]
    digits = chat_id.lstrip("-") + message_id
    if not (digits.isascii() and chat_id.lstrip("-").isdigit() and message_id.isdigit()):
        return None
    return chat_id, int(message_id)
