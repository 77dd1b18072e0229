"""datasets, dataset_files, dataset_chunks: users' own data sets (issue 19)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BLOB = sa.LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dataset_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_dataset_files_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_files")),
        sa.UniqueConstraint(
            "owner_id", "kind", "fingerprint", name=op.f("uq_dataset_files_owner_id")
        ),
    )
    op.create_index(op.f("ix_dataset_files_owner_id"), "dataset_files", ["owner_id"], unique=False)
    op.create_table(
        "dataset_chunks",
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("data", BLOB, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["dataset_files.id"],
            name=op.f("fk_dataset_chunks_file_id_dataset_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "index", name=op.f("pk_dataset_chunks")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_where", sa.Text(), nullable=True),
        sa.Column("test_fraction", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("upload_bytes", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=True),
        sa.Column("file_id", sa.Uuid(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("train_images", sa.Integer(), nullable=True),
        sa.Column("test_images", sa.Integer(), nullable=True),
        sa.Column("class_names", JSON, nullable=True),
        sa.Column("class_counts", JSON, nullable=True),
        sa.Column("info", JSON, nullable=True),
        sa.Column("samples", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_datasets_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["dataset_files.id"],
            name=op.f("fk_datasets_upload_id_dataset_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["dataset_files.id"],
            name=op.f("fk_datasets_file_id_dataset_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    op.create_index(op.f("ix_datasets_owner_id"), "datasets", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_datasets_owner_id"), table_name="datasets")
    op.drop_table("datasets")
    op.drop_table("dataset_chunks")
    op.drop_index(op.f("ix_dataset_files_owner_id"), table_name="dataset_files")
    op.drop_table("dataset_files")
