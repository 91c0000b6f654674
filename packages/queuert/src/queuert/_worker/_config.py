"""Worker settings: backoff and lease configuration, their defaults, and how they are resolved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import uuid4

__all__ = (
    "DEFAULT_BACKOFF",
    "DEFAULT_LEASE",
    "DEFAULT_RECOVERY_BACKOFF",
    "BackoffConfig",
    "LeaseConfig",
    "WorkerDefaults",
    "backoff_ms",
    "make_worker_id",
)

_WORKER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def _check_positive(owner: str, name: str, value: object, *, allow_zero: bool = False) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{owner}.{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True, slots=True)
class BackoffConfig:
    """Exponential backoff: `min(initial_delay_ms * multiplier ** (n - 1), max_delay_ms)` for the n-th retry."""

    initial_delay_ms: float
    """Delay before the first retry."""
    max_delay_ms: float
    """Upper bound on any delay."""
    multiplier: float = 2.0
    """Factor applied per further retry (1.0 gives a constant delay)."""

    def __post_init__(self) -> None:
        _check_positive("BackoffConfig", "initial_delay_ms", self.initial_delay_ms, allow_zero=True)
        _check_positive("BackoffConfig", "max_delay_ms", self.max_delay_ms, allow_zero=True)
        _check_positive("BackoffConfig", "multiplier", self.multiplier)
        if self.multiplier < 1:
            raise ValueError(f"BackoffConfig.multiplier must be >= 1, got {self.multiplier!r}")
        if self.max_delay_ms < self.initial_delay_ms:
            raise ValueError("BackoffConfig.max_delay_ms must be >= initial_delay_ms")


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """How long a staged attempt holds its job without renewing, and how often it renews."""

    lease_ms: float
    """A staged job whose lease is this old without renewal may be reaped by any worker."""
    renew_interval_ms: float
    """How often the worker renews the lease while the attempt runs (keep it well below `lease_ms`)."""

    def __post_init__(self) -> None:
        _check_positive("LeaseConfig", "lease_ms", self.lease_ms)
        _check_positive("LeaseConfig", "renew_interval_ms", self.renew_interval_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDefaults:
    """Worker-wide defaults for processors that (and whose slice) set no backoff or lease of their own."""

    backoff_config: BackoffConfig | None = None
    lease_config: LeaseConfig | None = None


DEFAULT_BACKOFF = BackoffConfig(initial_delay_ms=10_000, max_delay_ms=300_000, multiplier=2.0)
"""Job retry backoff when nothing else is configured: 10 s, 20 s, 40 s, ... up to 5 min."""
DEFAULT_LEASE = LeaseConfig(lease_ms=60_000, renew_interval_ms=30_000)
"""Lease of a staged attempt when nothing else is configured."""
DEFAULT_RECOVERY_BACKOFF = BackoffConfig(initial_delay_ms=10_000, max_delay_ms=300_000, multiplier=2.0)
"""Backoff of the worker loop itself after an unexpected error."""


def backoff_ms(config: BackoffConfig, attempt: int) -> float:
    """The delay before retry number `attempt` (1-based; values below 1 count as 1)."""
    exponent = max(attempt, 1) - 1
    try:
        delay = config.initial_delay_ms * config.multiplier**exponent
    except OverflowError:
        return config.max_delay_ms
    return min(delay, config.max_delay_ms)


def make_worker_id(worker_name: str | None) -> str:
    """`"<worker_name>-<uuid4>"`, or a bare uuid4 without a name.

    Raises:
        ValueError: `worker_name` is empty or has characters outside `A-Z a-z 0-9 . _ -`.
    """
    if worker_name is None:
        return str(uuid4())
    if not isinstance(worker_name, str) or not _WORKER_NAME.match(worker_name):
        raise ValueError(f"worker_name must match ^[A-Za-z0-9._-]+$ (non-empty), got {worker_name!r}")
    return f"{worker_name}-{uuid4()}"
