"""Command replies under load: every one delivered, inside Telegram's limits, alerts still exactly once."""
from __future__ import annotations

import asyncio
import collections
import logging

import pytest

from tests.chat_bots import ALICE, TelegramBot
from tests.factories import article
from tests.telegram_stub import TelegramStub

FANOUT = [str(30000 + i) for i in range(90)]
NEWCOMERS = [40000 + i for i in range(60)]
TITLE = "TikTok-Verkauf: Oracle und Silver Lake unterzeichnen Vertrag für das US-Geschäft"


@pytest.fixture
def stub():
    with TelegramStub() as s:
        s.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
        yield s


@pytest.fixture
async def bot(config, stub, feed_server):
    async with TelegramBot(config, stub, feed_server) as b:
        yield b


def _rate_limited(stub: TelegramStub) -> list:
    return [(f["method"], f["params"].get("chat_id")) for f in stub.failures if f["reason"].startswith("rate_limit")]


async def _sent(stub: TelegramStub, count: int, chat_id: int | None = None, timeout: float = 20) -> list[dict]:
    """What the stub accepted once `count` messages are in; a short failure message otherwise."""
    try:
        return await stub.wait_sent_async(count, chat_id=chat_id, timeout=timeout)
    except TimeoutError:
        got = stub.sent(chat_id)
        pytest.fail(f"{len(got)} of {count} messages arrived; 429s {stub.rate_limited}; "
                    f"texts {[m['plain_text'][:40] for m in got[-5:]]}")


async def test_subscribe_burst_during_a_fan_out_every_chat_is_answered(bot, stub):
    for chat in FANOUT:
        bot.store.subscribe("telegram", chat)
    await asyncio.to_thread(bot.store.add_articles, [article(TITLE)], 48)
    await _sent(stub, 10)  # the fan-out is under way
    for chat in NEWCOMERS:
        stub.push_message(chat, "/subscribe")
    await _sent(stub, len(FANOUT) + len(NEWCOMERS), timeout=60)
    await asyncio.sleep(1.5)  # anything still on its way (a duplicate) arrives

    assert _rate_limited(stub) == [] and stub.rate_limited == 0
    per_chat = collections.Counter(str(m["chat_id"]) for m in stub.sent())
    assert [c for c in NEWCOMERS if per_chat[str(c)] != 1] == []
    assert all("Abonniert" in stub.sent(c)[0]["plain_text"] for c in NEWCOMERS)
    assert [c for c in FANOUT if per_chat[c] != 1] == [], "every alert exactly once"
    assert all(TITLE in stub.sent(c)[0]["plain_text"] for c in FANOUT)
    assert len(bot.store.subscriptions("telegram")) == len(FANOUT) + len(NEWCOMERS)


async def test_quick_commands_in_one_chat_are_all_answered_in_order(bot, stub):
    for line in ("/latest abc", "/latest 99999", "/latest -1"):
        stub.push_message(ALICE, line)
    got = await _sent(stub, 3, ALICE)
    await asyncio.sleep(1.5)
    texts = [m["plain_text"] for m in stub.sent(ALICE)]
    assert len(texts) == 3 and stub.rate_limited == 0, (texts, _rate_limited(stub))
    assert "„abc“ ist keine Anzahl" in texts[0]
    assert "Bitte eine Anzahl von 1 bis 20" in texts[1]
    assert "„-1“ ist keine Anzahl" in texts[2]
    # The stub lets one message a second into a chat; that all three were accepted shows the spacing.
    assert got[2]["time"] - got[0]["time"] >= 1.0


async def test_flood_control_on_a_reply_is_waited_out_and_the_reply_arrives(bot, stub, caplog):
    caplog.set_level(logging.INFO)
    stub.fail("sendMessage", 429, retry_after=1, chat_id=ALICE)
    stub.push_message(ALICE, "/help")
    got = await _sent(stub, 1, ALICE)
    assert "/latest" in got[0]["plain_text"]
    assert [f["status"] for f in stub.failures] == [429]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_button_answer_and_reply_survive_flood_control(bot, stub):
    stub.fail("answerCallbackQuery", 429, retry_after=1)
    stub.fail("sendMessage", 429, retry_after=1, chat_id=ALICE)
    update = stub.push_callback(ALICE, ALICE, "subscribe")
    confirm = await _sent(stub, 1, ALICE)
    assert "Abonniert" in confirm[0]["plain_text"]
    for _ in range(100):
        if stub.callback_answers:
            break
        await asyncio.sleep(0.05)
    assert [a["callback_query_id"] for a in stub.callback_answers] == [update["callback_query"]["id"]]
    assert bot.store.subscriptions("telegram") == [("telegram", str(ALICE), "")]
