"""SQLite as the store under queuert's integration suites, for testing a notify adapter over a real database.

```python
from queuert.testing.suites import define_suite_tests
from queuert_sqlite.testing import SqliteStateUnderTest

define_suite_tests(globals(), SqliteStateUnderTest)  # with your `queuert_notify_adapter` fixture
```

Needs `queuert[testing]` (pytest, pytest-asyncio), like `queuert.testing.suites`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from queuert.adapters import validate_uuid
from queuert.testing.suites import NotifyAdapterUnderTest

from ._adapter import SqliteStateAdapter, create_sqlite_state_adapter
from ._aiosqlite import create_aiosqlite_provider

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("SqliteStateUnderTest",)


class SqliteStateUnderTest(NotifyAdapterUnderTest):
    """`NotifyAdapterUnderTest` over a new, migrated SQLite database file for each test."""

    @staticmethod
    async def create_state_adapter(directory: Path) -> SqliteStateAdapter[Any]:
        """A migrated adapter over `queuert.db` in `directory`, opened with aiosqlite; ids are UUIDs."""
        provider = await create_aiosqlite_provider(directory / "queuert.db")
        state = await create_sqlite_state_adapter(state_provider=provider, validate_id=validate_uuid)
        await state.migrate_to_latest()
        return state
