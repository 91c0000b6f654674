"""Job type definitions, references between them, and the runtime registries built from them.

A `JobType` object carries two things. Its type arguments (`JobType[In, Out]`) let a type
checker verify inputs, outputs and continuations. Its runtime attributes (name, entry flag,
`continue_with`, `blockers`) are what the registry checks at runtime: name unions,
structural matching and reachability cannot be expressed in Python's type system, so
registry construction checks them and raises `JobTypeDefinitionError`.
"""

from __future__ import annotations

import abc
import sys
import types as _types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeAlias, Union, get_args, get_origin

from ._json import JsonCompatibilityError, check_json_compatible
from .errors import (
    DuplicateJobTypeError,
    JobTypeDefinitionError,
    JobTypeValidationError,
    JobTypeValidationErrorCode,
    UnknownJobTypeError,
)

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from ._entities import JsonValue
else:

    def TypeVar(name, *constraints, default=None, **kwargs):
        # typing.TypeVar accepts `default=` (PEP 696) only from Python 3.13. Before that the
        # default matters to type checkers alone (they read typing_extensions), and the one
        # runtime consequence, subscripting with fewer arguments, is handled by
        # EntryJobType.__class_getitem__.
        if default is not None and sys.version_info >= (3, 13):
            return typing.TypeVar(name, *constraints, default=default, **kwargs)
        return typing.TypeVar(name, *constraints, **kwargs)


__all__ = (
    "BlockerSlot",
    "ChainOutT",
    "EntryJobType",
    "InT",
    "InputRef",
    "JobType",
    "JobTypes",
    "JobTypesOptions",
    "NoOutput",
    "OutT",
    "Ref",
    "Reference",
    "ResolvedRef",
    "Rest",
    "Slot",
    "create_job_types",
    "define_job_types",
    "get_chain_type_names",
    "merge_job_types",
    "type_name_of",
)

InT = TypeVar("InT")
"""The input type of a job type."""
OutT = TypeVar("OutT")
"""The output a job of this type produces when it finishes the chain (`NoOutput` if it never does)."""
ChainOutT = TypeVar("ChainOutT", default=OutT)
"""The output of chains started from an entry type; defaults to the entry type's own output."""
T = TypeVar("T")

NoOutput: TypeAlias = typing.Never
"""Output type of a job type that never finishes a chain: it always continues with another job."""


# --- references -------------------------------------------------------------------------


class Ref:
    """A nominal reference to one or more job types, by name or by definition.

    `Ref("step2", step2_alt)` accepts a `step2` or a `step2_alt` job. Inside `continue_with`
    several references may simply be listed; `Ref` is how a single blocker slot accepts
    more than one type.
    """

    __slots__ = ("_members",)

    def __init__(self, *members: str | JobType[Any, Any]) -> None:
        if not members:
            raise JobTypeDefinitionError("Ref() needs at least one job type name or definition")
        for member in members:
            if isinstance(member, JobType):
                continue
            if not isinstance(member, str) or not member:
                raise JobTypeDefinitionError(
                    f"Ref() accepts job type names (non-empty str) and JobType definitions, got {member!r}"
                )
        self._members: tuple[str | JobType[Any, Any], ...] = members

    @property
    def members(self) -> tuple[str | JobType[Any, Any], ...]:
        """The referenced names and definitions, as given."""
        return self._members

    @property
    def names(self) -> tuple[str, ...]:
        """The referenced job type names."""
        return tuple(type_name_of(member) for member in self._members)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and self._members == other._members

    def __hash__(self) -> int:
        return hash((Ref, self._members))

    def __repr__(self) -> str:
        return f"Ref({', '.join(repr(m) for m in self._members)})"


class InputRef(Generic[T]):
    """A structural reference: every job type whose input accepts `input_type`.

    A candidate type matches when its input type argument is `input_type` itself, a base
    class of it, a `TypedDict` whose keys it provides, a union containing one of those,
    `Any` or `object`. The reference must match at least one type when the registry is
    built. The caller picks the concrete type at runtime (a router continuing to whichever
    handler fits).
    """

    __slots__ = ("_input_type",)

    def __init__(self, input_type: type[T]) -> None:
        self._input_type: object = input_type

    @property
    def input_type(self) -> object:
        """The input type that candidate job types must accept."""
        return self._input_type

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InputRef) and self._input_type == other._input_type

    def __hash__(self) -> int:
        return hash((InputRef, self._input_type))

    def __repr__(self) -> str:
        return f"InputRef({_type_repr(self._input_type)})"


@dataclass(frozen=True, slots=True)
class Slot:
    """A fixed blocker slot: exactly one chain of a referenced entry type, in this position."""

    ref: Reference

    def __post_init__(self) -> None:
        _check_reference(self.ref, "Slot()")


@dataclass(frozen=True, slots=True)
class Rest:
    """A variadic blocker slot: zero or more chains of referenced entry types; only allowed last."""

    ref: Reference

    def __post_init__(self) -> None:
        _check_reference(self.ref, "Rest()")


@dataclass(frozen=True, slots=True)
class ResolvedRef:
    """A concrete job a registry is asked to approve: a continuation target or a blocker chain."""

    type_name: str
    """The job type name (for a blocker: the blocker chain's type)."""
    input: object
    """The raw input (for a blocker: the input of the blocker chain's first job)."""


