"""Holdfast on Telegram in tests: the whole app over the real python-telegram-bot and a fake.

`telegram_app(...)` runs `Harness` (router, outbox, delivery, scheduler on a fake
clock) with a `TelegramTransport` long-polling a `FakeTelegram`, so an update
pushed into the fake goes through PTB's parser, the transport, the router and the
outbox, and the answer comes back as a sendMessage (or an edit, or a callback
answer) that the fake records.

The receive side runs in the transport's own task, so "handled" is observed, never
slept for: every handled update leaves its id in `processed_inbound`, committed
with its replies, and `handled()` polls for that row.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bot.transports.telegram import Backoff, Limits, TelegramTransport
from tests.support.clock import FakeClock
from tests.support.harness import Harness
from tests.support.servers.fake_telegram import ApiError, FakeTelegram
from tests.support.signal_harness import handled

#: Limits loose enough that pacing never slows a test that is not about pacing.
LOOSE = Limits(
    global_per_second=1000, per_chat_interval=0.0, group_per_minute=1000, group_window=1.0,
    margin=0.0,
)  # fmt: skip

_LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class TelegramUser:
    """A person on Telegram: their first name (what the bot sees) and user id (= chat id)."""

    name: str
    id: int
    #: The language the person's Telegram app is set to (sent as `from.language_code`).
    language_code: str | None = None


class MigratingFake(FakeTelegram):
    """The fake Bot API, plus Telegram's group → supergroup upgrade.

    After `migrate(old, new)`, every call aimed at the old group id is refused the
    way Telegram refuses it: 400 with `parameters.migrate_to_chat_id`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.migrated: dict[int, int] = {}

    def migrate(self, old: int, new: int) -> None:
        """Upgrade group `old` to supergroup `new` (a -100… id)."""
        self.migrated[old] = new

    def _target_chat(self, params: dict[str, Any], method: str) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        return super()._target_chat(params, method)


def fast_telegram(fake: FakeTelegram, **options: Any) -> TelegramTransport:
    """A TelegramTransport on the fake: short polls and time-outs, loose pacing limits."""
    options = {
        "base_url": fake.base_url,
        "poll_timeout": 1,
        "request_timeout": 2.0,
        "limits": LOOSE,
        "backoff": Backoff(base=0.01, cap=0.05),
        **options,
    }
    return TelegramTransport(fake.token, **options)


