"""The Telegram transport: the real python-telegram-bot against a fake Bot API server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from telegram.error import TimedOut

from bot.core.model import (
    Address,
    Attachment,
    Choice,
    Incoming,
    MessageKind,
    Outgoing,
    Sender,
)
from bot.transports.base import (
    ChatMoved,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
    Transport,
)
from bot.transports.telegram import Backoff, Limits, TelegramStartError, TelegramTransport
from bot.transports.telegram.render import parse_edit_ref, split_text, tg_len
from bot.transports.telegram.updates import command_for_us
from tests.support.servers.fake_telegram import FakeTelegram

USER = 42
GROUP = -1001234
#: Limits loose enough that pacing never slows tests that are not about pacing.
FAST = Limits(
    global_per_second=1000,
    per_chat_interval=0.0,
    group_per_minute=1000,
    group_window=1.0,
    margin=0.0,
)


class Inbox:
    """An on_incoming callback that records what arrives."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []

    async def __call__(self, incoming: Incoming) -> None:
        self.items.append(incoming)

    async def wait(self, count: int = 1, timeout: float = 3.0) -> list[Incoming]:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                await asyncio.sleep(0.005)
        return self.items


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def make(fake: FakeTelegram) -> AsyncIterator[Callable[..., TelegramTransport]]:
    made: list[TelegramTransport] = []

    def build(**options: object) -> TelegramTransport:
        options.setdefault("base_url", fake.base_url)
        options.setdefault("poll_timeout", 1)
        options.setdefault("request_timeout", 2.0)
        options.setdefault("limits", FAST)
        options.setdefault("backoff", Backoff(base=0.01, cap=0.05))
        transport = TelegramTransport(fake.token, **options)  # type: ignore[arg-type]
        made.append(transport)
        return transport

    yield build
    for transport in made:
        await transport.stop()


async def started(
    make: Callable[..., TelegramTransport], inbox: Inbox | None = None, **options: object
) -> TelegramTransport:
    transport = make(**options)
    await transport.start(inbox or Inbox())
    return transport


def to(chat: int, text: str, **fields: object) -> Outgoing:
    return Outgoing(to=Address("telegram", str(chat)), text=text, **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ start and stop


async def test_start_learns_username_registers_commands_and_deep_links(fake, make):
    transport = await started(make, commands=[("ok", "I'm safe"), ("sos", "Alert my contacts")])

    assert isinstance(transport, Transport)
    assert len(fake.calls_of("getMe")) == 1
    assert transport.username == "HoldfastBot"
    assert fake.commands == [("ok", "I'm safe"), ("sos", "Alert my contacts")]
    assert fake.calls_of("deleteWebhook"), "polling must clear a leftover webhook"
    assert transport.deep_link("Ab_9-x") == "https://t.me/HoldfastBot?start=Ab_9-x"
    with pytest.raises(ValueError):
        transport.deep_link("not allowed!")


async def test_a_rejected_token_names_the_setting_and_never_the_token(fake):
    transport = TelegramTransport("999:SECRETWRONG", base_url=fake.base_url)
    with pytest.raises(TelegramStartError) as caught:
        await transport.start(Inbox())

    assert "telegram.token" in str(caught.value)
    assert "HOLDFAST_TELEGRAM_TOKEN" in str(caught.value)
    assert "SECRETWRONG" not in str(caught.value)
    assert caught.value.__suppress_context__  # PTB's own message quotes the token
    await transport.stop()


async def test_webhook_mode_requires_a_secret_token():
    with pytest.raises(TelegramStartError, match="telegram.secret_token"):
        TelegramTransport("1:A", mode="webhook", webhook_url="https://example.org/hook")


async def test_stop_is_idempotent_and_leaves_no_task(make):
    transport = await started(make)
    await transport.send(to(USER, "hello"))

    await transport.stop()
    await transport.stop()

    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("telegram")]
    assert left == []
    with pytest.raises(TransientDeliveryError):
        await transport.send(to(USER, "after stop"))


# ------------------------------------------------------------------ receiving


