"""One grammar for every transport: text (or a pressed button) → a `Command`.

Commands work with or without the slash (`/ok 4 tired` and `ok 4 tired` are the
same), so Signal and console users type plain words. Telegram's `/cmd@botname`
suffix is stripped by the transport before it gets here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import UserError

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
        "link", "unlink", "contact_confirm",
    }
)  # fmt: skip

#: Plain words people use for a command.
ALIASES = {"safe": "ok", "okay": "ok", "commands": "help", "menu": "help"}


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


def _is_sos(text: str) -> bool:
    words = text[:16].split(maxsplit=1)
    return bool(words) and words[0].casefold() in ("sos", "/sos")


def parse(text: str) -> Command | None:
    """Parse a message into a command; None when it is not one (ordinary text).

    Raises:
        UserError: `error.too_long` for a message far too long; `error.unknown_command`
            for `/something` we do not know.
    """
    if len(text) > MAX_TEXT and not (len(text) <= MAX_SOS_TEXT and _is_sos(text)):
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
