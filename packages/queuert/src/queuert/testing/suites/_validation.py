"""Suite "validation": a validating job type registry at chain start and at completion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ..._job_types import create_job_types
from ..._worker._processors import Processor, create_processors
from ...errors import JobTypeValidationError
from ._base import IntegrationSuite, SuiteContext

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..._client import Client, WorkerlessCompletion
    from ..._completion import CompleteContext, ContinuationJob
    from ..._job_types import ResolvedRef
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("ValidationSuite",)


@dataclass(frozen=True)
class _Schema:
    entry: bool
    input_key: str
    output_key: str | None = None
    continues_to: tuple[str, ...] = ()
    blocker_types: tuple[str, ...] = ()


@dataclass
class _SchemaHooks:
    """Validation hooks in the style of a schema library: each type's input and output is `{key: int}`."""

    schemas: dict[str, _Schema] = field(
        default_factory=lambda: {
            "validation.order": _Schema(entry=True, input_key="qty", output_key="total"),
            "validation.route": _Schema(entry=True, input_key="qty", continues_to=("validation.ship",)),
            "validation.ship": _Schema(entry=False, input_key="parcel", output_key="tracking"),
            "validation.bundle": _Schema(
                entry=True, input_key="qty", output_key="total", blocker_types=("validation.order",)
            ),
        }
    )

    def get_type_names(self) -> list[str]:
        return list(self.schemas)

    def validate_entry(self, type_name: str, /) -> None:
        if not self.schemas[type_name].entry:
            raise ValueError(f"{type_name} cannot start a chain")

    @staticmethod
    def _check(value: object, key: str) -> None:
        if not isinstance(value, dict) or set(value) != {key} or not isinstance(value[key], int):
            raise ValueError(f"expected {{{key!r}: int}}, got {value!r}")

    def parse_input(self, type_name: str, input: object, /) -> object:
        self._check(input, self.schemas[type_name].input_key)
        return input

    def parse_output(self, type_name: str, output: object, /) -> object:
        key = self.schemas[type_name].output_key
        if key is None:
            raise ValueError(f"{type_name} never finishes a chain")
        self._check(output, key)
        return output

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        if target.type_name not in self.schemas[type_name].continues_to:
            raise ValueError(f"{type_name} cannot continue with {target.type_name}")
        self._check(target.input, self.schemas[target.type_name].input_key)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        allowed = self.schemas[type_name].blocker_types
        for blocker in blockers:
            if blocker.type_name not in allowed:
                raise ValueError(f"{type_name} cannot wait for a {blocker.type_name} chain")