# --- job types --------------------------------------------------------------------------


_UNKNOWN = object()


class JobType(Generic[InT, OutT]):
    """The definition of a job type that can only appear inside a chain (not start one).

    Create it through a subscripted class so that type checkers and the registry both
    learn the input and output types:

        handle = JobType[Payload, Handled]("orders.handle")
        route = JobType[RouteIn, NoOutput]("orders.route", continue_with=InputRef(Payload))

    Args:
        name: The unique type name, stored with every job (convention: `"<slice>.<name>"`).
        continue_with: The types a job may hand off to: a reference or a sequence of them.
            A type without `continue_with` must declare an output.
        blockers: Slots of entry types whose chains must complete before a job of this type
            runs: `Slot(ref)` for exactly one chain, then optionally one final `Rest(ref)`.

    Raises:
        JobTypeDefinitionError: for an empty name, a malformed reference or slot, or a
            `Rest` slot that is not last.
    """

    entry: ClassVar[bool] = False
    """Whether jobs of this type may start a chain."""

    def __init__(
        self,
        name: str,
        *,
        continue_with: Reference | Sequence[Reference] = (),
        blockers: Sequence[BlockerSlot] = (),
    ) -> None:
        if not isinstance(name, str) or not name:
            raise JobTypeDefinitionError(f"A job type name must be a non-empty string, got {name!r}")
        self._name = name
        self._continue_with = _normalize_references(name, continue_with)
        self._blockers = _normalize_slots(name, blockers)

    @property
    def name(self) -> str:
        """The job type name."""
        return self._name

    @property
    def continue_with(self) -> tuple[Reference, ...]:
        """The references a job of this type may continue to (empty: it can only finish the chain)."""
        return self._continue_with

    @property
    def blockers(self) -> tuple[BlockerSlot, ...]:
        """The declared blocker slots (empty: jobs of this type take no blockers)."""
        return self._blockers

    @property
    def input_type(self) -> object | None:
        """The input type argument, or `None` when it is not known (no subscript, or a type variable)."""
        arguments = self._type_arguments()
        return arguments[0] if arguments else None

    @property
    def output_type(self) -> object | None:
        """The output type argument (`NoOutput` for continue-only types), or `None` when unknown."""
        arguments = self._type_arguments()
        return arguments[1] if arguments else None

    @property
    def has_output(self) -> bool | None:
        """`False` for `NoOutput` types, `True` for types with an output, `None` when unknown."""
        output = self.output_type
        if output is None:
            return None
        return not _is_never(output)

    def _type_arguments(self) -> tuple[object | None, ...] | None:
        # `JobType[A, B](...)` records the subscripted alias as `__orig_class__` once
        # __init__ has returned, so this is read lazily. A subclass such as
        # `class Fetch(JobType[A, B])` records it in `__orig_bases__` instead.
        attributes = self.__dict__
        cached = attributes.get("_queuert_type_arguments", _UNKNOWN)
        if cached is not _UNKNOWN:
            return typing.cast("tuple[object | None, ...] | None", cached)
        alias = attributes.get("__orig_class__")
        if alias is None:
            alias = _parameterized_base(type(self))
        if alias is None:
            # Not cached: called before __init__ returned, `__orig_class__` may still come.
            return None
        arguments = get_args(alias)
        known = tuple(None if isinstance(argument, typing.TypeVar) else argument for argument in arguments)
        result = None if len(known) < 2 or all(argument is None for argument in known) else known
        # Every output check reads these (once per completed job): work them out once.
        attributes["_queuert_type_arguments"] = result
        return result

    def __repr__(self) -> str:
        arguments = self._type_arguments()
        if arguments is None:
            return f"{type(self).__name__}({self._name!r})"
        shown = ", ".join("?" if argument is None else _type_repr(argument) for argument in arguments)
        return f"{type(self).__name__}[{shown}]({self._name!r})"


class EntryJobType(JobType[InT, OutT], Generic[InT, OutT, ChainOutT]):
    """The definition of a job type that may start a chain.

    `ChainOutT` is the output of the chain as a whole: the output of whichever job ends
    it. It defaults to the entry type's own output, so `EntryJobType[In, Out]` describes a
    chain of one job; a router that always hands off is `EntryJobType[In, NoOutput, Final]`.
    Only entry types may be passed to `start_chain` or referenced as blockers.
    """

    entry: ClassVar[bool] = True

    if not TYPE_CHECKING:

        def __class_getitem__(cls, parameters):
            # Fill the ChainOutT default at runtime on Pythons whose TypeVar has no
            # `default=`, so that `EntryJobType[In, Out]` does not fail with "too few arguments".
            if isinstance(parameters, tuple) and len(parameters) == 2:
                parameters = (*parameters, parameters[1])
            return super().__class_getitem__(parameters)


Reference: TypeAlias = str | JobType[Any, Any] | Ref | InputRef[Any]
"""A reference to job types: a name, a definition, a `Ref` union, or a structural `InputRef`."""

BlockerSlot: TypeAlias = Slot | Rest
"""One declared blocker position."""

_REFERENCE_CLASSES = (str, JobType, Ref, InputRef)


def type_name_of(job_type: str | JobType[Any, Any]) -> str:
    """The name of a job type given either as a name or as its definition."""
    return job_type if isinstance(job_type, str) else job_type.name


