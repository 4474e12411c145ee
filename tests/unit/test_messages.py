"""Messages are short and plain: written for a frightened person reading on a phone.

Every English message, its placeholders filled with one word, has at most 60 words,
except the help and privacy texts (lists people read when they choose to), and
none uses the jargon a newcomer trips over ("level 2", "policy", "clock").
"""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n import catalog

MAX_WORDS = 60
#: Texts people ask for and read at leisure: the command lists and the privacy notices.
EXEMPT = ("help.", "privacy.", "group.join_privacy")
#: As words in a sentence; a command's own keywords (`/group_policy 3 level2 30m`) are fine.
JARGON = re.compile(r"\blevel[ -][12]\b|(?<![_/])\bpolic(y|ies)\b|\bclock\b", re.IGNORECASE)


def messages() -> dict[str, str]:
    return {k: v for k, v in catalog("en").items() if not k.startswith(EXEMPT)}


def filled(text: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format_map(dict.fromkeys(names, "X"))


def test_there_are_messages_to_check() -> None:
    assert len(messages()) > 100


@pytest.mark.parametrize("key", sorted(messages()))
def test_no_message_is_longer_than_sixty_words(key: str) -> None:
    words = len(filled(messages()[key]).split())
    assert words <= MAX_WORDS, f"{key} has {words} words"


@pytest.mark.parametrize("key", sorted(messages()))
def test_no_message_uses_jargon(key: str) -> None:
    assert not JARGON.search(filled(messages()[key])), key
