"""`dealticker run` in the test's event loop, wired to the Telegram or Slack stand-in: the harnesses the
platform tests share (their fixtures are in conftest.py)."""
from __future__ import annotations

import asyncio
import dataclasses
import time

from bot.commands import Commands
from bot.config import SlackConfig, TelegramConfig
from bot.pipeline import Pipeline
from bot.platforms.slack import SlackPlatform
from bot.runner import run
from bot.store import Store
from tests.conftest import feed_bytes, with_feeds
from tests.feedserver import Route
from tests.slack_stub import deliver, slash_command_body

ALICE = 1001  # a Telegram user in a private chat with the bot
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the Slack app's signing secret
CHANNEL = "C0DEAL"  # a Slack channel the bot is in
EMPTY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><language>de</language></channel></rss>'


async def wait_for(check, timeout: float = 15.0):
    """The first true value of `check()`, asked every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met")


class _ChatBot:
    """Two feeds (SPIEGEL at /feed.rss, tagesschau at /other.rss), empty until a test publishes; the
    test polls by hand, so it decides when items arrive."""

    def __init__(self, config, stub, feed_server, **platform):
        self.stub, self.feed_server = stub, feed_server
        feed_server.routes["/feed.rss"] = Route(body=EMPTY)
        feed_server.routes["/other.rss"] = Route(body=EMPTY)
        self.config = dataclasses.replace(with_feeds(config, ("SPIEGEL", feed_server.url("/feed.rss")),
                                                     ("tagesschau", feed_server.url("/other.rss"))), **platform)
        self.store = Store(self.config.database_url)
        self.store.migrate()
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def _first_poll(self) -> None:
        for _ in range(200):  # the bot's own first poll (of the empty feeds) must not race the test's
            if self.store.get_meta("last_poll"):
                return
            await asyncio.sleep(0.05)

    async def __aexit__(self, *exc):
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
        self.store.close()

    async def publish_bytes(self, body: bytes, path: str = "/feed.rss"):
        self.feed_server.routes[path] = Route(body=body)
        return await Pipeline(self.config, self.store).poll_once()


class TelegramBot(_ChatBot):
    def __init__(self, config, stub, feed_server):
        super().__init__(config, stub, feed_server, telegram=TelegramConfig(token=stub.token, api_url=stub.base_url))

    async def __aenter__(self):
        self.task = asyncio.create_task(run(self.config, self.store, self.stop))
        await self.stub.wait_calls_async("getUpdates", 1, timeout=10)
        await self._first_poll()
        return self

    async def publish(self, fixture: str = "spiegel_wirtschaft.rss", path: str = "/feed.rss"):
        return await self.publish_bytes(feed_bytes(fixture), path)

    async def say(self, chat_id, text, **kw) -> dict:
        before = len(self.stub.sent(chat_id))
        self.stub.push_message(chat_id, text, **kw)
        return (await self.stub.wait_sent_async(before + 1, chat_id=chat_id, timeout=10))[-1]


class SlackBot(_ChatBot):
    """In HTTP mode: the test sends signed requests as Slack does, to `url`."""

    def __init__(self, config, stub, feed_server, **slack):
        super().__init__(config, stub, feed_server, slack=SlackConfig(
            bot_token=stub.token, signing_secret=SECRET, api_url=stub.base_url, http_listen="127.0.0.1",
            http_port=0, **slack))
        self.platform = SlackPlatform(self.config.slack, Commands(self.config, self.store))

    async def __aenter__(self):
        self.task = asyncio.create_task(run(self.config, self.store, self.stop, {"slack": self.platform}))
        for _ in range(200):
            if self.platform.port:
                break
            await asyncio.sleep(0.05)
        await self._first_poll()
        self.url = f"http://127.0.0.1:{self.platform.port}/slack/events"
        return self

    async def publish(self, body: bytes | None = None, path: str = "/feed.rss"):
        return await self.publish_bytes(body or feed_bytes("spiegel_wirtschaft.rss"), path)

    async def slash(self, command: str, text: str = "", channel: str = CHANNEL, name: str = "r", user: str = "U1"):
        before = len(self.stub.responses(name))
        body = slash_command_body(command, text, channel, user, self.stub.response_url(name))
        status, _, _ = await deliver(self.url, body, SECRET)
        assert status == 200
        return (await wait_for(lambda: self.stub.responses(name)[before:]))[0]
