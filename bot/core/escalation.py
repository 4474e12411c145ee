"""One check-in's escalation, decided: every event in, one complete `Plan` out.

SPEC.md's "escalation ends only when someone acts", as pure functions. Each event
in a check-in's life — a tick, the defender's answer, an acknowledgement, a
resolve, an SOS or duress answer, a recipient found unreachable, a recipient who
left — goes to one function here, which returns the whole decision:

- the check-in's new values (`Case`), with the values the caller's conditional
  update must still find (`Plan.before`), so a racing event makes the plan void;
- the alert levels to raise and the catalog key each alert uses;
- who is told what (`Notice`: an audience class, a catalog key, privacy flags);
- the reply to the person who acted, and whether the operators must be told.

Nothing else decides who is told what: `bot.checkin_engine` only loads what a
plan needs, renders it and writes it in one transaction.

Clocks of an open alert (state MISSED), all counted from stored times:
- level 2 at `level2_at`, unless someone acknowledged or the phone answered OK;
- unacknowledged: a repeat to everyone alerted every `repeat_every`, at most
  `repeats` times; after that a "still open" notice every `ack_timeout`;
- acknowledged: after `ack_timeout` without a resolve the acknowledgement lapses,
  everyone alerted hears who acknowledged and when, and level 2 goes out if it
  was held back.
So an open alert always has a next action time, and it closes only by the
defender's answer to a missed check-in, or by a recipient's resolve.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.lifecycle import EMERGENCY_KINDS, OPEN_STATES, Kind, Reach, State


class Audience(enum.StrEnum):
    """Who a notice goes to (resolved to people and chats by the caller)."""

    ALERTED = "alerted"  # everyone alerted so far, who has not left the alert
    OTHERS = "others"  # the same, without the person who acted


@dataclass(frozen=True, slots=True)
class Policy:
    """The deployment-wide clocks of an open alert (`[checkins]` in the config)."""

    repeat_every: timedelta = timedelta(minutes=15)
    repeats: int = 3
    ack_timeout: timedelta = timedelta(hours=2)
    #: an acknowledged alert with no acknowledgement for this long closes (None: never)
    retention: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """What the engine knows about one check-in (one row of `checkins`)."""

    kind: Kind
    state: State
    level: int
    next_action_at: datetime | None
    grace: timedelta = timedelta(0)
    level2_after: timedelta = timedelta(0)
    acked_by: int | None = None
    acked_at: datetime | None = None
    level2_at: datetime | None = None  # when level 2 goes out (None: not planned)
    repeats_sent: int = 0
    alerted_at: datetime | None = None  # when the alerted were last told (repeat base)
    phone_ok_at: datetime | None = None  # an OK from the phone after an SOS/duress
    #: the answer window of a check-in whose prompt is tracked (None: no prompt, a timer)
    window: timedelta | None = None
    deadline: datetime | None = None  # the answer is due (from the prompt's acceptance)
    prompted_at: datetime | None = None  # when the platform accepted the prompt
    last_acked_at: datetime | None = None  # the latest acknowledgement (kept after it lapses)

    @property
    def is_open(self) -> bool:
        """True while the check-in waits for an answer or an alert waits for a person."""
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class Raise:
    """An alert level to raise now, and the catalog key of its message.

    `with_note`: the alert carries the defender's own text (an SOS message, or a
    timer note at level 1). Level 2 never carries a timer note.
    """

    level: int
    key: str
    with_note: bool = False


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to the people already alerted (before this plan's new levels)."""

    audience: Audience
    key: str
    tag: str  # natural-key part: the same notice is queued once per recipient
    buttons: bool = False  # offers "I'm on it" and "Resolved" (the alert still needs a person)


@dataclass(frozen=True, slots=True)
class Plan:
    """A decided event: the new case, and everything to say about it."""

    before: Case
    after: Case
    raises: tuple[Raise, ...] = ()
    notices: tuple[Notice, ...] = ()
    reply: str | None = None  # catalog key for the person who acted
    tell_operators: bool = False  # nobody at any level could be reached
    action: str = ""  # the log action
    prompt_undelivered: bool = False  # the prompt never reached the defender: tell operators

    @property
    def levels(self) -> tuple[int, ...]:
        """The alert levels this plan raises."""
        return tuple(r.level for r in self.raises)


