"""Validate job inputs and outputs with msgspec (`pip install 'queuert[msgspec]'`).

The schemas are the type arguments of your job types: anything msgspec can decode into
(`msgspec.Struct`s, dataclasses, `TypedDict`s, `Annotated[..., msgspec.Meta(...)]`, plain
types)::

    class Resize(msgspec.Struct):
        image_id: UUID
        width: Annotated[int, msgspec.Meta(gt=0)]

    resize = EntryJobType[Resize, Resized]("images.resize")
    job_types = msgspec_job_types(resize)

Inputs are validated with `msgspec.convert` and stored in their JSON form; handlers and
readers get them back as `Resize` instances.
"""

from ._msgspec import msgspec_job_types as msgspec_job_types

__all__ = ("msgspec_job_types",)
