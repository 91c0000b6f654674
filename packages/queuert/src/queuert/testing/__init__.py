"""Helpers for testing code that uses queuert: process jobs on demand, inject faults, watch notifications.

```python
from queuert.testing import process_until_idle

summary = await process_until_idle(client, processors)
summary.raise_errors()
```

Nothing here imports pytest. The reusable integration suites that adapter packages run
live in `queuert.testing.suites` (which needs `queuert[testing]`).
"""

from .._worker._attempt import AttemptOutcome as AttemptOutcome
from .._worker._attempt import AttemptStatus as AttemptStatus
from ._flaky import FaultPlan as FaultPlan
from ._flaky import FlakyNotifyAdapter as FlakyNotifyAdapter
from ._flaky import FlakyStateAdapter as FlakyStateAdapter
from ._flaky import fail_operations as fail_operations
from ._flaky import seeded_batches as seeded_batches
from ._notify import ListeningNotifyAdapter as ListeningNotifyAdapter
from ._notify import ReceivedNotifications as ReceivedNotifications
from ._notify import wake_idle_listeners as wake_idle_listeners
from ._process import ProcessSummary as ProcessSummary
from ._process import process_one as process_one
from ._process import process_until_idle as process_until_idle
from ._wait import next_moment as next_moment
from ._wait import wait_until as wait_until

__all__ = (
    "AttemptOutcome",
    "AttemptStatus",
    "FaultPlan",
    "FlakyNotifyAdapter",
    "FlakyStateAdapter",
    "ListeningNotifyAdapter",
    "ProcessSummary",
    "ReceivedNotifications",
    "fail_operations",
    "next_moment",
    "process_one",
    "process_until_idle",
    "seeded_batches",
    "wait_until",
    "wake_idle_listeners",
)
