"""SignalTransport: Holdfast on Signal, through signal-cli-rest-api in json-rpc mode.

How signalbot 2.2.1 is used, and why not its `SignalBot` class:

- `SignalBot` cannot be driven inside our event loop without owning it or
  reaching into its internals: `start(run_forever=False)` runs its start-up checks
  in a background task wrapped in `rerun_on_exception`, so a wrong mode or a
  refused connection is retried forever instead of raised; `SignalBot.stop()`
  calls `loop.stop()` on the loop it found (ours); its producer stops for good
  after a clean websocket close; its consumer is an `except Exception: continue`
  loop; and it logs raw envelopes and sent texts at INFO.
- So the transport uses signalbot's client and message classes directly:
  `SignalAPI` (imported from `signalbot._client`, the type that the public
  `parse()` takes) for the start-up calls `SignalBot` makes (health, about,
  groups), the public `parse()` for envelopes, and the public `SendMessage`
  to build the exact `/v2/send` payload signalbot would send. No scheduler is
  created.
- The receive websocket and the `/v2/send` POST go through our own aiohttp
  session: signalbot's `receive()` hides the handshake and the clean-close case
  (see `receiver.py`), and its `_request` calls `raise_for_status()`, which throws
  the JSON error body away, and with it the only text that tells "Unregistered
  user" from "Untrusted Identity" from a bad request (see `errors.py`).

While the database is away, received frames are kept in order in a local spool
file (`spool.py`) and replayed once it is back: signal-cli keeps nothing, so a
frame the app cannot record now would otherwise be lost.

A changed safety number is never trusted automatically: it may mean the
recipient's phone was seized. The send fails with `RecipientUnreachable`, and an
operator verifies the new number with the person.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import uuid
from pathlib import Path

import aiohttp
from signalbot import SendMessage
from signalbot._client import SignalAPI

from bot.core.model import Attachment, Delivered, Incoming, Outgoing
from bot.transports.base import (
    DeliveryError,
    OnIncoming,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    StoreUnavailable,
    TransientDeliveryError,
    render_numbered,
)
from bot.transports.signal import errors
from bot.transports.signal.errors import SignalSetupError
from bot.transports.signal.receive import (
    DEFAULT_GROUP_COMMANDS,
    ReceiveErrorFrame,
    to_incoming,
)
from bot.transports.signal.receiver import CONNECT_ERRORS, Receiver
from bot.transports.signal.service import (
    NUMBER_KEY,
    SERVICE_KEY,
    ServiceAddress,
    check_service,
    describe,
)
from bot.transports.signal.spool import Spool

log = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9]\d{5,14}")
_JSON_HEADERS = {"Content-Type": "application/json"}
_INCOMING_ATTEMPTS = 3


class SignalTransport:
    """The Signal platform: receive over a watched websocket, send with `/v2/send`.

    Attributes:
        platform: "signal".
        numbered_choices: True; Signal has no buttons, choices are numbered.
    """

    platform = "signal"
    numbered_choices = True

    def __init__(
        self,
        service: str,
        phone_number: str,
        *,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
        long_disconnect: float = 60.0,
        group_commands: frozenset[str] = DEFAULT_GROUP_COMMANDS,
        send_timeout: float = 30.0,
        heartbeat: float = 20.0,
        stop_grace: float = 5.0,
        spool: str | Path | None = None,
    ) -> None:
        self._address = ServiceAddress.parse(service)
        self._number = phone_number.strip()
        if not _E164.fullmatch(self._number):
            raise SignalSetupError(
                f"{NUMBER_KEY}: expected the bot's number in international format, "
                "like +15550000001"
            )
        if not 0 < reconnect_min <= reconnect_max:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")
        self._reconnect = (reconnect_min, reconnect_max, long_disconnect)
        self._group_commands = group_commands
        self._send_timeout = send_timeout
        self._heartbeat = heartbeat
        self._stop_grace = stop_grace
        self._on_incoming: OnIncoming | None = None
        self._session: aiohttp.ClientSession | None = None
        self._api: SignalAPI | None = None
        self._receiver: Receiver | None = None
        self._started = False
        self._stopped = False
        self._rate_limit_strikes = 0  # 429s in a row; the next wait doubles with each
        #: frames received while the database was away, replayed in order (`spool.py`)
        self._spool = Spool(spool)
        self._replay: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """True while running and the receive websocket (when this process receives) is open."""
        if not self._started or self._stopped:
            return False
        return self._receiver is None or self._receiver.connected

    @property
    def backlog(self) -> int:
        """Messages received and waiting for the app (the socket is read meanwhile)."""
        return self._receiver.backlog if self._receiver is not None else 0

    def deep_link(self, payload: str) -> None:
        """Signal has no deep links: invites travel as codes ("accept CODE")."""
        return None

    async def start(self, on_incoming: OnIncoming, *, receive: bool = True) -> None:
        """Check the service, open the receive websocket; return once receiving.

        With `receive=False` it only sends (a worker process, or an ingest standby:
        signal-cli has one receive socket) until `start_receiving`.

        Raises:
            SignalSetupError: naming `signal.service` or `signal.phone_number`.
            RuntimeError: the transport was started before.
        """
        if self._started:
            raise RuntimeError("a SignalTransport can be started once")
        self._started = True
        self._on_incoming = on_incoming
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._send_timeout)
        )
        self._api = SignalAPI(
            self._address.host,
            self._number,
            download_attachments=False,
            connection_mode=self._address.mode,
        )
        try:
            await check_service(self._api, self._address, self._send_timeout)
            if receive:
                await self._open_receiver()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "Signal transport started", extra={"action": "signal.started", "receiving": receive}
        )

    async def start_receiving(self) -> None:
        """Open the receive websocket (this process holds the Signal ingest lease)."""
        if self._receiver is None and self._session is not None and not self._stopped:
            await self._open_receiver()

    async def stop_receiving(self) -> None:
        """Close the receive websocket (another process took the lease); sending goes on."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.close(self._stop_grace)
        await self._stop_replay()

    async def _stop_replay(self) -> None:
        """Stop replaying the spool; what is left stays in the file for the next start."""
        replay, self._replay = self._replay, None
        if replay is not None:
            replay.cancel()
            await asyncio.gather(replay, return_exceptions=True)

    async def _open_receiver(self) -> None:
        assert self._session is not None
        minimum, maximum, long_disconnect = self._reconnect
        self._receiver = Receiver(
            self._session,
            self._address.ws_url(f"/v1/receive/{self._number}"),
            self._on_frame,
            reconnect_min=minimum,
            reconnect_max=maximum,
            long_disconnect=long_disconnect,
            heartbeat=self._heartbeat,
        )
        if len(self._spool):  # kept by an earlier run while the database was away
            self._start_replay()
        try:
            await self._receiver.open()
        except CONNECT_ERRORS as exc:
            # `from None`: the cause's text holds the /v1/receive/<number> URL.
            raise SignalSetupError(
                f"{SERVICE_KEY}: cannot open the receive websocket of signal-cli-rest-api "
                f"at {self._address.ws_url('/v1/receive/')}… ({describe(exc)})"
            ) from None

    async def stop(self) -> None:
        """Stop receiving (letting a message in hand finish) and close everything. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._receiver is not None:
            await self._receiver.close(self._stop_grace)
        await self._stop_replay()
        if self._session is not None:
            await self._session.close()
        if self._api is not None:
            await self._api.close()
        log.info("Signal transport stopped", extra={"action": "signal.stopped"})

    async def send(self, out: Outgoing) -> Delivered:
        """Send text (choices numbered) and an optional attachment to a person or group.

        Raises:
            CaptchaRequired: HTTP 429 with a challenge token; it carries the command
                that lifts the limit (the outbox tells the operators).
            RateLimited: HTTP 429 (from a minute, doubling while 429s continue).
            TransientDeliveryError: 5xx, connection refused or reset, time-out, or
                signal-cli's "Failed to send message" that the service's look-ups
                cannot pin on the recipient.
            RecipientUnreachable: not on Signal, their safety number changed, or a
                group the bot is no longer in.
            PermanentDeliveryError: any other refusal (a bad request).
        """
        session = self._session
        if session is None or session.closed or self._stopped:
            raise TransientDeliveryError("the Signal transport is not running")
        recipient = out.to.chat_id
        _check_recipient(recipient)
        payload = await self._payload(out, recipient)
        try:
            body = await self._post(session, payload, recipient)
        except errors.Unclear as exc:
            raise await self._probe(session, recipient, exc) from exc
        except RateLimited:
            self._rate_limit_strikes += 1
            raise
        self._rate_limit_strikes = 0
        return self._delivered(body, recipient)

    async def is_member(self, chat_id: str, user_id: str) -> bool | None:
        """Whether a person (UUID or number) is in a group now: its `members` list.

        signal-cli-rest-api's `GET /v1/groups/{number}/{group_id}` answers the group
        with `members` (numbers, or UUIDs for members whose number the bot cannot
        see). None when it cannot be told: the group is not found, or the person is
        known by UUID and the list holds numbers it cannot be compared with.
        Network trouble and 5xx raise `TransientDeliveryError` (try again later).
        """
        session = self._session
        if session is None or session.closed or self._stopped:
            raise TransientDeliveryError("the Signal transport is not running")
        url = self._address.http_url(f"/v1/groups/{self._number}/{chat_id}")
        try:
            async with session.get(url) as response:
                if response.status >= 500:
                    raise TransientDeliveryError(f"group look-up failed ({response.status})")
                if response.status != 200:
                    return None
                group = await response.json(content_type=None)
        except CONNECT_ERRORS as exc:
            raise TransientDeliveryError(
                f"cannot reach signal-cli-rest-api at {self._address.http_url()} ({describe(exc)})"
            ) from exc
        except ValueError:
            return None
        members = group.get("members") if isinstance(group, dict) else None
        if not isinstance(members, list):
            return None
        listed = {str(m) for m in members if m != self._number}
        if user_id in listed:
            return True
        by_number = _E164.fullmatch(user_id) is not None
        if any((_E164.fullmatch(m) is not None) != by_number for m in listed):
            return None  # a UUID cannot be told apart from a number it is not shown with
        return False

    async def set_disappearing(self, recipient: str, seconds: int) -> bool:
        """Set a private chat's disappearing-message timer (`/cleanup`).

        signal-cli-rest-api `PUT /v1/contacts/{number}` with `recipient` and
        `expiration_in_seconds` (signal-cli `updateContact -e`), answered 204. In
        json-rpc mode a 0 is dropped (`omitempty`), so the timer cannot be switched
        off this way: the person does it in the app. False on a 4xx; network trouble
        and 5xx raise `TransientDeliveryError`.
        """
        session = self._session
        if session is None or session.closed or self._stopped:
            raise TransientDeliveryError("the Signal transport is not running")
        url = self._address.http_url(f"/v1/contacts/{self._number}")
        body = {"recipient": recipient, "expiration_in_seconds": seconds}
        try:
            async with session.put(url, json=body) as response:
                if response.status >= 500:
                    raise TransientDeliveryError(f"contact update failed ({response.status})")
                return response.status < 300
        except CONNECT_ERRORS as exc:
            raise TransientDeliveryError(
                f"cannot reach signal-cli-rest-api at {self._address.http_url()} ({describe(exc)})"
            ) from exc

    async def _post(self, session: aiohttp.ClientSession, payload: str, recipient: str) -> str:
        """POST `/v2/send`; the answer's body, or the `DeliveryError` its status means."""
        try:
            async with session.post(
                self._address.http_url("/v2/send"), data=payload, headers=_JSON_HEADERS
            ) as response:
                body = await response.text()
                try:
                    response.raise_for_status()
                except aiohttp.ClientResponseError as exc:
                    raise errors.for_status(
                        exc.status,
                        response.headers,
                        body,
                        self._number,
                        recipient,
                        service_url=self._address.http_url(),
                        rate_limit_strikes=self._rate_limit_strikes,
                    ) from exc
        except CONNECT_ERRORS as exc:
            raise TransientDeliveryError(
                f"cannot reach signal-cli-rest-api at {self._address.http_url()} ({describe(exc)})"
            ) from exc
        return body

    async def _probe(
        self, session: aiohttp.ClientSession, recipient: str, unclear: errors.Unclear
    ) -> DeliveryError:
        """Ask the service what a bare "Failed to send message" meant for this recipient.

        signal-cli gives that one text both when it could not reach Signal's servers
        and when the recipient is not registered, so nobody is called unreachable on
        the text alone: an untrusted identity in `/v1/identities`, or `/v1/search`
        answering "registered": false for a number, is proof; anything else (a UUID
        recipient, a failing look-up) is retried.
        """
        try:
            if await self._untrusted(session, recipient):
                return RecipientUnreachable(errors.SAFETY_NUMBER_CHANGED)
            if _E164.fullmatch(recipient) and await self._registered(session, recipient) is False:
                return RecipientUnreachable(f"{errors.NOT_REGISTERED} (/v1/search says so)")
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            log.debug("Signal recipient look-up failed (%s)", type(exc).__name__)
        return TransientDeliveryError(
            f"{unclear}: signal-cli could not reach Signal, or the recipient left it; retrying"
        )

    async def _untrusted(self, session: aiohttp.ClientSession, recipient: str) -> bool:
        """True when `/v1/identities` lists this recipient's identity key as UNTRUSTED."""
        url = self._address.http_url(f"/v1/identities/{self._number}")
        async with session.get(url) as response:
            response.raise_for_status()
            entries = await response.json(content_type=None)
        return any(
            isinstance(entry, dict)
            and recipient in (entry.get("uuid"), entry.get("number"))
            and str(entry.get("status", "")).upper() == "UNTRUSTED"
            for entry in entries or ()
        )

    async def _registered(self, session: aiohttp.ClientSession, number: str) -> bool | None:
        """What `/v1/search` says about a number: True, False, or None when it does not say."""
        url = self._address.http_url(f"/v1/search/{self._number}")
        async with session.get(url, params={"numbers": number}) as response:
            response.raise_for_status()
            entries = await response.json(content_type=None)
        for entry in entries or ():
            if isinstance(entry, dict) and entry.get("number") == number:
                return bool(entry.get("registered"))
        return None

    async def _payload(self, out: Outgoing, recipient: str) -> str:
        attachments = [_data_uri(out.attachment)] if out.attachment is not None else None
        text = render_for_group(out) if recipient.startswith("group.") else render_numbered(out)
        message = SendMessage(text=text, base64_attachments=attachments)
        generated = await message.to_generated(self._number, [recipient])
        return generated.model_dump_json(exclude_none=True, by_alias=True)

    def _delivered(self, body: str, recipient: str) -> Delivered:
        try:
            data = json.loads(body)
        except ValueError as exc:
            # Probably sent; retrying may duplicate it, which beats losing an alert.
            raise TransientDeliveryError("signal-cli-rest-api's send answer was not JSON") from exc
        items = data if isinstance(data, list) else [data]
        first = items[0] if items and isinstance(items[0], dict) else {}
        if recipient.startswith("group."):
            _log_group_failures(items)
        else:
            failure = errors.recipient_failure(first, self._number, recipient)
            if failure is not None:
                raise failure
        timestamp = first.get("timestamp")
        return Delivered(message_id=str(timestamp) if timestamp is not None else None)

    async def _on_frame(self, raw: str) -> None:
        """Handle one websocket frame, or keep it while the database is away; never raises."""
        if len(self._spool):  # frames are waiting for the database: keep the order
            self._keep(raw)
        elif not await self._handle_frame(raw):
            self._keep(raw)

    def _keep(self, raw: str) -> None:
        """Spool a frame the app cannot record now, and make sure a replay will handle it."""
        try:
            self._spool.append(raw)
        except OSError as exc:  # cannot write the file: hold it in memory at least
            log.error(
                "cannot keep a Signal message on disk (%s)",
                type(exc).__name__,
                extra={"action": "signal.spool_failed"},
            )
            self._spool = Spool(None)
            self._spool.append(raw)
        log.warning(
            "the database is away: a Signal message is kept until it is back",
            extra={"action": "signal.spooled", "waiting": len(self._spool)},
        )
        self._start_replay()

    def _start_replay(self) -> None:
        if self._replay is None or self._replay.done():
            self._replay = asyncio.create_task(self._replay_spool(), name="holdfast-signal-spool")

    async def _replay_spool(self) -> None:
        """Handle the spooled frames in order, waiting (with backoff) for the database."""
        minimum, maximum, _ = self._reconnect
        delay = minimum
        replayed = 0
        while (raw := self._spool.first()) is not None:
            if await self._handle_frame(raw):
                self._spool.done()
                replayed += 1
                delay = minimum
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, maximum)
        log.info(
            "Signal messages kept while the database was away were handled",
            extra={"action": "signal.spool_replayed", "count": replayed},
        )

    async def _handle_frame(self, raw: str) -> bool:
        """Handle one frame; False only if the database is away (the frame must be kept)."""
        assert self._api is not None
        try:
            incoming = await to_incoming(
                self._api, raw, own_number=self._number, group_commands=self._group_commands
            )
        except ReceiveErrorFrame as exc:
            log.warning(
                "signal-cli-rest-api reported a receive error",
                extra={"action": "signal.receive_error"},
            )
            log.debug("receive error: %s", errors.redact(str(exc), self._number))
            return True
        except Exception as exc:  # one bad frame must not stop the others
            log.error(
                "could not read a Signal message (%s)",
                type(exc).__name__,
                extra={"action": "signal.frame_failed"},
            )
            log.debug("frame failure", exc_info=True)
            return True
        if incoming is None:
            return True
        return await self._hand_over(incoming)

    async def _hand_over(self, incoming: Incoming) -> bool:
        """Give an Incoming to the app, retrying with backoff (the app dedupes on dedupe_key).

        Returns False at once if the database is away (`StoreUnavailable`): the
        frame is spooled rather than retried here.
        """
        assert self._on_incoming is not None
        delay = self._reconnect[0]
        failure: Exception | None = None
        for attempt in range(1, _INCOMING_ATTEMPTS + 1):
            try:
                await self._on_incoming(incoming)
                return True
            except StoreUnavailable:
                return False
            except Exception as exc:
                failure = exc
            log.warning(
                "handling a Signal message failed (%s), attempt %d of %d",
                type(failure).__name__,
                attempt,
                _INCOMING_ATTEMPTS,
                extra={"action": "signal.incoming_retry"},
            )
            if attempt < _INCOMING_ATTEMPTS:
                await asyncio.sleep(delay * 2 ** (attempt - 1))
        log.error(
            "a Signal message was dropped: handling it failed %d times",
            _INCOMING_ATTEMPTS,
            extra={"action": "signal.incoming_failed"},
        )
        log.debug("last failure", exc_info=failure)
        return True


