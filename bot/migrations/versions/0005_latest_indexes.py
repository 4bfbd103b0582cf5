"""/latest walks items newest first: an index on their publication time (id breaks ties)."""
from alembic import op

revision = "0005"
# In the story-features branch 0004 comes first: at the merge this becomes "0004" (one head only).
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_published", "items", ["published", "id"])


def downgrade() -> None:
    op.drop_index("ix_items_published", table_name="items")