async def test_private_text_becomes_incoming_and_is_acknowledged_only_after_handling(fake, make):
    entered, release = asyncio.Event(), asyncio.Event()
    seen: list[Incoming] = []

    async def on_incoming(incoming: Incoming) -> None:
        seen.append(incoming)
        entered.set()
        await release.wait()

    transport = make()
    await transport.start(on_incoming)
    update_id = fake.push_text(USER, "/ok 3 fine", first_name="Ada", last_name="Lovelace")
    async with asyncio.timeout(3):
        await entered.wait()

    assert seen == [
        Incoming(
            sender=Sender("telegram", str(USER), "Ada Lovelace"),
            chat=Address("telegram", str(USER)),
            is_private=True,
            text="/ok 3 fine",
            dedupe_key=str(update_id),
        )
    ]
    await asyncio.sleep(0.2)
    assert update_id + 1 not in fake.offsets, "acknowledged before the handler returned"

    release.set()
    await fake.wait_for(lambda: update_id + 1 in fake.offsets)


async def test_a_failing_handler_gets_the_same_update_again(fake, make):
    keys: list[str | None] = []

    async def flaky(incoming: Incoming) -> None:
        keys.append(incoming.dedupe_key)
        if len(keys) == 1:
            raise RuntimeError("database is locked")

    transport = make()
    await transport.start(flaky)
    update_id = fake.push_text(USER, "ok")
    await fake.wait_for(lambda: update_id + 1 in fake.offsets)

    assert keys == [str(update_id), str(update_id)]


async def test_a_poison_update_is_skipped_after_five_tries(fake, make):
    texts: list[str] = []

    async def poisoned(incoming: Incoming) -> None:
        texts.append(incoming.text)
        if incoming.text == "poison":
            raise ValueError("cannot handle")

    transport = make()
    await transport.start(poisoned)
    fake.push_text(USER, "poison")
    after = fake.push_text(USER, "next")
    await fake.wait_for(lambda: after + 1 in fake.offsets)

    assert texts == ["poison"] * 5 + ["next"]


async def test_an_update_interrupted_by_a_crash_is_fetched_again(fake, make):
    entered = asyncio.Event()

    async def hangs(incoming: Incoming) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process "dies" while handling

    first = make()
    await first.start(hangs)
    update_id = fake.push_text(USER, "ok")
    async with asyncio.timeout(3):
        await entered.wait()
    await first.stop()

    inbox = Inbox()
    await started(make, inbox)
    (again,) = await inbox.wait()
    assert again.dedupe_key == str(update_id)


async def test_in_groups_only_commands_for_this_bot_arrive(fake, make):
    inbox = Inbox()
    await started(make, inbox)
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    fake.push_text(USER, "hello everyone", **group)
    fake.push_text(USER, "/status@OtherBot", **group)
    fake.push_text(USER, "/ok@HoldfastBot 3", **group)
    fake.push_text(USER, "/ok@HoldfastBot 4", edited=True, **group)
    fake.push_sticker(USER, **group)
    fake.push_text(USER, "/status@holdfastbot", **group)
    fake.push_callback(USER, "/ack 7", message_id=5, chat_id=GROUP)  # "I'm on it" in an alert

    first, second, press = await inbox.wait(3)
    await asyncio.sleep(0.1)

    assert [i.text for i in inbox.items] == ["/ok 3", "/status", ""]
    assert first.chat == Address("telegram", str(GROUP))
    assert first.sender.user_id == str(USER)
    assert not first.is_private
    assert (press.choice, press.is_private, press.chat.chat_id) == ("/ack 7", False, str(GROUP))


async def test_private_edits_forwards_stickers_and_bots(fake, make):
    inbox = Inbox()
    await started(make, inbox)
    fake.push_text(USER, "ok", edited=True)
    fake.push_text(USER, "ok", forwarded=True)
    fake.push_sticker(USER)
    fake.push_text(7, "/ok", is_bot=True)
    fake.push_raw(
        {
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "text": "/ok",
                "chat": {"id": -100999, "type": "channel", "title": "c"},
            }
        }
    )
    fake.push_text(USER, "/start@OtherBot")
    fake.push_text(USER, "last")

    items = await inbox.wait(5)
    await asyncio.sleep(0.1)

    assert [(i.text, i.edited, i.forwarded, i.has_text) for i in items] == [
        ("ok", True, False, True),
        ("ok", False, True, True),
        ("", False, False, False),
        ("/start@OtherBot", False, False, True),
        ("last", False, False, True),
    ]


