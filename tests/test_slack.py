"""Slack end to end in HTTP mode: signed requests as Slack sends them, the real slack_sdk client
against the loopback Web API stand-in, alerts through the shared outbox."""
from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from datetime import datetime, timezone

import pytest

from bot.platforms.slack_blocks import render_blocks
from tests.chat_bots import CHANNEL, SECRET, wait_for
from tests.factories import add_story, article, long_stories, rss, senate_story
from tests.slack_stub import (BOT_USER_ID, app_mention_event, deliver, event_body, sign,
                              slash_command_body)



async def test_a_story_is_one_thread_edited_in_place_with_follow_ups_in_its_thread(slack_bot, slack_stub):
    """One event from two outlets is one post, updated in place to name the second outlet; a later
    report with a new figure is posted in the post's thread; nothing new changes nothing."""
    slack_bot.store.subscribe("slack", CHANNEL)
    story = senate_story(datetime.now(timezone.utc))
    await slack_bot.publish(rss(story["first"]))
    [post] = await wait_for(lambda: slack_stub.posts(CHANNEL))
    assert post.text.startswith("US-Senat billigt Tiktok-Gesetz") and post.thread_ts is None

    await slack_bot.publish(rss(story["other_outlet"]), "/other.rss")
    [update] = await wait_for(lambda: slack_stub.updates(CHANNEL))
    assert update.ts == post.ts
    shown = slack_stub.message(CHANNEL, post.ts)["text"]
    assert "zuerst: SPIEGEL" in shown and "Auch bei: tagesschau" in shown
    assert len(slack_stub.posts(CHANNEL)) == 1

    await slack_bot.publish(rss(story["first"], story["new_fact"]))
    posts = await wait_for(lambda: len(slack_stub.posts(CHANNEL)) == 2 and slack_stub.posts(CHANNEL))
    assert posts[1].thread_ts == post.ts
    assert posts[1].text.startswith("Neu: Abstimmung 79 zu 18") and "laut Reuters" in posts[1].text

    await slack_bot.publish(rss(story["first"], story["new_fact"]))
    await slack_bot.publish(rss(story["other_outlet"]), "/other.rss")
    await asyncio.sleep(1.5)
    assert len(slack_stub.posts(CHANNEL)) == 2 and len(slack_stub.updates(CHANNEL)) == 1


async def test_subscribe_alert_latest_bidders(slack_bot, slack_stub):
    reply = await slack_bot.slash("/subscribe")
    assert "Abonniert" in reply.text and reply.body["response_type"] == "in_channel"
    assert slack_bot.store.subscriptions("slack") == [("slack", CHANNEL, "")]

    report = await slack_bot.publish()
    posts = await wait_for(
        lambda: len(slack_stub.posts(CHANNEL)) >= len(report.new_alerts) and slack_stub.posts(CHANNEL))
    walmart = [p for p in posts if "Walmart will gemeinsam mit Microsoft" in p.text]
    assert len(walmart) == 1
    blocks = walmart[0].blocks
    assert blocks[0]["type"] == "section" and blocks[0]["text"]["text"].startswith("<https://")
    assert blocks[1]["type"] == "context" and "SPIEGEL" in blocks[1]["elements"][0]["text"]
    assert any("Microsoft (in Verhandlungen)" in b.get("text", {}).get("text", "") for b in blocks)
    assert walmart[0].unfurl_links is False

    await slack_bot.publish()
    await asyncio.sleep(1.5)
    assert len(slack_stub.posts(CHANNEL)) == len(report.new_alerts)

    latest = await slack_bot.slash("/latest", "2", name="latest")
    assert latest.body["response_type"] == "in_channel" and "Die 2 neuesten" in latest.text
    bidders = await slack_bot.slash("/dealticker", "bidders", name="bidders")
    assert "Walmart" in bidders.text
    junk = await slack_bot.slash("/latest", "zwölf", name="junk")
    assert junk.body["response_type"] == "ephemeral" and "keine Anzahl" in junk.text
    helped = await slack_bot.slash("/dealticker", "", name="help")
    assert helped.body["response_type"] == "ephemeral" and "/bidders" in helped.text


