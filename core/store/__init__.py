"""The job store: SQLAlchemy tables and the functions that change them. Imports no torch."""
