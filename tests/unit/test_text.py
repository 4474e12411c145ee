"""Names and notes from untrusted profiles and messages are made safe to show."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.text import MAX_NAME, MAX_NOTE, clean_name, clean_note, format_ago

#: Bidi embeddings, overrides and isolates, marks, and invisible joiners/spaces.
DANGEROUS = (
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
    "\u200b\u200c\u200d\u2060\ufeff"  # ZWSP ZWNJ ZWJ WJ BOM
    "\u00ad\u180e"  # soft hyphen, Mongolian vowel separator
)
_DROPPED = {"Cc", "Cf", "Cn", "Co", "Cs"}

names = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(DANGEROUS + " \t\n")), max_size=200
)


def _safe(text: str) -> bool:
    return all(unicodedata.category(ch) not in _DROPPED for ch in text)


@given(names)
@example("Ali\u202ecod.exe")
@example("\u200b\u200d")
def test_clean_name_never_carries_bidi_controls_or_invisibles(name: str) -> None:
    cleaned = clean_name(name)
    assert not set(cleaned) & set(DANGEROUS)
    assert _safe(cleaned)


@given(names)
def test_clean_name_is_short_single_line_and_never_empty(name: str) -> None:
    cleaned = clean_name(name)
    assert 0 < len(cleaned) <= MAX_NAME
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert not any(ch in cleaned for ch in "\n\r\t")


@given(names)
def test_clean_name_keeps_nothing_it_would_remove_again(name: str) -> None:
    once = clean_name(name, fallback="")
    assert _safe(clean_name(once, fallback=""))
    assert len(clean_name(once, fallback="")) <= len(once)


@given(st.text(alphabet=st.characters(categories=["L", "M", "N"]), min_size=1, max_size=20))
def test_ordinary_names_survive(word: str) -> None:
    normal = unicodedata.normalize("NFKC", word)
    if not _safe(normal) or not normal.strip():
        return
    assert clean_name(f"  {word}   {word} ") == " ".join([normal.strip()] * 2)[:MAX_NAME].strip()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Ali\u202eexe.txt", "Aliexe.txt"),  # a right-to-left override would reverse the rest
        ("Fa\u200btima", "Fatima"),
        ("\u2067Admin\u2069", "Admin"),
        ("Ｂｏｂ", "Bob"),  # fullwidth compatibility letters
        ("  ", "someone"),
        ("\u200b", "someone"),
        ("Nguyễn Thị", "Nguyễn Thị"),
        ("محمد", "محمد"),  # right-to-left text itself is kept
    ],
)
def test_clean_name_examples(raw: str, shown: str) -> None:
    assert clean_name(raw) == shown


notes = st.text(st.one_of(st.characters(), st.sampled_from(DANGEROUS + "\n")), max_size=800)


@given(notes)
def test_clean_note_keeps_lines_but_drops_controls(note: str) -> None:
    cleaned = clean_note(note)
    assert len(cleaned) <= MAX_NOTE
    assert not set(cleaned) & set(DANGEROUS)
    assert all(ch == "\n" or unicodedata.category(ch) not in _DROPPED for ch in cleaned)


def test_clean_note_keeps_the_meaning() -> None:
    assert clean_note("  at the office\nback by 6 \u202e ") == "at the office\nback by 6"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (40, "40s"), (59, "59s"), (60, "1m"), (3660, "1h01m")]
)
def test_format_ago_counts_seconds_under_a_minute(seconds: int, shown: str) -> None:
    assert format_ago(timedelta(seconds=seconds)) == shown
