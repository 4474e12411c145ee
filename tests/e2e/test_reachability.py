"""Reachability proven, and kept proven: contacts are asked again; silence makes them stale.

Console harness, fake clock: what each person receives over five weeks.
"""

from __future__ import annotations

from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, has

ASK = "Can you still act for Ana if they miss a check-in?"


async def test_a_contact_who_does_not_answer_goes_stale_and_the_defender_is_warned(
    db_url: str, clock: FakeClock
) -> None:
    async with Harness(db_url, clock) as h:
        await contact_link(h, "ana", "ben")
        assert has(await h.say("ana", "/status"), "Trusted contacts: 1 confirmed, 0 not answering.")
        h.clear()

        await h.advance(days=29, hours=23)
        assert h.new_for("ben") == []  # not yet 30 days
        await h.advance(hours=1)
        [question] = h.new_for("ben")
        assert question.startswith(ASK)
        assert question.endswith("1. Yes\n2. No, remove me")
        assert h.new_for("ana") == []  # the defender is not told that a question went out

        await h.advance(days=6, hours=23)
        assert h.new_for("ana") == [] and h.new_for("ben") == []
        await h.advance(hours=1)  # seven days without an answer
        [warning] = h.new_for("ana")
        assert warning.startswith("None of your trusted contacts has confirmed lately.")
        assert "Ben" not in warning  # counts, never names
        assert h.new_for("ben") == []
        assert has(await h.say("ana", "/status"), "Trusted contacts: 0 confirmed, 1 not answering.")
        assert has(await h.say("ana", "/contacts"), "0 confirmed, 1 not answering")

        await h.advance(days=3)
        assert h.new_for("ana") == [] and h.new_for("ben") == []  # warned once, asked once

        late = await h.say("ben", "/contact_confirm 1")  # the numbered choices expired
        assert has(late, "You stay a trusted contact of Ana.")
        assert has(await h.say("ana", "/status"), "Trusted contacts: 1 confirmed, 0 not answering.")


async def test_a_contact_who_answers_yes_stays_confirmed_and_is_asked_again_later(
    db_url: str, clock: FakeClock
) -> None:
    async with Harness(db_url, clock) as h:
        await contact_link(h, "ana", "ben")
        await contact_link(h, "ana", "cy")
        h.clear()
        await h.advance(days=30)
        assert has(h.new_for("ben"), ASK) and has(h.new_for("cy"), ASK)
        assert has(await h.say("ben", "1"), "You stay a trusted contact of Ana.")
        await h.advance(days=7)  # cy stays silent; ben answered: one confirmed left
        assert h.new_for("ana") == []  # no warning while someone is confirmed
        assert has(await h.say("ana", "/status"), "Trusted contacts: 1 confirmed, 1 not answering.")
        await h.advance(days=23)
        assert has(h.new_for("ben"), ASK)  # thirty days after his answer
        assert h.new_for("cy") == []  # a stale contact is not asked again until they answer


async def test_no_remove_me_ends_the_link(db_url: str, clock: FakeClock) -> None:
    async with Harness(db_url, clock) as h:
        await contact_link(h, "ana", "ben")
        h.clear()
        await h.advance(days=30)
        assert has(h.new_for("ben"), ASK)
        assert has(await h.say("ben", "2"), "The link with Ana has ended.")
        # Ana's chat names Ben by the label she chose (none: "contact 1"), issue 10
        assert has(h.new_for("ana"), "Your trusted-contact link with contact 1 has ended.")
