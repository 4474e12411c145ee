"""Every record ends (issue 11): an alert someone acknowledged, then nobody acted on for
the retention, closes; everyone alerted hears it; then it is purged with the rest.
An alert nobody ever acknowledged stays open (escalation ends only when someone acts)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.store.db import transaction
from bot.store.models import Alert, Checkin
from tests.e2e.test_escalation import MIN, T0, Story

HOUR = 60 * MIN
RETENTION = timedelta(days=3)
CLOSED = (
    "ALERT CLOSED: The alert for Alice is closed. Someone said they were handling it, and "
    "nobody has acted on it for a long time since. You will get no more messages about it."
)


async def kinds_stored(s: Story) -> list[str]:
    async with transaction(s.h.app.rt.sessions) as session:
        return list((await session.execute(select(Checkin.kind))).scalars())


async def test_an_acknowledged_alert_quiet_for_the_retention_closes_and_is_purged(
    sqlite_url: str,
) -> None:
    async with Story(sqlite_url, retention=RETENTION) as s:
        await s.contacts("alice", "bob", "carol")
        await s.say("alice", "/sos")
        s.clear()
        await s.h.advance(minutes=1)
        await s.say("bob", "/ack")
        await s.until(T0 + MIN + RETENTION - HOUR, step=HOUR)  # lapses, "still open" ...
        assert all(not m.startswith("ALERT CLOSED") for m in s.new("bob") + s.new("carol"))
        await s.until(T0 + MIN + RETENTION, step=HOUR)
        assert s.new("bob") == [CLOSED] and s.new("carol") == [CLOSED]
        assert s.new("alice") == []  # the phone learns nothing of it
        assert await s.say("bob", "/ack") == ["You have no open alert to acknowledge."]
        await s.until(T0 + MIN + RETENTION + HOUR, step=HOUR)  # the hourly purge
        assert s.new("bob") == [] and s.new("carol") == []
        assert "sos" not in await kinds_stored(s)  # gone with its alerts and recipients
        async with transaction(s.h.app.rt.sessions) as session:
            assert (await session.execute(select(Alert.id))).first() is None


async def test_an_alert_nobody_acknowledged_is_never_closed_by_time(sqlite_url: str) -> None:
    async with Story(sqlite_url, retention=RETENTION) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/sos")
        await s.until(T0 + RETENTION + 4 * HOUR, step=2 * HOUR)
        told = s.new("bob")
        assert not any(m.startswith("ALERT CLOSED") for m in told)
        assert told[-1].startswith("STILL OPEN")
        assert "sos" in await kinds_stored(s)
