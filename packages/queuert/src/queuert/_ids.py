"""Default job id generation and a UUID id validator for state adapters."""

from __future__ import annotations

import uuid

__all__ = ("generate_id", "validate_uuid")


def generate_id() -> str:
    """Return a fresh random job id: a version 4 UUID in canonical text form.

    This is the default `generate_id` of every bundled state adapter.
    """
    return str(uuid.uuid4())


def validate_uuid(id: str) -> bool:
    """Tell whether `id` is a UUID written in canonical form (lowercase, `8-4-4-4-12` hex digits).

    Pass it as `validate_id` to a state adapter whose id column is a UUID. Only the canonical
    form is accepted because a UUID column hands ids back in that form; any other spelling
    (uppercase, braces, no hyphens) would come back as a different string than the one stored.
    """
    if not isinstance(id, str) or len(id) != 36:
        return False
    try:
        return str(uuid.UUID(id)) == id
    except ValueError:
        return False
