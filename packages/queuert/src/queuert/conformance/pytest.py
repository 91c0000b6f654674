"""The pytest binding of the conformance suites: one test per case.

Subclass a suite as `Test...` and override its fixture::

    import pytest_asyncio
    from queuert.conformance import StateConformanceFixture
    from queuert.conformance.pytest import StateAdapterConformance


    class TestMyStateAdapter(StateAdapterConformance):
        @pytest_asyncio.fixture
        async def state_conformance_fixture(self):
            adapter = await create_my_state_adapter(...)
            yield StateConformanceFixture(state_adapter=adapter)
            await adapter.close()

Each case becomes a test named `test_state_adapter_conformance[group::case]`, marked for
pytest-asyncio (no `asyncio_mode = "auto"` needed), with a fresh fixture per test. Cases
whose optional fixture hook is missing are skipped with a reason. Install the extra:
`pip install 'queuert[testing]'`.
"""

from ._pytest_binding import NotifyAdapterConformance as NotifyAdapterConformance
from ._pytest_binding import StateAdapterConformance as StateAdapterConformance
from ._pytest_binding import ValidationAdapterConformance as ValidationAdapterConformance

__all__ = ("NotifyAdapterConformance", "StateAdapterConformance", "ValidationAdapterConformance")