# -- the clock ---------------------------------------------------------------------


def next_action(c: Case, policy: Policy) -> datetime | None:
    """When an open alert next needs the engine (None only when it is not an open alert)."""
    if c.state != State.MISSED:
        return c.next_action_at if c.is_open else None
    base = c.alerted_at or c.acked_at or c.level2_at
    times = [end] if (end := _quiet_end(c, policy)) is not None else []
    if c.acked_at is not None:
        return min([c.acked_at + policy.ack_timeout, *times])
    if _level2_pending(c):
        assert c.level2_at is not None
        times.append(c.level2_at)
    if base is not None:
        step = policy.repeat_every if c.repeats_sent < policy.repeats else policy.ack_timeout
        times.append(base + step)
    return min(times) if times else None


def _quiet_end(c: Case, policy: Policy) -> datetime | None:
    """When an acknowledged alert that nobody acts on closes: the retention after its last ack."""
    if policy.retention is None or c.last_acked_at is None:
        return None
    return c.last_acked_at + policy.retention


def _level2_pending(c: Case) -> bool:
    return c.level < 2 and c.level2_at is not None and c.phone_ok_at is None


def _settle(
    before: Case,
    after: Case,
    policy: Policy,
    *,
    raises: tuple[Raise, ...] = (),
    notices: tuple[Notice, ...] = (),
    reply: str | None = None,
    tell_operators: bool = False,
    action: str = "",
) -> Plan:
    """The plan, with the next action time the new case's clocks give."""
    after = replace(after, next_action_at=next_action(after, policy))
    return Plan(before, after, raises, notices, reply, tell_operators, action)


# -- ticks -------------------------------------------------------------------------


def on_tick(
    c: Case, now: datetime, reach: Reach, policy: Policy, *, paused: bool = False
) -> Plan | None:
    """Decide what a check-in whose action time has come does now.

    Returns None when nothing is due yet or the check-in is not open. A pause
    cancels a check-in still waiting for its answer; an alert already out stands.
    """
    if c.next_action_at is None or c.next_action_at > now or not c.is_open:
        return None
    if paused and c.state != State.MISSED:
        return Plan(c, replace(c, state=State.CANCELLED, next_action_at=None), action="paused")
    if c.state == State.PENDING and awaits_prompt(c):
        return _prompt_held(c, now, reach, policy)
    if c.state == State.PENDING:
        after = replace(c, state=State.LATE, next_action_at=now + c.grace)
        return Plan(c, after, reply="reminder", action="checkin.remind")
    if c.state == State.LATE:
        return _first_alert(c, now, reach, policy)
    return _open_alert(c, now, reach, policy)


def awaits_prompt(c: Case) -> bool:
    """The check-in's prompt has not reached the defender yet: its answer clock has not started."""
    return c.window is not None and c.prompted_at is None and c.state == State.PENDING


def _prompt_held(c: Case, now: datetime, reach: Reach, policy: Policy) -> Plan:
    """The answer is due, but the platform has not accepted the prompt (held back, refused).

    The defender cannot answer what they have not seen: no reminder, no "missed"
    alert. At the time a missed alert would go (deadline + grace), the people who
    would be alerted hear the truth instead: "we could not reach <name> to ask",
    and the operators are told. Once the prompt arrives, the defender gets the full
    window from its delivery (`on_delivered`).
    """
    due = (c.deadline or c.next_action_at or now) + c.grace
    if now < due:
        return Plan(c, replace(c, next_action_at=due), action="checkin.prompt_held")
    plan = _first_alert(c, now, reach, policy, kind="unreached")
    return replace(plan, prompt_undelivered=True)


