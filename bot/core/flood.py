"""Per-sender token buckets: one person's flood costs that person, not everyone else.

Pure: the router passes the time. Each platform identity has a bucket of `burst`
messages refilled at `rate` per second. A message that finds the bucket empty is
dropped before any database work; the first one dropped in a flood gets one "slow
down" answer, the rest get nothing until the bucket has refilled. The numbers are
far above what a person types, even in a panic (a burst of 20, then one a second).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """What to do with one message."""

    HANDLE = "handle"
    WARN = "warn"  # over the limit: answer "slow down" once, drop the message
    DROP = "drop"  # over the limit, already warned: drop silently


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGuard:
    """Token buckets keyed by sender; the oldest are forgotten past `max_senders`."""

    def __init__(self, burst: int = 20, rate: float = 1.0, max_senders: int = 100_000) -> None:
        self.burst, self.rate, self.max_senders = burst, rate, max_senders
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def check(self, sender: tuple[str, str], now: float) -> Verdict:
        """Take one token for `sender` at time `now` (seconds; a clock set back adds none)."""
        bucket = self._buckets.pop(sender, None) or _Bucket(float(self.burst), now)
        self._buckets[sender] = bucket  # most recent last
        while len(self._buckets) > self.max_senders:
            self._buckets.popitem(last=False)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst / 2:
                bucket.warned = False  # recovered: a later flood is warned again
            return Verdict.HANDLE
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN
