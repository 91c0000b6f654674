"""Job type definitions, the registries built from them, merging, and the JSON check."""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Never, NoReturn, TypedDict, TypeVar

import pytest

from queuert._job_types import (
    EntryJobType,
    InputRef,
    JobType,
    JobTypes,
    NoOutput,
    Ref,
    ResolvedRef,
    Rest,
    Slot,
    create_job_types,
    define_job_types,
    get_chain_type_names,
    merge_job_types,
    type_name_of,
)
from queuert._json import JsonCompatibilityError, check_json_compatible
from queuert.errors import (
    DuplicateJobTypeError,
    JobTypeDefinitionError,
    JobTypeValidationError,
    UnknownJobTypeError,
)

if TYPE_CHECKING:
    from queuert._entities import JsonValue

# --- shared shapes ----------------------------------------------------------------------


class Id(TypedDict):
    id: str


class Ok(TypedDict):
    ok: bool


class Payload(TypedDict):
    payload: str


class RichPayload(TypedDict):
    payload: str
    extra: int


class Handled(TypedDict):
    handled: bool


class Token(TypedDict):
    token: str


class Animal:
    pass


class Dog(Animal):
    pass


def ref(type_name: str, input: object = None) -> ResolvedRef:
    return ResolvedRef(type_name=type_name, input=input)


def definition_problems(error: pytest.ExceptionInfo[JobTypeDefinitionError]) -> list[str]:
    return [line.strip()[2:] for line in str(error.value).splitlines()[1:]]


# --- JobType objects -------------------------------------------------------------------


def test_type_arguments_are_read_from_the_subscripted_class() -> None:
    fetch = EntryJobType[Id, Ok]("fetch")
    route = EntryJobType[Id, NoOutput, Handled]("route", continue_with="handle")
    handle = JobType[Payload, Handled]("handle")

    assert (fetch.input_type, fetch.output_type, fetch.has_output) == (Id, Ok, True)
    assert (route.output_type, route.has_output) == (Never, False)
    assert (handle.input_type, handle.output_type) == (Payload, Handled)
    assert fetch.entry is True
    assert handle.entry is False
    assert repr(fetch) == "EntryJobType[Id, Ok, Ok]('fetch')"
    assert repr(route) == "EntryJobType[Id, NoOutput, Handled]('route')"


def test_unsubscripted_and_type_variable_arguments_are_unknown() -> None:
    in_t = TypeVar("in_t")
    plain = JobType("plain")  # type: ignore[var-annotated]
    generic: JobType[Any, Any] = JobType[in_t, Ok]("generic")  # type: ignore[valid-type]

    assert (plain.input_type, plain.output_type, plain.has_output) == (None, None, None)
    assert repr(plain) == "JobType('plain')"
    assert generic.input_type is None
    assert generic.output_type is Ok


def test_none_input_and_noreturn_output() -> None:
    nullable = EntryJobType[None, int]("nullable")
    never = JobType[int, NoReturn]("never", continue_with="nullable")

    assert nullable.input_type is type(None)
    assert never.has_output is False


def test_subclass_declares_type_arguments_through_its_base() -> None:
    class Fetch(EntryJobType[Id, Ok]):
        pass

    fetch = Fetch("fetch")
    assert (fetch.input_type, fetch.output_type) == (Id, Ok)
    assert fetch.entry is True


@pytest.mark.parametrize("name", ["", 3, None])
def test_job_type_name_must_be_a_non_empty_string(name: Any) -> None:
    with pytest.raises(JobTypeDefinitionError, match="non-empty string"):
        JobType[Id, Ok](name)


def test_continue_with_accepts_one_reference_or_a_sequence() -> None:
    target = JobType[Payload, Handled]("target")
    structural = InputRef(Payload)

    assert JobType[Id, Ok]("a", continue_with="target").continue_with == ("target",)
    assert JobType[Id, Ok]("b", continue_with=target).continue_with == (target,)
    assert JobType[Id, Ok]("c", continue_with=structural).continue_with == (structural,)
    assert JobType[Id, Ok]("d", continue_with=["target", Ref("x", target)]).continue_with == (
        "target",
        Ref("x", target),
    )


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("continue_with", [3], "continue_with accepts"),
        ("continue_with", Slot("x"), "continue_with accepts"),
        ("continue_with", [""], "non-empty string"),
        ("blockers", ["auth"], r"Slot\(\.\.\.\) or Rest\(\.\.\.\)"),
        ("blockers", [Rest("a"), Slot("b")], "only allowed last"),
    ],
)
def test_malformed_references_fail_at_definition(keyword: str, value: Any, message: str) -> None:
    with pytest.raises(JobTypeDefinitionError, match=message):
        JobType[Id, Ok]("bad", **{keyword: value})


