"""Delivery outbox: one row per (alert, chat), the key that makes delivery exactly-once."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # No foreign key: the record that an alert was sent outlives the alert's retention.
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(100), nullable=False),
        sa.Column("thread_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", TS, nullable=False),
        sa.Column("needs_edit", sa.Boolean, nullable=False),
        sa.Column("message_id", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("created", TS, nullable=False),
        sa.Column("claimed", TS),
        sa.Column("sent", TS),
        sa.UniqueConstraint("alert_id", "platform", "chat_id", "thread_id", name="uq_delivery"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt"])


def downgrade() -> None:
    op.drop_table("deliveries")
