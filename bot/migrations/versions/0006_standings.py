"""Each bidder's standing (status, since when, partners, counts, latest report) and its timeline (status
changes) kept in tables as items are stored, so /bidders reads a few rows instead of aggregating every
mention; a mention says whether its bidder was configured or discovered. Filled from the stored
mentions by the store right after this migration (Store.migrate), with the same rules as new items."""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "standings",
        sa.Column("bidder", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(30)),
        sa.Column("status_at", TS),
        sa.Column("since", TS),
        sa.Column("partners", sa.Text, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("outlets", sa.Integer, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("last_link", sa.Text, nullable=False),
        sa.Column("last_title", sa.Text, nullable=False),
        sa.Column("last_source", sa.String(200), nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bidder", sa.String(200), nullable=False),
        sa.Column("status", sa.String(30)),
        sa.Column("published", TS, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
    )
    op.create_index("ix_status_changes_bidder", "status_changes", ["bidder", "published"])
    op.create_table(
        "standing_outlets",
        sa.Column("bidder", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
    )
    with op.batch_alter_table("bidder_mentions") as batch:
        batch.add_column(sa.Column("discovered", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("DELETE FROM meta WHERE key = 'standings_built'")


def downgrade() -> None:
    with op.batch_alter_table("bidder_mentions") as batch:
        batch.drop_column("discovered")
    op.drop_table("standing_outlets")
    op.drop_table("status_changes")
    op.drop_table("standings")
