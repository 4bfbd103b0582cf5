"""Chats: who subscribed, to which bidders, and what happens to a chat the platform says is gone or moved."""
from __future__ import annotations

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot import schema as t
from bot.match import normalise
from bot.store.base import StoreBase, utcnow


class ChatStore(StoreBase):
    def subscribe(self, platform: str, chat_id: str, thread_id: str = "") -> bool:
        """True when the chat was not subscribed before."""
        try:
            with self.engine.begin() as conn:
                if self._subscription(conn, platform, chat_id, thread_id):
                    return False
                conn.execute(insert(t.subscriptions).values(platform=platform, chat_id=chat_id,
                                                            thread_id=thread_id, created=utcnow()))
                return True
        except IntegrityError:  # another instance subscribed it in the same instant (configured channels)
            return False

    def unsubscribe(self, platform: str, chat_id: str, thread_id: str = "") -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(t.subscriptions).where(
                (t.subscriptions.c.platform == platform) & (t.subscriptions.c.chat_id == chat_id)
                & (t.subscriptions.c.thread_id == thread_id))).rowcount > 0

    def bidder_filter(self, platform: str, chat_id: str, thread_id: str = "") -> tuple[str, ...] | None:
        """The bidders a subscribed chat follows (empty: every story); None when it is not subscribed."""
        s = t.subscriptions.c
        with self.engine.connect() as conn:
            row = conn.execute(select(s.bidders).where((s.platform == platform) & (s.chat_id == chat_id)
                                                       & (s.thread_id == thread_id))).first()
        return None if row is None else names(row.bidders)

    def set_bidder_filter(self, platform: str, chat_id: str, thread_id: str, bidders: tuple[str, ...]) -> None:
        """Follow only stories naming one of `bidders` (empty: every story); subscribes the chat if needed."""
        s = t.subscriptions.c
        where = (s.platform == platform) & (s.chat_id == chat_id) & (s.thread_id == thread_id)
        with self.engine.begin() as conn:
            if not conn.execute(update(t.subscriptions).where(where).values(bidders="; ".join(bidders))).rowcount:
                conn.execute(insert(t.subscriptions).values(platform=platform, chat_id=chat_id, thread_id=thread_id,
                                                            created=utcnow(), bidders="; ".join(bidders)))

    def subscriptions(self, platform: str | None = None) -> list[tuple[str, str, str]]:
        query = select(t.subscriptions.c.platform, t.subscriptions.c.chat_id, t.subscriptions.c.thread_id)
        if platform:
            query = query.where(t.subscriptions.c.platform == platform)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query.order_by(t.subscriptions.c.id))]

    @staticmethod
    def _subscription(conn, platform, chat_id, thread_id):
        return conn.execute(select(t.subscriptions.c.id).where(
            (t.subscriptions.c.platform == platform) & (t.subscriptions.c.chat_id == chat_id)
            & (t.subscriptions.c.thread_id == thread_id))).first()

    def drop_chat(self, platform: str, chat_id: str, reason: str) -> None:
        """The bot can no longer post there: end every subscription of the chat, fail its queue."""
        with self.engine.begin() as conn:
            conn.execute(delete(t.subscriptions).where(
                (t.subscriptions.c.platform == platform) & (t.subscriptions.c.chat_id == chat_id)))
            conn.execute(update(t.deliveries).where(
                (t.deliveries.c.platform == platform) & (t.deliveries.c.chat_id == chat_id)
                & t.deliveries.c.status.in_(("pending", "sending"))).values(status="failed", error=reason))

    def move_chat(self, platform: str, old: str, new: str) -> None:
        """A group became a supergroup: its subscription and unsent alerts follow the new id."""
        s, d = t.subscriptions.c, t.deliveries.c
        with self.engine.begin() as conn:
            for (thread,) in conn.execute(select(s.thread_id).where((s.platform == platform) & (s.chat_id == old))):
                if self._subscription(conn, platform, new, thread):
                    conn.execute(delete(t.subscriptions).where(
                        (s.platform == platform) & (s.chat_id == old) & (s.thread_id == thread)))
            conn.execute(update(t.subscriptions).where((s.platform == platform) & (s.chat_id == old)).values(chat_id=new))
            there = t.deliveries.alias("there")
            taken = exists().where((there.c.platform == platform) & (there.c.chat_id == new)
                                   & (there.c.alert_id == d.alert_id) & (there.c.followup_id == d.followup_id))
            unsent = (d.platform == platform) & (d.chat_id == old) & d.status.in_(("pending", "sending"))
            conn.execute(delete(t.deliveries).where(unsent & taken))
            conn.execute(update(t.deliveries).where(unsent).values(chat_id=new, status="pending"))


def names(joined: str, fold: bool = False) -> tuple[str, ...]:
    """The bidders a subscription follows, stored as "A; B" (folded for matching with `fold`)."""
    return tuple(normalise(n) if fold else n for n in joined.split("; ") if n)
