"""each job's rerun_of: the job whose resolved spec it repeats (issue 11)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("rerun_of", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_jobs_rerun_of_jobs"), "jobs", ["rerun_of"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("fk_jobs_rerun_of_jobs"), type_="foreignkey")
        batch.drop_column("rerun_of")
