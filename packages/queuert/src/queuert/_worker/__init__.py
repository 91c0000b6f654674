"""The in-process worker, split by concern.

- `_processors`: `Processor`, slices (`create_processors`), merging, required middleware.
- `_middleware`: `AttemptMiddleware` and how its layers compose.
- `_context`: what a handler receives (`AttemptContext`, `Prepare`, the abort reasons).
- `_scope`: keeping a callback-style transaction or savepoint open across awaits.
- `_attempt`: one attempt (modes, auto-setup, completion, failure, interruption).
- `_lease`: ownership checks and lease renewal of staged attempts.
- `_retry`: backoff and the error text stored on a failed job.
- `_reaper`: returning expired leases to `pending`.
- `_engine`: acquire + attempt, shared by the worker and `queuert.testing`.
- `_worker`: the loop, waiting, gauges and graceful shutdown.
"""
