"""Storage: SQLAlchemy Core tables, Alembic migrations and query functions per area.

Query functions take a ``Connection`` and plain values; they never commit (the entry point
owns the transaction).
"""
