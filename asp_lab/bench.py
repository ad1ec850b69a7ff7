"""Forward+backward time and peak memory of pooling layers at ECAPA-like sizes.

    asp-lab bench                                   # CPU, float32, the default grid of sizes
    asp-lab bench --device cuda --dtype bfloat16 --sizes 32,1536,300 --out gpu.json
    asp-lab bench --out benchmarks/cpu.json --plot benchmarks/cpu.png

Every layer gets the same input ``h: (B, C, T)`` (one per size, same dtype and device,
``requires_grad=True`` as it is inside a network) and takes one *step*: ``layer(h)``, then
``.sum().backward()``. The layers (``LAYERS``):

- ``stats``: :class:`asp_lab.pooling.StatisticsPooling`, the reference for the ratios;
- ``asp-scalar``, ``asp-channel`` (with ``-gc``: global context on):
  :class:`asp_lab.pooling.AttentiveStatisticsPooling`;
- ``blog-asp``: the post's block, :class:`asp_lab.blog.ASP`;
- ``wespeaker-astp`` (``-gc``): :class:`WeSpeakerASTP`, a reimplementation of WeSpeaker's
  ``ASTP`` (written here, so that no WeSpeaker install is needed);
- ``speechbrain-asp`` (``-gc``): SpeechBrain's ``AttentiveStatisticsPooling`` from
  ``speechbrain.lobes.models.ECAPA_TDNN``, when SpeechBrain is importable
  (:func:`load_speechbrain_asp`; ``make bench-deps`` installs it); otherwise the rows are
  skipped and the JSON says why.

**Time**: the median over ``repeats`` steps after ``warmup`` steps, with the interquartile
range. The layers take turns (round-robin: step 1 of every layer, then step 2, ...), so that
load from other programs on a shared machine hits every layer alike. Ratios are given two
ways: the ratio of the medians, and the median over rounds of the ratio within a round
(``*_paired``), which a burst of load that slows a whole round cancels from. On CUDA the clock
reads happen after ``torch.cuda.synchronize()``, so they time the kernels, not their launch.

**Memory**: the peak of the memory allocated during one step, above what was allocated
before it (the input, the parameters). Gradients allocated by the backward count. On CUDA
this is ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``, minus
``memory_allocated()`` before the step. On CPU, where PyTorch keeps no such counter, the
step runs once under ``torch.profiler`` with ``profile_memory=True``: the profiler logs
every allocation and free of PyTorch's CPU allocator, and the running sum's maximum is the
peak. Both count bytes that tensors hold, not what the operating system reports.

**Forward bandwidth**: the median time of the forward pass alone (no gradient), and the
bytes it must at least move, reading ``h`` once and writing the pooled ``(B, 2C)``, divided
by that time: a lower bound on the memory traffic it achieved. On a GPU with a known peak
bandwidth (:func:`peak_bandwidth`) also the fraction of that peak. Pooling does few
operations per byte, so this fraction says how close a layer is to the hardware's limit.

**Autocast errors** (float32 runs): at the headline size, each layer's pooled mean and
standard deviation under ``torch.autocast`` with bfloat16 and with float16, against float32,
as relative errors (norm of the difference over norm of the float32 vector), for frames
with mean 0 and with a mean of 10 standard deviations, where a one-pass variance loses the
spread (chapter 4).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib.machinery
import json
import math
import os
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from . import blog, provenance
from .pooling import AttentiveStatisticsPooling, StatisticsPooling

__all__ = [
    "DEFAULT_SIZES",
    "HEADLINE",
    "LAYERS",
    "WeSpeakerASTP",
    "load_speechbrain_asp",
    "resolve_device",
    "time_steps",
    "peak_memory",
    "run",
    "recorded",
    "peak_bandwidth",
    "autocast_errors",
    "targets",
    "machine_info",
    "plot",
    "table",
    "add_arguments",
    "run_from_args",
]

SCHEMA = "asp_lab.bench/1"
#: (B, C, T): ECAPA-TDNN's pooling sees C = 1536 channels (3 x 512, the multi-layer
#: aggregation); C = 512 is a smaller encoder. T = 200 / 300 frames are 2 s / 3 s crops.
DEFAULT_SIZES: tuple[tuple[int, int, int], ...] = (
    (32, 512, 200), (32, 512, 300), (32, 1536, 200), (32, 1536, 300),
)
HEADLINE = (32, 1536, 300)  #: the size at which the targets are checked
ATTENTION_CHANNELS = 128
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# ------------------------------------------------------------------------ the other layers


class WeSpeakerASTP(nn.Module):
    """WeSpeaker's attentive statistics pooling (``ASTP``), reimplemented for this benchmark.

    A faithful copy of ``ASTP`` in ``wespeaker/models/pooling_layers.py`` of
    https://github.com/wenet-e2e/wespeaker (Apache-2.0; read at commit 6b149b3): channel-wise
    scores through ``Conv1d -> tanh -> Conv1d``; global context by *concatenating* each
    frame with the utterance's mean and standard deviation repeated over time
    (``expand_as`` then ``torch.cat``: a ``(B, 3C, T)`` tensor), the standard deviation
    from ``torch.var`` (unbiased) plus 1e-7; the pooled standard deviation by the one-pass
    ``E[x^2] - mu^2`` clamped at 1e-7. No masking of padded frames (it takes no lengths).
    Only WeSpeaker's 4-D input (ResNet feature maps) is left out.

    ``h: (B, C, T)`` -> ``(B, 2C)``.
    """

    def __init__(self, in_dim: int, bottleneck_dim: int = 128,
                 global_context_att: bool = False) -> None:
        super().__init__()
        self.global_context_att = global_context_att
        self.linear1 = nn.Conv1d(in_dim * 3 if global_context_att else in_dim,
                                 bottleneck_dim, kernel_size=1)  # W and b
        self.linear2 = nn.Conv1d(bottleneck_dim, in_dim, kernel_size=1)  # V and k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.global_context_att:
            context_mean = torch.mean(x, dim=-1, keepdim=True).expand_as(x)
            context_std = torch.sqrt(torch.var(x, dim=-1, keepdim=True) + 1e-7).expand_as(x)
            x_in = torch.cat((x, context_mean, context_std), dim=1)
        else:
            x_in = x
        alpha = torch.tanh(self.linear1(x_in))
        alpha = torch.softmax(self.linear2(alpha), dim=2)
        mean = torch.sum(alpha * x, dim=2)
        var = torch.sum(alpha * (x**2), dim=2) - mean**2
        std = torch.sqrt(var.clamp(min=1e-7))
        return torch.cat([mean, std], dim=1)


@contextlib.contextmanager
def _torchaudio_stub() -> Iterator[None]:
    """Put a placeholder ``torchaudio`` module in ``sys.modules`` while SpeechBrain imports.

    SpeechBrain's package ``__init__`` imports modules that ``import torchaudio`` at the top
    (``speechbrain.nnet.CNN`` for one), although the pooling layer uses none of it. Where
    torchaudio is missing, or its wheel does not match the installed torch, the stub lets
    the import go through. It is removed again afterwards; a real torchaudio, if one
    imports, is used instead and left alone.
    """
    try:
        import torchaudio  # noqa: F401
    except Exception:  # not installed, or built for another torch
        sys.modules.pop("torchaudio", None)
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        stub.__version__ = "2.9.0+asp_lab_stub"  # >= 2.9: SpeechBrain skips backend checks
        sys.modules["torchaudio"] = stub
        try:
            yield
        finally:
            if sys.modules.get("torchaudio") is stub:
                del sys.modules["torchaudio"]
    else:
        yield


def load_speechbrain_asp() -> tuple[type[nn.Module] | None, str]:
    """SpeechBrain's ``AttentiveStatisticsPooling`` class, or ``None`` and the reason why not.

    Returns ``(cls, "")`` when ``speechbrain.lobes.models.ECAPA_TDNN`` imports (SpeechBrain
    installed, e.g. by ``make bench-deps``: ``pip install --no-deps speechbrain hyperpyyaml
    ruamel.yaml``, which leaves torch alone), else ``(None, reason)``. torchaudio is not
    needed: a stub stands in for it during the import (see ``_torchaudio_stub``).

    The class is ``AttentiveStatisticsPooling(channels, attention_channels=128,
    global_context=True)``; its ``forward(x, lengths=None)`` maps ``x: (B, C, T)`` to
    ``(B, 2C, 1)``, with ``lengths`` *relative* (fractions of T).
    """
    import logging

    sb_logger = logging.getLogger("speechbrain")
    level = sb_logger.level
    sb_logger.setLevel(logging.ERROR)  # its import logs about the torchaudio version
    try:
        with _torchaudio_stub():
            from speechbrain.lobes.models.ECAPA_TDNN import AttentiveStatisticsPooling as SB
    except ImportError as err:
        return None, (f"SpeechBrain is not importable ({err}); `make bench-deps` installs it "
                      f"without touching torch")
    finally:
        sb_logger.setLevel(level)
        _drop_lazy_placeholders()
    return SB, ""


def _drop_lazy_placeholders() -> None:
    """Remove the placeholder modules SpeechBrain puts in ``sys.modules``.

    SpeechBrain registers redirects for its deprecated module paths (``speechbrain.pretrained``
    and others) as module objects whose attribute access imports the real module, and with it
    optional dependencies (sentencepiece, k2, transformers, ...). Code that scans
    ``sys.modules`` and reads ``__file__`` (hypothesis does, while the tests run) then gets an
    ImportError instead of a missing attribute. The pooling layer needs none of them.
    """
    for name, module in list(sys.modules.items()):
        if name.startswith("speechbrain") and type(module).__module__.startswith(
            "speechbrain.utils.importutils"
        ):
            del sys.modules[name]


class _SpeechBrainASP(nn.Module):
    """SpeechBrain's layer with the output squeezed to ``(B, 2C)`` like the others."""

    def __init__(self, cls: type[nn.Module], channels: int, attention_channels: int,
                 global_context: bool) -> None:
        super().__init__()
        self.inner = cls(channels, attention_channels=attention_channels,
                         global_context=global_context)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.inner(h).squeeze(-1)


