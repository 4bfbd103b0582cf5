"""Send queued alerts from the outbox to the chat platforms: paced, retried, never twice."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from bot.metrics import Metrics
from bot.messages import Reply, alert_message, digest, followup_message, new_bidder_message
from bot.models import Alert, FollowUp
from bot.pacing import Pacer
from bot.platforms.base import ChatGone, ChatMoved, DeliveryError, Platform, Rejected, RetryLater, Transient
from bot.store import Delivery, Store
from bot.store.outbox import CHAT_HOLD

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300.0
CONCURRENCY = 16
RECOVERY_EVERY = 60.0
WAIT_FOR_THREAD = 5.0  # a follow-up whose story's own message is still queued in that chat waits this long
# Chats this instance finished with less than this long ago are still its own (see claim_due): a
# margin under CHAT_HOLD, so it never counts as its own a chat another instance may have taken.
HELD_FOR = CHAT_HOLD.total_seconds() - 3.0


class Deliverer:
    """Works the outbox until stopped. A row is claimed (pending → sending) right before its
    send and marked sent right after, so a crash in between leaves it "sending": such rows are
    marked uncertain once their claim is stale (another instance may still be sending them) and
    are not sent again, because a duplicate is worse than one missed alert in one chat.
    On PostgreSQL the rows come leased a whole chat at a time (store.claim_due), so instances
    sharing the database work different chats, each chat in order under one pacer.
    Pacing is the platform's (platform.pacer), shared with its command replies, which go first."""

    def __init__(self, store: Store, platforms: dict[str, Platform], timezone: str, metrics: Metrics | None = None):
        self.store = store
        self.metrics = metrics or Metrics()
        self.platforms = platforms
        self.timezone = timezone
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._stop = asyncio.Event()
        self._held: dict[str, float] = {}  # "platform:chat" → when this instance last worked it
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
        now = time.monotonic()
        self._held = {k: at for k, at in self._held.items() if now - at < HELD_FOR}
        rows = await asyncio.to_thread(self.store.claim_due, list(self.platforms), limit, list(self._held))
        if not rows:
            return 0
        # Times taken before the database's stamps, so this instance's idea of holding a chat
        # always ends before the other instances' idea of it being free begins.
        self._held.update((_key(r), now) for r in rows if r.lease is not None)
        alerts = {a.id: a for a in await asyncio.to_thread(
            self.store.alerts_by_id, sorted({r.alert_id for r in rows if not r.followup_id}))}
        followups = {f.id: f for f in await asyncio.to_thread(
            self.store.followups_by_id, sorted({r.followup_id for r in rows if r.followup_id}))}
        by_chat: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in rows:
            by_chat[(row.platform, row.chat_id)].append(row)
        await asyncio.gather(*(self._chat_queue(chat_rows, alerts, followups) for chat_rows in by_chat.values()))
        if self._stop.is_set() and rows[0].lease is not None:
            await asyncio.to_thread(self.store.release_lease, rows[0].lease)
        return len(rows)

    async def _chat_queue(self, rows: list[Delivery], alerts: dict[int, Alert],
                          followups: dict[int, FollowUp]) -> None:
        # One chat's messages go one after another, in order; chats run side by side.
        async with self._slots:
            for row in rows:
                if self._stop.is_set():
                    return  # unclaimed rows stay pending for the next start
                content = followups.get(row.followup_id) if row.followup_id else alerts.get(row.alert_id)
                if not await self._one(row, content):
                    self._held.pop(_key(row), None)
                    return  # the chat moved or is gone, or its lease passed to another instance

    async def _turn(self, pacer: Pacer, chat_id: str) -> bool:
        """Wait for the pacer's turn; False when stopped first (during a burst of command replies
        alerts may wait long, and the row must stay pending rather than hold up the shutdown)."""
        turn = asyncio.ensure_future(pacer.turn(chat_id))
        stopped = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait((turn, stopped), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        turn.cancel()
        return not self._stop.is_set()

    async def _message(self, row: Delivery, content: Alert | FollowUp) -> tuple[Reply, str | None] | None:
        """What to send for the row, and the message it replies to; None: not yet (the story's own
        message in this chat is still queued, and the follow-up must come after it)."""
        if isinstance(content, Alert):
            return alert_message(content, self.timezone), None
        if content.announces:
            return new_bidder_message(content, self.timezone), None
        start = await asyncio.to_thread(self.store.thread_start, row)
        if start and start[0] in ("pending", "sending"):
            return None
        reply_to = start[1] if start and start[0] == "sent" else None
        return followup_message(content, self.timezone, in_thread=reply_to is not None), reply_to

    async def _one(self, row: Delivery, content: Alert | FollowUp | None) -> bool:
        """Deliver one row; False when the chat itself changed and its queue must be re-read."""
        platform = self.platforms[row.platform]
        where = f"{row.platform} chat {row.chat_id} alert {row.alert_id}"
        where += f" follow-up {row.followup_id}" if row.followup_id else ""
        if content is None:
            await asyncio.to_thread(self.store.finish_delivery, row.id, "failed", error="alert expired")
            self.metrics.delivered(row.platform, "expired")
            return True
        message = await self._message(row, content)
        if message is None:
            await asyncio.to_thread(self.store.retry_delivery, row.id, WAIT_FOR_THREAD,
                                    "waiting for the story's own message", False)
            return True
        reply, reply_to = message
        shown = digest(reply)
        if row.status == "sent" and row.digest == shown:  # nothing the chat would see changed
            await asyncio.to_thread(self.store.finish_delivery, row.id, "sent", message_id=row.message_id,
                                    digest=shown)
            return True
        # The pacer's turn first, then the claim, then at once the request: a claimed row never
        # waits, so a crash can catch at most the one or two rows on the wire. Edits are paced too.
        if not await self._turn(platform.pacer, row.chat_id):
            return True  # stopped: the row stays pending for the next start
        try:
            touched = time.monotonic()
            if row.status == "sent":  # a story gained another outlet: edit what the chat has
                if not await asyncio.to_thread(self.store.claim_edit, row.id, row.lease):
                    return False  # the chat's lease lapsed and passed to another instance
                self._touched(row, touched)
                platform.pacer.sending(row.chat_id)
                await platform.edit(row.chat_id, row.message_id, reply)
                await asyncio.to_thread(self.store.finish_delivery, row.id, "sent", message_id=row.message_id,
                                        digest=shown)
                self.metrics.delivered(row.platform, "edited")
                return True
            if not await asyncio.to_thread(self.store.claim_delivery, row.id, row.lease):
                # Another instance took it; with a lease, the whole chat went with it.
                return row.lease is None
            self._touched(row, touched)
            platform.pacer.sending(row.chat_id)
            message_id = await platform.send(row.chat_id, row.thread_id, reply, reply_to)
        except DeliveryError as exc:
            await self._failed(row, exc, where)
            return not isinstance(exc, (ChatMoved, ChatGone))
        except Exception as exc:  # an adapter bug must not stop the queue
            log.exception("unexpected error delivering to %s", where)
            await self._failed(row, Transient(f"{type(exc).__name__}: {exc}"), where)
            return True
        self.sent += 1
        self.metrics.delivered(row.platform, "sent", row.created)
        await asyncio.to_thread(self.store.finish_delivery, row.id, "sent", message_id=message_id, digest=shown)
        return True

    def _touched(self, row: Delivery, at: float) -> None:
        if row.lease is not None:
            self._held[_key(row)] = at

    async def _failed(self, row: Delivery, exc: DeliveryError, where: str) -> None:
        store = self.store
        self.metrics.failed(row.platform, exc)
        if row.status == "sent":
            log.warning("could not update the alert in %s: %s", where, exc)
            await asyncio.to_thread(store.finish_delivery, row.id, "sent", message_id=row.message_id)
        elif isinstance(exc, RetryLater):
            log.info("%s: %s", where, exc)
            self.platforms[row.platform].pacer.pause(exc.seconds)
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


def _key(row: Delivery) -> str:
    return f"{row.platform}:{row.chat_id}"
