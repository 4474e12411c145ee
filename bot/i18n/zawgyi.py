"""Burmese typed in Zawgyi, read as Unicode.

Many phones in Myanmar still type in Zawgyi, a font encoding that reuses the Myanmar
Unicode block with different meanings, so a Zawgyi "OK" or duress word would not
match the Unicode catalog. Every incoming text is checked once, at the transport →
router boundary: Google's detector (`myanmartools`) gives the probability that the
text is Zawgyi, and above `THRESHOLD` it is converted to Unicode with python-myanmar's
converter. Text without Myanmar letters is returned untouched without running either.
Pure: no I/O after the detector's model is loaded, nothing logged.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

#: The detector's own recommendation: above 0.95 the text is Zawgyi; short words that
#: are spelled the same in both encodings score low and are left as they are.
THRESHOLD = 0.95
_MYANMAR = range(0x1000, 0x10A0)


@cache
def _detector() -> Any:
    from myanmartools import ZawgyiDetector

    with warnings.catch_warnings():  # it loads its model with importlib.resources.open_binary
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector()


def is_zawgyi(text: str) -> bool:
    """True when `text` has Myanmar letters and is, most probably, Zawgyi."""
    if not any(ord(ch) in _MYANMAR for ch in text):
        return False
    return bool(_detector().get_zawgyi_probability(text) > THRESHOLD)


def to_unicode(text: str) -> str:
    """`text` in Unicode: converted from Zawgyi when it is Zawgyi, otherwise unchanged."""
    if not is_zawgyi(text):
        return text
    from myanmar.converter import convert

    return str(convert(text, "zawgyi", "unicode"))
