"""/bidders on Telegram: the table as a message, then the race chart as a photo; the text alone when the photo fails."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest
from PIL import Image as Picture
from sqlalchemy import text

from tests.chat_bots import ALICE
from tests.factories import RACE


async def test_bidders_sends_the_table_then_the_race_as_a_photo(telegram_bot, telegram_stub):
    telegram_bot.store.add_articles(RACE, 1)
    table = await telegram_bot.say(ALICE, "/bidders")
    assert table["plain_text"].startswith("Bieter im TikTok-Verkauf:")
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    [photo] = await telegram_stub.wait_photos_async(1, chat_id=ALICE, timeout=10)
    assert photo["message_id"] > table["message_id"]
    assert photo["plain_caption"] == "Verlauf der Bieter, 20.09.2025 bis 21.09.2025"
    picture = Picture.open(io.BytesIO(photo["data"]))
    assert picture.format == "PNG" and picture.width == 800 and photo["message"]["photo"][-1]["width"] == 800

    await telegram_bot.say(ALICE, "/bidders Oracle")  # one bidder's timeline: text only
    await asyncio.sleep(1.5)
    assert len(telegram_stub.photos(ALICE)) == 1


async def test_a_refused_photo_leaves_the_table_and_a_log_line(telegram_bot, telegram_stub, caplog):
    telegram_bot.store.add_articles(RACE, 1)
    telegram_stub.fail("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED")
    table = await telegram_bot.say(ALICE, "/bidders")
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    await telegram_stub.wait_calls_async("sendPhoto", 1, timeout=10)
    for _ in range(50):
        if "picture for /bidders: not delivered" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert f"telegram chat {ALICE}: picture for /bidders: not delivered: image_process_failed" in caplog.text.lower()
    assert telegram_stub.photos() == [] and len(telegram_stub.sent(ALICE)) == 1


async def test_when_the_picture_cannot_be_made_the_table_still_goes_out(telegram_bot, telegram_stub, caplog):
    telegram_bot.store.add_articles(RACE, 1)
    with telegram_bot.store.engine.begin() as conn:  # a broken database: the timelines are gone, the standings are not
        conn.execute(text("DROP TABLE status_changes"))
    with caplog.at_level(logging.ERROR, logger="bot.chart"):
        table = await telegram_bot.say(ALICE, "/bidders")
        await asyncio.sleep(1.5)
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    assert telegram_stub.calls_of("sendPhoto") == []
    assert "race chart for /bidders failed (2 bidders); the table goes out without it" in caplog.text


async def test_the_stand_in_checks_photos_as_telegram_does(telegram_stub):
    """sendPhoto over the real client: a multipart upload, the picture's size read from it, a file_id
    that can be sent again; bytes that are no image, odd sides and long captions refused."""
    from telegram import Bot
    from telegram.error import BadRequest

    png = Picture.new("RGB", (800, 300), "white")
    out = io.BytesIO()
    png.save(out, "PNG")
    async with Bot(telegram_stub.token, base_url=telegram_stub.base_url) as client:
        sent = await client.send_photo(ALICE, photo=out.getvalue(), caption="Verlauf <b>der</b> Bieter",
                                       parse_mode="HTML")
        assert (sent.photo[-1].width, sent.photo[-1].height) == (800, 300) and sent.caption == "Verlauf der Bieter"
        assert [p.width for p in sent.photo] == [90, 320, 800]
        again = await client.send_photo(ALICE, photo=sent.photo[-1].file_id)
        assert again.photo[-1].file_id == sent.photo[-1].file_id
        for photo, caption, error in ((b"not a picture", None, "IMAGE_PROCESS_FAILED"),
                                      (out.getvalue()[:16] + (8000).to_bytes(4, "big") + (300).to_bytes(4, "big")
                                       + out.getvalue()[24:], None, "PHOTO_INVALID_DIMENSIONS"),
                                      (out.getvalue(), "x" * 1025, "caption is too long")):
            with pytest.raises(BadRequest) as refused:
                await client.send_photo(ALICE, photo=photo, caption=caption)
            assert error.lower() in refused.value.message.lower()
    assert [p["width"] for p in telegram_stub.photos(ALICE)] == [800, 800]