async def test_latest_20_shows_whole_stories_says_how_many_more_and_never_cuts_a_line(slack_bot, slack_stub):
    stories = long_stories(20)
    for story in stories:
        add_story(slack_bot.store, story)
    reply = await slack_bot.slash("/latest", "20", name="latest")
    blocks = reply.body["blocks"]
    assert len(blocks) <= 50
    assert all(len((b["elements"][0] if b["type"] == "context" else b["text"])["text"]) <= 3000 for b in blocks)
    shown = int(re.fullmatch(r"\*Die (\d+) neuesten Meldungen:\*", blocks[0]["text"]["text"]).group(1))
    heads = [i for i, b in enumerate(blocks) if b["type"] == "section" and b["text"]["text"].startswith("<https://")]
    assert 10 <= len(heads) == shown < 20
    for rank, i in enumerate(heads):  # newest first, each whole: headline, outlets and time, summary, bidders
        story = 19 - rank
        assert f"Wendung {story}: Q{story:02d}A" in blocks[i]["text"]["text"]
        assert blocks[i + 1]["type"] == "context"
        assert "3 Quellen: SPIEGEL, FAZ, heise · zuletzt" in blocks[i + 1]["elements"][0]["text"]
        body = blocks[i + 2]["text"]["text"]
        assert stories[story][0].summary in body and "Microsoft (genannt)" in body
    closing = f"{20 - shown} weitere passen nicht in diese Nachricht – /latest {20 - shown} ab {shown + 1} zeigt sie."
    assert blocks[-1]["text"]["text"].endswith(closing)
    # The fallback (notifications) holds whole lines only, and says when more follows.
    whole = {"", "…", f"Die {shown} neuesten Meldungen:", closing,
             "Bieter: Oracle (in Verhandlungen), Microsoft (genannt)"}
    whole |= {s[0].entry.title for s in stories} | {s[0].summary for s in stories}
    for line in reply.text.split("\n"):
        assert line in whole or re.fullmatch(r"3 Quellen: SPIEGEL, FAZ, heise · zuletzt [\d. :]{16}", line), line
    assert reply.text.startswith(f"Die {shown} neuesten Meldungen:") and len(reply.text) <= 3000