def _check_reference(ref: object, where: str) -> None:
    if isinstance(ref, str) and not ref:
        raise JobTypeDefinitionError(f"{where}: a job type name must be a non-empty string")
    if not isinstance(ref, _REFERENCE_CLASSES):
        raise JobTypeDefinitionError(
            f"{where} accepts a job type name, a JobType, Ref(...) or InputRef(...), got {ref!r}"
        )


def _normalize_references(owner: str, references: Reference | Sequence[Reference]) -> tuple[Reference, ...]:
    single = isinstance(references, _REFERENCE_CLASSES) or not isinstance(references, Iterable)
    items: tuple[object, ...] = (references,) if single else tuple(typing.cast("Iterable[object]", references))
    for item in items:
        _check_reference(item, f"Job type {owner!r}: continue_with")
    return typing.cast("tuple[Reference, ...]", items)


def _normalize_slots(owner: str, slots: Sequence[BlockerSlot]) -> tuple[BlockerSlot, ...]:
    single = isinstance(slots, Slot | Rest) or not isinstance(slots, Iterable)
    items: tuple[object, ...] = (slots,) if single else tuple(slots)
    for index, item in enumerate(items):
        if not isinstance(item, Slot | Rest):
            raise JobTypeDefinitionError(
                f"Job type {owner!r}: blockers must be Slot(...) or Rest(...) items, got {item!r} "
                "(wrap a reference in Slot(ref) for exactly one chain or Rest(ref) for any number)"
            )
        if isinstance(item, Rest) and index != len(items) - 1:
            raise JobTypeDefinitionError(f"Job type {owner!r}: a Rest(...) blocker slot is only allowed last")
    return typing.cast("tuple[BlockerSlot, ...]", items)


# --- type-argument helpers ----------------------------------------------------------------


def _is_never(annotation: object) -> bool:
    return annotation is typing.Never or annotation is typing.NoReturn


def _parameterized_base(cls: type) -> object | None:
    for klass in cls.__mro__:
        bases: tuple[object, ...] = klass.__dict__.get("__orig_bases__", ())
        for base in bases:
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, JobType):
                return base
    return None


def _type_repr(annotation: object) -> str:
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__qualname__
    if _is_never(annotation):
        return "NoOutput"
    return repr(annotation).replace("typing.", "")


def _is_union(annotation: object) -> bool:
    origin = get_origin(annotation)
    return origin is Union or origin is _types.UnionType


def _is_typeddict(annotation: object) -> bool:
    # typing.is_typeddict misses typing_extensions.TypedDict classes on older Pythons.
    return (
        isinstance(annotation, type)
        and issubclass(annotation, dict)
        and hasattr(annotation, "__required_keys__")
        and hasattr(annotation, "__optional_keys__")
    )


def _typeddict_fields(typed_dict: type) -> Mapping[str, object]:
    try:
        return typing.get_type_hints(typed_dict)
    except Exception:  # unresolvable forward references: compare the annotations as written
        return typing.cast("Mapping[str, object]", typed_dict.__annotations__)


def _typeddict_accepts(candidate: Any, offered: Any) -> bool:
    candidate_fields = _typeddict_fields(candidate)
    offered_fields = _typeddict_fields(offered)
    for key, annotation in candidate_fields.items():
        if key not in offered_fields or offered_fields[key] != annotation:
            return False
        if key in candidate.__required_keys__ and key not in offered.__required_keys__:
            return False
    return True


def _input_accepts(candidate: object, offered: object) -> bool:
    """Whether a job type whose input type is `candidate` accepts values of type `offered`."""
    if candidate is Any or candidate is object:
        return True
    if _is_union(offered):
        return all(_input_accepts(candidate, member) for member in get_args(offered))
    if _is_union(candidate):
        return any(_input_accepts(member, offered) for member in get_args(candidate))
    try:
        if candidate == offered:
            return True
    except Exception:  # a type form with a hostile __eq__ simply does not match
        return False
    if _is_typeddict(candidate) and _is_typeddict(offered):
        return _typeddict_accepts(candidate, offered)
    if isinstance(candidate, type) and isinstance(offered, type) and not get_args(candidate):
        try:
            return issubclass(offered, candidate)
        except TypeError:
            return False
    return False


# --- the runtime registry contract --------------------------------------------------------