def test_reference_objects_validate_their_arguments() -> None:
    with pytest.raises(JobTypeDefinitionError, match="at least one"):
        Ref()
    with pytest.raises(JobTypeDefinitionError, match="Ref"):
        Ref(InputRef(Payload))  # type: ignore[arg-type]
    with pytest.raises(JobTypeDefinitionError, match="Slot"):
        Slot(3)  # type: ignore[arg-type]
    with pytest.raises(JobTypeDefinitionError, match="Rest"):
        Rest(Slot("a"))  # type: ignore[arg-type]


def test_references_compare_by_value() -> None:
    target = JobType[Payload, Handled]("target")
    assert Ref("a", target) == Ref("a", target)
    assert hash(Ref("a")) == hash(Ref("a"))
    assert Ref("a", target).names == ("a", "target")
    assert InputRef(Payload) == InputRef(Payload)
    assert InputRef(Payload) != InputRef(Token)
    assert Slot("a") == Slot("a")
    assert type_name_of(target) == "target"
    assert type_name_of("x") == "x"


# --- definition checks ------------------------------------------------------------------


def test_every_definition_problem_is_reported_at_once() -> None:
    notifications = define_job_types(EntryJobType[Token, Ok]("notifications.send"))
    with pytest.raises(JobTypeDefinitionError) as error:
        define_job_types(
            JobType[Id, NoOutput]("dead-end"),
            JobType[Id, Ok]("unknown-continuation", continue_with="missing"),
            JobType[Id, Ok]("external-continuation", continue_with="notifications.send"),
            JobType[Id, Ok]("structural-nothing", continue_with=InputRef(Dog)),
            EntryJobType[Id, Ok]("non-entry-blocker", blockers=[Slot("dead-end")]),
            EntryJobType[Id, Ok]("unknown-blocker", blockers=[Rest("nobody")]),
            EntryJobType[Id, Ok]("structural-blocker", blockers=[Slot(InputRef(Dog))]),
            external=notifications,
        )
    assert definition_problems(error) == [
        "job type 'dead-end' declares no output (NoOutput) and no continue_with, "
        "so its jobs could never complete; declare an output or a continuation",
        "job type 'unknown-continuation': continue_with refers to unknown job type 'missing'",
        "job type 'external-continuation': continue_with 'notifications.send' is a type of an external slice; "
        "a job may only continue to types of its own slice",
        "job type 'structural-nothing': continue_with InputRef(Dog) matches no job type of this slice "
        "(a candidate's input type must be the referenced type or a base of it)",
        "job type 'non-entry-blocker': blocker 'dead-end' is not an entry type (only chains can block a job)",
        "job type 'unknown-blocker': blockers refer to unknown job type 'nobody'",
        "job type 'structural-blocker': blocker InputRef(Dog) matches no entry type of this slice "
        "or its external slices",
    ]


def test_duplicate_and_overlapping_names_are_rejected() -> None:
    external = define_job_types(EntryJobType[Token, Ok]("shared"))
    with pytest.raises(JobTypeDefinitionError) as error:
        define_job_types(
            EntryJobType[Id, Ok]("twice"),
            EntryJobType[Id, Ok]("twice"),
            EntryJobType[Id, Ok]("shared"),
            external=[external],
        )
    assert definition_problems(error) == [
        "job type name 'twice' is defined more than once in this slice",
        "job type 'shared' is defined both in this slice and in an external slice",
    ]


def test_two_external_slices_defining_the_same_name_are_rejected() -> None:
    first = define_job_types(EntryJobType[Token, Ok]("auth"))
    second = define_job_types(EntryJobType[Token, Ok]("auth"))
    with pytest.raises(JobTypeDefinitionError, match="defined by two external slices"):
        define_job_types(EntryJobType[Id, Ok]("main", blockers=[Slot("auth")]), external=[first, second])


def test_the_same_definition_listed_twice_is_harmless() -> None:
    fetch = EntryJobType[Id, Ok]("fetch")
    assert define_job_types(fetch, fetch).get_type_names() == ("fetch",)


def test_a_reference_must_be_the_registered_definition() -> None:
    impostor = JobType[Payload, Handled]("handle")
    with pytest.raises(JobTypeDefinitionError, match="not the definition registered under that name"):
        define_job_types(
            EntryJobType[Id, NoOutput, Handled]("route", continue_with=impostor),
            JobType[Payload, Handled]("handle"),
        )


def test_only_job_type_objects_are_accepted() -> None:
    with pytest.raises(JobTypeDefinitionError, match="JobType or EntryJobType"):
        define_job_types("fetch")  # type: ignore[arg-type]
    with pytest.raises(JobTypeDefinitionError, match="external slices must be JobTypes"):
        define_job_types(EntryJobType[Id, Ok]("fetch"), external=[EntryJobType[Id, Ok]("x")])  # type: ignore[list-item]


def test_unknown_type_arguments_skip_the_output_rule() -> None:
    untyped = JobType("untyped")  # type: ignore[var-annotated]
    assert define_job_types(untyped).get_type_names() == ("untyped",)


