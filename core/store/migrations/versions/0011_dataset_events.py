"""events about uploaded data sets: events.dataset_id, events.job_id nullable (issue 19)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_SUBJECT = "(job_id IS NULL) <> (dataset_id IS NULL)"


def upgrade() -> None:
    with (
        _rebuilt_on_sqlite(),
        op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch,
    ):
        batch.add_column(sa.Column("dataset_id", sa.Uuid(), nullable=True))
        batch.alter_column("job_id", existing_type=sa.Uuid(), nullable=True)
        batch.create_foreign_key(
            op.f("fk_events_dataset_id_datasets"),
            "datasets",
            ["dataset_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_events_dataset_id_id", ["dataset_id", "id"])
        batch.create_check_constraint(op.f("ck_events_one_subject"), ONE_SUBJECT)


def downgrade() -> None:
    op.execute("DELETE FROM events WHERE job_id IS NULL")
    with (
        _rebuilt_on_sqlite(),
        op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch,
    ):
        batch.drop_constraint(op.f("ck_events_one_subject"), type_="check")
        batch.drop_index("ix_events_dataset_id_id")
        batch.drop_constraint(op.f("fk_events_dataset_id_datasets"), type_="foreignkey")
        batch.alter_column("job_id", existing_type=sa.Uuid(), nullable=False)
        batch.drop_column("dataset_id")


class _rebuilt_on_sqlite:
    """SQLite changes a column by copying the table, dropping it and renaming the copy (with
    foreign keys off, migrations/env.py, so the drop takes no webhook delivery with it). The new
    table starts its AUTOINCREMENT from the highest id copied, so the id of a deleted last event
    could be given again: the old sequence is put back. PostgreSQL alters in place."""

    def __enter__(self) -> None:
        bind = op.get_bind()
        self.sqlite = bind.dialect.name == "sqlite"
        if self.sqlite:
            self.sequence = bind.scalar(
                sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            )

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.sqlite and kind is None and self.sequence is not None:
            op.execute(
                sa.text(
                    "UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'events'"
                ).bindparams(seq=self.sequence)
            )
