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
# Everything so far ran on a CPU, and so did the build of this book: a machine with two
# cores and no GPU. This chapter is about moving the pooling layer, and a model around it,
# to faster hardware, and about what to measure once it is there:
#
# 1. choosing the device in code (CUDA, Apple's MPS, or the CPU);
# 2. moving the model and each batch to it, and what a GPU's asynchrony means for timing
#    and for checks;
# 3. mixed precision (`torch.autocast`), and what [chapter 4](04_numerics.ipynb) found about
#    half precision inside a pooling layer;
# 4. `torch.compile`;
# 5. training a model on a GPU: `asp-lab train --device cuda`, with mixed precision,
#    `DataLoader` workers and `torch.compile`;
# 6. a benchmark of pooling layers, ours and the field's: forward+backward time and peak
#    memory, recorded on the machine that built the book, what made `asp_lab`'s layer
#    fast, plus a small live run;
# 7. the GPU figures, which are **not measured yet**: what they will be and the one
#    command that produces them;
# 8. how to run every chapter of the book on Colab with a GPU.
#
# Except for section 5, its inputs are random frames of the shapes an ECAPA-TDNN pooling
# layer sees {cite:p}`desplanques2020ecapa`. Section 5 trains briefly on the book's data:
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
import copy
import json
import time
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown

from asp_lab import analysis, bench, blog, pooling, train, viz

glue = viz.glue  # stores the values the text quotes (nothing outside the book)


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book


_ = torch.manual_seed(0)

# %% [markdown]
# ## 1. Choosing the device
#
# PyTorch runs a tensor's operations where the tensor lives. The usual choice, in this
# order: an NVIDIA GPU (`cuda`), Apple silicon's GPU (`mps`), else the CPU.
# `asp_lab.bench.resolve_device("auto")` does exactly this; written out:

# %%
if torch.cuda.is_available():
    device = torch.device("cuda")
elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")
assert device == bench.resolve_device("auto")
print("device:", device)
if device.type == "cuda":
    print("GPU:", torch.cuda.get_device_name(device))
print("torch", torch.__version__, "with", torch.get_num_threads(), "CPU threads")

# %% [markdown]
# In the book build this prints `cpu`. Everything below runs on whatever it found, so the
# same notebook on Colab with a GPU runs on the GPU.
#
# ## 2. Moving the model and the batch
#
# A module's parameters and every tensor it meets must be on the same device. Move the
# model once, and each batch as it arrives; `lengths` is a tensor too and goes along.
# With `pin_memory=True` in the `DataLoader`, `non_blocking=True` lets the copy to the
# GPU overlap with work already queued there.

# %%
B, C, T = 8, 256, 200
layer = pooling.AttentiveStatisticsPooling(C, attention_channels=64, mode="channel",
                                           global_context=True).to(device)