# --- static registry: runtime checks ----------------------------------------------------


def orders_slice() -> JobTypes:
    return define_job_types(
        EntryJobType[Id, NoOutput, Handled]("route", continue_with=[InputRef(Payload), "route"]),
        JobType[Payload, Handled]("handle-a"),
        JobType[RichPayload, Handled]("handle-rich"),
        JobType[object, Handled]("handle-anything"),
        JobType[Token, Handled]("other"),
        EntryJobType[Token, Ok]("auth"),
        EntryJobType[Id, Ok]("main", blockers=[Slot("auth"), Rest(Ref("auth", "main"))]),
        EntryJobType[Id, Ok]("structural", blockers=[Slot(InputRef(Token))]),
    )


def test_static_registry_lists_its_names_in_definition_order() -> None:
    registry = orders_slice()
    assert registry.get_type_names() == (
        "route",
        "handle-a",
        "handle-rich",
        "handle-anything",
        "other",
        "auth",
        "main",
        "structural",
    )
    assert registry.knows_type_names is True
    handle = registry.get_job_type("handle-a")
    assert handle is not None
    assert handle.name == "handle-a"
    assert registry.get_job_type("nope") is None


def test_static_validate_entry() -> None:
    registry = orders_slice()
    registry.validate_entry("route")
    with pytest.raises(JobTypeValidationError) as error:
        registry.validate_entry("handle-a")
    assert (error.value.code, error.value.type_name, error.value.details) == ("not_entry_point", "handle-a", {})
    with pytest.raises(UnknownJobTypeError) as unknown:
        registry.validate_entry("nope")
    assert unknown.value.type_name == "nope"
    assert "route" in unknown.value.registered_type_names


def test_structural_continuation_matches_exact_base_and_catch_all_inputs() -> None:
    registry = orders_slice()
    for target in ("handle-a", "handle-anything", "route"):
        registry.validate_continue_with("route", ref(target, {"payload": "x"}))
    # A richer TypedDict needs keys that Payload does not promise, and Token is unrelated.
    for target in ("handle-rich", "other", "auth", "nope"):
        with pytest.raises(JobTypeValidationError) as error:
            registry.validate_continue_with("route", ref(target))
        assert error.value.code == "invalid_continuation"
        assert error.value.type_name == "route"
        assert error.value.details == {"target": ref(target)}


def test_structural_reference_uses_subclassing_for_classes() -> None:
    registry = define_job_types(
        EntryJobType[Id, NoOutput, Ok]("route", continue_with=InputRef(Dog)),
        JobType[Animal, Ok]("animal"),
        JobType[Dog, Ok]("dog"),
        JobType[Dog | None, Ok]("maybe-dog"),
    )
    for target in ("animal", "dog", "maybe-dog"):
        registry.validate_continue_with("route", ref(target))


def test_continuation_from_a_type_without_continue_with_is_rejected() -> None:
    registry = orders_slice()
    with pytest.raises(JobTypeValidationError, match="no continue_with declared") as error:
        registry.validate_continue_with("handle-a", ref("handle-a"))
    assert error.value.code == "invalid_continuation"


def test_nominal_continuations_by_name_definition_and_ref() -> None:
    step2 = JobType[Payload, Handled]("step2")
    registry = define_job_types(
        EntryJobType[Id, NoOutput, Handled]("step1", continue_with=[step2, Ref("step3", "step1")]),
        step2,
        JobType[Payload, Handled]("step3"),
    )
    for target in ("step2", "step3", "step1"):
        registry.validate_continue_with("step1", ref(target))


@pytest.mark.parametrize(
    ("blockers", "problem"),
    [
        ([], "expected at least 1 blocker chain(s), got 0"),
        (["main"], "blocker 0 is a 'main' chain but that slot accepts 'auth'"),
        (["auth", "route"], "blocker 1 is a 'route' chain but that slot accepts 'auth', 'main'"),
    ],
)
def test_blockers_must_fit_the_slots(blockers: list[str], problem: str) -> None:
    registry = orders_slice()
    refs = [ref(name) for name in blockers]
    with pytest.raises(JobTypeValidationError) as error:
        registry.validate_blockers("main", refs)
    assert error.value.code == "invalid_blockers"
    assert error.value.type_name == "main"
    assert error.value.details == {"blockers": refs}
    assert problem in str(error.value)


def test_rest_slot_takes_any_number() -> None:
    registry = orders_slice()
    registry.validate_blockers("main", [ref("auth")])
    registry.validate_blockers("main", [ref("auth"), ref("main"), ref("auth"), ref("main")])


def test_structural_blocker_slot_and_fixed_count() -> None:
    registry = orders_slice()
    registry.validate_blockers("structural", [ref("auth", {"token": "t"})])
    with pytest.raises(JobTypeValidationError, match="expected exactly 1"):
        registry.validate_blockers("structural", [ref("auth"), ref("auth")])


