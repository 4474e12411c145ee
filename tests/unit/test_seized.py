"""`bot.core.seized`: what a command that lowers protection does while an alert is open."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import LOWERS_PROTECTION
from bot.core.seized import SHOWS_ONLY, Lowering, When, on_lowering, ready

LOWERING = sorted(LOWERS_PROTECTION - SHOWS_ONLY)


@given(st.sampled_from(sorted(LOWERS_PROTECTION)))
def test_without_an_alert_everything_runs_at_once_untold(name: str) -> None:
    assert on_lowering(name, alert_open=False, unsent=False) == Lowering(When.NOW)


@given(st.sampled_from(LOWERING), st.booleans(), st.booleans())
def test_with_an_alert_every_lowering_is_told_and_never_runs_before_delivery(
    name: str, alert_open: bool, unsent: bool
) -> None:
    decision = on_lowering(name, alert_open=alert_open, unsent=unsent)
    if not (alert_open or unsent):
        return
    assert decision.tell
    # it never runs while alert messages still wait
    assert decision.when != When.NOW or not unsent
    assert not ready(decision.when, alert_open=alert_open, unsent=True) or decision.when == When.NOW


def test_forgetme_erases_around_the_alert_and_the_rest_when_it_closes() -> None:
    decision = on_lowering("forgetme", alert_open=True, unsent=False)
    assert decision == Lowering(When.CLOSED, tell=True, erase_now=True)
    assert not ready(When.CLOSED, alert_open=True, unsent=False)
    assert not ready(When.CLOSED, alert_open=False, unsent=True)
    assert ready(When.CLOSED, alert_open=False, unsent=False)


@given(st.sampled_from(sorted(SHOWS_ONLY)), st.booleans(), st.booleans())
def test_showing_commands_are_never_kept_nor_told(
    name: str, alert_open: bool, unsent: bool
) -> None:
    assert on_lowering(name, alert_open=alert_open, unsent=unsent) == Lowering(When.NOW)
