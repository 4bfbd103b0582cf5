"""Indexes the retention step and blocked chats need: stories by update time, delivery records by
status and age (the delivery purge) and by chat (drop_chat, move_chat), follow-ups by item (deleting
an item checks them on PostgreSQL)."""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_alerts_updated", "alerts", ["updated"]),
    ("ix_deliveries_status_created", "deliveries", ["status", "created"]),
    ("ix_deliveries_chat", "deliveries", ["platform", "chat_id"]),
    ("ix_followups_item_id", "followups", ["item_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table)
