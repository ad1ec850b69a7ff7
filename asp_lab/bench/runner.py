"""The benchmark's run (chapter 7): every layer at every size, timed in turns, its memory
measured, ratios and targets added, and the machine and method recorded with the numbers.

Every layer gets the same input ``h: (B, C, T)`` (one per size, same dtype and device,
``requires_grad=True`` as it is inside a network) and takes one *step*: ``layer(h)``, then
``.sum().backward()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .autocast import autocast_errors
from .layers import ATTENTION_CHANNELS, DEFAULT_SIZES, DTYPES, LAYERS, SCHEMA
from .machine import machine_info, peak_bandwidth
from .ratios import _add_ratios, targets
from .timing import (
    _clear_grads,
    _forward,
    _quantiles,
    _step,
    peak_memory,
    resolve_device,
    time_steps,
)


def run(sizes: Sequence[tuple[int, int, int]] = DEFAULT_SIZES, device: str = "cpu",
        dtype: str = "float32", repeats: int = 10, warmup: int = 2,
        layers: Sequence[str] | None = None, attention_channels: int = ATTENTION_CHANNELS,
        memory: bool = True, seed: int = 0,
        progress: Callable[[str], None] | None = None, autocast: bool = True) -> dict:
    """Benchmark ``layers`` (default: all of ``LAYERS``) at each ``(B, C, T)`` of ``sizes``.

    Chapter 7 (section 6, the benchmark, and its live run).

    Returns a JSON-ready dict: ``machine``, ``settings``, ``method``, ``layers`` (name ->
    description), ``skipped`` (name -> reason: a layer that could not be built or run),
    ``results`` (one entry per size with a row per layer: median time and quartiles in
    seconds, peak memory in bytes, ratios against ``stats`` and against SpeechBrain's layer
    with the same global-context setting, the forward pass's time and bandwidth; ``None``
    where a reference is missing), ``targets`` (:func:`targets`) and, for float32 runs with
    ``autocast``, ``autocast_errors`` (:func:`autocast_errors`, at the last size).
    """
    names = list(LAYERS) if layers is None else list(layers)
    _check_arguments(names, dtype, sizes)
    dev = resolve_device(device)
    say = progress or (lambda message: None)
    machine = machine_info(dev)  # at the start: the date and the load the run began with
    peak, peak_source = peak_bandwidth(dev)
    machine.update(peak_bandwidth_bytes_per_s=peak, peak_bandwidth_source=peak_source)
    started = time.perf_counter()
    skipped: dict[str, str] = {}
    results = []
    for B, C, T in sizes:
        gen = torch.Generator().manual_seed(seed)
        h = torch.randn(B, C, T, generator=gen).to(device=dev, dtype=DTYPES[dtype])
        h.requires_grad_(True)
        modules = _build(names, h, attention_channels, seed, skipped, say)
        say(f"B={B} C={C} T={T}: timing {len(modules)} layers x {repeats} repeats")
        rows = _measure(modules, h, dev, repeats, warmup, memory, peak)
        results.append({"B": B, "C": C, "T": T, "rows": rows})
        del modules, h
    out = {
        "schema": SCHEMA,
        "machine": machine,
        "settings": {"device": str(dev), "dtype": dtype, "repeats": repeats,
                     "warmup": warmup, "attention_channels": attention_channels,
                     "seed": seed, "sizes": [list(s) for s in sizes],
                     "order": "round-robin over layers",
                     "wall_s": time.perf_counter() - started},
        "method": _methods(dev, memory),
        "layers": {n: LAYERS[n][2] for n in names},
        "skipped": skipped,
        "results": results,
    }
    out["targets"] = targets(out)
    if autocast and dtype == "float32" and sizes:
        say(f"autocast errors at B={sizes[-1][0]} C={sizes[-1][1]} T={sizes[-1][2]}")
        out["autocast_errors"] = autocast_errors(
            [n for n in names if n not in skipped], tuple(sizes[-1]), str(dev),
            attention_channels, seed)
    return out


def _check_arguments(names: list[str], dtype: str,
                     sizes: Sequence[tuple[int, int, int]]) -> None:
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; expected some of {list(LAYERS)}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    for size in sizes:
        if len(size) != 3 or min(size) < 1:
            raise ValueError(f"a size is (B, C, T) with positive entries, got {size}")


def _build(names: list[str], h: torch.Tensor, attention_channels: int, seed: int,
           skipped: dict[str, str], say: Callable[[str], None]) -> dict[str, nn.Module]:
    """Each layer not yet in ``skipped``, built for ``h`` and run once; a layer that cannot be
    built or run goes into ``skipped`` with the reason, once."""
    modules: dict[str, nn.Module] = {}
    for name in names:
        if name in skipped:
            continue
        torch.manual_seed(seed)
        try:
            layer = LAYERS[name][0](h.shape[1], attention_channels)
            layer = layer.to(device=h.device, dtype=h.dtype).train()
            _step(layer, h)()  # fails here, not in the middle of the timing, if it cannot run
        except Exception as err:  # e.g. SpeechBrain absent, or a dtype it cannot mix
            skipped[name] = f"{type(err).__name__}: {err}".splitlines()[0][:300]
            say(f"skip {name}: {skipped[name]}")
            continue
        modules[name] = layer
    return modules


def _measure(modules: dict[str, nn.Module], h: torch.Tensor, dev: torch.device,
             repeats: int, warmup: int, memory: bool, peak: float | None) -> dict[str, dict]:
    """One row per layer: the step's time and quartiles, its peak memory, the forward pass's
    time and bandwidth, and the ratios (:func:`asp_lab.bench.ratios._add_ratios`)."""
    steps = {name: _step(layer, h) for name, layer in modules.items()}
    times = time_steps(steps, dev, repeats, warmup)
    forward_times = time_steps({n: _forward(modules[n], h) for n in steps}, dev, repeats,
                               warmup)
    B, C, _ = h.shape
    moved = h.numel() * h.element_size() + B * 2 * C * h.element_size()  # read h, write out
    rows = {}
    for name, step in steps.items():
        q1, med, q3 = _quantiles(times[name])
        mem = peak_memory(step, dev, setup=_clear_grads(modules[name], h)) if memory else None
        fwd = _quantiles(forward_times[name])[1]
        rows[name] = {"time_median_s": med, "time_q1_s": q1, "time_q3_s": q3,
                      "time_iqr_s": q3 - q1, "times_s": times[name],
                      "peak_memory_bytes": mem, "forward_median_s": fwd,
                      "forward_min_bytes": moved,
                      "forward_bytes_per_s": moved / fwd,
                      "forward_fraction_of_peak": None if peak is None else moved / fwd / peak}
    _add_ratios(rows, times)
    return rows


def _methods(device: torch.device, memory: bool) -> dict[str, str]:
    timing = ("wall clock (time.perf_counter) of one forward+backward step (layer(h), then "
              ".sum().backward()), median and quartiles over the repeats after the warm-up; "
              "layers take turns (round-robin); *_paired ratios: median over rounds of the "
              "ratio within a round")
    if device.type == "cuda":
        timing += "; torch.cuda.synchronize() before and after each step"
        mem = ("torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), minus "
               "torch.cuda.memory_allocated() before the step")
    elif device.type == "cpu":
        mem = ("torch.profiler(profile_memory=True): running sum of the CPU allocator's "
               "allocations and frees during one step; its maximum")
    else:
        mem = f"not measured on {device.type}"
    if not memory:
        mem = "not measured (memory=False)"
    return {"time": timing, "memory": mem + "; bytes held by tensors above those allocated "
            "before the step (input and parameters); gradients included"}
