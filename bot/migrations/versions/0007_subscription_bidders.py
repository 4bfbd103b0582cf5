"""A subscription may follow chosen bidders only (`/subscribe Oracle`): their names, "; "-separated;
empty means every story."""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("bidders", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("bidders")
