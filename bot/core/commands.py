"""One grammar for every transport: text (or a pressed button) → a `Command`.

Commands work with or without the slash (`/ok 4 tired` and `ok 4 tired` are the
same), so Signal and console users type plain words. Telegram's `/cmd@botname`
suffix is stripped by the transport before it gets here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.errors import UserError
from bot.core.text import ascii_digits

#: Longest message we look at; anything longer is refused before parsing.
MAX_TEXT = 2000
#: An SOS is never refused for its length up to what a platform lets a person send
#: (Telegram: 4096 characters); its text is cut for the alert instead.
MAX_SOS_TEXT = 4096

COMMANDS = frozenset(
    {
        "start", "help", "tz", "checkin", "checkins", "checkin_remove", "timer", "ok",
        "sos", "invite", "contacts", "contact_remove", "pause", "resume", "status",
        "duress", "pin", "wellbeing", "lang", "mydata", "forgetme", "ack", "accept",
        "decline", "group_new", "group_invite", "join", "group_checkin", "group_policy",
        "group_alerts", "group_members", "group_remove", "group_promote", "group_leave",
        "group_revoke",
        "group_owner", "group_log", "resolve", "feel", "buddy", "group_wellbeing",
        "link", "unlink", "contact_confirm", "cleanup",
    }
)  # fmt: skip

#: Plain words people use for a command.
ALIASES = {"safe": "ok", "okay": "ok", "commands": "help", "menu": "help"}


#: Commands that lower someone's protection or lay out their network when carried out.
#: With a safe PIN set, each needs it (the gate in `bot.handlers.router`), so a phone
#: taken from its owner cannot quietly switch protection off. The one list: anything
#: else that treats these commands specially (e.g. deferring them while an alert is
#: open) reads it too. `lowers_protection` narrows two of them by their arguments.
LOWERS_PROTECTION = frozenset(
    {
        "checkin_remove",  # a schedule gone: nobody notices a missed check-in
        "timer",  # only `/timer cancel`
        "contact_remove",  # one person fewer alerted
        "group_leave",  # level 2 gone
        "group_remove",  # an organiser's phone removing a member from level 2
        "pause",  # no check-ins for a while
        "duress",  # change or switch off the duress word (whether one is set never shows)
        "pin",  # change or remove the PIN itself
        "forgetme",  # only `/forgetme confirm`: the erasure
        "contacts",  # the network, laid out on the phone
        "mydata",  # the same, as a file
        "unlink",  # the second app, where alerts go when one fails
        "resolve",  # closes an alert: "they are safe"
        "group_checkin",  # only a change: an organiser's phone moving or ending everyone's
        "group_policy",  # only a change: longer windows delay everyone's alerts
    }
)

#: Of those, the commands that carry out their lowering only with this first word.
_ONLY_WITH = {"timer": "cancel", "forgetme": "confirm"}
#: Of those, the group commands that lower protection only when they change something
#: (`/group_checkin GROUP off`, `/group_policy GROUP window 2h`), not when they show it.
_ONLY_A_CHANGE = frozenset({"group_checkin", "group_policy"})
#: Lowering commands whose arguments are all optional: a lone number after them is the
#: PIN (`/resolve 4821`; an alert's own number then goes first: `/resolve 12 4821`).
_NO_ARGS = frozenset({"contacts", "mydata", "unlink", "resolve"})
#: A safe PIN: 4 to 8 digits (after `ascii_digits`).
PIN_MIN, PIN_MAX = 4, 8


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its canonical name and the rest of the text."""

    name: str
    args: str
    slash: bool  # typed with a slash (an unknown /word is an error, a plain word is chat)

    @property
    def words(self) -> list[str]:
        """The arguments split on whitespace."""
        return self.args.split()


def lowers_protection(cmd: Command) -> bool:
    """True if carrying out `cmd` lowers protection (so needs the PIN when one is set)."""
    if cmd.name not in LOWERS_PROTECTION:
        return False
    words = cmd.words
    if cmd.name in _ONLY_A_CHANGE:
        return len(words) > 1  # GROUP alone shows the schedule or timing
    needed = _ONLY_WITH.get(cmd.name)
    return needed is None or (bool(words) and words[0].casefold() == needed)


def pin_shaped(word: str) -> str | None:
    """`word` as the ASCII digits of a PIN, or None if it is not 4 to 8 digits."""
    digits = ascii_digits(word, every_script=True)  # any script's digits, as before
    if not (digits.isascii() and digits.isdigit() and PIN_MIN <= len(digits) <= PIN_MAX):
        return None
    return digits


def split_pin(cmd: Command) -> tuple[Command, str | None]:
    """The PIN typed at the end of a command, and the command without it.

    The PIN is the last word (`/contact_remove 2 4821`, `/pause 2h away 4821`,
    `/pin NEW CURRENT`); after a command that takes no arguments it may be the only
    word (`/contacts 4821`). A command's own number (`/checkin_remove 1234`) is never
    taken for the PIN. Returns (cmd, None) when there is no PIN-shaped last word.
    """
    words = cmd.words
    first = 0 if cmd.name in _NO_ARGS else 1
    if len(words) <= first:
        return cmd, None
    digits = pin_shaped(words[-1])
    if digits is None:
        return cmd, None
    rest = cmd.args.rstrip()[: -len(words[-1])].rstrip()
    return Command(cmd.name, rest, cmd.slash), digits


def parse(text: str, *, is_sos: Callable[[str], bool] | None = None) -> Command | None:
    """Parse a message into a command; None when it is not one (ordinary text).

    `is_sos` (the answer grammar's, `answers.is_sos`) lets an SOS through the
    length limit up to `MAX_SOS_TEXT`.

    Raises:
        UserError: `error.too_long` for a message far too long; `error.unknown_command`
            for `/something` we do not know.
    """
    if len(text) > MAX_TEXT and not (
        len(text) <= MAX_SOS_TEXT and is_sos is not None and is_sos(text)
    ):
        raise UserError("error.too_long", max=MAX_TEXT)
    stripped = text.strip()
    if not stripped:
        return None
    head, _, rest = stripped.partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more} {rest}".strip()
    slash = head.startswith("/")
    word = head[1:] if slash else head
    name = ALIASES.get(word.casefold(), word.casefold())
    if name in COMMANDS:
        return Command(name, rest.strip(), slash)
    if slash:
        raise UserError("error.unknown_command", command=head[:32])
    return None
