"""The job store: SQLAlchemy tables and the functions that change them. Imports no torch."""

# Every table on Base.metadata whichever store module a process imports first (Alembic's
# comparison, the tests' clean-up of every table): the event and webhook tables, and the data
# set tables (issue 19), live apart.
from core.store import dataset_tables as _dataset_tables  # noqa: F401
from core.store import event_tables as _event_tables  # noqa: F401
