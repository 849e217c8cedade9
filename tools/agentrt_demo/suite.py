"""Demo tasks, evaluation suite: the demo task set and services as an ``agentrt.evaluation``
``TaskSuite``.

```python
from agentrt.evaluation import evaluate
from agentrt_demo.suite import DemoSuite
report = evaluate("embedded", ["dfs", "react"], suite=DemoSuite())
```

The services are started once per evaluation (on the first task's demo day) and reset before
every task; a task set on another day gets services of its own for that task. The agent sees
the flights + hotels toolset, the demo API key and the task's date.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrt_demo.keys import DEMO_API_KEY
from agentrt_demo.serve import DemoServices, running_services
from agentrt_demo.task_model import Task, TaskResult
from agentrt_demo.tasks import arun_task, load_tasks
from agentrt_demo.toolset import demo_credentials, demo_toolset

if TYPE_CHECKING:
    from agentrt.evaluation import Attempt
    from agentrt.toolset import Toolset

__all__ = ["DemoSession", "DemoSuite"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSession:
    """The services shared by one evaluation, and the demo day they were seeded for."""

    services: DemoServices | None
    today: date | None


class DemoSuite:
    """The demo task set (``tasks.jsonl``) against the flight and hotel services."""

    name = "demo"

    def __init__(self, *, today: date | None = None) -> None:
        self.today = today
        self._toolsets: dict[tuple[str, str], Toolset] = {}

    def load_tasks(self, path: str | Path | None = None) -> Sequence[Task]:
        return load_tasks(path, today=self.today)

    @contextlib.contextmanager
    def session(self, tasks: Sequence[Task]) -> Iterator[DemoSession]:
        if not tasks:
            yield DemoSession(services=None, today=None)
            return
        today = tasks[0].today
        with running_services(today=today) as services:
            yield DemoSession(services=services, today=today)

    def toolset(self, flights_url: str, hotels_url: str) -> Toolset:
        """The toolset for services at these URLs (built once per pair)."""
        key = (flights_url, hotels_url)
        if key not in self._toolsets:
            self._toolsets[key] = demo_toolset(flights_url, hotels_url)
        return self._toolsets[key]

    async def run_task(self, task: Task, session: Any, attempt: Attempt) -> TaskResult:
        instructions = f"Today is {task.today.isoformat()}."

        async def runner(request: str, flights_url: str, hotels_url: str) -> str:
            toolset = self.toolset(flights_url, hotels_url)
            credentials: Mapping[str, str] = demo_credentials(toolset, DEMO_API_KEY)
            return await attempt(request, toolset=toolset, credentials=credentials,
                                 instructions=instructions)

        same_day = isinstance(session, DemoSession) and session.today == task.today
        return await arun_task(task, runner,
                               services=session.services if same_day else None)