def on_delivered(c: Case, at: datetime, *, reminder: bool = False) -> Plan | None:
    """The platform accepted the check-in's prompt (or reminder) at `at`.

    The window (and the grace after a reminder) counts from then: the next action
    moves later if the message was held back. Only the first acceptance counts.
    """
    if reminder:
        if c.state != State.LATE or c.next_action_at is None:
            return None
        if c.next_action_at >= at + c.grace:
            return None
        return Plan(c, replace(c, next_action_at=at + c.grace), action="checkin.reminded")
    if c.window is None or c.prompted_at is not None:
        return None
    after = replace(c, prompted_at=at)
    if c.state == State.PENDING:
        deadline = max(c.deadline or at, at + c.window)
        after = replace(after, deadline=deadline, next_action_at=deadline)
    return Plan(c, after, action="checkin.prompted")


def _first_alert(c: Case, now: datetime, reach: Reach, policy: Policy, *, kind: str = "") -> Plan:
    kind = kind or ("timer" if c.kind == Kind.TIMER else "missed")
    missed = replace(c, state=State.MISSED, alerted_at=now, repeats_sent=0)
    if reach.level1:
        level2_at = now + c.level2_after if reach.level2 else None
        after = replace(missed, level=1, level2_at=level2_at)
        raises: tuple[Raise, ...] = (Raise(1, f"alert.{kind}_level1", with_note=True),)
    elif reach.level2:
        after = replace(missed, level=2)
        raises = (Raise(2, f"alert.{kind}_level2_alone"),)
    else:
        after = replace(missed, level=0, alerted_at=None)
        return Plan(c, replace(after, next_action_at=None), action="checkin.unreachable",
                    tell_operators=True)  # fmt: skip
    return _settle(c, after, policy, raises=raises, action="checkin.escalate")


def _open_alert(c: Case, now: datetime, reach: Reach, policy: Policy) -> Plan:
    """An open alert's clocks: quiet too long, ack time-out, level 2, repeats, "still open"."""
    end = _quiet_end(c, policy)
    if end is not None and end <= now:
        # Every record ends: someone took the alert on, and nobody has acknowledged it
        # since, for as long as anything is kept. Everyone alerted hears that it closed.
        closed = replace(c, state=State.RESOLVED, next_action_at=None)
        notice = Notice(Audience.ALERTED, "alert.expired", "expired")
        return Plan(c, closed, notices=(notice,), action="checkin.expire")
    if c.acked_at is not None:
        if c.acked_at + policy.ack_timeout > now:
            return _settle(c, c, policy, action="checkin.wait")
        return _reopen(c, now, reach, policy)
    after: Case = c
    raises: tuple[Raise, ...] = ()
    if _level2_pending(c) and c.level2_at is not None and c.level2_at <= now:
        raises = _level2_now(c, reach)
        after = replace(after, level=2 if raises else c.level, level2_at=None)
    notices: tuple[Notice, ...] = ()
    base = c.alerted_at or now
    if c.repeats_sent < policy.repeats and base + policy.repeat_every <= now:
        n = c.repeats_sent + 1
        notices = (Notice(Audience.ALERTED, "alert.repeat", f"repeat{n}", True),)
        after = replace(after, repeats_sent=n, alerted_at=now)
    elif c.repeats_sent >= policy.repeats and base + policy.ack_timeout <= now:
        notices = (Notice(Audience.ALERTED, "alert.still_open", f"open{now:%Y%m%d%H%M%S}", True),)
        after = replace(after, alerted_at=now)
    return _settle(c, after, policy, raises=raises, notices=notices, action="checkin.follow_up")


def _reopen(c: Case, now: datetime, reach: Reach, policy: Policy) -> Plan:
    """An acknowledgement lapsed: everyone alerted hears it, level 2 goes out if held back."""
    after = replace(c, acked_by=None, acked_at=None, alerted_at=now, repeats_sent=0)
    raises: tuple[Raise, ...] = ()
    if c.level2_at is not None and c.level2_at <= now:  # level 2 was held back
        raises = _level2_now(c, reach)
        after = replace(after, level=2 if raises else c.level, level2_at=None)
    notice = Notice(Audience.ALERTED, "alert.ack_lapsed", f"lapsed{now:%Y%m%d%H%M%S}", True)
    return _settle(c, after, policy, raises=raises, notices=(notice,), action="checkin.reopen")