class ValidationSuite(IntegrationSuite):
    """A registry made with `create_job_types` and custom hooks, exercised end to end."""

    async def _client(self, s: SuiteContext) -> Client[Any]:
        return await s.create_client(create_job_types(_SchemaHooks()))

    async def test_lists_the_type_names(self, queuert_suite: SuiteContext) -> None:
        registry = create_job_types(_SchemaHooks())
        assert sorted(registry.get_type_names()) == sorted(_SchemaHooks().schemas)

    async def test_accepts_valid_input_at_chain_start(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        chain = await s.start_chain(client, "validation.order", {"qty": 2})
        assert chain.input == {"qty": 2}

    async def test_rejects_a_type_that_is_not_an_entry_point(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        with pytest.raises(JobTypeValidationError) as caught:
            await s.start_chain(client, "validation.ship", {"parcel": 1})
        assert caught.value.code == "not_entry_point"
        assert caught.value.type_name == "validation.ship"
        assert (await client.list_chains()).items == []
        [logged] = s.entries("job_type_validation_error")
        assert logged["data"]["code"] == "not_entry_point"

    async def test_rejects_invalid_input_at_chain_start(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        with pytest.raises(JobTypeValidationError) as caught:
            await s.start_chain(client, "validation.order", {"qty": "two"})
        assert caught.value.code == "invalid_input"
        assert isinstance(caught.value.__cause__, ValueError)

    async def test_rejects_invalid_blockers_at_chain_start(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        routed = await s.start_chain(client, "validation.route", {"qty": 1})
        with pytest.raises(JobTypeValidationError) as caught:
            await s.start_chain(client, "validation.bundle", {"qty": 1}, blockers=[routed])
        assert caught.value.code == "invalid_blockers"
        order = await s.start_chain(client, "validation.order", {"qty": 1})
        bundle = await s.start_chain(client, "validation.bundle", {"qty": 1}, blockers=[order])
        assert bundle.status == "blocked"

    async def _process_order(self, s: SuiteContext, client: Client[Any], output: object) -> Any:
        async def handle(ctx: AttemptContext[object, Any, Any]) -> AttemptResult[Any, Any]:
            async def finish(_: CompleteContext[object]) -> object:
                # Invalid outputs fail only the first attempt, so the chain still ends.
                return output if ctx.job.attempt == 1 else {"total": 0}

            return await ctx.complete(finish)

        # Processors keyed by type name: the dynamic form, for registries without typed definitions.
        processors = create_processors(
            client=client, processors={"validation.order": Processor(attempt_handler=handle)}
        )
        await s.start_worker(client, slices=[processors])
        chain = await s.start_chain(client, "validation.order", {"qty": 3})
        return await s.await_chain(client, chain)

    async def test_accepts_a_valid_output_during_worker_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        done = await self._process_order(s, await self._client(s), {"total": 30})
        assert done.output == {"total": 30}
        assert not s.entries("job_attempt_failed")

    async def test_rejects_an_invalid_output_during_worker_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        done = await self._process_order(s, await self._client(s), {"total": "thirty"})
        assert done.output == {"total": 0}
        [failed] = s.entries("job_attempt_failed")
        error = failed.get("error")
        assert isinstance(error, JobTypeValidationError)
        assert error.code == "invalid_output"

    async def _process_route(self, s: SuiteContext, client: Client[Any], target: str, input: object) -> Any:
        async def route(ctx: AttemptContext[object, Any, Any]) -> Any:
            async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[Any]:
                if ctx.job.attempt == 1:
                    return await complete.continue_with(target, input=input)
                return await complete.continue_with("validation.ship", input={"parcel": 0})

            return await ctx.complete(hand_off)

        async def ship(ctx: AttemptContext[object, Any, Any]) -> AttemptResult[Any, Any]:
            async def finish(_: CompleteContext[object]) -> object:
                return {"tracking": ctx.job.input["parcel"]}

            return await ctx.complete(finish)

        processors = create_processors(
            client=client,
            processors={
                "validation.route": Processor(attempt_handler=route),
                "validation.ship": Processor(attempt_handler=ship),
            },
        )
        await s.start_worker(client, slices=[processors])
        chain = await s.start_chain(client, "validation.route", {"qty": 1})
        return await s.await_chain(client, chain)

    async def test_accepts_a_valid_continuation_during_worker_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        done = await self._process_route(s, await self._client(s), "validation.ship", {"parcel": 7})
        assert done.output == {"tracking": 7}
        assert not s.entries("job_attempt_failed")

    async def test_rejects_an_invalid_continuation_during_worker_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        done = await self._process_route(s, await self._client(s), "validation.order", {"qty": 1})
        assert done.output == {"tracking": 0}
        [failed] = s.entries("job_attempt_failed")
        error = failed.get("error")
        assert isinstance(error, JobTypeValidationError)
        assert error.code == "invalid_continuation"

    async def _complete(self, s: SuiteContext, client: Client[Any], chain_id: str, produce: Any) -> Any:
        async def complete(completion: WorkerlessCompletion[Any]) -> None:
            await completion.complete(completion.job, produce)

        chain = await client.get_chain(chain_id)
        assert chain is not None
        return await s.tx(
            lambda tx_ctx, hooks: client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=chain.type_name, id=chain_id, complete=complete
            )
        )

    async def test_validates_outputs_of_workerless_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        chain = await s.start_chain(client, "validation.order", {"qty": 1})

        async def bad(_: CompleteContext[Any]) -> object:
            return {"total": None}

        async def good(_: CompleteContext[Any]) -> object:
            return {"total": 1}

        with pytest.raises(JobTypeValidationError) as caught:
            await self._complete(s, client, chain.id, bad)
        assert caught.value.code == "invalid_output"
        done = await self._complete(s, client, chain.id, good)
        assert done.output == {"total": 1}

    async def test_validates_continuations_of_workerless_completion(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await self._client(s)
        chain = await s.start_chain(client, "validation.route", {"qty": 1})

        async def bad(complete: CompleteContext[Any]) -> Any:
            return await complete.continue_with("validation.ship", input={"parcel": "x"})

        async def good(complete: CompleteContext[Any]) -> Any:
            return await complete.continue_with("validation.ship", input={"parcel": 2})

        with pytest.raises(JobTypeValidationError) as caught:
            await self._complete(s, client, chain.id, bad)
        assert caught.value.code == "invalid_continuation"
        advanced = await self._complete(s, client, chain.id, good)
        assert advanced.status == "pending"
        assert len((await client.list_chain_jobs(chain.id)).items) == 2
