"""Draw a defender's well-being days as a PNG, in memory (matplotlib, Agg backend).

Kept out of `core` (it is a renderer, not a rule) and out of the transports (every
platform sends the same bytes). matplotlib is imported inside `render`, so the bot
starts, and runs, without loading it until someone asks for a picture.

The picture carries no words: digits on the axes (day of month, score 1-5), one
point a day joined where days follow each other, gaps where nothing was answered,
and a mark per feeling above the line. The caption, in the defender's language,
explains it. The same input always gives the same bytes (no timestamp metadata),
and the PNG is never written to disk here.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.model import Address, Attachment, Outgoing
from bot.core.wellbeing import Day, Entry, Feeling, days

WIDTH_PX, HEIGHT_PX, DPI = 800, 320, 100
#: Marker and colour per feeling (the caption's key uses the same shapes).
MARKS: dict[Feeling, tuple[str, str]] = {
    Feeling.SAFE: ("o", "#2e7d32"),
    Feeling.UNSURE: ("D", "#f9a825"),
    Feeling.SCARED: ("^", "#c62828"),
    Feeling.HARASSED: ("X", "#6a1b9a"),
    Feeling.EXHAUSTED: ("s", "#5d4037"),
    Feeling.TALK: ("*", "#1565c0"),
}
_BAND = 5.7  # where feeling marks sit, above the 1-5 scale


def render(days: Sequence[Day]) -> bytes:
    """The PNG bytes (WIDTH_PX x HEIGHT_PX) for these days, oldest first; any count >= 0."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    ax = fig.add_axes((0.05, 0.12, 0.93, 0.83))
    xs = list(range(len(days)))
    ys = [d.score if d.score is not None else math.nan for d in days]
    ax.plot(xs, ys, color="#37474f", linewidth=1.5, marker="o", markersize=4)
    for feeling, (marker, colour) in MARKS.items():
        at = [i for i, d in enumerate(days) if feeling in d.feelings]
        if at:
            ax.scatter(at, [_BAND] * len(at), marker=marker, color=colour, s=36, zorder=3)
    ax.set_ylim(0.5, 6.2)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.set_xlim(-0.7, max(len(days), 1) - 0.3)
    step = max(1, len(days) // 10)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(days[i].day.day) for i in ticks])
    ax.axhline(5.35, color="#cfd8dc", linewidth=0.8)
    ax.grid(axis="y", color="#eceff1")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


async def picture(
    to: Address,
    entries: Sequence[Entry],
    *,
    now: datetime,
    zone: ZoneInfo,
    count: int,
    caption: str,
) -> Outgoing:
    """The last `count` local days as a message with the PNG attached.

    Drawing is CPU work (about 0.1 s for 90 days): it runs in a worker thread so
    the bot keeps answering meanwhile. Each call builds its own `Figure`; no
    pyplot state is shared between threads.
    """
    today = now.astimezone(zone).date()
    png = await asyncio.to_thread(render, days(entries, today=today, count=count, zone=zone))
    file = Attachment(f"wellbeing-{today:%Y%m%d}.png", "image/png", png)
    return Outgoing(to, caption, attachment=file)