def _asp(mode: str, gc: bool) -> Callable[[int, int], nn.Module]:
    return lambda C, A: AttentiveStatisticsPooling(C, A, mode=mode, global_context=gc)


def _speechbrain(gc: bool) -> Callable[[int, int], nn.Module]:
    def build(C: int, A: int) -> nn.Module:
        cls, reason = load_speechbrain_asp()
        if cls is None:
            raise ImportError(reason)
        return _SpeechBrainASP(cls, C, A, gc)

    return build


def _blog(C: int, A: int) -> nn.Module:
    if A != 128:
        raise ValueError(f"the post's block has 128 attention channels, asked for {A}")
    return blog.ASP(C)


#: name -> (builder(C, A), global context?, description). Ratios "vs SpeechBrain" compare a
#: layer with the SpeechBrain layer of the same global-context setting.
LAYERS: dict[str, tuple[Callable[[int, int], nn.Module], bool, str]] = {
    "stats": (lambda C, A: StatisticsPooling(), False, "asp_lab StatisticsPooling"),
    "asp-scalar": (_asp("scalar", False), False, "asp_lab ASP, one weight per frame"),
    "asp-scalar-gc": (_asp("scalar", True), True, "asp_lab ASP scalar, global context"),
    "asp-channel": (_asp("channel", False), False, "asp_lab ASP, one weight per channel"),
    "asp-channel-gc": (_asp("channel", True), True, "asp_lab ASP channel, global context"),
    "blog-asp": (_blog, False, "the post's block (asp_lab.blog.ASP)"),
    "wespeaker-astp": (lambda C, A: WeSpeakerASTP(C, A), False,
                       "WeSpeaker ASTP (reimplemented in asp_lab.bench)"),
    "wespeaker-astp-gc": (lambda C, A: WeSpeakerASTP(C, A, True), True,
                          "WeSpeaker ASTP, global context by concatenation"),
    "speechbrain-asp": (_speechbrain(False), False, "SpeechBrain ECAPA_TDNN ASP"),
    "speechbrain-asp-gc": (_speechbrain(True), True,
                           "SpeechBrain ECAPA_TDNN ASP, global context (its default)"),
}
SPEECHBRAIN_REF = {False: "speechbrain-asp", True: "speechbrain-asp-gc"}