# ------------------------------------------------------------------ buttons


async def test_a_button_press_is_answered_and_its_message_edited(fake, make):
    inbox = Inbox()
    transport = await started(make, inbox)
    prompt = await transport.send(
        to(
            USER,
            "Are you safe?",
            kind=MessageKind.PROMPT,
            choices=((Choice("I'm safe", "/ok"), Choice("I need help", "/sos")),),
        )
    )
    fake.push_callback(USER, "/ok", int(prompt.message_id))

    (press,) = await inbox.wait()
    assert (press.choice, press.text, press.is_private) == ("/ok", "", True)
    query_id, chat_id, message_id = press.answer_ref.split("|")
    assert (chat_id, message_id) == (str(USER), prompt.message_id)

    reply = to(
        USER,
        "Checked in. Thank you.",
        answer_ref=press.answer_ref,
        edit_ref=f"{chat_id}|{message_id}",
    )
    delivered = await transport.send(reply)

    assert fake.answered == [query_id]
    edit = fake.sent[-1]
    assert (edit["method"], edit["message_id"], edit["text"]) == (
        "editMessageText",
        int(prompt.message_id),
        "Checked in. Thank you.",
    )
    assert edit["reply_markup"] is None, "the pressed buttons must be gone"
    assert delivered.message_id == prompt.message_id

    # The outbox may retry the same reply: the stale answer and the no-op edit are fine.
    sends_before = len(fake.sent)
    assert await transport.send(reply) == delivered
    assert len(fake.sent) == sends_before


async def test_without_edit_ref_a_private_press_loses_its_buttons_after_the_reply(fake, make):
    inbox = Inbox()
    transport = await started(make, inbox)
    prompt = await transport.send(to(USER, "Are you safe?", choices=((Choice("Safe", "/ok"),),)))
    fake.push_callback(USER, "/ok", int(prompt.message_id))
    (press,) = await inbox.wait()

    await transport.send(
        to(
            USER,
            "How are you, 1-5?",
            answer_ref=press.answer_ref,
            choices=((Choice("3", "/ok 3"),),),
        )
    )

    assert [s["method"] for s in fake.sent] == [
        "sendMessage",
        "sendMessage",
        "editMessageReplyMarkup",
    ]
    strip = fake.sent[-1]
    assert (strip["message_id"], strip["reply_markup"]) == (int(prompt.message_id), None)
    assert fake.sent[1]["reply_markup"] is not None, "the reply keeps its own buttons"


async def test_an_edit_that_telegram_refuses_becomes_a_new_message(fake, make):
    transport = await started(make)
    delivered = await transport.send(to(USER, "Checked in.", edit_ref=f"{USER}|99999"))

    assert fake.sent[-1]["method"] == "sendMessage"
    assert delivered.message_id == str(fake.sent[-1]["message_id"])


async def test_choices_become_inline_keyboard_rows(fake, make):
    transport = await started(make)
    rows = (
        (Choice("I'm safe", "/ok"), Choice("I need help", "/sos")),
        tuple(Choice(str(n), f"/ok {n}") for n in range(1, 6)),
    )
    await transport.send(to(USER, "Are you safe?", choices=rows))

    markup = fake.sent[-1]["reply_markup"]
    assert markup == {
        "inline_keyboard": [
            [
                {"text": "I'm safe", "callback_data": "/ok"},
                {"text": "I need help", "callback_data": "/sos"},
            ],
            [{"text": str(n), "callback_data": f"/ok {n}"} for n in range(1, 6)],
        ]
    }
    assert fake.sent[-1]["parse_mode"] is None


async def test_a_button_command_over_64_bytes_is_a_permanent_error(fake, make):
    transport = await started(make)
    with pytest.raises(PermanentDeliveryError):
        await transport.send(to(USER, "x", choices=((Choice("long", "/ack " + "é" * 31),),)))
    assert fake.sent == []


# ------------------------------------------------------------------ attachments and text


