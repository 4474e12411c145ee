"""Turn Telegram updates into platform-neutral `Incoming` messages, or decide to ignore them.

What reaches the bot is deliberately narrow: everything in a private chat (so the
bot can answer "send text" to a sticker), but in groups only commands addressed to
this bot, so the bot never reads or reacts to ordinary group chatter. Messages from
other bots and channel posts are dropped here. Callback-query (button) presses carry
the pressed message's chat and id in `answer_ref`, so a reply can edit that message.
"""

from __future__ import annotations

import re

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType

from bot.core.model import Address, Incoming, Sender

PLATFORM = "telegram"

#: The update kinds the bot asks Telegram for (getUpdates and setWebhook).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

# "/cmd" or "/cmd@botname" at the very start, then whatever follows, kept verbatim.
_COMMAND = re.compile(r"^(/[^\s@]+)(?:@(\S*))?")


def to_incoming(update: Update, bot_username: str) -> Incoming | None:
    """The `Incoming` for `update`, or None when the bot should not see it."""
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    message = update.message or update.edited_message
    if message is None:  # channel posts, and kinds we did not ask for
        return None
    return _from_message(update.update_id, message, bot_username, update.message is None)


def _from_message(
    update_id: int, message: Message, bot_username: str, edited: bool
) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot or message.chat.type == ChatType.CHANNEL:
        return None
    private = message.chat.type == ChatType.PRIVATE
    text = message.text
    if not private:  # groups: only fresh commands addressed to us
        if edited or text is None or not text.startswith("/"):
            return None
        text = command_for_us(text, bot_username)
        if text is None:
            return None
    elif text is not None:  # privately, "/ok@OtherBot" stays as typed
        text = command_for_us(text, bot_username) or text
    return Incoming(
        sender=Sender(PLATFORM, str(user.id), user.full_name, user.language_code or ""),
        chat=Address(PLATFORM, str(message.chat.id)),
        is_private=private,
        text=text or "",
        edited=edited,
        forwarded=message.forward_origin is not None,
        has_text=message.text is not None,
        dedupe_key=str(update_id),
        message_ref=str(message.message_id) if private else None,
    )


def _from_callback(update_id: int, query: CallbackQuery) -> Incoming | None:
    message = query.message
    if query.from_user.is_bot or message is None or query.data is None:
        # No message: an inline-mode button, which this bot never sends.
        return None
    return Incoming(
        sender=Sender(
            PLATFORM,
            str(query.from_user.id),
            query.from_user.full_name,
            query.from_user.language_code or "",
        ),
        chat=Address(PLATFORM, str(message.chat.id)),
        is_private=message.chat.type == ChatType.PRIVATE,
        text="",
        choice=query.data,
        dedupe_key=str(update_id),
        answer_ref=f"{query.id}|{message.chat.id}|{message.message_id}",
    )


def command_for_us(text: str, bot_username: str) -> str | None:
    """`text` with our own `@botname` suffix removed from its command.

    Returns `text` unchanged when it is no command, and None when it is a command
    addressed to another bot (`/ok@OtherBot`). Usernames compare case-insensitively,
    as Telegram treats them.
    """
    match = _COMMAND.match(text)
    if match is None or match.group(2) is None:
        return text
    if match.group(2).lower() != bot_username.lower():
        return None
    return match.group(1) + text[match.end() :]
