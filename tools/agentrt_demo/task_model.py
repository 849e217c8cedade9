"""Demo tasks, data: the task and result models (they cross the JSONL / report boundary)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["CATEGORIES", "Category", "Task", "TaskResult"]

Category = Literal["lookup", "book_cheapest", "book_earliest", "book_nonstop", "hotel",
                   "flight_and_hotel", "cancel", "multi_passenger", "unsatisfiable", "ambiguous"]


class Task(BaseModel):
    """One demo task with its dates resolved against ``today``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    category: Category
    request: str
    setup: list[dict[str, Any]] = []
    expect: dict[str, Any] = {}
    today: date


class TaskResult(BaseModel):
    """The outcome of running and checking one task."""

    task_id: str
    passed: bool
    reasons: list[str]
    answer: str
    seconds: float = 0.0

CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