def test_types_without_blocker_slots_accept_only_no_blockers() -> None:
    registry = orders_slice()
    registry.validate_blockers("auth", [])
    with pytest.raises(JobTypeValidationError, match="expected exactly 0"):
        registry.validate_blockers("auth", [ref("auth")])


def test_static_parse_returns_the_value_itself() -> None:
    registry = orders_slice()
    value: dict[str, JsonValue] = {"id": "abc", "nested": [1, 2.5, None, True, {"k": "v"}]}
    assert registry.parse_input("main", value) is value
    assert registry.parse_output("main", value) is value
    assert registry.decode_input("main", value) is value
    assert registry.decode_output("main", value) is value


def test_static_parse_output_of_a_no_output_type_is_rejected() -> None:
    registry = orders_slice()
    with pytest.raises(JobTypeValidationError) as error:
        registry.parse_output("route", {"handled": True})
    assert error.value.code == "invalid_output"
    assert error.value.details == {"output": {"handled": True}}


def test_static_parse_rejects_values_that_are_not_json_native() -> None:
    registry = orders_slice()
    at = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(JobTypeValidationError) as error:
        registry.parse_input("main", {"items": [{}, {}, {"at": at}]})
    assert error.value.code == "invalid_input"
    assert error.value.type_name == "main"
    assert error.value.details == {"input": {"items": [{}, {}, {"at": at}]}, "path": "$.items[2].at"}
    assert isinstance(error.value.__cause__, JsonCompatibilityError)
    assert "$.items[2].at: datetime is not JSON-serializable" in str(error.value)

    with pytest.raises(JobTypeValidationError) as output_error:
        registry.parse_output("main", (1, 2))
    assert output_error.value.code == "invalid_output"
    assert output_error.value.details == {"output": (1, 2), "path": "$"}


def test_static_unknown_names() -> None:
    registry = orders_slice()
    with pytest.raises(UnknownJobTypeError):
        registry.parse_input("nope", {})
    with pytest.raises(UnknownJobTypeError):
        registry.parse_output("nope", {})
    with pytest.raises(UnknownJobTypeError):
        registry.validate_continue_with("nope", ref("route"))
    with pytest.raises(UnknownJobTypeError):
        registry.validate_blockers("nope", [])
    # Reads may meet rows of types this application does not define; they stay readable.
    assert registry.decode_input("nope", {"raw": 1}) == {"raw": 1}
    assert registry.decode_output("nope", [1]) == [1]


def test_external_slices_resolve_blockers() -> None:
    notifications = define_job_types(EntryJobType[Token, Ok]("notifications.send"))
    payments = define_job_types(EntryJobType[Id, Ok]("payments.charge"))
    orders = define_job_types(
        EntryJobType[Id, NoOutput, Ok]("orders.place", continue_with="orders.confirm"),
        JobType[Id, Ok](
            "orders.confirm",
            blockers=[Slot("notifications.send"), Slot(InputRef(Id)), Rest(InputRef(Token))],
        ),
        external=[notifications, payments],
    )
    assert orders.get_type_names() == ("orders.place", "orders.confirm")
    orders.validate_entry("orders.place")
    orders.validate_blockers(
        "orders.confirm", [ref("notifications.send"), ref("payments.charge"), ref("notifications.send")]
    )
    orders.validate_blockers("orders.confirm", [ref("notifications.send"), ref("orders.place")])
    with pytest.raises(UnknownJobTypeError):
        orders.validate_entry("notifications.send")


def test_chain_types_follow_continuations_through_cycles() -> None:
    registry = define_job_types(
        EntryJobType[Id, NoOutput, Ok]("a", continue_with="shared"),
        EntryJobType[Id, NoOutput, Ok]("b", continue_with="shared"),
        JobType[Id, Ok]("shared", continue_with=["loop"]),
        JobType[Id, Ok]("loop", continue_with=["shared", "loop"]),
        JobType[Id, Ok]("orphan"),
    )
    assert get_chain_type_names(registry, "a") == frozenset({"a"})
    assert get_chain_type_names(registry, "shared") == frozenset({"a", "b"})
    assert get_chain_type_names(registry, "loop") == frozenset({"a", "b"})
    assert get_chain_type_names(registry, "orphan") == frozenset()
    assert get_chain_type_names(registry, "nope") is None
    assert get_chain_type_names(merge_job_types([registry, orders_slice()]), "loop") == frozenset({"a", "b"})


# --- validated registry -----------------------------------------------------------------


Check = Callable[[object], None]


def expect_keys(**types: type) -> Check:
    def check(value: object) -> None:
        if not isinstance(value, dict) or set(value) != set(types):
            raise ValueError(f"expected keys {sorted(types)}, got {value!r}")
        for key, expected in types.items():
            if not isinstance(value[key], expected):
                raise TypeError(f"{key} must be {expected.__name__}")

    return check


