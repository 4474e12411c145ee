"""Burmese typed in Zawgyi is read as Unicode; Unicode Burmese is never touched.

The Zawgyi samples are the spellings Zawgyi phones really produce (the vowel sign E
stored before the consonant, U+1039 as the visible asat, U+103B as medial ra), as
collected in Google's myanmar-tools compatibility data.
"""

from __future__ import annotations

import pytest

from bot.i18n import catalog
from bot.i18n.zawgyi import is_zawgyi, to_unicode

REAL = [
    ("ျမန္မာ", "မြန်မာ"),  # Myanmar
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),  # thank you
    ("ေနေကာင္းလား", "နေကောင်းလား"),  # how are you
    ("ေဘးကင္းပါတယ္", "ဘေးကင်းပါတယ်"),  # I am safe
    ("အိုေက", "အိုကေ"),  # OK
]


@pytest.mark.parametrize(("zawgyi", "unicode"), REAL)
def test_real_zawgyi_becomes_unicode(zawgyi: str, unicode: str) -> None:
    assert zawgyi != unicode
    assert is_zawgyi(zawgyi)
    assert to_unicode(zawgyi) == unicode
    assert to_unicode(unicode) == unicode


def test_ascii_around_zawgyi_is_kept() -> None:
    assert to_unicode("ok 4 ေဘးကင္းပါတယ္ /sos") == "ok 4 ဘေးကင်းပါတယ် /sos"


@pytest.mark.parametrize("lang", ["my", "th", "km", "lo", "ne", "en"])
def test_no_catalog_text_is_taken_for_zawgyi(lang: str) -> None:
    """Every Unicode message we write ourselves passes through unchanged (400+ real texts)."""
    changed = [key for key, text in catalog(lang).items() if to_unicode(text) != text]
    assert not changed


@pytest.mark.parametrize("text", ["", "ok", "ปลอดภัย", "ကူညီပါ", "💬 ✅", "/checkin daily 09:00"])
def test_other_text_is_unchanged(text: str) -> None:
    assert to_unicode(text) == text
