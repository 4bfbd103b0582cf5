"""Slack command replies are paced with the alerts and survive rate limits: none is lost."""
from __future__ import annotations

import asyncio
import logging

from tests.chat_bots import CHANNEL, SECRET, wait_for
from tests.slack_stub import BOT_USER_ID, app_mention_event, deliver, event_body, slash_command_body


async def _mention(slack_bot, text: str) -> None:
    mention = app_mention_event(f"<@{BOT_USER_ID}> {text}", channel=CHANNEL)
    status, _, _ = await deliver(slack_bot.url, event_body(mention), SECRET)
    assert status == 200


async def test_rate_limited_mention_reply_is_sent_again(slack_bot, slack_stub, caplog):
    caplog.set_level(logging.INFO)
    slack_stub.fail("chat.postMessage", "ratelimited", retry_after=1, channel=CHANNEL)
    await _mention(slack_bot, "help")
    post = (await wait_for(lambda: slack_stub.posts(CHANNEL)))[0]
    assert "/latest" in post.text
    assert [c.error for c in slack_stub.calls("chat.postMessage")] == ["ratelimited", None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_rate_limited_response_url_is_posted_again(slack_bot, slack_stub):
    slack_stub.fail_response("r", status=429, body="rate_limited")
    body = slash_command_body("/subscribe", "", CHANNEL, "U1", slack_stub.response_url("r"))
    status, _, _ = await deliver(slack_bot.url, body, SECRET)
    assert status == 200
    reply = (await wait_for(lambda: slack_stub.responses("r")))[0]
    assert "Abonniert" in reply.text
    await asyncio.sleep(1.2)
    assert len(slack_stub.responses("r")) == 1


async def test_quick_mentions_in_one_channel_are_all_answered(slack_bot, slack_stub):
    slack_stub.limit_rate(per_channel_per_second=1)
    for text in ("help", "bidders", "latest zwölf"):
        await _mention(slack_bot, text)
    posts = await wait_for(lambda: len(slack_stub.posts(CHANNEL)) >= 3 and slack_stub.posts(CHANNEL))
    await asyncio.sleep(1.2)
    assert len(slack_stub.posts(CHANNEL)) == 3 and slack_stub.rate_limited == 0
    assert "/latest" in posts[0].text and "Bieter" in posts[1].text and "keine Anzahl" in posts[2].text
