"""Transport registry: build the enabled transports from the settings.

Platform libraries are imported only when their transport is enabled, so the
console runs without touching Telegram or Signal code.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Settings
from bot.transports.base import Transport


def build_transports(
    settings: Settings, commands: Sequence[tuple[str, str]] = ()
) -> dict[str, Transport]:
    """Every transport the configuration enables, keyed by platform."""
    found: dict[str, Transport] = {}
    if settings.telegram.enabled:
        from bot.transports.telegram import TelegramTransport

        tg = settings.telegram
        found["telegram"] = TelegramTransport(
            tg.token, base_url=tg.base_url, mode=tg.mode, webhook_url=tg.webhook_url,
            listen=tg.listen, port=tg.port, secret_token=tg.secret_token, commands=commands,
            pacing=tg.pacing,
        )  # fmt: skip
    if settings.signal.enabled:
        from bot.transports.signal import SignalTransport

        found["signal"] = SignalTransport(
            settings.signal.service,
            settings.signal.phone_number,
            spool=settings.signal.spool or None,
        )
    return found
