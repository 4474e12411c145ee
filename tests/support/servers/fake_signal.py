"""A fake signal-cli-rest-api (json-rpc mode) on 127.0.0.1, for driving the real signalbot.

It serves what signalbot 2.2.1 and `SignalTransport` call: `GET /v1/health` (204),
`GET /v1/about`, `GET /v1/groups/{number}[/{id}]`, the `/v1/receive/{number}`
websocket, `POST /v2/send`, `GET /v1/identities/{number}` and `GET /v1/search/{number}`,
with the shapes, statuses and error texts the real signal-cli-rest-api sends (each
constant below names its source): nulls kept, attachments without `isVoiceNote`,
429 without Retry-After. signalbot's models are not the reference; the real server is.

Tests drive it with:
- `push_message(...)` and friends, which send the envelope JSON signal-cli emits
  over every connected websocket; with no client connected the message is DROPPED
  and counted in `.dropped`, as the real service does;
- `cut_websocket()` (abrupt: the TCP connection is aborted, no close frame),
  `close_websocket()` (a clean close frame), `refuse_websockets` (503 on upgrade),
  `answer_pings = False` (a silent, half-open peer);
- `fail_next_send(status, count, body, headers)` (429 defaults to the real
  rate-limit body, 400 to the generic "Failed to send message") and
  `hang_next_send(seconds)` to inject send failures and time-outs; `identities`,
  `unregistered` and `lookups_fail` for what `/v1/identities` and `/v1/search` say;
- `.sent`, `messages_to(recipient)`, `.connections`, `wait_for(pred, timeout)`,
  `wait_connected(n)`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

# What the real signal-cli-rest-api answers, with where each text comes from
# (bbernhard/signal-cli-rest-api 0.100 and master a08db23, AsamK/signal-cli v0.14.6).

#: 400 when no recipient succeeded for a reason signal-cli does not name: Signal's
#: servers unreachable *or* an unregistered recipient. signal-cli
#: `SendMessageResultUtils.java`: `throw new UserErrorException("Failed to send
#: message")`; REST `api.go` `default: c.JSON(400, Error{Msg: err.Error()})`.
GENERIC = "Failed to send message"
#: 400 from an IOException during the send. signal-cli `SendCommand.java`:
#: `"Failed to send message: " + e.getMessage() + " (" + …getSimpleName() + ")"`.
IO_FAILURE = "Failed to send message: Connection reset (IOException)"
#: 400 for a changed safety number, REST <= 0.100 (raw signal-cli text,
#: `SendMessageResultUtils.java`: `new UntrustedKeyErrorException("Failed to send
#: message due to untrusted identities")`).
UNTRUSTED_0100 = "Failed to send message due to untrusted identities"
#: The same from REST master (`jsonrpc2.go`: `} else if resp.Err.Code == -4 {
#: return "", errors.New("Unable to complete request due to untrusted recipient keys")`).
UNTRUSTED_MASTER = "Unable to complete request due to untrusted recipient keys"
#: 400 from signal-cli `SendCommand.java` when it knows: `"The user " + … + " is not
#: registered."`.
UNREGISTERED = "The user {recipient} is not registered."
#: 429 body; no Retry-After header (REST `api.go`: `c.JSON(429, SendMessageError{Msg:
#: extendedError.Error(), ChallengeTokens: …, Account: req.Number})`).
RATE_LIMITED = (
    "Failed to send message due to rate limiting. Use the attached challenge tokens to lift "
    "the rate limit restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint."
)

_DEFAULT_ERRORS = {
    400: GENERIC,
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def rate_limit_body(account: str, token: str = "") -> JSON:
    """The 429 body. A plain rate limit has no token: signal-cli leaves `token` out
    (`JsonSendMessageResult`, NON_NULL) and REST appends the empty string it reads
    (`jsonrpc2.go`: `challengeTokens = append(challengeTokens, rateLimitResult.Token)`);
    a proof-required (captcha) limit carries one."""
    return {"error": RATE_LIMITED, "challenge_tokens": [token], "account": account}


@dataclass
class Sent:
    """One accepted `/v2/send` request."""

    recipients: list[str]
    message: str
    base64_attachments: list[str]
    time: float
    timestamp: int
    payload: JSON = field(repr=False)


@dataclass
class _Failure:
    status: int
    body: Any
    headers: dict[str, str]


class FakeSignal:
    """An async context manager serving a fake signal-cli-rest-api for one account."""

    def __init__(
        self, number: str = "+15550000001", *, mode: str = "json-rpc", version: str = "0.101"
    ) -> None:
        self.number = number
        self.mode = mode
        self.version = version
        self.sent: list[Sent] = []
        self.requests: list[tuple[str, str]] = []
        #: disappearing-message timers set per recipient (`PUT /v1/contacts/{number}`)
        self.expirations: dict[str, int] = {}
        self.groups: dict[str, JSON] = {}
        self.connections = 0
        self.dropped = 0
        self.refuse_websockets = False
        self.answer_pings = True  # False: a half-open peer that never answers heartbeats
        self.legacy_send_answer = False  # older services answer {"timestamp"} not a list
        #: `/v1/identities` entries: recipient (UUID or number) -> trust level
        #: ("TRUSTED_UNVERIFIED", "TRUSTED_VERIFIED" or "UNTRUSTED").
        self.identities: dict[str, str] = {}
        #: `/v1/search`: numbers Signal does not know (others are registered).
        self.unregistered: set[str] = set()
        self.lookups_fail = False  # the look-ups need Signal's servers too
        #: recipient -> the 400 error text every send to them gets (e.g. UNTRUSTED_MASTER)
        self.refused: dict[str, str] = {}
        self._sockets: dict[web.WebSocketResponse, asyncio.BaseTransport | None] = {}
        self._failures: deque[_Failure] = deque()
        self._hang = 0.0
        self._clock = itertools.count(int(time.time() * 1000))
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def service(self) -> str:
        """host:port, as `signal.service` takes it."""
        return f"127.0.0.1:{self.port}"

    @property
    def open_sockets(self) -> int:
        """How many receive websockets are connected now."""
        return sum(1 for ws in self._sockets if not ws.closed)

    async def __aenter__(self) -> FakeSignal:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on a random port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/v1/health", self._health)
        app.router.add_get("/v1/about", self._about)
        app.router.add_get("/v1/receive/{number}", self._receive)
        app.router.add_post("/v2/send", self._send)
        app.router.add_get("/v1/groups/{number}", self._groups)
        app.router.add_get("/v1/groups/{number}/{group_id}", self._group)
        app.router.add_get("/v1/identities/{number}", self._identities)
        app.router.add_get("/v1/search/{number}", self._search)
        app.router.add_put("/v1/contacts/{number}", self._update_contact)
        # access_log=None: the access log would write the bot's number at INFO.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Drop every connection and stop listening. Idempotent."""
        self.cut_websocket()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # ---- drivers -------------------------------------------------------------------

    def add_group(self, name: str = "Team", members: Iterable[str] = ()) -> str:
        """Make the bot a member of a new group; return its `group.…` id."""
        internal_id = base64.b64encode(os.urandom(32)).decode()
        group_id = "group." + base64.b64encode(internal_id.encode()).decode()
        self.groups[group_id] = {
            "id": group_id,
            "internal_id": internal_id,
            "name": name,
            "description": "",
            "members": [self.number, *members],
            "pending_invites": [],
            "pending_requests": [],
            "admins": [self.number],
            "blocked": False,
            "invite_link": "",
            "member": True,
            "permissions": {
                "add_members": "only-admins",
                "edit_group": "only-admins",
                "send_messages": "every-member",
            },
        }
        return group_id

    async def push_message(
        self,
        source_uuid: str | None,
        text: str | None,
        source_number: str | None = None,
        name: str = "Ada",
        group_id: str | None = None,
        timestamp: int | None = None,
        edit: bool = False,
        attachments: Iterable[str] = (),
        sticker: bool = False,
        quoted_image: bool = False,
    ) -> int:
        """Push a data message (or an edit) from a person; return its timestamp.

        `attachments` are content types ("image/jpeg"); `group_id` is a `group.…` id
        from `add_group` (the envelope carries the group's internal id, as signal-cli
        does); `quoted_image` makes it a reply quoting one of the bot's pictures.
        """
        ts = timestamp if timestamp is not None else self.next_timestamp()
        # `JsonDataMessage.java`: `String message` is written as null when absent.
        data: JSON = {
            "timestamp": ts,
            "message": text,
            "expiresInSeconds": 0,
            "isExpirationUpdate": False,
            "viewOnce": False,
        }
        if group_id is not None:
            group = self.groups[group_id]
            data["groupInfo"] = {
                "groupId": group["internal_id"],
                "groupName": group["name"],
                "revision": 2,
                "type": "DELIVER",
            }
        if attachments:
            data["attachments"] = [_attachment(ct, i) for i, ct in enumerate(attachments)]
        if sticker:
            data["sticker"] = {"packId": "0c0ffee0", "stickerId": 3}
        if quoted_image:  # signal-cli `json/JsonQuote.java`, `JsonQuotedAttachment.java`
            data["quote"] = {
                "id": ts - 5000,
                "author": self.number,
                "authorNumber": self.number,
                "authorUuid": None,
                "text": None,
                "mentions": [],
                "attachments": [
                    {
                        "contentType": "image/png",
                        "filename": "wellbeing.png",
                        "thumbnail": _attachment("image/png", 9),
                    }
                ],
                "textStyles": [],
            }
        envelope = self._envelope(source_uuid, source_number, name, ts)
        if edit:
            envelope["editMessage"] = {"targetSentTimestamp": ts - 1000, "dataMessage": data}
        else:
            envelope["dataMessage"] = data
        await self.push_envelope(envelope)
        return ts

    async def push_receipt(self, source_uuid: str, timestamps: Iterable[int]) -> None:
        """A delivery receipt for messages the bot sent."""
        ts = self.next_timestamp()
        envelope = self._envelope(source_uuid, None, "Ada", ts)
        envelope["receiptMessage"] = {
            "when": ts,
            "isDelivery": True,
            "isRead": False,
            "isViewed": False,
            "timestamps": list(timestamps),
        }
        await self.push_envelope(envelope)

    async def push_typing(self, source_uuid: str, group_id: str | None = None) -> None:
        """A typing indicator."""
        ts = self.next_timestamp()
        envelope = self._envelope(source_uuid, None, "Ada", ts)
        typing: JSON = {"action": "STARTED", "timestamp": ts}
        if group_id is not None:
            typing["groupId"] = self.groups[group_id]["internal_id"]
        envelope["typingMessage"] = typing
        await self.push_envelope(envelope)

    async def push_reaction(self, source_uuid: str, target_timestamp: int) -> None:
        """An emoji reaction to one of the bot's messages."""
        ts = self.next_timestamp()
        envelope = self._envelope(source_uuid, None, "Ada", ts)
        envelope["dataMessage"] = {
            "timestamp": ts,
            "reaction": {
                "emoji": "👍",
                "targetAuthor": self.number,
                "targetAuthorNumber": self.number,
                "targetSentTimestamp": target_timestamp,
                "isRemove": False,
            },
        }
        await self.push_envelope(envelope)

    async def push_sync_sent(self, destination_uuid: str, text: str) -> None:
        """A copy of a message the bot's own account sent from another device."""
        ts = self.next_timestamp()
        envelope = self._envelope(None, self.number, "Bot", ts)
        envelope["syncMessage"] = {
            "sentMessage": {
                "destination": destination_uuid,
                "destinationUuid": destination_uuid,
                "timestamp": ts,
                "message": text,
                "expiresInSeconds": 0,
                "viewOnce": False,
            }
        }
        await self.push_envelope(envelope)

    async def push_envelope(self, envelope: JSON) -> bool:
        """Send one envelope to every connected client; drop it if there is none."""
        return await self.push_raw(json.dumps({"envelope": envelope, "account": self.number}))

    async def push_raw(self, text: str) -> bool:
        """Send one text frame as is; False (and `.dropped` + 1) if nobody got it."""
        delivered = False
        for ws in list(self._sockets):
            if ws.closed:
                continue
            try:
                await ws.send_str(text)
                delivered = True
            except (ConnectionError, RuntimeError):
                self._sockets.pop(ws, None)
        if not delivered:
            self.dropped += 1
        return delivered

    def cut_websocket(self) -> None:
        """Abort every receive connection: no close frame, like a crash or a reset."""
        for transport in self._sockets.values():
            if transport is not None:
                transport.abort()
        self._sockets.clear()

    async def close_websocket(self) -> None:
        """Close every receive connection cleanly (close frame 1000)."""
        sockets = list(self._sockets)
        self._sockets.clear()
        for ws in sockets:
            await ws.close(code=1000, message=b"bye")

    def fail_next_send(
        self,
        status: int,
        count: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `count` sends with `status` (body: a dict, list or text)."""
        if body is None and status == 429:
            body = rate_limit_body(self.number)
        elif body is None:
            body = {"error": _DEFAULT_ERRORS.get(status, f"injected HTTP {status}")}
        for _ in range(count):
            self._failures.append(_Failure(status, body, dict(headers or {})))

    def hang_next_send(self, seconds: float) -> None:
        """Make the next send wait `seconds` before it is handled (a time-out)."""
        self._hang = seconds

    # ---- inspection ----------------------------------------------------------------

    def messages_to(self, recipient: str) -> list[str]:
        """Texts sent to one recipient (a UUID, a number or a group id)."""
        return [s.message for s in self.sent if recipient in s.recipients]

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 3.0) -> None:
        """Poll `pred` until it holds; fail the test after `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not pred():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.005)

    async def wait_connected(self, connections: int = 1, timeout: float = 3.0) -> None:
        """Wait until `connections` websockets were opened and one is open now."""
        await self.wait_for(
            lambda: self.connections >= connections and self.open_sockets > 0, timeout
        )

    def next_timestamp(self) -> int:
        """A fresh, increasing millisecond timestamp."""
        return next(self._clock)

    # ---- routes --------------------------------------------------------------------

    def _envelope(self, uuid: str | None, number: str | None, name: str, ts: int) -> JSON:
        envelope: JSON = {
            "source": number or uuid,
            "sourceNumber": number,
            "sourceUuid": uuid,
            "sourceName": name,
            "sourceDevice": 1,
            "timestamp": ts,
            "serverReceivedTimestamp": ts + 5,
            "serverDeliveredTimestamp": ts + 9,
        }
        # Real envelopes keep absent sources as null (signal-cli
        # `json/JsonMessageEnvelope.java` has no NON_NULL on them).
        return envelope

    def _log(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path))

    async def _health(self, request: web.Request) -> web.Response:
        self._log(request)
        return web.Response(status=204)

    async def _about(self, request: web.Request) -> web.Response:
        self._log(request)
        return web.json_response(
            {
                "versions": ["v1", "v2"],
                "build": 2,
                "mode": self.mode,
                "version": self.version,
                "capabilities": {"v2/send": ["quotes", "mentions"]},
            }
        )

    def _unknown_account(self, request: web.Request) -> web.Response | None:
        if request.match_info["number"] == self.number:
            return None
        return web.json_response({"error": "User is not registered."}, status=400)

    async def _groups(self, request: web.Request) -> web.Response:
        self._log(request)
        return self._unknown_account(request) or web.json_response(list(self.groups.values()))

    async def _group(self, request: web.Request) -> web.Response:
        self._log(request)
        refusal = self._unknown_account(request)
        group = self.groups.get(request.match_info["group_id"])
        if refusal is not None or group is None:
            return refusal or web.json_response({"error": "No group found"}, status=404)
        return web.json_response(group)

    async def _update_contact(self, request: web.Request) -> web.Response:
        # REST `api.go` `UpdateContact`: 400 "Couldn't process request - recipient
        # missing" without a recipient, else signal-cli `updateContact` (json-rpc mode
        # drops a 0 expiration: `omitempty`), then 204.
        self._log(request)
        refusal = self._unknown_account(request)
        if refusal is not None:
            return refusal
        body = await request.json()
        recipient = body.get("recipient") or ""
        if not recipient:
            return web.json_response(
                {"error": "Couldn't process request - recipient missing"}, status=400
            )
        seconds = body.get("expiration_in_seconds")
        if seconds:  # `Expiration int json:"expiration,omitempty"`: 0 never reaches signal-cli
            self.expirations[recipient] = int(seconds)
        return web.Response(status=204)

    async def _identities(self, request: web.Request) -> web.Response:
        # REST `client.go` `ListIdentities`: signal-cli's listIdentities, `status` =
        # its `trustLevel`; 500 with the error text when signal-cli fails.
        self._log(request)
        if self.lookups_fail:
            return web.json_response({"error": GENERIC}, status=500)
        entries = [
            {
                "number": who if who.startswith("+") else "",
                "uuid": "" if who.startswith("+") else who,
                "status": level,
                "fingerprint": "05 1a 2b",
                "added": "1700000000000",
                "safety_number": "12345 67890",
            }
            for who, level in self.identities.items()
        ]
        return self._unknown_account(request) or web.json_response(entries)

    async def _search(self, request: web.Request) -> web.Response:
        # REST `api.go` `SearchForNumbers`: 400 without `numbers`, 400 with the error
        # text when signal-cli's getUserStatus fails, else [{"number", "registered"}].
        self._log(request)
        numbers = request.query.getall("numbers", [])
        if not numbers:
            return web.json_response({"error": "Please provide numbers to query for"}, status=400)
        if self.lookups_fail:
            return web.json_response({"error": GENERIC}, status=400)
        answer = [{"number": n, "registered": n not in self.unregistered} for n in numbers]
        return web.json_response(answer)

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        self._log(request)
        refusal = self._unknown_account(request)
        if refusal is not None:
            return refusal
        if self.refuse_websockets or self.mode != "json-rpc":
            return web.json_response({"error": "unavailable"}, status=503)
        ws = web.WebSocketResponse(autoping=self.answer_pings)
        await ws.prepare(request)
        self._sockets[ws] = request.transport
        self.connections += 1
        try:
            async for _ in ws:  # the client sends nothing we need
                pass
        finally:
            self._sockets.pop(ws, None)
        return ws

    async def _send(self, request: web.Request) -> web.Response:
        self._log(request)
        payload = await request.json()
        if self._hang:
            seconds, self._hang = self._hang, 0.0
            await asyncio.sleep(seconds)
        if self._failures:
            failure = self._failures.popleft()
            return _answer(failure.status, failure.body, failure.headers)
        for recipient in payload.get("recipients") or []:
            if recipient in self.refused:
                return web.json_response({"error": self.refused[recipient]}, status=400)
        problem = self._check_send(payload)
        if problem is not None:
            return web.json_response({"error": problem}, status=400)
        ts = self.next_timestamp()
        self.sent.append(
            Sent(
                list(payload["recipients"]),
                payload.get("message", ""),
                list(payload.get("base64_attachments") or []),
                time.time(),
                ts,
                payload,
            )
        )
        answer: Any = {"timestamp": str(ts)}
        return web.json_response(answer if self.legacy_send_answer else [answer], status=201)

    def _check_send(self, payload: JSON) -> str | None:
        if payload.get("number") != self.number:
            return "Couldn't process request - please provide a valid number"
        recipients = payload.get("recipients") or []
        if not recipients:
            return "Couldn't process request - please provide at least one recipient"
        for recipient in recipients:
            if recipient.startswith("group.") and recipient not in self.groups:
                # signal-cli `GroupNotFoundException.java`: "Group not found: " + id.
                return "Group not found: " + recipient.removeprefix("group.")
        return None


def _answer(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if isinstance(body, str):
        return web.Response(status=status, text=body, headers=headers)
    return web.json_response(body, status=status, headers=headers)


def _attachment(content_type: str, index: int) -> JSON:
    """signal-cli's `JsonAttachment` record, nulls included and no `isVoiceNote`.

    signal-cli `json/JsonAttachment.java`: `record JsonAttachment(String contentType,
    String filename, String id, Long size, Integer width, Integer height, String
    caption, Long uploadTimestamp)`; its ObjectMapper writes nulls (`util/Util.java`).
    """
    return {
        "contentType": content_type,
        "filename": None,
        "id": f"att{index}.bin",
        "size": 1234,
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": 1,
    }
