"""Time and peak memory of one step (chapter 7): the clock, the allocator's counters.

**Time**: seconds per call, with the device synchronised around every call, so that on a GPU
the clock covers the kernels, not only their launch. The steps take turns (round-robin), so
that load from other programs on a shared machine hits every step alike.

**Memory**: the peak of the memory allocated during one step, above what was allocated
before it. On CUDA ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``;
on CPU, where PyTorch keeps no such counter, the running sum of the allocations and frees
that ``torch.profiler`` logs with ``profile_memory=True``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else Apple's MPS, else the CPU; or the device named.

    Chapter 7, section 1 (which writes it out)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch.cuda.is_available() is False")
    return device


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels (GPU work is asynchronous; a CPU's is not)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_steps(steps: dict[str, Callable[[], None]], device: torch.device, repeats: int,
               warmup: int = 2) -> dict[str, list[float]]:
    """Seconds per call of each step, ``repeats`` times after ``warmup`` untimed calls.
    Chapter 7 (every timing in it).

    The steps take turns (round-robin). Around every call the device is synchronised, so
    that on a GPU the clock covers the kernels, not only their launch.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(warmup + repeats):
        for name, step in steps.items():
            _synchronize(device)
            start = time.perf_counter()
            step()
            _synchronize(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: the profiler's C++ side prints two log lines
    (``profiler_start``, ``profiler_stop``) per use that no setting turns off."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(step: Callable[[], None], device: torch.device,
                setup: Callable[[], None] | None = None) -> int | None:
    """Peak bytes allocated during one call of ``step``, above what was allocated before.
    Chapter 7.

    ``setup`` runs first, outside the measurement: the benchmark drops the previous step's
    gradients there, so that the baseline holds the input and the parameters only.
    (Inside the step their frees would lower the baseline; and the profiler does not log
    the free of a tensor that was allocated while it was not running.)

    CUDA: ``max_memory_allocated`` after ``reset_peak_memory_stats``, minus
    ``memory_allocated`` before. CPU: the running sum of the allocations and frees that
    ``torch.profiler`` logs (``profile_memory=True``). Other devices: ``None``.
    """
    if setup is not None:
        setup()
    if device.type == "cuda":
        _synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        _synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    if device.type != "cpu":
        return None
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    now = peak = 0
    for e in events:
        now += e.nbytes()
        peak = max(peak, now)
    return int(peak)


def _clear_grads(layer: nn.Module, h: torch.Tensor) -> Callable[[], None]:
    def clear() -> None:
        layer.zero_grad(set_to_none=True)
        h.grad = None

    return clear


def _step(layer: nn.Module, h: torch.Tensor) -> Callable[[], None]:
    """One forward+backward; gradients are dropped first, so each step allocates its own."""
    clear = _clear_grads(layer, h)

    def step() -> None:
        clear()
        layer(h).float().sum().backward()

    return step


def _quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile), linear interpolation between samples."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _forward(layer: nn.Module, h: torch.Tensor) -> Callable[[], None]:
    def forward() -> None:
        with torch.no_grad():
            layer(h)

    return forward
