"""Alembic environment: the URL comes from the caller (core.store.migrate) or the settings."""

from __future__ import annotations

from alembic import context

from core.settings import get_settings
from core.store.db import get_engine
from core.store.tables import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    with get_engine(url).connect() as connection:
        # render_as_batch lets ALTER TABLE work on SQLite too.
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
