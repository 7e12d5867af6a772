"""One thread per core for independent work that releases the GIL (NumPy over large arrays, LightGBM's
training and prediction through ctypes, Arrow): `parallel` maps a function over items on a pool made once
per process, in order, so results are the same as a plain loop's."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()
_PREFIX = "cxw-parallel"


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[work(x) for x in items]`` on one thread per core (a pool made once). Called from one of the
    pool's own threads it runs the loop in that thread (a task waiting on the pool it occupies could wait
    forever); an exception of ``work`` reaches the caller as in the loop."""
    if cores() < 2 or len(items) < 2 or threading.current_thread().name.startswith(_PREFIX):
        return [work(x) for x in items]
    with _pool_lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(cores(), thread_name_prefix=_PREFIX))
    return list(_pool[0].map(work, items))
