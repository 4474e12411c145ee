"""One command grammar for every transport: `bot.core.commands.parse`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import ALIASES, COMMANDS, MAX_TEXT, Command, parse
from bot.core.errors import UserError
from bot.handlers import ROUTES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ok", Command("ok", "", True)),
        ("ok", Command("ok", "", False)),
        ("OK", Command("ok", "", False)),
        ("/OK 4 tired", Command("ok", "4 tired", True)),
        ("ok 4   very tired  ", Command("ok", "4   very tired", False)),
        ("  /checkin daily 09:00 21:00", Command("checkin", "daily 09:00 21:00", True)),
        ("safe", Command("ok", "", False)),
        ("Okay 5", Command("ok", "5", False)),
        ("menu", Command("help", "", False)),
        ("/commands", Command("help", "", True)),
        ("accept AbC-123_x", Command("accept", "AbC-123_x", False)),
        ("/timer\n2h", Command("timer", "2h", True)),  # a newline after the command word
        (
            "/sos\nthey are at the door\nplease come",
            Command("sos", "they are at the door\nplease come", True),
        ),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n", "hello", "I am fine", "okidoki", "1", "ok?"])
def test_ordinary_text_is_not_a_command(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/frobnicate", "/frobnicate"),
        ("/Checkin_Removee 3", "/Checkin_Removee"),
        ("/" + "x" * 99, "/" + "x" * 31),
    ],
)
def test_an_unknown_slash_command_is_an_error_naming_it_briefly(text: str, shown: str) -> None:
    with pytest.raises(UserError) as caught:
        parse(text)
    assert caught.value.key == "error.unknown_command"
    assert caught.value.params == {"command": shown}


def test_a_message_far_too_long_is_refused_before_parsing() -> None:
    assert parse("ok " + "x" * (MAX_TEXT - 3)) is not None
    for text in ("ok " + "x" * MAX_TEXT, "x" * 5000):
        with pytest.raises(UserError) as caught:
            parse(text)
        assert (caught.value.key, caught.value.params) == ("error.too_long", {"max": MAX_TEXT})


def test_words_split_the_arguments() -> None:
    assert Command("ok", "4  tired\tnow", False).words == ["4", "tired", "now"]


def test_every_routed_command_is_in_the_grammar() -> None:
    assert set(ROUTES) <= COMMANDS
    assert set(ALIASES.values()) <= COMMANDS


def test_command_names_are_telegram_safe() -> None:
    assert all(
        name.isascii() and name.replace("_", "").isalnum() and name.islower() for name in COMMANDS
    )
    assert all(len(name) <= 32 for name in COMMANDS)


@given(st.text(max_size=60))
def test_parse_never_raises_anything_but_a_user_error(text: str) -> None:
    try:
        found = parse(text)
    except UserError as error:
        assert error.key in {"error.unknown_command", "error.too_long"}
        assert text.strip().startswith("/") or len(text) > MAX_TEXT
        return
    if found is not None:
        assert found.name in COMMANDS and found.args == found.args.strip()


@given(st.sampled_from(sorted(COMMANDS)), st.text(max_size=40), st.booleans())
def test_a_known_command_always_parses_to_itself(name: str, rest: str, slash: bool) -> None:
    text = f"{'/' if slash else ''}{name} {rest}"
    found = parse(text)
    assert found is not None and found.name == name and found.slash == slash
    assert found.args == rest.strip()


def test_a_long_sos_is_never_refused_up_to_the_platform_limit() -> None:
    from bot.core.commands import MAX_SOS_TEXT
    from bot.handlers.checkins import is_sos  # the answer grammar's, with every catalog

    for head in ("/sos ", "sos ", "SOS "):
        long = head + "they took my phone at the border " * 100
        assert MAX_TEXT < len(long) <= MAX_SOS_TEXT
        found = parse(long, is_sos=is_sos)
        assert found is not None and found.name == "sos"
        with pytest.raises(UserError):
            parse(long)  # without the grammar, only the length counts
    for head in ("SOS!! ", "they took me, sos. "):  # not commands: the answer grammar's
        assert parse(head + "they took my phone at the border " * 100, is_sos=is_sos) is None
    with pytest.raises(UserError):
        parse("/sos " + "x" * MAX_SOS_TEXT, is_sos=is_sos)  # beyond anything a platform sends