class SchemaHooks:
    """A tiny schema-library stand-in: per-type checks, like the upstream conformance fixtures."""

    def __init__(
        self,
        *,
        entries: Mapping[str, bool],
        inputs: Mapping[str, Check],
        outputs: Mapping[str, Check] | None = None,
        continue_with: Mapping[str, Check] | None = None,
        blockers: Mapping[str, Callable[[Sequence[ResolvedRef]], None]] | None = None,
    ) -> None:
        self.entries = entries
        self.inputs = inputs
        self.outputs = outputs or {}
        self.continuations = continue_with or {}
        self.blocker_checks = blockers or {}
        self.calls: list[tuple[str, str]] = []

    def get_type_names(self) -> list[str]:
        return list(self.entries)

    def validate_entry(self, type_name: str) -> None:
        self.calls.append(("validate_entry", type_name))
        if not self.entries.get(type_name):
            raise ValueError(f"{type_name} is not an entry type")

    def parse_input(self, type_name: str, input: object) -> object:
        self.calls.append(("parse_input", type_name))
        self.inputs[type_name](input)
        return input

    def parse_output(self, type_name: str, output: object) -> object:
        self.calls.append(("parse_output", type_name))
        if type_name not in self.outputs:
            raise LookupError(f"{type_name} has no output schema")
        self.outputs[type_name](output)
        return output

    def validate_continue_with(self, type_name: str, target: ResolvedRef) -> None:
        self.calls.append(("validate_continue_with", type_name))
        if type_name not in self.continuations:
            raise LookupError(f"{type_name} has no continue_with schema")
        self.continuations[type_name](target)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef]) -> None:
        self.calls.append(("validate_blockers", type_name))
        if type_name not in self.blocker_checks:
            if blockers:
                raise LookupError(f"{type_name} takes no blockers")
            return
        self.blocker_checks[type_name](blockers)


def continuation_to(*names: str, input: Check | None = None) -> Check:
    def check(target: object) -> None:
        assert isinstance(target, ResolvedRef)
        if target.type_name not in names:
            raise ValueError(f"cannot continue to {target.type_name}")
        if input is not None:
            input(target.input)

    return check


def structural_continuation(input: Check) -> Check:
    def check(target: object) -> None:
        assert isinstance(target, ResolvedRef)
        input(target.input)

    return check


def continuation_only_hooks() -> SchemaHooks:
    return SchemaHooks(
        entries={"main": True, "next": False},
        inputs={"main": expect_keys(id=str), "next": expect_keys(data=str)},
        outputs={"next": expect_keys(done=bool)},
        continue_with={"main": continuation_to("next")},
    )


def test_validated_registry_passes_valid_values_through() -> None:
    registry = create_job_types(continuation_only_hooks())
    assert sorted(registry.get_type_names()) == ["main", "next"]
    registry.validate_entry("main")
    assert registry.parse_input("main", {"id": "abc"}) == {"id": "abc"}
    assert registry.parse_output("next", {"done": True}) == {"done": True}
    registry.validate_continue_with("main", ref("next", {"data": "x"}))
    registry.validate_blockers("main", [])


@pytest.mark.parametrize(
    ("call", "code", "type_name", "details", "cause"),
    [
        (lambda r: r.validate_entry("next"), "not_entry_point", "next", {}, ValueError),
        (lambda r: r.validate_entry("unknown"), "not_entry_point", "unknown", {}, ValueError),
        (lambda r: r.parse_input("main", {"id": 123}), "invalid_input", "main", {"input": {"id": 123}}, TypeError),
        (
            lambda r: r.parse_output("next", {"done": "yes"}),
            "invalid_output",
            "next",
            {"output": {"done": "yes"}},
            TypeError,
        ),
        (lambda r: r.parse_output("main", {}), "invalid_output", "main", {"output": {}}, LookupError),
        (
            lambda r: r.validate_continue_with("main", ref("step3")),
            "invalid_continuation",
            "main",
            {"target": ref("step3")},
            ValueError,
        ),
        (
            lambda r: r.validate_continue_with("next", ref("main")),
            "invalid_continuation",
            "next",
            {"target": ref("main")},
            LookupError,
        ),
        (
            lambda r: r.validate_blockers("main", [ref("main")]),
            "invalid_blockers",
            "main",
            {"blockers": [ref("main")]},
            LookupError,
        ),
    ],
)
def test_validated_registry_wraps_hook_failures(
    call: Callable[[JobTypes], object],
    code: str,
    type_name: str,
    details: dict[str, object],
    cause: type[Exception],
) -> None:
    registry = create_job_types(continuation_only_hooks())
    with pytest.raises(JobTypeValidationError) as error:
        call(registry)
    assert error.value.code == code
    assert error.value.type_name == type_name
    assert error.value.details == details
    assert type(error.value.__cause__) is cause
    assert str(error.value.__cause__) in str(error.value)


