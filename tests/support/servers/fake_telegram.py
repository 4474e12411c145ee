"""A fake Telegram Bot API server on 127.0.0.1, for driving the real python-telegram-bot.

Tests point `TelegramTransport(base_url=fake.base_url)` at it and then:
- push updates (`push_text`, `push_callback`, `push_sticker`, `push_raw`) that the
  bot fetches with long polling (`getUpdates` waits up to `timeout` seconds);
- read what the bot did: `.sent` (every successful send or edit), `.calls`,
  `.offsets`, `.answered`, `.commands`, `.webhook`, `messages_to(chat_id)`;
- inject faults as Telegram reports them: `fail_next` (any status, with
  `retry_after` or `migrate_to_chat_id`), `hang_next` (time-outs), `block` (403),
  `hold_chats` (sends to these chats wait, unanswered, until `release_chats`, then
  fail with 502 and are not delivered: a request lost with the process that made it),
  and `enforce_limits` (429 when the bot floods, counted in `.too_many`).

Answers use Telegram's JSON shapes ({"ok": true, "result": ...} and
{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}), and a
wrong token gets 401 "Unauthorized" like the real API.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

#: Parameters PTB sends as raw strings; every other form value is JSON-encoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "url",
        "secret_token",
        "parse_mode",
        "photo",
        "document",
        "description",
        "short_description",
        "name",
        "language_code",
    }
)
#: Methods that put a message in a chat: they count against the flood limits.
_LIMITED = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagereplymarkup"}
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """Raised inside a method handler to answer with Telegram's error shape."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


@dataclass
class _Fault:
    status: int = 0
    description: str = ""
    parameters: JSON | None = None
    hang: float = 0.0
    deliver: bool = False


@dataclass
class _Limits:
    global_per_second: int
    per_chat_interval: float
    group_per_minute: int
    group_window: float
    tolerance: float


