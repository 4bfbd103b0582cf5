"""Initial schema: feeds, alerts, items, bidder mentions, subscriptions, meta."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("url", sa.String(2000), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt", TS),
        sa.Column("last_polled", TS),
        sa.Column("last_ok", TS),
        sa.Column("moved_to", sa.String(2000)),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("published", TS, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_alerts_published", "alerts", ["published"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("link_key", sa.String(32), nullable=False),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("feed_url", sa.String(2000), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("teaser", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("published", TS, nullable=False),
        sa.Column("fetched", TS, nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.create_index("ix_items_link_key", "items", ["link_key"])
    op.create_index("ix_items_alert_id", "items", ["alert_id"])
    op.create_table(
        "bidder_mentions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("bidder", sa.String(200), nullable=False),
        sa.Column("role", sa.String(30)),
        sa.Column("published", TS, nullable=False),
    )
    op.create_index("ix_bidder_mentions_item_id", "bidder_mentions", ["item_id"])
    op.create_index("ix_mentions_bidder_published", "bidder_mentions", ["bidder", "published"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(100), nullable=False),
        sa.Column("thread_id", sa.String(100), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.UniqueConstraint("platform", "chat_id", "thread_id", name="uq_subscription"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "subscriptions", "bidder_mentions", "items", "alerts", "feeds"):
        op.drop_table(table)
