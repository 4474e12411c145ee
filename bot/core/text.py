"""Making untrusted text safe to show: names, notes, lengths.

Names come from platform profiles and can carry bidi overrides (which reorder
what follows and can spoof a message), zero-width and other invisible characters,
or control characters. They are normalised (NFKC) and stripped of all of these
before they appear in any message.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

#: Unicode categories removed from names: controls, format chars (bidi, zero-width), unassigned.
_DROP = {"Cc", "Cf", "Cn", "Co", "Cs"}
MAX_NAME = 64
MAX_NOTE = 500


def clean_name(name: str, fallback: str = "someone") -> str:
    """A display name safe to put in a message."""
    normal = unicodedata.normalize("NFKC", name)
    kept = "".join(ch for ch in normal if unicodedata.category(ch) not in _DROP)
    collapsed = " ".join(kept.split())[:MAX_NAME].strip()
    return collapsed or fallback


def clean_note(note: str) -> str:
    """A free-text note: bidi and invisible characters removed, length capped."""
    normal = unicodedata.normalize("NFC", note)
    kept = "".join(ch for ch in normal if ch in "\n" or unicodedata.category(ch) not in _DROP)
    return kept.strip()[:MAX_NOTE]


def format_ago(delta: timedelta, lang: str = "en") -> str:
    """A compact, language-neutral elapsed time: `40s`, `45m`, `2h10m`, `3d`.

    Under a minute it counts seconds, so the demo's clock never says `0m ago`.
    """
    if delta < timedelta(minutes=1):
        return f"{max(0, int(delta.total_seconds()))}s"
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{mins:02d}m" if mins else f"{hours}h"
    return f"{mins}m"


def is_ascii_number(text: str) -> bool:
    """True for a non-empty run of 0-9 only.

    `str.isdigit` is not this: it accepts "²" and "①", which `int()` then refuses,
    and one such message must never raise outside a handler.
    """
    return text.isascii() and text.isdigit()


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit written as ASCII 0-9; everything else unchanged.

    The one place digits are normalised (PINs, scores, numbers in answers): people
    type the digits of their own script (Arabic-Indic ٤٨٢١, Thai ๔๘๒๑, Devanagari,
    Khmer, Lao, Myanmar …), and all of them are Unicode decimal digits. Superscripts
    and circled numbers ("²", "①") are not decimal digits and are left alone.
    """
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text
    )
