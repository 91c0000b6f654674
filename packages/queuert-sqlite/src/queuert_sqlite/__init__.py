"""SQLite backend for queuert: a state adapter that keeps chains and jobs in an SQLite database.

```python
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

provider = await create_aiosqlite_provider("jobs.db")
state_adapter = await create_sqlite_state_adapter(state_provider=provider)
await state_adapter.migrate_to_latest()
```

SQLite admits one writer at a time, so the bundled providers serialize transactions with an
application-level read/write lock. That suits single-process services, command-line tools,
local development and tests; for many workers on several machines use `queuert-postgres`.
The adapter is experimental, as upstream's is: its API may change in a minor release.
"""

from ._adapter import SqliteStateAdapter as SqliteStateAdapter
from ._adapter import create_sqlite_state_adapter as create_sqlite_state_adapter
from ._aiosqlite import AiosqliteProvider as AiosqliteProvider
from ._aiosqlite import create_aiosqlite_provider as create_aiosqlite_provider
from ._errors import CannotOpenDatabaseError as CannotOpenDatabaseError
from ._errors import DatabaseLockedError as DatabaseLockedError
from ._errors import IncompatibleSchemaError as IncompatibleSchemaError
from ._errors import MisconfiguredConnectionError as MisconfiguredConnectionError
from ._errors import NotADatabaseError as NotADatabaseError
from ._errors import ReadOnlyDatabaseError as ReadOnlyDatabaseError
from ._errors import SqliteError as SqliteError
from ._errors import UnsupportedSqliteVersionError as UnsupportedSqliteVersionError
from ._provider import RuntimeType as RuntimeType
from ._provider import SqliteStateProvider as SqliteStateProvider
from ._shared_connection import SharedConnectionProvider as SharedConnectionProvider
from ._sqlite3 import Sqlite3Provider as Sqlite3Provider
from ._sqlite3 import create_sqlite3_provider as create_sqlite3_provider

__all__ = (
    "AiosqliteProvider",
    "CannotOpenDatabaseError",
    "DatabaseLockedError",
    "IncompatibleSchemaError",
    "MisconfiguredConnectionError",
    "NotADatabaseError",
    "ReadOnlyDatabaseError",
    "RuntimeType",
    "SharedConnectionProvider",
    "Sqlite3Provider",
    "SqliteError",
    "SqliteStateAdapter",
    "SqliteStateProvider",
    "UnsupportedSqliteVersionError",
    "create_aiosqlite_provider",
    "create_sqlite3_provider",
    "create_sqlite_state_adapter",
)