class JobTypes(abc.ABC):
    """A runtime job type registry: what a client consults before every write.

    Build one with `define_job_types` (checks names and references only) or
    `create_job_types` (adds your own validation hooks). A client merges the registries
    ("slices") it is given; each call is routed to the slice that owns the type name.
    """

    knows_type_names: bool = True
    """Whether `get_type_names` lists every name this registry handles.

    `False` only for registries that cannot enumerate their names; merged registries then
    pass unknown names through instead of rejecting them.
    """

    @abc.abstractmethod
    def get_type_names(self) -> Sequence[str]:
        """The names of the job types this registry owns (external types are not listed)."""

    @abc.abstractmethod
    def validate_entry(self, type_name: str, /) -> None:
        """Raise `JobTypeValidationError(code="not_entry_point")` unless `type_name` may start a chain."""

    @abc.abstractmethod
    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        """Validate and normalise a job's input; the returned JSON value is what gets stored.

        Raises:
            JobTypeValidationError: `code="invalid_input"`.
        """

    @abc.abstractmethod
    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        """Validate and normalise the output of a job that finishes its chain; the result is stored.

        Raises:
            JobTypeValidationError: `code="invalid_output"`.
        """

    @abc.abstractmethod
    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        """Raise `JobTypeValidationError(code="invalid_continuation")` unless `type_name` may continue to `target`."""

    @abc.abstractmethod
    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        """Raise `JobTypeValidationError(code="invalid_blockers")` unless `blockers` fit the declared slots.

        Called with an empty sequence for a job without blockers.
        """

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        """Turn a stored input back into the value handlers and readers see (default: unchanged).

        Raises:
            JobTypeValidationError: `code="invalid_input"`.
        """
        return stored

    def decode_output(self, type_name: str, stored: JsonValue, /) -> object:
        """Turn a stored output back into the value readers see (default: unchanged).

        Raises:
            JobTypeValidationError: `code="invalid_output"`.
        """
        return stored

    def get_job_type(self, type_name: str, /) -> JobType[Any, Any] | None:
        """The definition registered under `type_name`, if this registry owns one."""
        return None


class JobTypesOptions(Protocol):
    """The validation hooks `create_job_types` wraps.

    Any exception a hook raises becomes a `JobTypeValidationError` with the matching code
    and the original exception as `__cause__`. A hook may also raise
    `JobTypeValidationError` itself, which passes through unchanged.

    Two further hooks are optional: `decode_input(type_name, stored)` and
    `decode_output(type_name, stored)` turn stored JSON back into the objects handlers and
    readers see (for example model instances). Without them stored values are returned as
    they are.
    """

    def get_type_names(self) -> Sequence[str]:
        """The names of the job types these hooks handle."""
        ...

    def validate_entry(self, type_name: str, /) -> None:
        """Raise unless `type_name` is an entry type."""
        ...

    def parse_input(self, type_name: str, input: object, /) -> object:
        """Validate an input and return its JSON-compatible form (checked by queuert)."""
        ...

    def parse_output(self, type_name: str, output: object, /) -> object:
        """Validate a chain-finishing output and return its JSON-compatible form (checked by queuert)."""
        ...

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        """Raise unless `type_name` may continue to `target` (its name and raw input)."""
        ...

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        """Raise unless `blockers` (chain type names and root inputs, in order) fit `type_name`."""
        ...


# --- resolving definitions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ResolvedSlot:
    variadic: bool
    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class _ResolvedType:
    job_type: JobType[Any, Any]
    continue_targets: frozenset[str]
    slots: tuple[_ResolvedSlot, ...]


@dataclass
class _Scope:
    """Everything a slice's references may resolve against."""

    local: dict[str, JobType[Any, Any] | None] = field(default_factory=dict)
    external: dict[str, JobType[Any, Any] | None] = field(default_factory=dict)
    opaque_external: bool = False
    """Some external registry cannot list its names, so unknown blocker names cannot be ruled out."""


def _reference_atoms(ref: Reference) -> tuple[str | JobType[Any, Any] | InputRef[Any], ...]:
    return ref.members if isinstance(ref, Ref) else (ref,)


def _nominal_problem(
    owner: str, where: str, atom: str | JobType[Any, Any], registered: Mapping[str, JobType[Any, Any] | None]
) -> str | None:
    name = type_name_of(atom)
    definition = registered.get(name)
    if isinstance(atom, JobType) and definition is not None and atom is not definition:
        return (
            f"job type {owner!r}: {where} refers to a JobType named {name!r} "
            "that is not the definition registered under that name"
        )
    return None


def _resolve_continuations(job_type: JobType[Any, Any], scope: _Scope, problems: list[str]) -> frozenset[str]:
    owner = job_type.name
    targets: set[str] = set()
    for ref in job_type.continue_with:
        for atom in _reference_atoms(ref):
            if isinstance(atom, InputRef):
                matches = [
                    name
                    for name, definition in scope.local.items()
                    if definition is not None
                    and definition.input_type is not None
                    and _input_accepts(definition.input_type, atom.input_type)
                ]
                if not matches:
                    problems.append(
                        f"job type {owner!r}: continue_with {atom!r} matches no job type of this slice "
                        "(a candidate's input type must be the referenced type or a base of it)"
                    )
                targets.update(matches)
                continue
            name = type_name_of(atom)
            if name in scope.local:
                problem = _nominal_problem(owner, "continue_with", atom, scope.local)
                if problem:
                    problems.append(problem)
                targets.add(name)
            elif name in scope.external:
                problems.append(
                    f"job type {owner!r}: continue_with {name!r} is a type of an external slice; "
                    "a job may only continue to types of its own slice"
                )
            else:
                problems.append(f"job type {owner!r}: continue_with refers to unknown job type {name!r}")
    return frozenset(targets)