def tg_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def chat_type_of(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class FakeTelegram:
    """The fake server; use as `async with FakeTelegram() as fake:`."""

    def __init__(self, token: str = "123:ABC", username: str = "HoldfastBot") -> None:
        self.token, self.username = token, username
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 1
        self.sent: list[JSON] = []
        self.calls: list[tuple[str, JSON]] = []
        self.offsets: list[int | None] = []
        self.answered: list[str] = []
        self.commands: list[tuple[str, str]] = []
        self.webhook: JSON | None = None
        self.too_many = 0
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(5000)
        self._messages: dict[tuple[int, int], JSON] = {}
        self._pending_callbacks: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._blocked: set[int] = set()
        #: chat id → user id → ChatMember status, for getChatMember (`set_member`)
        self.members: dict[int, dict[int, str]] = defaultdict(dict)
        self._known_users: set[int] = set()
        #: (chat id, message id) of messages deleted with deleteMessage
        self.deleted: list[tuple[int, int]] = []
        #: when each message in a chat was sent (time.time()), for deleteMessage's 48 h
        self._sent_at: dict[tuple[int, int], float] = {}
        self._held_chats: set[int] = set()
        self._release = asyncio.Event()
        self.holding = 0  # sends waiting in `hold_chats` now
        self._limits: _Limits | None = None
        self._global_times: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._group_times: dict[int, deque[float]] = defaultdict(deque)
        self._new_update = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[JSON, JSON], Awaitable[Any]]] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe",
                "getUpdates",
                "deleteWebhook",
                "setWebhook",
                "getWebhookInfo",
                "setMyCommands",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "answerCallbackQuery",
                "sendPhoto",
                "sendDocument",
                "getChat",
                "getChatMember",
                "deleteMessage",
            )
        }

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----------------------------------------------------------- test drivers

    def push_raw(self, update: JSON) -> int:
        """Queue an update (an `update_id` is assigned when missing); returns its id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._new_update.set()
        self._new_update = asyncio.Event()
        return int(update["update_id"])

    def push_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ada",
        last_name: str | None = None,
        edited: bool = False,
        forwarded: bool = False,
        is_bot: bool = False,
        language_code: str | None = None,
    ) -> int:
        """Queue a text message from a person (or a bot, with is_bot); returns the update id."""
        return self.push_raw(
            self.text_update(
                user_id,
                text,
                chat_id,
                chat_type,
                first_name,
                last_name,
                edited,
                forwarded,
                is_bot,
                language_code,
            )
        )

    def text_update(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ada",
        last_name: str | None = None,
        edited: bool = False,
        forwarded: bool = False,
        is_bot: bool = False,
        language_code: str | None = None,
    ) -> JSON:
        """The update `push_text` would queue, without queueing it (for webhook POSTs)."""
        message = self._incoming_message(
            user_id, chat_id, chat_type, first_name, last_name, is_bot, language_code
        )
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": tg_len(command)}]
        if forwarded:
            message["forward_origin"] = {
                "type": "hidden_user",
                "date": int(time.time()) - 60,
                "sender_user_name": "Someone",
            }
        key = "message"
        if edited:
            message["edit_date"] = int(time.time())
            key = "edited_message"
        return {"update_id": next(self._update_ids), key: message}

    def push_sticker(
        self, user_id: int, chat_id: int | None = None, chat_type: str = "private"
    ) -> int:
        """A sticker: a message without text."""
        message = self._incoming_message(user_id, chat_id, chat_type, "Ada", None, False)
        message["sticker"] = {
            "file_id": "sticker-file",
            "file_unique_id": "sticker-unique",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push_raw({"message": message})

    def push_callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        chat_id: int | None = None,
        first_name: str = "Ada",
        language_code: str | None = None,
    ) -> int:
        """A button press on message `message_id` in `chat_id` (default: the user's chat)."""
        chat = user_id if chat_id is None else chat_id
        query_id = str(next(self._callback_ids))
        self._pending_callbacks.add(query_id)
        message = self._messages.get((chat, message_id)) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": self._bot_user(),
            "text": "",
        }
        query = {
            "id": query_id,
            "chat_instance": f"ci{chat}",
            "data": data,
            "message": message,
            "from": _user(user_id, False, first_name, None, language_code),
        }
        return self.push_raw({"callback_query": query})

    # ------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` with an error."""
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
            description = description or (
                "Bad Request: group chat was upgraded to a supergroup chat"
            )
        text = description or _DEFAULT_DESCRIPTIONS.get(status, "Error").format(
            retry_after=retry_after
        )
        for _ in range(count):
            self._faults[method.lower()].append(_Fault(status, text, parameters or None))

    def hang_next(
        self, method: str, count: int = 1, seconds: float = 5.0, deliver: bool = False
    ) -> None:
        """Stall the next `count` calls of `method` for `seconds` (client time-outs).

        Afterwards the call is processed (`deliver=True`, as when Telegram was only
        slow) or answered 502 without effect (the default).
        """
        for _ in range(count):
            self._faults[method.lower()].append(_Fault(hang=seconds, deliver=deliver))

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """`user_id`'s status in group `chat_id`, as getChatMember reports it.

        "creator", "administrator", "member", "restricted" (still in the chat),
        "restricted_left" (restricted and not in it: `is_member` false), "left",
        "kicked".
        """
        self.members[int(chat_id)][int(user_id)] = status

    def block(self, chat_id: int) -> None:
        """The user of this chat blocked the bot: sends get 403."""
        self._blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(int(chat_id))

    def hold_chats(self, chat_ids: set[int]) -> None:
        """Sends to these chats wait unanswered until `release_chats` (then 502, not sent)."""
        self._held_chats = set(chat_ids)
        self._release.clear()

    def release_chats(self) -> None:
        """End `hold_chats`: waiting sends fail with 502; later sends go through."""
        self._held_chats = set()
        self._release.set()

    def enforce_limits(
        self,
        global_per_second: int = 30,
        per_chat_per_second: float = 1,
        group_per_minute: int = 20,
        group_window: float = 60.0,
        tolerance: float = 0.01,
    ) -> None:
        """Answer 429 (counted in `.too_many`) when the bot floods like Telegram punishes.

        Per chat, two messages must be 1/per_chat_per_second apart; overall, at most
        global_per_second in any second; per group, group_per_minute per window.
        `tolerance` forgives that much clock jitter on every window.
        """
        self._limits = _Limits(
            global_per_second,
            1.0 / per_chat_per_second,
            group_per_minute,
            group_window,
            tolerance,
        )

    # ------------------------------------------------------------------ queries

    def messages_to(self, chat_id: int | str) -> list[str]:
        """Texts (captions for files) of new messages sent to `chat_id`, in order."""
        return [
            s["text"]
            for s in self.sent
            if str(s["chat_id"]) == str(chat_id) and s["method"].startswith("send")
        ]

    def calls_of(self, method: str) -> list[JSON]:
        return [params for name, params in self.calls if name.lower() == method.lower()]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        method = request.match_info["method"]
        handler = self._methods.get(method.lower())
        if handler is None:
            return ApiError(404, "Not Found").response()
        try:
            params, files = await _read_params(request)
        except ConnectionResetError:  # the client gave up mid-request (stop(), time-outs)
            return web.Response(status=499)
        self.calls.append((method, params))
        try:
            await self._apply_fault(method.lower())
            result = await handler(params, files)
        except ApiError as exc:
            return exc.response()
        return web.json_response({"ok": True, "result": result})

    async def _apply_fault(self, method: str) -> None:
        queue = self._faults.get(method)
        if not queue:
            return
        fault = queue.popleft()
        if fault.hang:
            try:
                await asyncio.wait_for(self._closing.wait(), fault.hang)
            except TimeoutError:
                pass
            if fault.deliver:
                return
            raise ApiError(502, "Bad Gateway")
        raise ApiError(fault.status, fault.description, fault.parameters)

    def _check_flood(self, chat_id: int) -> None:
        lim = self._limits
        if lim is None:
            return
        now = time.monotonic()
        horizon = now - (1.0 - lim.tolerance)
        while self._global_times and self._global_times[0] <= horizon:
            self._global_times.popleft()
        waits = []
        if len(self._global_times) >= lim.global_per_second:
            waits.append(self._global_times[0] - horizon)
        last = self._chat_last.get(chat_id)
        if last is not None and now - last < lim.per_chat_interval - lim.tolerance:
            waits.append(last + lim.per_chat_interval - now)
        group = self._group_times[chat_id] if chat_id < 0 else None
        if group is not None:
            while group and group[0] <= now - (lim.group_window - lim.tolerance):
                group.popleft()
            if len(group) >= lim.group_per_minute:
                waits.append(group[0] + lim.group_window - now)
        if waits:
            self.too_many += 1
            retry = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        self._global_times.append(now)
        self._chat_last[chat_id] = now
        if group is not None:
            group.append(now)

    def _chat(self, chat_id: int) -> JSON:
        kind = chat_type_of(chat_id)
        if kind == "private":
            return {"id": chat_id, "type": kind, "first_name": "Ada"}
        return {"id": chat_id, "type": kind, "title": "Alert group"}

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Holdfast",
            "username": self.username,
        }

    def _incoming_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str,
        last_name: str | None,
        is_bot: bool,
        language_code: str | None = None,
    ) -> JSON:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError("a group message needs a chat_id")
            chat_id = user_id
        chat = self._chat(chat_id)
        chat["type"] = chat_type
        if chat_type == "private":
            self._known_users.add(user_id)
        sender = _user(user_id, is_bot, first_name, last_name, language_code)
        message_id = next(self._message_ids)
        self._sent_at[(int(chat_id), message_id)] = time.time()
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
        }

    def _target_chat(self, params: JSON, method: str) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method.lower() in _LIMITED:
            self._check_flood(chat_id)
        return chat_id

    def _record(self, method: str, message: JSON, params: JSON, **extra: Any) -> None:
        self.sent.append(
            {
                "method": method,
                "chat_id": message["chat"]["id"],
                "message_id": message["message_id"],
                "text": message.get("text", message.get("caption", "")),
                "reply_markup": message.get("reply_markup"),
                "parse_mode": params.get("parse_mode"),
                "time": time.monotonic(),
                **extra,
            }
        )

    def _new_message(self, chat_id: int, params: JSON, **content: Any) -> JSON:
        markup = _check_markup(params.get("reply_markup"))
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        if markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._sent_at[(chat_id, message["message_id"])] = time.time()
        return message

    # ------------------------------------------------------------------ methods

    async def _m_getMe(self, params: JSON, files: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: JSON, files: JSON) -> list[JSON]:
        offset = params.get("offset")
        self.offsets.append(offset)
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self._updates and not self._closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                break
        return self._updates[: int(params.get("limit") or 100)]

    async def _m_deleteWebhook(self, params: JSON, files: JSON) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: JSON, files: JSON) -> bool:
        self.webhook = {
            "url": params.get("url"),
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    async def _m_getWebhookInfo(self, params: JSON, files: JSON) -> JSON:
        hook = self.webhook or {}
        return {
            "url": hook.get("url") or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _m_setMyCommands(self, params: JSON, files: JSON) -> bool:
        commands = params.get("commands") or []
        for item in commands:
            if not _COMMAND_NAME.fullmatch(str(item.get("command", ""))) or not (
                1 <= len(str(item.get("description", ""))) <= 256
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands = [(c["command"], c["description"]) for c in commands]
        return True

    async def _m_getChat(self, params: JSON, files: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    def age(self, chat_id: int, message_id: int, seconds: float) -> None:
        """Make a message `seconds` older (deleteMessage refuses after 48 hours)."""
        self._sent_at[(int(chat_id), int(message_id))] -= seconds

    async def _m_deleteMessage(self, params: JSON, files: JSON) -> bool:
        """Bot API deleteMessage: "a message can only be deleted if it was sent less
        than 48 hours ago"; a bot deletes its own messages and, in a private chat, the
        other person's. Refusals as the Bot API words them (400)."""
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        sent = self._sent_at.get((chat_id, message_id))  # type: ignore[arg-type]
        if sent is None or (chat_id, message_id) in self.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        if time.time() - sent >= 48 * 3600:
            raise ApiError(400, "Bad Request: message can't be deleted")
        self.deleted.append((chat_id, int(message_id)))  # type: ignore[arg-type]
        self._messages.pop((chat_id, message_id), None)  # type: ignore[arg-type]
        return True

    async def _m_getChatMember(self, params: JSON, files: JSON) -> JSON:
        """A ChatMember object, as the Bot API answers getChatMember.

        A user who never wrote to the bot privately is unknown to it: 400 "Bad
        Request: user not found" (tdlib/telegram-bot-api#332, levlam: "only if the
        user never contacted the bot in private"). A known user not in the group is
        "left". Hidden members and spurious refusals ("Bad Request:
        PARTICIPANT_ID_INVALID", #802) are injected with `fail_next`.
        """
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        status = self.members.get(chat_id, {}).get(user_id)
        if status is None:
            if user_id not in self._known_users:
                raise ApiError(400, "Bad Request: user not found")
            status = "left"
        user = {"id": user_id, "is_bot": False, "first_name": "Ada"}
        member: JSON = {"user": user, "status": status}
        if status.startswith("restricted"):
            member.update(
                status="restricted", is_member=status == "restricted", until_date=0,
                can_send_messages=False, can_send_audios=False, can_send_documents=False,
                can_send_photos=False, can_send_videos=False, can_send_video_notes=False,
                can_send_voice_notes=False, can_send_polls=False,
                can_send_other_messages=False, can_add_web_page_previews=False,
                can_change_info=False, can_invite_users=False, can_pin_messages=False,
                can_manage_topics=False, can_edit_tag=False, can_react_to_messages=False,
            )  # fmt: skip
        elif status in ("creator", "administrator"):
            member["is_anonymous"] = False
            if status == "administrator":
                member.update(
                    can_be_edited=False, can_manage_chat=True, can_delete_messages=False,
                    can_manage_video_chats=False, can_restrict_members=False,
                    can_promote_members=False, can_change_info=False, can_invite_users=True,
                    can_post_stories=False, can_edit_stories=False, can_delete_stories=False,
                )  # fmt: skip
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _m_sendMessage(self, params: JSON, files: JSON) -> JSON:
        chat_id = self._target_chat(params, "sendMessage")
        if chat_id in self._held_chats:
            self.holding += 1
            try:
                await self._release.wait()
            finally:
                self.holding -= 1
            raise ApiError(502, "Bad Gateway")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if tg_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        message = self._new_message(chat_id, params, text=text)
        self._record("sendMessage", message, params)
        return message

    async def _m_sendPhoto(self, params: JSON, files: JSON) -> JSON:
        return self._send_file("sendPhoto", "photo", params, files)

    async def _m_sendDocument(self, params: JSON, files: JSON) -> JSON:
        return self._send_file("sendDocument", "document", params, files)

    def _send_file(self, method: str, field: str, params: JSON, files: JSON) -> JSON:
        chat_id = self._target_chat(params, method)
        ref = params.get(field)
        upload = files.get(field)
        if upload is None and isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref.removeprefix("attach://"))
        if upload is None:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        caption = params.get("caption") or ""
        if tg_len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        filename, data, content_type = upload
        content: JSON = {"caption": caption} if caption else {}
        if field == "photo":
            width, height = _image_size(data)
            content["photo"] = [
                {
                    "file_id": "photo-file",
                    "file_unique_id": "photo-unique",
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            ]
        else:
            content["document"] = {
                "file_id": "doc-file",
                "file_unique_id": "doc-unique",
                "file_name": filename,
                "mime_type": content_type,
                "file_size": len(data),
            }
        message = self._new_message(chat_id, params, **content)
        self._record(
            method,
            message,
            params,
            file={"filename": filename, "data": data, "content_type": content_type},
        )
        return message

    async def _m_editMessageText(self, params: JSON, files: JSON) -> JSON:
        message = self._editable(params, "editMessageText")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit("editMessageText", message, params, text)

    async def _m_editMessageReplyMarkup(self, params: JSON, files: JSON) -> JSON:
        message = self._editable(params, "editMessageReplyMarkup")
        return self._apply_edit("editMessageReplyMarkup", message, params, message.get("text"))

    def _editable(self, params: JSON, method: str) -> JSON:
        chat_id = self._target_chat(params, method)
        message = self._messages.get((chat_id, params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _apply_edit(self, method: str, message: JSON, params: JSON, text: str | None) -> JSON:
        markup = _check_markup(params.get("reply_markup"))
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        if text is not None:
            message["text"] = text
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._record(method, message, params)
        return message

    async def _m_answerCallbackQuery(self, params: JSON, files: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._pending_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._pending_callbacks.discard(query_id)
        self.answered.append(query_id)
        return True


def _check_markup(markup: Any) -> JSON | None:
    """The markup as Telegram stores it (an empty keyboard is none); 400 on bad buttons."""
    if not markup:
        return None
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards and the like: kept as given
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup if rows else None


async def _read_params(request: web.Request) -> tuple[JSON, JSON]:
    """Parameters from a query string, a JSON body, a form, or multipart (with files)."""
    files: JSON = {}
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query)
    elif request.content_type == "application/json":
        raw = await request.json() if request.can_read_body else {}
        return raw, files
    else:
        raw = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read(), value.content_type)
            else:
                raw[key] = value
    return {key: _decode(key, value) for key, value in raw.items()}, files


def _decode(key: str, value: Any) -> Any:
    """PTB JSON-encodes every non-string parameter and sends strings as they are."""
    if key in _STRING_PARAMS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an uploaded PNG (its IHDR chunk), as the real sendPhoto reports.

    Telegram answers sendPhoto with the photo's sizes ("photo: Array of PhotoSize").
    Bytes that are no PNG (the transport tests' stand-ins) keep the old fixed size.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return 320, 240
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _user(
    user_id: int, is_bot: bool, first_name: str, last_name: str | None, language_code: str | None
) -> JSON:
    """A Bot API `User` as it appears in `from`: `last_name` and `language_code` are optional
    fields, present only when known (core.telegram.org/bots/api#user: "language_code:
    Optional. IETF language tag of the user's language"; real clients send the app's
    language, e.g. "th", "en", "pt-br", on messages and callback queries alike)."""
    user: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if language_code:
        user["language_code"] = language_code
    return user
