"""Benchmark: does the reply to a duress answer take longer when more people are alerted?

Issue 10: the reply waited for every alert to be sent (0.05 s with 1 recipient, 2.2 s
with 62), so a coercer watching the screen could tell. Now the reply goes out first
(`MessageKind.ANSWER` sorts before alerts in the outbox and in the Telegram pacer),
and the alerts follow.

The whole app, the real Telegram transport with its pacing and the fake Bot API
enforcing Telegram's limits (30 messages a second, 1 a second per chat). Each run is
one defender sending their duress word; all share the same trusted contacts. It
prints the reply latency (push to the fake recording the reply) over `--runs` runs
with 1 and with 60 recipients: median, p90, max, and the difference of the medians
(target: within 20 ms).

    .venv/bin/python bench/duress_latency.py [--runs 50] [--recipients 1,60]

60 alerts take 2 s at Telegram's 30 a second, and the runs wait for them to drain:
about 2 minutes for 50 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from tests.support.duress_timing import Timing, measure  # noqa: E402

TARGET_MS = 20.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def table(results: list[Timing]) -> bool:
    print(f"{'recipients':>10} {'runs':>5} {'median ms':>9} {'p90 ms':>8} {'max ms':>8} "
          f"{'alerts sent':>11} {'429s':>5}")  # fmt: skip
    for r in results:
        lat = sorted(r.latencies)
        p90 = lat[min(len(lat) - 1, int(len(lat) * 0.9))]
        print(f"{r.recipients:>10} {len(lat):>5} {ms(statistics.median(lat)):>9} {ms(p90)} "
              f"{ms(lat[-1])} {r.alerts:>11} {r.too_many:>5}")  # fmt: skip
    medians = [statistics.median(r.latencies) for r in results]
    spread = (max(medians) - min(medians)) * 1000
    ok = spread <= TARGET_MS and all(r.too_many == 0 for r in results)
    print(f"\nmedians differ by {spread:.1f} ms (target <= {TARGET_MS:.0f} ms): "
          f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    return ok


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--recipients", default="1,60")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(x) for x in args.recipients.split(",")):
            results.append(await measure(Path(folder), args.runs, n))
    return 0 if table(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