async def test_a_png_goes_as_photo_and_a_pdf_as_document(fake, make):
    transport = await started(make)
    png = Attachment("wellbeing.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    await transport.send(to(USER, "Your last 30 days", attachment=png))
    pdf = Attachment("mydata.json", "application/json", b'{"a": 1}')
    await transport.send(to(USER, "", attachment=pdf))

    photo, document = fake.sent
    assert (photo["method"], photo["text"], photo["file"]["data"]) == (
        "sendPhoto",
        "Your last 30 days",
        png.data,
    )
    assert (document["method"], document["file"]["filename"]) == ("sendDocument", "mydata.json")


async def test_a_caption_over_1024_characters_goes_first_as_text(fake, make):
    transport = await started(make)
    text = "n" * 1500
    await transport.send(to(USER, text, attachment=Attachment("c.png", "image/png", b"png")))

    assert [s["method"] for s in fake.sent] == ["sendMessage", "sendPhoto"]
    assert fake.messages_to(USER) == [text, ""]


async def test_markup_bidi_and_zero_width_characters_arrive_byte_identical(fake, make):
    transport = await started(make)
    text = "<b>Ada</b> *bold* _it_ [x](y) `c` \u202eevil\u202c zero\u200bwidth مرحبا يا صديقي &amp;"
    await transport.send(to(USER, text, choices=((Choice("\u202eBob <i>", "/ack 1"),),)))

    sent = fake.sent[-1]
    assert sent["text"].encode("utf-8") == text.encode("utf-8")
    assert sent["parse_mode"] is None
    assert sent["reply_markup"]["inline_keyboard"][0][0]["text"] == "\u202eBob <i>"


async def test_a_long_text_is_split_on_lines_into_ordered_messages(fake, make):
    transport = await started(make)
    lines = [f"line {n:04d} " + "x" * 80 for n in range(50)]
    text = "\n".join(lines)
    assert len(text) > 4500
    await transport.send(to(USER, text, choices=((Choice("OK", "/ok"),),)))

    parts = fake.messages_to(USER)
    assert len(parts) == 2
    assert "".join(parts) == text
    assert all(len(p) <= 4096 for p in parts)
    assert parts[0].endswith("\n"), "split on a line boundary"
    assert [s["reply_markup"] is not None for s in fake.sent] == [False, True]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (429, {"retry_after": 1}, RateLimited),
        (403, {}, RecipientUnreachable),
        (400, {}, PermanentDeliveryError),
        (400, {"migrate_to_chat_id": -1009876}, ChatMoved),
        (500, {}, TransientDeliveryError),
        (502, {}, TransientDeliveryError),
    ],
    ids=["429", "403", "400", "400-migrated", "500", "502"],
)
async def test_errors_map_to_delivery_errors(fake, make, status, extra, expected):
    transport = await started(make, pacing=False)
    fake.fail_next("sendMessage", status, **extra)

    with pytest.raises(expected) as caught:
        await transport.send(to(USER, "hello"))

    error = caught.value
    assert type(error) is expected
    if expected is RateLimited:
        assert error.retry_after == 1.0
    if expected is ChatMoved:
        assert error.new_chat_id == "-1009876"
    assert error.__cause__ is not None, "raised from the PTB error"
    await transport.send(to(USER, "the next one goes through"))


async def test_a_blocked_user_is_unreachable(fake, make):
    transport = await started(make)
    fake.block(USER)
    with pytest.raises(RecipientUnreachable):
        await transport.send(to(USER, "alert"))
    await transport.send(to(USER + 1, "others still get theirs"))
    assert fake.messages_to(USER + 1) == ["others still get theirs"]


async def test_a_request_hanging_past_the_timeout_is_transient(fake, make):
    transport = await started(make, request_timeout=0.3)
    fake.hang_next("sendMessage", seconds=2.0)

    started_at = time.monotonic()
    with pytest.raises(TransientDeliveryError) as caught:
        await transport.send(to(USER, "hello"))

    assert isinstance(caught.value.__cause__, TimedOut)
    assert time.monotonic() - started_at < 1.5


async def test_polling_survives_server_errors(fake, make):
    inbox = Inbox()
    fake.fail_next("getUpdates", 502, count=2)
    await started(make, inbox)
    fake.push_text(USER, "still here")

    (incoming,) = await inbox.wait()
    assert incoming.text == "still here"


# ------------------------------------------------------------------ pacing


