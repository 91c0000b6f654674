"""NATS notify adapter for queuert.

Wakes idle workers over NATS subjects as soon as a job becomes ready, with optional
JetStream key-value wake hints, using a nats-py connection supplied by the application:

```python
import nats
from queuert_nats import create_nats_notify_adapter

nc = await nats.connect("nats://localhost:4222", max_reconnect_attempts=-1)
kv = await nc.jetstream().create_key_value(bucket="queuert_hints", ttl=60)
notify_adapter = await create_nats_notify_adapter(nc=nc, kv=kv)
```

NATS carries hints only: jobs live in the state adapter, and workers keep polling when
NATS is unreachable. Experimental, as upstream's adapter is.
"""

from ._adapter import NatsNotifyAdapter as NatsNotifyAdapter
from ._adapter import create_nats_notify_adapter as create_nats_notify_adapter

__all__ = ("NatsNotifyAdapter", "create_nats_notify_adapter")
