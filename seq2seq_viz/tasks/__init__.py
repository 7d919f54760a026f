"""Task registry: names -> builders. Builders are deterministic for a given seed (and, for files, their bytes)."""

from __future__ import annotations

import os
from functools import lru_cache

from ..errors import UnknownModelError
from .base import Example, Task
from .toy import RULES, build_toy

TASK_NAMES: tuple[str, ...] = ("eng-fra", "dates", *RULES, "pairs")


def get_task(
    name: str,
    data_path: str | os.PathLike[str] | None = None,
    seed: int = 0,
    level: str = "word",
    lowercase: bool = False,
) -> Task:
    """Build the task called `name`. data_path matters for file-backed tasks (eng-fra, pairs); level and
    lowercase only for pairs, whose name comes from its file (my.tsv -> "my").

    The built-in tasks are built once per process; a pairs task is read afresh, since its file may change.
    """
    if name == "pairs":
        from .pairs import build_pairs

        return build_pairs(data_path, level=level, lowercase=lowercase, seed=seed)
    return _builtin_task(name, str(data_path) if data_path else None, seed)


@lru_cache(maxsize=8)
def _builtin_task(name: str, data_path: str | None, seed: int) -> Task:
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
