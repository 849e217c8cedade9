"""agentrt_demo: the flight and hotel demo services (real HTTP + SQLite) and the demo task set.

```python
from agentrt_demo import demo_toolset, running_services
with running_services() as svc:
    print(svc.flights_url, svc.hotels_url)   # X-API-Key: agentrt_demo.DEMO_API_KEY
    tools = demo_toolset(svc.flights_url, svc.hotels_url)   # an agentrt Toolset for both
```

The inventory for "day N after today" is the same whatever today is (see
:mod:`agentrt_demo.seed`); only the ISO dates shown move with the demo clock.
"""

from __future__ import annotations

from agentrt_demo.clock import demo_today
from agentrt_demo.flights import create_flights_app
from agentrt_demo.hotels import create_hotels_app
from agentrt_demo.keys import DEMO_API_KEY
from agentrt_demo.serve import DemoServices, running_services, serve_forever
from agentrt_demo.specs import load_spec, spec_path
from agentrt_demo.toolset import demo_credentials, demo_toolset

__all__ = [
    "DEMO_API_KEY",
    "DemoServices",
    "create_flights_app",
    "create_hotels_app",
    "demo_credentials",
    "demo_today",
    "demo_toolset",
    "load_spec",
    "running_services",
    "serve_forever",
    "spec_path",
]
