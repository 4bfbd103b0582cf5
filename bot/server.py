"""The health and metrics HTTP server: GET /healthz, /readyz and /metrics, in the runner's event loop.

HTTP/1.1 is h11's (already loaded for httpx), on asyncio's own server: aiohttp.web added 10.8 MB to a
bot that does not use Slack (bench/memory.py --whole) for three GET routes. prometheus_client's
start_http_server serves from its own thread and knows only /metrics, while the checks here await the
platforms and the store in this loop, and the runner starts and stops the server with the rest.
One request per connection (probes and scrapers open one per check), answered with Connection: close."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

import h11
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
REQUEST_TIMEOUT = 10.0  # seconds a client has to send its request: a silent connection is closed
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


@dataclass(frozen=True)
class Response:
    """What a route answers; every answer closes the connection."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8")


def _text(status: int, text: str, *headers: tuple[str, str]) -> Response:
    return Response(status, text.encode(), headers=headers)


class Server:
    """Started and stopped by the runner; serves the checks of one run."""

    def __init__(self, config: Config, store: Store, platforms: Mapping[str, Platform], metrics: Metrics):
        self.config = config
        self.platforms = platforms
        self.started = datetime.now(timezone.utc)
        self._ping = _OneAtATime(store.ping, DATABASE_TIMEOUT)
        self._last_poll = _OneAtATime(store.last_poll, DATABASE_TIMEOUT)
        self._exposition = _OneAtATime(metrics.exposition, DATABASE_TIMEOUT * 2)
        self._routes: dict[str, Callable[[], Awaitable[Response]]] = {
            "/healthz": self.healthz, "/readyz": self.readyz, "/metrics": self.metrics}
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self.port: int | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.config.server.listen,
                                                  self.config.server.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health and metrics server on %s port %d: /healthz, /readyz, /metrics",
                 self.config.server.listen, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Python 3.11's wait_closed does not wait for open connections, and cancelling their tasks
            # makes asyncio log an error: they are cut instead, and end by themselves.
            for writer in self._open.values():
                writer.transport.abort()
            if self._open:
                await asyncio.wait(list(self._open), timeout=2 * DATABASE_TIMEOUT)
            await self._server.wait_closed()
            self._server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._open[task] = writer
        http = h11.Connection(h11.SERVER)
        try:
            try:
                request = await asyncio.wait_for(_request(http, reader), REQUEST_TIMEOUT)
            except TimeoutError:
                return  # a client that has sent no whole request in this time is dropped
            except h11.RemoteProtocolError as exc:  # not HTTP, or a head too large: h11 hints 400 or 431
                request, response = None, _text(exc.error_status_hint, "bad request\n")
            else:
                if request is None:
                    return  # closed before a whole request came
                response = await self._answer(request)
            head = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                    ("Connection", "close"), *response.headers]
            writer.write(http.send(h11.Response(status_code=response.status, headers=head,
                                                reason=HTTPStatus(response.status).phrase)))
            if request is None or request.method != b"HEAD":
                writer.write(http.send(h11.Data(data=response.body)))
            writer.write(http.send(h11.EndOfMessage()))
            await writer.drain()
        except (ConnectionError, h11.LocalProtocolError) as exc:
            log.debug("health server: connection dropped: %s", exc)
        finally:
            self._open.pop(task, None)
            writer.close()

    async def _answer(self, request: h11.Request) -> Response:
        path = request.target.decode("ascii", "replace").split("?", 1)[0]
        route = self._routes.get(path)
        if route is None:
            return _text(404, f"not found; this server answers {', '.join(self._routes)}\n")
        if request.method not in (b"GET", b"HEAD"):
            return _text(405, "method not allowed\n", ("Allow", "GET, HEAD"))
        return await route()

    async def healthz(self) -> Response:
        """Liveness: this loop answers, and so does the database."""
        try:
            await self._ping()
        except Exception as exc:
            return _json(503, {"status": "fail", "database": _reason(exc)})
        return _json(200, {"status": "ok", "database": "ok"})

    async def readyz(self) -> Response:
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

    async def metrics(self) -> Response:
        try:
            body = await self._exposition()
        except Exception as exc:
            log.warning("metrics could not be collected: %s", _reason(exc))
            return _text(503, f"metrics could not be collected: {_reason(exc)}\n")
        return Response(200, body, CONTENT_TYPE_LATEST)


async def _request(http: h11.Connection, reader: asyncio.StreamReader) -> h11.Request | None:
    """The request line and headers (h11 refuses a head over 16 KiB); None if the client left first."""
    while True:
        event = http.next_event()
        if isinstance(event, h11.Request):
            return event
        if event is h11.NEED_DATA:
            http.receive_data(await reader.read(8192))  # b"" (closed) makes the next event ConnectionClosed
        else:
            return None
