"""Issue 15 as people meet it: the region's languages, through the real Telegram transport.

A Telegram app tells the bot its language (`from.language_code`); the bot answers in
it from the first message when it is one of ours, and otherwise in English with a line
per language saying how to choose it. `/lang` lists the languages by their own names,
as buttons. Times typed in Thai digits set the same check-in as ASCII ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.i18n import NATIVE_NAMES, language_hint, t
from tests.support.clock import FakeClock
from tests.support.harness import has, until
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import TelegramSide, TelegramUser, telegram_app

SOMCHAI = TelegramUser("Somchai", 660001, language_code="th")
ANON = TelegramUser("Anon", 660002)  # an app that sends no language_code
PIERRE = TelegramUser("Pierre", 660003, language_code="fr")  # a language we do not have
LANGS = ("th", "km", "lo", "my", "ne")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock, fake: FakeTelegram) -> AsyncIterator[TelegramSide]:
    async with telegram_app(sqlite_url, clock, fake) as side:
        yield side


def first_line(key: str, lang: str, **params: object) -> str:
    return t(key, lang, **params).split("\n")[0]


async def test_start_with_a_thai_app_answers_in_thai(tg: TelegramSide) -> None:
    reply = await tg.say(SOMCHAI, "/start")
    assert reply == [
        t("start.welcome", "th"),
        t("privacy.telegram", "th"),
        t("start.next_steps", "th"),
    ]
    assert "Welcome" not in "".join(reply)
    assert await tg.say(SOMCHAI, "/tz Asia/Bangkok") == [t("tz.set", "th", tz="Asia/Bangkok")]


@pytest.mark.parametrize("lang", LANGS)
async def test_the_first_contact_notice_comes_in_every_language(
    tg: TelegramSide, lang: str
) -> None:
    person = TelegramUser("Dana", 661000 + LANGS.index(lang), language_code=f"{lang}-XX")
    reply = await tg.say(person, "/tz")
    assert reply[:2] == [t("start.welcome", lang), t("privacy.telegram", lang)]
    assert reply[0] != t("start.welcome", "en") and reply[1] != t("privacy.telegram", "en")
    assert "Telegram" in reply[1] and "Signal" in reply[1]  # the platform named in any script


async def test_an_unknown_app_language_gets_english_and_a_line_per_language(
    tg: TelegramSide,
) -> None:
    for person in (ANON, PIERRE):
        reply = await tg.say(person, "/start")
        welcome = reply[0]
        assert welcome.startswith(t("start.welcome", "en"))
        lines = welcome.split("\n\n", 1)[1].split("\n")
        assert lines == language_hint().split("\n")
        assert len(lines) == len(LANGS)
        for lang, line in zip(LANGS, lines, strict=True):
            assert line.startswith(NATIVE_NAMES[lang]) and f"/lang {lang}" in line
        assert await tg.say(person, "/tz") == [t("tz.show", "en", tz="UTC")]  # once only


async def test_lang_lists_languages_by_their_own_names_as_buttons(tg: TelegramSide) -> None:
    await tg.say(ANON, "/start")
    shown = await tg.say(ANON, "/lang")
    assert has(shown, "ไทย (th), ខ្មែរ (km), ລາວ (lo), မြန်မာ (my), नेपाली (ne), English (en)")
    message_id = tg.last_message_id(ANON.id, "Available:")
    assert tg.labels(ANON.id, message_id) == [
        ["ไทย", "ខ្មែរ", "ລາວ"], ["မြန်မာ", "नेपाली", "English"]
    ]
    for row in tg.markup_of(ANON.id, message_id):
        for button in row:
            assert len(button["callback_data"].encode()) <= 64
    assert await tg.press(ANON, "नेपाली") == [t("lang.set", "ne", lang="नेपाली")]
    assert await tg.say(ANON, "/tz") == [t("tz.show", "ne", tz="UTC")]
    assert await tg.say(ANON, "/lang ไทย") == [t("lang.set", "th", lang="ไทย")]
    assert await tg.say(ANON, "/lang en-GB") == ["Language set to English."]
    assert await tg.say(ANON, "/lang klingon") == [
        t("lang.unknown", "en", available="ไทย (th), ខ្មែរ (km), ລາວ (lo), မြန်မာ (my), "
          "नेपाली (ne), English (en)")
    ]


async def test_a_checkin_set_with_thai_digits_fires_at_that_time(tg: TelegramSide) -> None:
    await tg.say(SOMCHAI, "/tz Asia/Bangkok")
    set_reply = await tg.say(SOMCHAI, "/checkin daily ๐๙:๓๐")
    assert "09:30" in set_reply[0] and "Asia/Bangkok" in set_reply[0]
    # 09:30 in Bangkok (UTC+7) is 02:30 UTC; the fake clock starts at 06:00 UTC on 1 June.
    due = datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
    await until(tg.h, datetime(2026, 6, 2, 2, 15, tzinfo=UTC))
    assert tg.new_for(SOMCHAI) == []
    await until(tg.h, due)
    [prompt] = tg.new_for(SOMCHAI)
    assert prompt.startswith(first_line("prompt.text", "th"))
    labels = tg.labels(SOMCHAI.id, tg.last_message_id(SOMCHAI.id, prompt[:10]))
    assert labels == [[t("prompt.safe", "th"), t("prompt.help", "th")]]


async def test_checkins_and_status_show_dates_in_the_readers_language(tg: TelegramSide) -> None:
    await tg.say(SOMCHAI, "/tz Asia/Bangkok")
    # Tuesday 2 June 2026, 09:30 in Bangkok: CLDR's Thai short weekday and month.
    [added, *_] = await tg.say(SOMCHAI, "/checkin daily ๐๙:๓๐")
    assert "อังคาร 2 มิ.ย. 09:30 (Asia/Bangkok)" in added
    assert "Tue" not in added and "Jun" not in added
    [listed] = await tg.say(SOMCHAI, "/checkins")
    assert "อังคาร 2 มิ.ย. 09:30 (Asia/Bangkok)" in listed
    status = await tg.say(SOMCHAI, "/status")
    assert has(status, "อังคาร 2 มิ.ย. 09:30 (Asia/Bangkok)")
    timer = await tg.say(SOMCHAI, "/timer ๒h")
    assert has(timer, "2 ชั่วโมง") and has(timer, "15 นาที")  # the timer and its grace
    paused = await tg.say(SOMCHAI, "/pause 90m")
    assert has(paused, "1 ชั่วโมง 30 นาที")
    await tg.say(ANON, "/checkin daily 09:30")
    assert has(await tg.say(ANON, "/checkins"), "Mon 01 Jun 09:30 (UTC)")  # English as before


async def test_a_nepali_contact_gets_the_alert_about_a_thai_defender_in_nepali(
    tg: TelegramSide,
) -> None:
    maya = TelegramUser("Maya", 660010, language_code="ne")
    await tg.say(SOMCHAI, "/tz Asia/Bangkok")
    _, code = await tg.invite_link(SOMCHAI, "Maya")
    shown = await tg.say(maya, f"/start {code}")
    assert has(shown, t("invite.accept_button", "ne")) or tg.labels(
        maya.id, tg.last_message_id(maya.id, "Somchai")
    ) == [[t("invite.accept_button", "ne"), t("invite.decline_button", "ne")]]
    await tg.press(maya, t("invite.accept_button", "ne"))
    tg.clear()
    await tg.say(SOMCHAI, "/checkin daily ๐๙:๐๐")  # 02:00 UTC on 2 June
    await until(tg.h, datetime(2026, 6, 2, 2, 45, tzinfo=UTC))  # prompt, reminder, alert
    thai = tg.new_for(SOMCHAI)
    assert thai[-2].startswith(first_line("prompt.text", "th"))
    assert all(not m.startswith(("Check-in", "Reminder")) for m in thai)
    [alert] = tg.new_for(maya)
    expected = t("alert.missed_level1", "ne", name="Somchai", ago="45 मिनेट")
    assert alert.startswith(expected), alert
    assert t("alert.what_to_do", "ne", id=1) in alert
    assert tg.labels(maya.id, tg.last_message_id(maya.id, "Somchai")) == [
        [t("alert.ack_button", "ne"), t("alert.resolve_button", "ne")]
    ]
    # She presses "I'm on it" in Nepali; the Thai defender's phone learns nothing.
    thanks = await tg.press(maya, t("alert.ack_button", "ne"))
    assert thanks and all("Thank" not in m for m in thanks)
    assert tg.new_for(SOMCHAI) == []


# ---- Burmese: Unicode and Zawgyi -------------------------------------------------------

MYA = TelegramUser("Mya", 660020, language_code="my")
BOB = TelegramUser("Bob", 660021, language_code="en")
KITTEN = "ကြောင်လေး"  # "kitten", her duress word, set in Unicode
KITTEN_ZAWGYI = "ေၾကာင္ေလး"  # the same word as a Zawgyi phone types it


THANKS_MY = {t(k, "my") for k in ("ok.thanks", "ok.thanks_scored", "feel.thanks_question")}


async def burmese_answer(tg: TelegramSide, answer: str) -> tuple[list[str], list[str]]:
    """Mya (Burmese app) has Bob as contact and a duress word; she answers a check-in."""
    await tg.link(MYA, BOB)
    tg.clear()
    assert await tg.say(MYA, f"/duress {KITTEN}") == [t("duress.set", "my")]
    await tg.say(MYA, "/checkin daily ၀၉:၀၀")  # Myanmar digits
    await until(tg.h, datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    [prompt] = tg.new_for(MYA)
    assert prompt.startswith(first_line("prompt.text", "my"))
    tg.clear()
    return await tg.say(MYA, answer), tg.new_for(BOB)


async def test_the_duress_word_typed_in_zawgyi_raises_the_silent_alert(tg: TelegramSide) -> None:
    assert KITTEN_ZAWGYI != KITTEN
    seen, bob = await burmese_answer(tg, KITTEN_ZAWGYI)
    assert seen[0] in THANKS_MY
    assert len(bob) == 1 and bob[0].startswith(t("alert.duress", "en", name="Mya"))
    assert not has(bob, "ALL CLEAR")


async def test_a_plain_ok_from_the_same_phone_raises_nothing(tg: TelegramSide) -> None:
    seen, bob = await burmese_answer(tg, "ok")
    assert seen[0] in THANKS_MY
    assert bob == []


async def test_ok_in_burmese_checks_in_also_typed_in_zawgyi(tg: TelegramSide) -> None:
    seen, bob = await burmese_answer(tg, "အိုကေ")  # "OK" in Burmese script
    assert seen[0] in THANKS_MY and bob == []
    await until(tg.h, datetime(2026, 6, 2, 9, 0, tzinfo=UTC))  # the next day's check-in
    tg.clear()
    seen = await tg.say(MYA, "ေဘးကင္းပါတယ္")  # "I am safe", as a Zawgyi phone types it
    assert seen[0] in THANKS_MY
    await until(tg.h, datetime(2026, 6, 2, 10, 0, tzinfo=UTC))
    assert tg.new_for(MYA) == [] and tg.new_for(BOB) == []  # no reminder, no alert
