"""SignalTransport driving the real signalbot against a fake signal-cli-rest-api."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from bot.core.model import Address, Attachment, Choice, Incoming, Outgoing, Sender
from bot.transports.base import (
    CaptchaRequired,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
    Transport,
)
from bot.transports.signal import SignalSetupError, SignalTransport
from bot.transports.signal.errors import redact, retry_after
from tests.support.servers.fake_signal import (
    GENERIC,
    IO_FAILURE,
    UNREGISTERED,
    UNTRUSTED_0100,
    UNTRUSTED_MASTER,
    FakeSignal,
    rate_limit_body,
)

ADA = "5b2f3c1e-8d4a-4f6b-9c2d-1e0a7b3c4d5e"
ADA_NUMBER = "+15550001234"
BOB = "9a8b7c6d-5e4f-4a3b-8c2d-1f0e9d8c7b6a"


class Inbox:
    """What the transport hands to the app."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []

    async def __call__(self, incoming: Incoming) -> None:
        self.items.append(incoming)

    async def wait(self, count: int, timeout: float = 3.0) -> list[Incoming]:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                await asyncio.sleep(0.005)
        return self.items


@pytest.fixture
async def fake() -> AsyncIterator[FakeSignal]:
    async with FakeSignal() as server:
        yield server


@pytest.fixture
async def inbox() -> Inbox:
    return Inbox()


def make_transport(fake: FakeSignal, **options: float) -> SignalTransport:
    options = {"reconnect_min": 0.01, "reconnect_max": 0.05, **options}
    return SignalTransport(fake.service, fake.number, **options)  # type: ignore[arg-type]


@pytest.fixture
async def transport(fake: FakeSignal, inbox: Inbox) -> AsyncIterator[SignalTransport]:
    signal = make_transport(fake)
    await signal.start(inbox)
    await fake.wait_connected()
    yield signal
    await signal.stop()


def to(chat_id: str, text: str = "hello", **fields: object) -> Outgoing:
    return Outgoing(to=Address("signal", chat_id), text=text, **fields)  # type: ignore[arg-type]


# ---- receiving ---------------------------------------------------------------------


