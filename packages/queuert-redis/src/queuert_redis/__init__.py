"""Redis notify adapter for queuert.

Wakes idle workers over Redis pub/sub as soon as a job becomes ready, instead of
waiting for the next poll, using a redis-py asyncio client supplied by the application:

```python
from redis.asyncio import Redis
from queuert_redis import RedisPubSubProvider, create_redis_notify_adapter

redis = Redis.from_url("redis://localhost:6379/0")
notify_adapter = await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(redis))
```

For Redis Cluster use `RedisClusterPubSubProvider(cluster)`. Redis carries hints only:
jobs live in the state adapter, and workers keep polling when Redis is unreachable.
"""

from ._adapter import CONSUME_WAKE_HINT_SCRIPT as CONSUME_WAKE_HINT_SCRIPT
from ._adapter import PROVIDE_WAKE_HINT_SCRIPT as PROVIDE_WAKE_HINT_SCRIPT
from ._adapter import RedisNotifyAdapter as RedisNotifyAdapter
from ._adapter import create_redis_notify_adapter as create_redis_notify_adapter
from ._provider import RedisNotifyProvider as RedisNotifyProvider
from ._pubsub import RedisClusterPubSubProvider as RedisClusterPubSubProvider
from ._pubsub import RedisPubSubProvider as RedisPubSubProvider

__all__ = (
    "CONSUME_WAKE_HINT_SCRIPT",
    "PROVIDE_WAKE_HINT_SCRIPT",
    "RedisClusterPubSubProvider",
    "RedisNotifyAdapter",
    "RedisNotifyProvider",
    "RedisPubSubProvider",
    "create_redis_notify_adapter",
)