def test_validation_errors_from_hooks_pass_through_unchanged() -> None:
    raised = JobTypeValidationError("custom", code="invalid_input", type_name="main", details={"why": "custom"})

    class Hooks(SchemaHooks):
        def parse_input(self, type_name: str, input: object) -> object:
            raise raised

    registry = create_job_types(Hooks(entries={"main": True}, inputs={}))
    with pytest.raises(JobTypeValidationError) as error:
        registry.parse_input("main", {})
    assert error.value is raised


def test_cancellation_is_never_wrapped() -> None:
    class Hooks(SchemaHooks):
        def validate_entry(self, type_name: str) -> None:
            raise asyncio.CancelledError

    registry = create_job_types(Hooks(entries={"main": True}, inputs={}))
    with pytest.raises(asyncio.CancelledError):
        registry.validate_entry("main")


def test_parsed_values_must_be_json_compatible() -> None:
    class Hooks(SchemaHooks):
        def parse_input(self, type_name: str, input: object) -> object:
            return {"amount": Decimal("1.5")}

        def parse_output(self, type_name: str, output: object) -> object:
            return {"ratio": math.nan}

    registry = create_job_types(Hooks(entries={"main": True}, inputs={}))
    with pytest.raises(JobTypeValidationError) as error:
        registry.parse_input("main", "raw")
    assert error.value.code == "invalid_input"
    assert error.value.details == {"input": "raw", "path": "$.amount"}
    with pytest.raises(JobTypeValidationError) as output_error:
        registry.parse_output("main", "raw")
    assert output_error.value.code == "invalid_output"
    assert output_error.value.details == {"output": "raw", "path": "$.ratio"}


def test_structural_hooks_validate_the_raw_input() -> None:
    registry = create_job_types(
        SchemaHooks(
            entries={"router": True, "handler": False},
            inputs={"router": expect_keys(route=str), "handler": expect_keys(payload=str)},
            outputs={"handler": expect_keys(handled=bool)},
            continue_with={"router": structural_continuation(expect_keys(payload=str))},
        )
    )
    registry.validate_continue_with("router", ref("handler", {"payload": "x"}))
    with pytest.raises(JobTypeValidationError) as error:
        registry.validate_continue_with("router", ref("handler", {"wrongField": "x"}))
    assert error.value.code == "invalid_continuation"


