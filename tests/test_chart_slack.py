"""/bidders on Slack: the table as the answer, the race chart as a file shared in the channel (or thread)."""
from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image as Picture

from tests.chat_bots import CHANNEL, SECRET, wait_for
from tests.factories import RACE
from tests.slack_stub import BOT_USER_ID, app_mention_event, deliver, event_body


async def test_bidders_answers_with_the_table_and_shares_the_race_as_a_file(slack_bot, slack_stub):
    slack_bot.store.add_articles(RACE, 1)
    answer = await slack_bot.slash("/bidders")
    assert answer.text.startswith("Bieter im TikTok-Verkauf:") and answer.body["response_type"] == "in_channel"
    [upload] = await wait_for(lambda: [u for u in slack_stub.uploads(CHANNEL) if u.completed])
    assert upload.filename == "bieter-verlauf.png" and upload.thread_ts is None
    assert upload.title == "Verlauf der Bieter, 20.09.2025 bis 21.09.2025"
    assert upload.alt_txt.startswith("Zeitleiste der Bieter vom 20.09.2025 bis 21.09.2025. Oracle: ")
    picture = Picture.open(io.BytesIO(upload.data))
    assert picture.format == "PNG" and picture.width == 800 and len(upload.data) == upload.length


async def test_a_mention_in_a_thread_gets_the_picture_in_that_thread(slack_bot, slack_stub):
    slack_bot.store.add_articles(RACE, 1)
    body = event_body(app_mention_event(f"<@{BOT_USER_ID}> bidders", channel=CHANNEL, thread_ts="1700000000.000100"))
    status, _, _ = await deliver(slack_bot.url, body, SECRET)
    assert status == 200
    [post] = await wait_for(lambda: slack_stub.posts(CHANNEL))
    assert post.text.startswith("Bieter im TikTok-Verkauf:") and post.thread_ts == "1700000000.000100"
    [upload] = await wait_for(lambda: [u for u in slack_stub.uploads(CHANNEL) if u.completed])
    assert upload.thread_ts == "1700000000.000100"


async def test_a_refused_upload_leaves_the_table_and_a_log_line(slack_bot, slack_stub, caplog):
    slack_bot.store.add_articles(RACE, 1)
    slack_stub.fail("files.completeUploadExternal", "not_in_channel")  # a slash command where the bot is no member
    answer = await slack_bot.slash("/bidders")
    assert "Oracle – Zuschlag/genehmigt" in answer.text
    await wait_for(lambda: slack_stub.calls("files.completeUploadExternal"))
    await wait_for(lambda: "picture for /bidders: not delivered" in caplog.text)
    assert f"slack channel {CHANNEL}: picture for /bidders: not delivered: not_in_channel" in caplog.text
    assert not [u for u in slack_stub.uploads if u.completed]
    await asyncio.sleep(0.5)
    assert len(slack_stub.responses("r")) == 1  # the table, once


async def test_the_stand_in_takes_uploads_as_slack_does(slack_stub):
    """files_upload_v2 over the real client; completing a file that was never uploaded, or uploading
    to a used URL, is refused."""
    import aiohttp
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=slack_stub.token, base_url=slack_stub.base_url)
    done = await client.files_upload_v2(channel=CHANNEL, file=b"\x89PNG-ish", filename="a.png", title="A",
                                        alt_txt="alt")
    assert done["file"]["title"] == "A" and done["file"]["mimetype"] == "image/png"
    [upload] = slack_stub.uploads(CHANNEL)
    assert (upload.data, upload.alt_txt, upload.completed) == (b"\x89PNG-ish", "alt", True)

    started = await client.files_getUploadURLExternal(filename="b.png", length=3)
    with pytest.raises(SlackApiError) as refused:  # never uploaded
        await client.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id=CHANNEL)
    assert refused.value.response["error"] == "file_not_found"
    async with aiohttp.ClientSession() as session:
        for expected in (200, 404):  # the URL takes one upload
            async with session.post(started["upload_url"], data=b"abc") as response:
                assert response.status == expected
    archived = await client.files_getUploadURLExternal(filename="c.png", length=1)
    slack_stub.archive(CHANNEL)
    async with aiohttp.ClientSession() as session:
        await session.post(archived["upload_url"], data=b"c")
    with pytest.raises(SlackApiError) as refused:
        await client.files_completeUploadExternal(files=[{"id": archived["file_id"]}], channel_id=CHANNEL)
    assert refused.value.response["error"] == "is_archived"
