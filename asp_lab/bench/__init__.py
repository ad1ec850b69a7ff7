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
- ``wespeaker-astp`` (``-gc``): :class:`~asp_lab.reference.WeSpeakerASTP`, a
  reimplementation of WeSpeaker's ``ASTP`` (so that no WeSpeaker install is needed);
- ``speechbrain-asp`` (``-gc``): SpeechBrain's ``AttentiveStatisticsPooling`` from
  ``speechbrain.lobes.models.ECAPA_TDNN``, when SpeechBrain is importable
  (:func:`~asp_lab.reference.load_speechbrain_asp`; ``make bench-deps`` installs it);
  otherwise the rows are skipped and the JSON says why.

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

The package, bottom to top: :mod:`~asp_lab.bench.layers` (what is measured),
:mod:`~asp_lab.bench.timing` (the clock and the allocator), :mod:`~asp_lab.bench.machine`,
:mod:`~asp_lab.bench.autocast`, :mod:`~asp_lab.bench.ratios` (and the targets),
:mod:`~asp_lab.bench.runner`, :mod:`~asp_lab.bench.report` (table, plot, recorded runs),
:mod:`~asp_lab.bench.cli`.
"""

from ..reference import WeSpeakerASTP, load_speechbrain_asp
from . import autocast, cli, layers, machine, ratios, report, runner, timing
from .autocast import AUTOCAST_OFFSETS, autocast_errors
from .cli import add_arguments, main, run_from_args
from .layers import (
    ATTENTION_CHANNELS,
    DEFAULT_SIZES,
    DTYPES,
    HEADLINE,
    LAYERS,
    SCHEMA,
    SPEECHBRAIN_REF,
)
from .machine import DATASHEET_BANDWIDTH, machine_info, peak_bandwidth
from .ratios import TARGETS, targets
from .report import FAMILY_COLORS, plot, recorded, table
from .runner import run
from .timing import (
    _clear_grads,
    _forward,
    _quantiles,
    _step,
    _synchronize,
    peak_memory,
    resolve_device,
    time_steps,
)

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
    # used as asp_lab.bench.X by chapter 7 and the tests:
    "ATTENTION_CHANNELS", "AUTOCAST_OFFSETS", "DATASHEET_BANDWIDTH", "DTYPES",
    "FAMILY_COLORS", "SCHEMA", "SPEECHBRAIN_REF", "TARGETS", "main",
    "_clear_grads", "_forward", "_quantiles", "_step", "_synchronize",
    # the submodules, bottom to top
    "layers", "timing", "machine", "autocast", "ratios", "runner", "report", "cli",
]
