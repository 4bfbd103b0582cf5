"""/bidders on Slack: the table as the answer, the race chart as a file shared in the channel (or thread)."""
from __future__ import annotations

import asyncio
import io

from PIL import Image as Picture

from tests.slack_stub import BOT_USER_ID, app_mention_event, deliver, event_body
from tests.test_chart_telegram import RACE
from tests.test_slack import CHANNEL, SECRET, bot, stub, wait_for  # noqa: F401  (fixtures)


async def test_bidders_answers_with_the_table_and_shares_the_race_as_a_file(bot, stub):
    bot.store.add_articles(RACE, 1)
    answer = await bot.slash("/bidders")
    assert answer.text.startswith("Bieter im TikTok-Verkauf:") and answer.body["response_type"] == "in_channel"
    [upload] = await wait_for(lambda: [u for u in stub.uploads(CHANNEL) if u.completed])
    assert upload.filename == "bieter-verlauf.png" and upload.thread_ts is None
    assert upload.title == "Verlauf der Bieter, 20.09.2025 bis 21.09.2025"
    assert upload.alt_txt.startswith("Zeitleiste der Bieter vom 20.09.2025 bis 21.09.2025. Oracle: ")
    picture = Picture.open(io.BytesIO(upload.data))
    assert picture.format == "PNG" and picture.width == 800 and len(upload.data) == upload.length


async def test_a_mention_in_a_thread_gets_the_picture_in_that_thread(bot, stub):
    bot.store.add_articles(RACE, 1)
    body = event_body(app_mention_event(f"<@{BOT_USER_ID}> bidders", channel=CHANNEL, thread_ts="1700000000.000100"))
    status, _, _ = await deliver(bot.url, body, SECRET)
    assert status == 200
    [post] = await wait_for(lambda: stub.posts(CHANNEL))
    assert post.text.startswith("Bieter im TikTok-Verkauf:") and post.thread_ts == "1700000000.000100"
    [upload] = await wait_for(lambda: [u for u in stub.uploads(CHANNEL) if u.completed])
    assert upload.thread_ts == "1700000000.000100"


async def test_a_refused_upload_leaves_the_table_and_a_log_line(bot, stub, caplog):
    bot.store.add_articles(RACE, 1)
    stub.fail("files.completeUploadExternal", "not_in_channel")  # a slash command where the bot is no member
    answer = await bot.slash("/bidders")
    assert "Oracle – Zuschlag/genehmigt" in answer.text
    await wait_for(lambda: stub.calls("files.completeUploadExternal"))
    await wait_for(lambda: "picture for /bidders: not delivered" in caplog.text)
    assert f"slack channel {CHANNEL}: picture for /bidders: not delivered: not_in_channel" in caplog.text
    assert not [u for u in stub.uploads if u.completed]
    await asyncio.sleep(0.5)
    assert len(stub.responses("r")) == 1  # the table, once
