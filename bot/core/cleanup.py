"""`/cleanup 24h`: what the bot deletes from a private chat, and when (pure rules).

A phone that is read by someone else should not carry a long history of check-ins.
With cleanup on, the bot deletes, after the chosen time, its own messages in the
person's private chat (prompts, reminders, replies, notices) and the person's own
messages to it, where the platform allows. Alerts about other people are kept: the
person may still need them. Telegram lets a bot delete a message only within 48
hours of sending, so the time is 1 to 47 hours. Signal has no deletion for bots; the
chat's disappearing-message timer is set instead (Signal deletes on both sides).
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.model import MessageKind

SHORTEST = timedelta(hours=1)
#: Telegram's `deleteMessage` refuses messages older than 48 hours; an hour to spare.
LONGEST = timedelta(hours=47)

#: The bot's own messages that are deleted (alerts about others are kept).
DELETED_KINDS = frozenset(
    {MessageKind.PROMPT, MessageKind.REMINDER, MessageKind.REPLY, MessageKind.INFO}
)


def allowed(after: timedelta) -> bool:
    """Whether a cleanup time can be kept by every platform that deletes."""
    return SHORTEST <= after <= LONGEST


def deletes(kind: str, private: bool) -> bool:
    """Whether a sent message of this kind is deleted later (private chats only)."""
    return private and kind in DELETED_KINDS