class TelegramSide:
    """Type and press buttons as Telegram users; read what the fake Bot API was sent.

    Chats are keyed by Telegram chat id: a person's private chat is their user id,
    a group chat a negative id.
    """

    def __init__(self, h: Harness, fake: FakeTelegram) -> None:
        self.h = h
        self.fake = fake
        self._seen: dict[int, int] = {}

    # -- acting ---------------------------------------------------------------------

    async def push(self, who: TelegramUser, text: str, **kw: Any) -> int:
        """`who` sends `text` (kw as `FakeTelegram.push_text`); wait until it is handled."""
        kw.setdefault("language_code", who.language_code)
        update_id = self.fake.push_text(who.id, text, first_name=who.name, **kw)
        await handled(self.h, "telegram", str(update_id))
        return update_id

    async def say(
        self, who: TelegramUser, text: str, *, group: int | None = None, **kw: Any
    ) -> list[str]:
        """`who` sends `text` privately (or in group chat `group`); returns that chat's news."""
        if group:
            kw = {"chat_id": group, "chat_type": "group", **kw}
        await self.push(who, text, **kw)
        await self.h.deliver()
        return self.new_for(group or who.id)

    async def press(
        self, who: TelegramUser, label: str, *, chat: int | None = None, message_id: int = 0
    ) -> list[str]:
        """`who` presses the newest `label` button in `chat` (default: their own chat).

        Returns what that chat got since the last look.
        """
        chat_id = chat or who.id
        found_id, data = self.button(chat_id, label, message_id)
        update_id = self.fake.push_callback(
            who.id, data, found_id, chat_id=chat_id, first_name=who.name,
            language_code=who.language_code,
        )
        await handled(self.h, "telegram", str(update_id))
        await self.h.deliver()
        return self.new_for(chat_id)

    # -- reading --------------------------------------------------------------------

    def button(self, chat: int, label: str, message_id: int = 0) -> tuple[int, str]:
        """(message id, callback_data) of the newest button `label` shown in `chat` now."""
        for sent in reversed(self.fake.sent):
            if sent["chat_id"] != chat or (message_id and sent["message_id"] != message_id):
                continue
            current = self.markup_of(chat, sent["message_id"])
            for row in current:
                for key in row:
                    if key["text"] == label:
                        return sent["message_id"], key["callback_data"]
        raise AssertionError(f"no {label!r} button showing in chat {chat}")

    def markup_of(self, chat: int, message_id: int) -> list[list[dict[str, Any]]]:
        """The inline keyboard a message shows now (after any edits); [] for none."""
        for sent in reversed(self.fake.sent):  # every send and edit is recorded as it left
            if sent["chat_id"] == chat and sent["message_id"] == message_id:
                return list((sent.get("reply_markup") or {}).get("inline_keyboard", []))
        return []

    def labels(self, chat: int, message_id: int) -> list[list[str]]:
        """The button labels a message shows now, row by row."""
        return [[key["text"] for key in row] for row in self.markup_of(chat, message_id)]

    def last_message_id(self, chat: int, fragment: str) -> int:
        """The id of the newest message sent to `chat` whose text contains `fragment`."""
        for sent in reversed(self.fake.sent):
            if sent["chat_id"] == chat and fragment in sent["text"]:
                return int(sent["message_id"])
        raise AssertionError(f"nothing with {fragment!r} was sent to chat {chat}")

    def inbox(self, chat: int | TelegramUser) -> list[str]:
        """Every new message (not edit) the bot sent to a chat, in order."""
        return self.fake.messages_to(chat.id if isinstance(chat, TelegramUser) else chat)

    def new_for(self, chat: int | TelegramUser) -> list[str]:
        """What a chat got since the last call."""
        key = chat.id if isinstance(chat, TelegramUser) else chat
        box = self.inbox(key)
        start = self._seen.get(key, 0)
        self._seen[key] = len(box)
        return box[start:]

    def clear(self) -> None:
        """Mark everything sent so far as seen."""
        for chat in {int(s["chat_id"]) for s in self.fake.sent}:
            self.new_for(chat)

    # -- invitations ----------------------------------------------------------------

    async def invite_link(self, defender: TelegramUser, label: str = "") -> tuple[str, str]:
        """`defender` runs /invite and gets a deep link; returns (bot username, code)."""
        reply = await self.say(defender, f"/invite {label}".strip())
        found = _LINK.findall("\n".join(reply))
        assert len(found) == 1, reply
        return found[0]

    async def link(self, defender: TelegramUser, contact: TelegramUser) -> None:
        """`defender` invites `contact` by deep link; `contact` opens it and presses Accept."""
        _, code = await self.invite_link(defender, contact.name)
        shown = await self.say(contact, f"/start {code}")
        assert any("asks you to be a trusted contact" in m for m in shown), shown
        accepted = await self.press(contact, "Accept")
        assert any(f"trusted contact of {defender.name}" in m for m in accepted), accepted


@contextlib.asynccontextmanager
async def telegram_app(
    db_url: str, clock: FakeClock, fake: FakeTelegram, *, transport: Any = None, **harness: Any
) -> AsyncIterator[TelegramSide]:
    """The app with Telegram (on `fake`) started and polling; stopped on exit."""
    telegram = transport or fast_telegram(fake, pacing=False)
    async with Harness(db_url, clock, extra_transports={"telegram": telegram}, **harness) as h:
        yield TelegramSide(h, fake)
