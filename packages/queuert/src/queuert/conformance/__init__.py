"""Conformance suites: check a state, notify or validation adapter against its contract.

Two ways to run them, over the same case lists:

* framework-free: `await run_state_adapter_conformance(make_fixture)` (and the notify and
  validation runners) returns a `ConformanceReport`, or raises `ConformanceError` listing
  every failed case;
* pytest: subclass `StateAdapterConformance` (or `NotifyAdapterConformance`,
  `ValidationAdapterConformance`) from `queuert.conformance.pytest` as `Test...` and
  override its fixture; every case becomes one test.

See the "Writing an adapter" documentation page.
"""

from ._fixtures import NotifyConformanceFixture as NotifyConformanceFixture
from ._fixtures import StateConformanceFixture as StateConformanceFixture
from ._fixtures import ValidationConformanceFixture as ValidationConformanceFixture
from ._runner import Case as Case
from ._runner import CaseStatus as CaseStatus
from ._runner import ConformanceError as ConformanceError
from ._runner import ConformanceReport as ConformanceReport
from ._runner import ConformanceResult as ConformanceResult
from ._runner import ConformanceSkip as ConformanceSkip
from ._suites import notify_adapter_cases as notify_adapter_cases
from ._suites import run_notify_adapter_conformance as run_notify_adapter_conformance
from ._suites import run_state_adapter_conformance as run_state_adapter_conformance
from ._suites import run_validation_adapter_conformance as run_validation_adapter_conformance
from ._suites import state_adapter_cases as state_adapter_cases
from ._suites import validation_adapter_cases as validation_adapter_cases

__all__ = (
    # cases
    "Case",
    "CaseStatus",
    # results
    "ConformanceError",
    "ConformanceReport",
    "ConformanceResult",
    "ConformanceSkip",
    # fixtures
    "NotifyConformanceFixture",
    "StateConformanceFixture",
    "ValidationConformanceFixture",
    "notify_adapter_cases",
    # runners
    "run_notify_adapter_conformance",
    "run_state_adapter_conformance",
    "run_validation_adapter_conformance",
    "state_adapter_cases",
    "validation_adapter_cases",
)