def _resolve_blocker_atom(
    owner: str, atom: str | JobType[Any, Any] | InputRef[Any], scope: _Scope, problems: list[str]
) -> set[str]:
    if isinstance(atom, InputRef):
        matches = {
            name
            for candidates in (scope.local, scope.external)
            for name, definition in candidates.items()
            if definition is not None
            and definition.entry
            and definition.input_type is not None
            and _input_accepts(definition.input_type, atom.input_type)
        }
        if not matches:
            problems.append(
                f"job type {owner!r}: blocker {atom!r} matches no entry type of this slice or its external slices"
            )
        return matches
    name = type_name_of(atom)
    for candidates in (scope.local, scope.external):
        if name in candidates:
            problem = _nominal_problem(owner, "blockers", atom, candidates)
            if problem:
                problems.append(problem)
            definition = candidates[name]
            if definition is not None and not definition.entry:
                problems.append(
                    f"job type {owner!r}: blocker {name!r} is not an entry type (only chains can block a job)"
                )
            return {name}
    if scope.opaque_external:
        return {name}
    problems.append(f"job type {owner!r}: blockers refer to unknown job type {name!r}")
    return set()


def _resolve_type(job_type: JobType[Any, Any], scope: _Scope, problems: list[str]) -> _ResolvedType:
    continue_targets = _resolve_continuations(job_type, scope, problems)
    slots = []
    for slot in job_type.blockers:
        names: set[str] = set()
        for atom in _reference_atoms(slot.ref):
            names |= _resolve_blocker_atom(job_type.name, atom, scope, problems)
        slots.append(_ResolvedSlot(variadic=isinstance(slot, Rest), names=frozenset(names)))
    if not job_type.continue_with and job_type.has_output is False:
        problems.append(
            f"job type {job_type.name!r} declares no output (NoOutput) and no continue_with, "
            "so its jobs could never complete; declare an output or a continuation"
        )
    return _ResolvedType(job_type=job_type, continue_targets=continue_targets, slots=tuple(slots))


def _external_scope(external: JobTypes | Sequence[JobTypes], problems: list[str]) -> _Scope:
    scope = _Scope()
    registries = [external] if isinstance(external, JobTypes) else list(external)
    owner_of: dict[str, JobTypes] = {}
    for registry in _unique(registries):
        if not isinstance(registry, JobTypes):
            raise JobTypeDefinitionError(f"external slices must be JobTypes registries, got {registry!r}")
        if not registry.knows_type_names:
            scope.opaque_external = True
        for name in registry.get_type_names():
            if name in owner_of and owner_of[name] is not registry:
                problems.append(f"job type {name!r} is defined by two external slices")
            owner_of[name] = registry
            scope.external[name] = registry.get_job_type(name)
    return scope


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: set[int] = set()
    result = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            result.append(item)
    return result


def _resolve_slice(
    definitions: Sequence[JobType[Any, Any]],
    extra_local_names: Sequence[str],
    external: JobTypes | Sequence[JobTypes],
) -> dict[str, _ResolvedType]:
    """Check a slice's definitions and resolve their references to name sets.

    Raises:
        JobTypeDefinitionError: listing every problem found.
    """
    problems: list[str] = []
    scope = _external_scope(external, problems)
    for definition in _unique(definitions):
        if not isinstance(definition, JobType):
            raise JobTypeDefinitionError(f"job types must be JobType or EntryJobType objects, got {definition!r}")
        name = definition.name
        if name in scope.local:
            problems.append(f"job type name {name!r} is defined more than once in this slice")
        elif name in scope.external:
            problems.append(f"job type {name!r} is defined both in this slice and in an external slice")
        scope.local[name] = definition
    for name in extra_local_names:
        if name in scope.external and name not in scope.local:
            problems.append(f"job type {name!r} is defined both in this slice and in an external slice")
        scope.local.setdefault(name, None)
    resolved = {
        name: _resolve_type(definition, scope, problems)
        for name, definition in scope.local.items()
        if definition is not None
    }
    if problems:
        raise JobTypeDefinitionError("Invalid job type definitions:\n" + "\n".join(f"  - {p}" for p in problems))
    return resolved


def _reachable_chain_types(resolved: Mapping[str, _ResolvedType]) -> dict[str, frozenset[str]]:
    chain_types: dict[str, set[str]] = {name: set() for name in resolved}
    for entry_name, entry in resolved.items():
        if not entry.job_type.entry:
            continue
        pending, visited = [entry_name], {entry_name}
        while pending:
            current = pending.pop()
            chain_types[current].add(entry_name)
            node = resolved.get(current)
            for target in node.continue_targets if node else ():
                if target not in visited:
                    visited.add(target)
                    pending.append(target)
    return {name: frozenset(entries) for name, entries in chain_types.items()}


# --- static checks (shared by both registry kinds) ------------------------------------------


def _check_entry(resolved: _ResolvedType, type_name: str) -> None:
    if not resolved.job_type.entry:
        raise JobTypeValidationError(
            f'Job type "{type_name}" is not an entry point (define it with EntryJobType to start chains with it)',
            code="not_entry_point",
            type_name=type_name,
        )


def _check_has_output(resolved: _ResolvedType, type_name: str, output: object) -> None:
    if resolved.job_type.has_output is False:
        raise JobTypeValidationError(
            f'Invalid output for job type "{type_name}": it declares no output (NoOutput), '
            "so its jobs must continue with another job",
            code="invalid_output",
            type_name=type_name,
            details={"output": output},
        )


def _check_continuation(resolved: _ResolvedType, type_name: str, target: ResolvedRef) -> None:
    if target.type_name not in resolved.continue_targets:
        allowed = ", ".join(sorted(resolved.continue_targets)) or "nothing (no continue_with declared)"
        raise JobTypeValidationError(
            f'Job type "{type_name}" cannot continue to "{target.type_name}" (allowed: {allowed})',
            code="invalid_continuation",
            type_name=type_name,
            details={"target": target},
        )


