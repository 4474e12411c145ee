"""Nothing undoes an open alert silently: what a command that lowers protection does then.

Whoever holds an unlocked phone can type anything, and may force its owner to. While
the owner has an open alert (or alert messages not yet sent), a command that lowers
their protection (the commands of `bot.core.commands.lowers_protection`, less those
that only show something) is:

- carried out only once the alert's messages have gone out, so it never cancels
  what is already on its way (`When.DELIVERED`; at once when nothing is waiting);
- told to every recipient of the alert, once, at alert priority: the phone sent
  this while the alert was open, treat it as a sign of danger;
- for `/forgetme confirm`: everything the alert does not need is erased at once,
  and the rest (the alert, the contacts and groups who keep it going, the name it
  carries) once the alert is closed and its messages are out (`When.CLOSED`).

Pure: the caller loads whether an alert is open and whether messages wait, and
carries out the decision (`bot.handlers.seized`, `bot.store.deferred`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class When(enum.StrEnum):
    """When a lowering command is carried out."""

    NOW = "now"
    DELIVERED = "delivered"  # once no message of the sender's alerts waits to be sent
    CLOSED = "closed"  # once the sender has no open alert and nothing waits


#: Commands in the lowering list that change nothing (they show something, or close
#: someone else's alert): never deferred, never reported to the alerted.
SHOWS_ONLY = frozenset({"contacts", "mydata", "resolve"})


@dataclass(frozen=True, slots=True)
class Lowering:
    """The decision about one lowering command.

    `when`: when it is carried out; `tell`: every recipient of the open alert hears
    of it; `erase_now`: (`/forgetme`) erase at once what the alert does not need.
    """

    when: When
    tell: bool = False
    erase_now: bool = False


def on_lowering(name: str, *, alert_open: bool, unsent: bool) -> Lowering:
    """What happens to lowering command `name` (already known to lower protection).

    `alert_open`: the sender has an open alert; `unsent`: messages of their alerts
    still wait in the outbox (a rate-limit hold, a platform outage).
    """
    if name in SHOWS_ONLY or not (alert_open or unsent):
        return Lowering(When.NOW)
    if name == "forgetme":
        return Lowering(When.CLOSED, tell=True, erase_now=True)
    return Lowering(When.DELIVERED if unsent else When.NOW, tell=True)


def ready(when: When, *, alert_open: bool, unsent: bool) -> bool:
    """Whether a deferred command may be carried out now."""
    if when == When.CLOSED:
        return not alert_open and not unsent
    return not unsent
