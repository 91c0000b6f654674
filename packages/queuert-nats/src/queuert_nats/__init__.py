"""NATS notify adapter for queuert.

Wakes idle workers over NATS subjects as soon as a job becomes ready, with optional
JetStream key-value wake hints, using a nats-py connection supplied by the application.
"""

__all__: tuple[str, ...] = ()
