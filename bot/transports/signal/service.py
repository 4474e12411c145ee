"""Where signal-cli-rest-api is, and whether it can serve the bot: start-up checks.

The checks run through signalbot's own `SignalAPI` client (health, about, groups),
the calls `SignalBot` makes before it receives. They fail fast with an error that
names the config key to fix, where `SignalBot` would retry forever in a background
task and print tracebacks.

Errors here never include the service's URLs for `/v1/receive/<number>` or
`/v1/groups/<number>`: those carry the bot's phone number.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import pydantic
from packaging.version import InvalidVersion, Version
from signalbot import (
    MIN_SIGNAL_CLI_REST_API_VERSION,
    AboutError,
    ConnectionMode,
    GetGroupsError,
    HealthCheckError,
)

from bot.transports.signal.errors import SignalSetupError

if TYPE_CHECKING:
    from signalbot._client import SignalAPI

log = logging.getLogger(__name__)

#: The signal-cli-rest-api release the transport was checked against (its sources at
#: 0.100 and at master a08db23, which is what 0.101 ships; signal-cli 0.14.6/0.14.7).
#: docker-compose.yml pins the same tag. Older than signalbot's minimum is refused;
#: newer starts, with a warning that it is unchecked.
CHECKED_VERSION = Version("0.101")

SERVICE_KEY = "signal.service (HOLDFAST_SIGNAL_SERVICE)"
NUMBER_KEY = "signal.phone_number (HOLDFAST_SIGNAL_PHONE_NUMBER)"


@dataclass(frozen=True, slots=True)
class ServiceAddress:
    """signal-cli-rest-api's host:port and scheme.

    A bare "host:port" means plain HTTP (the service is meant to sit on a private
    network next to the bot, as in docker-compose.yml); "https://host:port" means
    TLS only. signalbot's default "auto" mode is not used: it silently falls back
    from HTTPS to HTTP, which anyone on the path can force.
    """

    host: str
    https: bool = False

    @classmethod
    def parse(cls, service: str) -> ServiceAddress:
        """Parse the `signal.service` setting; raise `SignalSetupError` naming it."""
        text = service.strip().rstrip("/")
        https = False
        if "://" in text:
            scheme, _, text = text.partition("://")
            if scheme not in ("http", "https"):
                raise SignalSetupError(
                    f"{SERVICE_KEY}: unknown scheme {scheme!r}; write host:port, "
                    "e.g. signal-cli:8080, or https://host:port"
                )
            https = scheme == "https"
        if not text or "/" in text or " " in text:
            raise SignalSetupError(
                f"{SERVICE_KEY}: expected host:port of signal-cli-rest-api, "
                f"e.g. signal-cli:8080, got {service!r}"
            )
        return cls(text, https)

    @property
    def mode(self) -> ConnectionMode:
        """The signalbot connection mode for this address."""
        return ConnectionMode.HTTPS_ONLY if self.https else ConnectionMode.HTTP_ONLY

    def http_url(self, path: str = "") -> str:
        """An HTTP(S) URL on the service."""
        return f"{'https' if self.https else 'http'}://{self.host}{path}"

    def ws_url(self, path: str) -> str:
        """A WS(S) URL on the service."""
        return f"{'wss' if self.https else 'ws'}://{self.host}{path}"


async def check_service(api: SignalAPI, address: ServiceAddress, timeout: float) -> None:
    """Check that the service answers, runs in json-rpc mode and knows the number.

    Raises:
        SignalSetupError: naming `signal.service` or `signal.phone_number`.
    """
    try:
        async with asyncio.timeout(timeout):
            await _check_health(api, address)
            await _check_about(api, address)
            await _check_account(api, address)
    except TimeoutError as exc:
        raise SignalSetupError(
            f"{SERVICE_KEY}: signal-cli-rest-api at {address.http_url()} did not answer "
            f"within {timeout:g}s"
        ) from exc


async def _check_health(api: SignalAPI, address: ServiceAddress) -> None:
    try:
        response = await api.general.health_check()
    except HealthCheckError as exc:
        raise SignalSetupError(
            f"{SERVICE_KEY}: cannot reach signal-cli-rest-api at {address.http_url()} "
            f"({describe(exc.__cause__ or exc)}); is it running, and is this its host:port?"
        ) from exc
    response.release()


async def _check_about(api: SignalAPI, address: ServiceAddress) -> None:
    try:
        about = await api.general.about()
    except (AboutError, aiohttp.ClientError, pydantic.ValidationError, ValueError) as exc:
        raise SignalSetupError(
            f"{SERVICE_KEY}: {address.http_url('/v1/about')} did not describe a "
            f"signal-cli-rest-api ({describe(exc.__cause__ or exc)})"
        ) from exc
    if about.mode != "json-rpc":
        raise SignalSetupError(
            f"{SERVICE_KEY}: signal-cli-rest-api at {address.http_url()} runs in "
            f"{about.mode!r} mode; Holdfast receives over its websocket, which only "
            "json-rpc mode has: run signal-cli-rest-api with MODE=json-rpc"
        )
    _check_version(about.version, address)
    log.info(
        "signal-cli-rest-api is in json-rpc mode",
        extra={"action": "signal.service_ok", "version": about.version},
    )


def supported_versions() -> str:
    """What start-up says about versions, in one line."""
    return (
        f"signal-cli-rest-api {MIN_SIGNAL_CLI_REST_API_VERSION} or newer is supported "
        f"(signalbot's minimum); Holdfast was checked against {CHECKED_VERSION}"
    )


def _check_version(version: str, address: ServiceAddress) -> None:
    if version == "unset":  # preview builds; signalbot skips the check too
        log.warning(
            "signal-cli-rest-api reports no version (a preview build); %s",
            supported_versions(),
            extra={"action": "signal.version_unknown", "version": version},
        )
        return
    try:
        parsed = Version(version)
    except InvalidVersion:
        log.warning(
            "unrecognised signal-cli-rest-api version; %s",
            supported_versions(),
            extra={"action": "signal.version_unknown", "version": version},
        )
        return
    if parsed < MIN_SIGNAL_CLI_REST_API_VERSION:
        raise SignalSetupError(
            f"{SERVICE_KEY}: signal-cli-rest-api at {address.http_url()} is version "
            f"{version}; {supported_versions()}: use the image tag docker-compose.yml pins"
        )
    if parsed > CHECKED_VERSION:
        log.warning(
            "signal-cli-rest-api %s is newer than the version Holdfast was checked against; "
            "%s. Watch for changed error texts (docs/run-on-signal.md)",
            version,
            supported_versions(),
            extra={"action": "signal.version_unchecked", "version": version},
        )
        return
    log.info(supported_versions(), extra={"action": "signal.version_ok", "version": version})


async def _check_account(api: SignalAPI, address: ServiceAddress) -> None:
    # `from None`: the cause's text holds the /v1/groups/<number> URL.
    try:
        await api.groups.get_all()
    except (GetGroupsError, aiohttp.ClientError, pydantic.ValidationError, ValueError) as exc:
        raise SignalSetupError(
            f"{NUMBER_KEY}: signal-cli-rest-api at {address.http_url()} cannot list the "
            f"bot account's groups ({describe(exc.__cause__ or exc)}); is this number "
            "registered or linked in signal-cli? See docs/run-on-signal.md"
        ) from None


def describe(exc: BaseException) -> str:
    """A short, number-free description of a connection or HTTP failure."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error.strerror or type(exc.os_error).__name__}"
    return type(exc).__name__
