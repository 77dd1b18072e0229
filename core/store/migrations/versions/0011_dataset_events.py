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
# What refers to events, in the order to put back (each refers to the one before).
REFERRING = ("webhook_deliveries", "webhook_attempts")


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
    """SQLite changes a column by copying the table, dropping it and renaming the copy. With
    foreign keys on (core.store.db turns them on, and a pragma cannot turn them off inside the
    migration's transaction) the drop deletes the webhook deliveries of every event (ON DELETE
    CASCADE), and the new table starts its AUTOINCREMENT from the highest id left, so the id of
    a deleted last event could be given again. Both are put back. PostgreSQL alters in place."""

    def __enter__(self) -> None:
        bind = op.get_bind()
        self.sqlite = bind.dialect.name == "sqlite"
        if not self.sqlite:
            return
        for table in REFERRING:
            op.execute(f"CREATE TEMP TABLE saved_{table} AS SELECT * FROM {table}")
        self.sequence = bind.scalar(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        )

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if not self.sqlite or kind is not None:
            return
        for table in REFERRING:
            op.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM temp.saved_{table}")
            op.execute(f"DROP TABLE temp.saved_{table}")
        if self.sequence is not None:
            op.execute(
                sa.text(
                    "UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'events'"
                ).bindparams(seq=self.sequence)
            )
