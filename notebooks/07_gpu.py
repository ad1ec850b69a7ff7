# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # On a GPU
#
# This chapter moves the pooling layer, and a model around it, to whatever hardware you
# have, and shows what to measure once it is there. You will learn:
#
# - how to choose the device in code (CUDA, Apple's MPS or the CPU) and move a model and
#   its batches there, and why a GPU's asynchrony matters for timing and for checks;
# - mixed precision with `torch.autocast`, and what it does to a pooling layer's numbers;
# - `torch.compile`, and training a model with `asp-lab train --device cuda`;
# - how to benchmark pooling layers fairly (time and peak memory), and how `asp_lab`'s
#   layer compares with the field's;
# - how to run every chapter of the book on Colab with a GPU.
#
# **Where this page ran.** Every live cell measures the device it runs on. This page was
# built on {glue:md}`built_on`; opened on Colab with a GPU, the same cells give that GPU's
# numbers. No GPU measurement has been recorded for the book yet, so the page shows none.
#
# The inputs are random frames of the shapes an ECAPA-TDNN pooling layer sees
# {cite:p}`desplanques2020ecapa`, except in the training demo, which uses the book's data:
# speech from LibriSpeech {cite:p}`panayotov2015librispeech` (CC BY 4.0) and noise
# recordings from Speech Commands {cite:p}`warden2018speechcommands` (CC BY 4.0).

# %% tags=["remove-cell"]
# Setup for Google Colab: a shallow clone of the repository (the code and data/), asp_lab
# installed from it, and its data/ used by the loader. Anywhere else this cell does nothing.
# `--no-deps` keeps the packages Colab ships (torch, numpy, ipywidgets, ...) as they are:
# only a dependency that Colab lacks is installed.
import os
import subprocess
import sys

