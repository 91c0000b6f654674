"""SQLite backend for queuert.

Provides a state adapter that keeps chains and jobs in an SQLite database through
aiosqlite. SQLite allows a single writer, so the adapter serialises writes with an
application-level lock; it suits single-process deployments, tests and local tools.
"""

__all__: tuple[str, ...] = ()