async def _send_many(transport: TelegramTransport, chats: list[int], count: int) -> list[object]:
    outs = [to(chats[n % len(chats)], f"message {n}") for n in range(count)]
    return await asyncio.gather(*(transport.send(o) for o in outs), return_exceptions=True)


async def test_pacing_stays_within_the_limits_under_concurrency(fake, make):
    limits = Limits(global_per_second=20, per_chat_interval=0.05)
    fake.enforce_limits(global_per_second=20, per_chat_per_second=20)
    transport = await started(make, limits=limits)

    began = time.monotonic()
    results = await _send_many(transport, [USER, USER + 1], 40)
    elapsed = time.monotonic() - began

    assert [r for r in results if isinstance(r, Exception)] == []
    assert fake.too_many == 0
    # 40 messages at 20 per rolling second: the last 20 cannot start before 1 s.
    assert 0.9 * 1.0 <= elapsed < 3.0
    assert len(fake.messages_to(USER)) == len(fake.messages_to(USER + 1)) == 20


async def test_without_pacing_the_same_burst_is_rate_limited(fake, make):
    fake.enforce_limits(global_per_second=20, per_chat_per_second=20)
    transport = await started(make, pacing=False)

    results = await _send_many(transport, [USER, USER + 1], 40)

    assert fake.too_many > 0
    assert any(isinstance(r, RateLimited) for r in results)


async def test_pacing_keeps_a_group_under_its_per_window_limit(fake, make):
    limits = Limits(
        global_per_second=1000,
        per_chat_interval=0.0,
        group_per_minute=3,
        group_window=0.3,
        margin=0.01,
    )
    fake.enforce_limits(
        global_per_second=1000, per_chat_per_second=1000, group_per_minute=3, group_window=0.3
    )
    transport = await started(make, limits=limits)

    began = time.monotonic()
    for n in range(7):
        await transport.send(to(GROUP, f"alert {n}"))

    assert fake.too_many == 0
    assert time.monotonic() - began >= 2 * 0.3
    assert fake.messages_to(GROUP) == [f"alert {n}" for n in range(7)]


async def test_a_429_holds_every_send_for_retry_after(fake, make):
    transport = await started(make)
    fake.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RateLimited):
        await transport.send(to(USER, "first"))

    began = time.monotonic()
    await transport.send(to(USER + 1, "another chat"))
    assert time.monotonic() - began >= 0.9


async def test_alerts_take_the_next_free_slot_ahead_of_queued_prompts(fake, make):
    transport = await started(make, limits=Limits(global_per_second=10, per_chat_interval=0.0))
    prompts = [
        asyncio.create_task(transport.send(to(1000 + n, f"prompt {n}", kind=MessageKind.PROMPT)))
        for n in range(15)
    ]
    await asyncio.sleep(0.1)  # the first 10 prompts have used this second's slots
    await transport.send(to(USER, "ALERT", kind=MessageKind.ALERT))
    await asyncio.gather(*prompts)

    order = [s["text"] for s in fake.sent]
    assert order.index("ALERT") == 10


# ------------------------------------------------------------------ webhook


async def test_webhook_checks_the_secret_and_answers_after_handling(fake, make):
    inbox = Inbox()
    transport = await started(
        make,
        inbox,
        mode="webhook",
        port=0,
        secret_token="s3cret-Token_1",
        webhook_url="https://bot.example.org/tg/hook",
    )
    assert fake.webhook == {
        "url": "https://bot.example.org/tg/hook",
        "secret_token": "s3cret-Token_1",
        "allowed_updates": ["message", "edited_message", "callback_query"],
    }
    url = f"http://127.0.0.1:{transport.webhook_port}/tg/hook"
    update = fake.text_update(USER, "ok")

    async with aiohttp.ClientSession() as http:
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as denied:
            assert denied.status == 403
        async with http.post(url, json=update) as missing:
            assert missing.status == 403
        assert inbox.items == []
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        ) as ok:
            assert ok.status == 200

    (incoming,) = inbox.items
    assert (incoming.text, incoming.dedupe_key) == ("ok", str(update["update_id"]))