# ----------------------------------------------------------------------- time and memory


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else Apple's MPS, else the CPU; or the device named."""
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


# ------------------------------------------------------------------------------ the run


#: Peak memory bandwidth (bytes/s) from the vendors' data sheets, for GPUs whose properties
#: do not report their memory clock and bus width. Matched against the device name.
DATASHEET_BANDWIDTH = {
    "H200": 4.8e12, "H100 NVL": 3.9e12, "H100 PCIe": 2.0e12, "H100": 3.35e12,
    "A100-SXM4-80GB": 2.039e12, "A100 80GB PCIe": 1.935e12, "A100": 1.555e12,
    "L40S": 864e9, "L4": 300e9, "A10G": 600e9, "A10": 600e9, "T4": 320e9, "V100": 900e9,
    "RTX 4090": 1008e9, "RTX 3090": 936e9,
}


def peak_bandwidth(device: torch.device, props=None) -> tuple[float | None, str]:
    """(peak memory bandwidth in bytes/s or None, where the figure comes from).

    CUDA only: from the memory clock and bus width when the device properties report them
    (double data rate: 2 x clock x width), else from :data:`DATASHEET_BANDWIDTH` by name.
    """
    if device.type != "cuda":
        return None, f"not known for {device.type}"
    props = torch.cuda.get_device_properties(device) if props is None else props
    clock_khz = getattr(props, "memory_clock_rate", None)
    bus_bits = getattr(props, "memory_bus_width", None)
    if clock_khz and bus_bits:
        return 2 * clock_khz * 1e3 * bus_bits / 8, "device properties: 2 x memory clock x bus width"
    for key, value in DATASHEET_BANDWIDTH.items():  # the longest names come first
        if key in props.name:
            return value, f"data sheet value for {key}"
    return None, f"unknown for {props.name}: not in asp_lab.bench.DATASHEET_BANDWIDTH"


