"""Items keep what the story model read from them (bot.events.Features as JSON), so later items are
compared with them without reading the text again; older items have none and are read when needed."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("features", sa.Text))
    op.create_index("ix_items_published", "items", ["published"])


def downgrade() -> None:
    op.drop_index("ix_items_published", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("features")
