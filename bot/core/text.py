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


#: The digit sets of the region's languages, each 0-9 in order. Only these are read as
#: numbers: not every Unicode digit (`str.isdigit` also accepts "²" and "①").
DIGIT_SETS = {
    "th": "๐๑๒๓๔๕๖๗๘๙",  # Thai U+0E50-0E59
    "lo": "໐໑໒໓໔໕໖໗໘໙",  # Lao U+0ED0-0ED9
    "km": "០១២៣៤៥៦៧៨៩",  # Khmer U+17E0-17E9
    "my": "၀၁၂၃၄၅၆၇၈၉",  # Myanmar U+1040-1049
    "ne": "०१२३४५६७८९",  # Devanagari U+0966-096F
}
_TO_ASCII = str.maketrans(
    {digit: str(value) for digits in DIGIT_SETS.values() for value, digit in enumerate(digits)}
)


def ascii_digits(text: str, *, every_script: bool = False) -> str:
    """`text` with the digits people type written as ASCII 0-9; everything else unchanged.

    The one place digits are normalised: times, durations, schedules, scores, numbered
    answers and PINs all read through it. By default only the region's digit sets
    (`DIGIT_SETS`: Thai ๔, Lao ໔, Khmer ៤, Myanmar ၄, Devanagari ४) are mapped; other
    scripts' digits stay as they are and are refused where ASCII is required (a time
    in Arabic-Indic or full-width digits is not read). `every_script=True` maps every
    Unicode decimal digit (Arabic-Indic ٤٨٢١ too), for a PIN, which is compared and
    never shown or scheduled. Superscripts and circled numbers ("²", "①") are not
    decimal digits and are never mapped.
    """
    if text.isascii():
        return text
    if every_script:
        return "".join(
            str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch
            for ch in text
        )
    return text.translate(_TO_ASCII)


def is_ascii_number(text: str) -> bool:
    """True for a non-empty run of 0-9 once `ascii_digits` has mapped the region's digits.

    `str.isdigit` is not this: it accepts "²" and "①", which `int()` then refuses,
    and one such message must never raise outside a handler. Read the value with
    `int(ascii_digits(text))`.
    """
    mapped = ascii_digits(text)
    return mapped.isascii() and mapped.isdigit()