def _slot_mismatch(slots: Sequence[_ResolvedSlot], names: Sequence[str]) -> str | None:
    fixed = [slot for slot in slots if not slot.variadic]
    rest = slots[-1] if slots and slots[-1].variadic else None
    if rest is None and len(names) != len(fixed):
        return f"expected exactly {len(fixed)} blocker chain(s), got {len(names)}"
    if len(names) < len(fixed):
        return f"expected at least {len(fixed)} blocker chain(s), got {len(names)}"
    for index, name in enumerate(names):
        slot = fixed[index] if index < len(fixed) else rest
        assert slot is not None  # lengths were checked above
        if name not in slot.names:
            accepted = ", ".join(repr(n) for n in sorted(slot.names))
            return f"blocker {index} is a {name!r} chain but that slot accepts {accepted}"
    return None


def _check_blockers(resolved: _ResolvedType, type_name: str, blockers: Sequence[ResolvedRef]) -> None:
    mismatch = _slot_mismatch(resolved.slots, [blocker.type_name for blocker in blockers])
    if mismatch is not None:
        raise JobTypeValidationError(
            f'Invalid blockers for job type "{type_name}": {mismatch}',
            code="invalid_blockers",
            type_name=type_name,
            details={"blockers": list(blockers)},
        )


def _checked_json(value: object, code: JobTypeValidationErrorCode, type_name: str, original: object) -> JsonValue:
    try:
        check_json_compatible(value)
    except JsonCompatibilityError as error:
        key = "input" if code == "invalid_input" else "output"
        raise JobTypeValidationError(
            f'Invalid {key} for job type "{type_name}": {error} (stored values must be JSON-native; '
            "use create_job_types with encode/decode hooks for richer types)",
            code=code,
            type_name=type_name,
            details={key: original, "path": error.path},
        ) from error
    return typing.cast("JsonValue", value)


# --- registries ------------------------------------------------------------------------------


class _Registry(JobTypes):
    """Base of the registries built here; they can answer reachability questions."""

    def chain_type_names(self, type_name: str) -> frozenset[str] | None:
        return None


class _StaticJobTypes(_Registry):
    """`define_job_types`: checks names and references; stores values unchanged."""

    def __init__(self, resolved: dict[str, _ResolvedType]) -> None:
        self._resolved = resolved
        self._names = tuple(resolved)
        self._chain_types: dict[str, frozenset[str]] | None = None

    def _get(self, type_name: str) -> _ResolvedType:
        resolved = self._resolved.get(type_name)
        if resolved is None:
            raise UnknownJobTypeError(type_name=type_name, registered_type_names=self._names)
        return resolved

    def get_type_names(self) -> Sequence[str]:
        return self._names

    def validate_entry(self, type_name: str, /) -> None:
        _check_entry(self._get(type_name), type_name)

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        self._get(type_name)
        return _checked_json(input, "invalid_input", type_name, input)

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        _check_has_output(self._get(type_name), type_name, output)
        return _checked_json(output, "invalid_output", type_name, output)

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        _check_continuation(self._get(type_name), type_name, target)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        _check_blockers(self._get(type_name), type_name, blockers)

    def get_job_type(self, type_name: str, /) -> JobType[Any, Any] | None:
        resolved = self._resolved.get(type_name)
        return resolved.job_type if resolved else None

    def chain_type_names(self, type_name: str) -> frozenset[str] | None:
        if self._chain_types is None:
            self._chain_types = _reachable_chain_types(self._resolved)
        return self._chain_types.get(type_name)

    def __repr__(self) -> str:
        return f"define_job_types({', '.join(repr(n) for n in self._names)})"


_ResultT = TypeVar("_ResultT")


def _call_hook(
    hook: Callable[..., _ResultT],
    arguments: tuple[object, ...],
    *,
    code: JobTypeValidationErrorCode,
    type_name: str,
    message: str,
    details: Mapping[str, object],
) -> _ResultT:
    try:
        return hook(*arguments)
    except JobTypeValidationError:
        raise
    except Exception as error:
        raise JobTypeValidationError(
            f"{message}: {error}" if str(error) else message, code=code, type_name=type_name, details=details
        ) from error


