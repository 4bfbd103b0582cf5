"""Send queued alerts from the outbox to the chat platforms: paced, retried, never twice."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from aiolimiter import AsyncLimiter

from bot.messages import alert_message
from bot.models import Alert
from bot.platforms.base import ChatGone, ChatMoved, DeliveryError, Platform, Rejected, RetryLater, Transient
from bot.store import Delivery, Store

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
# Run 10 % under the platform's limits: its clock and ours differ, and a message sent at exactly
# the limit is rate-limited as often as not.
MARGIN = 1.1
MAX_BACKOFF = 300.0
CONCURRENCY = 16
RECOVERY_EVERY = 60.0


class Deliverer:
    """Works the outbox until stopped. A row is claimed (pending → sending) right before its
    send and marked sent right after, so a crash in between leaves it "sending": such rows are
    marked uncertain once their claim is stale (another instance may still be sending them) and
    are not sent again, because a duplicate is worse than one missed alert in one chat."""

    def __init__(self, store: Store, platforms: dict[str, Platform], timezone: str):
        self.store = store
        self.platforms = platforms
        self.timezone = timezone
        self._wake = asyncio.Event()
        # Capacity 1 in every limiter: aiolimiter's bucket would otherwise let a full second's
        # worth burst out at once and then go on at the full rate, twice the limit in that second.
        self._overall = {n: AsyncLimiter(1, MARGIN / p.limits.per_second) for n, p in platforms.items()}
        self._chat_next: dict[tuple[str, str], float] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._paused_until: dict[str, float] = {}
        self._stop = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        """New rows were queued: look now instead of at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        self._stop = stop
        last_recovery = -RECOVERY_EVERY
        while not stop.is_set():
            try:
                if time.monotonic() - last_recovery >= RECOVERY_EVERY:
                    last_recovery = time.monotonic()
                    uncertain = await asyncio.to_thread(self.store.recover_deliveries)
                    if uncertain:
                        log.warning("%d deliveries were cut off mid-send by a crash; not resending them", uncertain)
                done = await self.deliver_due()
            except Exception:
                log.exception("delivery round failed; retrying shortly")
                done = 0
            if not done:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), idle)
                except TimeoutError:
                    pass

    async def deliver_due(self, limit: int = 500) -> int:
        """One round over the due rows; returns how many were worked on."""
        rows = await asyncio.to_thread(self.store.due_deliveries, list(self.platforms), limit)
        if not rows:
            return 0
        alerts = {a.id: a for a in await asyncio.to_thread(
            self.store.alerts_by_id, sorted({r.alert_id for r in rows}))}
        by_chat: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in rows:
            by_chat[(row.platform, row.chat_id)].append(row)
        await asyncio.gather(*(self._chat_queue(chat_rows, alerts) for chat_rows in by_chat.values()))
        self._forget_old_stamps()
        return len(rows)

    async def _chat_queue(self, rows: list[Delivery], alerts: dict[int, Alert]) -> None:
        # One chat's messages go one after another, in order; chats run side by side.
        async with self._slots:
            for row in rows:
                if self._stop.is_set():
                    return  # unclaimed rows stay pending for the next start
                if not await self._one(row, alerts.get(row.alert_id)):
                    return  # the chat moved or is gone: its other rows were re-queued or failed

    async def _pace_chat(self, row: Delivery, platform: Platform) -> None:
        # After a "retry after", the whole platform waits: Telegram does not say whether the
        # limit hit was the chat's or the bot's, and hammering on risks a long flood ban.
        while (wait := self._paused_until.get(row.platform, 0) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        # A chat's spacing is counted from its last actual send, not from when that send was
        # allowed: the wait for the platform-wide slot in between would otherwise shrink the gap.
        wait = self._chat_next.get((row.platform, row.chat_id), 0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _sending(self, row: Delivery, platform: Platform) -> None:
        gap = MARGIN / platform.limits.per_chat_per_second
        if platform.is_group(row.chat_id):
            gap = max(gap, MARGIN * 60 / platform.limits.per_group_per_minute)
        self._chat_next[(row.platform, row.chat_id)] = time.monotonic() + gap

    async def _one(self, row: Delivery, alert: Alert | None) -> bool:
        """Deliver one row; False when the chat itself changed and its queue must be re-read."""
        platform = self.platforms[row.platform]
        where = f"{row.platform} chat {row.chat_id} alert {row.alert_id}"
        if alert is None:
            await asyncio.to_thread(self.store.finish_delivery, row.id, "failed", error="alert expired")
            return True
        reply = alert_message(alert, self.timezone)
        await self._pace_chat(row, platform)
        if self._stop.is_set():
            return True
        try:
            if row.status == "sent":  # a story gained another outlet: edit what the chat has
                await self._overall[row.platform].acquire()
                self._sending(row, platform)
                await platform.edit(row.chat_id, row.message_id, reply)
                await asyncio.to_thread(self.store.finish_delivery, row.id, "sent", message_id=row.message_id)
                return True
            # The platform-wide slot first, then the claim, then at once the request: a claimed
            # row never waits, so a crash can catch at most the one or two rows on the wire.
            await self._overall[row.platform].acquire()
            if not await asyncio.to_thread(self.store.claim_delivery, row.id):
                return True  # another instance took it
            self._sending(row, platform)
            message_id = await platform.send(row.chat_id, row.thread_id, reply)
        except DeliveryError as exc:
            await self._failed(row, exc, where)
            return not isinstance(exc, (ChatMoved, ChatGone))
        except Exception as exc:  # an adapter bug must not stop the queue
            log.exception("unexpected error delivering to %s", where)
            await self._failed(row, Transient(f"{type(exc).__name__}: {exc}"), where)
            return True
        self.sent += 1
        await asyncio.to_thread(self.store.finish_delivery, row.id, "sent", message_id=message_id)
        return True

    async def _failed(self, row: Delivery, exc: DeliveryError, where: str) -> None:
        store = self.store
        if row.status == "sent":
            log.warning("could not update the alert in %s: %s", where, exc)
            await asyncio.to_thread(store.finish_delivery, row.id, "sent", message_id=row.message_id)
        elif isinstance(exc, RetryLater):
            log.info("%s: %s", where, exc)
            self._paused_until[row.platform] = max(self._paused_until.get(row.platform, 0),
                                                   time.monotonic() + exc.seconds)
            await asyncio.to_thread(store.retry_delivery, row.id, exc.seconds, str(exc), False)
        elif isinstance(exc, ChatMoved):
            log.warning("%s: chat moved to %s; subscription and queue follow it", where, exc.new_chat_id)
            await asyncio.to_thread(store.move_chat, row.platform, row.chat_id, exc.new_chat_id)
            self.wake()
        elif isinstance(exc, ChatGone):
            log.warning("%s: %s; unsubscribing the chat", where, exc)
            await asyncio.to_thread(store.drop_chat, row.platform, row.chat_id, str(exc))
        elif isinstance(exc, Transient) and row.attempts + 1 < MAX_ATTEMPTS:
            delay = min(MAX_BACKOFF, 2.0 ** row.attempts)
            log.warning("%s: %s; retry %d in %.0f s", where, exc, row.attempts + 1, delay)
            await asyncio.to_thread(store.retry_delivery, row.id, delay, str(exc), True)
        else:
            level = logging.ERROR if isinstance(exc, Rejected) else logging.WARNING
            log.log(level, "%s: giving up: %s", where, exc)
            await asyncio.to_thread(store.finish_delivery, row.id, "failed", error=str(exc))

    def _forget_old_stamps(self) -> None:
        # With 10,000 chats the spacing stamps would pile up; a stamp in the past says nothing.
        if len(self._chat_next) > 5000:
            now = time.monotonic()
            self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
