"""Invite codes: readable aloud, typed back in any case, as strong as before."""

from __future__ import annotations

import math
import random
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.core.codes import ALPHABET, LENGTH, make_code, normalize_code


def test_a_code_is_grouped_in_fours_without_look_alikes() -> None:
    code = make_code(random.Random(1).randrange)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){4}", code), code
    assert not set("01ILO") & set(ALPHABET)


def test_the_code_keeps_at_least_96_bits() -> None:
    assert LENGTH * math.log2(len(ALPHABET)) >= 96


@given(st.randoms(use_true_random=False))
def test_case_spaces_and_dashes_do_not_matter(rnd: random.Random) -> None:
    code = make_code(rnd.randrange)
    typed = code.lower().replace("-", " ")
    assert normalize_code(typed) == normalize_code(code) == code.replace("-", "")


def test_an_older_code_is_kept_exactly_as_typed() -> None:
    assert normalize_code(" Ab_c-DEF123 ") == "Ab_c-DEF123"
