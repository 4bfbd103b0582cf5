"""A story's chat thread: follow-ups (a later item that brings a new fact) with their own outbox rows
replying to the story's message, the media an item cites, and a digest of what each message shows so
that an edit that changes nothing is not sent."""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_followups_alert_id", "followups", ["alert_id"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("cited", sa.String(500), nullable=False, server_default=""))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("followup_id", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("digest", sa.String(40)))
        batch.drop_constraint("uq_delivery", type_="unique")
        batch.create_unique_constraint("uq_delivery", ["alert_id", "followup_id", "platform", "chat_id", "thread_id"])


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE followup_id <> 0")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_delivery", type_="unique")
        batch.create_unique_constraint("uq_delivery", ["alert_id", "platform", "chat_id", "thread_id"])
        batch.drop_column("digest")
        batch.drop_column("followup_id")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("cited")
    op.drop_index("ix_followups_alert_id", "followups")
    op.drop_table("followups")
