"""Slack command replies are paced with the alerts and survive rate limits: none is lost."""
from __future__ import annotations

import asyncio
import logging

import pytest

from tests.chat_bots import CHANNEL, SECRET, SlackBot, wait_for
from tests.slack_stub import BOT_USER_ID, SlackStub, app_mention_event, deliver, event_body, slash_command_body


@pytest.fixture
def stub():
    with SlackStub() as s:
        s.add_channel(CHANNEL, "tiktok-deal")
        s.add_user("U1", "anna", is_admin=True)  # a workspace admin: may (un)subscribe the channel
        yield s


@pytest.fixture
async def bot(config, stub, feed_server):
    async with SlackBot(config, stub, feed_server) as b:
        yield b


async def _mention(bot, text: str) -> None:
    status, _, _ = await deliver(bot.url, event_body(app_mention_event(f"<@{BOT_USER_ID}> {text}", channel=CHANNEL)),
                                 SECRET)
    assert status == 200


async def test_rate_limited_mention_reply_is_sent_again(bot, stub, caplog):
    caplog.set_level(logging.INFO)
    stub.fail("chat.postMessage", "ratelimited", retry_after=1, channel=CHANNEL)
    await _mention(bot, "help")
    post = (await wait_for(lambda: stub.posts(CHANNEL)))[0]
    assert "/latest" in post.text
    assert [c.error for c in stub.calls("chat.postMessage")] == ["ratelimited", None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_rate_limited_response_url_is_posted_again(bot, stub):
    stub.fail_response("r", status=429, body="rate_limited")
    body = slash_command_body("/subscribe", "", CHANNEL, "U1", stub.response_url("r"))
    status, _, _ = await deliver(bot.url, body, SECRET)
    assert status == 200
    reply = (await wait_for(lambda: stub.responses("r")))[0]
    assert "Abonniert" in reply.text
    await asyncio.sleep(1.2)
    assert len(stub.responses("r")) == 1


async def test_quick_mentions_in_one_channel_are_all_answered(bot, stub):
    stub.limit_rate(per_channel_per_second=1)
    for text in ("help", "bidders", "latest zwölf"):
        await _mention(bot, text)
    posts = await wait_for(lambda: len(stub.posts(CHANNEL)) >= 3 and stub.posts(CHANNEL))
    await asyncio.sleep(1.2)
    assert len(stub.posts(CHANNEL)) == 3 and stub.rate_limited == 0
    assert "/latest" in posts[0].text and "Bieter" in posts[1].text and "keine Anzahl" in posts[2].text
