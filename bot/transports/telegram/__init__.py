"""The Telegram transport (python-telegram-bot 22): see `transport.TelegramTransport`.

The package is split by job: `updates` (Update → Incoming), `render` (keyboards,
splitting), `pacing` (flood limits), `errors` (PTB errors → DeliveryError),
`receive` (long polling and webhook) and `transport` (the class that ties them).
"""

from __future__ import annotations

from bot.transports.telegram.pacing import Limits
from bot.transports.telegram.receive import Backoff
from bot.transports.telegram.transport import TelegramStartError, TelegramTransport

__all__ = ["Backoff", "Limits", "TelegramStartError", "TelegramTransport"]
