"""SQLAlchemy models: the database is the truth about what is due, sent and escalated.

Invariants live in constraints, not in code paths:
- `UNIQUE(schedule_id, due_at)` on check-ins: any number of ticks may try to create
  an occurrence; exactly one row wins.
- `UNIQUE(checkin_id, level)` on alerts and `UNIQUE(alert_id, platform, chat_id)` on
  their recipients: an escalation level is raised once, each recipient told once.
- `UNIQUE(dedupe_key)` on the outbox: a message with a natural key is queued once.
- `UNIQUE(platform, key)` on processed inbound updates: an update fetched twice is
  handled once.
Platform ids, chat ids and natural keys are `SealedId` columns (deterministic
sealing): the constraints above hold on the sealed values, and a copy of the
database shows no Telegram id, phone number or chat id.
What is due lives in indexed columns (`schedules.next_due_at`,
`checkins.next_action_at`, `outbox.next_attempt_at`, `users.pause_ends_at`), so a
tick's cost grows with the work that is due, not with the number of people.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.types import SealedHash, SealedId, SecretText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A person. One user may have several platform identities."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(SecretText, default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str | None] = mapped_column(SecretText)
    #: set while a pause runs; the scheduler claims it when due to say "pause ended"
    pause_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: never NULL in the database: an unset one is a sealed filler (`SealedHash`)
    duress_hash: Mapped[str | None] = mapped_column(SealedHash)
    pin_hash: Mapped[str | None] = mapped_column(SealedHash)
    #: a pending /forgetme confirmation expires at this time
    forget_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the first-contact notice (what the platform and operator see) was given, in
    #: the person's first private chat; someone who first wrote in a group gets it later
    privacy_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when this person's data was last exported (`/mydata`: once an hour)
    mydata_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a command that needs the PIN, waiting for it as the next message (a pressed
    #: button); sealed, and never a command that carries a secret (/pin, /duress)
    pin_pending: Mapped[str | None] = mapped_column(SecretText)
    pin_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: `/cleanup 24h`: the bot deletes its messages and theirs in the private chat after
    #: this many seconds, where the platform allows (None: off)
    cleanup_after_s: Mapped[int | None] = mapped_column(Integer)


class Identity(Base):
    """One platform identity of a user, and the private chat that reaches them."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(SealedId)
    chat_id: Mapped[str] = mapped_column(SealedId)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Group(Base):
    """A group of defenders run by organisers; its policy governs its schedules."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(SecretText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_window_s: Mapped[int | None] = mapped_column(Integer)
    grace_s: Mapped[int | None] = mapped_column(Integer)
    level2_after_s: Mapped[int | None] = mapped_column(Integer)
    #: the group's own schedule spec (materialised per member as schedules rows)
    schedule_spec: Mapped[str | None] = mapped_column(String(200))
    #: the creator, until they hand the group over; organisers cannot remove the owner
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GroupMember(Base):
    """Membership and role (organiser or member) in a group."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # organiser | member
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupAlertChat(Base):
    """A group chat bound as a group's alert channel (level 2)."""

    __tablename__ = "group_alert_chats"
    __table_args__ = (UniqueConstraint("group_id", "platform", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Schedule(Base):
    """A recurring check-in of one defender (a group schedule has one row per member)."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    spec: Mapped[str] = mapped_column(String(200))
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkin(Base):
    """One check-in occurrence (scheduled, a timer, or an SOS) and its escalation state."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at"),
        CheckConstraint("score IS NULL OR (score BETWEEN 1 AND 5)", name="score_range"),
        Index("ix_checkins_user_state", "user_id", "state"),
        Index(
            "ix_checkins_next_action",
            "next_action_at",
            postgresql_where=text("next_action_at IS NOT NULL"),
            sqlite_where=text("next_action_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # scheduled | timer | sos | manual
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=0)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_s: Mapped[int] = mapped_column(Integer)
    level2_after_s: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(SecretText)  # timer note or SOS text
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(SecretText)
    #: an SOS's variant, sealed with the same length for every SOS ("0": an SOS, "1": raised
    #: by a duress word, silent on the phone): `kind` is "sos" for both, so a copy of the
    #: database cannot tell them apart (NULL for other kinds). Read with `checkins.kind_of`.
    variant: Mapped[str | None] = mapped_column(SecretText)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when level 2 goes out (None: not planned, or raised already)
    level2_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: repeats of an unacknowledged alert sent so far, and when the alerted were last told
    repeats_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: an OK from the phone after an SOS or duress alert (which stays open)
    phone_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the latest acknowledgement, kept when it lapses: an alert acknowledged and then
    #: quiet for `security.retention` closes, and is purged with the rest
    last_acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the answer window of a prompted check-in (NULL: no prompt is tracked, e.g. a timer)
    window_s: Mapped[int | None] = mapped_column(Integer)
    #: when the platform accepted the prompt: the window counts from here (NULL: not yet)
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Alert(Base):
    """One escalation level raised for one check-in."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("checkin_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRecipient(Base):
    """Who was told about an alert: a person, or a bound group chat."""

    __tablename__ = "alert_recipients"
    __table_args__ = (UniqueConstraint("alert_id", "platform", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    #: queued | reached | unreachable (a send failed for good) | left (link or role ended)
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")


class Contact(Base):
    """An accepted trusted-contact link: `contact_id` is alerted for `defender_id`."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("defender_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    defender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(SecretText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the last time the contact answered the bot for this link (accepting counts)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "can you still act?" was sent at this time and is not answered yet
    recheck_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the re-check went unanswered: the link is stale until the contact answers
    stale_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invite(Base):
    """A single-use, expiring invite: to be a trusted contact, or to join a group.

    Only a hash of the code is stored, so a copy of the database gives no usable codes.
    """

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # contact | group
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    label: Mapped[str | None] = mapped_column(SecretText)
    status: Mapped[str] = mapped_column(String(16))  # pending|accepted|declined|expired|revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BadCodeAttempt(Base):
    """A wrong invite code or safe PIN typed by someone; throttles guessing."""

    __tablename__ = "bad_code_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="code", server_default="code")


class Outbox(Base):
    """A message to send. Written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_due",
            "status",
            "priority",
            "next_attempt_at",
        ),
        Index("ix_outbox_chat", "platform", "chat_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(SealedId, unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(SecretText)  # JSON: text, choices, attachment …
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    #: the check-in a prompt or reminder asks about (its acceptance starts the answer clock)
    checkin_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="SET NULL"), index=True
    )


class ChatChoices(Base):
    """The numbered choices last shown in a chat without buttons (Signal, console)."""

    __tablename__ = "chat_choices"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    #: JSON list of command strings; sealed, since it can hold an invite code
    commands: Mapped[str] = mapped_column(SecretText)
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedInbound(Base):
    """An incoming update already handled, so a redelivered one is handled once."""

    __tablename__ = "processed_inbound"
    __table_args__ = (UniqueConstraint("platform", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(SealedId)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OpsReport(Base):
    """A report already made to the operators, so an event is told once per dedupe key."""

    __tablename__ = "ops_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OpsLease(Base):
    """A role one process holds at a time (an ingest leader, the SQLite scheduler).

    The holder renews `lease_until`; another process may take the row once it has
    passed, so a dead holder is replaced within one lease (`ops.failover`).
    """

    __tablename__ = "ops_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpsBeat(Base):
    """When something last happened healthily ("tick": the last healthy scheduler tick).

    Kept in the database, so a restarted process knows how long nobody was ticking.
    """

    __tablename__ = "ops_beats"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeyCheck(Base):
    """A known value sealed with the database's key: a start with the wrong key stops at once.

    One row. Without it, a wrong or missing `security.secret_key` would only show when
    an old row is read: an SOS failing, a tick failing at every old check-in.
    """

    __tablename__ = "key_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    sealed: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: platform ids, chat ids and natural keys of older rows have been sealed (`SealedId`)
    ids_sealed: Mapped[bool] = mapped_column(Boolean, server_default=false())


class GroupLogEntry(Base):
    """Who changed what in a group, and when; members may read it (`/group_log`).

    Events are roles and bindings only (never scores, notes or check-ins). A person
    erased by `/forgetme` becomes "someone who left" (SET NULL).
    """

    __tablename__ = "group_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WellbeingEntry(Base):
    """One well-being answer after a check-in: a score, a feeling, or both (sealed).

    `UNIQUE(checkin_id)`: one answer per check-in, so the question is never asked
    twice for it. The check-in may be purged before the answer (a defender may keep
    their history longer), hence SET NULL.
    """

    __tablename__ = "wellbeing_entries"
    __table_args__ = (
        UniqueConstraint("checkin_id"),
        Index("ix_wellbeing_entries_user_at", "user_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    score: Mapped[str | None] = mapped_column(SecretText)  # "1".."5", sealed like notes
    feeling: Mapped[str | None] = mapped_column(SecretText)


class WellbeingPrefs(Base):
    """A defender's well-being choices: the weekly word, long history, the last nudge."""

    __tablename__ = "wellbeing_prefs"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    weekly_day: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday; None: off
    #: when the next weekly word is due; the scheduler claims it
    weekly_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    keep_long: Mapped[bool] = mapped_column(Boolean, default=False)
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Buddy(Base):
    """A defender's one buddy: an accepted contact who also accepted this role.

    Tied to the contact link: when the link ends, so does the buddy role.
    """

    __tablename__ = "buddies"
    __table_args__ = (UniqueConstraint("defender_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    defender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupWellbeingShare(Base):
    """A member's consent to count in one group's anonymous weekly well-being view."""

    __tablename__ = "group_wellbeing_shares"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupWellbeingSupport(Base):
    """A group's own support contact, set by an organiser, named in the gentle word."""

    __tablename__ = "group_wellbeing_support"
    __table_args__ = (UniqueConstraint("group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)  # `holdfast rotate-key` walks by id
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(SecretText)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeferredCommand(Base):
    """A command that lowers protection, sent while the sender's own alert was open.

    It is carried out once that alert's messages have gone out (`when` "delivered"),
    or, for the rest of a `/forgetme`, once the alert is closed ("closed"). Kept here
    so a restart loses nothing; deleted when carried out. `text` is the command as
    typed (sealed), `platform`/`chat_id` the private chat it came from.
    """

    __tablename__ = "deferred_commands"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    when: Mapped[str] = mapped_column(String(16))  # delivered | closed
    text: Mapped[str] = mapped_column(SecretText)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CleanupItem(Base):
    """A message to delete from a private chat (`/cleanup`), or a chat timer to set.

    `message_id` set: delete that message at `due_at` (Telegram's `deleteMessage`);
    None: set the chat's disappearing-message timer to `seconds` (Signal). Deleted
    once done, or once the platform refuses for good (too old, already gone).
    """

    __tablename__ = "cleanup_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(SealedId)
    message_id: Mapped[str | None] = mapped_column(String(32))
    seconds: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