def _level2_now(c: Case, reach: Reach) -> tuple[Raise, ...]:
    """Level 2 raised late (its time, or a lapsed acknowledgement), if it is still owed."""
    if c.level >= 2 or not reach.level2 or c.phone_ok_at is not None:
        return ()
    kind = "timer" if c.kind == Kind.TIMER else "missed"
    return (Raise(2, f"alert.{kind}_level2"),)


# -- the defender's own events -----------------------------------------------------


def on_emergency(kind: Kind, now: datetime, reach: Reach, policy: Policy) -> Plan:
    """An SOS or a duress answer: every level that can be reached, at once.

    The alert then stays open until a recipient resolves it; repeats and the
    acknowledgement time-out apply as to any alert.
    """
    key = "alert.duress" if kind == Kind.DURESS else "alert.sos"
    raises = tuple(
        Raise(level, key, with_note=True)
        for level, ok in ((1, reach.level1), (2, reach.level2))
        if ok
    )
    before = Case(kind, State.PENDING, 0, now)
    level = max((r.level for r in raises), default=0)
    after = Case(kind, State.MISSED, level, None, alerted_at=now if raises else None)
    if not raises:
        return Plan(before, after, reply="sos.nobody", tell_operators=True, action="checkin.sos")
    return _settle(before, after, policy, raises=raises, reply="sos.sent", action="checkin.sos")


def on_answer(c: Case, now: datetime, policy: Policy, *, duress: bool = False) -> Plan | None:
    """The defender answered OK (or, under duress, what looks like OK).

    - before any alert: the check-in is answered (OK);
    - a missed check-in: resolved, and everyone alerted hears the all-clear; under
      duress it closes silently (the duress alert raised beside it stands instead);
    - an SOS or duress alert: never closed by the phone alone. The recipients are
      asked to confirm in person, further levels stop, the alert stays open.
    """
    if not c.is_open:
        return None
    if c.state in (State.PENDING, State.LATE):
        return Plan(c, replace(c, state=State.OK, next_action_at=None), action="checkin.ok")
    if c.kind in EMERGENCY_KINDS:
        if duress or c.phone_ok_at is not None:
            return None
        after = replace(c, phone_ok_at=now, level2_at=None)
        notice = Notice(Audience.ALERTED, "alert.phone_ok", "phoneok", True)
        return _settle(c, after, policy, notices=(notice,), action="checkin.phone_ok")
    closed = replace(c, state=State.RESOLVED, next_action_at=None)
    if duress:  # the same log line as an all-clear: logs never tell duress from OK
        return Plan(c, closed, action="checkin.all_clear")
    notice = Notice(Audience.ALERTED, "alert.all_clear", "clear")
    return Plan(c, closed, notices=(notice,), action="checkin.all_clear")


# -- what recipients do ------------------------------------------------------------


def on_ack(c: Case, by: int, now: datetime, policy: Policy) -> Plan | None:
    """Acknowledge ("I'm on it"): the first acknowledgement holds level 2 and the repeats.

    Returns None when there is nothing to acknowledge (closed, or already taken:
    the caller says who has it).
    """
    if c.state != State.MISSED or c.acked_at is not None:
        return None
    after = replace(c, acked_by=by, acked_at=now, last_acked_at=now)
    notice = Notice(Audience.OTHERS, "alert.handled", f"ack{now:%Y%m%d%H%M%S}")
    return _settle(c, after, policy, notices=(notice,), reply="ack.thanks", action="checkin.ack")


def on_resolve(c: Case, by: int, now: datetime, *, with_note: bool = False) -> Plan | None:
    """A recipient says the defender is safe: the alert closes and everyone hears who said so.

    `with_note`: the person resolving wrote a note, passed on to the others.
    """
    if c.state != State.MISSED:
        return None
    after = replace(c, state=State.RESOLVED, next_action_at=None)
    key = "alert.resolved_note" if with_note else "alert.resolved"
    notice = Notice(Audience.OTHERS, key, "resolved")
    return Plan(c, after, notices=(notice,), reply="resolve.thanks", action="checkin.resolve")


