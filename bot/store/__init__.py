"""The only part of Dealticker that writes to the database."""
from bot.store.base import utcnow
from bot.store.news import NewsStore
from bot.store.outbox import Delivery, OutboxStore
from bot.store.reading import ReadingStore


class Store(OutboxStore, ReadingStore, NewsStore):
    """Everything the bot keeps: news, stories and bidders (NewsStore, read back by ReadingStore),
    chats and the outbox."""


__all__ = ["Delivery", "Store", "utcnow"]
