"""Web dashboard for queuert.

An ASGI application (built on Starlette) that lists and inspects chains and jobs, shows
what a chain is blocked on, and can trigger a pending job now or delete chains. It reads
only through the public queuert client, so it works with any state adapter and can be
mounted inside an existing ASGI app.
"""

from ._app import create_dashboard as create_dashboard
from ._assets import Assets as Assets

__all__ = ("Assets", "create_dashboard")