def _forward(layer: nn.Module, h: torch.Tensor) -> Callable[[], None]:
    def forward() -> None:
        with torch.no_grad():
            layer(h)

    return forward


#: Mean of the frames, in standard deviations, for the autocast errors.
AUTOCAST_OFFSETS = (0.0, 10.0)


def autocast_errors(names: Sequence[str], size: tuple[int, int, int] = HEADLINE,
                    device: str = "cpu", attention_channels: int = ATTENTION_CHANNELS,
                    seed: int = 0) -> dict:
    """Relative error of each layer's pooled mean and standard deviation under autocast.

    Returns ``{layer: {"bfloat16" | "float16": {"offset <m>": {"mu", "sigma", "finite"}}}}``
    for frames ``m + N(0, 1)``: ``|mu_amp - mu_32| / |mu_32|`` (vector norms), the same for
    sigma, and whether every pooled value was finite. A layer that cannot run is left out.
    """
    dev = resolve_device(device)
    B, C, T = size
    out: dict = {}
    for name in names:
        torch.manual_seed(seed)
        try:
            layer = LAYERS[name][0](C, attention_channels).to(dev).eval()
        except Exception:  # e.g. SpeechBrain absent; run() records the reason
            continue
        errors: dict = {}
        for offset in AUTOCAST_OFFSETS:
            gen = torch.Generator().manual_seed(seed)
            h = (torch.randn(B, C, T, generator=gen) + offset).to(dev)
            with torch.no_grad():
                ref = layer(h).double()
                for dt in ("bfloat16", "float16"):
                    with torch.autocast(dev.type, dtype=DTYPES[dt]):
                        got = layer(h).double()
                    rel = [float((got[:, k] - ref[:, k]).norm() / ref[:, k].norm())
                           for k in (slice(0, C), slice(C, 2 * C))]
                    errors.setdefault(dt, {})[f"offset {offset:g}"] = {
                        "mu": rel[0], "sigma": rel[1], "finite": bool(torch.isfinite(got).all())}
        out[name] = errors
    return out


