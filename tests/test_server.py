"""The health and metrics server of `dealticker run`: the real runner, feeds from the stand-in, real databases."""
from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import signal
import socket
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from bot.config import ConfigError, ServerConfig, TelegramConfig, load_config
from bot.models import PollSummary
from bot.platforms.console import ConsolePlatform
from bot.runner import run
from bot.platforms.base import ApiCheck
from bot.server import poll_check
from bot.store import Store
from tests.conftest import PG_URL, ROOT, _pg_available, feed_bytes, start_dealticker, with_feeds, write_config
from tests.feedserver import Route
from tests.telegram_stub import TelegramStub

SHIPPED = ROOT / "config" / "dealticker.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}") as response:
            return response.status, await response.text()


async def wait_until(check, timeout: float = 30.0):
    for _ in range(int(timeout * 10)):
        if got := await check():
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached within {timeout} s")


def samples(exposition: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


class Running:
    """`dealticker run` in this event loop: the console platform, the server on a free loopback port."""

    def __init__(self, config, store, listen: str = "127.0.0.1", interval: int = 600, console: bool = True):
        self.port = free_port()
        self.config = dataclasses.replace(config, server=ServerConfig(listen=listen, port=self.port),
                                          poll=dataclasses.replace(config.poll, interval_seconds=interval,
                                                                   jitter_seconds=0, timeout_seconds=60))
        self.store, self.stream, self.stop = store, io.StringIO(), asyncio.Event()
        self.platforms = {"console": ConsolePlatform(self.stream)} if console else None  # None: from config

    async def __aenter__(self):
        self.task = asyncio.create_task(run(self.config, self.store, self.stop, self.platforms))
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        await asyncio.wait_for(self.task, 30)

    async def get(self, path: str) -> tuple[int, str]:
        async def answered():
            if self.task.done():
                self.task.result()  # the runner failed: show why
            try:
                return await get(self.port, path)
            except aiohttp.ClientConnectionError:
                return None
        return await wait_until(answered)


def test_server_is_off_by_default_and_the_environment_switches_it_on():
    assert not load_config(SHIPPED, env={}).server.enabled
    on = load_config(SHIPPED, env={"DEALTICKER_SERVER_LISTEN": "0.0.0.0"}).server
    assert on.enabled and (on.listen, on.port) == ("0.0.0.0", 9108)
    with pytest.raises(ConfigError) as caught:
        load_config(SHIPPED, env={"DEALTICKER_SERVER_LISTEN": "not an address!"})
    assert any(p.startswith("environment: DEALTICKER_SERVER_LISTEN") for p in caught.value.problems)


async def test_nothing_listens_when_the_server_is_off(config, feed_server):
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    config = with_feeds(config, ("SPIEGEL", feed_server.url("/spiegel.rss")))
    store = Store(config.database_url)
    store.migrate()
    async with Running(config, store, listen="") as bot:
        await wait_until(lambda: asyncio.to_thread(store.last_poll))
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(bot.port, "/healthz")
    store.close()


async def exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_wrong_requests_get_a_plain_answer_and_a_silent_client_does_not_hold_up_the_stop(config):
    store = Store(config.database_url)
    store.migrate()
    async with Running(config, store) as bot:
        await bot.get("/healthz")  # up
        silent = await asyncio.open_connection("127.0.0.1", bot.port)  # connects, never sends a request
        answers = {what: (await exchange(bot.port, request)).decode("latin-1") for what, request in {
            "unknown path": b"GET /health?full=1 HTTP/1.1\r\nHost: bot\r\n\r\n",
            "POST": b"POST /metrics HTTP/1.1\r\nHost: bot\r\nContent-Length: 2\r\n\r\n{}",
            "TLS to a plain port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            "HEAD": b"HEAD /healthz HTTP/1.1\r\nHost: bot\r\n\r\n",
            "HTTP/1.0 with a query": b"GET /healthz?verbose HTTP/1.0\r\n\r\n"}.items()}
        status, body = await bot.get("/healthz")  # still serving
    # Stopping cut the silent connection rather than wait out the time it has to send a request.
    cut = await asyncio.wait_for(silent[0].read(), 30)
    silent[1].close()
    store.close()

    assert answers["unknown path"].startswith("HTTP/1.1 404 Not Found\r\n")
    assert answers["unknown path"].endswith("not found; this server answers /healthz, /readyz, /metrics\n")
    assert answers["POST"].startswith("HTTP/1.1 405 Method Not Allowed\r\n")
    assert "Allow: GET, HEAD\r\n" in answers["POST"]
    assert answers["TLS to a plain port"].startswith("HTTP/1.1 400 Bad Request\r\n")
    head, _, rest = answers["HEAD"].partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK\r\n") and "Content-Length: 34" in head and rest == ""
    assert answers["HTTP/1.0 with a query"].endswith('{"status": "ok", "database": "ok"}')
    assert all("Connection: close\r\n" in a for a in answers.values())
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert cut == b""


async def test_health_readiness_and_metrics_of_a_run(config, feed_server):
    # The feed answers slowly: the first poll is still running while the bot is probed.
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"), delay=8)
    config = with_feeds(config, ("SPIEGEL", feed_server.url("/spiegel.rss")))
    store = Store(config.database_url)
    store.migrate()
    async with Running(config, store) as bot:
        status, body = await bot.get("/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}
        async def fetching():  # the first poll is under way, held up by the slow feed
            return feed_server.requests
        await wait_until(fetching)
        status, body = await bot.get("/readyz")
        ready = json.loads(body)
        assert status == 503 and ready["status"] == "starting" and ready["failed"] == ["poll"], ready
        assert ready["platforms"] == {"console": "connected"}

        async def delivered():
            counts = await asyncio.to_thread(store.delivery_counts)
            return set(counts) == {"sent"} and counts
        sent = (await wait_until(delivered))["sent"]
        status, body = await bot.get("/readyz")
        assert status == 200 and json.loads(body)["status"] == "ok", body
        status, body = await bot.get("/metrics")
    store_last = store.last_poll()
    store.close()

    assert status == 200
    values = samples(body)

    def value(name, **labels):
        return values[(name, frozenset(labels.items()))]
    assert store_last.new_alerts > 0 and bot.stream.getvalue().count("─── #") == sent
    assert value("dealticker_polls_total", outcome="ok") == 1 and value("dealticker_polls_total", outcome="failed") == 0
    assert value("dealticker_poll_duration_seconds_count") == 1
    assert value("dealticker_fetches_total", result="ok") == 1 and value("dealticker_fetches_total", result="timeout") == 0
    assert value("dealticker_items_total") == store_last.entries > 0
    assert value("dealticker_relevant_items_total") == store_last.relevant > 0
    assert value("dealticker_stories_total") == value("dealticker_alerts_total", kind="new") == store_last.new_alerts
    assert value("dealticker_deliveries_total", platform="console", result="sent") == sent
    assert value("dealticker_deliveries_total", platform="console", result="transient") == 0
    assert value("dealticker_delivery_latency_seconds_count", platform="console") == sent
    assert value("dealticker_outbox_pending", platform="console") == 0
    assert value("dealticker_outbox_oldest_pending_age_seconds", platform="console") == 0
    assert value("dealticker_rate_limited_total", platform="console") == 0
    assert value("dealticker_database_up") == 1
    assert value("dealticker_last_poll_timestamp_seconds") == store_last.finished.timestamp()
    assert value("dealticker_leader") == 1 and value("dealticker_instances") == 1  # alone: it polls
    assert value("process_resident_memory_bytes") > 0


def on_telegram(config, feed_server, stub: TelegramStub) -> tuple:
    """The configuration and a migrated store for a bot on the Telegram stand-in that polls one SPIEGEL feed."""
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    config = dataclasses.replace(with_feeds(config, ("SPIEGEL", feed_server.url("/spiegel.rss"))),
                                 telegram=TelegramConfig(token=stub.token, api_url=stub.base_url))
    store = Store(config.database_url)
    store.migrate()
    return config, store


async def test_telegram_not_ready_until_connected_and_its_429s_and_retries_counted(config, feed_server):
    with TelegramStub() as stub:
        config, store = on_telegram(config, feed_server, stub)
        for chat in ("3001", "3002"):
            store.subscribe("telegram", chat)
        stub.fail("sendMessage", 429, retry_after=1, chat_id=3001)  # flood control once
        stub.fail("sendMessage", 500, chat_id=3002)  # a server error once
        stub.delay("getMe", 6)  # Telegram answers slowly at the start: the bot is not connected yet
        async with Running(config, store, console=False) as bot:
            status, body = await bot.get("/readyz")
            starting = json.loads(body)
            assert status == 503 and starting["platforms"] == {"telegram": "not connected"}, starting
            assert starting["failed"] == ["poll", "telegram"] and starting["poll"]["state"] == "starting"
            async def delivered():
                counts = await asyncio.to_thread(store.delivery_counts)
                return store.last_poll() and set(counts) == {"sent"} and counts["sent"]
            sent = await wait_until(delivered)
            status, body = await bot.get("/readyz")
            assert status == 200 and json.loads(body)["platforms"] == {"telegram": "connected"}, body
            values = samples((await bot.get("/metrics"))[1])
        stories = store.last_poll().new_alerts
        store.close()
    assert sent == 2 * stories == len(stub.sent(3001)) + len(stub.sent(3002))
    assert values[("dealticker_rate_limited_total", frozenset({"platform": "telegram"}.items()))] == 1
    for result, count in (("sent", sent), ("rate_limited", 1), ("transient", 1), ("rejected", 0)):
        assert values[("dealticker_deliveries_total", frozenset({"platform": "telegram", "result": result}.items()))] \
            == count, result


async def test_telegram_is_not_ready_while_its_api_refuses_the_token_and_ready_again_at_once(config, feed_server, caplog):
    with TelegramStub() as stub:
        config, store = on_telegram(config, feed_server, stub)
        async with Running(config, store, console=False) as bot:
            await stub.wait_calls_async("getUpdates", 1, timeout=20)  # started and receiving
            stub.fail("getMe", 401, "Unauthorized", times=None)  # the token was revoked meanwhile
            status, body = await bot.get("/readyz")
            refused = json.loads(body)
            stub.clear_failures()
            status_after, body_after = await bot.get("/readyz")
        store.close()
    assert status == 503 and refused["platforms"] == {"telegram": "not connected"} and "telegram" in refused["failed"]
    assert json.loads(body_after)["platforms"] == {"telegram": "connected"}, body_after
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.platforms.base"]
    assert warnings[0].startswith("Telegram: the API does not answer our credentials (")
    assert warnings[1] == "Telegram: the API answers again; ready"
    assert not any(stub.token in r.getMessage() for r in caplog.records)


async def test_an_api_answer_is_trusted_for_a_while_a_failure_asked_again_and_probes_share_one_question():
    answers, asked = [True, False, True], []

    async def ask():
        asked.append(1)
        await asyncio.sleep(0.05)
        if not answers[len(asked) - 1]:
            raise ConnectionError("network unreachable")

    check = ApiCheck("Test", ask, trust=0.5)
    assert await asyncio.gather(check(), check(), check()) == [True, True, True] and len(asked) == 1
    assert await check() and len(asked) == 1  # trusted
    await asyncio.sleep(0.6)
    assert not await check() and len(asked) == 2  # asked again: refused
    assert await check() and len(asked) == 3  # a failure is not trusted: asked at the next probe


async def test_readiness_fails_when_polls_stop_finishing(config, feed_server):
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    config = with_feeds(config, ("SPIEGEL", feed_server.url("/spiegel.rss")))
    store = Store(config.database_url)
    store.migrate()
    async with Running(config, store, interval=1) as bot:  # ready while the last poll is at most 3 s old
        async def ready():
            status, body = await bot.get("/readyz")
            return status == 200
        await wait_until(ready)
        feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"), delay=40)

        async def late():
            status, body = await bot.get("/readyz")
            return status == 503 and json.loads(body)
        body = await wait_until(late)
    store.close()
    assert body["status"] == "late" and body["failed"] == ["poll"], body
    assert "more than 3 s" in body["poll"]["detail"] and body["platforms"] == {"console": "connected"}


async def test_an_old_last_poll_is_late_once_the_start_is_over_and_starting_before():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    old = PollSummary(finished=now - timedelta(minutes=31))
    assert poll_check(old, now, started=now - timedelta(minutes=5), interval=600).state == "starting"
    late = poll_check(old, now, started=now - timedelta(minutes=40), interval=600)
    assert late.state == "late" and "1860 s ago, more than 1800 s" in late.detail
    assert poll_check(None, now, started=now - timedelta(minutes=40), interval=600).state == "late"
    assert poll_check(PollSummary(finished=now - timedelta(minutes=29)), now, now, 600).ok


@pytest.fixture
def pg_database():
    """A PostgreSQL database of its own, which the test may drop while the bot uses it."""
    if reason := _pg_available():
        pytest.skip(reason)
    name = f"dt_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    yield url, drop
    drop()
    admin.dispose()


async def test_liveness_fails_when_the_database_is_gone(config, feed_server, pg_database):
    url, drop = pg_database
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    config = dataclasses.replace(with_feeds(config, ("SPIEGEL", feed_server.url("/spiegel.rss"))), database_url=url)
    store = Store(url)
    store.migrate()
    async with Running(config, store) as bot:
        assert (await bot.get("/healthz"))[0] == 200
        await wait_until(lambda: asyncio.to_thread(store.last_poll))
        await asyncio.to_thread(drop)
        status, body = await bot.get("/healthz")
        assert status == 503, body
        health = json.loads(body)
        assert health["status"] == "fail" and "does not exist" in health["database"], health
        status, body = await bot.get("/readyz")
        assert status == 503 and json.loads(body)["poll"]["state"] == "unknown", body
        status, body = await bot.get("/metrics")  # still served: the database's state is one of them
        assert status == 200 and samples(body)[("dealticker_database_up", frozenset())] == 0
    store.close()


async def test_the_environment_switches_the_server_on_for_dealticker_run(tmp_path, feed_server):
    feed_server.routes["/spiegel.rss"] = Route(body=feed_bytes("spiegel_wirtschaft.rss"))
    (tmp_path / "etc").mkdir()  # start_dealticker writes its own file into tmp_path
    config = write_config(tmp_path / "etc", [("SPIEGEL", feed_server.url("/spiegel.rss"))])
    port = free_port()
    config.write_text(config.read_text(encoding="utf-8").replace("\nport = 9108\n", f"\nport = {port}\n"),
                      encoding="utf-8")
    bot = start_dealticker(tmp_path, [], env={"DEALTICKER_CONFIG": str(config),
                                              "DEALTICKER_SERVER_LISTEN": "127.0.0.1"})
    try:
        async def ready():
            try:
                return (await get(port, "/readyz"))[0] == 200
            except aiohttp.ClientConnectionError:
                return bot.poll() is not None  # ended: the assertions below show the log
        await wait_until(ready, 60)
        status, body = await get(port, "/metrics")
        bot.send_signal(signal.SIGTERM)
        await asyncio.to_thread(bot.wait, 30)
    finally:
        bot.kill()
    log = (tmp_path / "run.log").read_text()
    assert bot.returncode == 0 and "Traceback" not in log, log
    assert f"health and metrics server on 127.0.0.1 port {port}" in log
    assert status == 200 and samples(body)[("dealticker_polls_total", frozenset({"outcome": "ok"}.items()))] >= 1
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
        await get(port, "/healthz")
