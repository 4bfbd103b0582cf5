"""The Slack Web API stub, exercised with the real slack_sdk / slack_bolt clients."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.chat_bots import SECRET
from tests.slack_stub import (
    BOT_USER_ID,
    SlackStub,
    app_mention_event,
    deliver,
    event_body,
    sign,
    slash_command_body,
)


@pytest.fixture
def stub():
    """The stand-in with no channels or users yet (conftest's slack_stub has the bot's channel)."""
    with SlackStub() as s:
        yield s


@pytest.fixture
def client(stub):
    return AsyncWebClient(token=stub.token, base_url=stub.base_url, timeout=5)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_auth_test(stub, client):
    res = await client.auth_test()
    assert res["ok"] is True
    assert res["team_id"] == "T1" and res["user_id"] == BOT_USER_ID and res["bot_id"] == "B0BOT"
    assert res["is_enterprise_install"] is False
    assert res["url"].startswith("https://")
    assert stub.calls[-1].method == "auth.test" and stub.calls[-1].token == stub.token

    bad = AsyncWebClient(token="xoxb-nope", base_url=stub.base_url)
    with pytest.raises(SlackApiError) as exc:
        await bad.auth_test()
    assert exc.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        await AsyncWebClient(base_url=stub.base_url).auth_test()
    assert exc.value.response["error"] == "not_authed"


async def test_post_message_records_blocks_and_returns_ts(stub, client):
    blocks = [section("*Deal* update"), {"type": "divider"}]
    first = await client.chat_postMessage(channel="C1", text="Deal update", blocks=blocks, unfurl_links=False)
    second = await client.chat_postMessage(channel="C2", text="reply", thread_ts=first["ts"])
    assert first["ok"] and first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100" and second["ts"] == "1700000000.000200"
    assert first["message"]["blocks"] == blocks and first["message"]["text"] == "Deal update"

    post = stub.posts("C1")[0]
    assert (post.channel, post.text, post.blocks, post.unfurl_links, post.ts) == (
        "C1", "Deal update", blocks, False, first["ts"])
    assert post.params["unfurl_links"] is False and post["text"] == "Deal update"
    assert [p.channel for p in stub.posts] == ["C1", "C2"]
    assert stub.posts(channel="C2")[0].thread_ts == first["ts"]
    method, params = stub.calls[0]
    assert method == "chat.postMessage" and params["channel"] == "C1"


async def test_form_encoded_post_is_understood(stub, client):
    blocks = [section("hi")]
    await client.api_call("chat.postMessage", data={"channel": "C1", "text": "x", "blocks": json.dumps(blocks),
                                                    "unfurl_links": "true"})
    assert stub.posts[0].blocks == blocks and stub.posts[0].unfurl_links is True


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"channel": "", "text": "x"}, "channel_not_found"),
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "text": "x", "blocks": [section("b")] * 51}, "invalid_blocks"),
        ({"channel": "C1", "text": "x", "blocks": [section("y" * 3001)]}, "invalid_blocks"),
    ],
)
async def test_post_message_validation(stub, client, kwargs, error):
    with pytest.raises(SlackApiError) as exc:
        await client.api_call("chat.postMessage", json=kwargs)
    assert exc.value.response["error"] == error
    assert stub.posts == []
    await client.chat_postMessage(channel="C1", text="x", blocks=[section("y" * 3000)] * 50)


async def test_injected_error_raises_slack_api_error(stub, client):
    stub.fail("chat.postMessage", "channel_not_found", channel="C9")
    await client.chat_postMessage(channel="C1", text="other channel is fine")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C9", text="x")
    assert exc.value.response["error"] == "channel_not_found"
    assert exc.value.response.status_code == 200
    await client.chat_postMessage(channel="C9", text="only once")
    assert [p.text for p in stub.posts] == ["other channel is fine", "only once"]
    assert [c.error for c in stub.calls] == [None, "channel_not_found", None]


async def test_ratelimited_is_retried_by_slack_sdk(stub, client):
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    stub.fail("chat.postMessage", "ratelimited", retry_after=0)
    res = await client.chat_postMessage(channel="C1", text="after retry")
    assert res["ok"] and len(stub.posts) == 1
    assert [(c.status, c.error) for c in stub.calls] == [(429, "ratelimited"), (200, None)]


async def test_ratelimited_answers_429_with_retry_after(stub, client):
    stub.fail("chat.postMessage", "ratelimited")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "1"
    assert exc.value.response["error"] == "ratelimited"


async def test_server_error_is_plain_500_and_retried_by_server_error_handler(stub, client):
    stub.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response.status_code == 500

    client.retry_handlers.append(
        AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0))
    )
    stub.fail("*", "internal_error", status=503)
    assert (await client.chat_postMessage(channel="C1", text="y"))["ok"]


async def test_archived_channel(stub, client):
    stub.archive("C1")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="x")
    assert exc.value.response["error"] == "is_archived"
    info = await client.conversations_info(channel="C1")
    assert info["channel"]["is_archived"] is True
    stub.unarchive("C1")
    await client.chat_postMessage(channel="C1", text="x")


async def test_limit_rate(stub, client):
    stub.limit_rate(per_channel_per_second=1)
    await client.chat_postMessage(channel="C1", text="1")
    await client.chat_postMessage(channel="C2", text="other channel")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C1", text="2")
    assert exc.value.response.status_code == 429 and exc.value.response.headers["Retry-After"] == "1"
    assert stub.rate_limited == 1 and len(stub.posts) == 2


async def test_update_ephemeral_info_unknown(stub, client):
    posted = await client.chat_postMessage(channel="C1", text="v1")
    res = await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert (res["channel"], res["ts"], res["text"]) == ("C1", posted["ts"], "v2")
    assert stub.updates("C1")[0].text == "v2" and stub.message("C1", posted["ts"])["text"] == "v2"
    with pytest.raises(SlackApiError) as exc:
        await client.chat_update(channel="C1", ts="1.000001", text="v3")
    assert exc.value.response["error"] == "message_not_found"

    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert eph["message_ts"] and stub.ephemerals[0].user == "U1"

    stub.add_channel("C7", "deals", is_member=True)
    info = await client.conversations_info(channel="C7")
    assert info["channel"]["name"] == "deals" and info["channel"]["is_channel"] is True
    assert (await client.chat_postMessage(channel="#deals", text="by name"))["channel"] == "C7"
    with pytest.raises(SlackApiError) as exc:
        await client.conversations_info(channel="C404")
    assert exc.value.response["error"] == "channel_not_found"

    stub.add_user("U1", "anna", real_name="Anna A")
    assert (await client.users_info(user="U1"))["user"]["real_name"] == "Anna A"

    with pytest.raises(SlackApiError) as exc:
        await client.api_call("nope.nothing")
    assert exc.value.response["error"] == "unknown_method"


async def test_response_url_records_posts(stub):
    url = stub.response_url("cmd1")
    res = await AsyncWebhookClient(url).send(text="done", response_type="ephemeral")
    assert (res.status_code, res.body) == (200, "ok")
    assert stub.responses("cmd1")[0].body == {"text": "done", "response_type": "ephemeral"}
    stub.fail_response("cmd1")
    assert (await AsyncWebhookClient(url).send(text="late")).status_code == 404
    assert len(stub.responses) == 1


def test_stop_and_context_manager():
    with SlackStub() as stub:
        port = stub.port
        assert stub.base_url == f"http://127.0.0.1:{port}/api/"
    stub.start()
    try:
        assert stub.port == port
    finally:
        stub.stop()


def test_sign_is_accepted_by_slack_sdk():
    body = slash_command_body("/deal", "status now", "C1", "U1", "http://127.0.0.1:1/respond/x")
    ts = int(time.time())
    headers = sign(SECRET, body, ts)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, str(ts), headers["X-Slack-Signature"])
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid(body, str(ts), headers["X-Slack-Signature"])
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"

    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert list(form)[:3] == ["token", "team_id", "team_domain"]
    assert (form["command"], form["text"], form["channel_id"], form["user_id"], form["team_id"]) == (
        "/deal", "status now", "C1", "U1", "T1")
    assert b"text=status+now" in body and b"command=%2Fdeal" in body and form["trigger_id"]

    ev = event_body(app_mention_event(f"<@{BOT_USER_ID}> hi", channel="C1", user="U1"))
    env = json.loads(ev)
    assert env["type"] == "event_callback" and env["event"]["type"] == "app_mention"
    assert {"team_id", "api_app_id", "event_id", "event_time"} <= set(env)
    assert sign(SECRET, ev)["Content-Type"] == "application/json"


async def test_bolt_http_mode_end_to_end(stub):
    """A real bolt AsyncApp, served over HTTP by its aiohttp adapter, fed signed Slack requests."""
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    app = AsyncApp(client=AsyncWebClient(token=stub.token, base_url=stub.base_url),
                   signing_secret=SECRET)

    @app.command("/deal")
    async def on_deal(ack, respond, command):
        await ack()
        await respond(f"status: {command['text']}")

    @app.event("app_mention")
    async def on_mention(event, say):
        await say(f"hello <@{event['user']}>")

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        body = slash_command_body("/deal", "now", "C1", "U1", stub.response_url("c1"))
        status, _, _ = await deliver(url, body, SECRET)
        assert status == 200
        status, _, _ = await deliver(url, event_body(app_mention_event(f"<@{BOT_USER_ID}> hi")), SECRET)
        assert status == 200
        status, _, _ = await deliver(url, body, "wrong-secret")
        assert status == 401
        for _ in range(100):
            if stub.responses and stub.posts:
                break
            await asyncio.sleep(0.02)
        assert stub.responses("c1")[0].text == "status: now"
        assert stub.posts("C1")[0].text == "hello <@U1>"
    finally:
        await runner.cleanup()


async def test_stop_cuts_keep_alive_connections_and_restart_uses_same_port(stub):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=stub.token, base_url=stub.base_url, session=session, timeout=2)
        await client.chat_postMessage(channel="C1", text="up")
        stub.stop()
        with pytest.raises(aiohttp.ClientError):
            await client.chat_postMessage(channel="C1", text="down")
        stub.start()
        await client.chat_postMessage(channel="C1", text="up again")
    assert [p.text for p in stub.posts] == ["up", "up again"]
