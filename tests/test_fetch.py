"""The fetcher against a real loopback HTTP server: conditional GET, redirects, errors, size caps."""
from __future__ import annotations

import asyncio
import gzip
import time
from email.utils import formatdate

import pytest

from bot.config import PollConfig
from bot.fetch import Fetcher, backoff_seconds
from bot.models import FeedState
from tests.conftest import FEEDS, feed_bytes
from tests.feedserver import Route

POLL = PollConfig(timeout_seconds=1.0, max_bytes=200_000)
SPIEGEL = feed_bytes("spiegel_wirtschaft.rss")


def header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


async def fetch(url: str, poll: PollConfig = POLL, **state):
    async with Fetcher(poll) as fetcher:
        return await fetcher.fetch(FeedState(url=url, name="test", **state))


async def test_ok_then_not_modified_with_etag(feed_server):
    feed_server.routes["/feed.rss"] = Route(body=SPIEGEL)
    first = await fetch(feed_server.url("/feed.rss"))
    assert first.status == "ok" and first.http_status == 200
    assert first.body == SPIEGEL
    assert first.etag and first.last_modified
    assert first.headers["content-type"].startswith("application/rss+xml")

    second = await fetch(feed_server.url("/feed.rss"), etag=first.etag, last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.body == b""
    assert second.etag == first.etag  # kept for the next cycle
    _, sent, answered = feed_server.requests[-1]
    assert header(sent, "If-None-Match") == first.etag
    assert answered == 304
    assert header(feed_server.requests[0][1], "If-None-Match") is None


async def test_changed_feed_is_fetched_again_despite_old_etag(feed_server):
    feed_server.routes["/feed.rss"] = Route(body=SPIEGEL)
    first = await fetch(feed_server.url("/feed.rss"))
    feed_server.routes["/feed.rss"] = Route(body=feed_bytes("heise_atom.xml"))
    second = await fetch(feed_server.url("/feed.rss"), etag=first.etag)
    assert second.status == "ok"
    assert second.body == feed_bytes("heise_atom.xml")
    assert second.etag != first.etag


@pytest.mark.parametrize("chain, permanent", [
    ((301,), True),
    ((308,), True),
    ((301, 308), True),
    ((302,), False),
    ((307,), False),
    ((301, 302), False),  # a temporary hop anywhere means the old address stays valid
])
async def test_redirect_chains(feed_server, chain, permanent):
    feed_server.routes["/final.rss"] = Route(body=SPIEGEL)
    for i, code in enumerate(chain):
        target = f"/hop{i + 1}.rss" if i + 1 < len(chain) else "/final.rss"
        # One absolute and one relative Location, as sites send both.
        location = feed_server.url(target) if i % 2 == 0 else target
        feed_server.routes[f"/hop{i}.rss"] = Route(status=code, headers={"Location": location})

    result = await fetch(feed_server.url("/hop0.rss"))

    assert result.status == "ok"
    assert result.body == SPIEGEL
    assert result.url == feed_server.url("/hop0.rss")
    assert result.moved_to == (feed_server.url("/final.rss") if permanent else None)
    assert [p for p, _, _ in feed_server.requests] == [f"/hop{i}.rss" for i in range(len(chain))] + ["/final.rss"]


async def test_fetch_uses_remembered_new_address(feed_server):
    feed_server.routes["/new.rss"] = Route(body=SPIEGEL)
    result = await fetch(feed_server.url("/old.rss"), moved_to=feed_server.url("/new.rss"))
    assert result.status == "ok"
    assert [p for p, _, _ in feed_server.requests] == ["/new.rss"]


async def test_redirect_loop_is_an_error(feed_server):
    feed_server.routes["/a.rss"] = Route(status=301, headers={"Location": "/b.rss"})
    feed_server.routes["/b.rss"] = Route(status=301, headers={"Location": "/a.rss"})
    result = await fetch(feed_server.url("/a.rss"))
    assert result.status == "error"
    assert "redirect" in result.error
    assert len(feed_server.requests) < 10


async def test_410_is_gone(feed_server):
    feed_server.routes["/feed.rss"] = Route(status=410, body=b"gone")
    result = await fetch(feed_server.url("/feed.rss"))
    assert result.status == "gone"
    assert result.http_status == 410
    assert "410" in result.error


@pytest.mark.parametrize("code", [404, 500])
async def test_http_errors(feed_server, code):
    if code != 404:  # an unknown path is answered 404 by the server itself
        feed_server.routes["/feed.rss"] = Route(status=code, body=b"oops")
    result = await fetch(feed_server.url("/feed.rss"))
    assert result.status == "error"
    assert result.http_status == code
    assert str(code) in result.error
    assert result.body == b""
    assert result.retry_after is None


async def test_retry_after_seconds(feed_server):
    feed_server.routes["/feed.rss"] = Route(status=429, headers={"Retry-After": "120"})
    result = await fetch(feed_server.url("/feed.rss"))
    assert result.status == "error"
    assert "429" in result.error
    assert result.retry_after == 120.0


async def test_retry_after_http_date(feed_server):
    when = formatdate(time.time() + 300, usegmt=True)
    feed_server.routes["/feed.rss"] = Route(status=503, headers={"Retry-After": when})
    result = await fetch(feed_server.url("/feed.rss"))
    assert result.status == "error"
    assert "503" in result.error
    assert 200 < result.retry_after <= 301


async def test_body_over_limit_with_content_length(feed_server):
    big = SPIEGEL + b"<!--" + b"x" * 250_000 + b"-->"
    feed_server.routes["/big.rss"] = Route(body=big)
    result = await fetch(feed_server.url("/big.rss"))
    assert result.status == "error"
    assert str(POLL.max_bytes) in result.error
    assert result.body == b""


async def test_gzip_bomb_is_refused_but_small_gzip_is_read(feed_server):
    bomb = SPIEGEL + b"<!--" + b" " * 2_000_000 + b"-->"
    assert len(gzip.compress(bomb)) < POLL.max_bytes  # small on the wire
    feed_server.routes["/bomb.rss"] = Route(body=bomb, gzip=True)
    feed_server.routes["/small.rss"] = Route(body=SPIEGEL, gzip=True)

    refused = await fetch(feed_server.url("/bomb.rss"))
    accepted = await fetch(feed_server.url("/small.rss"))

    assert refused.status == "error"
    assert str(POLL.max_bytes) in refused.error
    assert accepted.status == "ok"
    assert accepted.body == SPIEGEL  # decompressed


async def test_slow_feed_times_out_without_blocking_fast_one(feed_server):
    feed_server.routes["/slow.rss"] = Route(body=SPIEGEL, delay=3.0)
    feed_server.routes["/fast.rss"] = Route(body=feed_bytes("heise_atom.xml"))
    async with Fetcher(POLL) as fetcher:
        slow, fast = await asyncio.gather(
            fetcher.fetch(FeedState(url=feed_server.url("/slow.rss"), name="slow")),
            fetcher.fetch(FeedState(url=feed_server.url("/fast.rss"), name="fast")))
    assert slow.status == "error"
    assert slow.error
    assert fast.status == "ok"
    assert fast.body == feed_bytes("heise_atom.xml")


async def test_unreachable_server_is_an_error():
    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    result = await fetch("http://127.0.0.1:9/feed.rss")
    assert result.status == "error"
    assert result.error


async def test_file_url_then_not_modified():
    url = (FEEDS / "heise_atom.xml").as_uri()
    first = await fetch(url)
    assert first.status == "ok"
    assert first.body == feed_bytes("heise_atom.xml")
    assert first.last_modified

    second = await fetch(url, last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.body == b""


async def test_file_url_over_limit_is_an_error():
    result = await fetch((FEEDS / "spiegel_wirtschaft.rss").as_uri(), PollConfig(max_bytes=1000))
    assert result.status == "error"


async def test_missing_file_is_an_error(tmp_path):
    result = await fetch((tmp_path / "nope.rss").as_uri())
    assert result.status == "error"
    assert "nope.rss" in result.error


async def test_user_agent_names_dealticker(feed_server):
    feed_server.routes["/feed.rss"] = Route(body=SPIEGEL)
    await fetch(feed_server.url("/feed.rss"))
    _, sent, _ = feed_server.requests[0]
    assert "Dealticker" in header(sent, "User-Agent")
    assert "rss" in header(sent, "Accept")


def test_backoff_doubles_and_is_capped():
    interval, cap = 600, 6 * 3600
    assert backoff_seconds(0, interval, cap) == 0
    assert backoff_seconds(-1, interval, cap) == 0
    assert [backoff_seconds(n, interval, cap) for n in range(1, 7)] == [600, 1200, 2400, 4800, 9600, 19200]
    assert backoff_seconds(7, interval, cap) == cap  # 38400 would be over the cap
    assert backoff_seconds(10, interval, cap) == cap
    assert backoff_seconds(10_000, interval, cap) == cap  # no overflow after months of failures
