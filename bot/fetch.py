"""Fetch feeds concurrently: conditional GET, redirects, size caps, per-host limits."""
from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from bot.config import PollConfig
from bot.models import FeedState

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
# What we remember of a response must fit its column (schema.feeds): a longer value is not
# stored at all, since a cut validator or address would be wrong, not just short.
MAX_URL = 2000
MAX_ETAG = 500
MAX_HTTP_DATE = 100
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


@dataclass(frozen=True)
class FetchResult:
    """Outcome of one feed request; `status` is ok, not_modified, gone or error, and an error
    has a `problem` (a key of feedstate.PROBLEMS) besides its technical `error` text."""

    url: str
    status: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    problem: str | None = None


def _failed(url: str, problem: str, error: str, **more) -> FetchResult:
    return FetchResult(url, "error", error=error, problem=problem, **more)


class TooLarge(Exception):
    pass


def _validator(value: str | None, limit: int) -> str | None:
    """An ETag or Last-Modified worth sending back: printable ASCII within its column's size."""
    if value and len(value) <= limit and _PRINTABLE.fullmatch(value):
        return value
    return None


def backoff_seconds(errors: int, interval: int, cap: int) -> int:
    """Capped exponential backoff: one interval after the first error, doubling after each."""
    if errors <= 0:
        return 0
    return int(min(cap, interval * 2 ** min(errors - 1, 20)))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


class Fetcher:
    """One HTTP client for a whole poll cycle; bounded overall and per host."""

    def __init__(self, poll: PollConfig):
        self.poll = poll
        self._all = asyncio.Semaphore(poll.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(poll.per_host))
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(poll.timeout_seconds, connect=min(10.0, poll.timeout_seconds)),
            headers={"User-Agent": poll.user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
                               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
            limits=httpx.Limits(max_connections=poll.concurrency, max_keepalive_connections=poll.concurrency),
        )

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self._client.aclose()

    async def fetch(self, state: FeedState) -> FetchResult:
        """Fetch one feed; never raises: every failure is a FetchResult with status error."""
        try:
            if (state.moved_to or state.url).startswith("file://"):
                return await asyncio.to_thread(self._read_file, state)
            host = urlsplit(state.moved_to or state.url).netloc.lower()
            async with self._all, self._hosts[host]:
                async with asyncio.timeout(self.poll.timeout_seconds * 2):
                    return await self._get(state)
        except TimeoutError:
            return _failed(state.url, "timeout", f"timed out after {self.poll.timeout_seconds * 2:.0f} s")
        except TooLarge as exc:
            return _failed(state.url, "too_large", str(exc))
        except httpx.TimeoutException:
            return _failed(state.url, "timeout", f"timed out after {self.poll.timeout_seconds:.0f} s")
        except httpx.ConnectError as exc:
            return _failed(state.url, "unreachable", f"cannot be reached ({exc or 'connection failed'})")
        except httpx.HTTPError as exc:
            return _failed(state.url, "network", f"{type(exc).__name__}: {exc}".rstrip(": "))
        except (OSError, ValueError) as exc:
            return _failed(state.url, "network", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # httpx.InvalidURL and kin: one odd address must not end the cycle
            return _failed(state.url, "network", f"{type(exc).__name__}: {exc}")

    async def _get(self, state: FeedState) -> FetchResult:
        url, moved_to, permanent = state.moved_to or state.url, None, True
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        for _ in range(MAX_REDIRECTS + 1):
            async with self._client.stream("GET", url, headers=headers) as resp:
                if resp.status_code in (301, 302, 303, 307, 308) and "location" in resp.headers:
                    target = urljoin(url, resp.headers["location"])
                    # Only an unbroken chain of permanent redirects may change the stored address.
                    permanent = permanent and resp.status_code in (301, 308) and len(target) <= MAX_URL
                    moved_to = target if permanent else None
                    url = target
                    continue
                return await self._finish(state, resp, moved_to)
        return _failed(state.url, "redirects", f"more than {MAX_REDIRECTS} redirects")

    async def _finish(self, state: FeedState, resp: httpx.Response, moved_to: str | None) -> FetchResult:
        code = resp.status_code
        common = dict(url=state.url, moved_to=moved_to, http_status=code)
        if code == 304:
            return FetchResult(status="not_modified", etag=state.etag, last_modified=state.last_modified, **common)
        if code == 410:
            return FetchResult(status="gone", error="410 Gone: the publisher removed this feed", problem="gone",
                               **common)
        if code >= 400 or code < 200:
            return FetchResult(status="error", error=f"HTTP {code} {resp.reason_phrase[:100]}".strip(),
                               problem="http", retry_after=_retry_after(resp.headers.get("retry-after")),
                               **common)
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.poll.max_bytes:
            raise TooLarge(f"response of {int(declared)} bytes is over the {self.poll.max_bytes}-byte limit")
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            # Both limits: bytes on the wire and bytes after decompression (a gzip bomb is small on the wire).
            if size > self.poll.max_bytes or resp.num_bytes_downloaded > self.poll.max_bytes:
                raise TooLarge(f"response is over the {self.poll.max_bytes}-byte limit")
            chunks.append(chunk)
        # Only the headers feedparser reads, and only sane ones: a 3 KB Content-Location is no base address.
        headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() in
                   ("content-type", "content-language", "content-location") and len(v) <= MAX_URL}
        headers.setdefault("content-location", str(resp.url)[:MAX_URL])
        return FetchResult(status="ok", body=b"".join(chunks), headers=headers,
                           etag=_validator(resp.headers.get("etag"), MAX_ETAG),
                           last_modified=_validator(resp.headers.get("last-modified"), MAX_HTTP_DATE), **common)

    def _read_file(self, state: FeedState) -> FetchResult:
        path = Path(url2pathname(urlsplit(state.moved_to or state.url).path))
        try:
            stat = path.stat()
            stamp = formatdate(stat.st_mtime, usegmt=True)
            if state.last_modified == stamp:
                return FetchResult(state.url, "not_modified", last_modified=stamp)
            if stat.st_size > self.poll.max_bytes:
                raise TooLarge(f"file of {stat.st_size} bytes is over the {self.poll.max_bytes}-byte limit")
            with open(path, "rb") as fh:
                body = fh.read(self.poll.max_bytes + 1)
        except OSError as exc:
            return _failed(state.url, "file", f"cannot read {path}: {exc.strerror or exc}")
        return FetchResult(state.url, "ok", body=body, last_modified=stamp,
                           headers={"content-location": state.url, "last-modified": stamp,
                                    "content-type": "application/xml"})
