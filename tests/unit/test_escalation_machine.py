"""The escalation engine (`bot.core.escalation`) hammered as a state machine (hypothesis).

One check-in, any sequence of events — ticks with the clock moving on, answers (also
under duress), acknowledgements, resolves, recipients found unreachable, recipients
leaving, an SOS — and after each the invariants of issue 9 hold:

- an open alert always has a next action time (nothing waits forever unnoticed);
- an alert closes only by the defender's answer to a missed check-in, or by a
  recipient's resolve — never by the phone after an SOS or duress; a tick closes
  one only when someone acknowledged it and nobody has since, for the retention
  (every record ends);
- no message goes to someone who is not, or no longer, a recipient: notices go to
  the people alerted so far (the model resolves the audience as the engine does),
  and a person who left can no longer acknowledge or resolve;
- every recipient of an alert hears how it ended (all-clear, resolved or closed), except
  when a duress answer replaced it by a duress alert to the same people.

The model here plays the engine's part: who is in each audience and who may act.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bot.core import escalation as core
from bot.core.escalation import Audience, Case, Plan, Policy
from bot.core.lifecycle import EMERGENCY_KINDS, Kind, Reach, State

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
#: A short retention, so an acknowledged alert left quiet reaches its end in a run.
RETENTION = timedelta(hours=3)
POLICY = Policy(
    repeat_every=timedelta(minutes=15), repeats=3, ack_timeout=timedelta(hours=2),
    retention=RETENTION,
)  # fmt: skip
LEVEL1 = ("bob", "carol")
LEVEL2 = ("olga",)
IDS = {"bob": 1, "carol": 2, "olga": 3}
NAMES = {v: k for k, v in IDS.items()}
CLOSING_KEYS = {"alert.all_clear", "alert.resolved", "alert.resolved_note", "alert.expired"}


class Escalation(RuleBasedStateMachine):
    """One check-in and the people around it."""

    @initialize(
        kind=st.sampled_from([Kind.SCHEDULED, Kind.TIMER, Kind.SOS, Kind.DURESS]),
        level1=st.booleans(),
        level2=st.booleans(),
    )
    def start(self, kind: Kind, level1: bool, level2: bool) -> None:
        self.now = T0
        self.reach = Reach(level1=level1, level2=level2)
        self.alerted: set[str] = set()  # recipients still in the alert
        self.left: set[str] = set()
        self.heard_end: set[str] = set()
        self.ended_by: str | None = None
        self.kind = kind
        if kind in EMERGENCY_KINDS:
            self.case = Case(kind, State.PENDING, 0, T0)  # replaced by the emergency's plan
            plan = core.on_emergency(kind, T0, self.reach, POLICY)
            self.case = plan.before
            self.apply(plan, actor=None)
        else:
            grace, level2_after = timedelta(minutes=15), timedelta(minutes=30)
            self.case = Case(
                kind, State.PENDING, 0, T0 + timedelta(minutes=30), grace, level2_after
            )

    # -- the model's side of the engine: audiences and who may act --------------------

    def apply(self, plan: Plan, actor: str | None) -> None:
        assert plan.before == self.case, "the conditional update must see the row as decided"
        was_open = self.case.state == State.MISSED
        for notice in plan.notices:
            audience = set(self.alerted)
            if notice.audience == Audience.OTHERS and actor is not None:
                audience.discard(actor)
            assert not audience & self.left, "a notice to someone who left"
            if notice.key in CLOSING_KEYS:
                self.heard_end |= audience
        for raised in plan.raises:
            people = LEVEL1 if raised.level == 1 else LEVEL2
            assert self.reach.level1 if raised.level == 1 else self.reach.level2
            self.alerted |= set(people) - self.left
        self.case = plan.after
        if was_open and not self.case.is_open:
            self.ended_by = plan.action
            if actor is not None:
                self.heard_end.add(actor)  # the person resolving is answered directly

    # -- events ---------------------------------------------------------------------

    @rule(minutes=st.integers(1, 200))
    def tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        for _ in range(50):  # the scheduler ticks until nothing more is due
            plan = core.on_tick(self.case, self.now, self.reach, POLICY)
            if plan is None:
                return
            if self.case.state == State.MISSED and not plan.after.is_open:  # only by time:
                acked = self.case.last_acked_at  # acknowledged once, then quiet for long
                assert plan.action == "checkin.expire" and acked is not None
                assert self.now >= acked + RETENTION
            self.apply(plan, actor=None)
        raise AssertionError("a tick never settles: busy loop")

    @rule(duress=st.booleans())
    def answer(self, duress: bool) -> None:
        plan = core.on_answer(self.case, self.now, POLICY, duress=duress)
        if plan is None:
            return
        if self.case.state == State.MISSED and not plan.after.is_open:
            assert self.case.kind not in EMERGENCY_KINDS, "the phone closed an SOS"
            if duress:
                self.heard_end |= self.alerted  # the duress alert to the same people says it
        self.apply(plan, actor=None)

    @rule(who=st.sampled_from(LEVEL1 + LEVEL2))
    def ack(self, who: str) -> None:
        if who not in self.alerted:
            return  # the engine finds no alert of theirs (never alerted, or left)
        plan = core.on_ack(self.case, IDS[who], self.now, POLICY)
        if plan is not None:
            assert plan.after.acked_by == IDS[who]
            self.apply(plan, actor=who)

    @rule(who=st.sampled_from(LEVEL1 + LEVEL2), note=st.booleans())
    def resolve(self, who: str, note: bool) -> None:
        if who not in self.alerted:
            return
        plan = core.on_resolve(self.case, IDS[who], self.now, with_note=note)
        if plan is not None:
            self.apply(plan, actor=who)

    @rule(who=st.sampled_from(LEVEL1 + LEVEL2))
    def leave(self, who: str) -> None:
        if who not in self.alerted:
            return
        self.alerted.discard(who)
        self.left.add(who)
        plan = core.on_left(self.case, IDS[who], self.now, POLICY)
        if plan is not None:
            assert plan.after.acked_by != IDS[who], "a person who left still holds the alert"
            self.apply(plan, actor=None)

    @precondition(lambda self: self.case.state == State.MISSED)
    @rule(who=st.sampled_from(LEVEL1 + LEVEL2))
    def unreachable(self, who: str) -> None:
        if who not in self.alerted:
            return
        self.alerted.discard(who)
        self.left.add(who)  # never told anything again
        level1_left = any(p in self.alerted for p in LEVEL1)
        plan = core.on_unreachable(
            self.case, self.now, self.reach, POLICY, who=who,
            level1_left=level1_left, anyone_left=bool(self.alerted), person=IDS[who],
        )  # fmt: skip
        if plan is not None:
            if plan.raises:
                assert not level1_left and plan.levels == (2,)
            self.apply(plan, actor=None)

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def open_alert_has_a_next_action(self) -> None:
        if self.case.state == State.MISSED and self.case.level > 0:
            assert self.case.next_action_at is not None
            assert self.case.next_action_at > self.now - timedelta(days=1)
        if self.case.is_open and self.case.state != State.MISSED:
            assert self.case.next_action_at is not None

    @invariant()
    def closed_only_by_an_answer_or_a_resolve(self) -> None:
        if self.ended_by is not None:
            closers = ("checkin.all_clear", "checkin.closed", "checkin.resolve", "checkin.expire")
            assert self.ended_by in closers
            if self.kind in EMERGENCY_KINDS:
                assert self.ended_by in ("checkin.resolve", "checkin.expire")

    @invariant()
    def everyone_alerted_hears_how_it_ended(self) -> None:
        if self.ended_by is not None:
            assert self.alerted <= self.heard_end, (self.alerted, self.heard_end)

    @invariant()
    def acknowledged_by_someone_still_in_the_alert(self) -> None:
        if self.case.state == State.MISSED and self.case.acked_by is not None:
            assert NAMES[self.case.acked_by] in self.alerted


TestEscalation = Escalation.TestCase
TestEscalation.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_the_machine_would_catch_a_phone_closing_an_sos() -> None:
    """Break the rule once: an OK that closes an SOS trips the invariant."""
    sos = core.on_emergency(Kind.SOS, T0, Reach(True, False), POLICY).after
    plan = core.on_answer(sos, T0, POLICY)
    assert plan is not None and plan.after.is_open
    broken = replace(plan, after=replace(plan.after, state=State.RESOLVED))
    machine = Escalation()
    machine.start(kind=Kind.SOS, level1=True, level2=False)
    machine.apply(broken, actor=None)
    try:
        machine.closed_only_by_an_answer_or_a_resolve()
    except AssertionError:
        return
    raise AssertionError("the invariant did not see it")
