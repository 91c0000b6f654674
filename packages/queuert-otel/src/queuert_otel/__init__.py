"""OpenTelemetry integration for queuert.

An observability adapter that turns queuert's job and chain events into OpenTelemetry
metrics and spans, using a meter and a tracer supplied by the application.
"""

__all__: tuple[str, ...] = ()
