"""The well-being picture: a real PNG of a fixed size for 0, 1, 30 and 90 days, deterministic.

matplotlib is loaded only when a picture is drawn: importing the whole bot must
not load it (start-up time and memory stay as they were).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import date, timedelta

import pytest

from bot.core.wellbeing import Day, Feeling
from bot.wellbeing_chart import HEIGHT_PX, WIDTH_PX, render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def with_gaps(count: int) -> list[Day]:
    """`count` days ending 31 Aug 2026: every third day unanswered, feelings here and there."""
    start = date(2026, 8, 31) - timedelta(days=count - 1)
    feelings = list(Feeling)
    return [
        Day(
            start + timedelta(days=i),
            None if i % 3 == 2 else 1 + (i * 7) % 5,
            frozenset({feelings[i % 6]}) if i % 4 == 0 else frozenset(),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 30, 90])
def test_the_picture_is_a_png_of_the_expected_size_and_deterministic(count: int) -> None:
    days = with_gaps(count)
    first = render(days)
    assert png_size(first) == (WIDTH_PX, HEIGHT_PX)
    assert len(first) > 2000  # axes and points were drawn, not an empty canvas
    assert render(days) == first  # no timestamps: same input, same bytes


def test_different_data_draws_a_different_picture() -> None:
    days = with_gaps(30)
    changed = [*days[:-1], Day(days[-1].day, 5.0, frozenset({Feeling.SCARED}))]
    assert render(changed) != render(days)


def test_importing_the_bot_does_not_load_matplotlib() -> None:
    code = (
        "import sys, bot.app, bot.handlers, bot.scheduler.due, bot.wellbeing_chart;"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
