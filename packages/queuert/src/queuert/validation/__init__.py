"""Registries that validate job inputs and outputs with a schema library you already use.

Each adapter lives in its own module and needs its library, installed through an extra:

* `queuert.validation.pydantic.pydantic_job_types` (`pip install 'queuert[pydantic]'`);
* `queuert.validation.msgspec.msgspec_job_types` (`pip install 'queuert[msgspec]'`).

Both read the schemas from the type arguments of the job types you declared
(`JobType[Input, Output]`), so a type is written once: for the type checker and for the
runtime check. Values are stored as JSON and decoded back into those types on read.
"""
