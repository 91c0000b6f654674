"""Typed values that attempt middleware hands to the handler and to the prepare/complete callbacks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

__all__ = ("ContextKey", "Extras")

V = TypeVar("V")
D = TypeVar("D")


class ContextKey(Generic[V]):
    """The typed key of one value in `Extras`.

    Create one per value at module level and share it between the middleware that sets the
    value and the handlers that read it:

        TENANT = ContextKey[str]("tenant")

    Keys compare by identity, so two keys with the same name never clash.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name
        """A label for error messages and debugging."""

    def __repr__(self) -> str:
        return f"ContextKey({self.name!r})"


class Extras(Mapping[ContextKey[Any], object]):
    """An immutable mapping from `ContextKey[V]` to `V`: what middleware adds for the code it wraps.

    Build one with `Extras().set(KEY, value)` (each `set` returns a new `Extras`) and read
    it with `extras[KEY]` (typed `V`, `KeyError` when absent) or `extras.get(KEY, default)`.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[ContextKey[Any], object] | None = None) -> None:
        self._values: dict[ContextKey[Any], object] = dict(values) if values else {}

    def set(self, key: ContextKey[V], value: V) -> Extras:
        """Return a copy with `key` set to `value`."""
        return Extras({**self._values, key: value})

    def merge(self, other: Extras | None) -> Extras:
        """Return a copy with every entry of `other` added (`other` wins on the same key)."""
        if not other:
            return self
        if not self._values:
            return other
        return Extras({**self._values, **other._values})

    def __getitem__(self, key: ContextKey[V]) -> V:
        try:
            value = self._values[key]
        except KeyError:
            raise KeyError(f"{key!r} was not set by any attempt middleware") from None
        return value  # type: ignore[return-value]  # set() only stores a V under a ContextKey[V]

    @overload
    def get(self, key: ContextKey[V], /) -> V | None: ...

    @overload
    def get(self, key: ContextKey[V], default: D, /) -> V | D: ...

    def get(self, key: ContextKey[Any], default: object = None, /) -> object:
        """The value under `key`, or `default`."""
        return self._values.get(key, default)

    def __iter__(self) -> Iterator[ContextKey[Any]]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{key.name}={value!r}" for key, value in self._values.items())
        return f"Extras({inner})"
