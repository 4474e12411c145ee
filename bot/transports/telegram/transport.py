"""`TelegramTransport`: Holdfast on Telegram, through python-telegram-bot 22.

It owns the PTB `Bot` (HTTP only: no Updater, no Application, no JobQueue, so PTB
never owns the event loop), the receive side (`receive.py`), rendering
(`render.py`), pacing (`pacing.py`) and error translation (`errors.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext
from typing import TypeVar
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, ChatMember, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.core.model import PRIORITY, Delivered, MessageKind, Outgoing
from bot.transports.base import (
    DeliveryError,
    OnIncoming,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
    TransportSetupError,
)
from bot.transports.telegram.errors import (
    is_not_modified,
    is_query_too_old,
    redact,
    to_delivery_error,
)
from bot.transports.telegram.pacing import Limits, Pacer
from bot.transports.telegram.receive import Backoff, Poller, Receiver, WebhookServer
from bot.transports.telegram.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    keyboard,
    parse_answer_ref,
    parse_edit_ref,
    split_text,
    tg_len,
)
from bot.transports.telegram.updates import ALLOWED_UPDATES

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_LIMITS = Limits()
DEFAULT_BACKOFF = Backoff()
#: Bot API calls on the wire at once (after pacing). httpcore's connection pool
#: scans every connection on every request, so past a handful of connections each
#: call costs more CPU than the overlap gains: unpaced, against the fake Bot API in
#: another process on 2 cores, this transport alone sent ~340-380 msg/s with 64
#: calls in flight and ~480-570 with 8 (2.6-3.0 ms vs 1.7-2.1 ms CPU a message).
DEFAULT_IN_FLIGHT = 8
#: Types Telegram renders as a photo; any other file goes as a document.
_PHOTO_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"})
_DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramStartError(TransportSetupError):
    """The transport cannot start; the message names the setting to fix."""


class TelegramTransport:
    """One Telegram bot: receive updates, send paced messages, map errors."""

    platform = "telegram"
    numbered_choices = False

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "",
        mode: str = "polling",
        webhook_url: str = "",
        listen: str = "127.0.0.1",
        port: int = 8443,
        secret_token: str = "",
        commands: Sequence[tuple[str, str]] = (),
        pacing: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        poll_timeout: int = 25,
        request_timeout: float = 15.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        drain_budget: float = 30.0,
        max_in_flight: int = DEFAULT_IN_FLIGHT,
    ) -> None:
        _check_settings(token, mode, webhook_url, secret_token)
        self._token = token
        self._base_url = base_url or DEFAULT_BASE_URL
        self._mode = mode
        self._webhook_url = webhook_url
        self._listen, self._port, self._secret = listen, port, secret_token
        self._commands = tuple(commands)
        self._limits, self._pacing = limits, pacing
        self._poll_timeout, self._request_timeout = poll_timeout, request_timeout
        self._backoff = backoff
        self._drain_budget = drain_budget
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._max_in_flight = max_in_flight
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._bot: Bot | None = None
        self._pacer: Pacer | None = None
        self._poller: Poller | None = None
        self._webhook: WebhookServer | None = None
        self._receiver: Receiver | None = None

    @property
    def username(self) -> str:
        """The bot's @username (without the @), learned from getMe at start."""
        if self._bot is None:
            raise RuntimeError("TelegramTransport.username is known only after start()")
        return self._bot.username

    @property
    def connected(self) -> bool:
        """False while getUpdates keeps failing (health: the platform connection is down)."""
        # Send-only (a worker, an ingest standby) and webhook mode have no loop to fail.
        return self._poller is None or not self._poller.failing

    @property
    def webhook_port(self) -> int:
        """The port the webhook server listens on (useful when configured as 0)."""
        return self._webhook.bound_port if self._webhook else self._port

    def deep_link(self, payload: str) -> str:
        """A t.me link that opens the bot and sends `/start <payload>` (invites)."""
        if not _DEEP_LINK_PAYLOAD.fullmatch(payload):
            raise ValueError("deep-link payloads are 1-64 characters of A-Z a-z 0-9 _ -")
        return f"https://t.me/{self.username}?start={payload}"

    async def start(self, on_incoming: OnIncoming, *, receive: bool = True) -> None:
        """Check the token (getMe), register commands, begin receiving; return once running.

        In polling mode the updates Telegram kept while the bot was down are handled
        before this returns (within `drain_budget` seconds), so the app's first tick
        sees answers given during the downtime and escalates nothing they answered.
        With `receive=False` the transport only sends (a worker process, or an
        ingest standby) until `start_receiving`.

        Raises:
            TelegramStartError: the token was rejected or the Bot API is unreachable;
                the message names the setting to check and never contains the token.
        """
        if self._bot is not None:
            raise RuntimeError("TelegramTransport is already started")
        self._bot = self._build_bot()
        self._pacer = Pacer(self._limits) if self._pacing else None
        self._in_flight = asyncio.Semaphore(self._max_in_flight)  # bound to this loop
        self._receiver = None
        try:
            await self._guarded(self._connect(on_incoming))
            if receive:
                await self.start_receiving()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "telegram transport started",
            extra={"action": "telegram.started", "mode": self._mode, "bot": self.username,
                   "receiving": receive},
        )  # fmt: skip

    async def _connect(self, on_incoming: OnIncoming) -> None:
        bot = self._bot
        assert bot is not None
        await bot.initialize()
        if self._commands:
            await bot.set_my_commands([BotCommand(c, d) for c, d in self._commands])
        self._receiver = Receiver(bot, on_incoming, self._backoff)

    async def start_receiving(self) -> None:
        """Begin taking updates (polling: the kept backlog first); idempotent.

        Polling allows one reader per bot: the app calls this only in the process
        that holds the platform's ingest lease.
        """
        bot, receiver = self._bot, self._receiver
        if bot is None or receiver is None:
            raise RuntimeError("start the TelegramTransport before receiving")
        if self._poller is not None or self._webhook is not None:
            return
        if self._mode == "polling":
            await self._guarded(bot.delete_webhook())
            self._poller = Poller(receiver, self._poll_timeout)
            # The backlog first: the app starts its ticker only after this returns.
            await self._poller.drain(self._drain_budget)
            self._poller.start()
        else:
            await self._guarded(self._start_webhook(bot, receiver))

    async def stop_receiving(self) -> None:
        """Stop taking updates (another process took the ingest lease); sending goes on."""
        poller, self._poller = self._poller, None
        webhook, self._webhook = self._webhook, None
        if poller is not None:
            await poller.stop()
        if webhook is not None:
            await webhook.stop()

    async def _guarded(self, call: Awaitable[object]) -> None:
        """Await a Bot API call made at start, turning its errors into one-line messages."""
        try:
            await call
        except InvalidToken:
            # PTB's own message quotes the token, so do not chain it.
            raise TelegramStartError(
                "Telegram rejected the bot token: check telegram.token "
                "(or HOLDFAST_TELEGRAM_TOKEN); BotFather gives a new one with /token"
            ) from None
        except TelegramError as exc:
            raise TelegramStartError(
                f"Telegram Bot API call failed at start ({redact(str(exc), self._token)}): "
                "check telegram.base_url (HOLDFAST_TELEGRAM_BASE_URL; empty means "
                "api.telegram.org) and this server's network"
            ) from exc

    async def _start_webhook(self, bot: Bot, receiver: Receiver) -> None:
        path = urlsplit(self._webhook_url).path or "/"
        self._webhook = WebhookServer(
            receiver, path=path, listen=self._listen, port=self._port, secret_token=self._secret
        )
        await self._webhook.start()
        await bot.set_webhook(
            self._webhook_url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES
        )

    async def stop(self) -> None:
        """Stop receiving, then close HTTP clients. Idempotent; the webhook stays set.

        Leaving the webhook registered lets Telegram keep updates until we are back.
        """
        poller, self._poller = self._poller, None
        webhook, self._webhook = self._webhook, None
        pacer, self._pacer = self._pacer, None
        bot, self._bot = self._bot, None
        if poller is not None:
            await poller.stop()
        if webhook is not None:
            await webhook.stop()
        if pacer is not None:
            await pacer.close()
        if bot is not None:
            await bot.shutdown()
            log.info("telegram transport stopped", extra={"action": "telegram.stopped"})

    async def send(self, out: Outgoing) -> Delivered:
        """Render and send `out`; raise a `DeliveryError` subtype on failure.

        A pressed button is answered first; with `edit_ref` the pressed message is
        edited in place, falling back to a new message when Telegram no longer
        allows the edit. Without `edit_ref`, a button pressed in a private chat
        loses its keyboard after the reply went out. Either way a button cannot be
        pressed twice to different effect.
        """
        if self._bot is None:
            raise TransientDeliveryError("the Telegram transport is not started")
        markup = keyboard(out.choices) if out.choices else None
        priority = PRIORITY.get(out.kind, max(PRIORITY.values()))
        if out.answer_ref:
            await self._answer(out.answer_ref)
        if out.edit_ref and out.attachment is None and 0 < tg_len(out.text) <= TEXT_LIMIT:
            edited = await self._edit(out.edit_ref, out.text, markup, priority)
            if edited is not None:
                return edited
        if out.attachment is not None:
            delivered = await self._send_attachment(out, markup, priority)
        else:
            delivered = await self._send_text(out.to.chat_id, out.text, markup, priority)
        if out.answer_ref and not out.edit_ref:
            await self._strip_keyboard(out.answer_ref, priority)
        return delivered

    async def is_member(self, chat_id: str, user_id: str) -> bool | None:
        """Whether a person is in a group chat now (Bot API `getChatMember`).

        True for "creator", "administrator", "member" and "restricted" with
        `is_member`; False for "left", "kicked" and a restricted non-member; None
        when Telegram will not say: 400 "user not found" (never wrote to the bot),
        "PARTICIPANT_ID_INVALID" / "member not found" (hidden members, or spurious:
        tdlib/telegram-bot-api#795, #802), "CHAT_ADMIN_REQUIRED", a 403. A 429, a
        time-out or a 5xx raise as for a send, so the caller tries again later.
        """
        bot = self._require_bot()
        if self._pacer is not None:
            await self._pacer.wait_hold()
        try:
            async with self._in_flight:
                member = await bot.get_chat_member(chat_id, int(user_id))
        except (BadRequest, Forbidden):
            log.debug("membership unknown", extra={"action": "telegram.member_unknown"})
            return None
        except TelegramError as exc:
            raise self._translate(exc) from exc
        except ValueError:  # not a Telegram user id
            return None
        if member.status == ChatMember.RESTRICTED:
            return bool(getattr(member, "is_member", True))
        return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)

    async def delete_message(self, chat_id: str, message_id: str) -> bool:
        """Delete a message (`/cleanup`); False when Telegram refuses it for good.

        Bot API `deleteMessage`: a bot may delete its own messages and, in private
        chats, the other person's, "only if it was sent less than 48 hours ago";
        past that (or when it is already gone) the answer is 400 "Bad Request:
        message can't be deleted" / "message to delete not found". A 429, a
        time-out or a 5xx raise (`TransientDeliveryError`): the caller retries.
        """
        bot = self._require_bot()
        try:
            await self._call(
                chat_id,
                PRIORITY[MessageKind.INFO],
                lambda: bot.delete_message(chat_id, int(message_id)),
            )
        except PermanentDeliveryError:
            log.debug("message not deleted", extra={"action": "telegram.delete_refused"})
            return False
        return True

    async def _answer(self, answer_ref: str) -> None:
        query_id, _, _ = parse_answer_ref(answer_ref)
        bot = self._require_bot()
        if self._pacer is not None:
            await self._pacer.wait_hold()
        try:
            await bot.answer_callback_query(query_id)
        except BadRequest as exc:
            # Already answered, or older than Telegram's few seconds: only the
            # button's spinner is affected, so the message itself still goes out.
            level = logging.DEBUG if is_query_too_old(exc) else logging.WARNING
            log.log(level, "callback answer refused", extra={"action": "telegram.answer_refused"})
        except TelegramError as exc:
            raise self._translate(exc) from exc

    async def _edit(
        self, edit_ref: str, text: str, markup: InlineKeyboardMarkup | None, priority: int
    ) -> Delivered | None:
        """Edit the referenced message; None when a new message should be sent instead."""
        target = parse_edit_ref(edit_ref)
        if target is None:
            log.warning("malformed edit_ref", extra={"action": "telegram.bad_edit_ref"})
            return None
        chat_id, message_id = target
        bot = self._require_bot()
        # An empty keyboard removes the buttons that were pressed.
        new_markup = markup or InlineKeyboardMarkup(())
        try:
            await self._call(
                chat_id,
                priority,
                lambda: bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=new_markup
                ),
            )
        except PermanentDeliveryError as err:
            cause = err.__cause__
            if isinstance(cause, BadRequest) and is_not_modified(cause):
                return Delivered(message_id=str(message_id))
            if isinstance(err, RecipientUnreachable):
                raise
            log.debug("edit refused; sending anew", extra={"action": "telegram.edit_fallback"})
            return None
        return Delivered(message_id=str(message_id))

    async def _strip_keyboard(self, answer_ref: str, priority: int) -> None:
        """Remove the buttons of a message pressed in a private chat; best effort.

        Only the person can press in their private chat, so stale buttons there are
        always safe to remove. In groups, others may still need them (the app edits
        those via edit_ref). Failures are logged, not raised: the reply is already
        delivered, and raising would make the outbox send it twice.
        """
        _, chat_id, message_id = parse_answer_ref(answer_ref)
        if chat_id is None or message_id is None or chat_id.startswith("-"):
            return
        bot = self._require_bot()
        try:
            await self._call(
                chat_id,
                priority,
                lambda: bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=InlineKeyboardMarkup(())
                ),
            )
        except DeliveryError as err:  # gone, too old, already stripped (not modified)
            log.debug(
                "keyboard not removed",
                extra={"action": "telegram.strip_keyboard_failed", "error": type(err).__name__},
            )

    async def _send_text(
        self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None, priority: int
    ) -> Delivered:
        """Send `text`, split at line boundaries past 4096; the keyboard goes on the last part."""
        bot = self._require_bot()
        parts = split_text(text)
        message: Message | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await self._call(
                chat_id,
                priority,
                functools.partial(
                    bot.send_message, chat_id, part, reply_markup=markup if last else None
                ),
            )
        assert message is not None
        return Delivered(message_id=str(message.message_id))

    async def _send_attachment(
        self, out: Outgoing, markup: InlineKeyboardMarkup | None, priority: int
    ) -> Delivered:
        assert out.attachment is not None
        bot, chat_id, file = self._require_bot(), out.to.chat_id, out.attachment
        caption: str | None = out.text or None
        if caption is not None and tg_len(caption) > CAPTION_LIMIT:
            await self._send_text(chat_id, caption, None, priority)
            caption = None
        if file.mime_type.lower() in _PHOTO_TYPES:
            send: Callable[[], Awaitable[Message]] = lambda: bot.send_photo(  # noqa: E731
                chat_id, file.data, caption=caption, filename=file.filename, reply_markup=markup
            )
        else:
            send = lambda: bot.send_document(  # noqa: E731
                chat_id, file.data, caption=caption, filename=file.filename, reply_markup=markup
            )
        message = await self._call(chat_id, priority, send)
        return Delivered(message_id=str(message.message_id))

    async def _call(self, chat_id: str, priority: int, request: Callable[[], Awaitable[T]]) -> T:
        """Wait for a paced slot, make one Bot API call, translate its errors."""
        paced = self._pacer.slot(chat_id, priority) if self._pacer else nullcontext()
        try:
            async with paced, self._in_flight:
                result = await request()
        except TelegramError as exc:
            raise self._translate(exc) from exc
        log.debug("telegram call done", extra={"action": "telegram.sent", "chat_id": chat_id})
        return result

    def _translate(self, exc: TelegramError) -> Exception:
        err = to_delivery_error(exc, self._token)
        if isinstance(err, RateLimited):
            log.warning(
                "Telegram flood control",
                extra={"action": "telegram.rate_limited", "retry_after": err.retry_after},
            )
            if self._pacer is not None:
                self._pacer.hold(err.retry_after)  # a 429 holds the whole bot
        else:
            log.debug(
                "telegram call failed",
                extra={"action": "telegram.send_error", "error": type(err).__name__},
            )
        return err

    def _require_bot(self) -> Bot:
        if self._bot is None:
            raise TransientDeliveryError("the Telegram transport was stopped")
        return self._bot

    def _build_bot(self) -> Bot:
        timeout = self._request_timeout
        request = HTTPXRequest(
            # a spare pair for callback answers, which do not wait for a send slot
            connection_pool_size=self._max_in_flight + 2,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
            media_write_timeout=max(timeout, 30.0),
        )
        # Long polls get their own connection, so they never starve sends; PTB adds
        # the poll timeout to this read timeout.
        poll_request = HTTPXRequest(
            connection_pool_size=1,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
        return Bot(
            self._token, base_url=self._base_url, request=request, get_updates_request=poll_request
        )


def _check_settings(token: str, mode: str, webhook_url: str, secret_token: str) -> None:
    """Fail at construction, naming the configuration key, never echoing the token."""
    if not token:
        raise TelegramStartError("telegram.token (or HOLDFAST_TELEGRAM_TOKEN) is empty")
    if mode not in ("polling", "webhook"):
        raise TelegramStartError('telegram.mode must be "polling" or "webhook"')
    if mode == "webhook" and not webhook_url:
        raise TelegramStartError("telegram.webhook_url is required in webhook mode")
    if mode == "webhook" and not _SECRET_TOKEN.fullmatch(secret_token):
        # Without it anyone who finds the URL can inject fake updates (fake check-ins).
        raise TelegramStartError(
            "telegram.secret_token is required in webhook mode: 1-256 characters of "
            "A-Z a-z 0-9 _ - (Telegram's rule)"
        )
