"""Several independent runs at once: one process per run, one CPU thread each.

On a two-core machine two single-threaded runs finish sooner than the same runs one after
the other on two threads (a small model's kernels do not keep two threads busy), and each
run's numbers are the same either way: a run draws everything from its own seed and always
trains on one thread. ``make models`` and ``make experiments`` use it. Chapter 5.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

__all__ = ["run_jobs"]


def run_jobs(fn: Callable, tasks: Sequence[tuple], jobs: int = 1,
             done: Callable[[int, object], None] | None = None) -> list:
    """``[fn(*task) for task in tasks]``, computed in ``jobs`` processes (``jobs=1``: here,
    in order). ``done(i, result)`` is called in this process as each task finishes, in
    whatever order they finish (to save partial results). ``fn`` must be importable
    (a module-level function) and its arguments picklable. Chapter 5."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    results: list = [None] * len(tasks)
    if jobs == 1:
        for i, task in enumerate(tasks):
            results[i] = fn(*task)
            if done is not None:
                done(i, results[i])
        return results
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(fn, *task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if done is not None:
                done(i, results[i])
    return results