async def test_is_a_transport_with_numbered_choices_and_no_deep_links(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    assert isinstance(transport, Transport)
    assert (transport.platform, transport.numbered_choices) == ("signal", True)
    assert transport.deep_link("CODE") is None
    assert transport.connected and fake.connections == 1
    assert ("GET", f"/v1/groups/{fake.number}") in fake.requests  # the account check


async def test_private_message_becomes_incoming(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    ts = await fake.push_message(ADA, "/checkin daily 09:00", source_number=ADA_NUMBER, name="Ada")
    [incoming] = await inbox.wait(1)
    assert incoming == Incoming(
        sender=Sender("signal", ADA, "Ada"),
        chat=Address("signal", ADA),
        is_private=True,
        text="/checkin daily 09:00",
        dedupe_key=f"{ADA}:{ts}",
    )


async def test_sender_without_uuid_is_known_by_number(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    await fake.push_message(None, "ok", source_number=ADA_NUMBER)
    [incoming] = await inbox.wait(1)
    assert incoming.sender.user_id == ADA_NUMBER
    assert incoming.chat == Address("signal", ADA_NUMBER)


async def test_group_commands_reach_the_bot_and_chatter_does_not(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    group = fake.add_group("Team")
    await fake.push_message(ADA, "see you all at 6", group_id=group)
    await fake.push_message(ADA, "acknowledged, thanks", group_id=group)
    await fake.push_message(ADA, None, group_id=group, attachments=["image/jpeg"])
    await fake.push_message(ADA, "/group_alerts Team", group_id=group)
    await fake.push_message(BOB, "ACK 12", group_id=group)
    await fake.push_message(BOB, "\ufffc /ack", group_id=group)  # "@Holdfast /ack"
    first, second, third = await inbox.wait(3)
    await asyncio.sleep(0.05)
    assert len(inbox.items) == 3
    assert first.text == "/group_alerts Team"
    assert first.is_private is False
    assert first.chat == Address("signal", group)
    assert first.sender == Sender("signal", ADA, "Ada")
    assert (second.text, second.sender.user_id) == ("ACK 12", BOB)
    assert third.text == "/ack"


async def test_receipts_typing_reactions_and_own_messages_are_ignored(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    await fake.push_receipt(ADA, [1, 2])
    await fake.push_typing(ADA)
    await fake.push_reaction(ADA, 1)
    await fake.push_sync_sent(ADA, "a message the bot's account sent elsewhere")
    await fake.push_message(None, "note to self", source_number=fake.number)
    await fake.push_raw('{"error": "Couldn\'t decrypt message from +15550009999"}')
    await fake.push_raw("not json")
    await fake.push_message(None, None, source_number=ADA_NUMBER)  # e.g. a timer change
    await fake.push_message(ADA, "ok")
    [incoming] = await inbox.wait(1)
    await asyncio.sleep(0.05)
    assert [i.text for i in inbox.items] == ["ok"]
    assert fake.dropped == 0


async def test_edits_are_marked_and_attachments_have_no_text(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    await fake.push_message(ADA, "ok 4", edit=True)
    await fake.push_message(ADA, None, attachments=["image/jpeg"])
    await fake.push_message(ADA, None, sticker=True)
    await fake.push_message(ADA, "a caption", attachments=["image/png"])
    edited, photo, sticker, captioned = await inbox.wait(4)
    assert (edited.edited, edited.text, edited.has_text) == (True, "ok 4", True)
    assert (photo.has_text, photo.text, photo.edited) == (False, "", False)
    assert sticker.has_text is False
    assert (captioned.has_text, captioned.text) == (True, "a caption")


async def test_a_photo_captioned_ok_a_quoted_picture_and_a_voice_note_check_in(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    # signal-cli's attachments carry no isVoiceNote, which signalbot 2.2.1 requires.
    await fake.push_message(ADA, "ok", attachments=["image/jpeg"])
    await fake.push_message(ADA, "ok 4", quoted_image=True)
    await fake.push_message(ADA, None, attachments=["audio/aac"])
    photo, quote, voice = await inbox.wait(3)
    assert (photo.text, photo.has_text) == ("ok", True)
    assert (quote.text, quote.has_text) == ("ok 4", True)
    assert (voice.text, voice.has_text) == ("", False)
    assert "signal.media_dropped" not in _actions(caplog)  # read whole, not by the fallback


async def test_a_frame_with_null_fields_parses(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    envelope = {
        "source": ADA,
        "sourceNumber": None,  # a hidden number
        "sourceUuid": ADA,
        "sourceName": None,
        "sourceDevice": 1,
        "timestamp": 1700000000000,
        "serverReceivedTimestamp": 1700000000005,
        "serverDeliveredTimestamp": 1700000000009,
        "dataMessage": {
            "timestamp": 1700000000000,
            "message": "ok",
            "expiresInSeconds": 0,
            "viewOnce": False,
            "mentions": None,
            "attachments": None,
            "quote": None,
            "groupInfo": None,
        },
    }
    await fake.push_envelope(envelope)
    [incoming] = await inbox.wait(1)
    assert (incoming.text, incoming.sender) == ("ok", Sender("signal", ADA, ""))


async def test_text_is_kept_when_an_attachment_cannot_be_read(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    ts = fake.next_timestamp()
    envelope = fake._envelope(ADA, None, "Ada", ts)
    envelope["dataMessage"] = {
        "timestamp": ts,
        "message": "ok",
        "attachments": [{"contentType": "image/jpeg", "id": "x", "size": "not a number"}],
    }
    await fake.push_envelope(envelope)
    [incoming] = await inbox.wait(1)
    assert (incoming.text, incoming.has_text) == ("ok", True)
    assert "signal.media_dropped" in _actions(caplog)


async def test_the_socket_is_read_while_a_message_is_being_handled(fake: FakeSignal) -> None:
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(incoming: Incoming) -> None:
        await release.wait()
        handled.append(incoming.text)

    signal = make_transport(fake)
    await signal.start(slow)
    try:
        await fake.wait_connected()
        for text in ("one", "two", "three"):
            await fake.push_message(ADA, text)
        # The first is in the handler; the others were read off the socket anyway.
        await fake.wait_for(lambda: signal.backlog == 2)
        release.set()
        await fake.wait_for(lambda: len(handled) == 3)
        assert handled == ["one", "two", "three"] and signal.backlog == 0
    finally:
        await signal.stop()


async def test_a_failing_app_handler_is_retried(fake: FakeSignal) -> None:
    calls: list[Incoming] = []

    async def flaky(incoming: Incoming) -> None:
        calls.append(incoming)
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    signal = make_transport(fake)
    await signal.start(flaky)
    try:
        await fake.wait_connected()
        await fake.push_message(ADA, "sos")
        await fake.wait_for(lambda: len(calls) == 2)
        assert calls[0] == calls[1]  # same dedupe_key: the app handles it once
    finally:
        await signal.stop()


# ---- sending -----------------------------------------------------------------------


async def test_choices_are_numbered_and_sent_to_the_uuid(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    out = to(ADA, "Are you safe?", choices=((Choice("OK", "/ok"), Choice("Help", "/sos")),))
    delivered = await transport.send(out)
    assert fake.messages_to(ADA) == ["Are you safe?\n\n1. OK\n2. Help"]
    [sent] = fake.sent
    assert sent.recipients == [ADA]
    assert sent.payload["number"] == fake.number
    assert delivered.message_id == str(sent.timestamp)


async def test_sends_to_a_group_and_to_a_number(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    group = fake.add_group("Team")
    await transport.send(to(group, "Alert: Ada missed a check-in"))
    await transport.send(to(ADA_NUMBER, "hi"))
    assert fake.messages_to(group) == ["Alert: Ada missed a check-in"]
    assert fake.messages_to(ADA_NUMBER) == ["hi"]


async def test_older_send_answer_shape_is_understood(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    fake.legacy_send_answer = True
    delivered = await transport.send(to(ADA))
    assert delivered.message_id == str(fake.sent[0].timestamp)


async def test_attachment_travels_as_base64(transport: SignalTransport, fake: FakeSignal) -> None:
    chart = Attachment("well being.png", "image/png", b"\x89PNG\r\n\x1a\nchart")
    await transport.send(to(ADA, "Your last 30 days", attachment=chart))
    [sent] = fake.sent
    [uri] = sent.base64_attachments
    head, _, data = uri.partition(",")
    assert head == "data:image/png;filename=well_being.png;base64"
    assert base64.b64decode(data) == chart.data
    assert sent.message == "Your last 30 days"


async def test_bad_recipient_is_refused_without_a_request(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    with pytest.raises(PermanentDeliveryError):
        await transport.send(to("0049 170 1234"))
    assert ("POST", "/v2/send") not in fake.requests


async def test_send_before_start_is_transient(fake: FakeSignal) -> None:
    with pytest.raises(TransientDeliveryError):
        await make_transport(fake).send(to(ADA))


# ---- send errors -------------------------------------------------------------------


async def test_500_is_transient(transport: SignalTransport, fake: FakeSignal) -> None:
    fake.fail_next_send(500)
    with pytest.raises(TransientDeliveryError) as caught:
        await transport.send(to(ADA))
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.__cause__ is not None
    await transport.send(to(ADA))  # the next attempt goes through
    assert fake.messages_to(ADA) == ["hello"]


async def test_429_without_retry_after_backs_off_from_a_minute_doubling(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    # The real 429 has no Retry-After header and a token-less challenge list.
    fake.fail_next_send(429, count=3)
    waits = []
    for _ in range(3):
        with pytest.raises(RateLimited) as caught:
            await transport.send(to(ADA))
        assert not isinstance(caught.value, CaptchaRequired)
        waits.append(caught.value.retry_after)
    assert waits == [60.0, 120.0, 240.0]
    await transport.send(to(ADA))  # a success ends the streak
    fake.fail_next_send(429, headers={"Retry-After": "7"})  # a header, if ever sent, wins
    fake.fail_next_send(429)
    with pytest.raises(RateLimited) as header:
        await transport.send(to(ADA))
    with pytest.raises(RateLimited) as after:
        await transport.send(to(ADA))
    assert (header.value.retry_after, after.value.retry_after) == (7.0, 120.0)
    assert fake.messages_to(ADA) == ["hello"]


async def test_captcha_challenge_carries_the_command_that_lifts_it(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    token = "5bd2b1d8-4f2a-4c57-a0a3-challenge"
    fake.fail_next_send(429, body=rate_limit_body(fake.number, token))
    with pytest.raises(CaptchaRequired) as caught:
        await transport.send(to(ADA))
    assert caught.value.token == token and caught.value.retry_after == 60.0
    line = caught.value.command
    assert f"{fake.service}/v1/accounts/" in line and "/rate-limit-challenge" in line
    assert f'"challenge_token": "{token}"' in line and "signalcaptcha://" in line
    assert fake.number not in line and "\n" not in line


async def test_generic_failure_is_retried_and_delivered_once_the_service_recovers(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    # Signal's servers unreachable: signal-cli's bare "Failed to send message".
    fake.fail_next_send(400, body={"error": GENERIC})
    fake.fail_next_send(400, body={"error": IO_FAILURE})
    for _ in range(2):
        with pytest.raises(TransientDeliveryError) as caught:
            await transport.send(to(ADA))
        assert not isinstance(caught.value, RateLimited)
    assert ("GET", f"/v1/identities/{fake.number}") in fake.requests  # asked before deciding
    await transport.send(to(ADA))
    assert fake.messages_to(ADA) == ["hello"]


async def test_generic_failure_is_unreachable_only_when_the_service_says_so(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    fake.unregistered.add(ADA_NUMBER)
    fake.fail_next_send(400, count=4)  # the generic text
    with pytest.raises(RecipientUnreachable) as unregistered:
        await transport.send(to(ADA_NUMBER))
    assert "not registered" in str(unregistered.value)
    assert ADA_NUMBER not in str(unregistered.value)
    fake.identities[ADA] = "UNTRUSTED"
    with pytest.raises(RecipientUnreachable) as untrusted:
        await transport.send(to(ADA))
    assert "safety number changed" in str(untrusted.value)
    fake.lookups_fail = True  # the look-ups cannot reach Signal either: retry
    with pytest.raises(TransientDeliveryError) as unknown:
        await transport.send(to(ADA_NUMBER))
    assert not isinstance(unknown.value, PermanentDeliveryError)
    fake.lookups_fail = False
    with pytest.raises(TransientDeliveryError):  # registered, trusted: a network failure
        await transport.send(to(BOB))


async def test_unregistered_recipient_is_unreachable(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    fake.fail_next_send(400, body={"error": UNREGISTERED.format(recipient=ADA_NUMBER)})
    with pytest.raises(RecipientUnreachable) as caught:
        await transport.send(to(ADA_NUMBER))
    assert "not registered" in str(caught.value)
    assert ADA_NUMBER not in str(caught.value)


@pytest.mark.parametrize("wording", [UNTRUSTED_0100, UNTRUSTED_MASTER])
async def test_changed_safety_number_is_unreachable_and_not_trusted(
    transport: SignalTransport, fake: FakeSignal, wording: str
) -> None:
    fake.fail_next_send(400, body={"error": wording})
    with pytest.raises(RecipientUnreachable) as caught:
        await transport.send(to(ADA))
    assert "safety number changed" in str(caught.value)
    assert [m for m, path in fake.requests if "identities" in path and m != "GET"] == []


async def test_recipient_failure_inside_a_201_is_reported(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    body = [
        {
            "timestamp": "1",
            "errors": {
                "recipients": [{"uuid": ADA, "reason": "UnregisteredFailure: not registered"}]
            },
        }
    ]
    fake.fail_next_send(201, body=body)
    with pytest.raises(RecipientUnreachable):
        await transport.send(to(ADA))


async def test_other_400_is_permanent(transport: SignalTransport, fake: FakeSignal) -> None:
    # REST's own request validation (api.go), e.g. a malformed attachment.
    fake.fail_next_send(400, body={"error": "Couldn't process request - invalid request"})
    with pytest.raises(PermanentDeliveryError) as caught:
        await transport.send(to(ADA))
    assert not isinstance(caught.value, RecipientUnreachable)


async def test_a_group_the_bot_left_is_unreachable(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    with pytest.raises(RecipientUnreachable):
        await transport.send(to("group.bm90IGEgZ3JvdXA="))


async def test_time_out_at_send_is_transient(fake: FakeSignal, inbox: Inbox) -> None:
    signal = make_transport(fake, send_timeout=0.1)
    await signal.start(inbox)
    try:
        fake.hang_next_send(0.3)
        with pytest.raises(TransientDeliveryError):
            await signal.send(to(ADA))
    finally:
        await signal.stop()


async def test_service_down_at_send_is_transient(fake: FakeSignal, inbox: Inbox) -> None:
    signal = make_transport(fake)
    await signal.start(inbox)
    try:
        await fake.stop()
        with pytest.raises(TransientDeliveryError) as caught:
            await signal.send(to(ADA))
        assert fake.service in str(caught.value)
    finally:
        await signal.stop()


# ---- the receive connection --------------------------------------------------------


async def test_reconnects_after_an_abrupt_cut(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    fake.cut_websocket()
    await fake.wait_connected(2)
    assert fake.connections == 2
    await fake.push_message(ADA, "ok")
    [incoming] = await inbox.wait(1)
    assert incoming.text == "ok"


async def test_reconnects_after_a_clean_close(
    transport: SignalTransport, fake: FakeSignal, inbox: Inbox
) -> None:
    await fake.close_websocket()
    await fake.wait_connected(2)
    assert fake.connections == 2
    await fake.push_message(ADA, "ok")
    await inbox.wait(1)
    assert transport.connected


async def test_a_silent_peer_is_found_by_the_heartbeat(fake: FakeSignal, inbox: Inbox) -> None:
    fake.answer_pings = False
    signal = make_transport(fake, heartbeat=0.05)
    await signal.start(inbox)
    try:
        await fake.wait_for(lambda: fake.connections >= 2)
        fake.answer_pings = True
        await fake.wait_connected(3)
        await asyncio.sleep(0.2)  # several heartbeats answered: no more reconnects
        connections = fake.connections
        await fake.push_message(ADA, "ok")
        await inbox.wait(1)
        assert fake.connections == connections
    finally:
        await signal.stop()


async def test_long_disconnection_is_an_error_once_and_recovery_is_logged(
    fake: FakeSignal, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.transports.signal")
    signal = make_transport(fake, long_disconnect=0.05)
    await signal.start(inbox)
    try:
        fake.refuse_websockets = True
        fake.cut_websocket()
        await fake.wait_for(lambda: _actions(caplog).count("signal.disconnected") == 1)
        await asyncio.sleep(0.1)  # more failed attempts, still one error
        fake.refuse_websockets = False
        await fake.wait_connected(2)
        await fake.wait_for(lambda: "signal.reconnected" in _actions(caplog))
    finally:
        await signal.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [getattr(r, "action", None) for r in errors] == ["signal.disconnected"]
    assert fake.dropped == 0


def _actions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [getattr(r, "action", "") for r in caplog.records]


# ---- start-up and shutdown ---------------------------------------------------------


async def test_normal_mode_is_refused_with_the_fix(inbox: Inbox) -> None:
    async with FakeSignal(mode="normal") as fake:
        signal = make_transport(fake)
        with pytest.raises(SignalSetupError) as caught:
            await signal.start(inbox)
        assert fake.connections == 0
    message = str(caught.value)
    assert "signal.service" in message and "MODE=json-rpc" in message


async def test_a_too_old_service_is_refused_naming_the_supported_versions(inbox: Inbox) -> None:
    async with FakeSignal(version="0.100") as fake:  # the newest tag signalbot refuses
        with pytest.raises(SignalSetupError) as caught:
            await make_transport(fake).start(inbox)
        assert fake.connections == 0
    message = str(caught.value)
    assert "0.100" in message and "0.101.0 or newer" in message and "checked against" in message


@pytest.mark.parametrize(
    ("version", "level", "action"),
    [
        ("0.101", logging.INFO, "signal.version_ok"),
        ("0.102", logging.WARNING, "signal.version_unchecked"),
        ("unset", logging.WARNING, "signal.version_unknown"),
    ],
)
async def test_start_up_says_which_versions_are_supported(
    inbox: Inbox, caplog: pytest.LogCaptureFixture, version: str, level: int, action: str
) -> None:
    caplog.set_level(logging.INFO, logger="bot.transports.signal")
    async with FakeSignal(version=version) as fake:
        signal = make_transport(fake)
        await signal.start(inbox)
        await signal.stop()
    [said] = [r for r in caplog.records if getattr(r, "action", "").startswith("signal.version")]
    assert (said.levelno, said.action) == (level, action)  # type: ignore[attr-defined]
    assert "0.101.0 or newer is supported" in said.getMessage()


async def test_nothing_listening_is_a_clear_error(inbox: Inbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    signal = SignalTransport(f"127.0.0.1:{port}", "+15550000001")
    with pytest.raises(SignalSetupError) as caught:
        await signal.start(inbox)
    message = str(caught.value)
    assert "signal.service" in message and f"http://127.0.0.1:{port}" in message


async def test_unknown_account_names_the_phone_number_key(fake: FakeSignal, inbox: Inbox) -> None:
    signal = SignalTransport(fake.service, "+15550009999")
    with pytest.raises(SignalSetupError) as caught:
        await signal.start(inbox)
    assert "signal.phone_number" in str(caught.value)
    assert "+15550009999" not in str(caught.value)


def test_bad_settings_name_their_keys() -> None:
    with pytest.raises(SignalSetupError, match="signal.service"):
        SignalTransport("", "+15550000001")
    with pytest.raises(SignalSetupError, match="signal.phone_number"):
        SignalTransport("signal-cli:8080", "015550000001")


async def test_stop_twice_leaves_no_tasks(fake: FakeSignal, inbox: Inbox) -> None:
    signal = make_transport(fake)
    await signal.start(inbox)
    await fake.wait_connected()
    await signal.stop()
    await signal.stop()
    assert not signal.connected

    def others() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    # The fake's handler for the closed websocket ends a moment later; ours never would.
    await fake.wait_for(lambda: others() == [], timeout=1.0)
    with pytest.raises(TransientDeliveryError):
        await signal.send(to(ADA))


async def test_stop_lets_the_message_in_hand_finish(fake: FakeSignal) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow(incoming: Incoming) -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.set()

    signal = make_transport(fake)
    await signal.start(slow)
    await fake.wait_connected()
    await fake.push_message(ADA, "ok")
    await started.wait()
    await signal.stop()
    assert finished.is_set()


# ---- privacy -----------------------------------------------------------------------


async def test_logs_at_info_hold_no_number_and_no_text(
    fake: FakeSignal, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = "meet me at the old bridge"
    signal = make_transport(fake)
    await signal.start(inbox)
    try:
        await fake.wait_connected()
        await fake.push_message(ADA, secret, source_number=ADA_NUMBER, name="Ada Lovelace")
        await inbox.wait(1)
        await signal.send(to(ADA_NUMBER, secret))
        fake.fail_next_send(400, body={"error": UNREGISTERED.format(recipient=ADA_NUMBER)})
        with pytest.raises(RecipientUnreachable):
            await signal.send(to(ADA_NUMBER, secret))
        fake.cut_websocket()
        await fake.wait_connected(2)
    finally:
        await signal.stop()
    assert caplog.records  # the transport did log
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        for private in (fake.number, ADA_NUMBER, secret, "Lovelace"):
            assert private not in text, (private, record.getMessage())


def test_retry_after_reads_seconds_and_http_dates() -> None:
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    now = email.utils.parsedate_to_datetime(date).timestamp() - 10
    assert retry_after({"Retry-After": "12"}) == 12.0
    assert retry_after({"Retry-After": date}, now=now) == 10.0
    assert retry_after({"Retry-After": "soon"}) is retry_after({}) is None  # the backoff decides


def test_redact_removes_every_phone_number() -> None:
    text = 'Unregistered user "+4915112345678" (account +15550000001)'
    assert redact(text, "+15550000001") == 'Unregistered user "<number>" (account <number>)'


# ---- group membership (a silent alert is never posted where the defender reads) -----


async def test_group_membership_from_the_member_list(
    transport: SignalTransport, fake: FakeSignal
) -> None:
    """`GET /v1/groups/{number}/{id}`'s `members` says who is in a group (issue 10)."""
    by_number = fake.add_group("Team", members=[ADA_NUMBER])
    by_uuid = fake.add_group("Uuids", members=[BOB])
    assert await transport.is_member(by_number, ADA_NUMBER) is True
    assert await transport.is_member(by_uuid, BOB) is True
    assert await transport.is_member(by_uuid, ADA) is False  # UUIDs compared with UUIDs
    # a UUID cannot be told apart from numbers it is not shown with: unknown (fail safe)
    assert await transport.is_member(by_number, ADA) is None
    assert await transport.is_member("group.bm90LWEtZ3JvdXA=", ADA) is None  # not found
    assert ("GET", f"/v1/groups/{fake.number}/{by_number}") in fake.requests
