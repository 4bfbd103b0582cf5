"""Feeds remember what kind of failure they had, so /status can say it in German."""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("error_kind", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("error_kind")