def run(sizes: Sequence[tuple[int, int, int]] = DEFAULT_SIZES, device: str = "cpu",
        dtype: str = "float32", repeats: int = 10, warmup: int = 2,
        layers: Sequence[str] | None = None, attention_channels: int = ATTENTION_CHANNELS,
        memory: bool = True, seed: int = 0,
        progress: Callable[[str], None] | None = None, autocast: bool = True) -> dict:
    """Benchmark ``layers`` (default: all of ``LAYERS``) at each ``(B, C, T)`` of ``sizes``.

    Returns a JSON-ready dict: ``machine``, ``settings``, ``method``, ``layers`` (name ->
    description), ``skipped`` (name -> reason: a layer that could not be built or run),
    ``results`` (one entry per size with a row per layer: median time and quartiles in
    seconds, peak memory in bytes, ratios against ``stats`` and against SpeechBrain's layer
    with the same global-context setting, the forward pass's time and bandwidth; ``None``
    where a reference is missing), ``targets`` (:func:`targets`) and, for float32 runs with
    ``autocast``, ``autocast_errors`` (:func:`autocast_errors`, at the last size).
    """
    names = list(LAYERS) if layers is None else list(layers)
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; expected some of {list(LAYERS)}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    for size in sizes:
        if len(size) != 3 or min(size) < 1:
            raise ValueError(f"a size is (B, C, T) with positive entries, got {size}")
    dev = resolve_device(device)
    dt = DTYPES[dtype]
    say = progress or (lambda message: None)
    machine = machine_info(dev)  # at the start: the date and the load the run began with
    peak, peak_source = peak_bandwidth(dev)
    machine.update(peak_bandwidth_bytes_per_s=peak, peak_bandwidth_source=peak_source)
    started = time.perf_counter()
    skipped: dict[str, str] = {}
    results = []
    for B, C, T in sizes:
        gen = torch.Generator().manual_seed(seed)
        h = torch.randn(B, C, T, generator=gen).to(device=dev, dtype=dt).requires_grad_(True)
        steps: dict[str, Callable[[], None]] = {}
        modules: dict[str, nn.Module] = {}
        for name in names:
            if name in skipped:
                continue
            torch.manual_seed(seed)
            try:
                layer = LAYERS[name][0](C, attention_channels).to(device=dev, dtype=dt).train()
                step = _step(layer, h)
                step()  # fails here, not in the middle of the timing, if the layer cannot run
            except Exception as err:  # e.g. SpeechBrain absent, or a dtype it cannot mix
                skipped[name] = f"{type(err).__name__}: {err}".splitlines()[0][:300]
                say(f"skip {name}: {skipped[name]}")
                continue
            steps[name], modules[name] = step, layer
        say(f"B={B} C={C} T={T}: timing {len(steps)} layers x {repeats} repeats")
        times = time_steps(steps, dev, repeats, warmup)
        forward_times = time_steps({n: _forward(modules[n], h) for n in steps}, dev, repeats,
                                   warmup)
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
        results.append({"B": B, "C": C, "T": T, "rows": rows})
        del steps, modules, h
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


def recorded(pattern: str) -> list[Path]:
    """Recorded results in the repository's ``benchmarks/`` folder that match ``pattern``
    (``"cpu-*.json"``, ``"history/models-*.json"``), sorted by name (the dates sort in
    order). Looked for beside the installed package, then from the working directory: the
    repository root, ``notebooks/``, or Colab's clone ``asp_lab_repo/``."""
    roots = (Path(__file__).resolve().parent.parent / "benchmarks", Path("benchmarks"),
             Path("../benchmarks"), Path("asp_lab_repo/benchmarks"))
    for root in roots:
        if found := sorted(root.glob(pattern)):
            return found
    return []


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _paired(times: dict[str, list[float]], name: str, ref: str) -> float | None:
    """Median over the rounds of time(name) / time(ref) in the same round: the layers took
    turns, so a burst of load from elsewhere that slows one round slows both."""
    if ref not in times or name not in times:
        return None
    return statistics.median(a / b for a, b in zip(times[name], times[ref], strict=True))


def _add_ratios(rows: dict[str, dict], times: dict[str, list[float]] | None = None) -> None:
    """Add time/memory ratios against ``stats`` and against SpeechBrain's matching layer:
    ratios of the medians, and (with ``times``) the median of the per-round ratios."""
    times = times or {}
    for name, row in rows.items():
        stats = rows.get("stats", {})
        ref = SPEECHBRAIN_REF[LAYERS[name][1]]
        sb = rows.get(ref, {})
        row["time_vs_stats"] = _ratio(row["time_median_s"], stats.get("time_median_s"))
        row["time_vs_stats_paired"] = _paired(times, name, "stats")
        row["memory_vs_stats"] = _ratio(row["peak_memory_bytes"], stats.get("peak_memory_bytes"))
        row["speechbrain_reference"] = ref if sb else None
        row["time_vs_speechbrain"] = _ratio(row["time_median_s"], sb.get("time_median_s"))
        row["time_vs_speechbrain_paired"] = _paired(times, name, ref) if sb else None
        row["memory_vs_speechbrain"] = _ratio(row["peak_memory_bytes"],
                                              sb.get("peak_memory_bytes"))


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


