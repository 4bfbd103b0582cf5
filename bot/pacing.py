"""Pace everything one platform sends (command replies and alerts) under its limits, replies first."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from bot.platforms.base import DeliveryError, Limits, RetryLater, Transient

log = logging.getLogger(__name__)
T = TypeVar("T")
# Run 10 % under the platform's limits: its clock and ours differ, and a message sent at exactly
# the limit is rate-limited as often as not.
MARGIN = 1.1
REPLY_ATTEMPTS = 5
REPLY_BACKOFF_MAX = 30.0
FORGET_STAMPS_OVER = 5000
REPLY, ALERT = 0, 1  # priorities: lower goes first


@dataclass(eq=False)
class _Waiter:
    priority: int
    order: int
    chat_id: str
    granted: asyncio.Future


class Pacer:
    """One platform's send schedule: an overall rate, a gap per chat (longer for groups, which
    have a per-minute limit), and a platform-wide pause after the platform said "retry after".
    Whoever waits for a turn is served by priority (command replies before alerts), then in order
    of arrival, skipping those whose chat is not due yet.

    Written here rather than with aiolimiter (used before): a token bucket grants slots in
    arrival order and cannot pick the next sender by priority or by whose chat is due."""

    def __init__(self, limits: Limits, is_group: Callable[[str], bool]):
        self._per_second = limits.per_second
        self._gap = MARGIN / limits.per_second
        self._chat_gap = MARGIN / limits.per_chat_per_second
        self._group_gap = max(self._chat_gap, MARGIN * 60 / limits.per_group_per_minute)
        self._is_group = is_group
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[str, float] = {}
        self._waiting: list[_Waiter] = []
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._chat_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self.rate_limited = 0  # "retry after" answers taken, for /metrics

    async def turn(self, chat_id: str, priority: int = ALERT) -> None:
        """Wait until a message to `chat_id` may go; the request must follow at once (call
        `sending` right before it if anything else has to happen in between)."""
        waiter = _Waiter(priority, next(self._arrivals), chat_id, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        self._dispatch()
        await waiter.granted  # a cancelled wait cancels the future; _dispatch then drops it

    def sending(self, chat_id: str) -> None:
        """The request goes now: a chat's gap counts from its actual send, not from its turn."""
        self._stamp(chat_id, time.monotonic())

    def share(self, instances: int) -> None:
        """`instances` processes post with one bot token: each keeps to its part of the overall
        rate (the per-chat gaps need no sharing, since one instance at a time holds a chat)."""
        self._gap = MARGIN * max(1, instances) / self._per_second

    def pause(self, seconds: float) -> None:
        """The platform said "retry after": nothing goes out until then. Telegram does not say
        whether the chat's limit or the bot's was hit, and hammering on risks a long flood ban."""
        self.rate_limited += 1
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @asynccontextmanager
    async def in_order(self, key: str) -> AsyncIterator[None]:
        """One chat's commands are answered one after another, in the order they came in."""
        lock, users = self._chat_locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._chat_locks[key]

    async def reply(self, chat_id: str, send: Callable[[], Awaitable[T]], where: str,
                    paced: bool = True) -> T | None:
        """Send one command reply (or, unpaced, a call that is no chat message, such as a button's
        answer) ahead of queued alerts. A "retry after" is waited out and the reply sent again, up
        to REPLY_ATTEMPTS times; None, after one log line, when it could not be delivered."""
        error: DeliveryError | None = None
        for attempt in range(REPLY_ATTEMPTS):
            if paced:
                await self.turn(chat_id, REPLY)
            try:
                return await send()
            except RetryLater as exc:
                error = exc
                if paced:
                    self.pause(exc.seconds)  # the next turn waits it out, alerts too
                else:
                    await asyncio.sleep(exc.seconds)
            except Transient as exc:
                error = exc
                await asyncio.sleep(min(REPLY_BACKOFF_MAX, 2.0 ** attempt))
            except DeliveryError as exc:  # blocked, gone, refused: sending again cannot help
                log.warning("%s: not delivered: %s", where, exc)
                return None
            log.info("%s: attempt %d failed (%s); trying again", where, attempt + 1, error)
        log.warning("%s: not delivered after %d attempts: %s", where, REPLY_ATTEMPTS, error)
        return None

    def _stamp(self, chat_id: str, now: float) -> None:
        self._chat_next[chat_id] = now + (self._group_gap if self._is_group(chat_id) else self._chat_gap)
        if len(self._chat_next) > FORGET_STAMPS_OVER:  # with 10,000 chats they would pile up
            self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}

    def _dispatch(self) -> None:
        """Grant the next turn if one is due; otherwise wake up when one will be."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting = [w for w in self._waiting if not w.granted.done()]
        if not self._waiting:
            return
        now = time.monotonic()
        wake = max(self._next_slot, self._paused_until)
        if wake <= now:
            best, wake = None, float("inf")
            for waiter in self._waiting:
                due = self._chat_next.get(waiter.chat_id, 0.0)
                if due > now:
                    wake = min(wake, due)
                elif best is None or (waiter.priority, waiter.order) < (best.priority, best.order):
                    best = waiter
            if best is not None:
                self._waiting.remove(best)
                self._next_slot = now + self._gap
                self._stamp(best.chat_id, now)  # no other turn for this chat until its gap is over
                best.granted.set_result(None)
                if not self._waiting:
                    return
                wake = self._next_slot
        self._timer = asyncio.get_running_loop().call_later(max(0.0, wake - now), self._dispatch)
