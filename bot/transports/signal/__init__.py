"""The Signal transport: signalbot's client against signal-cli-rest-api in json-rpc mode.

`transport.py` holds `SignalTransport` (and why signalbot's `SignalBot` is not
used); `receiver.py` keeps the receive websocket open; `receive.py` turns envelopes
into `Incoming`; `errors.py` maps send failures; `service.py` checks the service at
start-up.
"""

from __future__ import annotations

from bot.transports.signal.errors import SignalSetupError
from bot.transports.signal.receive import DEFAULT_GROUP_COMMANDS
from bot.transports.signal.transport import SignalTransport

__all__ = ["DEFAULT_GROUP_COMMANDS", "SignalSetupError", "SignalTransport"]