#: (name, layer, reference, quantity, limit): the targets the issue set, at HEADLINE.
TARGETS = (
    ("channel ASP + global context vs SpeechBrain: time", "asp-channel-gc",
     "speechbrain-asp-gc", "time", 0.6),
    ("channel ASP + global context vs SpeechBrain: peak memory", "asp-channel-gc",
     "speechbrain-asp-gc", "memory", 0.6),
    ("scalar ASP vs statistics pooling: time", "asp-scalar", "stats", "time", 2.0),
)


def targets(result: dict, size: tuple[int, int, int] = HEADLINE) -> list[dict]:
    """The targets at ``size``: each with its measured ratio, limit and ``met`` (None if the
    size or a layer is missing)."""
    entry = next((r for r in result["results"] if (r["B"], r["C"], r["T"]) == tuple(size)),
                 None)
    out = []
    for label, layer, ref, quantity, limit in TARGETS:
        key = "time_median_s" if quantity == "time" else "peak_memory_bytes"
        rows = entry["rows"] if entry else {}
        ratio = _ratio(rows.get(layer, {}).get(key), rows.get(ref, {}).get(key))
        paired = None
        if quantity == "time" and layer in rows:
            paired = rows[layer].get("time_vs_stats_paired" if ref == "stats"
                                     else "time_vs_speechbrain_paired")
        out.append({"target": label, "layer": layer, "reference": ref, "quantity": quantity,
                    "size": list(size), "ratio": ratio, "ratio_paired": paired,
                    "limit": limit, "met": None if ratio is None else ratio <= limit})
    return out


