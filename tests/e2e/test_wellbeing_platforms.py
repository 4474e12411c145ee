"""Issue 14 on the real platforms: buttons on Telegram, numbers on Signal, a real PNG on both.

The real python-telegram-bot posts the picture to the fake Bot API's `sendPhoto`
(multipart, the bytes as uploaded); the real signalbot posts it to the fake
signal-cli-rest-api's `/v2/send` as a `base64_attachments` data URI. The bytes
are decoded here and must be a PNG of the chart's size.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bot.wellbeing_chart import HEIGHT_PX, WIDTH_PX, render
from tests.support.clock import FakeClock
from tests.support.servers.fake_signal import FakeSignal
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.signal_harness import SignalSide, SignalUser, signal_app
from tests.support.telegram_harness import TelegramSide, TelegramUser, telegram_app
from tests.unit.test_wellbeing_chart import png_size

TINA = TelegramUser("Tina", 515151)
TOMAS = TelegramUser("Tomas", 424242)
DINA = SignalUser("Dina", "0b9c1f5e-3a2d-4c6b-8e7f-1a2b3c4d5e6f", "+15550002001")
SAM = SignalUser("Sam", "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9", "+15550002002")

CAPTION_ONE_WEEK = "Not enough answers yet to compare with the week before."
FEELING_LABELS = [["Safe", "Unsure", "Scared"], ["Harassed online", "Exhausted", "Need to talk"]]


@pytest.fixture(autouse=True, scope="module")
def _matplotlib_loaded() -> None:
    """Load matplotlib once before the apps start: its first import takes seconds on a
    busy machine, longer than `handled()` waits for an update (what is measured here is
    the transport, not the import; start-up without matplotlib is tested elsewhere)."""
    render([])


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[TelegramSide]:
    async with FakeTelegram() as fake, telegram_app(sqlite_url, clock, fake) as side:
        yield side


@pytest.fixture
async def sig(sqlite_url: str, clock: FakeClock) -> AsyncIterator[SignalSide]:
    async with FakeSignal() as fake, signal_app(sqlite_url, clock, fake) as side:
        yield side


async def test_telegram_buttons_then_the_picture_through_send_photo(tg: TelegramSide) -> None:
    await tg.link(TINA, TOMAS)
    tg.clear()
    assert await tg.say(TINA, "/ok") == [
        "Thank you, you are checked in. How are you feeling? (optional)"
    ]
    thanks = tg.last_message_id(TINA.id, "you are checked in")
    assert tg.labels(TINA.id, thanks) == [
        ["1 very bad", "2 bad", "3 okay", "4 good", "5 very good"]
    ]
    assert await tg.press(TINA, "2 bad") == ["Noted, thank you. How are things? (optional)"]
    asked = tg.last_message_id(TINA.id, "How are things?")
    assert tg.labels(TINA.id, asked) == FEELING_LABELS
    assert await tg.press(TINA, "Harassed online") == [
        "Noted. I can tell your trusted contacts that you feel this way. Only if you want."
    ]
    assert tg.labels(TINA.id, asked) == []  # one tap: the question is gone
    assert tg.new_for(TOMAS) == []
    assert await tg.press(TINA, "Tell my contacts") == [
        "Done. I told 1 trusted contact."
    ]
    assert tg.new_for(TOMAS) == [
        "Tina checked in as safe, and says they are being harassed online. They wanted you to "
        "know. Maybe get in touch."
    ]

    got = await tg.say(TINA, "/wellbeing")
    assert len(got) == 1 and got[0].startswith(CAPTION_ONE_WEEK)  # the photo's caption
    photos = [s for s in tg.fake.sent if s["method"] == "sendPhoto"]
    assert len(photos) == 1 and photos[0]["chat_id"] == TINA.id
    assert photos[0]["text"].startswith(CAPTION_ONE_WEEK)
    upload = photos[0]["file"]
    assert upload["content_type"] == "image/png"
    assert png_size(upload["data"]) == (WIDTH_PX, HEIGHT_PX)


async def test_signal_numbers_then_the_picture_as_an_attachment(sig: SignalSide) -> None:
    await sig.link(DINA, SAM)
    sig.clear()
    thanks = await sig.say(DINA, "ok")
    assert thanks == [
        "Thank you, you are checked in. How are you feeling? (optional)\n\n1. 1 very bad\n"
        "2. 2 bad\n3. 3 okay\n4. 4 good\n5. 5 very good"
    ]
    assert await sig.say(DINA, "3") == [
        "Noted, thank you. How are things? (optional)\n\n1. Safe\n2. Unsure\n3. Scared\n"
        "4. Harassed online\n5. Exhausted\n6. Need to talk"
    ]
    assert await sig.say(DINA, "3") == [
        "Noted. I can tell your trusted contacts that you feel this way. Only if you want."
        "\n\n1. Tell my contacts"
    ]
    assert await sig.say(DINA, "1") == ["Done. I told 1 trusted contact."]
    assert sig.new_for(SAM) == [
        "Dina checked in as safe, and says they feel scared. They wanted you to know. "
        "Maybe get in touch."
    ]

    got = await sig.say(DINA, "wellbeing")
    assert len(got) == 1 and got[0].startswith(CAPTION_ONE_WEEK)
    sent = sig.fake.sent[-1]
    assert sent.recipients == [DINA.uuid] or sent.recipients == [DINA.number]
    assert len(sent.base64_attachments) == 1
    head, _, data = sent.base64_attachments[0].partition(";base64,")
    assert head.startswith("data:image/png;filename=wellbeing-")
    assert png_size(base64.b64decode(data)) == (WIDTH_PX, HEIGHT_PX)
