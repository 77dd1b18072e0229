"""worker_data: the data sets each training worker has and whether it may download (issue 18)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "worker_data",
        sa.Column("worker", sa.String(length=255), nullable=False),
        sa.Column("datasets", JSON, nullable=False),
        sa.Column("may_download", sa.Boolean(), nullable=False),
        sa.Column("train_images", JSON, nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_worker_data")),
    )


def downgrade() -> None:
    op.drop_table("worker_data")
