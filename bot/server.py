"""The health and metrics HTTP server: GET /healthz, /readyz and /metrics, in the runner's event loop.

Written with aiohttp.web (a dependency already, for Slack's HTTP mode) rather than prometheus_client's
start_http_server: that one serves from its own thread and knows only /metrics, while the checks here
await the platforms and the store in this loop, and the runner starts and stops the server with the rest."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config import Config
from bot.metrics import Metrics
from bot.models import PollSummary

if TYPE_CHECKING:
    from bot.platforms.base import Platform
    from bot.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
DATABASE_TIMEOUT = 3.0  # seconds a check waits for the database; a probe's default timeout is longer
POLLS_LATE = 3  # ready while the last poll finished no longer ago than this many poll intervals


@dataclass(frozen=True)
class PollCheck:
    """Readiness as far as polling goes: state is ok, starting, late or unknown."""

    state: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def poll_check(last: PollSummary | None, now: datetime, started: datetime, interval: int) -> PollCheck:
    """The last poll (of any instance on this database) must be recent; until this process has
    been up for as long as that allows, a missing or old one only means it is still starting."""
    limit = POLLS_LATE * interval
    age = (now - last.finished).total_seconds() if last else None
    if age is not None and age <= limit:
        return PollCheck("ok", f"last poll finished {age:.0f} s ago (limit {limit} s)")
    if (now - started).total_seconds() <= limit:
        return PollCheck("starting", "the first poll since the start has not finished yet")
    if age is None:
        return PollCheck("late", f"no poll has finished in the {limit} s since the start")
    return PollCheck("late", f"last poll finished {age:.0f} s ago, more than {limit} s")


class _OneAtATime:
    """A blocking call in a worker thread, one at a time, awaited with a timeout. While the
    database hangs, probes every few seconds must not each tie up one of the default executor's
    few threads (six on two cores), which every stage of the bot shares: callers meanwhile wait
    for the call already running."""

    def __init__(self, call: Callable[[], T], timeout: float):
        self.call = call
        self.timeout = timeout
        self._running: asyncio.Future | None = None

    async def __call__(self) -> T:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(asyncio.to_thread(self.call))
            # Retrieved here too: a caller that timed out must not leave an exception unread.
            self._running.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await asyncio.wait_for(asyncio.shield(self._running), self.timeout)


def _reason(exc: BaseException) -> str:
    """First line of a database error: driver, message; never the SQL or a URL with a password."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {DATABASE_TIMEOUT:g} s"
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0][:200]}"


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json")


class Server:
    """Started and stopped by the runner; serves the checks of one run."""

    def __init__(self, config: Config, store: Store, platforms: Mapping[str, Platform], metrics: Metrics):
        self.config = config
        self.platforms = platforms
        self.started = datetime.now(timezone.utc)
        self._ping = _OneAtATime(store.ping, DATABASE_TIMEOUT)
        self._last_poll = _OneAtATime(store.last_poll, DATABASE_TIMEOUT)
        self._exposition = _OneAtATime(metrics.exposition, DATABASE_TIMEOUT * 2)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None)  # a probe every few seconds is no news
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.server.listen, self.config.server.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        log.info("health and metrics server on %s port %d: /healthz, /readyz, /metrics",
                 self.config.server.listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, _request: web.Request) -> web.Response:
        """Liveness: this loop answers, and so does the database."""
        try:
            await self._ping()
        except Exception as exc:
            return _json(503, {"status": "fail", "database": _reason(exc)})
        return _json(200, {"status": "ok", "database": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        """Readiness: a recent poll and every configured platform connected; the body says what failed."""
        try:
            last = await self._last_poll()
            poll = poll_check(last, datetime.now(timezone.utc), self.started, self.config.poll.interval_seconds)
        except Exception as exc:
            last, poll = None, PollCheck("unknown", f"cannot read the last poll: {_reason(exc)}")
        platforms = {}
        for name, platform in self.platforms.items():
            try:
                platforms[name] = bool(await platform.connected())
            except Exception as exc:  # an adapter's check must not take the endpoint down
                log.warning("readiness: %s could not tell whether it is connected: %s", name, exc)
                platforms[name] = False
        failed = ([] if poll.ok else ["poll"]) + [name for name, up in platforms.items() if not up]
        body = {"status": "ok" if not failed else poll.state if failed == ["poll"] else "fail", "failed": failed,
                "poll": {"state": poll.state, "detail": poll.detail,
                         "finished": last.finished.isoformat() if last else None},
                "platforms": {name: "connected" if up else "not connected" for name, up in platforms.items()}}
        return _json(503 if failed else 200, body)

    async def metrics(self, _request: web.Request) -> web.Response:
        try:
            body = await self._exposition()
        except Exception as exc:
            log.warning("metrics could not be collected: %s", _reason(exc))
            return web.Response(status=503, text=f"metrics could not be collected: {_reason(exc)}\n")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
