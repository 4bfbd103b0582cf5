"""/bidders on Telegram: the table as a message, then the race chart as a photo; the text alone when the photo fails."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest
from PIL import Image as Picture
from sqlalchemy import text

from tests.factories import article
from tests.test_telegram import ALICE, bot, stub  # noqa: F401  (fixtures)

RACE = [
    article("Microsoft prüft Kauf von Tiktok", hours=0, bidders=(("Microsoft", "interested"),)),
    article("Oracle bietet", "FAZ", hours=2, bidders=(("Oracle", "bid_submitted"),)),
    article("Oracle bekommt Tiktok, Microsoft geht leer aus", "heise", hours=28,
            bidders=(("Oracle", "approved"), ("Microsoft", "rejected"))),
]


async def test_bidders_sends_the_table_then_the_race_as_a_photo(bot, stub):
    bot.store.add_articles(RACE, 1)
    table = await bot.say(ALICE, "/bidders")
    assert table["plain_text"].startswith("Bieter im TikTok-Verkauf:")
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    [photo] = await stub.wait_photos_async(1, chat_id=ALICE, timeout=10)
    assert photo["message_id"] > table["message_id"]
    assert photo["plain_caption"] == "Verlauf der Bieter, 20.09.2025 bis 21.09.2025"
    picture = Picture.open(io.BytesIO(photo["data"]))
    assert picture.format == "PNG" and picture.width == 800 and photo["message"]["photo"][-1]["width"] == 800

    await bot.say(ALICE, "/bidders Oracle")  # one bidder's timeline: text only
    await asyncio.sleep(1.5)
    assert len(stub.photos(ALICE)) == 1


async def test_a_refused_photo_leaves_the_table_and_a_log_line(bot, stub, caplog):
    bot.store.add_articles(RACE, 1)
    stub.fail("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED")
    table = await bot.say(ALICE, "/bidders")
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    await stub.wait_calls_async("sendPhoto", 1, timeout=10)
    for _ in range(50):
        if "picture for /bidders: not delivered" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert f"telegram chat {ALICE}: picture for /bidders: not delivered: image_process_failed" in caplog.text.lower()
    assert stub.photos() == [] and len(stub.sent(ALICE)) == 1


async def test_when_the_picture_cannot_be_made_the_table_still_goes_out(bot, stub, caplog):
    bot.store.add_articles(RACE, 1)
    with bot.store.engine.begin() as conn:  # a broken database: the timelines are gone, the standings are not
        conn.execute(text("DROP TABLE status_changes"))
    with caplog.at_level(logging.ERROR, logger="bot.chart"):
        table = await bot.say(ALICE, "/bidders")
        await asyncio.sleep(1.5)
    assert "Oracle – Zuschlag/genehmigt" in table["plain_text"]
    assert stub.calls_of("sendPhoto") == []
    assert "race chart for /bidders failed (2 bidders); the table goes out without it" in caplog.text


async def test_the_stand_in_checks_photos_as_telegram_does(stub):
    """sendPhoto over the real client: a multipart upload, the picture's size read from it, a file_id
    that can be sent again; bytes that are no image, odd sides and long captions refused."""
    from telegram import Bot
    from telegram.error import BadRequest

    png = Picture.new("RGB", (800, 300), "white")
    out = io.BytesIO()
    png.save(out, "PNG")
    async with Bot(stub.token, base_url=stub.base_url) as client:
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
    assert [p["width"] for p in stub.photos(ALICE)] == [800, 800]
