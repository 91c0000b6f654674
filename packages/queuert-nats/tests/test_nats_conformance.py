"""The notify conformance suite against a real NATS server, as upstream runs it: three setups."""

from __future__ import annotations

import time
from secrets import token_hex
from typing import TYPE_CHECKING

import nats
import pytest

from queuert.conformance import NotifyConformanceFixture
from queuert.conformance.pytest import NotifyAdapterConformance
from queuert_nats import create_nats_notify_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.nats

SETUPS = ("default_prefix", "dotted_prefix", "key_value_hints")


class TestNatsNotifyAdapter(NotifyAdapterConformance):
    @pytest.fixture(params=SETUPS)
    async def notify_conformance_fixture(
        self, request: pytest.FixtureRequest, nats_url: str, prefix: str
    ) -> AsyncIterator[NotifyConformanceFixture]:
        nc = await nats.connect(nats_url)
        bucket = None
        if request.param == "default_prefix":
            adapter = await create_nats_notify_adapter(nc=nc)
        elif request.param == "dotted_prefix":
            # Upstream's custom prefix, made unique per test.
            adapter = await create_nats_notify_adapter(nc=nc, subject_prefix=f"myapp.notifications.{token_hex(4)}")
        else:
            bucket = f"queuert_hints_{time.time_ns()}_{token_hex(4)}"
            kv = await nc.jetstream().create_key_value(bucket=bucket, ttl=60)
            adapter = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix=prefix)
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()
        if bucket is not None:
            await nc.jetstream().delete_key_value(bucket)
        await nc.close()