async def test_app_mention_answers_in_the_channel(slack_bot, slack_stub):
    body = event_body(app_mention_event(f"<@{BOT_USER_ID}> bidders", channel=CHANNEL))
    status, _, _ = await deliver(slack_bot.url, body, SECRET)
    assert status == 200
    post = (await wait_for(lambda: slack_stub.posts(CHANNEL)))[0]
    assert "keine Meldung einen Bieter" in post.text


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned"])
async def test_forged_stale_and_unsigned_requests_are_refused(slack_bot, slack_stub, how):
    import aiohttp

    body = slash_command_body("/subscribe", "", CHANNEL, "U1", slack_stub.response_url("x"))
    if how == "forged":
        headers = sign("not-the-secret", body)
    elif how == "stale":
        headers = sign(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as session:
        async with session.post(slack_bot.url, data=body, headers=headers) as resp:
            assert resp.status == 401
    await asyncio.sleep(0.3)
    assert slack_bot.store.subscriptions("slack") == [] and slack_stub.responses("x") == []


async def test_archived_channel_is_unsubscribed(slack_bot, slack_stub, caplog):
    slack_bot.store.subscribe("slack", CHANNEL)
    slack_bot.store.subscribe("slack", "C0OTHER")
    slack_stub.add_channel("C0OTHER", "other")
    slack_stub.archive(CHANNEL)
    report = await slack_bot.publish()
    await wait_for(lambda: len(slack_stub.posts("C0OTHER")) >= len(report.new_alerts))
    await wait_for(lambda: slack_bot.store.subscriptions("slack") == [("slack", "C0OTHER", "")])
    assert slack_stub.posts(CHANNEL) == []
    assert "is_archived; unsubscribing" in caplog.text


async def test_rate_limit_is_obeyed_and_nothing_is_lost(slack_bot, slack_stub):
    slack_bot.store.subscribe("slack", CHANNEL)
    slack_stub.fail("chat.postMessage", "ratelimited", retry_after=1, channel=CHANNEL)
    slack_stub.fail("chat.postMessage", "internal_error", status=500, channel=CHANNEL)
    report = await slack_bot.publish()
    n = len(report.new_alerts)
    posts = await wait_for(lambda: len(slack_stub.posts(CHANNEL)) >= n and slack_stub.posts(CHANNEL), timeout=30)
    await asyncio.sleep(1.5)
    assert len(slack_stub.posts(CHANNEL)) == n == len({p.text for p in posts})


def test_feed_text_is_escaped_for_mrkdwn():
    from bot.messages import alert_message

    a = article("<b>TikTok</b> & Oracle: Deal „fast fertig“ <!channel>", link="https://ex.org/a?x=1&y=<2>")
    stored = dataclasses.replace(_alert_from(a))
    fallback, blocks = render_blocks(alert_message(stored, "Europe/Berlin"))
    head = blocks[0]["text"]["text"]
    assert "&lt;b&gt;TikTok&lt;/b&gt; &amp; Oracle" in head and "&lt;!channel&gt;" in head
    assert "<!channel>" not in head and head.count("<") == 1
    assert "&lt;b&gt;TikTok&lt;/b&gt; &amp; Oracle" in fallback and "<!channel>" not in fallback


def _alert_from(a):
    from bot.models import Alert

    e = a.entry
    return Alert(id=1, title=e.title, link=e.link, source=e.source, published=e.published, summary=a.summary)


def test_app_manifest_declares_the_command_tables_slash_commands_and_the_scopes_it_needs():
    """config/slack-app-manifest.yml is written by hand; its slash commands (names, usage hints,
    descriptions, in order) must be those the command table gives, and the app must serve them all."""
    import yaml

    from bot.commands import COMMANDS
    from bot.platforms.slack import SLASH, slash_commands
    from tests.conftest import ROOT

    manifest = yaml.safe_load((ROOT / "config" / "slack-app-manifest.yml").read_text(encoding="utf-8"))
    declared = manifest["features"]["slash_commands"]
    assert [{k: c.get(k, "") for k in ("command", "usage_hint", "description")} for c in declared] == slash_commands()
    assert [c["command"] for c in declared] == list(SLASH)
    umbrella = declared[-1]["description"]
    assert all(c.name in umbrella for c in COMMANDS if c.name != "start")
    assert {"app_mentions:read", "chat:write", "commands", "users:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention"]


async def test_help_on_slack_names_each_command_as_slack_users_type_it(slack_bot):
    """Slack has no /status or /help of ours (the names are Slack's own or shared): help says
    "/dealticker status"; the commands with a slash command of their own keep it."""
    from bot.commands import COMMANDS

    reply = await slack_bot.slash("/dealticker")
    listed = [line.split(" – ")[0] for line in reply.text.splitlines()[2:]]
    assert listed == [c.usage if c.slash else f"/dealticker {c.usage[1:]}" for c in COMMANDS]
    assert "/dealticker status" in listed and "/latest [Anzahl] [ab Nr.]" in listed
    assert "/dealticker help zeigt" in (await slack_bot.slash("/dealticker", "statsu")).text


async def test_not_connected_while_slack_refuses_the_token_and_connected_again_at_once(slack_bot, slack_stub):
    slack_stub.fail("auth.test", "invalid_auth", times=None)  # the app was uninstalled after the start
    refused = await slack_bot.platform.connected()
    slack_stub.clear_failures()
    assert not refused and await slack_bot.platform.connected()