class _ValidatedJobTypes(_Registry):
    """`create_job_types`: user hooks first, then the definition checks for typed names."""

    def __init__(
        self,
        options: JobTypesOptions | JobTypes,
        resolved: dict[str, _ResolvedType],
        names: tuple[str, ...],
        *,
        knows_type_names: bool,
    ) -> None:
        self._options = options
        self._resolved = resolved
        self._names = names
        self._owned = frozenset(names)
        self.knows_type_names = knows_type_names
        self._decode_input: Callable[[str, JsonValue], object] | None = getattr(options, "decode_input", None)
        self._decode_output: Callable[[str, JsonValue], object] | None = getattr(options, "decode_output", None)
        self._chain_types: dict[str, frozenset[str]] | None = None

    def get_type_names(self) -> Sequence[str]:
        return self._names

    def validate_entry(self, type_name: str, /) -> None:
        _call_hook(
            self._options.validate_entry,
            (type_name,),
            code="not_entry_point",
            type_name=type_name,
            message=f'Job type "{type_name}" is not an entry point',
            details={},
        )
        if (resolved := self._resolved.get(type_name)) is not None:
            _check_entry(resolved, type_name)

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        parsed = _call_hook(
            self._options.parse_input,
            (type_name, input),
            code="invalid_input",
            type_name=type_name,
            message=f'Invalid input for job type "{type_name}"',
            details={"input": input},
        )
        return _checked_json(parsed, "invalid_input", type_name, input)

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        parsed = _call_hook(
            self._options.parse_output,
            (type_name, output),
            code="invalid_output",
            type_name=type_name,
            message=f'Invalid output for job type "{type_name}"',
            details={"output": output},
        )
        if (resolved := self._resolved.get(type_name)) is not None:
            _check_has_output(resolved, type_name, output)
        return _checked_json(parsed, "invalid_output", type_name, output)

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        _call_hook(
            self._options.validate_continue_with,
            (type_name, target),
            code="invalid_continuation",
            type_name=type_name,
            message=f'Job type "{type_name}" cannot continue to "{target.type_name}"',
            details={"target": target},
        )
        if (resolved := self._resolved.get(type_name)) is not None:
            _check_continuation(resolved, type_name, target)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        _call_hook(
            self._options.validate_blockers,
            (type_name, blockers),
            code="invalid_blockers",
            type_name=type_name,
            message=f'Invalid blockers for job type "{type_name}"',
            details={"blockers": list(blockers)},
        )
        if (resolved := self._resolved.get(type_name)) is not None:
            _check_blockers(resolved, type_name, blockers)

    def _decodes(self, type_name: str) -> bool:
        # Reads may meet types this registry does not own (another service sharing the
        # database); their stored JSON is returned as it is rather than failing the read.
        return not self.knows_type_names or type_name in self._owned

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        if self._decode_input is None or not self._decodes(type_name):
            return stored
        return _call_hook(
            self._decode_input,
            (type_name, stored),
            code="invalid_input",
            type_name=type_name,
            message=f'Cannot decode the stored input of job type "{type_name}"',
            details={"input": stored},
        )

    def decode_output(self, type_name: str, stored: JsonValue, /) -> object:
        if self._decode_output is None or not self._decodes(type_name):
            return stored
        return _call_hook(
            self._decode_output,
            (type_name, stored),
            code="invalid_output",
            type_name=type_name,
            message=f'Cannot decode the stored output of job type "{type_name}"',
            details={"output": stored},
        )

    def get_job_type(self, type_name: str, /) -> JobType[Any, Any] | None:
        if (resolved := self._resolved.get(type_name)) is not None:
            return resolved.job_type
        if isinstance(self._options, JobTypes):
            return self._options.get_job_type(type_name)
        return None

    def chain_type_names(self, type_name: str) -> frozenset[str] | None:
        if isinstance(self._options, _Registry):
            return self._options.chain_type_names(type_name)
        if self._chain_types is None:
            self._chain_types = _reachable_chain_types(self._resolved)
        return self._chain_types.get(type_name)

    def __repr__(self) -> str:
        return f"create_job_types({self._options!r})"


class _PassThroughJobTypes(_Registry):
    """What a merged registry does with names no slice owns while some slice cannot list its names."""

    def get_type_names(self) -> Sequence[str]:
        return ()

    def validate_entry(self, type_name: str, /) -> None:
        return None

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        return _checked_json(input, "invalid_input", type_name, input)

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        return _checked_json(output, "invalid_output", type_name, output)

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        return None

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        return None


class _MergedJobTypes(_Registry):
    """Several slices behind one registry; every call goes to the slice owning the type name."""

    def __init__(self, slices: Sequence[JobTypes]) -> None:
        self._slices = tuple(slices)
        owners: dict[str, JobTypes] = {}
        duplicates: list[str] = []
        for registry in self._slices:
            for name in registry.get_type_names():
                if name in owners and name not in duplicates:
                    duplicates.append(name)
                owners[name] = registry
        if duplicates:
            raise DuplicateJobTypeError(duplicate_type_names=duplicates)
        self._owners = owners
        self._names = tuple(owners)
        opaque = [registry for registry in self._slices if not registry.knows_type_names]
        self.knows_type_names = not opaque
        # With one slice that cannot list its names, unowned names are presumably its own;
        # with several there is no way to choose, so they pass through unvalidated.
        self._fallback: JobTypes | None = (
            None if not opaque else opaque[0] if len(opaque) == 1 else _PassThroughJobTypes()
        )

    def _route(self, type_name: str) -> JobTypes:
        owner = self._owners.get(type_name)
        if owner is not None:
            return owner
        if self._fallback is not None:
            return self._fallback
        raise UnknownJobTypeError(type_name=type_name, registered_type_names=self._names)

    def get_type_names(self) -> Sequence[str]:
        return self._names

    def validate_entry(self, type_name: str, /) -> None:
        self._route(type_name).validate_entry(type_name)

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        return self._route(type_name).parse_input(type_name, input)

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        return self._route(type_name).parse_output(type_name, output)

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        self._route(type_name).validate_continue_with(type_name, target)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        self._route(type_name).validate_blockers(type_name, blockers)

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        registry = self._owners.get(type_name, self._fallback)
        return stored if registry is None else registry.decode_input(type_name, stored)

    def decode_output(self, type_name: str, stored: JsonValue, /) -> object:
        registry = self._owners.get(type_name, self._fallback)
        return stored if registry is None else registry.decode_output(type_name, stored)

    def get_job_type(self, type_name: str, /) -> JobType[Any, Any] | None:
        owner = self._owners.get(type_name)
        return owner.get_job_type(type_name) if owner is not None else None

    def chain_type_names(self, type_name: str) -> frozenset[str] | None:
        owner = self._owners.get(type_name)
        return owner.chain_type_names(type_name) if isinstance(owner, _Registry) else None

    def __repr__(self) -> str:
        return f"merge_job_types({list(self._slices)!r})"


