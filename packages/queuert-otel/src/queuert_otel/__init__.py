"""OpenTelemetry integration for queuert.

An observability adapter that turns queuert's job and chain events into OpenTelemetry
metrics and spans, using a meter and a tracer supplied by the application:

```python
from opentelemetry import metrics, trace
from queuert_otel import create_otel_observability_adapter

adapter = await create_otel_observability_adapter(
    meter=metrics.get_meter("queuert"), tracer=trace.get_tracer("queuert")
)
client = await create_client(..., observability_adapter=adapter)
```
"""

from ._adapter import OtelObservabilityAdapter as OtelObservabilityAdapter
from ._adapter import RolledBackSpans as RolledBackSpans
from ._adapter import create_otel_observability_adapter as create_otel_observability_adapter

__all__ = (
    "OtelObservabilityAdapter",
    "RolledBackSpans",
    "create_otel_observability_adapter",
)
