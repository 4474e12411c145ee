"""The answer words of every language come through the catalogs and read as meant.

Each language's `answer.ok_words` checks in and its `answer.sos_words` raises an
SOS, typed alone, in any case, with a note after it; Burmese also when typed in
Zawgyi. A negation after an OK word (Nepali puts it after: `सुरक्षित छैन`, "not
safe") must never check anyone in, so Nepali lists only whole affirmative phrases.
"""

from __future__ import annotations

import pytest

from bot.core import answers
from bot.core.answers import Kind
from bot.handlers.checkins import vocab
from bot.i18n import t
from bot.i18n.zawgyi import to_unicode

LANGS = ("th", "km", "lo", "my", "ne")


def phrases(key: str, lang: str) -> list[str]:
    return t(key, lang).split("|")


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_its_own_answer_words(lang: str) -> None:
    for key in ("answer.ok_words", "answer.sos_words", "answer.help_words"):
        own = [p for p in phrases(key, lang) if not p.isascii()]
        assert own, f"{lang} {key} has no words in its own script"


@pytest.mark.parametrize("lang", LANGS)
def test_ok_words_check_in_and_sos_words_raise_an_sos(lang: str) -> None:
    for phrase in phrases("answer.ok_words", lang):
        assert answers.read(phrase, vocab()).kind is Kind.OK, phrase
        assert answers.read(f"{phrase} 4", vocab()).score == 4, phrase
    for phrase in phrases("answer.sos_words", lang):
        assert answers.read(phrase, vocab()).kind is Kind.SOS, phrase
        assert answers.read(f"{phrase} ๑๒๓", vocab()).kind is Kind.SOS, phrase


def test_burmese_answers_typed_in_zawgyi_read_the_same() -> None:
    from myanmar.converter import convert

    for key, kind in (("answer.ok_words", Kind.OK), ("answer.sos_words", Kind.SOS)):
        for phrase in phrases(key, "my"):
            zawgyi = convert(phrase, "unicode", "zawgyi")
            assert answers.read(to_unicode(zawgyi), vocab()).kind is kind, (phrase, zawgyi)


@pytest.mark.parametrize(
    "text",
    ["सुरक्षित छैन", "ठीक छैन", "म ठीक छैन", "म सुरक्षित छैन", "ठिक छैन"],
)
def test_a_nepali_not_ok_never_checks_in(text: str) -> None:
    assert answers.read(text, vocab()).kind is not Kind.OK