def render_for_group(out: Outgoing) -> str:
    """Render choices for a group chat as the commands to type, not as numbers.

    In a group only messages that look like commands reach the bot (see
    `receive.is_group_command`), so a bare "1" typed there would be ignored and an
    "I'm on it" offered as "1." could never be pressed; "/ack 12" always gets through.
    """
    choices = out.flat_choices
    if not choices:
        return out.text
    return "\n".join([out.text, "", *(f"{c.label}: {c.command}" for c in choices)])


def _check_recipient(recipient: str) -> None:
    if recipient.startswith("group.") or _E164.fullmatch(recipient):
        return
    try:
        uuid.UUID(recipient)
    except ValueError:
        raise PermanentDeliveryError(
            "not a Signal recipient: expected a UUID, a +number or a group id"
        ) from None


def _data_uri(attachment: Attachment) -> str:
    """signal-cli-rest-api's attachment form, which keeps the file name and type."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", attachment.filename)[:100] or "attachment"
    data = base64.b64encode(attachment.data).decode()
    return f"data:{attachment.mime_type};filename={name};base64,{data}"


def _log_group_failures(items: list[object]) -> None:
    failed = 0
    for item in items:
        errors_ = item.get("errors") if isinstance(item, dict) else None
        recipients = errors_.get("recipients") if isinstance(errors_, dict) else None
        failed += len(recipients or ())
    if failed:
        log.warning(
            "a Signal group message missed %d members",
            failed,
            extra={"action": "signal.group_partial"},
        )
