"""The validation adapter cases: a registry built by the adapter wraps its failures the way core specifies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._job_types import ResolvedRef
from ...errors import JobTypeValidationError, JobTypeValidationErrorCode
from .._fixtures import ValidationCaseContext
from ._support import Group, raises

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._runner import Case

__all__ = ("CASES",)

Context = ValidationCaseContext


def expect_validation_error(
    call: Callable[[], object], code: JobTypeValidationErrorCode, type_name: str
) -> JobTypeValidationError:
    """Run `call` and check it raised `JobTypeValidationError` with this code and type name."""
    with raises(JobTypeValidationError) as caught:
        call()
    error = caught.value
    assert error.code == code, f"expected code {code!r}, got {error.code!r} ({error})"
    assert error.type_name == type_name, f"expected type_name {type_name!r}, got {error.type_name!r}"
    return error


# --- getTypeNames ------------------------------------------------------------------------------

type_names = Group[Context]("getTypeNames")


@type_names.case("returns all registered type names")
async def _type_names(t: Context) -> None:
    assert sorted(t.fixture.build_continuation_only().get_type_names()) == ["main", "next"]


# --- validateEntry -----------------------------------------------------------------------------

entry = Group[Context]("validateEntry")


@entry.case("passes for entry types")
async def _entry_passes(t: Context) -> None:
    t.fixture.build_entry().validate_entry("main")


@entry.case("wraps non-entry as JobTypeValidationError(code=not_entry_point)")
async def _entry_non_entry(t: Context) -> None:
    registry = t.fixture.build_non_entry()
    expect_validation_error(lambda: registry.validate_entry("internal"), "not_entry_point", "internal")


@entry.case("wraps unknown type as JobTypeValidationError(code=not_entry_point)")
async def _entry_unknown(t: Context) -> None:
    registry = t.fixture.build_entry()
    expect_validation_error(lambda: registry.validate_entry("unknown"), "not_entry_point", "unknown")


# --- parseInput --------------------------------------------------------------------------------

parse_input = Group[Context]("parseInput")


@parse_input.case("returns the parsed value for valid input")
async def _input_valid(t: Context) -> None:
    assert t.fixture.build_entry().parse_input("main", {"id": "abc"}) == {"id": "abc"}


@parse_input.case("wraps invalid input as JobTypeValidationError(code=invalid_input)")
async def _input_invalid(t: Context) -> None:
    registry = t.fixture.build_entry()
    error = expect_validation_error(lambda: registry.parse_input("main", {"id": 123}), "invalid_input", "main")
    assert error.__cause__ is not None, "the schema library's error must be the cause"
    assert error.details["input"] == {"id": 123}


# --- parseOutput -------------------------------------------------------------------------------

parse_output = Group[Context]("parseOutput")


@parse_output.case("returns the parsed value for valid output")
async def _output_valid(t: Context) -> None:
    assert t.fixture.build_entry().parse_output("main", {"ok": True}) == {"ok": True}


@parse_output.case("wraps invalid output as JobTypeValidationError(code=invalid_output)")
async def _output_invalid(t: Context) -> None:
    registry = t.fixture.build_entry()
    error = expect_validation_error(lambda: registry.parse_output("main", {"ok": "yes"}), "invalid_output", "main")
    assert error.__cause__ is not None, "the schema library's error must be the cause"
    assert error.details["output"] == {"ok": "yes"}


@parse_output.case("wraps a missing output schema as JobTypeValidationError(code=invalid_output)")
async def _output_missing_schema(t: Context) -> None:
    registry = t.fixture.build_continuation_only()
    expect_validation_error(lambda: registry.parse_output("main", {"whatever": True}), "invalid_output", "main")


# --- validateContinueWith ----------------------------------------------------------------------

continue_with = Group[Context]("validateContinueWith")


@continue_with.case("nominal: passes for a valid name")
async def _continue_nominal(t: Context) -> None:
    t.fixture.build_nominal_continuation().validate_continue_with("step1", ResolvedRef("step2", {"data": "x"}))


@continue_with.case("nominal: wraps an invalid name as JobTypeValidationError(code=invalid_continuation)")
async def _continue_nominal_invalid(t: Context) -> None:
    registry = t.fixture.build_nominal_continuation()
    expect_validation_error(
        lambda: registry.validate_continue_with("step1", ResolvedRef("step3", {})), "invalid_continuation", "step1"
    )


@continue_with.case("structural: passes for a matching shape")
async def _continue_structural(t: Context) -> None:
    t.fixture.build_structural_continuation().validate_continue_with("router", ResolvedRef("handler", {"payload": "x"}))


@continue_with.case("structural: wraps a non-matching shape as JobTypeValidationError(code=invalid_continuation)")
async def _continue_structural_invalid(t: Context) -> None:
    registry = t.fixture.build_structural_continuation()
    expect_validation_error(
        lambda: registry.validate_continue_with("router", ResolvedRef("handler", {"wrongField": "x"})),
        "invalid_continuation",
        "router",
    )


@continue_with.case("wraps a missing continue-with schema as JobTypeValidationError(code=invalid_continuation)")
async def _continue_missing_schema(t: Context) -> None:
    registry = t.fixture.build_entry()
    expect_validation_error(
        lambda: registry.validate_continue_with("main", ResolvedRef("main", {"id": "x"})),
        "invalid_continuation",
        "main",
    )


# --- validateBlockers --------------------------------------------------------------------------

blockers = Group[Context]("validateBlockers")


@blockers.case("nominal: passes for a valid name")
async def _blockers_nominal(t: Context) -> None:
    t.fixture.build_nominal_blockers().validate_blockers("main", [ResolvedRef("auth", {"token": "abc"})])


@blockers.case("nominal: wraps an invalid name as JobTypeValidationError(code=invalid_blockers)")
async def _blockers_nominal_invalid(t: Context) -> None:
    registry = t.fixture.build_nominal_blockers()
    expect_validation_error(
        lambda: registry.validate_blockers("main", [ResolvedRef("wrong", {"token": "abc"})]), "invalid_blockers", "main"
    )


@blockers.case("structural: passes for a matching shape")
async def _blockers_structural(t: Context) -> None:
    t.fixture.build_structural_blockers().validate_blockers("main", [ResolvedRef("auth", {"token": "abc"})])


@blockers.case("structural: wraps a non-matching shape as JobTypeValidationError(code=invalid_blockers)")
async def _blockers_structural_invalid(t: Context) -> None:
    registry = t.fixture.build_structural_blockers()
    expect_validation_error(
        lambda: registry.validate_blockers("main", [ResolvedRef("auth", {"wrong": "data"})]), "invalid_blockers", "main"
    )


@blockers.case("wraps a missing blockers schema with a non-empty list as JobTypeValidationError(code=invalid_blockers)")
async def _blockers_missing_schema(t: Context) -> None:
    registry = t.fixture.build_entry()
    registry.validate_blockers("main", [])
    expect_validation_error(
        lambda: registry.validate_blockers("main", [ResolvedRef("main", {"id": "x"})]), "invalid_blockers", "main"
    )


# --- external slice ----------------------------------------------------------------------------

external = Group[Context]("external slice")

_NOTIFICATION = ResolvedRef("notifications.send-notification", {"userId": "u1", "message": "hello"})
_CHARGE = ResolvedRef("payments.charge", {"amount": 12.5})


@external.case("the registry builds and validates entries from the main slice")
async def _external_entries(t: Context) -> None:
    registry = t.fixture.build_with_external_slice()
    registry.validate_entry("orders.place-order")
    assert sorted(registry.get_type_names()) == ["orders.confirm-order", "orders.place-order"]
    registry.validate_blockers("orders.confirm-order", [_NOTIFICATION])


@external.case("the registry validates blockers that reference several external slices passed as a sequence")
async def _external_slices(t: Context) -> None:
    registry = t.fixture.build_with_external_slices()
    registry.validate_blockers("orders.confirm-order", [_NOTIFICATION, _CHARGE])
    expect_validation_error(
        lambda: registry.validate_blockers("orders.confirm-order", [_CHARGE, _NOTIFICATION]),
        "invalid_blockers",
        "orders.confirm-order",
    )


# --- decode (additions of this port: typed values survive the round trip) -------------------

decode = Group[Context]("decode")


@decode.case("decodeInput turns a stored input into a value that parses back to the same JSON", upstream=False)
async def _decode_input(t: Context) -> None:
    registry = t.fixture.build_entry()
    stored = registry.parse_input("main", {"id": "abc"})
    decoded: Any = registry.decode_input("main", stored)
    assert registry.parse_input("main", decoded) == stored


@decode.case(
    "decodeInput wraps an undecodable stored input as JobTypeValidationError(code=invalid_input)", upstream=False
)
async def _decode_input_invalid(t: Context) -> None:
    registry = t.fixture.build_entry()
    expect_validation_error(lambda: registry.decode_input("main", {"id": 123}), "invalid_input", "main")


@decode.case("decodeOutput turns a stored output into a value that parses back to the same JSON", upstream=False)
async def _decode_output(t: Context) -> None:
    registry = t.fixture.build_entry()
    stored = registry.parse_output("main", {"ok": True})
    decoded: Any = registry.decode_output("main", stored)
    assert registry.parse_output("main", decoded) == stored


@decode.case(
    "decodeOutput wraps an undecodable stored output as JobTypeValidationError(code=invalid_output)", upstream=False
)
async def _decode_output_invalid(t: Context) -> None:
    registry = t.fixture.build_entry()
    expect_validation_error(lambda: registry.decode_output("main", {"ok": "yes"}), "invalid_output", "main")


CASES: tuple[Case[ValidationCaseContext], ...] = tuple(
    case
    for group in (type_names, entry, parse_input, parse_output, continue_with, blockers, external, decode)
    for case in group.cases
)
