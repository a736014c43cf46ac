"""Store failures callers may catch without importing SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import DatabaseError, OperationalError

# The database cannot be reached or refused the operation (down, locked, connection lost); ``.orig`` is
# the driver's own error.
StoreUnreachable = OperationalError
# The database answered but cannot be used: a file that is not a SQLite database, a corrupt page, a value
# the column cannot hold (``StoreUnreachable`` is one kind of it: catch that first when it matters).
StoreUnusable = DatabaseError
