"""Logging setup: one line per record with its stable `action`, and no personal data.

Modules log `log.info("…", extra={"action": "checkin.escalate", "checkin_id": 7})`;
ids are fine, message text, names, notes and phone numbers are not (DESIGN.md).
"""

from __future__ import annotations

import logging

#: Attributes every record has (or gains while being formatted); the rest are extras.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _ActionFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        action = extras.pop("action", "-")
        fields = " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        return f"{base} action={action}" + (f" {fields}" if fields else "")


def setup(level: int = logging.INFO) -> None:
    """Configure the root logger once (the CLI calls this)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_ActionFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries log request URLs (which carry the bot token) and payloads at INFO/DEBUG.
    noisy_loggers = (
        "httpx", "httpcore", "telegram", "signalbot", "apscheduler", "aiohttp.access", "alembic",
        # Database drivers log each statement with its bound values at DEBUG.
        "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool",
    )  # fmt: skip
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
