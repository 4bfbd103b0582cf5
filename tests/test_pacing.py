"""The shared pacer: who goes next, and how a reply survives "retry after"."""
from __future__ import annotations

import asyncio
import logging

from bot.pacing import ALERT, REPLY, REPLY_ATTEMPTS, Pacer
from bot.platforms.base import ChatGone, Limits, RetryLater


def _pacer() -> Pacer:
    return Pacer(Limits(per_second=10, per_chat_per_second=1, per_group_per_minute=20), lambda c: c.startswith("-"))


async def _granted_order(pacer: Pacer, waiters: list[tuple[str, int]]) -> list[str]:
    order: list[str] = []

    async def take(chat: str, priority: int) -> None:
        await pacer.turn(chat, priority)
        order.append(chat)

    tasks = []
    for chat, priority in waiters:
        tasks.append(asyncio.create_task(take(chat, priority)))
        await asyncio.sleep(0)  # registered in this order
    await asyncio.gather(*tasks)
    return order


async def test_replies_go_before_alerts_that_waited_longer():
    pacer = _pacer()
    pacer.pause(0.3)  # nothing goes yet: everyone below queues up
    order = await _granted_order(pacer, [("a1", ALERT), ("a2", ALERT), ("r1", REPLY), ("a3", ALERT), ("r2", REPLY)])
    assert order == ["r1", "r2", "a1", "a2", "a3"]


async def test_a_chat_not_yet_due_does_not_hold_up_other_chats():
    pacer = _pacer()
    await pacer.turn("busy")  # its next message is due only in 1.1 s
    order = await _granted_order(pacer, [("busy", REPLY), ("other", ALERT), ("-group", ALERT)])
    assert order == ["other", "-group", "busy"]


async def test_a_group_waits_for_its_per_minute_share():
    pacer = Pacer(Limits(per_second=10, per_chat_per_second=10, per_group_per_minute=120), lambda c: c.startswith("-"))
    await pacer.turn("-group")
    await pacer.turn("private")
    # 120 a minute is one every 0.55 s for the group; the private chat may go again after 0.11 s.
    order = await _granted_order(pacer, [("-group", REPLY), ("private", ALERT)])
    assert order == ["private", "-group"]


async def test_a_reply_is_sent_again_after_retry_after():
    pacer, calls = _pacer(), []

    async def send():
        calls.append(1)
        if len(calls) < 3:
            raise RetryLater(0.05)
        return "sent"

    assert await pacer.reply("chat", send, "test chat") == "sent"
    assert len(calls) == 3


async def test_a_reply_that_cannot_go_is_logged_once_with_its_chat(caplog):
    pacer, calls = _pacer(), []

    async def flooded():
        calls.append(1)
        raise RetryLater(0.01)

    async def blocked():
        raise ChatGone("bot was blocked by the user")

    assert await pacer.reply("chat-1", flooded, "telegram chat 1", paced=False) is None
    assert await pacer.reply("chat-2", blocked, "telegram chat 2") is None
    assert len(calls) == REPLY_ATTEMPTS
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2 and "telegram chat 1" in warnings[0] and "telegram chat 2" in warnings[1]
    assert not any(r.exc_info for r in caplog.records)


async def test_commands_of_one_chat_keep_their_order():
    pacer, order = _pacer(), []

    async def command(n: int, work: float) -> None:
        async with pacer.in_order("chat"):
            await asyncio.sleep(work)  # the first command takes longest
            order.append(n)

    await asyncio.gather(command(1, 0.05), command(2, 0.01), command(3, 0))
    assert order == [1, 2, 3]
