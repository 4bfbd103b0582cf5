"""/latest walks items newest first: an index on their publication time (SQLite breaks ties by rowid)."""
from alembic import op

revision = "0005"
# main's 0004 (story features) creates this very index, same name and column: at the merge this file
# goes. It is here so this branch alone has the index /latest needs.
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_published", "items", ["published"])


def downgrade() -> None:
    op.drop_index("ix_items_published", table_name="items")