def test_decode_hooks_turn_stored_json_back_into_objects() -> None:
    class Hooks(SchemaHooks):
        def decode_input(self, type_name: str, stored: JsonValue) -> object:
            assert isinstance(stored, str)
            return datetime.fromisoformat(stored)

        def decode_output(self, type_name: str, stored: JsonValue) -> object:
            raise ValueError("corrupt")

    registry = create_job_types(Hooks(entries={"main": True}, inputs={}))
    assert registry.decode_input("main", "2024-01-01T00:00:00+00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(JobTypeValidationError) as error:
        registry.decode_input("main", "not a date")
    assert error.value.code == "invalid_input"
    assert error.value.details == {"input": "not a date"}
    assert isinstance(error.value.__cause__, ValueError)
    with pytest.raises(JobTypeValidationError) as output_error:
        registry.decode_output("main", {})
    assert output_error.value.code == "invalid_output"
    # Names the hooks do not own are returned raw instead of being fed to the hooks.
    assert registry.decode_input("elsewhere", "not a date") == "not a date"


def test_without_decode_hooks_stored_values_are_returned_unchanged() -> None:
    registry = create_job_types(continuation_only_hooks())
    assert registry.decode_input("main", {"id": "a"}) == {"id": "a"}
    assert registry.decode_output("next", {"done": True}) == {"done": True}


def test_missing_hooks_are_a_definition_error() -> None:
    class Partial:
        def get_type_names(self) -> list[str]:
            return []

    with pytest.raises(JobTypeDefinitionError, match="validate_entry"):
        create_job_types(Partial())  # type: ignore[arg-type]


def test_typed_definitions_must_name_hook_types_and_add_their_rules() -> None:
    hooks = SchemaHooks(
        entries={"main": True, "next": True},
        inputs={"main": expect_keys(id=str), "next": expect_keys(data=str)},
        outputs={"main": expect_keys(ok=bool)},
        continue_with={"main": continuation_to("next", "elsewhere")},
    )
    with pytest.raises(JobTypeDefinitionError, match="'other' is not one of the names"):
        create_job_types(hooks, types=[EntryJobType[Id, Ok]("other")])

    registry = create_job_types(
        hooks,
        types=[
            EntryJobType[Id, NoOutput, Ok]("main", continue_with="next"),
            JobType[Payload, Ok]("next"),
        ],
    )
    assert registry.get_job_type("main") is not None
    # The hooks accept "next" as an entry, but its definition says otherwise.
    with pytest.raises(JobTypeValidationError) as error:
        registry.validate_entry("next")
    assert error.value.code == "not_entry_point"
    assert error.value.__cause__ is None
    with pytest.raises(JobTypeValidationError):
        registry.validate_continue_with("main", ref("elsewhere"))
    with pytest.raises(JobTypeValidationError, match="NoOutput"):
        registry.parse_output("main", {"ok": True})
    assert ("validate_entry", "next") in hooks.calls


def test_typed_definitions_may_reference_untyped_names_of_the_same_hooks() -> None:
    hooks = SchemaHooks(entries={"main": True, "auth": True}, inputs={}, blockers={"main": lambda refs: None})
    registry = create_job_types(
        hooks, types=[EntryJobType[Id, Ok]("main", blockers=[Slot("auth")])], external=define_job_types()
    )
    registry.validate_blockers("main", [ref("auth")])
    with pytest.raises(JobTypeValidationError):
        registry.validate_blockers("main", [])


def test_duplicate_names_from_the_hooks_are_rejected() -> None:
    class Hooks(SchemaHooks):
        def get_type_names(self) -> list[str]:
            return ["a", "a"]

    with pytest.raises(JobTypeDefinitionError, match="listed more than once"):
        create_job_types(Hooks(entries={}, inputs={}))


def test_validated_external_slices_resolve_blockers_by_name() -> None:
    notifications = create_job_types(SchemaHooks(entries={"notifications.send": True}, inputs={}))
    payments = create_job_types(SchemaHooks(entries={"payments.charge": True}, inputs={}))
    orders = define_job_types(
        EntryJobType[Id, Ok]("orders.confirm", blockers=[Slot("notifications.send"), Slot("payments.charge")]),
        external=[notifications, payments],
    )
    orders.validate_blockers("orders.confirm", [ref("notifications.send"), ref("payments.charge")])
    with pytest.raises(JobTypeValidationError):
        orders.validate_blockers("orders.confirm", [ref("payments.charge"), ref("notifications.send")])


# --- merging ----------------------------------------------------------------------------


def test_a_single_registry_is_used_as_is() -> None:
    registry = orders_slice()
    assert merge_job_types(registry) is registry
    assert merge_job_types([registry]) is registry
    assert merge_job_types([registry, registry]) is registry


def test_merging_routes_each_name_to_its_slice() -> None:
    hooks = continuation_only_hooks()
    validated = create_job_types(hooks)
    static = define_job_types(EntryJobType[Token, Ok]("auth"))
    merged = merge_job_types([static, validated])

    assert merged.get_type_names() == ("auth", "main", "next")
    merged.validate_entry("auth")
    merged.validate_entry("main")
    assert merged.parse_input("main", {"id": "x"}) == {"id": "x"}
    merged.validate_continue_with("main", ref("next"))
    merged.validate_blockers("main", [])
    assert merged.parse_output("next", {"done": True}) == {"done": True}
    assert hooks.calls == [
        ("validate_entry", "main"),
        ("parse_input", "main"),
        ("validate_continue_with", "main"),
        ("validate_blockers", "main"),
        ("parse_output", "next"),
    ]
    with pytest.raises(JobTypeValidationError):
        merged.validate_entry("next")
    assert merged.get_job_type("auth") is static.get_job_type("auth")


def test_duplicate_names_across_slices() -> None:
    first = define_job_types(EntryJobType[Id, Ok]("a"), EntryJobType[Id, Ok]("b"))
    second = create_job_types(SchemaHooks(entries={"b": True, "c": True}, inputs={}))
    third = define_job_types(EntryJobType[Id, Ok]("a"))
    with pytest.raises(DuplicateJobTypeError) as error:
        merge_job_types([first, second, third])
    assert error.value.duplicate_type_names == ("b", "a")


def test_unknown_names_are_rejected_when_every_slice_knows_its_names() -> None:
    merged = merge_job_types([define_job_types(EntryJobType[Id, Ok]("a")), define_job_types(EntryJobType[Id, Ok]("b"))])
    assert merged.knows_type_names is True
    calls: list[Callable[[], object]] = [
        lambda: merged.validate_entry("x"),
        lambda: merged.parse_input("x", {}),
        lambda: merged.parse_output("x", {}),
        lambda: merged.validate_continue_with("x", ref("a")),
        lambda: merged.validate_blockers("x", []),
    ]
    for call in calls:
        with pytest.raises(UnknownJobTypeError) as error:
            call()
        assert error.value.type_name == "x"
        assert error.value.registered_type_names == ("a", "b")
    assert merged.decode_input("x", {"raw": True}) == {"raw": True}
    assert merged.decode_output("x", None) is None
    assert merged.get_job_type("x") is None


class NamelessJobTypes(JobTypes):
    """A hand-written registry that cannot list its names (the upstream pass-through case)."""

    knows_type_names = False

    def __init__(self, *, entry: bool = True) -> None:
        self.entry = entry
        self.calls: list[str] = []

    def get_type_names(self) -> Sequence[str]:
        return ()

    def validate_entry(self, type_name: str, /) -> None:
        self.calls.append(type_name)
        if not self.entry:
            raise RuntimeError("no entries here")

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        self.calls.append(type_name)
        return {"wrapped": datetime(2024, 1, 1, tzinfo=UTC)} if type_name == "bad" else "parsed"  # type: ignore[dict-item]

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        return "parsed"

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        pass

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        pass

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        return ("decoded", stored)


def test_foreign_registries_get_wrapped_errors_and_json_checks() -> None:
    foreign = NamelessJobTypes(entry=False)
    registry = merge_job_types(foreign)
    assert registry is not foreign
    assert registry.knows_type_names is False
    with pytest.raises(JobTypeValidationError) as error:
        registry.validate_entry("anything")
    assert error.value.code == "not_entry_point"
    assert isinstance(error.value.__cause__, RuntimeError)
    with pytest.raises(JobTypeValidationError) as json_error:
        registry.parse_input("bad", {})
    assert json_error.value.details == {"input": {}, "path": "$.wrapped"}
    assert registry.decode_input("anything", 1) == ("decoded", 1)


def test_a_single_nameless_slice_receives_every_unowned_name() -> None:
    nameless = NamelessJobTypes()
    merged = merge_job_types([define_job_types(EntryJobType[Id, Ok]("a")), nameless])
    assert merged.knows_type_names is False
    assert merged.get_type_names() == ("a",)
    merged.validate_entry("x")
    assert merged.parse_input("x", {}) == "parsed"
    assert merged.decode_input("x", 1) == ("decoded", 1)
    assert nameless.calls == ["x", "x"]
    assert merged.parse_input("a", {"id": "1"}) == {"id": "1"}


def test_several_nameless_slices_let_unowned_names_pass_through() -> None:
    first, second = NamelessJobTypes(entry=False), NamelessJobTypes(entry=False)
    merged = merge_job_types([first, second])
    merged.validate_entry("x")
    merged.validate_continue_with("x", ref("y"))
    merged.validate_blockers("x", [ref("y")])
    value: JsonValue = {"k": [1]}
    assert merged.parse_input("x", value) is value
    assert merged.decode_output("x", value) is value
    assert first.calls == second.calls == []
    with pytest.raises(JobTypeValidationError) as error:
        merged.parse_output("x", {"when": datetime(2024, 1, 1, tzinfo=UTC)})
    assert error.value.code == "invalid_output"


def test_merge_rejects_non_registries() -> None:
    with pytest.raises(TypeError, match="JobTypes"):
        merge_job_types([EntryJobType[Id, Ok]("a")])  # type: ignore[list-item]


def test_merging_nothing_knows_no_types() -> None:
    merged = merge_job_types([])
    assert merged.get_type_names() == ()
    with pytest.raises(UnknownJobTypeError):
        merged.validate_entry("a")


# --- the JSON check ---------------------------------------------------------------------


class Color(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        10**30,
        -1.5,
        "",
        [],
        {},
        {"a": [1, {"b": None}], "c": "d"},
        {"color": Color.RED, "level": Level.HIGH},
    ],
)
def test_json_native_values_pass(value: object) -> None:
    check_json_compatible(value)


