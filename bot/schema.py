"""Table definitions the store queries; migrations/ creates and evolves them."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint)

metadata = MetaData()

feeds = Table(
    "feeds", metadata,
    Column("url", String(2000), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("etag", String(500)),
    Column("last_modified", String(100)),
    Column("status", String(20), nullable=False, default="active"),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("error_kind", String(20)),
    Column("next_attempt", DateTime(timezone=True)),
    Column("last_polled", DateTime(timezone=True)),
    Column("last_ok", DateTime(timezone=True)),
    Column("moved_to", String(2000)),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("source", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("reasons", Text, nullable=False, default="[]"),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_alerts_published", "published"),
    Index("ix_alerts_updated", "updated"),  # the retention step finds old stories by it
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(32), nullable=False, unique=True),
    Column("link_key", String(32), nullable=False, index=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("feed_url", String(2000), nullable=False),
    Column("source", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("teaser", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("fetched", DateTime(timezone=True), nullable=False),
    Column("language", String(10), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("features", Text),  # bot.events.Features as JSON; NULL for items stored before 0004
    Column("cited", String(500), nullable=False, default=""),  # media the item cites, "; "-separated
    Index("ix_items_published", "published"),
)

mentions = Table(
    "bidder_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("bidder", String(200), nullable=False),
    Column("role", String(30)),
    Column("discovered", Boolean, nullable=False, default=False),
    Column("published", DateTime(timezone=True), nullable=False),
    Index("ix_mentions_bidder_published", "bidder", "published"),
)

standings = Table(
    "standings", metadata,  # one row per bidder, kept up to date as items are stored (bot.bidders.advance)
    Column("bidder", String(200), primary_key=True),
    Column("status", String(30)),
    Column("status_at", DateTime(timezone=True)),
    Column("since", DateTime(timezone=True)),
    Column("partners", Text, nullable=False, default=""),  # "; "-separated
    Column("articles", Integer, nullable=False),
    Column("outlets", Integer, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("last_link", Text, nullable=False),
    Column("last_title", Text, nullable=False),
    Column("last_source", String(200), nullable=False),
    Column("listed", Boolean, nullable=False),  # a configured bidder; else discovered (bot.discovery)
)

status_changes = Table(
    "status_changes", metadata,  # a bidder's timeline: its first report and every change of status
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bidder", String(200), nullable=False),
    Column("status", String(30)),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("source", String(200), nullable=False),
    Column("link", Text, nullable=False),
    Column("title", Text, nullable=False),
    Index("ix_status_changes_bidder", "bidder", "published"),
)

standing_outlets = Table(
    "standing_outlets", metadata,  # which outlets named each bidder: standings.outlets counts them
    Column("bidder", String(200), primary_key=True),
    Column("source", String(200), primary_key=True),
)

followups = Table(
    "followups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("facts", Text, nullable=False),  # bot.followups.Fact list as JSON
    Column("created", DateTime(timezone=True), nullable=False),
    Index("ix_followups_item_id", "item_id"),  # deleting an item checks its follow-ups (PostgreSQL)
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("chat_id", String(100), nullable=False),
    Column("thread_id", String(100), nullable=False, default=""),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("bidders", Text, nullable=False, server_default=""),  # only stories naming one of these; "" = all
    UniqueConstraint("platform", "chat_id", "thread_id", name="uq_subscription"),
)

meta = Table(
    "meta", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=False),
    Column("followup_id", Integer, nullable=False, default=0),  # 0: the story's own message
    Column("platform", String(20), nullable=False),
    Column("chat_id", String(100), nullable=False),
    Column("thread_id", String(100), nullable=False, default=""),
    Column("status", String(20), nullable=False),  # pending | sending | sent | failed | uncertain
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", DateTime(timezone=True), nullable=False),
    Column("needs_edit", Boolean, nullable=False, default=False),
    Column("message_id", String(100)),
    Column("error", Text),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("claimed", DateTime(timezone=True)),
    Column("sent", DateTime(timezone=True)),
    Column("digest", String(40)),  # of the content last sent or edited in: an edit that changes nothing is skipped
    UniqueConstraint("alert_id", "followup_id", "platform", "chat_id", "thread_id", name="uq_delivery"),
    Index("ix_deliveries_due", "status", "next_attempt"),
    Index("ix_deliveries_status_created", "status", "created"),  # the delivery purge: final rows by age
    Index("ix_deliveries_chat", "platform", "chat_id"),  # drop_chat, move_chat
)