def on_unreachable(
    c: Case,
    now: datetime,
    reach: Reach,
    policy: Policy,
    *,
    who: str,
    level1_left: bool,
    anyone_left: bool,
    person: int | None = None,
) -> Plan | None:
    """A recipient's send failed for good (blocked the bot, unregistered, ...).

    `who` names the failed recipient in natural keys only (a short hash), never in
    text; `person` is their user id (None for a group chat): an acknowledgement of
    theirs ends, since they can no longer be reached. `level1_left`: a level-1
    recipient may still be reached (sent, or not failed yet); `anyone_left`: the
    same at any level. With nobody left at level 1, level
    2 goes out at once; with nobody left at all, the operators are told. The
    others alerted hear that one person could not be reached (never who).
    """
    if c.state != State.MISSED:
        return None
    after: Case = c
    if person is not None and c.acked_by == person:
        after = replace(c, acked_by=None, acked_at=None, alerted_at=now)
    raises: tuple[Raise, ...] = ()
    if c.level == 1 and not level1_left and after.acked_at is None:
        raises = _unreached_level2(c, reach)
        if raises:
            after = replace(after, level=2, level2_at=None)
    notice = Notice(Audience.ALERTED, "alert.undeliverable", f"unreached{who}")
    return _settle(
        c, after, policy, raises=raises, notices=(notice,),
        tell_operators=not anyone_left and not raises, action="checkin.unreachable",
    )  # fmt: skip


def _unreached_level2(c: Case, reach: Reach) -> tuple[Raise, ...]:
    if not reach.level2 or c.phone_ok_at is not None:
        return ()
    if c.kind in EMERGENCY_KINDS:
        return ()  # level 2 was raised with level 1 already, if it exists
    kind = "timer" if c.kind == Kind.TIMER else "missed"
    return (Raise(2, f"alert.{kind}_level2_unreached"),)


def on_left(c: Case, who: int, now: datetime, policy: Policy) -> Plan | None:
    """A recipient's link or role ended while the alert is open: they leave the alert.

    Their acknowledgement, if any, ends with them; the others hear that someone
    left, without a name.
    """
    if c.state != State.MISSED:
        return None
    after = c
    if c.acked_by == who:
        after = replace(c, acked_by=None, acked_at=None, alerted_at=now)
    notice = Notice(Audience.ALERTED, "alert.someone_left", f"left{who}")
    return _settle(c, after, policy, notices=(notice,), action="checkin.left")


def reach_report(kind: Kind, reached: int, total: int) -> str | None:
    """What the defender hears once every send of their alert has an outcome.

    Only an SOS is reported, and only in numbers actually reached: a duress alert
    is never shown on the phone. None when nothing is to be said.
    """
    if kind != Kind.SOS or total == 0:
        return None
    return "sos.reached" if reached else "sos.reached_none"


def who_is_told(reach: Reach) -> str:
    """The catalog key saying who hears of a missed check-in of this defender.

    Every prompt, reminder and timer says it, so nobody reads "your contacts are
    alerted" when they have none.
    """
    if reach.level1:
        return "who.contacts"
    return "who.group" if reach.level2 else "who.nobody"


#: Alerts the defender raised without the phone showing it: never posted where they may read.
SILENT_KINDS = (Kind.DURESS,)


def posts_to_chat(kind: Kind, defender_in_chat: bool | None) -> bool:
    """Whether an alert of this kind may be posted to a bound alert chat.

    A silent alert (duress) goes to a chat only when the platform says the defender
    is not in it: whoever holds their phone would read it there. `None` (the
    platform could not say) counts as "in the chat". Other alerts always go.
    """
    if kind not in SILENT_KINDS:
        return True
    return defender_in_chat is False


#: Notices that name the person handling the alert, and their version without the name.
NAMELESS = {
    "alert.handled": "alert.handled_someone",
    "alert.resolved": "alert.resolved_someone",
    "alert.resolved_note": "alert.resolved_note_someone",
    "alert.ack_lapsed": "alert.ack_lapsed_someone",
    "ack.already": "ack.already_someone",
}


def notice_key(key: str, *, organiser_or_chat: bool) -> str:
    """The catalog key one recipient gets: the handler is named only to organisers and chats.

    A contact's phone, like the defender's, may be in someone else's hands: it never
    shows who else protects the defender.
    """
    return key if organiser_or_chat else NAMELESS.get(key, key)
