"""The delivery outbox: one row per (alert or follow-up, chat), claimed before sending."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, select, text, update

from bot import schema as t
from bot.match import normalise
from bot.store.base import _utc, utcnow
from bot.store.chats import ChatStore, names as _names

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=5)
# Delivery statuses: still being worked on, and done with (kept only as a record, then purged).
QUEUED = ("pending", "sending")
FINAL = ("sent", "failed", "uncertain")
PURGE_BATCH = 5_000  # rows per transaction: a long purge never holds the writers back for long
# On PostgreSQL, where several instances deliver, a chat belongs to whichever instance touched one of
# its rows (lease or send) within the last CHAT_HOLD: far longer than a group's gap between two
# messages (3.3 s at 20 a minute), so two instances never post to one chat faster than one would,
# and long enough for an instance to work a whole lease batch before its leases lapse. It is also
# how long a killed instance's leased but unsent rows wait before a survivor takes them.
CHAT_HOLD = timedelta(seconds=30)
# Chats leased at a time: as many as an instance works well within CHAT_HOLD (128 chats of 2
# messages at half of Telegram's 30/s take about 19 s), while the others lease the rest meanwhile.
# Fewer made a lone instance slower (each round waits for its slowest chat): bench/instances.py.
LEASE_CHATS = 128
# The head (oldest due row) of each chat nobody else holds, locked with SKIP LOCKED: two instances
# claiming at the same moment lock different heads and so take different chats, without waiting for
# each other. A head another instance has meanwhile leased fails the row's own conditions when
# PostgreSQL re-checks it after the lock, so it is skipped too. `:mine` are the chats this instance
# holds itself ("platform:chat"): it may go on with them at once (an edit right after the send).
_MINE = "(%(r)s.platform || ':' || %(r)s.chat_id) = ANY(:mine)"
_DUE = ("((%(r)s.status = 'pending' AND %(r)s.next_attempt <= :now) OR (%(r)s.status = 'sent' AND %(r)s.needs_edit))"
        " AND (%(r)s.claimed IS NULL OR %(r)s.claimed <= :idle OR " + _MINE + ")")
_HEADS = text(f"""
SELECT d.platform || ':' || d.chat_id FROM deliveries d
 WHERE d.id IN (SELECT min(q.id) FROM deliveries q WHERE q.platform = ANY(:platforms) AND {_DUE % {"r": "q"}}
                 GROUP BY q.platform, q.chat_id)
   AND {_DUE % {"r": "d"}}
   AND (NOT EXISTS (SELECT 1 FROM deliveries b
                     WHERE b.platform = d.platform AND b.chat_id = d.chat_id AND b.claimed > :idle)
        OR {_MINE % {"r": "d"}})
 ORDER BY d.alert_id, d.id LIMIT :chats
   FOR UPDATE OF d SKIP LOCKED""")
_LEASE = text(f"""
UPDATE deliveries d SET claimed = :now WHERE (d.platform || ':' || d.chat_id) = ANY(:heads) AND {_DUE % {"r": "d"}}
RETURNING d.id, d.alert_id, d.followup_id, d.platform, d.chat_id, d.thread_id, d.status, d.attempts,
          d.message_id, d.digest, d.created""")


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    followup_id: int  # 0: the story's own message; else a follow-up replying to it
    platform: str
    chat_id: str
    thread_id: str
    status: str
    attempts: int
    message_id: str | None
    digest: str | None  # of what the chat shows now
    created: datetime | None = None  # when it was queued: delivery latency (bot.metrics)
    lease: datetime | None = None  # PostgreSQL: the claimed stamp this instance leased the row with


class OutboxStore(ChatStore):
    def _enqueue(self, conn, new_ids: list[int], updated_ids: list[int], now: datetime,
                 followup_ids: list[tuple[int, int]] = ()) -> None:
        s = t.subscriptions.c
        subscribers = [(r.platform, r.chat_id, r.thread_id, frozenset(_names(r.bidders, fold=True))) for r in
                       conn.execute(select(s.platform, s.chat_id, s.thread_id, s.bidders))]
        posts = [(a, 0) for a in new_ids] + list(followup_ids)
        # A chat that follows chosen bidders gets a story once it names one of them; a story it had not
        # had yet that names one now (a later report) comes to it as a new alert.
        filtering = any(wanted for *_, wanted in subscribers)
        named = self._story_bidders(conn, {a for a, _ in posts} | set(updated_ids)) if filtering else {}
        targets = [(a, f, p, c, th) for a, f in posts for p, c, th, wanted in subscribers
                   if not wanted or wanted & named.get(a, set())]
        if filtering:
            older = (set(updated_ids) | {a for a, _ in followup_ids}) - set(new_ids)
            targets += self._late_matches(conn, subscribers, named, older)
        if targets:
            conn.execute(insert(t.deliveries), [
                {"alert_id": a, "followup_id": f, "platform": p, "chat_id": c, "thread_id": th, "status": "pending",
                 "attempts": 0, "next_attempt": now, "needs_edit": False, "created": now}
                for a, f, p, c, th in dict.fromkeys(targets)])
        if updated_ids:
            conn.execute(update(t.deliveries).where(
                t.deliveries.c.alert_id.in_(updated_ids) & (t.deliveries.c.followup_id == 0)
                & (t.deliveries.c.status == "sent")).values(needs_edit=True))

    @staticmethod
    def _story_bidders(conn, alert_ids: set[int]) -> dict[int, set[str]]:
        named: dict[int, set[str]] = {}
        if alert_ids:
            for alert_id, bidder in conn.execute(select(t.items.c.alert_id, t.mentions.c.bidder)
                                                 .join(t.items, t.items.c.id == t.mentions.c.item_id)
                                                 .where(t.items.c.alert_id.in_(alert_ids))):
                named.setdefault(alert_id, set()).add(normalise(bidder))
        return named

    @staticmethod
    def _late_matches(conn, subscribers, named: dict[int, set[str]], stories: set[int]) -> list[tuple]:
        """(story, 0, chat…) for each earlier story that now names a bidder a filtering chat follows and
        that this chat has no alert of yet."""
        if not stories:
            return []
        d = t.deliveries.c
        had = {tuple(r) for r in conn.execute(select(d.alert_id, d.platform, d.chat_id, d.thread_id)
                                              .where(d.alert_id.in_(stories) & (d.followup_id == 0)))}
        return [(a, 0, p, c, th) for a in sorted(stories) for p, c, th, wanted in subscribers
                if wanted and wanted & named.get(a, set()) and (a, p, c, th) not in had]

    def due_deliveries(self, platforms: list[str], limit: int = 500) -> list[Delivery]:
        """Rows to work on now: pending ones whose time has come, and sent ones to edit."""
        d = t.deliveries.c
        query = (select(d.id, d.alert_id, d.followup_id, d.platform, d.chat_id, d.thread_id, d.status, d.attempts,
                        d.message_id, d.digest, d.created)
                 .where(d.platform.in_(platforms))
                 .where(or_(and_(d.status == "pending", d.next_attempt <= utcnow()),
                            and_(d.status == "sent", d.needs_edit.is_(True))))
                 .order_by(d.alert_id, d.id).limit(limit))
        with self.engine.connect() as conn:
            return [Delivery(*row[:-1], created=_utc(row.created)) for row in conn.execute(query)]

    def claim_due(self, platforms: list[str], limit: int = 500, mine: list[str] = ()) -> list[Delivery]:
        """The due rows to work on now. SQLite (one instance): due_deliveries, as ever (up to
        `limit` rows). PostgreSQL (maybe several instances): every due row of up to `limit` chats
        (and LEASE_CHATS) that no other instance holds, leased by stamping `claimed` with a value
        that is this call's alone. Whole chats, so one chat's rows go out from one instance, in
        order and under one pacer; a lease needs no new column and no clean-up: it lapses
        CHAT_HOLD after the chat's last touch. `mine`: the chats ("platform:chat") this instance
        touched within CHAT_HOLD, which it may take again at once. Stamps come from each
        instance's clock: instances need clocks in step (NTP) to well under CHAT_HOLD."""
        if self.engine.dialect.name != "postgresql":
            return self.due_deliveries(platforms, limit)
        now = utcnow()
        params = {"platforms": list(platforms), "now": now, "idle": now - CHAT_HOLD,
                  "chats": min(limit, LEASE_CHATS), "mine": list(mine)}
        with self.engine.begin() as conn:
            # The planner's estimate for the heads query turns JIT compilation on, which cost
            # 245 of 265 ms at 116k outbox rows; the query itself takes about 40 ms.
            conn.execute(text("SET LOCAL jit = off"))
            heads = conn.execute(_HEADS, params).scalars().all()
            if not heads:
                return []
            leased = conn.execute(_LEASE, {**params, "heads": heads}).all()
        rows = (Delivery(*row[:-1], created=_utc(row.created), lease=now) for row in leased)
        return sorted(rows, key=lambda r: (r.alert_id, r.id))

    def release_lease(self, lease: datetime) -> None:
        """A stopping instance hands its unsent leased rows on at once rather than after CHAT_HOLD;
        the chats it did post to stay held by those rows' own stamps."""
        d = t.deliveries.c
        with self.engine.begin() as conn:
            conn.execute(update(t.deliveries).where((d.claimed == lease) & d.status.in_(("pending", "sent")))
                         .values(claimed=None))

    def thread_start(self, row: Delivery) -> tuple[str, str | None] | None:
        """(status, message id) of the story's own message in this row's chat; None if it never had one."""
        d = t.deliveries.c
        with self.engine.connect() as conn:
            found = conn.execute(select(d.status, d.message_id).where(
                (d.alert_id == row.alert_id) & (d.followup_id == 0) & (d.platform == row.platform)
                & (d.chat_id == row.chat_id) & (d.thread_id == row.thread_id))).first()
        return tuple(found) if found else None

    def claim_delivery(self, delivery_id: int, lease: datetime | None = None) -> bool:
        """pending → sending, atomically: of several instances exactly one wins the row. With a
        lease, only while the row still carries it (a lapsed lease may have passed to another)."""
        d = t.deliveries.c
        where = (d.id == delivery_id) & (d.status == "pending")
        if lease is not None:
            where &= d.claimed == lease
        with self.engine.begin() as conn:
            return conn.execute(update(t.deliveries).where(where).values(status="sending", claimed=utcnow())
                                ).rowcount == 1

    def claim_edit(self, delivery_id: int, lease: datetime | None) -> bool:
        """Whether this instance may edit the row's message now (always, without a lease); touching
        `claimed` keeps the chat held while its edits go out."""
        if lease is None:
            return True
        d = t.deliveries.c
        with self.engine.begin() as conn:
            return conn.execute(update(t.deliveries).where((d.id == delivery_id) & (d.claimed == lease)
                                                           & (d.status == "sent")).values(claimed=utcnow())
                                ).rowcount == 1

    def finish_delivery(self, delivery_id: int, status: str, message_id: str | None = None,
                        error: str | None = None, digest: str | None = None) -> None:
        values = {"status": status, "needs_edit": False, "error": error}
        if status == "sent":
            values.update(message_id=message_id, sent=utcnow())
            if digest:
                values["digest"] = digest
        with self.engine.begin() as conn:
            conn.execute(update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(**values))

    def retry_delivery(self, delivery_id: int, delay: float, error: str, count_attempt: bool) -> None:
        values = {"status": "pending", "error": error, "next_attempt": utcnow() + timedelta(seconds=delay)}
        if count_attempt:
            values["attempts"] = t.deliveries.c.attempts + 1
        with self.engine.begin() as conn:
            conn.execute(update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(**values))

    def recover_deliveries(self) -> int:
        """Rows left "sending" by a crash may or may not have arrived: mark them uncertain."""
        with self.engine.begin() as conn:
            return conn.execute(update(t.deliveries).where(
                (t.deliveries.c.status == "sending") & (t.deliveries.c.claimed < utcnow() - STALE_CLAIM))
                .values(status="uncertain")).rowcount

    def outbox_backlog(self) -> list[tuple[str, int, datetime | None]]:
        """(platform, rows pending, when the oldest was queued) per platform; read through the
        (status, next_attempt) index, so it costs the pending rows only, not the sent history."""
        d = t.deliveries.c
        with self.engine.connect() as conn:
            return [(p, n, _utc(oldest)) for p, n, oldest in conn.execute(
                select(d.platform, func.count(), func.min(d.created)).where(d.status == "pending")
                .group_by(d.platform))]

    def purge_deliveries(self, retention_days: int, batch: int = PURGE_BATCH) -> int:
        """Delete delivery records done with (FINAL) and created more than `retention_days` ago, a batch per
        transaction; returns how many went.

        Kept whatever their age: rows still queued or waiting for an edit, and a story's own message
        (followup_id 0) for as long as the story is stored. Its follow-ups reply to that message id
        (thread_start), a later report edits it, and a chat following chosen bidders is sent a story
        only if no such row exists (_late_matches): without it the chat would get the story again.
        Once the story itself is purged (bot.retention_days) its rows go too."""
        d = t.deliveries.c
        cutoff = utcnow() - timedelta(days=retention_days)
        story_kept = exists().where(t.alerts.c.id == d.alert_id)
        done = (d.created < cutoff) & d.status.in_(FINAL) & d.needs_edit.is_(False) & (
            (d.followup_id != 0) | ~story_kept)
        purged = 0
        while True:
            with self.engine.begin() as conn:
                ids = conn.execute(select(d.id).where(done).limit(batch)).scalars().all()
                if ids:
                    conn.execute(delete(t.deliveries).where(d.id.in_(ids)))
            purged += len(ids)
            if len(ids) < batch:
                break
        if purged:
            log.info("purged %d delivery records older than %d days", purged, retention_days)
        return purged

    def delivery_counts(self, since: datetime | None = None) -> dict[str, int]:
        """Delivery records by status; with `since`, the queued ones and those finished since then. Both read
        the (status, created) index, so /status costs what a day sends, not the whole retention: counting
        every record took 103 ms at 200,000 of them on PostgreSQL (bench/status.py)."""
        d = t.deliveries.c
        with self.engine.connect() as conn:
            if since is None:
                return dict(conn.execute(select(d.status, func.count()).group_by(d.status)).all())
            counts = dict(conn.execute(select(d.status, func.count()).where(d.status.in_(QUEUED))
                                       .group_by(d.status)).all())
            counts.update(conn.execute(select(d.status, func.count()).where(d.status.in_(FINAL) & (d.created >= since))
                                       .group_by(d.status)).all())
            return counts
