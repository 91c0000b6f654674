"""Redis notify adapter for queuert.

Wakes idle workers over Redis pub/sub as soon as a job becomes ready, instead of
waiting for the next poll, using a redis-py asyncio client supplied by the application.
"""

__all__: tuple[str, ...] = ()
