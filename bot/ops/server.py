"""The ops endpoint on `ops.listen`: /healthz, /readyz (JSON) and /metrics (Prometheus).

For the people who run Holdfast and their monitoring; bind it to 127.0.0.1 or a
private network. It serves counts and states only: nothing in it names a person.
A port that cannot be bound is logged and the bot runs on without the endpoint:
alerts matter more than their dashboard.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.health import Health

log = logging.getLogger(__name__)


def split_listen(listen: str) -> tuple[str, int]:
    """Split `ops.listen` (validated at load) into host and port; "[::1]:9464" works too."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class OpsServer:
    """A small aiohttp server; `start`/`stop`, and `port` once started (0 picks one)."""

    def __init__(self, health: Health, listen: str) -> None:
        self._health = health
        self._host, self._port = split_listen(listen)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Serve in the running loop; a port already taken is logged, not fatal."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            log.error(
                "ops.listen cannot be used (%s); running without /healthz, /readyz, /metrics. "
                "Set ops.listen (HOLDFAST_OPS_LISTEN) to a free host:port, or empty.",
                exc.strerror,
                extra={"action": "ops.listen_failed"},
            )
            return
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("ops endpoint up", extra={"action": "ops.listen", "port": self.port})

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def _readyz(self, _: web.Request) -> web.Response:
        ready, doc = await self._health.readiness()
        return web.Response(
            text=json.dumps(doc), status=200 if ready else 503, content_type="application/json"
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        if await self._health.database_ok():
            try:
                await self._health.refresh()
            except Exception:  # the backlog stays as last counted; database_up tells why
                log.warning("metrics not refreshed", extra={"action": "ops.metrics_failed"})
        body = generate_latest(self._health.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
