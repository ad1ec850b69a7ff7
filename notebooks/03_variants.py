# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Variants: scalar, channel-wise and multi-head attention
#
# Chapter 2 computed attentive statistics pooling with one score per frame. The field uses
# several versions of the same idea, and the post this book starts from mixes two of them:
# its prose has one weight per frame, its code one per frame and channel. This chapter puts
# the variants side by side, each as one equation, the code that computes it, and a picture
# on the frames of a real recording. You will learn:
#
# 1. how **scalar** {cite:p}`okabe2018attentive`, **channel-wise**
#    {cite:p}`desplanques2020ecapa` and **multi-head** {cite:p}`india2019selfmultihead`
#    attention differ (only in the last affine map), and that multi-head contains the other
#    two;
# 2. what ECAPA-TDNN's **global context** is, and how to compute it without a tensor three
#    times the size of the frames;
# 3. **where batch norm goes** in the scoring network, and when it folds away;
# 4. what each variant **costs** in parameters and operations.
#
# The pictures show *untrained* layers with random (seeded) parameters: they show the shapes
# and what each variant *can* express. The last section shows a trained channel-wise model.
#
# Data: speech from LibriSpeech test-other {cite:p}`panayotov2015librispeech` (CC BY 4.0);
# the book's noise recordings, from Speech Commands {cite:p}`warden2018speechcommands`
# (CC BY 4.0), are not used in this chapter.

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
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML, display
from torch.utils.flop_counter import FlopCounterMode

import asp_lab
from asp_lab import analysis, blog, data, features, handset, models, pooling, viz
from asp_lab.pooling import AttentiveStatisticsPooling, StatisticsPooling
from asp_lab.variants import MultiHeadAttentiveStatisticsPooling

glue = viz.glue  # stores the values the text quotes (nothing outside the book)
show_table = viz.show_table  # an HTML table for Jupyter, Colab and the book
torch.set_printoptions(precision=4)

# %% [markdown]
# ## The frames
#
# As in chapter 2, the frames $h_t$ are the log-mel frames of one utterance of LibriSpeech
# test-other (another speaker this time): $C = 40$ mel bands, one frame every 10 ms, as a
# batch of one, `h: (B, C, T)`.

# %%
UTTERANCE = "1688-142285-0003"
utterance = {u.name: u for u in data.utterances("test-other")}[UTTERANCE]
S = features.log_mel(data.load_audio(utterance.path))  # (C, T), ln power
h = torch.from_numpy(S)[None]  # (B, C, T) = (1, 40, T)
B, C, T = h.shape
times = features.frame_times(T)  # (T,) seconds
print("h:", tuple(h.shape), h.dtype, f"({T * features.HOP_SECONDS:.2f} s)")

# %% tags=["remove-cell"]
assert (B, C) == (1, 40)
glue("T", T)
glue("duration", T * features.HOP_SECONDS)

# %% [markdown]
# ## One scoring network, three ways to read it
#
# All three variants score a frame with the same small network: a hidden layer of $A$ units,
# $f(W h_t + b)$, with $W$ of shape $(A, C)$. They differ only in the second affine map,
# which turns the $A$ hidden units into $K$ scores per frame, and in which channels each
# score's weights are applied to:
#
# $$
# e_{t,j} = v_j^\top f(W h_t + b) + k_j, \qquad
# \alpha_{t,j} = \frac{\exp(e_{t,j})}{\sum_{\tau=1}^{T} \exp(e_{\tau,j})}, \qquad j = 1, \dots, K.
# $$
#
# | variant | $K$ | `v` | `alpha` | channel $c$ is weighted by |
# | --- | --- | --- | --- | --- |
# | scalar | 1 | $(A,)$ | `(B, T)` | the one score $e_t$ |
# | multi-head | $H$ | $(H, A)$ | `(B, H, T)` | head $g(c)$, the group $c$ belongs to |
# | channel-wise | $C$ | $(C, A)$ | `(B, C, T)` | its own score $e_{t,c}$ |
#
# The softmax runs over time separately for each $j$, so each row of weights sums to one.
#
# ### Scalar attention
#
# {cite:t}`okabe2018attentive` score each frame with one number, $K = 1$, and every channel
# of the frame gets the same weight $\alpha_t$. Their $f$ is a ReLU followed by batch
# normalisation, with 64 hidden units (batch norm has its own section below; here $f$ is
# the ReLU alone). `AttentiveStatisticsPooling(C, 64, mode="scalar")` is this layer, with
# random initial parameters.

# %%
A = 64  # hidden units, as in Okabe et al.
torch.manual_seed(0)
scalar = AttentiveStatisticsPooling(C, attention_channels=A, mode="scalar")
with torch.no_grad():
    pooled_s, alpha_s = scalar(h, return_attention=True)  # (B, 2C), (B, T)
print(scalar)
print("W:", tuple(scalar.W.shape), " v:", tuple(scalar.v.shape))
print("alpha:", tuple(alpha_s.shape), " pooled:", tuple(pooled_s.shape))

# %% tags=["remove-cell"]
assert alpha_s.shape == (B, T) and pooled_s.shape == (B, 2 * C)
assert torch.allclose(alpha_s.sum(dim=-1), torch.ones(B))

# %% [markdown]
# ### Channel-wise attention
#
# ECAPA-TDNN {cite:p}`desplanques2020ecapa` gives every channel its own score,
#
# $$
# e_{t,c} = v_c^\top f(W h_t + b) + k_c, \qquad
# \alpha_{t,c} = \frac{\exp(e_{t,c})}{\sum_{\tau} \exp(e_{\tau,c})},
# $$
#
# so $v$ becomes a $(C, A)$ matrix and $k$ a $(C,)$ vector, and channel $c$'s mean and
# standard deviation use channel $c$'s own weights: $\mu_c = \sum_t \alpha_{t,c} h_{t,c}$.
# One channel can look at some sounds while another looks elsewhere.
#
# The post's code, `asp_lab.blog.ASP`, is channel-wise attention *without* ECAPA's global
# context and without batch norm (chapter 2 copied its weights into `mode="channel"` and got
# the same weights). Below, the channel-wise layer shares the scalar layer's hidden layer
# $W, b$, so the two differ only in $v$ and $k$.