def _self_containing() -> list[object]:
    value: list[object] = [1]
    value.append({"again": value})
    return value


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        (datetime(2024, 1, 1, tzinfo=UTC), "$", "datetime is not JSON-serializable"),
        ({"items": [{}, {"at": Decimal(1)}]}, "$.items[1].at", "Decimal is not JSON-serializable"),
        ({"pair": (1, 2)}, "$.pair", "tuple is not JSON-native (it would be read back as a list); use a list"),
        ([math.inf], "$[0]", "float inf is not valid JSON (only finite numbers are)"),
        ({"x": {1: "a"}}, "$.x", "dict key 1 (int) is not a string"),
        ({"a key": {"b": {1, 2}}}, '$["a key"].b', "set is not JSON-serializable"),
        ({'q"uote': b"x"}, '$["q\\"uote"]', "bytes is not JSON-serializable"),
        (_self_containing(), "$[1].again", "list contains itself (circular reference)"),
    ],
)
def test_json_check_names_the_first_offending_path(value: object, path: str, reason: str) -> None:
    with pytest.raises(JsonCompatibilityError) as error:
        check_json_compatible(value)
    assert error.value.path == path
    assert error.value.reason.startswith(reason)
    assert str(error.value).startswith(f"{path}: {reason}")


def test_shared_but_acyclic_values_pass() -> None:
    shared = {"k": 1}
    check_json_compatible({"a": shared, "b": [shared, shared]})


def test_excessive_nesting_is_reported() -> None:
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(JsonCompatibilityError, match="nested too deeply"):
        check_json_compatible(value)


def test_json_error_survives_copying() -> None:
    # deepcopy goes through __reduce__, like pickling across a process pool.
    duplicate = copy.deepcopy(JsonCompatibilityError("$.a", "bad"))
    assert (duplicate.path, duplicate.reason, str(duplicate)) == ("$.a", "bad", "$.a: bad")
