"""When a stop of the bot counts as an outage that people must be told about.

While Holdfast is down nobody is prompted, reminded or heard. Once the gap is
longer than a check-in's grace, or than the platform keeps undelivered updates
(Telegram: 24 hours, after which a defender's answer is gone), check-ins that fell
due in it cannot honestly be called "missed": their contacts are asked to check
instead (SPEC.md, "After an outage of the bot ...").
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: How long Telegram keeps updates nobody fetched (Bot API: "not kept longer than 24 hours").
PLATFORM_RETENTION = timedelta(hours=24)


def outage_threshold(grace: timedelta, retention: timedelta = PLATFORM_RETENTION) -> timedelta:
    """A gap longer than this is an outage: the shorter of the grace and the retention."""
    return min(grace, retention)


def is_outage(last_tick: datetime | None, now: datetime, grace: timedelta) -> bool:
    """True if nobody ticked for longer than `outage_threshold` before `now`.

    A database that never ticked (a first start) has had no outage.
    """
    return last_tick is not None and now - last_tick > outage_threshold(grace)