# %%
torch.manual_seed(1)
channel = AttentiveStatisticsPooling(C, attention_channels=A, mode="channel")
with torch.no_grad():
    channel.W.copy_(scalar.W)  # the same hidden layer as the scalar attention
    channel.b.copy_(scalar.b)
    pooled_c, alpha_c = channel(h, return_attention=True)  # (B, 2C), (B, C, T)
print("v:", tuple(channel.v.shape), " k:", tuple(channel.k.shape))
print("alpha:", tuple(alpha_c.shape), " pooled:", tuple(pooled_c.shape))

# %% tags=["remove-cell"]
assert alpha_c.shape == (B, C, T) and pooled_c.shape == (B, 2 * C)
assert torch.allclose(alpha_c.sum(dim=-1), torch.ones(B, C))  # each channel sums to 1 over t
post = blog.ASP(C)  # the post's block, for the parameter count
n_post = models.count_parameters(post)
n_channel = models.count_parameters(AttentiveStatisticsPooling(C, 128, mode="channel"))
assert n_post == n_channel
glue("n_post_40", n_post)

# %% [markdown]
# At $A = 128$, as the post has it, the post's block and `mode="channel"` both have
# {glue:text}`n_post_40` parameters for $C = 40$ channels: $W$ and $b$, then $v$ and $k$
# with one row per channel.
#
# ### Multi-head attention
#
# Between one score per frame and one per channel lies one score per *group* of channels.
# Split the $C$ channels into $H$ groups of $C / H$ consecutive channels; head $j$ is a scalar
# attention with its own $v_j$ and $k_j$, and it weights the channels of group $j$. With
# $g(c) = \lfloor c H / C \rfloor$ the group of channel $c$ (counting from 0):
#
# $$
# \mu_c = \sum_t \alpha_{t,g(c)}\, h_{t,c}, \qquad
# \sigma_c = \sqrt{\sum_t \alpha_{t,g(c)}\, (h_{t,c} - \mu_c)^2} .
# $$
#
# The groups' statistics are **concatenated**, not averaged: the output is $[\mu; \sigma]$
# of size $2C$ as for the other variants, and $H = 1$ gives the scalar attention, $H = C$
# the channel-wise one. Heads over groups of channels come from
# {cite:t}`india2019selfmultihead`; WeSpeaker's `MHASTP`
# ([`pooling_layers.py`](https://github.com/wenet-e2e/wespeaker/blob/6b149b3afe6bcb288ea6c5cb04ca0de8339d7074/wespeaker/models/pooling_layers.py))
# splits the channels the same way, but gives each head its own small network on its own
# group. Here all heads read the one shared hidden layer $f(W h_t + b)$, so that $H = 1$ and
# $H = C$ are *exactly* the two layers above.
#
# First by hand, with the three functions of chapter 2 and one new line, the
# `repeat_interleave` that gives each channel its head's weights:

# %%
H = 4  # heads; C / H = 10 mel bands per group
torch.manual_seed(2)
v_heads = torch.empty(H, A).uniform_(-A**-0.5, A**-0.5)  # (H, A): v_j
k_heads = torch.zeros(H)  # (H,); cancels in the softmax anyway
with torch.no_grad():
    e_heads = pooling.attention_scores(h, scalar.W, scalar.b, v_heads, k_heads)
    alpha_heads = pooling.attention_weights(e_heads)  # (B, H, T)
    # (B, C, T): channel c gets the weights of its head g(c)
    alpha_per_channel = alpha_heads.repeat_interleave(C // H, dim=1)
    mu_m, sigma_m = pooling.weighted_moments(h, alpha_per_channel)
print("alpha:", tuple(alpha_heads.shape), tuple(alpha_per_channel.shape))

# %% tags=["remove-cell"]
assert e_heads.shape == (B, H, T) and mu_m.shape == (B, C)
assert alpha_heads.shape == (B, H, T) and alpha_per_channel.shape == (B, C, T)
assert torch.allclose(alpha_heads.sum(dim=-1), torch.ones(B, H))
assert torch.equal(alpha_per_channel[0, 10], alpha_heads[0, 1])  # channel 10 is in group 1

# %% [markdown]
# `asp_lab.variants.MultiHeadAttentiveStatisticsPooling(C, heads, attention_channels)` is
# these lines as a module (with padding masked, as everywhere in `asp_lab`). Given the same
# parameters it returns the same vector:

# %%
multi = MultiHeadAttentiveStatisticsPooling(C, heads=H, attention_channels=A)
with torch.no_grad():
    multi.W.copy_(scalar.W)
    multi.b.copy_(scalar.b)
    multi.v.copy_(v_heads)
    multi.k.copy_(k_heads)
    pooled_m, alpha_m = multi(h, return_attention=True)  # (B, 2C), (B, H, T)
print(multi)
diff_by_hand = float((pooled_m - torch.cat([mu_m, sigma_m], dim=1)).abs().max())
print(f"max |module - by hand| = {diff_by_hand:.1e}")

# %% tags=["remove-cell"]
# one head is the scalar layer, one head per channel the channel-wise layer
one_head = MultiHeadAttentiveStatisticsPooling(C, heads=1, attention_channels=A)
all_heads = MultiHeadAttentiveStatisticsPooling(C, heads=C, attention_channels=A)
with torch.no_grad():
    for m, v, k in ((one_head, scalar.v[None], scalar.k[None]),
                    (all_heads, channel.v, channel.k)):
        m.W.copy_(scalar.W)
        m.b.copy_(scalar.b)
        m.v.copy_(v)
        m.k.copy_(k)
    pooled_1, alpha_1 = one_head(h, return_attention=True)  # (B, 2C), (B, 1, T)
    pooled_C, alpha_C = all_heads(h, return_attention=True)  # (B, 2C), (B, C, T)
assert pooled_m.shape == (B, 2 * C) and alpha_m.shape == (B, H, T)
diff_one_head = float((pooled_1 - pooled_s).abs().max())
diff_all_heads = float((pooled_C - pooled_c).abs().max())
assert max(diff_by_hand, diff_one_head, diff_all_heads) < 1e-5
glue("H", H)
glue("group", C // H)
glue("diff_by_hand", diff_by_hand)
glue("diff_one_head", diff_one_head)
glue("diff_all_heads", diff_all_heads)

# %% [markdown]
# The pooled vectors agree to {glue:text}`diff_by_hand:.1e`; with one head the module gives
# the scalar layer's vector (to {glue:text}`diff_one_head:.1e`), with one head per channel
# the channel-wise layer's (to {glue:text}`diff_all_heads:.1e`).
#
# ## Seeing the variants on real frames
#
# Here are the weights of the three untrained layers on the utterance's frames (they share
# $W$ and $b$). To compare rows that each sum to one over $T$ frames, we plot
# $\log_2(T \alpha)$: 0 is the uniform share $1/T$ of statistics pooling, $+1$ twice it, $-1$
# half.

# %% tags=["remove-cell"]
rel_s = np.log2(T * alpha_s[0].numpy())  # (T,)
rel_m = np.log2(T * alpha_m[0].numpy())  # (H, T)
rel_c = np.log2(T * alpha_c[0].numpy())  # (C, T)
n_eff_s = handset.effective_frames(alpha_s[0])
n_eff_m = [handset.effective_frames(alpha_m[0, j]) for j in range(H)]
n_eff_c = [handset.effective_frames(alpha_c[0, c]) for c in range(C)]
spread_c = alpha_c[0].max(dim=0).values / alpha_c[0].min(dim=0).values  # (T,) across channels
glue("n_eff_s", n_eff_s)
glue("n_eff_m_min", min(n_eff_m))
glue("n_eff_m_max", max(n_eff_m))
glue("n_eff_c_min", min(n_eff_c))
glue("n_eff_c_max", max(n_eff_c))
glue("spread_c_median", float(spread_c.median()))
glue("rel_c_max", float(2 ** rel_c.max()))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Untrained attention variants on one utterance: log-mel frames on top, then the scalar weights as one curve, the four heads' weights as a 4-row map and the channel-wise weights as a 40-row map, all against time in seconds."}}
fig, axes = plt.subplots(4, 1, figsize=(9, 8.5), sharex=True, layout="constrained",
                         gridspec_kw={"height_ratios": [1.2, 0.8, 0.6, 1.4]})
ax_frames, ax_s, ax_m, ax_c = axes
image = viz.spectrogram(ax_frames, S, colorbar=False)
ax_frames.set_xlabel("")
ax_frames.set_title(f"Untrained variants on {UTTERANCE}: log-mel frames, "
                    "then weights relative to 1/T")
fig.colorbar(image, ax=[ax_frames, ax_s], label="log mel power\n(natural log)", pad=0.01,
             fraction=0.03)
ax_s.plot(times, rel_s, color="tab:blue", linewidth=1)
ax_s.axhline(0, color="black", linestyle=":", linewidth=1.2)
ax_s.set_ylabel("scalar\n" + r"$\log_2(T \alpha_t)$")
ax_s.grid(alpha=0.3)
style = dict(origin="lower", aspect="auto", interpolation="nearest", cmap="cividis",
             vmin=-3, vmax=3)
edges = (times[0] - 0.005, times[-1] + 0.005)
ax_m.imshow(rel_m, extent=(*edges, -0.5, H - 0.5), **style)
ax_m.set_yticks(range(H), [f"{j}" for j in range(H)])
ax_m.set_ylabel(f"multi-head\nhead $j$ (H = {H})")
maps = ax_c.imshow(rel_c, extent=(*edges, -0.5, C - 0.5), **style)
ax_c.set_ylabel("channel-wise\nchannel $c$ (mel band)")
ax_c.set_xlabel("time (s)")
fig.colorbar(maps, ax=[ax_m, ax_c], label=r"$\log_2(T \alpha)$ (0 = uniform)", pad=0.01,
             fraction=0.03, extend="both")
plt.show()

# %% [markdown]
# Even untrained, channel-wise rows disagree about which frames matter; a scalar layer
# cannot. From top to bottom: the frames; the scalar weights; the four heads (groups of
# {glue:text}`group` bands); one row per band for the channel-wise layer (yellow: more than
# $1/T$, dark blue: less). The scalar layer
# spreads its weight over {glue:text}`n_eff_s:.0f` effective frames of {glue:text}`T`
# ($N_\text{eff} = 1 / \sum_t \alpha_t^2$, chapter 2); the heads over
# {glue:text}`n_eff_m_min:.0f` to {glue:text}`n_eff_m_max:.0f`, the channels over
# {glue:text}`n_eff_c_min:.0f` to {glue:text}`n_eff_c_max:.0f`. At a given frame the
# largest channel weight is a median {glue:text}`spread_c_median:.1f` times the smallest,
# and the largest single weight is {glue:text}`rel_c_max:.1f` times the uniform share:
# random $v_c$ make each row follow the loudness with its own sign and strength.
#
# ## Global context
#
# ECAPA-TDNN {cite:p}`desplanques2020ecapa` lets the scores see the whole utterance: each
# frame is joined with the utterance's *unweighted* mean $\mu$ and standard deviation
# $\sigma$ before the first affine map, so $W$ is $(A, 3C)$ and acts on $[h_t; \mu; \sigma]$.
# Split $W$ into three $(A, C)$ blocks and the product falls apart:
#
# $$
# W \begin{bmatrix} h_t \\ \mu \\ \sigma \end{bmatrix} + b
# = W_h h_t + \underbrace{W_\mu \mu + W_\sigma \sigma + b}_{\text{the same for every frame } t} .
# $$
#
# The context is a bias that depends on the utterance: computed once per utterance, added
# at every frame. It lets a hidden unit compare a frame with the utterance it belongs to,
# "louder than this utterance's average" rather than "louder than a fixed level"
# (exercise 1). SpeechBrain's
# [`ECAPA_TDNN.py`](https://github.com/speechbrain/speechbrain/blob/128b2f385ee2bb6edee3b9f2eb4e03b695fe8b4a/speechbrain/lobes/models/ECAPA_TDNN.py)
# builds the left side, a `(B, 3C, T)` tensor. `asp_lab` computes the right side: with
# `global_context=True` it holds $W_h$ as `W` and $[W_\mu, W_\sigma]$ as `W_context`, and
# adds one $(A,)$ vector per utterance to $W_h h_t + b$. The left side, written out with
# the module's own parameters:

# %%
def explicit_global_context(m: AttentiveStatisticsPooling, h: torch.Tensor):
    """ECAPA-TDNN's global context: score [h_t; mu; sigma], (B, 3C, T)."""
    B, C, T = h.shape
    mu, sigma = pooling.weighted_moments(h, pooling.uniform_weights(B, T))
    copies = [mu[:, :, None].expand(B, C, T), sigma[:, :, None].expand(B, C, T)]
    joined = torch.cat([h, *copies], dim=1)  # (B, 3C, T)
    W_full = torch.cat([m.W, m.W_context], dim=1)  # [W_h, W_mu, W_sigma]
    e = pooling.attention_scores(joined, W_full, m.b, m.v, m.k, f=m.f)
    alpha = pooling.attention_weights(e)
    mu_w, sigma_w = pooling.weighted_moments(h, alpha)
    return torch.cat([mu_w, sigma_w], dim=1), alpha, joined

# %%
torch.manual_seed(3)
ecapa = AttentiveStatisticsPooling(C, attention_channels=A, mode="channel",
                                   global_context=True)
print("W:", tuple(ecapa.W.shape), " W_context:", tuple(ecapa.W_context.shape))
with torch.no_grad():
    pooled_g, alpha_g = ecapa(h, return_attention=True)  # broadcast form
    pooled_x, alpha_x, joined = explicit_global_context(ecapa, h)  # concat.
diff_gc_alpha = float((alpha_g - alpha_x).abs().max())
print("joined:", tuple(joined.shape), f" max |alpha diff|: {diff_gc_alpha:.1e}")

# %% tags=["remove-cell"]
assert joined.shape == (B, 3 * C, T) and alpha_x.shape == alpha_g.shape == (B, C, T)
diff_gc_pooled = float((pooled_g - pooled_x).abs().max())
assert diff_gc_alpha < 1e-6 and diff_gc_pooled < 1e-4
glue("diff_gc_alpha", diff_gc_alpha)
glue("diff_gc_pooled", diff_gc_pooled)
glue("uniform", 1 / T)

# %% [markdown]
# The two forms give the same weights to {glue:text}`diff_gc_alpha:.1e` (the weights
# themselves are around $1/T \approx$ {glue:text}`uniform:.1e`) and the same pooled vector to
# {glue:text}`diff_gc_pooled:.1e`: float32 rounding, summed in a different order.
#
# What the explicit form costs shows at ECAPA's size: $C = 1536$ channels into the pooling
# and $A = 128$, for a batch of 32 crops of 3 s ($T = 300$ frames) in float32. PyTorch's
# `meta` device has shapes and no memory, so it gives the sizes for free:

# %%
B_big, C_big, A_big, T_big = 32, 1536, 128, 300
MIB = 2**20
frames_bytes = torch.empty(B_big, C_big, T_big, device="meta").nbytes
joined_bytes = torch.empty(B_big, 3 * C_big, T_big, device="meta").nbytes
context_bytes = torch.empty(B_big, A_big, device="meta").nbytes  # (B, A)
print(f"h: {frames_bytes / MIB:.2f} MiB;",
      f"[h; mu; sigma]: {joined_bytes / MIB:.2f} MiB;",
      f"context: {context_bytes / 1024:.0f} KiB")

# %% tags=["remove-cell"]
# the first affine map: over 3C channels at every frame, or over C, plus 2C once per utterance
flops_explicit = 2 * A_big * 3 * C_big * T_big
flops_broadcast = 2 * A_big * C_big * T_big + 2 * A_big * 2 * C_big
glue("frames_mib", frames_bytes / MIB)
glue("joined_mib", joined_bytes / MIB)
glue("extra_mib", (joined_bytes - frames_bytes) / MIB)
glue("context_kib", context_bytes / 1024)
glue("gc_flop_ratio", flops_explicit / flops_broadcast)
per_frame_f32 = torch.empty(B_big, 3 * C_big, 1, device="meta").nbytes  # exercise 3
glue("gib_frames_f32", 2**30 // per_frame_f32)
glue("gib_seconds_f32", 2**30 // per_frame_f32 * features.HOP_SECONDS)
glue("gib_frames_bf16", 2**30 // (per_frame_f32 // 2))

# %% [markdown]
# The concatenated tensor takes {glue:text}`joined_mib:.1f` MiB, of which
# {glue:text}`extra_mib:.1f` MiB are copies of $\mu$ and $\sigma$ (the frames $h$ are
# {glue:text}`frames_mib:.1f` MiB); in training, autograd keeps it for the backward pass.
# The broadcast form adds a $(B, A)$ tensor of {glue:text}`context_kib:.0f` KiB instead,
# and its first affine map takes {glue:text}`gc_flop_ratio:.2f` times fewer operations.
#
# ## Where batch norm goes
#
# The post's prose says "Commonly batch normalization is also used for getting attention
# weights"; its code has none. The sources put it in different places in $f$:
#
# | source | the scoring network $h_t \mapsto e_t$ |
# | --- | --- |
# | the post's code (`asp_lab.blog.ASP`) | `Conv1d`, ReLU, `Conv1d`: no batch norm |
# | {cite:t}`okabe2018attentive` | $W$, ReLU, batch norm, $v$ |
# | SpeechBrain's ECAPA-TDNN | `TDNNBlock` (`Conv1d`, ReLU, `BatchNorm1d`), then tanh, then `Conv1d` |
# | WeSpeaker's `ASTP` | `Conv1d`, tanh, `Conv1d`: no batch norm |
# | `asp_lab` | $W$, ReLU, $v$; with `batch_norm=True`: $W$, ReLU, `BatchNorm1d(A)`, $v$ |
#
# Batch norm behaves differently in the two modes of a network. In **evaluation** it is a
# fixed affine map of each hidden unit, with the running mean $m$ and variance $s^2$
# collected in training:
# $\mathrm{BN}(z) = \gamma \odot (z - m) / \sqrt{s^2 + \epsilon} + \beta$. Followed directly
# by $v$, it folds into $v$ and $k$:
#
# $$
# v^\top \mathrm{BN}(z) + k = \big(\underbrace{v \odot \gamma / \sqrt{s^2 + \epsilon}}_{v'}\big)^\top z
#   + \underbrace{k + v^\top\big(\beta - \gamma \odot m / \sqrt{s^2 + \epsilon}\big)}_{k'} ,
# $$
#
# and $k'$ cancels in the softmax as $k$ does. So at evaluation time Okabe's "ReLU then batch
# norm" is a plain ReLU layer with other $v$ and $k$. In **training** it is not: it
# normalises each hidden unit with the mean and variance of the *batch*, so one utterance's
# weights depend on which other utterances share its batch (and on padded frames, which
# `BatchNorm1d` counts like real ones). Both, with `batch_norm=True` and a second utterance
# (chapter 2's) cut to the same length:

# %% tags=["remove-cell"]
other = {u.name: u for u in data.utterances("test-other")}["3080-5032-0004"]  # chapter 2's
h_other = torch.from_numpy(features.log_mel(data.load_audio(other.path)))[None]
T_cut = min(T, h_other.shape[-1], 400)

# %%
h_pair = torch.cat([h[..., :T_cut], h_other[..., :T_cut]])  # (2, C, T_cut)
torch.manual_seed(4)
with_bn = AttentiveStatisticsPooling(C, attention_channels=A, batch_norm=True)
with torch.no_grad():
    change = {}
    for mode in ("train", "eval"):  # batch statistics, then the running ones
        with_bn.train(mode == "train")
        alone = with_bn(h_pair[:1], return_attention=True)[1]  # (1, T_cut)
        paired = with_bn(h_pair, return_attention=True)[1]  # (2, T_cut)
        change[mode] = float((paired[0] - alone[0]).abs().max() * T_cut)
print("utterance 0's weights move, x T, when utterance 1 joins its batch:")
print(f"training {change['train']:.3f}, evaluation {change['eval']:.1e}")

# %% [markdown]
# And in evaluation mode the batch norm folds into $v$ and $k$ as the equation says:

# %%
norm = with_bn.norm
scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # (A,)
folded = AttentiveStatisticsPooling(C, attention_channels=A)  # no batch norm
with torch.no_grad():
    folded.W.copy_(with_bn.W)
    folded.b.copy_(with_bn.b)
    folded.v.copy_(with_bn.v * scale)  # v'
    shift = norm.bias - norm.running_mean * scale  # (A,)
    folded.k.copy_(with_bn.k + with_bn.v @ shift)  # k'
    alpha_bn = with_bn(h, return_attention=True)[1]
    alpha_fold = folded(h, return_attention=True)[1]
diff_fold = float((alpha_fold - alpha_bn).abs().max() * T)
print(f"max |alpha(folded) - alpha(batch norm)| x T = {diff_fold:.1e}")

# %% tags=["remove-cell"]
assert with_bn.mode == "scalar" and folded.mode == "scalar"
bn_train_change, bn_eval_change = change["train"], change["eval"]
assert diff_fold < 1e-4 and bn_eval_change < 1e-4
glue("T_cut", T_cut)
glue("bn_train_change", bn_train_change)
glue("bn_eval_change", bn_eval_change)
glue("diff_fold", diff_fold)

# %% [markdown]
# In training mode, adding a second utterance to the batch moves the first utterance's
# weights by up to {glue:text}`bn_train_change:.2f` times the uniform share $1/T$ (for
# $T =$ {glue:text}`T_cut` frames); in evaluation mode by {glue:text}`bn_eval_change:.1e`.
# The folded layer, without batch norm, gives the evaluation-mode weights to
# {glue:text}`diff_fold:.1e` of $1/T$.
#
# What batch norm buys, then, is about training: it keeps the hidden units at zero mean and
# unit variance while $W$ changes, so that $v$ sees inputs of a steady size. In ECAPA's
# order a tanh follows the batch norm, and there it matters at evaluation time too: it sets
# how far into the tanh's flat ends the hidden units reach (exercise 2). `asp_lab` leaves
# it off by default, as the post's code does, and offers Okabe's order with
# `batch_norm=True`.
#
# ## What each variant costs
#
# Here is the post's block at ECAPA's size, parameter by parameter, next to the names
# `asp_lab` uses:

# %% tags=["remove-input"]
post_big = blog.ASP(C_big)
ours_big = AttentiveStatisticsPooling(C_big, A_big, mode="channel")
rows = []
for (name, p), (our_name, q) in zip(post_big.named_parameters(), ours_big.named_parameters(),
                                    strict=True):
    assert p.numel() == q.numel()
    rows.append([f"<code>{name}</code>", str(tuple(p.shape)), f"<code>{our_name}</code>",
                 str(tuple(q.shape)), f"{p.numel():,}"])
n_post_big = models.count_parameters(post_big)
rows.append(["total", "", "", "", f"{n_post_big:,}"])
show_table(["the post's block", "shape", "asp_lab", "shape", "parameters"], rows)
assert n_post_big == models.count_parameters(ours_big)
glue("n_post_big", n_post_big)

# %% [markdown]
# The kernels of the post's `Conv1d` layers carry a trailing kernel size of 1; otherwise the
# parameters are the same, {glue:text}`n_post_big:,` in all.
#
# For every variant we count the parameters from the module and the operations from a
# formula, counting a multiply-add as 2 FLOPs. Per utterance of $T$ frames, with $K$ scores
# per frame:
#
# - matrix products: $2ACT$ for $W h_t$, $2KAT$ for $v$; global context adds $2A \cdot 2C$
#   once per utterance (broadcast), or $2A \cdot 2C \cdot T$ (explicit concatenation); the
#   two weighted sums of the moments are $2CT$ each (and as much again for global context's
#   unweighted moments);
# - elementwise, roughly: $AT$ for the ReLU ($2AT$ more for a batch norm), $3KT$ for the
#   softmax, $2CT$ for the rest of the moments (and as much again for global context's).
#
# PyTorch's `torch.utils.flop_counter.FlopCounterMode` counts the matrix products: for every
# variant it gives exactly the first line (the notebook checks it).

# %% tags=["remove-cell"]
def pooling_variants(C: int, A: int, H: int) -> dict:
    """name -> (module, K scores per frame, batch norm?, global context: None/'broadcast'/'explicit')."""
    torch.manual_seed(0)
    gc = AttentiveStatisticsPooling(C, A, mode="channel", global_context=True)
    bn = AttentiveStatisticsPooling(C, A, mode="scalar", batch_norm=True).eval()
    return {
        "statistics pooling": (StatisticsPooling(), 0, False, None),
        "scalar (Okabe)": (AttentiveStatisticsPooling(C, A, mode="scalar"), 1, False, None),
        "scalar + batch norm": (bn, 1, True, None),
        f"multi-head, H = {H}": (MultiHeadAttentiveStatisticsPooling(C, H, A), H, False, None),
        "channel-wise (post's code)": (AttentiveStatisticsPooling(C, A, mode="channel"), C,
                                       False, None),
        "channel + context (ECAPA)": (gc, C, False, "broadcast"),
        "the same, explicit concat.": (gc, C, False, "explicit"),
    }


def formula(C: int, A: int, T: int, K: int, bn: bool, gc: str | None) -> tuple[int, int, int]:
    """(parameters, matrix-product FLOPs, elementwise FLOPs) per utterance of T frames."""
    sums, moments = 4 * C * T, 2 * C * T  # the moments: two dot products, subtract and square
    if K == 0:  # statistics pooling: the moments only
        return 0, sums, moments
    params = A * C + A + K * A + K + (2 * C * A if gc else 0) + (2 * A if bn else 0)
    matmul = 2 * A * C * T + 2 * K * A * T + sums + (sums if gc else 0)
    matmul += {None: 0, "broadcast": 2 * A * 2 * C, "explicit": 2 * A * 2 * C * T}[gc]
    elementwise = A * T + (2 * A * T if bn else 0) + 3 * K * T + moments + (moments if gc else 0)
    return params, matmul, elementwise


def counted_matmul_flops(module, gc: str | None, C: int, T: int) -> int:
    """Matrix-product FLOPs for one utterance of T frames, as FlopCounterMode counts them."""
    x = torch.randn(1, C, T)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x) if gc != "explicit" else explicit_global_context(module, x)
    return counter.get_total_flops()


shipped = asp_lab.load_model("asp-channel").config  # the size chapter 5's models were trained at
SIZES = {"ECAPA-like": dict(C=1536, A=128, T=300, H=8),
         "the book's TDNN": dict(C=shipped["pool_channels"], A=shipped["attention_channels"],
                                 T=300, H=8)}
costs = {}
for size, s in SIZES.items():
    for name, (module, K, bn, gc) in pooling_variants(s["C"], s["A"], s["H"]).items():
        params, matmul, elementwise = formula(s["C"], s["A"], s["T"], K, bn, gc)
        counted = models.count_parameters(module)
        assert counted == params, (size, name, counted, params)
        flops = counted_matmul_flops(module, gc, s["C"], s["T"])
        assert flops == matmul, (size, name, flops, matmul)
        costs[size, name] = dict(K=K, params=counted, matmul=matmul, counted=flops,
                                 elementwise=elementwise)
glue("tdnn_C", shipped["pool_channels"])
glue("tdnn_A", shipped["attention_channels"])

# %% [markdown]
# The two sizes: ECAPA-like ($C = 1536$, $A = 128$, $H = 8$) and this book's x-vector
# encoder as chapter 5 trains it, read from its shipped checkpoint: its pooling sees
# $C =$ {glue:text}`tdnn_C` channels, with $A =$ {glue:text}`tdnn_A` hidden units ($H = 8$).
# Both for $T = 300$ frames (3 s).

# %% tags=["remove-input"]
for size, s in SIZES.items():
    rows = []
    for (sz, name), c in costs.items():
        if sz != size:
            continue
        total = c["matmul"] + c["elementwise"]
        rows.append([name, c["K"] if c["K"] else "-", f"{c['params']:,}",
                     f"{c['matmul'] / 1e6:.2f}", f"{c['counted'] / 1e6:.2f}",
                     f"{total / 1e6:.2f}"])
    display(HTML(f"<p><strong>{size}</strong>: C = {s['C']}, A = {s['A']}, T = {s['T']}, "
                 f"H = {s['H']}; operations in MFLOP per utterance</p>"))
    show_table(["variant", "K", "parameters", "matrix products", "FlopCounterMode", "total"],
               rows)

# %% tags=["remove-cell"]
ecapa_cost = {name: c for (size, name), c in costs.items() if size == "ECAPA-like"}
scalar_c, channel_c = ecapa_cost["scalar (Okabe)"], ecapa_cost["channel-wise (post's code)"]
gc_c, explicit_c = ecapa_cost["channel + context (ECAPA)"], ecapa_cost["the same, explicit concat."]


def total_flops(c: dict) -> int:
    return c["matmul"] + c["elementwise"]


glue("ecapa_scalar_params", scalar_c["params"])
glue("ecapa_channel_params", channel_c["params"])
glue("ecapa_gc_params", gc_c["params"])
glue("ecapa_channel_over_scalar", channel_c["params"] / scalar_c["params"])
glue("ecapa_channel_flop_ratio", total_flops(channel_c) / total_flops(scalar_c))
glue("ecapa_explicit_flop_ratio", total_flops(explicit_c) / total_flops(gc_c))
glue("ecapa_gc_mflop", total_flops(gc_c) / 1e6)
glue("ecapa_explicit_mflop", total_flops(explicit_c) / 1e6)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Bar charts of parameters (thousands) and operations per utterance (MFLOP) for each pooling variant, at the ECAPA-like size in blue and at the book's TDNN size in orange."}}
names = [name for (size, name) in costs if size == "ECAPA-like"]
y = np.arange(len(names))
fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharey=True, layout="constrained")
for (ax_p, ax_f), size, colour in zip(axes, SIZES, ("tab:blue", "tab:orange"), strict=True):
    s = SIZES[size]
    params = [costs[size, n]["params"] / 1e3 for n in names]
    flops = [total_flops(costs[size, n]) / 1e6 for n in names]
    ax_p.barh(y, params, color=colour)
    ax_f.barh(y, flops, color=colour)
    ax_p.set_title(f"{size} (C = {s['C']}, A = {s['A']}): parameters", fontsize="medium")
    ax_f.set_title(f"{size}: operations, T = {s['T']}", fontsize="medium")
    ax_p.set_xlabel("parameters (thousands)")
    ax_f.set_xlabel("MFLOP per utterance (formula)")
    for ax in (ax_p, ax_f):
        ax.grid(axis="x", alpha=0.3)
axes[0, 0].set_yticks(y, names)
axes[0, 0].invert_yaxis()
fig.suptitle("What each pooling variant costs")
plt.show()

# %% [markdown]
# Channel-wise attention doubles the scalar layer's cost; multi-head costs about what the
# scalar layer costs. Parameters (left) and operations per utterance (right) at the two
# sizes (top: ECAPA-like; bottom: the book's TDNN; each panel has its own scale). At the
# ECAPA-like size the scalar layer has {glue:text}`ecapa_scalar_params:,` parameters and the
# channel-wise one {glue:text}`ecapa_channel_params:,`,
# {glue:text}`ecapa_channel_over_scalar:.1f` times as many: its $v$ has a row per channel,
# as big as $W$. Its operations grow in the same proportion,
# {glue:text}`ecapa_channel_flop_ratio:.1f` times the scalar layer's. Global context adds
# $W_\mu, W_\sigma$ ({glue:text}`ecapa_gc_params:,` parameters in all) but, broadcast,
# almost no operations; the explicit concatenation costs {glue:text}`ecapa_explicit_mflop:.0f`
# MFLOP against {glue:text}`ecapa_gc_mflop:.0f` ({glue:text}`ecapa_explicit_flop_ratio:.2f`
# times).
#
# Against the encoder, the pooling is small either way:

# %% tags=["remove-input"]
size = {k: v for k, v in shipped.items() if k != "pooling"}  # n_mels, channels, ...
built = {p: models.build_model(p, **size) for p in models.POOLINGS}
whole = {p: models.count_parameters(m) for p, m in built.items()}
share = {p: models.count_parameters(m.pooling) / whole[p] for p, m in built.items()}
for p in models.POOLINGS:
    print(f"{p:12s} model {whole[p]:>8,} parameters, pooling {share[p]:.1%} of them")
glue("tdnn_stats_params", whole["stats"])
glue("tdnn_scalar_share", share["asp-scalar"])
glue("tdnn_channel_share", share["asp-channel"])

# %% [markdown]
# In this book's x-vector model the whole model has {glue:text}`tdnn_stats_params:,`
# parameters with statistics pooling; the scalar attention adds
# {glue:text}`tdnn_scalar_share:.1%` of the total, the channel-wise one
# {glue:text}`tdnn_channel_share:.1%`. Chapter 5 trains all three and asks whether the
# difference shows in the error rates.
#
# ## The trained channel-wise model's attention
#
# Chapter 5 trains the book's x-vector encoder with each pooling and ships the models.
# `asp_lab.load_model("asp-channel")` loads the channel-wise one (seed 0), and
# `asp_lab.analysis.channel_attention(model, waveform)` returns the pooling's weights for
# every channel, `(P, T')`, with the time of each output frame's centre. Its pooling sees
# the $P$ channels of the encoder's last frame layer, not mel bands, and
# $T' = T -$ {glue:text}`context` frames (the encoder's convolutions use
# {glue:text}`offset` frames on either side). Same utterance as above:

# %%
trained = asp_lab.load_model("asp-channel")  # shipped, eval mode, CPU
print(trained.pooling)
waveform = data.load_audio(utterance.path)
times_tr, alpha_tr = analysis.channel_attention(trained, waveform)
P, T_out = alpha_tr.shape
print("alpha:", alpha_tr.shape, f"(P = {P} channels, T' = {T_out} frames)")

# %% tags=["remove-cell"]
assert P == trained.config["pool_channels"] and T_out == T - models.CONTEXT
assert np.allclose(alpha_tr.sum(axis=1), 1.0)
rel_tr = np.log2(T_out * alpha_tr)  # (P, T'), 0 = uniform share
n_eff_tr = np.array([handset.effective_frames(a) for a in alpha_tr])  # (P,)
order = np.argsort(n_eff_tr)  # most concentrated channel first
# which frames: the louder half of the log-mel frames each output frame is centred on
loudness = S.mean(axis=0)[models.FRAME_OFFSET : models.FRAME_OFFSET + T_out]  # (T',)
louder = loudness > np.median(loudness)
mass_louder = alpha_tr[:, louder].sum(axis=1)  # (P,): each channel's weight on the louder half
glue("P", P)
glue("context", models.CONTEXT)
glue("offset", models.FRAME_OFFSET)
glue("T_out", T_out)
glue("n_eff_tr_min", n_eff_tr.min())
glue("n_eff_tr_median", np.median(n_eff_tr))
glue("n_eff_tr_max", n_eff_tr.max())
glue("rel_tr_max", T_out * alpha_tr.max())
glue("mass_louder_median", np.median(mass_louder))
glue("share_louder", np.mean(mass_louder > 0.5))

# %% tags=["remove-input"] mystnb={"image": {"alt": "The trained channel-wise model on one utterance: log-mel frames on top and below them a map of every pooled channel's weights relative to the uniform share against time in seconds, channels sorted from the most concentrated at the bottom to the broadest at the top."}}
fig, (ax_frames, ax_map) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, layout="constrained",
                                        gridspec_kw={"height_ratios": [1, 1.6]})
image = viz.spectrogram(ax_frames, S, colorbar=False)
ax_frames.set_xlabel("")
ax_frames.set_title(f"Trained channel-wise ASP (asp-channel, seed 0) on {UTTERANCE}")
fig.colorbar(image, ax=ax_frames, label="log mel power\n(natural log)", pad=0.01,
             fraction=0.03)
maps = ax_map.imshow(rel_tr[order], origin="lower", aspect="auto", interpolation="nearest",
                     cmap="cividis", vmin=-4, vmax=4,
                     extent=(times_tr[0] - 0.005, times_tr[-1] + 0.005, -0.5, P - 0.5))
ax_map.set_ylabel("pooled channel, sorted by $N_\\mathrm{eff}$\n(most concentrated at the bottom)")
ax_map.set_xlabel("time (s)")
fig.colorbar(maps, ax=ax_map, label=r"$\log_2(T' \alpha_{t,c})$ (0 = uniform)", pad=0.01,
             fraction=0.03, extend="both")
plt.show()

# %% [markdown]
# After training, the channels differ a lot in how many frames they listen to. The log-mel
# frames (top) and the trained weights of all {glue:text}`P` pooled channels (bottom),
# relative to the uniform share, rows sorted by their effective number of frames. The most concentrated channel spreads its weight over
# {glue:text}`n_eff_tr_min:.0f` effective frames, the median channel over
# {glue:text}`n_eff_tr_median:.0f`, the broadest over {glue:text}`n_eff_tr_max:.0f`; the
# largest single weight is {glue:text}`rel_tr_max:.0f` times the uniform share. The louder
# half of the frames gets a median {glue:text}`mass_louder_median:.0%` of a channel's weight,
# and {glue:text}`share_louder:.0%` of the channels give it more than half. Where the
# weights go when noise is added is chapter 6's question; whether channel-wise weights beat
# one weight per frame is chapter 5's.
#
# ## What to remember
#
# - All three variants share the scoring network's hidden layer $f(W h_t + b)$ and differ
#   in $v$: one score per frame (scalar, $v$ of shape $(A,)$), one per group of channels
#   (multi-head, $(H, A)$), or one per channel (channel-wise, $(C, A)$). The post's code is
#   channel-wise, without global context or batch norm.
# - Multi-head pooling with concatenated group statistics contains both: $H = 1$ is the
#   scalar layer, $H = C$ the channel-wise one, exactly.
# - ECAPA's global context is an utterance-dependent bias, $W_\mu \mu + W_\sigma \sigma$:
#   computed once per utterance it equals the explicit $(B, 3C, T)$ concatenation, without
#   the memory.
# - Batch norm followed directly by $v$ (Okabe's order) folds into $v$ and $k$ at
#   evaluation time; in training it makes an utterance's weights depend on its batch.
# - Channel-wise attention doubles the scalar layer's parameters and operations; multi-head
#   costs about what the scalar layer costs; against the encoder, the pooling is small.

# %% [markdown]
# ## Exercises
#
# 1. Chapter 2's hand-made attention used $b = -$(the utterance's median loudness): a bias
#    that depends on the utterance, which a fixed $b$ cannot be. Build the same idea with
#    global context, using the mean loudness: `AttentiveStatisticsPooling(C, 1,
#    global_context=True)` with $W_h = (1/C, \dots, 1/C)$, $W_\mu = -W_h$, $W_\sigma = 0$,
#    $b = 0$, $v = 1$. Then make the recording louder, $h + 3$ (every log-mel value up by 3,
#    the power multiplied by $e^3$), and compare the weights with and without the context
#    (for "without", keep $b$ fixed at the quiet recording's $-$mean loudness).
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# gc1 = AttentiveStatisticsPooling(C, 1, mode="scalar", global_context=True)
# fixed = AttentiveStatisticsPooling(C, 1, mode="scalar")
# loud = h.mean(dim=1)  # (B, T): W_h h_t
# with torch.no_grad():
#     for m in (gc1, fixed):
#         m.W.fill_(1 / C); m.v.fill_(1.0); m.k.zero_()
#     gc1.b.zero_()
#     gc1.W_context.zero_(); gc1.W_context[:, :C] = -1 / C  # W_mu = -W_h, W_sigma = 0
#     fixed.b.fill_(-float(loud.mean()))  # the quiet recording's mean loudness
#     for name, m in (("context", gc1), ("fixed b", fixed)):
#         a_quiet = m(h, return_attention=True)[1]
#         a_loud = m(h + 3, return_attention=True)[1]
#         print(name, float((a_loud - a_quiet).abs().max() * T))
# ```
# With the context the weights do not change (up to rounding):
#
# $$
# W_h (h_t + 3) + W_\mu (\mu + 3) = W_h h_t + W_\mu \mu ,
# $$
#
# since $W_\mu = -W_h$ and both average the 3 over the channels. With a fixed $b$ the same speech, only louder, gets other weights: the scores of
# the loud frames rise by 3, those of frames far below the threshold stay at 0 behind the
# ReLU, so the weights move further towards the loud frames. Global context gives the
# attention a reference point that moves with the recording.
# ````
#
# 2. Why can the batch norm in Okabe's order (ReLU, batch norm, $v$) be folded away at
#    evaluation time, but not the one in SpeechBrain's ECAPA-TDNN (ReLU, batch norm, tanh,
#    $v$)? Could it be folded into $W$ and $b$ instead?
#
# ```{admonition} Solution
# :class: dropdown
# In evaluation mode batch norm is an affine map of each hidden unit. An affine map followed
# by another affine map ($v$) is one affine map, so it folds into $v$ and $k$. In ECAPA's
# order the tanh sits between the batch norm and $v$:
# $v^\top \tanh(\gamma \odot (z - m)/s + \beta)$ is not $v'^\top \tanh(z) + k'$ for any
# $v'$, $k'$, because the batch norm's scale
# and shift decide where on the tanh's curve each unit sits (how close to its flat ends).
# It cannot move into $W$ and $b$ either, because the ReLU sits between $W$ and the batch
# norm: $\mathrm{BN}(\mathrm{ReLU}(z)) \ne \mathrm{ReLU}(\mathrm{BN}(z))$ when $\beta \neq 0$
# or $m \ne 0$. (With the order conv, batch norm, ReLU, as in many CNNs, it would fold into
# the convolution.)
# ```
#
# 3. How long may the utterances of a batch of 32 be before the explicit $(B, 3C, T)$
#    concatenation at $C = 1536$ takes 1 GiB in float32? In bfloat16? How much memory does
#    the broadcast form's context need at that length?
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# for dtype in (torch.float32, torch.bfloat16):
#     per_frame = torch.empty(32, 3 * 1536, 1, dtype=dtype, device="meta").nbytes
#     frames = 2**30 // per_frame
#     print(dtype, frames, "frames =", frames / 100, "s")
# ```
# In float32 each frame costs $32 \cdot 4608 \cdot 4$ bytes, so 1 GiB is reached at
# {glue:text}`gib_frames_f32` frames ({glue:text}`gib_seconds_f32:.1f` s), and at twice that,
# {glue:text}`gib_frames_bf16` frames, in bfloat16. The broadcast context
# does not depend on $T$ at all: it is one $(B, A)$ tensor, $32 \cdot 128$ numbers, whatever
# the length.
# ````