ASP_LAB_REPO = "https://github.com/asp-lab/asp_lab"  # repository.url in _config.yml
if "google.colab" in sys.modules:
    import importlib.metadata
    import re
    import tomllib

    if not os.path.isdir("asp_lab_repo"):
        subprocess.run(["git", "clone", "--depth", "1", ASP_LAB_REPO, "asp_lab_repo"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", "./asp_lab_repo"], check=True)
    with open("asp_lab_repo/pyproject.toml", "rb") as f:
        needs = tomllib.load(f)["project"]["dependencies"]
    missing = []
    for need in needs:
        try:
            importlib.metadata.version(re.match(r"[\w.-]+", need).group())
        except importlib.metadata.PackageNotFoundError:
            missing.append(need)
    if missing:
        subprocess.run([*pip, *missing], check=True)
    os.environ["ASP_LAB_DATA"] = os.path.abspath("asp_lab_repo/data")
    import torch

    print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available()
          else "none (Runtime > Change runtime type > GPU to get one)")

# %%
import time

import numpy as np
import torch

from asp_lab import bench, pooling, train

# %% tags=["remove-cell"]
# The book's plumbing: plotting, tables and glue (the values the prose quotes).
_ = torch.manual_seed(0)
import copy
import json
from collections.abc import Callable

import matplotlib.pyplot as plt
from IPython.display import Markdown

from asp_lab import analysis, blog, viz

glue = viz.glue  # stores the values the text quotes (nothing outside the book)


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book

# %% [markdown]
# ## 1. Choosing the device
#
# PyTorch runs a tensor's operations where the tensor lives. The usual choice, in this
# order: an NVIDIA GPU (`cuda`), Apple silicon's GPU (`mps`), else the CPU.
# `asp_lab.bench.resolve_device("auto")` does exactly this; written out:

# %%
if torch.cuda.is_available():
    device = torch.device("cuda")
elif torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")
assert device == bench.resolve_device("auto")
print("device:", device)
if device.type == "cuda":
    print("GPU:", torch.cuda.get_device_name(device))
print("torch", torch.__version__, "|", torch.get_num_threads(), "CPU threads")

# %% tags=["remove-cell"]
if device.type == "cuda":
    built_on = f"a GPU, {torch.cuda.get_device_name(device)}"
else:
    built_on = f"a machine without a GPU, on its CPU ({torch.get_num_threads()} threads)"
glue("built_on", Markdown(built_on))
glue("device_type", Markdown(f"`{device.type}`"))

# %% [markdown]
# Here it found {glue:md}`device_type`. Everything below runs on whatever it found.
#
# ## 2. Moving the model and the batch
#
# A module's parameters and every tensor it meets must be on the same device. Move the
# model once, and each batch as it arrives; `lengths` is a tensor too and goes along.
# With `pin_memory=True` in the `DataLoader`, `non_blocking=True` lets the copy to the
# GPU overlap with work already queued there.

# %%
B, C, T = 8, 256, 200
layer = pooling.AttentiveStatisticsPooling(C, 64, mode="channel",
                                           global_context=True).to(device)
h = torch.randn(B, C, T)  # as a DataLoader would hand it over: on the CPU
lengths = torch.randint(T // 2, T + 1, (B,))
h = h.to(device, non_blocking=True)
lengths = lengths.to(device, non_blocking=True)
pooled = layer(h, lengths=lengths)
print(tuple(pooled.shape), pooled.device, pooled.dtype)

# %% [markdown]
# A GPU runs kernels *asynchronously*: a call returns as soon as its kernel is queued.
# The CPU waits only when it needs a value, for `.item()`, `.cpu()`, `print`, or a Python
# `if` on a tensor. That matters twice in this chapter. A timer must call
# `torch.cuda.synchronize()` before reading the clock, or it times the queueing and not the
# work (`asp_lab.bench` does). And every check that looks at a value, such as `asp_lab`'s
# refusal of NaN or infinite frames (`if ...: raise ...`), makes the CPU wait for the GPU.
# How often the layer checks, and what a check costs, on this device:

# %% tags=["remove-input"]
def median_time(fn, repeats: int = 7) -> float:
    """Median seconds of fn() over repeats, after one warm-up call (synchronised)."""
    fn()
    out = []
    for _ in range(repeats):
        bench._synchronize(device)
        start = time.perf_counter()
        fn()
        bench._synchronize(device)
        out.append(time.perf_counter() - start)
    return float(np.median(out))


n_checks = 0
check_frames = pooling.checks.check_frames


def counting_check(*args, **kwargs):
    global n_checks
    n_checks += 1
    return check_frames(*args, **kwargs)


h_chk = torch.randn(16, 512, 200, device=device).requires_grad_(True)
layer_chk = pooling.AttentiveStatisticsPooling(512, 128, mode="channel",
                                               global_context=True).to(device)
pooling.checks.check_frames = counting_check
try:
    layer_chk(h_chk)
finally:
    pooling.checks.check_frames = check_frames
step_chk = bench._step(layer_chk, h_chk)
# the fastest of several runs: the one least disturbed by other programs on the machine
t_chk = bench.time_steps({"step": step_chk, "one check": lambda: check_frames(h_chk.detach()),
                          "isfinite mask": lambda: bool(torch.isfinite(h_chk.detach()).all())},
                         device, repeats=9, warmup=1)
t_step, t_check = min(t_chk["step"]), min(t_chk["one check"])
t_mask = min(t_chk["isfinite mask"])
print(f"checks of h per forward: {n_checks}; one check {t_check * 1e3:.2f} ms; "
      f"the mask isfinite(h).all() {t_mask * 1e3:.2f} ms; "
      f"forward+backward {t_step * 1e3:.1f} ms (fastest of 9)")
assert n_checks == 1, "the text below says the module checks its input once"
glue("check_ms", t_check * 1e3)
glue("check_share", n_checks * t_check / t_step)
glue("mask_vs_sum", t_mask / t_check)

# %% [markdown]
# The layer checks its frames once, on entry, with a sum: a single NaN or infinity makes
# the sum NaN or infinite, so `torch.isfinite(h.sum())` answers "is every value finite?"
# with one read of $h$ and no copy. Only when the answer is no does `asp_lab` build the
# boolean mask that finds the first bad value for the error message. Here the check took
# {glue:text}`check_share:.1%` of a forward and backward step. The mask,
# `torch.isfinite(h).all()`, costs {glue:text}`mask_vs_sum:.0f` times as much as the sum.
# On a GPU the `if` still makes the CPU wait once per forward.
#
# ## 3. Mixed precision
#
# `torch.autocast` runs chosen operations (matrix products and convolutions above all)
# in a 16-bit format and keeps the rest in float32. Two formats exist:
#
# - **bfloat16**: float32's exponent range with {glue:text}`bf16_bits` significant bits.
#   Small gradients do not underflow, so no loss scaling is needed. GPUs from NVIDIA's
#   Ampere generation on support it natively, and PyTorch supports it on CPUs.
# - **float16**: {glue:text}`fp16_bits` significant bits, but a largest value of
#   {glue:text}`fp16_max:,.0f`. Small gradients underflow to zero, so training multiplies
#   the loss by a large factor first and divides the gradients back
#   (`torch.amp.GradScaler`).
#
# The policy that follows (and that `asp_lab.train` uses): bfloat16 where the GPU supports
# it, else float16 with a `GradScaler`, and no autocast on the CPU when speed is the goal.

# %%
def amp_setup(device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether to use a GradScaler)."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return torch.bfloat16, False
        return torch.float16, True
    return None, False


amp_dtype, use_scaler = amp_setup(device)
print("autocast dtype:", amp_dtype, "| GradScaler:", use_scaler)

# %% tags=["remove-cell"]
for name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
    glue(f"{name}_bits", round(1 - np.log2(torch.finfo(dt).eps)))  # eps = 2^(1 - bits)
glue("fp16_max", torch.finfo(torch.float16).max)
step_time = json.loads((analysis.CHECKPOINT_DIR / "results.json").read_text())["step_time"]
glue("ch5_step_ratio", step_time["ratio_vs_stats_model"]["asp-channel"])

# %% [markdown]
# One training step under that policy:

# %%
asp = pooling.AttentiveStatisticsPooling(C, 64, mode="channel")
model = torch.nn.Sequential(torch.nn.Conv1d(40, C, 5), torch.nn.ReLU(), asp,
                            torch.nn.Linear(2 * C, 10)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
features = torch.randn(B, 40, T, device=device)
labels = torch.randint(0, 10, (B,), device=device)

dtype = amp_dtype or torch.bfloat16  # unused when autocast is off
with torch.autocast(device.type, dtype=dtype, enabled=amp_dtype is not None):
    loss = torch.nn.functional.cross_entropy(model(features), labels)
optimizer.zero_grad(set_to_none=True)
scaler.scale(loss).backward()  # with the scaler disabled: loss.backward()
scaler.step(optimizer)
scaler.update()

# %% [markdown]
# What happens to the pooling layer inside autocast? [Chapter 4](04_numerics.ipynb) found
# that a half-precision pooling layer must compute the standard deviation in two passes,
# accumulate the moments in float32, and compute the attention scores in float32 when the
# frames have a large mean. Autocast is milder than a whole conversion, as long as the
# frames `h` reach the layer in float32: only the products become 16-bit.
#
# `torch.autocast("cpu")` accepts bfloat16 and float16, so any machine can measure both
# (the GPU's kernels differ, the rounding to 16 bits does not). The next table pools the
# same frames in float64 and under bfloat16 autocast, for frames of zero mean ($m/s = 0$)
# and frames with a mean of 100 standard deviations ($m/s = 100$, chapter 4's hard case):

# %% tags=["remove-input"]
torch.manual_seed(1)
Ca, Ta = 64, 300
post = blog.ASP(Ca)
candidates = {
    "asp_lab scalar": pooling.AttentiveStatisticsPooling(Ca, 128, mode="scalar"),
    "asp_lab channel + context": pooling.AttentiveStatisticsPooling(
        Ca, 128, mode="channel", global_context=True),
    "the post's block": post,
    "WeSpeaker ASTP (bench)": bench.WeSpeakerASTP(Ca, 128),
}
z = torch.randn(4, Ca, Ta)
amp_rows, amp_err = [], {}
with torch.no_grad():
    for name, block in candidates.items():
        block.eval()
        row = [name]
        for m in (0.0, 100.0):
            x = m + z
            ref = copy.deepcopy(block).double()(x.double())
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = block(x)
            err = (out.double() - ref).abs() / ref[:, Ca:].repeat(1, 2)  # in units of sigma
            mu_err, sigma_err = err[:, :Ca].median().item(), err[:, Ca:].median().item()
            amp_err[name, m] = (mu_err, sigma_err)
            row += [f"{mu_err:.1e}", f"{sigma_err:.1e}"]
        row.append(str(out.dtype).replace("torch.", ""))
        amp_rows.append(row)
show_table(["block", "m/s=0: error of mu", "m/s=0: error of sigma",
            "m/s=100: error of mu", "m/s=100: error of sigma", "output dtype"], amp_rows)
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    w_post = post.attention(100.0 + z)  # the post's weights, as its forward makes them
print("the post's weights under autocast:", w_post.dtype)
glue("amp_post_wsum", (w_post.double().sum(-1) - 1).abs().max().item())
glue("amp_ours_s1", amp_err["asp_lab channel + context", 0.0][1])
glue("amp_ours_s100", amp_err["asp_lab channel + context", 100.0][1])
glue("amp_post_s100", amp_err["the post's block", 100.0][1])
glue("amp_scalar_s100", amp_err["asp_lab scalar", 100.0][1])
glue("amp_worst_s1", max(max(amp_err[name, 0.0]) for name in candidates))

# %% [markdown]
# *Table: median error of the pooled mean and standard deviation under bfloat16 autocast,
# against the same block in float64, in units of the true standard deviation (4
# utterances, 64 channels, 300 frames).*
#
# At $m/s = 0$ bfloat16 products do little harm: every block stays within
# {glue:text}`amp_worst_s1:.1e` of the spread. At $m/s = 100$ the post's block is
# {glue:text}`amp_post_s100:.1e` off in $\sigma$, that is, wrong. Its softmax runs in
# bfloat16, so its weights sum to one only up to {glue:text}`amp_post_wsum:.1e`, and its
# one-pass variance turns such an error $\delta$ into an error of order $\delta\,m^2$ in
# $\sigma^2$. WeSpeaker's ASTP has the same one-pass variance. `asp_lab` computes its
# weights in float32 and its moments in two passes.
#
# float16 autocast is what a GPU without bfloat16 (a T4, a V100) trains with:

# %% tags=["remove-input"]
fp16_rows, fp16_err = [], {}
with torch.no_grad():
    for name, block in candidates.items():
        row = [name]
        for m in (0.0, 100.0):
            x = m + z
            ref = copy.deepcopy(block).double()(x.double())
            with torch.autocast("cpu", dtype=torch.float16):
                out = block(x)
            err = (out.double() - ref).abs() / ref[:, Ca:].repeat(1, 2)  # in units of sigma
            fp16_err[name, m] = (err[:, :Ca].median().item(), err[:, Ca:].median().item())
            row += [f"{v:.1e}" for v in fp16_err[name, m]]
        row.append("yes" if torch.isfinite(out).all() else "no")
        fp16_rows.append(row)
show_table(["block", "m/s=0: error of mu", "m/s=0: error of sigma",
            "m/s=100: error of mu", "m/s=100: error of sigma", "finite"], fp16_rows)
glue("fp16_ours_s100", fp16_err["asp_lab channel + context", 100.0][1])
glue("fp16_post_s100", fp16_err["the post's block", 100.0][1])
glue("fp16_gain_ours", amp_err["asp_lab channel + context", 100.0][1]
     / fp16_err["asp_lab channel + context", 100.0][1])
assert fp16_err["the post's block", 100.0][1] > 10 * fp16_err["asp_lab channel + context", 100.0][1]

# %% [markdown]
# *Table: as the previous one, under float16 autocast.*
#
# float16 keeps more bits, and every error shrinks: `asp_lab`'s channel-wise layer is
# {glue:text}`fp16_gain_ours:.0f` times more accurate at $m/s = 100$ than under bfloat16.
# The post's block is still {glue:text}`fp16_post_s100:.1%` off: the one-pass variance
# amplifies whatever error the weights carry. In training, float16 has a risk this test
# does not reach: a value above {glue:text}`fp16_max:,.0f` overflows to infinity. That is
# what the gradient scaler in the step above is for.
#
# ```{admonition} Practice
# :class: tip
# Keep the pooling layer's inputs normalised (a batch norm right before it, as ECAPA-TDNN
# has) when training under autocast; or keep the pooling, and the layer that makes its
# frames, in float32 by wrapping them in `torch.autocast(device.type, enabled=False)`.
# In chapter 5's network the pooling is a modest part of a training step (channel-wise ASP
# made a step {glue:text}`ch5_step_ratio:.2f` times as long as statistics pooling), so
# float32 there costs little.
# ```
#
# ## 4. `torch.compile`
#
# `torch.compile(module)` traces the forward into a graph and generates fused kernels for
# it (Triton on a GPU, C++ on a CPU). The elementwise passes of the moments are the kind of
# work it fuses: several reads and writes of a `(B, C, T)` tensor become one. Two things
# limit it. Compiling takes time, at the first call and again when the input's shape
# changes. And a Python `if` on a tensor's value, such as `asp_lab`'s finiteness check,
# splits the graph in two.
#
# Compiling on a CPU takes longer than this page can spare, so the cell runs only on a
# GPU; set `RUN_COMPILE = True` to run it anywhere. It checks that the compiled layer
# computes the same vector, and times both:

# %%
RUN_COMPILE = device.type == "cuda"  # set it to True to compile on a CPU too
print("RUN_COMPILE:", RUN_COMPILE)
if RUN_COMPILE:
    eager = pooling.AttentiveStatisticsPooling(C, 128).to(device)
    compiled = torch.compile(eager)
    h_c = torch.randn(32, C, 300, device=device)
    with torch.no_grad():  # compile, compare and time in the same mode
        start = time.perf_counter()
        out_c = compiled(h_c)  # the first call compiles
        bench._synchronize(device)
        print(f"first call (compiling): {time.perf_counter() - start:.1f} s")
        print("largest difference:", (out_c - eager(h_c)).abs().max().item())
        t_eager = median_time(lambda: eager(h_c))
        t_comp = median_time(lambda: compiled(h_c))
        print(f"eager {t_eager * 1e3:.2f} ms, compiled {t_comp * 1e3:.2f} ms")

# %% [markdown]
# ## 5. Training a model on a GPU
#
# `asp-lab train` (chapter 5) takes the device as an option:
#
# ```bash
# asp-lab train --pooling asp-channel --device cuda --workers 4 --compile --out runs/
# ```
#
# - `--device cuda` moves the network, the log-mel front end and each batch to the GPU.
# - Mixed precision follows `asp_lab.train.amp_policy`, the policy of section 3.
# - `--workers N` starts `N` `DataLoader` processes that cut and mix the next batches
#   while the model trains on the current one. A batch depends on the seed and the step
#   alone, so the trained weights are the same with or without workers.
# - `--compile` passes the model through `torch.compile`.
#
# The same function, `asp_lab.train.train`, runs here on a small task, 40 speakers with
# short crops, long enough to watch it learn:

# %%
demo = train.TrainConfig(pooling="asp-channel", n_speakers=40, steps=400,
                         crop_seconds=(1.0, 1.5), margin=0.1, log_every=20)
start = time.perf_counter()
run = train.train(demo, device=str(device), threads=1, progress=False)
demo_seconds = time.perf_counter() - start
curve = run["provenance"]["curve"]  # a point every log_every steps
prov = run["provenance"]
print(f"{demo.steps} steps in {demo_seconds:.0f} s on {prov['device']}, "
      f"autocast {prov['amp']}; last loss {curve[-1]['loss']:.2f}")

# %% tags=["remove-cell"]
first, last = curve[0], curve[-1]
glue("demo_steps", demo.steps)
glue("demo_speakers", demo.n_speakers)
glue("demo_seconds", demo_seconds)
glue("demo_rate", run["provenance"]["steps_per_second"])
glue("demo_first_loss", first["loss"])
glue("demo_last_loss", last["loss"])
glue("demo_first_acc", first["accuracy"])
glue("demo_last_acc", last["accuracy"])
glue("demo_chance", 1 / demo.n_speakers)
glue("demo_device", Markdown(run["provenance"]["device"]))
# what the caption says: the loss falls and the accuracy rises far above chance
assert last["loss"] < 0.5 * first["loss"], (first, last)
assert last["accuracy"] > max(0.5, 2 * first["accuracy"]), (first, last)

# %% tags=["remove-input"] mystnb={"image": {"alt": "The training demo's loss and accuracy against step: the loss falls and the accuracy rises from near chance to most of the training speakers."}}
steps = [c["step"] for c in curve]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
ax_loss.plot(steps, [c["loss"] for c in curve], marker=".", color=viz.MODEL_COLOURS["asp-channel"])
ax_acc.plot(steps, [100 * c["accuracy"] for c in curve], marker=".",
            color=viz.MODEL_COLOURS["asp-channel"])
ax_acc.axhline(100 / demo.n_speakers, color="#555555", linestyle=":", label="chance")
ax_loss.set_ylabel("AAM-softmax loss (nats)")
ax_acc.set_ylabel("training accuracy (%)")
ax_acc.set_ylim(0, 100)
ax_acc.legend(loc="lower right", fontsize="small")
for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy")):
    ax.set_xlabel("training step")
    ax.set_title(f"Training demo: {what}, mean over {demo.log_every} steps", fontsize="medium")
    ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# *Figure: the network learns: its loss falls and its accuracy climbs from chance towards
# all {glue:text}`demo_speakers` training speakers.* The {glue:text}`demo_steps` steps took
# {glue:text}`demo_seconds:.0f` s on {glue:md}`demo_device`. The loss fell from
# {glue:text}`demo_first_loss:.1f` to {glue:text}`demo_last_loss:.1f` nats. The accuracy
# over the last steps reached {glue:text}`demo_last_acc:.0%` (chance:
# {glue:text}`demo_chance:.1%`). The small bump in the loss is the angular margin being
# phased in (chapter 5). On a GPU the same cell runs far faster; there, try a larger
# `n_speakers` and more steps.
#
# ## 6. The benchmark
#
# `asp-lab bench` times one training step of a pooling layer, `layer(h)` then
# `.sum().backward()`, on the same input `h` of shape $(B, C, T)$ for every layer, and
# measures the memory the step allocates beyond the input and the parameters. The layers:
#
# - `stats`: statistics pooling {cite:p}`snyder2018xvectors`, the baseline of every ratio;
# - `asp-scalar` and `asp-channel`, with `-gc` for global context: `asp_lab`'s
#   `AttentiveStatisticsPooling`, one weight per frame {cite:p}`okabe2018attentive` or per
#   frame and channel {cite:p}`desplanques2020ecapa`;
# - `blog-asp`: the post's block (channel-wise, no global context, one-pass variance);
# - `asp-ecapa` (`-gc`): the same layer in ECAPA-TDNN's scoring order (ReLU, batch norm,
#   then $\tanh$ between the two affine maps: `batch_norm=True, tanh=True`), which computes
#   exactly SpeechBrain's function (a test copies a SpeechBrain layer's weights into it and
#   gets its output): the ratios against SpeechBrain compare these two;
# - `wespeaker-astp` (`-gc`): WeSpeaker's `ASTP`, re-implemented in `asp_lab.reference` from
#   its source: global context by concatenating $[h_t; \mu; \sigma]$ into a $(B, 3C, T)$
#   tensor, and $E[x^2]-\mu^2$;
# - `speechbrain-asp` (`-gc`): SpeechBrain's `AttentiveStatisticsPooling` (ECAPA-TDNN), if
#   installed: concatenation too, with the mean and standard deviation repeated over time.
#
# **Time** is the median over repeated steps after a warm-up; the layers take turns, one
# step each, so that a burst of load slows all of them alike. **Memory** is the peak of the
# bytes held by tensors during the step, gradients included: on a GPU from
# `torch.cuda.max_memory_allocated()`, on a CPU from `torch.profiler`'s log of every
# allocation.
#
# ### A live run on this device
#
# `bench.run([(8, 256, 100)], device=str(device), repeats=3, layers=...)` runs the
# benchmark on one small size, with a few repeats, on the device of section 1:

# %% tags=["remove-input"]
layers = ["stats", "asp-scalar", "asp-channel-gc", "asp-ecapa-gc", "blog-asp",
          "wespeaker-astp-gc"]
if bench.load_speechbrain_asp()[0] is not None:  # SpeechBrain installed here?
    layers.append("speechbrain-asp-gc")
start = time.perf_counter()
live = bench.run([(8, 256, 100)], device=str(device), repeats=3, warmup=1, layers=layers)
print(bench.table(live))
glue("live_s", time.perf_counter() - start)

# %% tags=["remove-cell"]
glue("live_sb", "includes SpeechBrain's layer" if "speechbrain-asp-gc" in layers
     else "leaves out SpeechBrain's layer, which is not installed here")
assert not live["skipped"], live["skipped"]

# %% [markdown]
# The live run took {glue:text}`live_s:.1f` s and {glue:text}`live_sb` (on Colab,
# `pip install --no-deps speechbrain==1.1.2 hyperpyyaml ruamel.yaml` adds it without
# touching torch). The full grid of sizes is `asp-lab bench --out results.json --plot
# results.png`; add `--device cuda` on a GPU, `--dtype bfloat16` for half precision.
#
# ### The recorded CPU run
#
# The full grid takes several minutes on a small CPU, too long for a page, so the book
# loads a run recorded with `asp-lab bench` on a two-core CPU:

# %% tags=["remove-input"]
recorded_path = bench.recorded("cpu-*.json")[-1]
rec = json.loads(recorded_path.read_text())
mach, sett = rec["machine"], rec["settings"]
print(f"{recorded_path.name}: {mach['date']}, {mach['cpu']}, {mach['cpu_count']} cores, "
      f"{mach['torch_threads']} threads, torch {mach['torch']}, {sett['dtype']}, "
      f"{sett['repeats']} repeats after {sett['warmup']} warm-up")
print(f"load average (1 min) when it started: {mach.get('load_average_1min', float('nan')):.1f}")
print("skipped:", rec["skipped"] or "nothing")
glue("rec_threads", mach["torch_threads"])
glue("rec_repeats", sett["repeats"])
glue("rec_load", mach.get("load_average_1min") or float("nan"))
by_size = {(r["B"], r["C"], r["T"]): r["rows"] for r in rec["results"]}
if (32, 1536, 200) in by_size and (32, 1536, 300) in by_size:
    glue("slow_regime", by_size[32, 1536, 300]["stats"]["time_median_s"]
         / by_size[32, 1536, 200]["stats"]["time_median_s"])
    glue("frames_ratio", 300 / 200)
# What Figure 1's caption says, checked on the recorded run:
for size, rows in by_size.items():
    if {"speechbrain-asp-gc", "wespeaker-astp-gc"} <= set(rows):
        order = sorted(rows, key=lambda name: rows[name]["time_median_s"], reverse=True)
        assert order[:2] == ["speechbrain-asp-gc", "wespeaker-astp-gc"], (size, order)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Horizontal bar charts, one per input size, of the median forward+backward time of each pooling layer on a log scale, with interquartile ranges."}}
fig = bench.plot(rec)
plt.show()

# %% [markdown]
# *Figure 1. SpeechBrain's and WeSpeaker's layers with global context, which build a
# $(B, 3C, T)$ concatenation, are the slowest at every size.* Median time of one
# forward+backward step per layer and input size on the recorded CPU (log scale; whiskers:
# the interquartile range; label: the time over statistics pooling's). Grey: statistics
# pooling; blue: `asp_lab`; orange: the post's block; green: WeSpeaker's ASTP; pink:
# SpeechBrain's layer.
#
# At ECAPA-TDNN's size, $B = 32$, $C = 1536$, $T = 300$:

# %% tags=["remove-input"]
headline = next(r for r in rec["results"] if (r["B"], r["C"], r["T"]) == bench.HEADLINE)


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


show_table(["layer", "median (ms)", "IQR (ms)", "peak memory (MiB)", "time / stats",
            "memory / stats", "time / SpeechBrain", "memory / SpeechBrain"],
           [[name, f"{r['time_median_s'] * 1e3:.0f}", f"{r['time_iqr_s'] * 1e3:.0f}",
             fmt(r["peak_memory_bytes"] and r["peak_memory_bytes"] / 2**20, ".0f"),
             fmt(r["time_vs_stats"], ".2f"), fmt(r["memory_vs_stats"], ".2f"),
             fmt(r["time_vs_speechbrain"], ".2f"), fmt(r["memory_vs_speechbrain"], ".2f")]
            for name, r in headline["rows"].items()])
rows_h = headline["rows"]
glue("h_stats_mib", rows_h["stats"]["peak_memory_bytes"] / 2**20)
glue("h_input_mib", 32 * 1536 * 300 * 4 / 2**20)
glue("h_cgc_mib", rows_h["asp-ecapa-gc"]["peak_memory_bytes"] / 2**20)
fwd_rates = [r["forward_bytes_per_s"] / 1e9 for r in rows_h.values() if r.get("forward_bytes_per_s")]
glue("cpu_fwd_min", min(fwd_rates) if fwd_rates else float("nan"))
glue("cpu_fwd_max", max(fwd_rates) if fwd_rates else float("nan"))
sb_bytes = rows_h.get("speechbrain-asp-gc", {}).get("peak_memory_bytes")
glue("h_sb_mib", sb_bytes / 2**20 if sb_bytes else float("nan"))

# %% [markdown]
# *Table: one forward+backward step at $B = 32$, $C = 1536$, $T = 300$, float32, on the
# recorded CPU (peak memory: beyond the input and the parameters).*
#
# For scale: the input $h$ alone is {glue:text}`h_input_mib:.0f` MiB. Statistics pooling
# allocates {glue:text}`h_stats_mib:.0f` MiB in its step, the gradient of $h$ and little
# else. `asp_lab`'s channel-wise ASP with global context, in SpeechBrain's scoring order,
# allocates {glue:text}`h_cgc_mib:.0f` MiB, SpeechBrain's layer, the same function, {glue:text}`h_sb_mib:.0f` MiB. Every
# full-size tensor alive at the peak is another copy of $h$. Three ratios sum it up:

# %% tags=["remove-input"]
show_table(["ratio", "of the medians", "paired"],
           [[t["target"], fmt(t["ratio"], ".2f"), fmt(t.get("ratio_paired"), ".2f")]
            for t in rec["targets"]])
tg = {(t["layer"], t["quantity"]): t["ratio"] for t in rec["targets"]}
glue("t_cgc_sb", tg["asp-ecapa-gc", "time"] or float("nan"))
glue("m_cgc_sb", tg["asp-ecapa-gc", "memory"] or float("nan"))
glue("t_scalar_stats", tg["asp-scalar", "time"] or float("nan"))

# %% [markdown]
# *Table: three ratios at the same size (ratio of the medians; paired: the median of the
# ratios within each round).*
#
# `asp_lab`'s channel-wise ASP with global context in SpeechBrain's scoring order, the same
# function as SpeechBrain's layer, takes {glue:text}`t_cgc_sb:.2f` times its time, and {glue:text}`m_cgc_sb:.2f` times its memory. Scalar ASP takes
# {glue:text}`t_scalar_stats:.1f` times the time of statistics pooling ("Going further"
# explains why). The same ratios at every recorded size:

# %% tags=["remove-input"]
show_table(["size (B, C, T)", "ECAPA order + context / SpeechBrain: time", "(paired)",
            "memory", "scalar / stats: time", "(paired)", "channel / post's block: time",
            "memory"],
           [[f"{r['B']}, {r['C']}, {r['T']}",
             fmt(r["rows"]["asp-ecapa-gc"]["time_vs_speechbrain"], ".2f"),
             fmt(r["rows"]["asp-ecapa-gc"]["time_vs_speechbrain_paired"], ".2f"),
             fmt(r["rows"]["asp-ecapa-gc"]["memory_vs_speechbrain"], ".2f"),
             fmt(r["rows"]["asp-scalar"]["time_vs_stats"], ".2f"),
             fmt(r["rows"]["asp-scalar"]["time_vs_stats_paired"], ".2f"),
             f"{r['rows']['asp-channel']['time_median_s'] / r['rows']['blog-asp']['time_median_s']:.2f}",
             f"{r['rows']['asp-channel']['peak_memory_bytes'] / r['rows']['blog-asp']['peak_memory_bytes']:.2f}"]
            for r in rec["results"]])
scalar_ratios = [r["rows"]["asp-scalar"]["time_vs_stats"] for r in rec["results"]]
glue("scalar_stats_min", min(scalar_ratios))
glue("scalar_stats_max", max(scalar_ratios))
blog_ratios = [r["rows"]["asp-channel"]["time_median_s"] / r["rows"]["blog-asp"]["time_median_s"]
               for r in rec["results"]]
glue("chan_blog_min", min(blog_ratios))
glue("chan_blog_max", max(blog_ratios))

# %% [markdown]
# *Table: the same ratios at every recorded size, and `asp_lab`'s channel-wise layer
# without context against the post's block, which computes the same function.*
#
# ## 7. GPU figures
#
# ```{admonition} No GPU figures recorded yet
# :class: warning
# The book was built on a CPU, and no GPU benchmark has been recorded, so this page shows
# no GPU measurement. The live cells above give your GPU's numbers when you run them on
# one.
# ```
#
# To record them, open this notebook on Colab with a GPU (section 8) or use any CUDA
# machine with the repository, and run `make bench-gpu`. It writes
# `benchmarks/cuda-<gpu>-<date>.json` files (float32 and bfloat16, and a training run's
# steps per second). The cell below lists whatever GPU results exist, each named by its GPU
# and date:

# %% tags=["remove-input"]
gpu_files = bench.recorded("cuda-*.json")
if not gpu_files:
    print("no GPU results recorded in benchmarks/ yet")
for path in gpu_files:
    result = json.loads(path.read_text())
    print(f"== {path.name}: {result['machine'].get('gpu')}, {result['settings']['dtype']}")
    print(bench.table(result))
for path in bench.recorded("train-cuda-*.json"):  # make bench-gpu's training run
    run_gpu = json.loads(path.read_text())
    print(f"== {path.name}: {run_gpu['device']}, {run_gpu['amp']} autocast, "
          f"{run_gpu['workers']} workers: {run_gpu['steps_per_second']:.1f} steps/s")

# %% [markdown]
# ## 8. Running the book on Colab
#
# Every chapter is a notebook that also runs on Google Colab, with a free GPU when one is
# available:
#
# 1. On a chapter's page, open the launch menu (the rocket icon at the top) and choose
#    **Colab**: Colab opens this chapter's `.ipynb` from the repository.
# 2. In Colab, choose **Runtime > Change runtime type**, pick a **GPU** as the hardware
#    accelerator, and save.
# 3. Run the first cell. It clones the repository (the code and `data/`), installs
#    `asp_lab` from it without touching the packages Colab ships (its CUDA build of
#    PyTorch among them), and prints the GPU it found. In the book that cell is hidden.
# 4. Run the rest (**Runtime > Run all**). Section 1 then prints `cuda`, and every cell
#    that uses `device` runs on the GPU, the `torch.compile` cell and the training demo
#    included.
#
# The widgets of chapters 2 and 6 run on Colab's own ipywidgets 7. Colab's file-upload
# widget drops files of about 1 MB and more without a word, so on Colab the "your
# recording" button of chapter 6 opens Colab's own upload dialog instead.
#
# ## What to remember
#
# - Put the model and every batch on one device; on a GPU, synchronise before reading a
#   clock, and remember that every check of a value makes the CPU wait.
# - Under autocast, keep the pooling's statistics in float32 and in two passes: the
#   one-pass variance turns tiny rounding errors into wrong standard deviations.
# - Benchmark layers in turns on the same input, report medians with their spread, and
#   count memory as the peak of what tensors hold.
# - Building a $(B, 3C, T)$ concatenation for global context costs time and memory;
#   `asp_lab` adds the same term as a $(B, A)$ vector instead.
# - A number measured on one device says little about another: measure yours, and label
#   every recorded figure with its device and date.
#
# ## Going further
#
# *What made `asp_lab`'s layer fast, for readers who write their own; nothing else in the
# book depends on it.*
#
# What the layer computes is fixed by the tests of `asp_lab.pooling` (uniform weights,
# padding, permutation, the numerics of chapter 4). How fast it computes it depends on how
# many times it walks over a $(B, C, T)$ tensor and how many such tensors it keeps:
#
# 1. **One check, a sum** (section 2), instead of a mask per step.
# 2. **The module calls the steps without their checks**, and sets the padding to zero
#    only when there is padding.
# 3. **Sums as `einsum`**: $\sum_t \alpha_t h_t$ written as
#    `torch.einsum("bct,bt->bc", h, alpha)` is a batched dot product, computed without the
#    product `alpha * h` as a $(B, C, T)$ tensor in memory.
# 4. **Products as convolutions**: $W h_t + b$ at every frame is a convolution with kernel
#    size 1, which is how ECAPA-TDNN writes it (`nn.Conv1d`).
# 5. **A hand-written backward for the moments.** Autograd keeps what each operation needs
#    for its own backward; for the two-pass variance that is the deviations $h_t - \mu$ and
#    their squares, two more copies of $h$. Yet the derivatives are short when the weights
#    sum to one:
#
#    $$\frac{\partial \mu}{\partial h_t} = \alpha_t, \quad
#      \frac{\partial \sigma^2}{\partial h_t} = 2 \alpha_t (h_t - \mu), \quad
#      \frac{\partial \mu}{\partial \alpha_t} = h_t, \quad
#      \frac{\partial \sigma^2}{\partial \alpha_t} = (h_t - \mu)^2,$$
#
#    and $\partial\sigma/\partial\sigma^2 = 1/(2\sigma)$. (The derivatives of $\sigma^2$
#    also have a path through $\mu$, which adds multiples of $\sum_s \alpha_s (h_s - \mu)$;
#    that is zero when the weights sum to one.) So `asp_lab`'s moments, an
#    `autograd.Function` in `asp_lab/pooling/fast.py`, keep only $h$, $\alpha$, $\mu$ and
#    $\sigma$, and the backward recomputes $h_t - \mu$ with one subtraction. The tests
#    compare its gradients with autograd's and with finite differences.
#
# What each way of writing the moments keeps for the backward, beyond its inputs, counted
# with `torch.autograd.graph.saved_tensors_hooks`:

# %% tags=["remove-input"]
def kept_for_backward(moments, h: torch.Tensor, alpha: torch.Tensor) -> int:
    """Bytes of the tensors `moments(h, alpha)` saves for its backward, inputs excluded."""
    kept = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        moments(h, alpha)
    for t in (h, alpha):
        kept.pop(t.untyped_storage().data_ptr(), None)
    return sum(kept.values())


def moments_by_autograd(h: torch.Tensor, alpha: torch.Tensor):
    """The two-pass moments as plain tensor arithmetic, for autograd to differentiate."""
    w = alpha if alpha.dim() == 3 else alpha[:, None, :]
    mu = (w * h).sum(dim=-1)
    var = (w * (h - mu[:, :, None]).square()).sum(dim=-1)
    return mu, var.clamp(min=pooling.VAR_FLOOR).sqrt()


h_k = torch.randn(8, 256, 200, requires_grad=True)
kept_rows = []
for kind, shape in (("one weight per frame", (8, 200)), ("per frame and channel", (8, 256, 200))):
    alpha_k = torch.softmax(torch.randn(*shape), dim=-1).requires_grad_(True)
    kept_rows.append([kind] + [f"{kept_for_backward(fn, h_k, alpha_k) / h_k.nbytes:.2f}"
                               for fn in (moments_by_autograd, pooling.fast.moments)])
show_table(["weights", "autograd (copies of h)", "hand-written backward (copies of h)"],
           kept_rows)

# %% [markdown]
# *Table: memory kept from the forward for the backward by the weighted moments, in copies
# of $h$ ($B = 8$, $C = 256$, $T = 200$).*
#
# And the products of item 4, written both ways and timed now in turns:

# %% tags=["remove-input"]
h_p = torch.randn(32, 512, 300, device=device, requires_grad=True)
W_p = torch.randn(128, 512, device=device, requires_grad=True)
b_p = torch.zeros(128, device=device, requires_grad=True)


def product_step(product) -> Callable[[], None]:
    def step() -> None:
        h_p.grad = W_p.grad = b_p.grad = None
        product().sum().backward()
    return step


t_prod = bench.time_steps(
    {"matmul": product_step(lambda: torch.matmul(W_p, h_p) + b_p[:, None]),
     "conv1d": product_step(lambda: torch.nn.functional.conv1d(h_p, W_p[:, :, None], b_p))},
    device, repeats=7, warmup=1)
t_mm, t_conv = min(t_prod["matmul"]), min(t_prod["conv1d"])
print(f"matmul + bias {t_mm * 1e3:.1f} ms, conv1d {t_conv * 1e3:.1f} ms")
glue("mm_vs_conv", t_mm / t_conv)

# %% [markdown]
# Here `torch.matmul(W, h) + b[:, None]` took {glue:text}`mm_vs_conv:.1f` times as long as
# the convolution (a live timing; on a GPU both call the same kind of matrix kernel, and
# the difference may vanish).
#
# **Why scalar ASP costs more than twice statistics pooling.** Scalar ASP does all that
# statistics pooling does (the same two sums, with weights $\alpha_t$ in place of $1/T$)
# and, on top, the scores, whose cost is three matrix products with $W$: $W h_t$ for every
# frame in the forward, and in the backward the gradients for $W$ and for $h$, each
# $2 B A C T$ floating-point operations. Timed now, at the headline size:

# %% tags=["remove-input"]
Bh, Ch, Th = bench.HEADLINE
A_h = 128
h_big = torch.randn(Bh, Ch, Th, device=device, requires_grad=True)
stats_big = pooling.StatisticsPooling()
scalar_big = pooling.AttentiveStatisticsPooling(Ch, A_h).to(device)


def products_only() -> None:
    """Forward and backward of W h_t at every frame: the three products, nothing else."""
    h_big.grad, scalar_big.W.grad = None, None
    torch.nn.functional.conv1d(h_big, scalar_big.W[:, :, None]).sum().backward()


t_parts = bench.time_steps({"stats": bench._step(stats_big, h_big),
                            "asp-scalar": bench._step(scalar_big, h_big),
                            "products": products_only}, device, repeats=7, warmup=1)
t_s, t_a, t_p = (min(t_parts[k]) for k in ("stats", "asp-scalar", "products"))
flops = 3 * 2 * Bh * A_h * Ch * Th
print(f"statistics pooling {t_s * 1e3:.0f} ms, scalar ASP {t_a * 1e3:.0f} ms, "
      f"the products alone {t_p * 1e3:.0f} ms ({flops / t_p / 1e9:.0f} GFLOP/s)")
glue("p_gflop", flops / 1e9)
glue("p_rate", flops / t_p / 1e9)
glue("p_stats_ms", t_s * 1e3)
glue("p_asp_ms", t_a * 1e3)
glue("p_prod_ms", t_p * 1e3)
glue("p_sum_share", (t_s + t_p) / t_a)
glue("p_floor", (t_s + t_p) / t_s)
glue("p_prod_vs_stats", t_p / t_s)  # a live timing: quoted, never asserted

# %% [markdown]
# The three products took {glue:text}`p_prod_vs_stats:.1f` times as long as statistics
# pooling. Statistics pooling reads and writes $h$ a few times and does no products, so
# however the scores are written, scalar ASP cannot take less than 1 + products /
# statistics pooling times as long: {glue:text}`p_floor:.1f` in this timing. On a GPU,
# where products are far cheaper per byte moved, the ratio will differ.
#
# ## Exercises

# %% tags=["remove-cell"]
# Values quoted in the exercise solutions.
sizes_ex = (32, 1536, 300)
Bx, Cx, Tx = sizes_ex
glue("ex_concat_mib", Bx * 3 * Cx * Tx * 4 / 2**20)
glue("ex_repeat_mib", 2 * Bx * Cx * Tx * 4 / 2**20)
glue("ex_context_kib", Bx * 128 * 4 / 2**10)

# %% [markdown]
# 1. **Timing without synchronising.** Remove the two `torch.cuda.synchronize()` calls
#    from a GPU timing loop of a forward pass. What does the clock measure now, and why
#    can the *next* timed call look slow?
#
# ```{admonition} Solution
# :class: dropdown
# Without synchronising, `time.perf_counter()` after the call measures only how long
# Python took to *queue* the kernels, typically tens of microseconds whatever the size.
# The kernels run later. The queue has a limited depth, and any operation that needs a
# value (`.item()`, a check such as `if bad.any()`) waits for everything queued before
# it, so the cost of earlier calls shows up in whichever later call happens to wait. A
# benchmark must synchronise before both clock reads, as `asp_lab.bench.time_steps`
# does (its tests check the order of the calls with a mocked `torch.cuda`).
# ```
#
# 2. **What concatenation costs.** At $B = 32$, $C = 1536$, $T = 300$ in float32, how much
#    memory do SpeechBrain's repeated mean and standard deviation and its concatenated
#    $[h_t; \mu; \sigma]$ take, and how much does `asp_lab`'s context term
#    $W_\mu \mu + W_\sigma \sigma$ take with 128 attention channels?
#
# ```{admonition} Solution
# :class: dropdown
# The repeated mean and standard deviation are two $(B, C, T)$ tensors,
# {glue:text}`ex_repeat_mib:.0f` MiB, and the concatenation a $(B, 3C, T)$ one,
# {glue:text}`ex_concat_mib:.0f` MiB, which the convolution keeps for its backward.
# `asp_lab` adds a $(B, A)$ term, {glue:text}`ex_context_kib:.0f` KiB, broadcast over
# time inside the sum $W_h h_t + b + \text{context}$: the same numbers, since
# $W [h_t; \mu; \sigma] = W_h h_t + W_\mu \mu + W_\sigma \sigma$. In section 6,
# SpeechBrain's layer allocated {glue:text}`h_sb_mib:.0f` MiB in its step and `asp_lab`'s
# {glue:text}`h_cgc_mib:.0f` MiB: the concatenation is part of the difference, and the
# rest is what each keeps for its backward (autograd saves what SpeechBrain's moments
# compute; `asp_lab`'s moments have the hand-written backward of "Going further").
# ```
#
# 3. **bfloat16 all the way.** Run `bench.run([(8, 256, 100)], dtype="bfloat16",
#    repeats=2)` and read `skipped`. Which layer cannot run with bfloat16 parameters and
#    inputs, and why?
#
# ```{admonition} Solution
# :class: dropdown
# SpeechBrain's layer with global context (`speechbrain-asp-gc`). It builds its padding
# mask from `lengths` in float32 and multiplies it into the statistics, so the mean and
# standard deviation of the global context come out in float32 while `h` is bfloat16;
# `torch.cat` promotes the concatenation to float32, and the bfloat16 convolution then
# refuses a float32 input. SpeechBrain issue #2544 reports this dtype mismatch for
# float16 and bfloat16 training. `asp_lab` casts the context to the parameters' dtype and
# accumulates its moments in float32 internally, returning `h`'s dtype, so its layers
# run in either format. The skip reason in `skipped` gives the exact error. (Where
# SpeechBrain is not installed, both of its rows are skipped for that reason instead:
# `make bench-deps` installs it.)
# ```
