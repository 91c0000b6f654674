"""Validate job inputs and outputs with pydantic v2 (`pip install 'queuert[pydantic]'`).

The schemas are the type arguments of your job types: anything `pydantic.TypeAdapter`
accepts (models, dataclasses, `TypedDict`s, `Annotated` constraints, plain types)::

    class Resize(BaseModel):
        image_id: UUID
        width: PositiveInt

    class Resized(BaseModel):
        url: HttpUrl
        at: datetime

    resize = EntryJobType[Resize, Resized]("images.resize")
    job_types = pydantic_job_types(resize)

Inputs are validated and stored in their JSON form (`model_dump(mode="json")`); handlers and
readers get them back as `Resize` instances. Use pydantic's own settings for strictness
(`ConfigDict(strict=True)`, `StrictBool`, ...).
"""

from ._pydantic import pydantic_job_types as pydantic_job_types

__all__ = ("pydantic_job_types",)
