"""Web dashboard for queuert.

An ASGI application (built on Starlette) that lists and inspects chains and jobs,
shows what a chain is blocked on, and can trigger or delete chains. It talks only to the
public queuert client, so it can be mounted inside an existing ASGI app.
"""

__all__: tuple[str, ...] = ()