h = torch.randn(B, C, T)  # as a DataLoader would hand it over: on the CPU
lengths = torch.randint(T // 2, T + 1, (B,))
h, lengths = h.to(device, non_blocking=True), lengths.to(device, non_blocking=True)
pooled = layer(h, lengths=lengths)
print(tuple(pooled.shape), pooled.device, pooled.dtype)

# %% [markdown]
# A GPU runs kernels *asynchronously*: a call returns as soon as its kernel is queued.
# The CPU waits only when it needs a value, for `.item()`, `.cpu()`, `print`, or a Python
# `if` on a tensor. That matters for two things in this chapter. A timer must call
# `torch.cuda.synchronize()` before reading the clock, or it times the queueing and not the
# work (`asp_lab.bench` does; its tests check it). And every check that looks at a value,
# such as `asp_lab`'s refusal of NaN or infinite frames (`if ...: raise ...`), makes
# the CPU wait for the GPU at that point, and costs at least one pass over the data. How
# often the layer checks, and what a check costs, on this CPU:

# %%
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
# The forward of `AttentiveStatisticsPooling(mode="channel", global_context=True)`
# checks its frames once, on entry (`asp_lab.pooling.layers.prepare`), and then runs the
# three steps on their unchecked fast path, `asp_lab.pooling.fast` (the public
# `attention_scores`, `attention_weights` and `weighted_moments` of `asp_lab.pooling.steps`
# check their own inputs, since anyone may call them with anything). The check is a sum: a single NaN
# or infinity makes the sum NaN or infinite, so `torch.isfinite(h.sum())` answers "is
# every value finite?" with one read of $h$ and no copy. Only when the answer is no does
# `asp_lab` build the boolean mask that finds the first bad value for the error message.
# The sum took {glue:text}`check_ms:.2f` ms here, {glue:text}`check_share:.1%` of a
# forward+backward step; the mask, `torch.isfinite(h).all()`, took
# {glue:text}`mask_vs_sum:.0f` times as long (fastest of nine runs each, on a shared
# two-core machine, so the figures move from build to build). On a GPU the `if` still
# makes the CPU wait for the GPU once per forward; with `lengths`, checking them and
# asking whether any row is padded add two more waits. Section 6 shows what the layer
# cost before, when each step checked its input again, with the mask.
#
# ## 3. Mixed precision
#
# `torch.autocast` runs chosen operations (matrix products and convolutions above all)
# in a 16-bit format and keeps the rest in float32. Two formats exist:
#
# - **bfloat16**: float32's exponent range with {glue:text}`bf16_bits` significant bits.
#   Small gradients do not underflow where float32's would not, so no loss scaling is
#   needed. CUDA GPUs from the Ampere generation on support it natively
#   (`torch.cuda.is_bf16_supported(including_emulation=False)`; without that argument,
#   older GPUs such as Colab's T4 also answer yes, by emulating it slowly), and PyTorch
#   supports it on CPUs.
# - **float16**: {glue:text}`fp16_bits` significant bits but a largest value of
#   {glue:text}`fp16_max:.0f`. Small gradients underflow to zero, so training multiplies
#   the loss by a large factor first and divides the gradients back:
#   `torch.amp.GradScaler`.
#
# The policy that follows (and that `asp_lab.train` uses): bfloat16 where the GPU supports
# it, else float16 with a `GradScaler`, and no autocast on the CPU when speed is the goal.
# One training step then reads:

# %%
def amp_setup(device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether to use a GradScaler)."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return torch.bfloat16, False
        return torch.float16, True
    return None, False


for name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
    glue(f"{name}_bits", round(1 - np.log2(torch.finfo(dt).eps)))  # eps = 2^(1 - bits)
glue("fp16_max", torch.finfo(torch.float16).max)
step_time = json.loads((analysis.CHECKPOINT_DIR / "results.json").read_text())["step_time"]
glue("ch5_step_ratio", step_time["ratio_vs_stats_model"]["asp-channel"])

amp_dtype, use_scaler = amp_setup(device)
print("autocast dtype:", amp_dtype, "| GradScaler:", use_scaler)

model = torch.nn.Sequential(torch.nn.Conv1d(40, C, 5), torch.nn.ReLU(),
                            pooling.AttentiveStatisticsPooling(C, 64, mode="channel"),
                            torch.nn.Linear(2 * C, 10)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)
features, labels = torch.randn(B, 40, T, device=device), torch.randint(0, 10, (B,), device=device)

with torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
    loss = torch.nn.functional.cross_entropy(model(features), labels)
optimizer.zero_grad(set_to_none=True)
scaler.scale(loss).backward()  # with the scaler disabled this is loss.backward()
scaler.step(optimizer)
scaler.update()
print(f"loss {loss.item():.3f}")

# %% [markdown]
# What happens to the pooling layer inside autocast? [Chapter 4](04_numerics.ipynb)
# measured the layers converted whole to float16 and bfloat16 and concluded: compute the
# standard deviation in two passes, never as $E[x^2] - \mu^2$; accumulate the moments in
# float32 (`asp_lab` upcasts half-precision frames and weights); and compute the attention
# scores in float32, or normalise what reaches the layer, because scores rounded to
# {glue:text}`bf16_bits` bits move the weights when the frames have a large mean. Autocast is
# milder than a whole conversion, as long as the frames `h` reach the layer in float32, as
# in the tests below: only the products become 16-bit. Inside a network under autocast,
# `h` usually comes out of a convolution already in 16 bits, and then the frames
# themselves are rounded, chapter 4's case.
#
# On a CPU, `torch.autocast("cpu")` uses **bfloat16** by default, and accepts float16 as
# well, so this build can measure both (the GPU's kernels differ, the rounding to 16 bits
# does not). The next cell pools the same frames in float32 and under bfloat16 autocast
# and compares the pooled vectors, for frames of zero mean ($m/s = 0$, spread $s$ = 1)
# and frames with a mean of 100 ($m/s = 100$, the large-offset regime of chapter 4).

# %%
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
# *Table: median error of the pooled mean and standard deviation under bfloat16 autocast
# on the CPU, against the same block in float64, in units of the true standard deviation
# (4 utterances, 64 channels, 300 frames).*
#
# At $m/s = 0$ bfloat16 products do little harm: every block's mean and standard
# deviation stay within {glue:text}`amp_worst_s1:.1e` of the spread (`asp_lab`'s
# channel-wise layer with context: {glue:text}`amp_ours_s1:.1e` in $\sigma$). At
# $m/s = 100$ that layer is {glue:text}`amp_ours_s100:.1e` off and the post's block
# {glue:text}`amp_post_s100:.1e`, that is, wrong. Chapter 4's effects again: the scores
# rounded to {glue:text}`bf16_bits` bits move the weights in every block; and in the post's block the softmax itself runs in bfloat16
# (its input is the bfloat16 output of a convolution), so its weights sum to one only up
# to {glue:text}`amp_post_wsum:.1e`, and the one-pass variance turns such an error
# $\delta$ into an error of order $\delta\,m^2$ in $\sigma^2$. WeSpeaker's ASTP has the
# same one-pass variance. `asp_lab` computes its weights in float32 and its moments in
# two passes; its output keeps the dtype of `h`.
#
# float16 autocast is what a GPU without bfloat16 (a T4, a V100) trains with. The same
# comparison with float16:

# %%
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
# *Table: as the previous one, under float16 autocast on the CPU.*
#
# float16 keeps {glue:text}`fp16_bits` significant bits to bfloat16's
# {glue:text}`bf16_bits`, and every error shrinks: `asp_lab`'s channel-wise layer with
# context is {glue:text}`fp16_ours_s100:.1e` off in $\sigma$ at $m/s = 100$,
# {glue:text}`fp16_gain_ours:.0f` times less than under bfloat16. The post's block is still
# {glue:text}`fp16_post_s100:.1%` off: the one-pass variance amplifies whatever error the
# weights carry. In training, float16 adds risks this test does not reach: a value above
# {glue:text}`fp16_max:,.0f` overflows to infinity, and small gradients underflow to zero.
# That is what the gradient scaler in the training step above is for: it multiplies the loss before the backward
# pass, so that gradients stay representable, divides them again before the update, and
# skips a step whose gradients overflowed.
#
# ```{admonition} Practice
# :class: tip
# Keep the pooling layer's inputs normalised (a batch norm right before it, as ECAPA-TDNN
# has) when training under autocast; or keep the pooling, and the layer that makes its
# frames, in float32 by wrapping them in `torch.autocast(device.type, enabled=False)`
# (`h.float()` alone restores the dtype, not the bits a 16-bit convolution dropped). In
# chapter 5's network a whole training step with channel-wise ASP took
# {glue:text}`ch5_step_ratio:.2f` times as long as with statistics pooling, so the pooling
# is a modest part of the step, and float32 there costs little.
# ```
#
# ## 4. `torch.compile`
#
# `torch.compile(module)` traces the forward into a graph and generates fused kernels
# for it (Triton on a GPU, C++ on a CPU). The elementwise passes of the moments are the
# kind of work it fuses: several reads and writes of a `(B, C, T)` tensor become one.
# Two things limit it here. Compiling takes time: at the first call, and again when the
# input's shape changes (after the first change, PyTorch marks that dimension dynamic and
# compiles a version for any size, which matters for training crops of varying length).
# And it cannot trace a Python `if` on a tensor's value: `asp_lab`'s finiteness check
# (`if not torch.isfinite(h.sum()): ...`, section 2) splits the graph in two, and the
# pieces are compiled separately; with `lengths`, the checks of the lengths add more
# breaks.
#
# Compiling costs a two-core machine more build time than this chapter can spare, so the
# build skips the cell below: `RUN_COMPILE` is `True` only on a GPU. On your own machine,
# set it to `True`: it compiles the layer, checks that it computes the same vector, and
# times both.

# %%
RUN_COMPILE = device.type == "cuda"  # the book's CPU build: False

if RUN_COMPILE:
    eager = pooling.AttentiveStatisticsPooling(C, 128, mode="channel",
                                               global_context=True).to(device)
    compiled = torch.compile(eager)
    h_c = torch.randn(32, C, 300, device=device)
    with torch.no_grad():  # compile, compare and time in the same mode
        start = time.perf_counter()
        out_c = compiled(h_c)  # the first call compiles
        bench._synchronize(device)
        print(f"first call (compiling): {time.perf_counter() - start:.1f} s")
        print("largest difference to eager:", (out_c - eager(h_c)).abs().max().item())
        print(f"eager {median_time(lambda: eager(h_c)) * 1e3:.2f} ms, "
              f"compiled {median_time(lambda: compiled(h_c)) * 1e3:.2f} ms per forward")
else:
    print("torch.compile skipped in this build (set RUN_COMPILE = True to run it)")

# %% [markdown]
# ## 5. Training a model on a GPU
#
# `asp-lab train` (chapter 5) takes the device as an option. On a GPU:
#
# ```bash
# asp-lab train --pooling asp-channel --device cuda --workers 4 --compile --out runs/
# ```
#
# - `--device cuda` moves the network, the log-mel front end and each batch to the GPU
#   (section 2).
# - Mixed precision follows `asp_lab.train.amp_policy` (section 3): bfloat16 autocast
#   where the GPU supports it; otherwise float16, with a gradient scaler that multiplies
#   the loss before the backward pass, divides the gradients after it, and skips a step
#   whose gradients overflowed. On the CPU, training stays in float32.
# - `--workers N` starts `N` `DataLoader` processes that cut and mix the next batches
#   while the model trains on the current one. A batch depends on the seed and the step
#   alone (`asp_lab.train.draw_batch`), so the workers hand over exactly the batches the
#   training loop would draw itself, and the trained weights are the same; a test checks
#   it.
# - `--compile` passes the model through `torch.compile` (section 4). The first steps are
#   slow while it compiles; a test checks that the compiled model computes the same
#   losses.
#
# Each run's provenance file (chapter 5) records the device, the precision, the workers,
# compilation and the steps per second. A short run of chapter 5's recipe here, with no
# worker and with one, and one thread for the model, so that a worker has a core of its
# own:

# %%
cfg_live = train.TrainConfig(pooling="asp-channel", steps=60)
rate = {}
for n_workers in (0, 1):
    run = train.train(cfg_live, device=str(device), workers=n_workers, progress=False,
                      threads=1)
    rate[n_workers] = run["provenance"]["steps_per_second"]
    print(f"workers={n_workers}: {rate[n_workers]:.1f} steps/s on {run['provenance']['device']}"
          f" ({run['provenance']['amp']} autocast)")
glue("train_rate_0", rate[0])
glue("train_rate_1", rate[1])
if rate[1] > 1.05 * rate[0]:
    worker_effect = "The worker helped: drawing the batches had held the loop up."
elif rate[1] < 0.95 * rate[0]:
    worker_effect = ("The worker cost more than it saved: on these cores, sharing the work "
                     "outweighed what drawing the batches had held the loop up.")
else:
    worker_effect = ("The worker made no difference: drawing a batch did not hold the loop "
                     "up.")
glue("worker_effect", Markdown(worker_effect))
glue("train_cores", os.cpu_count())
glue("train_batch", cfg_live.batch_size)

# %% [markdown]
# Here, on {glue:text}`train_cores` CPU cores, one step (a batch of
# {glue:text}`train_batch` crops, forward, backward and update) ran at
# {glue:text}`train_rate_0:.1f` steps per second with no worker and
# {glue:text}`train_rate_1:.1f` with one. {glue:md}`worker_effect` A worker pays off only
# as far as drawing the batches holds the loop up, which it does more on a GPU, where the
# model's step is fast and the CPU cores are free for the workers. Steps per second on a
# GPU are not measured yet (section 7). (The printed losses rise in these few steps: the
# margin of the loss is being phased in, as in chapter 5.)

# %% [markdown]
# ## 6. The benchmark
#
# `asp-lab bench` times one training step of a pooling layer, `layer(h)` then
# `.sum().backward()`, on the same input `h` of shape $(B, C, T)$ for every layer, and
# measures the memory the step allocates beyond the input and the parameters. The layers:
#
# - `stats`: statistics pooling {cite:p}`snyder2018xvectors`, the baseline of every ratio;
# - `asp-scalar` and `asp-channel`, with `-gc` for global context: `asp_lab`'s
#   `AttentiveStatisticsPooling`, one weight per frame {cite:p}`okabe2018attentive` or
#   per frame and channel {cite:p}`desplanques2020ecapa`. Global context is computed as
#   $W_h h_t + (W_\mu \mu + W_\sigma \sigma)$, the second term once per utterance;
# - `blog-asp`: the post's block (channel-wise, no global context, one-pass variance);
# - `wespeaker-astp` (`-gc`): WeSpeaker's `ASTP`, re-implemented in `asp_lab.bench`
#   from its source (`wespeaker/models/pooling_layers.py`): global context by
#   concatenating $[h_t; \mu; \sigma]$ into a $(B, 3C, T)$ tensor, $\tanh$ scoring,
#   $E[x^2]-\mu^2$ clamped at $10^{-7}$;
# - `speechbrain-asp` (`-gc`): SpeechBrain's `AttentiveStatisticsPooling` (ECAPA-TDNN),
#   if installed (`make bench-deps`): concatenation too, with the mean and standard
#   deviation repeated over time, a TDNN block (convolution, ReLU, batch norm) and
#   $\tanh$ before the scores, two-pass moments. Its `-gc` form is the reference of
#   "vs SpeechBrain" for the layers with global context, the plain form for the others.
#
# **Time**: the median over the repeated steps after a warm-up, with the interquartile
# range (IQR). The layers take turns, one step each, so that a burst of load from
# another program slows all of them alike. On a GPU the clock is read after
# `torch.cuda.synchronize()`. **Memory**: on a GPU, `torch.cuda.max_memory_allocated()`
# after `reset_peak_memory_stats()`, less what was allocated before the step. A CPU has no
# such counter, so the step runs once under `torch.profiler` with `profile_memory=True`,
# which logs every allocation and free of PyTorch's CPU allocator; the peak of their
# running sum is the figure. Either way it counts bytes held by tensors, including the
# gradients, not what the operating system reports.
#
# The full grid of sizes and layers takes several minutes on this machine, too long for a
# book build, so the book does not rerun it: it loads the results recorded with
# `asp-lab bench --out benchmarks/cpu-<date>.json --plot benchmarks/cpu-<date>.png`.

# %%
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

# %% mystnb={"image": {"alt": "Horizontal bar charts, one per input size, of the median forward+backward time of each pooling layer on a log scale, with interquartile ranges."}}
fig = bench.plot(rec)
plt.show()

# %% [markdown]
# *Figure 1. Median time of one forward+backward step per layer and input size on the
# machine that built the book (log scale; the whiskers span the interquartile range; the
# label is the time over statistics pooling's). Grey: statistics pooling; blue:
# `asp_lab`; orange: the post's block; green: WeSpeaker's ASTP; pink: SpeechBrain's
# layer. What to see: SpeechBrain's layer with global context is the slowest at every
# size, and the layers that build a $(B, 3C, T)$ concatenation for global context
# (SpeechBrain's, WeSpeaker's) are the slowest pair.*
#
# The machine is shared: {glue:text}`rec_threads` threads, with a load average of
# {glue:text}`rec_load:.1f` when the run started; other programs may widen the whiskers. Times do not scale simply with the size either (caches, the memory allocator):
# statistics pooling took {glue:text}`slow_regime:.1f` times as long at $T = 300$ as at
# $T = 200$, for {glue:text}`frames_ratio:.1f` times the frames. Ratios between layers of the same run are
# steadier than the times, since the layers took turns; the "paired" ratios below go one
# step further and take the median of the ratios within each round. At ECAPA-TDNN's size,
# $B = 32$, $C = 1536$, $T = 300$:

# %%
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
glue("h_cgc_mib", rows_h["asp-channel-gc"]["peak_memory_bytes"] / 2**20)
fwd_rates = [r["forward_bytes_per_s"] / 1e9 for r in rows_h.values() if r.get("forward_bytes_per_s")]
glue("cpu_fwd_min", min(fwd_rates) if fwd_rates else float("nan"))
glue("cpu_fwd_max", max(fwd_rates) if fwd_rates else float("nan"))
sb_bytes = rows_h.get("speechbrain-asp-gc", {}).get("peak_memory_bytes")
glue("h_sb_mib", sb_bytes / 2**20 if sb_bytes else float("nan"))

# %% [markdown]
# *Table: one forward+backward step at $B = 32$, $C = 1536$, $T = 300$, float32 (peak
# memory: beyond the input and the parameters). "SpeechBrain": its layer with the same
# global-context setting.*
#
# For scale: the input $h$ alone is {glue:text}`h_input_mib:.0f` MiB. Statistics pooling
# allocates {glue:text}`h_stats_mib:.0f` MiB in its step, the gradient of $h$ and little
# else; the channel-wise ASP with global context {glue:text}`h_cgc_mib:.0f` MiB, and
# SpeechBrain's {glue:text}`h_sb_mib:.0f` MiB. Every full-size tensor alive at the peak
# (a gradient, the weights $\alpha$, a temporary, a copy that autograd keeps for the
# backward) is another copy of $h$. Three ratios sum the comparison up at this size:

# %%
show_table(["ratio", "of the medians", "paired"],
           [[t["target"], fmt(t["ratio"], ".2f"), fmt(t.get("ratio_paired"), ".2f")]
            for t in rec["targets"]])
tg = {(t["layer"], t["quantity"]): t["ratio"] for t in rec["targets"]}
glue("t_cgc_sb", tg["asp-channel-gc", "time"] or float("nan"))
glue("m_cgc_sb", tg["asp-channel-gc", "memory"] or float("nan"))
glue("t_scalar_stats", tg["asp-scalar", "time"] or float("nan"))

# %% [markdown]
# *Table: three ratios at the headline size, from the recorded run (ratio of the medians;
# paired: median of the per-round ratios).*
#
# `asp_lab`'s channel-wise ASP with global context takes {glue:text}`t_cgc_sb:.2f` times
# SpeechBrain's time and {glue:text}`m_cgc_sb:.2f` times its memory; scalar ASP takes
# {glue:text}`t_scalar_stats:.2f` times the time of statistics pooling. The same ratios
# at every size:

# %%
show_table(["size (B, C, T)", "channel+context / SpeechBrain: time", "(paired)",
            "memory", "scalar / stats: time", "(paired)", "channel / post's block: time",
            "memory"],
           [[f"{r['B']}, {r['C']}, {r['T']}",
             fmt(r["rows"]["asp-channel-gc"]["time_vs_speechbrain"], ".2f"),
             fmt(r["rows"]["asp-channel-gc"]["time_vs_speechbrain_paired"], ".2f"),
             fmt(r["rows"]["asp-channel-gc"]["memory_vs_speechbrain"], ".2f"),
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
# Across sizes, scalar ASP takes {glue:text}`scalar_stats_min:.1f` to
# {glue:text}`scalar_stats_max:.1f` times the time of statistics pooling, and `asp_lab`'s
# channel-wise layer without context takes {glue:text}`chan_blog_min:.2f` to
# {glue:text}`chan_blog_max:.2f` times the time of the post's block, which computes the
# same function (chapter 4 copied one's weights into the other) with the one-pass variance
# that chapter 4 found wrong for large means.
#
# ### What made the layer fast
#
# A straightforward version of the same layers, without the changes below, was benchmarked
# on the same machine with the same command; that recording is kept in
# `benchmarks/history/`. Each ratio is taken within one run, so ratios from the two runs
# can be set side by side, though the times cannot:

# %%
history = bench.recorded("history/cpu-*.json")
before = json.loads(history[0].read_text())
tg_before = {(t["layer"], t["quantity"]): t for t in before["targets"]}
show_table(["ratio", "straightforward layers", "these layers"],
           [[t["target"], fmt(tg_before[t["layer"], t["quantity"]]["ratio"], ".2f"),
             fmt(t["ratio"], ".2f")] for t in rec["targets"]])
rows_b = next(r for r in before["results"] if (r["B"], r["C"], r["T"]) == bench.HEADLINE)["rows"]
print(f"{history[0].name}: {before['machine']['date']}; commit "
      f"{before['machine'].get('git_commit', '?')[:10]}")
glue("before_stats_ms", rows_b["stats"]["time_median_s"] * 1e3)
glue("before_stats_vs_sb", rows_b["stats"]["time_median_s"]
     / rows_b["speechbrain-asp-gc"]["time_median_s"])
glue("after_stats_vs_sb", rows_h["stats"]["time_median_s"]
     / rows_h["speechbrain-asp-gc"]["time_median_s"])
glue("before_scalar_vs_sb", rows_b["asp-scalar"]["time_median_s"]
     / rows_b["speechbrain-asp-gc"]["time_median_s"])
glue("after_scalar_vs_sb", rows_h["asp-scalar"]["time_median_s"]
     / rows_h["speechbrain-asp-gc"]["time_median_s"])

# %% [markdown]
# *Table: the three ratios at $B = 32$, $C = 1536$, $T = 300$ with the straightforward
# layers and with these (the run of section 6), ratio of the medians.*
#
# What the layer computes did not change: the tests of `asp_lab.pooling` (uniform
# weights, padding, permutation, the numerics of chapter 4) pass for both. What
# changed is how many times the layer walks over a $(B, C, T)$ tensor and how many such
# tensors it keeps:
#
# 1. **One check, a sum** (section 2). Before, the module checked $h$, each step function
#    checked it again with the mask, and the scores were checked for NaN and infinities
#    in three more passes.
# 2. **The module calls the steps without their checks**, and does what only some inputs
#    need only for those: the padding is set to zero once, when there is padding. Dividing
#    the weights by their sum, which repairs weights rounded to half precision
#    (chapter 4), stays in the public `weighted_moments`; the module's weights come
#    straight from its own float32 softmax.
# 3. **Sums as `einsum`**: $\sum_t \alpha_t h_t$ written as
#    `torch.einsum("bct,bt->bc", h, alpha)` is a batched dot product, computed without
#    the product `alpha * h` as a $(B, C, T)$ tensor in memory.
# 4. **Products as convolutions**: $W h_t + b$ at every frame is a convolution with kernel
#    size 1, which is how ECAPA-TDNN writes it (`nn.Conv1d`). PyTorch's convolution
#    kernels compute it faster than `torch.matmul(W, h) + b[:, None]`, which broadcast $W$
#    over the batch, and add the bias in the same pass.
# 5. **A hand-written backward for the moments.** Autograd keeps what each operation
#    needs for its own backward; for the two-pass variance that is the deviations
#    $h_t - \mu$ and their squares, two more copies of $h$. Yet the derivatives are short
#    when the weights sum to one:
#
#    $$\frac{\partial \mu}{\partial h_t} = \alpha_t, \quad
#      \frac{\partial \sigma^2}{\partial h_t} = 2 \alpha_t (h_t - \mu), \quad
#      \frac{\partial \mu}{\partial \alpha_t} = h_t, \quad
#      \frac{\partial \sigma^2}{\partial \alpha_t} = (h_t - \mu)^2,$$
#
#    and $\partial\sigma/\partial\sigma^2 = 1/(2\sigma)$, or 0 where the variance was
#    floored at `VAR_FLOOR`. (The derivatives of $\sigma^2$ also have a path through
#    $\mu$, which adds multiples of $\sum_s \alpha_s (h_s - \mu)$; that is zero when the
#    weights sum to one. The derivatives of $\mu$ need no such condition.) So `asp_lab`'s moments,
#    an `autograd.Function` in `asp_lab/pooling/fast.py`, keep only $h$, $\alpha$, $\mu$ and
#    $\sigma$, and the backward recomputes $h_t - \mu$ with one subtraction. The tests
#    compare its gradients with autograd's and with finite differences.
#
# What each way of writing the moments keeps for the backward, beyond its inputs $h$ and
# $\alpha$, counted with `torch.autograd.graph.saved_tensors_hooks` (which sees every
# tensor saved for the backward):

# %%
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
# *Table: memory kept from the forward for the backward by the weighted moments, in units
# of the size of $h$ ($B = 8$, $C = 256$, $T = 200$; it scales with $h$).*
#
# And the products of item 4, written both ways, timed now in turns (forward and
# backward, $B = 32$, $C = 512$, $T = 300$, $A = 128$, the fastest of seven rounds):

# %%
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
# the convolution (a live timing on a shared machine; on a GPU both call the same kind of
# matrix kernel, and the difference may vanish).
#
# ### Why scalar ASP costs more than twice statistics pooling
#
# With the straightforward layers, scalar ASP took less than twice the time of statistics
# pooling; with these it takes more, though scalar ASP got faster: it took
# {glue:text}`before_scalar_vs_sb:.2f` of SpeechBrain's time there and
# {glue:text}`after_scalar_vs_sb:.2f` here. Statistics pooling took
# {glue:text}`before_stats_vs_sb:.2f` of SpeechBrain's time there, and
# {glue:text}`after_stats_vs_sb:.2f` here: the changes above sped it up more than ASP,
# since it is nothing but the moments. What is left is arithmetic. Scalar ASP does all
# that statistics pooling does (the same two sums, with weights $\alpha_t$ in place of
# $1/T$) and, on top, the scores, whose cost is three matrix products with $W$: $W h_t$
# for every frame in the forward, and in the backward the gradients for $W$ and for
# $h$, each $2 B A C T$ floating-point operations. Timed now, at the headline size, in
# turns, the fastest of seven rounds:

# %%
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
# The three products are {glue:text}`p_gflop:.1f` billion operations. They took
# {glue:text}`p_prod_ms:.0f` ms, {glue:text}`p_rate:.0f` GFLOP/s on this CPU, statistics
# pooling {glue:text}`p_stats_ms:.0f` ms and scalar ASP {glue:text}`p_asp_ms:.0f` ms:
# the products and statistics pooling together account for
# {glue:text}`p_sum_share:.0%` of scalar ASP's time. Statistics pooling reads and writes
# $h$ a few times and does no products, so however the scores are written, scalar ASP
# cannot take less than 1 + products / statistics pooling times as long as statistics
# pooling: {glue:text}`p_floor:.1f` in this timing. A ratio of 2 would need the products
# to cost less than statistics pooling itself; here they cost
# {glue:text}`p_prod_vs_stats:.1f` times as much. Timings on this shared machine
# move from run to run (the recorded run of section 6 measured
# {glue:text}`t_scalar_stats:.2f` for scalar ASP against statistics pooling), but not by
# that much. The straightforward version stayed under 2 only because its statistics pooling was slow. On a GPU, where products are far cheaper per byte moved,
# the ratio will differ (section 7).
#
# ### A live run
#
# The same code, run now on one small size with a few repeats, to show that it works
# (its times are too small and too noisy to compare with the table):

# %%
layers = ["stats", "asp-scalar", "asp-channel-gc", "blog-asp", "wespeaker-astp-gc"]
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
# The live run took {glue:text}`live_s:.1f` s, memory pass included, and
# {glue:text}`live_sb` (`make book` installs it; on Colab,
# `pip install --no-deps speechbrain==1.1.2 hyperpyyaml ruamel.yaml` adds it without touching
# torch). To run the full grid
# yourself: `asp-lab bench --out results.json --plot results.png` (add
# `--device cuda` on a GPU, `--dtype bfloat16` for half precision, `--sizes 32,1536,300`
# for one size). Without SpeechBrain installed its rows are skipped and the JSON says so.
#
# ## 7. GPU figures: not measured yet
#
# ```{admonition} No GPU numbers here yet
# :class: warning
# The book was built on a CPU, and no GPU run has been recorded in `benchmarks/`. This
# section shows nothing but how the figures will be made; it contains no GPU measurement.
# ```
#
# What a GPU run will add, from `benchmarks/cuda-*.json` files once they exist:
#
# - the same table and figure as section 6 on a GPU, in float32 and bfloat16 (`--dtype`;
#   float16 too if you add a run with `--dtype float16`), so that the ratios against
#   statistics pooling and SpeechBrain can be compared with the CPU's;
# - peak memory from `torch.cuda.max_memory_allocated`, which on a GPU is the figure
#   that limits the batch size;
# - the fraction of the GPU's memory bandwidth that a forward pass reaches
#   (`forward_fraction_of_peak` in the JSON): the bytes it must at least move (reading
#   $h$ once, $B \cdot C \cdot T \cdot$ 4 bytes in float32) divided by its time, against
#   the peak from the device's properties or its data sheet
#   (`asp_lab.bench.peak_bandwidth`). Statistics pooling and the moments do a few
#   operations per byte, so on a GPU they are bound by memory traffic, and the count of
#   passes over $h$ (section 6) decides their speed; the scores' products, at about
#   $A / 2$ operations per byte, are not. On this CPU the recorded run's forward passes
#   reached an effective rate (minimum bytes over time) of {glue:text}`cpu_fwd_min:.1f` to
#   {glue:text}`cpu_fwd_max:.1f` GB/s at the headline size;
# - the bfloat16 and float16 autocast errors of every layer (`autocast_errors` in the
#   JSON: norms of the error of $\mu$ and $\sigma$ relative to float32, for frames with a
#   mean of 0 and of 10 standard deviations; this CPU's are in the recorded file too), with
#   the GPU's own kernels;
# - `torch.compile` against eager, from section 4's cell, which runs on a GPU (the
#   benchmark itself does not compile);
# - the training run's steps per second with `DataLoader` workers (section 5).
#
# To produce them, open this notebook on Colab with a GPU (section 8) or use any CUDA
# machine with the repository, and run `make bench-gpu`, which runs
#
# ```bash
# asp-lab bench --device cuda --out benchmarks/cuda-<gpu>-<date>.json \
#     --plot benchmarks/cuda-<gpu>-<date>.png
# asp-lab bench --device cuda --dtype bfloat16 --out benchmarks/cuda-<gpu>-<date>-bf16.json
# asp-lab train --device cuda --pooling asp-channel --steps 300 --workers 4 --no-eval \
#     --out runs/bench-gpu    # its provenance becomes benchmarks/train-cuda-<gpu>-<date>.json
# ```
#
# then commit the files. The next cell lists whatever GPU results are in `benchmarks/`:

# %%
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
#    `asp_lab` from it with `pip install --no-deps`, so that every package Colab ships
#    (its CUDA build of PyTorch, ipywidgets 7, numpy, ...) stays as it is, adds only a
#    dependency Colab lacks, and prints the GPU it found. In the book that cell is hidden;
#    in the notebook it is the first code cell.
# 4. Run the rest (**Runtime > Run all**). Section 1 then prints `cuda`, and every cell
#    that uses `device` runs on the GPU, the `torch.compile` cell of section 4 and the
#    training of section 5 included (the autocast tables of section 3 stay on the CPU on
#    purpose). `!asp-lab bench --device cuda --out asp_lab_repo/benchmarks/cuda-colab.json`
#    in a new cell produces the GPU benchmark of section 7, which section 7's cell then
#    lists (`make bench-gpu` runs it and the rest in the repository's own environment).
#
# The widgets of chapters 2 and 6 run on Colab's own ipywidgets 7. Colab's file-upload
# widget drops files of about 1 MB and more without a word, so on Colab the "your
# recording" button of chapter 6 opens Colab's own upload dialog instead, which takes a
# recording of any length.
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
# rest is what each keeps for its backward (SpeechBrain's batch norm and $\tanh$ outputs,
# autograd's copies in its moments).
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