# --- public constructors ---------------------------------------------------------------------


def define_job_types(*types: JobType[Any, Any], external: JobTypes | Sequence[JobTypes] = ()) -> JobTypes:
    """Build a registry from job type definitions alone.

    The registry checks names and references (entry points, allowed continuations, blocker
    slots) and stores inputs and outputs exactly as given, so they must be JSON-native:
    `TypedDict`s, lists, strings, numbers, booleans and `None` (not datetimes, decimals,
    tuples, dataclasses or model instances; use `create_job_types` with decode hooks for those).

    Args:
        *types: The `JobType`/`EntryJobType` definitions this slice owns.
        external: Other slices whose entry types this slice's blocker references may name.
            Their types are not owned (not listed, not routed) by this registry.

    Raises:
        JobTypeDefinitionError: listing every broken rule (unknown or ambiguous reference,
            continuation outside the slice, non-entry blocker, type that can neither finish
            nor continue, duplicate name, name shared with an external slice).
    """
    return _StaticJobTypes(_resolve_slice(types, (), external))


def create_job_types(
    options: JobTypesOptions,
    *,
    types: Sequence[JobType[Any, Any]] = (),
    external: JobTypes | Sequence[JobTypes] = (),
) -> JobTypes:
    """Build a registry that validates with your own hooks (a schema library, hand-written checks).

    Every hook exception is raised as `JobTypeValidationError` (codes `not_entry_point`,
    `invalid_input`, `invalid_output`, `invalid_continuation`, `invalid_blockers`) with the
    original as `__cause__`. Values returned by `parse_input`/`parse_output` must be
    JSON-compatible; queuert checks that and raises `invalid_input`/`invalid_output`
    naming the offending path.

    Args:
        options: The hooks (see `JobTypesOptions`).
        types: Optional typed definitions of (some of) the hooks' type names. They give
            static typing, are checked like `define_job_types` definitions, and their
            rules are enforced after the hooks have passed.
        external: Slices whose entry types the definitions' blocker references may name.

    Raises:
        JobTypeDefinitionError: when a hook is missing, a definition's name is not one of
            `options.get_type_names()`, or a definition breaks a rule.
    """
    for hook in ("get_type_names", *_REQUIRED_HOOKS):
        if not callable(getattr(options, hook, None)):
            raise JobTypeDefinitionError(f"create_job_types options must provide a callable {hook}()")
    names = tuple(options.get_type_names())
    problems = [f"{name!r} is listed more than once by get_type_names()" for name in _repeated(names)]
    problems += [
        f"definition {definition.name!r} is not one of the names returned by get_type_names()"
        for definition in types
        if isinstance(definition, JobType) and definition.name not in names
    ]
    if problems:
        raise JobTypeDefinitionError("Invalid job type definitions:\n" + "\n".join(f"  - {p}" for p in problems))
    resolved = _resolve_slice(types, names, external)
    return _ValidatedJobTypes(options, resolved, names, knows_type_names=True)


_REQUIRED_HOOKS = ("validate_entry", "parse_input", "parse_output", "validate_continue_with", "validate_blockers")


def _repeated(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def merge_job_types(registries: JobTypes | Sequence[JobTypes]) -> JobTypes:
    """Combine registries ("slices") into the one a client uses.

    Each call is routed to the slice owning the type name. An unknown name raises
    `UnknownJobTypeError` unless some slice cannot list its names, in which case it goes to
    that slice (or passes through unvalidated when there are several such slices).
    Registries not built by queuert are wrapped so that their failures are reported as
    `JobTypeValidationError` and their parsed values are JSON-checked like any other.

    Raises:
        DuplicateJobTypeError: when two slices own the same name.
    """
    slices = _unique([registries] if isinstance(registries, JobTypes) else registries)
    for registry in slices:
        if not isinstance(registry, JobTypes):
            raise TypeError(f"job_types must be JobTypes registries, got {registry!r}")
    wrapped = [registry if isinstance(registry, _Registry) else _wrap_foreign(registry) for registry in slices]
    if len(wrapped) == 1:
        return wrapped[0]
    return _MergedJobTypes(wrapped)


def _wrap_foreign(registry: JobTypes) -> JobTypes:
    names = tuple(registry.get_type_names()) if registry.knows_type_names else ()
    return _ValidatedJobTypes(registry, {}, names, knows_type_names=registry.knows_type_names)


def get_chain_type_names(job_types: JobTypes, type_name: str) -> frozenset[str] | None:
    """The entry types whose chains can contain a `type_name` job, following `continue_with` edges.

    `None` when the registry cannot tell (unknown name, or a slice without definitions).
    """
    return job_types.chain_type_names(type_name) if isinstance(job_types, _Registry) else None
