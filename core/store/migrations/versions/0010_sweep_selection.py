"""validation metrics in each epoch record, reused_from on jobs (issue 20)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("epoch_metrics") as batch:
        batch.add_column(sa.Column("validation_loss", sa.Float(), nullable=True))
        batch.add_column(sa.Column("validation_accuracy", sa.Float(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("reused_from", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_jobs_reused_from_jobs"), "jobs", ["reused_from"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("fk_jobs_reused_from_jobs"), type_="foreignkey")
        batch.drop_column("reused_from")
    with op.batch_alter_table("epoch_metrics") as batch:
        batch.drop_column("validation_accuracy")
        batch.drop_column("validation_loss")
