"""The only part of Dealticker that writes to the database."""
from bot.store.base import utcnow
from bot.store.lease import migration_lock
from bot.store.news import NewsStore
from bot.store.outbox import Delivery, OutboxStore
from bot.store.reading import ReadingStore
from bot.store.standings import StandingsStore


class Store(OutboxStore, ReadingStore, StandingsStore, NewsStore):
    """Everything the bot keeps: news, stories and bidders (NewsStore, read back by ReadingStore),
    each bidder's standing (StandingsStore), chats and the outbox."""

    def migrate(self, revision: str = "head") -> None:
        with migration_lock(self.engine):
            super().migrate(revision)
            if revision == "head":
                self.ensure_standings()


__all__ = ["Delivery", "Store", "utcnow"]
