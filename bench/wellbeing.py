"""The well-being picture: draw time for 7/30/90 days, and start-up without matplotlib.

Issue 14 asks for a 90-day draw under 300 ms and no growth of start-up time or
memory. Each measurement runs in a fresh interpreter, so imports are not shared:

- import: `import bot.app` (what `holdfast run` loads before serving), its peak
  RSS and whether matplotlib got loaded (it must not);
- first draw: the first picture of a process (loads matplotlib, then draws);
- draw: the median of `--runs` further draws, the number a defender waits for
  once the process has drawn before.

    python bench/wellbeing.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, resource, statistics, sys, time
    from datetime import date, timedelta
    t0 = time.perf_counter()
    import bot.app
    import bot.wellbeing_chart as chart
    from bot.core.wellbeing import Day, Feeling
    imported = time.perf_counter() - t0
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loaded = "matplotlib" in sys.modules
    feelings = list(Feeling)
    def days(n):
        start = date(2026, 8, 31) - timedelta(days=n - 1)
        return [Day(start + timedelta(days=i), None if i % 3 == 2 else 1 + i % 5,
                    frozenset({feelings[i % 6]}) if i % 4 == 0 else frozenset())
                for i in range(n)]
    t0 = time.perf_counter(); chart.render(days(90)); first = time.perf_counter() - t0
    out = {"import_s": imported, "rss_import_kb": rss_import, "matplotlib_at_start": loaded,
           "first_draw_s": first,
           "rss_after_draw_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    for n in (7, 30, 90):
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter(); chart.render(days(n)); times.append(time.perf_counter() - t0)
        out[f"draw_{n}_ms"] = 1000 * statistics.median(times)
        out[f"draw_{n}_max_ms"] = 1000 * max(times)
    print(json.dumps(out))
    """
)


def main() -> None:
    """Run the probe in a fresh interpreter and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    code = PROBE.replace("RUNS", str(args.runs))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    r = json.loads(done.stdout)
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| `import bot.app` | {r['import_s'] * 1000:.0f} ms |")
    print(f"| matplotlib loaded at start | {r['matplotlib_at_start']} |")
    print(f"| peak RSS after start-up imports | {r['rss_import_kb'] / 1024:.1f} MiB |")
    print(f"| first picture (loads matplotlib) | {r['first_draw_s'] * 1000:.0f} ms |")
    print(f"| peak RSS after the first picture | {r['rss_after_draw_kb'] / 1024:.1f} MiB |")
    for n in (7, 30, 90):
        print(
            f"| draw {n} days, median (max) of {args.runs} | "
            f"{r[f'draw_{n}_ms']:.0f} ms ({r[f'draw_{n}_max_ms']:.0f} ms) |"
        )


if __name__ == "__main__":
    main()
