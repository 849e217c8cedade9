"""Demo services, configuration: the documented demo API key.

Every demo operation needs the header ``X-API-Key``. The key is ``agentrt-demo-key`` unless
the environment variable ``AGENTRT_DEMO_API_KEY`` sets another one (read at import time).
"""

from __future__ import annotations

import os

__all__ = ["API_KEY_ENV", "DEFAULT_API_KEY", "DEMO_API_KEY"]

API_KEY_ENV = "AGENTRT_DEMO_API_KEY"
DEFAULT_API_KEY = "agentrt-demo-key"
DEMO_API_KEY: str = os.environ.get(API_KEY_ENV) or DEFAULT_API_KEY