async def test_webhook_answers_500_until_an_update_has_failed_five_times(fake, make):
    async def broken(incoming: Incoming) -> None:
        raise RuntimeError("store unavailable")

    transport = make(
        mode="webhook", port=0, secret_token="abc", webhook_url="https://bot.example.org/hook"
    )
    await transport.start(broken)
    url = f"http://127.0.0.1:{transport.webhook_port}/hook"
    update = fake.text_update(USER, "ok")

    statuses = []
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "abc"}
            ) as response:
                statuses.append(response.status)

    # 500 makes Telegram redeliver; a poison update is finally accepted and skipped.
    assert statuses == [500, 500, 500, 500, 200]


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("x" * 5000, True),
        ("\U0001f600" * 3000, True),
        ("\n".join(f"line {n} " + "y" * (n % 300) for n in range(200)), True),
        ("short\n" + "z" * 4096 + "\nend", True),
        # The blank lines between would be a whitespace-only message: dropped.
        ("a" * 4096 + "\n\n" + "b" * 5000, False),
    ],
    ids=["one-long-line", "emoji-count-double", "many-lines", "line-of-4096", "blank-between"],
)
def test_split_text_loses_nothing_and_respects_telegrams_length(text, exact):
    parts = split_text(text)

    assert len(parts) > 1
    assert all(part.strip() and tg_len(part) <= 4096 for part in parts)
    if exact:
        assert "".join(parts) == text
    else:
        assert "".join("".join(parts).split()) == "".join(text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ok@HoldfastBot 3", "/ok 3"),
        ("/ok@holdfastbot", "/ok"),
        ("/ok 3", "/ok 3"),
        ("/ok@OtherBot 3", None),
        ("/ok@ 3", None),
        ("ok @HoldfastBot", "ok @HoldfastBot"),
    ],
)
def test_command_for_us(text, expected):
    assert command_for_us(text, "HoldfastBot") == expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("42|7", ("42", 7)), ("cbq|-1001|7", ("-1001", 7)), ("7", None), ("a|b", None), ("", None)],
)
def test_parse_edit_ref_takes_both_forms(ref, expected):
    assert parse_edit_ref(ref) == expected


async def test_send_only_until_it_holds_the_ingest_lease(
    fake: FakeTelegram, make: Callable[..., TelegramTransport]
) -> None:
    """A worker or a standby sends but never polls: Telegram allows one getUpdates reader."""
    inbox = Inbox()
    transport = make()
    await transport.start(inbox, receive=False)
    fake.push_text(USER, "/ok")
    await transport.send(Outgoing(Address("telegram", str(USER)), "hello"))
    assert fake.messages_to(USER) == ["hello"]
    assert fake.calls_of("getUpdates") == [] and fake.calls_of("deleteWebhook") == []
    await transport.start_receiving()  # leader now: the kept update is taken in first
    assert [i.text for i in inbox.items] == ["/ok"]
    await transport.stop_receiving()  # the lease went to another process
    polls = len(fake.calls_of("getUpdates"))
    fake.push_text(USER, "/status")
    await asyncio.sleep(0.3)
    assert len(fake.calls_of("getUpdates")) == polls and len(inbox.items) == 1
    await transport.stop()


async def test_an_update_is_held_without_limit_while_the_database_is_away(
    fake: FakeTelegram, make: Callable[..., TelegramTransport]
) -> None:
    """Measured before: a 20 s database stop made the bot confirm an "ok" after 5 tries."""
    from bot.transports.base import StoreUnavailable
    from bot.transports.telegram.receive import MAX_TRIES

    tries: list[str] = []
    confirmed_while_held: list[bool] = []
    done = asyncio.Event()
    update_id = fake.push_text(USER, "ok")

    async def on_incoming(incoming: Incoming) -> None:
        tries.append(incoming.text)
        if len(tries) <= 3 * MAX_TRIES:
            confirmed_while_held.append(update_id + 1 in fake.offsets)
            raise StoreUnavailable("OperationalError")
        done.set()

    transport = make()
    await transport.start(on_incoming)
    async with asyncio.timeout(10):
        await done.wait()
    assert tries == ["ok"] * (3 * MAX_TRIES + 1)  # held well past MAX_TRIES, never skipped
    assert confirmed_while_held == [False] * (3 * MAX_TRIES)
    async with asyncio.timeout(5):  # confirmed (the next offset) once it was recorded
        while update_id + 1 not in fake.offsets:
            await asyncio.sleep(0.01)
    await transport.stop()