def machine_info(device: torch.device) -> dict:
    """What ran the benchmark: CPU model, torch version, threads, date, GPU if any, load."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
    }
    with contextlib.suppress(OSError, AttributeError):
        info["load_average_1min"] = os.getloadavg()[0]
    info.update(provenance.git_state())
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_bytes=props.total_memory,
                    cuda=torch.version.cuda)
    return info


# ------------------------------------------------------------------------ table and plot


def table(result: dict) -> str:
    """A plain-text table of every size and layer: time, memory and the ratios."""

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    lines = []
    for entry in result["results"]:
        lines.append(f"B={entry['B']} C={entry['C']} T={entry['T']}  "
                     f"({result['settings']['device']}, {result['settings']['dtype']})")
        lines.append(f"  {'layer':<20}{'median ms':>10}{'IQR ms':>9}{'peak MiB':>10}"
                     f"{'t/stats':>9}{'m/stats':>9}{'t/SB':>7}{'m/SB':>7}{'fwd GB/s':>10}")
        for name, r in entry["rows"].items():
            mem, rate = r["peak_memory_bytes"], r.get("forward_bytes_per_s")
            lines.append(
                f"  {name:<20}{r['time_median_s'] * 1e3:>10.1f}{r['time_iqr_s'] * 1e3:>9.1f}"
                f"{fmt(None if mem is None else mem / 2**20, '.1f'):>10}"
                f"{fmt(r['time_vs_stats'], '.2f'):>9}{fmt(r['memory_vs_stats'], '.2f'):>9}"
                f"{fmt(r['time_vs_speechbrain'], '.2f'):>7}"
                f"{fmt(r['memory_vs_speechbrain'], '.2f'):>7}"
                f"{fmt(None if rate is None else rate / 1e9, '.1f'):>10}")
    for name, reason in result["skipped"].items():
        lines.append(f"skipped {name}: {reason}")
    if result.get("autocast_errors"):
        lines.append("autocast: relative error of mu / sigma against float32 "
                     f"(frame mean {' and '.join(f'{m:g}' for m in AUTOCAST_OFFSETS)} sd)")
        for name, errors in result["autocast_errors"].items():
            cells = [f"{dt} " + ", ".join(f"{e['mu']:.1e}/{e['sigma']:.1e}"
                                          + ("" if e["finite"] else " NON-FINITE")
                                          for e in by_offset.values())
                     for dt, by_offset in errors.items()]
            lines.append(f"  {name:<20}" + "; ".join(cells))
    for t in result["targets"]:
        if t["ratio"] is None:  # a size or layer this run did not measure
            continue
        met = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        paired = "" if t.get("ratio_paired") is None else f", paired {t['ratio_paired']:.2f}"
        lines.append(f"target {t['target']}: {fmt(t['ratio'], '.2f')}{paired} (limit "
                     f"{t['limit']}) {met}")
    return "\n".join(lines)


#: Okabe-Ito colours (colour-blind safe) by family of layer.
FAMILY_COLORS = {"stats": "#999999", "asp": "#0072B2", "blog": "#E69F00",
                 "wespeaker": "#009E73", "speechbrain": "#CC79A7"}


def plot(result: dict, path: str | Path | None = None, panels_per_row: int = 2):
    """Log-scale bar chart of the median step time per layer (IQR as error bars), one panel
    per size. Saves to ``path`` if given; returns the matplotlib figure."""
    import matplotlib

    if path is not None and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    entries = result["results"]
    n = len(entries)
    cols = min(panels_per_row, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 0.32 * 10 * rows + 1.2),
                             squeeze=False)
    for ax, entry in zip(axes.flat, entries, strict=False):
        names = list(entry["rows"])
        med = [entry["rows"][k]["time_median_s"] * 1e3 for k in names]
        lo = [m - entry["rows"][k]["time_q1_s"] * 1e3 for m, k in zip(med, names, strict=True)]
        hi = [entry["rows"][k]["time_q3_s"] * 1e3 - m for m, k in zip(med, names, strict=True)]
        colors = [FAMILY_COLORS[k.split("-")[0]] for k in names]
        y = range(len(names))
        left = min(med) / 2  # bars start at the same place in every panel: half the fastest
        ax.barh(y, [m - left for m in med], left=left, xerr=[lo, hi], color=colors, capsize=2)
        for i, k in enumerate(names):
            ratio = entry["rows"][k].get("time_vs_stats")
            if ratio is not None:
                ax.text(med[i] + hi[i], i, f" x{ratio:.1f}", va="center", fontsize=7)
        ax.set_yticks(list(y), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(left, max(m + e for m, e in zip(med, hi, strict=True)) * 1.8)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("forward+backward time (ms, log scale); x: time / stats")
        ax.set_title(f"B={entry['B']}, C={entry['C']}, T={entry['T']}", fontsize=10)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    s, m = result["settings"], result["machine"]
    fig.suptitle(f"Pooling layers, {s['dtype']} on {m.get('gpu', m['cpu'])} "
                 f"({m['torch_threads']} threads), median and IQR of {s['repeats']} steps",
                 fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


# ----------------------------------------------------------------------------------- CLI


def _size(text: str) -> tuple[int, int, int]:
    try:
        B, C, T = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a size is B,C,T (three integers), got {text!r}") from None
    return B, C, T


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``asp-lab bench``."""
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default: cpu)")
    p.add_argument("--dtype", default="float32", choices=list(DTYPES),
                   help="dtype of the input and of every layer's parameters")
    p.add_argument("--sizes", nargs="+", type=_size, default=list(DEFAULT_SIZES),
                   metavar="B,C,T", help="sizes to run (default: 32,512,200 32,512,300 "
                   "32,1536,200 32,1536,300)")
    p.add_argument("--repeats", type=int, default=10, help="timed steps per layer and size")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--layers", nargs="+", default=None, choices=list(LAYERS),
                   help="only these layers (default: all)")
    p.add_argument("--attention-channels", type=int, default=ATTENTION_CHANNELS)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    p.add_argument("--no-autocast", action="store_true",
                   help="skip the bfloat16/float16 autocast errors (float32 runs)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--plot", default=None, help="save the bar chart here (e.g. bench.png)")


def run_from_args(args: argparse.Namespace) -> int:
    result = run(args.sizes, device=args.device, dtype=args.dtype, repeats=args.repeats,
                 warmup=args.warmup, layers=args.layers,
                 attention_channels=args.attention_channels, memory=not args.no_memory,
                 progress=lambda message: print(message, file=sys.stderr, flush=True),
                 autocast=not args.no_autocast)
    print(table(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"-> {args.out}")
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(result, args.plot)
        print(f"-> {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asp_lab.bench",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
