"""The configuration schema: the frozen Settings dataclasses, and how problems are reported.

The dataclasses below *are* the schema: their sections, keys, types and defaults
define what an operator may write, and `SECTIONS` maps each `[section]` of the
file to its class. `ConfigProblem` and `ConfigError` are how every later stage
(reading, converting, validating) reports what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class DatabaseSettings:
    """Where Holdfast remembers everything; SQLite for one server, PostgreSQL at scale."""

    url: str = "sqlite+aiosqlite:///holdfast.db"


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram transport; an empty token turns it off."""

    token: str = ""
    base_url: str = ""
    mode: str = "polling"
    webhook_url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""
    pacing: bool = True

    @property
    def enabled(self) -> bool:
        """Telegram runs only when a bot token is configured."""
        return bool(self.token)


@dataclass(frozen=True)
class SignalSettings:
    """The Signal transport (signal-cli-rest-api); an empty service turns it off."""

    service: str = ""
    phone_number: str = ""
    #: local file (0600, sealed) keeping received messages while the database is away
    spool: str = "holdfast-signal.spool"

    @property
    def enabled(self) -> bool:
        """Signal runs only when a signal-cli-rest-api service is configured."""
        return bool(self.service)


@dataclass(frozen=True)
class CheckinSettings:
    """The default check-in clock and the bounds people's timers must respect."""

    response_window: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(minutes=15)
    level2_after: timedelta = timedelta(minutes=30)
    min_timer: timedelta = timedelta(minutes=5)
    max_timer: timedelta = timedelta(days=7)
    default_timezone: str = "UTC"
    #: an open alert nobody acknowledged is sent again this often, at most `repeats` times
    repeat_every: timedelta = timedelta(minutes=15)
    repeats: int = 3
    #: an acknowledged alert not resolved within this re-opens
    ack_timeout: timedelta = timedelta(hours=2)
    #: alert sends failing this long are reported to the operators (sending goes on)
    alert_retry_report: timedelta = timedelta(hours=1)
    demo: bool = False
    recheck_contacts: timedelta = timedelta(days=30)


#: The clock of demo mode, in seconds, so the whole ladder plays out in about two
#: minutes. It fills only the keys the configuration leaves unset.
DEMO_CHECKINS = {
    "response_window": timedelta(seconds=20),
    "grace": timedelta(seconds=10),
    "level2_after": timedelta(seconds=20),
    "min_timer": timedelta(seconds=10),
}


@dataclass(frozen=True)
class SchedulerSettings:
    """How often the scheduler claims due work."""

    tick: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class SecuritySettings:
    """Encryption at rest, data retention and invite lifetime."""

    secret_key: str = ""
    key_file: str = ""
    retention: timedelta = timedelta(days=30)
    invite_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class OpsSettings:
    """How the people who run Holdfast watch it: health endpoint, heartbeat, operator chats."""

    #: host:port of /healthz, /readyz and /metrics; empty turns the endpoint off
    listen: str = "127.0.0.1:9464"
    #: requested after healthy ticks (at most once a minute): an external dead-man's switch
    heartbeat_url: str = ""
    #: "platform:chat_id" chats told about failures, captchas and outages
    operator_chats: tuple[str, ...] = ()
    #: a standby takes over a single-holder role (ingest leader) after this
    failover: timedelta = timedelta(seconds=15)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs, validated; `source` is the file path or "defaults"."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    signal: SignalSettings = field(default_factory=SignalSettings)
    checkins: CheckinSettings = field(default_factory=CheckinSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    source: str = "defaults"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: the key (e.g. "checkins.grace") and the fix."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


#: Each `[section]` of the file and the dataclass that holds it.
SECTIONS: dict[str, type] = {
    "database": DatabaseSettings,
    "telegram": TelegramSettings,
    "signal": SignalSettings,
    "checkins": CheckinSettings,
    "scheduler": SchedulerSettings,
    "security": SecuritySettings,
    "ops": OpsSettings,
}
#: Values never repeated in a message: secrets, personal data, URLs that may hold passwords.
NEVER_ECHO = frozenset(
    {
        "database.url",
        "telegram.token",
        "telegram.webhook_url",
        "telegram.secret_token",
        "telegram.base_url",
        "signal.phone_number",
        "security.secret_key",
        "ops.heartbeat_url",
    }
)
