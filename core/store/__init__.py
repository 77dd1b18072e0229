"""The job store: SQLAlchemy tables and the functions that change them. Imports no torch."""

# Every table on Base.metadata whichever store module a process imports first (Alembic's
# comparison, the tests' clean-up of every table): the event and webhook tables live apart.
from core.store import event_tables as _event_tables  # noqa: F401
