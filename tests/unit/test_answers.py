"""The one answer grammar (`bot.core.answers`): examples from the attack list, and properties.

The words are the real catalogs' (`checkins.vocab()`: every language present), and the
duress word is "falcon" (the handler finds it by its hash; here a predicate stands in).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.answers import Answer, Kind, duress_candidates, read, words
from bot.core.text import ascii_digits
from bot.handlers.checkins import vocab

VOCAB = vocab()
DURESS = "falcon"


def falcon(key: str) -> bool:
    return key == DURESS


def r(text: str) -> Answer:
    return read(text, VOCAB, falcon)


@pytest.mark.parametrize(
    ("text", "kind", "score", "note"),
    [
        # OKs as people type them (issue 10: `ok!`, `Ok.`, `👍`, "I am ok" did not count)
        ("ok", Kind.OK, None, ""),
        ("ok!", Kind.OK, None, ""),
        ("Ok.", Kind.OK, None, ""),
        ("OK!!!", Kind.OK, None, ""),
        ("/ok", Kind.OK, None, ""),
        ("👍", Kind.OK, None, ""),
        ("👍🏽", Kind.OK, None, ""),
        ("✅", Kind.OK, None, ""),
        ("ok👍", Kind.OK, None, ""),
        ("I am ok", Kind.OK, None, ""),
        ("I'm OK", Kind.OK, None, ""),
        ("i’m okay.", Kind.OK, None, ""),
        ("im safe", Kind.OK, None, ""),
        ("Safe", Kind.OK, None, ""),
        ("all good", Kind.OK, None, ""),
        ("ok 4", Kind.OK, 4, ""),
        ("4 ok", Kind.OK, 4, ""),
        ("ok, 4", Kind.OK, 4, ""),
        ("ok ٤", Kind.OK, 4, ""),  # any script's digits, through text.ascii_digits
        ("ok 3 tired", Kind.OK, 3, "tired"),
        ("OK 2 home at 5", Kind.OK, 2, "home at 5"),
        ("ok home now", Kind.OK, None, "home now"),
        # SOS, even with extra text (issue 10: `SOS!!`, `sos!`, `Sos.` were not understood)
        ("SOS!!", Kind.SOS, None, ""),
        ("sos!", Kind.SOS, None, ""),
        ("Sos.", Kind.SOS, None, ""),
        ("s.o.s", Kind.SOS, None, ""),
        ("🆘", Kind.SOS, None, ""),
        ("/sos", Kind.SOS, None, ""),
        ("sos they took me", Kind.SOS, None, "they took me"),
        ("they took me, SOS", Kind.SOS, None, "they took me,"),
        ("HELP ME", Kind.SOS, None, ""),
        ("i need help", Kind.SOS, None, ""),
        ("ok sos", Kind.SOS, None, "ok"),  # an SOS wins: a false alarm beats a missed one
        # help alone: asked whether they need help (no alert, not ignored)
        ("help", Kind.HELP, None, ""),
        ("HELP?!", Kind.HELP, None, ""),
        ("help please", Kind.HELP, None, ""),
        # looks like an answer, does not count: said so first
        ("ok 6", Kind.NOT_COUNTED, None, ""),
        ("ok 0", Kind.NOT_COUNTED, None, ""),
        ("ok 10", Kind.NOT_COUNTED, None, ""),
        ("I am not ok", Kind.NOT_COUNTED, None, ""),
        ("not safe", Kind.NOT_COUNTED, None, ""),
        ("is it ok to change my time?", Kind.NOT_COUNTED, None, ""),
        # not an answer at all
        ("hello", Kind.NONE, None, ""),
        ("4", Kind.NONE, None, ""),  # a bare number is a numbered choice, not an OK
        ("", Kind.NONE, None, ""),
        ("okapi", Kind.NONE, None, ""),
        ("sossage", Kind.NONE, None, ""),
    ],
)
def test_examples(text: str, kind: Kind, score: int | None, note: str) -> None:
    found = r(text)
    assert (found.kind, found.score, found.note, found.duress) == (kind, score, note, False)


def test_refusals_say_what_to_type() -> None:
    assert r("ok 6").refusal == "ok.bad_score"
    assert r("ok 0").refusal == "ok.bad_score"
    assert r("I am not ok").refusal == "answer.not_counted"


@pytest.mark.parametrize(
    ("text", "kind", "score", "pin", "note"),
    [
        ("ok 4 falcon", Kind.OK, 4, None, ""),  # issue 10: was a plain check-in
        ("falcon ok", Kind.OK, None, None, ""),
        ("falcon", Kind.OK, None, None, ""),  # the word alone, as /duress teaches
        ("FALCON!", Kind.OK, None, None, ""),
        ("ok 4821 falcon", Kind.OK, None, "4821", ""),
        ("ok falcon 4821", Kind.OK, None, "4821", ""),
        ("falcon 4821 3", Kind.OK, 3, "4821", ""),
        ("ok 3 tired, falcon", Kind.OK, 3, None, "tired,"),  # anywhere, never in the note
        ("ok 6 falcon", Kind.NOT_COUNTED, None, None, ""),  # a refusal stays a refusal
        ("sos falcon", Kind.SOS, None, None, ""),
        ("hello falcon", Kind.NONE, None, None, ""),
    ],
)
def test_the_duress_word_anywhere(
    text: str, kind: Kind, score: int | None, pin: str | None, note: str
) -> None:
    found = r(text)
    assert (found.kind, found.score, found.pin, found.note) == (kind, score, pin, note)
    assert found.duress


@pytest.mark.parametrize(
    ("with_word", "without"),
    [("ok 4 falcon", "ok 4"), ("falcon ok 4821", "ok 4821"), ("ok 1111 falcon", "ok 1111"),
     ("ok 3 tired falcon", "ok 3 tired"), ("falcon", "ok"), ("ok 9 falcon", "ok 9"),
     ("falcon sos", "sos"), ("help falcon", "help")],
)  # fmt: skip
def test_read_as_if_the_duress_word_were_not_there(with_word: str, without: str) -> None:
    found, plain = r(with_word), r(without)
    assert found.duress and not plain.duress
    assert (found.kind, found.score, found.pin, found.note, found.refusal) == (
        plain.kind, plain.score, plain.pin, plain.note, plain.refusal,
    )  # fmt: skip


def test_the_pin_is_never_part_of_the_note() -> None:
    assert r("ok 4821 2 home now") == Answer(Kind.OK, score=2, note="home now", pin="4821")
    assert r("ok home now 4821").note == "home now"
    assert r("ok ٤٨٢١").pin == "4821"
    assert r("4821") == Answer(Kind.OK, pin="4821")  # the PIN alone: the PIN's owner is OK


# -- properties ------------------------------------------------------------------------

PUNCT = st.sampled_from(["", "!", "!!", ".", "?", ",", "...", "!?", " !", ")"])
EMOJI_OK = ["👍", "✅", "👍🏻", "👌"]
OK_PHRASES = sorted(" ".join(p) for p in VOCAB.ok if p[0] not in {"👍", "✅", "👌", "☑"})
SOS_PHRASES = sorted(" ".join(p) for p in VOCAB.sos)  # every language present
OTHER = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def cased(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if f else c for c, f in zip(word, flips, strict=True))


@st.composite
def ok_spelling(draw: st.DrawFn) -> tuple[str, int | None]:
    """An OK as someone in a hurry types it: any phrase, case, punctuation, emoji, score."""
    phrase = draw(st.sampled_from(OK_PHRASES + EMOJI_OK))
    text = draw(cased(phrase)) + draw(PUNCT)
    score = draw(st.none() | st.integers(min_value=1, max_value=5))
    if score is not None:
        digits = str(score) if draw(st.booleans()) else "٠١٢٣٤٥"[score]
        text = f"{digits} {text}" if draw(st.booleans()) else f"{text} {digits}{draw(PUNCT)}"
    return draw(st.sampled_from(["", "/", " "])) + text, score


@given(ok_spelling())
def test_every_spelling_of_an_ok_checks_in(spelled: tuple[str, int | None]) -> None:
    text, score = spelled
    found = r(text)
    assert (found.kind, found.score, found.duress) == (Kind.OK, score, False), text


@st.composite
def with_duress(draw: st.DrawFn) -> str:
    """Any words, with the duress word somewhere as a word of its own."""
    others = draw(st.lists(OTHER.filter(lambda w: w.strip() != ""), max_size=6))
    others = [" ".join(w.split()) for w in others]
    word = draw(PUNCT).strip() + draw(cased(DURESS)) + draw(PUNCT)
    at = draw(st.integers(min_value=0, max_value=len(others)))
    return " ".join([*others[:at], word, *others[at:]])


@given(with_duress() | ok_spelling().map(lambda s: f"{s[0]} {DURESS.upper()}"))
def test_the_duress_word_as_a_word_never_yields_a_plain_check_in(text: str) -> None:
    found = r(text)
    assert found.duress, text


@st.composite
def sos_like(draw: st.DrawFn) -> str:
    """ "sos" in any case and punctuation, anywhere among any words."""
    others = draw(st.lists(OTHER, max_size=6))
    word = draw(st.sampled_from(["sos", "s.o.s", "s-o-s", "🆘", *SOS_PHRASES]))
    word = draw(PUNCT).strip() + draw(cased(word)) + draw(PUNCT)
    at = draw(st.integers(min_value=0, max_value=len(others)))
    return " ".join([*others[:at], word, *others[at:]])


@given(sos_like())
def test_no_sos_like_input_is_silently_ignored(text: str) -> None:
    assert r(text).kind is Kind.SOS, text


@given(st.text(max_size=200))
def test_anything_at_all_is_read_without_error(text: str) -> None:
    found = r(text)
    assert found.kind in Kind
    if found.kind is Kind.OK and found.score is not None:
        assert found.score in range(1, 6)


@given(st.sampled_from(OK_PHRASES), st.sampled_from(["not", "no", "never"]), PUNCT)
def test_a_negated_ok_never_checks_in(phrase: str, negation: str, punct: str) -> None:
    assert r(f"{negation} {phrase}{punct}").kind is not Kind.OK


def test_answers_read_digits_of_every_script_through_the_one_function() -> None:
    typed = "٤٨٢١ ๔๘๒๑ ४८२१ ៤៨២១ ໔໘໒໑ ၄၈၂၁"
    assert ascii_digits(typed, every_script=True) == "4821 4821 4821 4821 4821 4821"
    assert [w.key for w in words(typed)] == ["4821"] * 6
    assert ascii_digits("²①", every_script=True) == "²①"  # never a PIN or a score
    assert r("ok ๔").score == 4 and r("ok ٤").score == 4
    assert [w.key for w in words("OK👍 I'm")] == ["ok", "👍", "im"]


def test_duress_candidates_are_every_word_that_could_be_one() -> None:
    # answer words too: a duress word chosen before a catalog gained it is still found
    assert duress_candidates("OK, safe!! falcon 4821 ok falcon okay") == ["safe", "falcon", "okay"]
    assert r("safe") == Answer(Kind.OK)
    assert read("safe", VOCAB, lambda k: k == "safe") == Answer(Kind.OK, duress=True)
