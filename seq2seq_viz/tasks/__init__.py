"""Task registry: names -> builders. Builders are deterministic for a given seed."""

from __future__ import annotations

from functools import lru_cache

from ..errors import UnknownModelError
from .base import Example, Task
from .toy import RULES, build_toy

TASK_NAMES: tuple[str, ...] = ("eng-fra", "dates", *RULES)


@lru_cache(maxsize=8)
def get_task(name: str, data_path: str | None = None, seed: int = 0) -> Task:
    """Build (once per process) the task called `name`. data_path only matters for file-backed tasks."""
    if name in RULES:
        return build_toy(name, seed=seed)
    if name == "dates":
        from .dates import build_dates

        return build_dates(seed=seed)
    if name == "eng-fra":
        from .engfra import build_eng_fra

        return build_eng_fra(data_path=data_path, seed=seed)
    raise UnknownModelError(f"There is no task called {name!r}; the tasks are {', '.join(TASK_NAMES)}.")


__all__ = ["TASK_NAMES", "Example", "Task", "get_task"]
