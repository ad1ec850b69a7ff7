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
# Chapter 2 computed attentive statistics pooling one step at a time with one score per
# frame. The field uses several versions of the same idea, and the post this book starts
# from mixes two of them: its prose has one weight per frame, its code one per frame and
# channel. This chapter puts the variants side by side, each as one equation, the line of
# code that computes it, and a picture on the frames of a real recording:
#
# 1. **scalar** attention, one weight per frame {cite:p}`okabe2018attentive`;
# 2. **channel-wise** attention, one weight per frame and channel
#    {cite:p}`desplanques2020ecapa`, which is what the post's code computes;
# 3. **multi-head** attention, one weight per frame and group of channels
#    {cite:p}`india2019selfmultihead`, which lies between the two;
# 4. ECAPA-TDNN's **global context**, and how to compute it without a tensor three times
#    the size of the frames;
# 5. **where batch norm goes** in the scoring network;
# 6. what each variant **costs** in parameters and floating-point operations.
#
# Until the last section, nothing is trained: the pictures show *untrained* layers with
# random parameters (seeded), which show the shapes and what each variant *can* express,
# not what training makes of it. The last section shows the attention of a trained
# channel-wise model.
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


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book


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
S = features.log_mel(data.load_audio(utterance.path))  # (C, T) numpy, natural log of power
h = torch.from_numpy(S)[None]  # (B, C, T) = (1, 40, T)
B, C, T = h.shape
times = features.frame_times(T)  # (T,) seconds
assert (B, C) == (1, 40)
print("h:", tuple(h.shape), h.dtype, f"({T} frames, {T * features.HOP_SECONDS:.2f} s)")
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
print("W:", tuple(scalar.W.shape), " v:", tuple(scalar.v.shape), " k:", tuple(scalar.k.shape))
print("alpha:", tuple(alpha_s.shape), " pooled:", tuple(pooled_s.shape))
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
# A channel that carries speaker information only in some sounds can look at those sounds
# while another channel looks elsewhere. ECAPA also joins each frame with the utterance's
# mean and standard deviation before scoring (the global context, below).
#
# The post's code, `asp_lab.blog.ASP`, is channel-wise attention *without* the global
# context and without batch norm: its second `Conv1d` has `in_channels` outputs (chapter 2
# copied its weights into `mode="channel"` and got the same weights). Below, the channel-wise
# layer shares the scalar layer's hidden layer $W, b$, so the two differ only in $v$ and $k$.

# %%
torch.manual_seed(1)
channel = AttentiveStatisticsPooling(C, attention_channels=A, mode="channel")
with torch.no_grad():
    channel.W.copy_(scalar.W)  # the same hidden layer as the scalar attention
    channel.b.copy_(scalar.b)
    pooled_c, alpha_c = channel(h, return_attention=True)  # (B, 2C), (B, C, T)
print("v:", tuple(channel.v.shape), " k:", tuple(channel.k.shape))
print("alpha:", tuple(alpha_c.shape), " pooled:", tuple(pooled_c.shape))
assert alpha_c.shape == (B, C, T) and pooled_c.shape == (B, 2 * C)
assert torch.allclose(alpha_c.sum(dim=-1), torch.ones(B, C))  # each channel sums to 1 over time
post = blog.ASP(C)  # the post's block, for the parameter count
n_post, n_channel = models.count_parameters(post), models.count_parameters(
    AttentiveStatisticsPooling(C, 128, mode="channel"))
print(f"parameters at A = 128: the post's block {n_post}, mode='channel' {n_channel}")
assert n_post == n_channel
glue("n_post_40", n_post)

# %% [markdown]
# At $A = 128$, as the post has it, both layers have {glue:text}`n_post_40` parameters for
# $C = 40$ channels: $W$ and $b$, then $v$ and $k$ with one row per channel.
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
# {cite:t}`india2019selfmultihead`, whose attention "produces multiple alignments from
# different subsegments" of the encoded frames; WeSpeaker's `MHASTP`
# ([`wespeaker/models/pooling_layers.py`](https://github.com/wenet-e2e/wespeaker/blob/6b149b3afe6bcb288ea6c5cb04ca0de8339d7074/wespeaker/models/pooling_layers.py),
# which cites that paper) splits the channels with `torch.chunk`, computes each group's
# weighted mean and standard deviation and concatenates them. One difference: there, head
# $j$'s score sees only the channels of group $j$, through its own small network. Here all
# heads read the one shared hidden layer $f(W h_t + b)$, so that $H = 1$ and $H = C$ are
# *exactly* the two layers above.
#
# First by hand, with the three functions of chapter 2 and one new line, the
# `repeat_interleave` that gives each channel its head's weights:

# %%
H = 4  # heads; C / H = 10 mel bands per group
torch.manual_seed(2)
v_heads = torch.empty(H, A).uniform_(-A**-0.5, A**-0.5)  # (H, A), one v_j per head
k_heads = torch.zeros(H)  # (H,); cancels in the softmax anyway
with torch.no_grad():
    e_heads = pooling.attention_scores(h, scalar.W, scalar.b, v_heads, k_heads)  # (B, H, T)
    alpha_heads = pooling.attention_weights(e_heads)  # (B, H, T), each head sums to 1 over t
    alpha_per_channel = alpha_heads.repeat_interleave(C // H, dim=1)  # (B, C, T): head g(c)
    mu_m, sigma_m = pooling.weighted_moments(h, alpha_per_channel)  # (B, C) each
print("e:", tuple(e_heads.shape), " alpha:", tuple(alpha_heads.shape),
      " per channel:", tuple(alpha_per_channel.shape), " mu:", tuple(mu_m.shape))
assert alpha_heads.shape == (B, H, T) and alpha_per_channel.shape == (B, C, T)
assert torch.allclose(alpha_heads.sum(dim=-1), torch.ones(B, H))
assert torch.equal(alpha_per_channel[0, 10], alpha_heads[0, 1])  # channel 10 is in group 1

# %% [markdown]
# `asp_lab.variants.MultiHeadAttentiveStatisticsPooling(C, heads, attention_channels)` is
# these lines as a module (with padding masked, as everywhere in `asp_lab`). Given the same
# parameters it returns the same vector; with one head it is the scalar layer, and with one
# head per channel the channel-wise layer:

# %%
multi = MultiHeadAttentiveStatisticsPooling(C, heads=H, attention_channels=A)
one_head = MultiHeadAttentiveStatisticsPooling(C, heads=1, attention_channels=A)
all_heads = MultiHeadAttentiveStatisticsPooling(C, heads=C, attention_channels=A)
with torch.no_grad():
    for m, v, k in ((multi, v_heads, k_heads), (one_head, scalar.v[None], scalar.k[None]),
                    (all_heads, channel.v, channel.k)):
        m.W.copy_(scalar.W)
        m.b.copy_(scalar.b)
        m.v.copy_(v)
        m.k.copy_(k)
    pooled_m, alpha_m = multi(h, return_attention=True)  # (B, 2C), (B, H, T)
    pooled_1, alpha_1 = one_head(h, return_attention=True)  # (B, 2C), (B, 1, T)
    pooled_C, alpha_C = all_heads(h, return_attention=True)  # (B, 2C), (B, C, T)
print(multi)
print("pooled:", tuple(pooled_m.shape), " alpha:", tuple(alpha_m.shape))
diff_by_hand = float((pooled_m - torch.cat([mu_m, sigma_m], dim=1)).abs().max())
diff_one_head = float((pooled_1 - pooled_s).abs().max())
diff_all_heads = float((pooled_C - pooled_c).abs().max())
print(f"max |difference|: by hand {diff_by_hand:.1e}, H = 1 vs scalar {diff_one_head:.1e}, "
      f"H = C vs channel-wise {diff_all_heads:.1e}")
assert max(diff_by_hand, diff_one_head, diff_all_heads) < 1e-5
glue("H", H)
glue("group", C // H)
glue("diff_by_hand", diff_by_hand)
glue("diff_one_head", diff_one_head)
glue("diff_all_heads", diff_all_heads)

# %% [markdown]
# The pooled vectors agree to {glue:text}`diff_by_hand:.1e` (module against the lines by
# hand), {glue:text}`diff_one_head:.1e` (one head against the scalar layer) and
# {glue:text}`diff_all_heads:.1e` (one head per channel against the channel-wise layer).
#
# ## Seeing the variants on real frames
#
# Here are the weights of the three layers on the utterance's frames: the scalar layer's
# $\alpha_t$ as a curve, the multi-head layer's $(H, T)$ weights and the channel-wise
# layer's $(C, T)$ weights as maps. All three share $W$ and $b$ and are **untrained**
# (random $v$ and $k$). To compare weights of rows that each sum to one over $T$ frames, we
# plot $\log_2(T \alpha)$: 0 is the uniform share $1/T$ of statistics pooling, $+1$ twice
# it, $-1$ half.

# %%
rel_s = np.log2(T * alpha_s[0].numpy())  # (T,)
rel_m = np.log2(T * alpha_m[0].numpy())  # (H, T)
rel_c = np.log2(T * alpha_c[0].numpy())  # (C, T)
n_eff_s = handset.effective_frames(alpha_s[0])
n_eff_m = [handset.effective_frames(alpha_m[0, j]) for j in range(H)]
n_eff_c = [handset.effective_frames(alpha_c[0, c]) for c in range(C)]
spread_c = alpha_c[0].max(dim=0).values / alpha_c[0].min(dim=0).values  # (T,), across channels
print(f"N_eff: scalar {n_eff_s:.1f}; heads {min(n_eff_m):.1f} to {max(n_eff_m):.1f}; "
      f"channels {min(n_eff_c):.1f} to {max(n_eff_c):.1f} (of T = {T})")
glue("n_eff_s", n_eff_s)
glue("n_eff_m_min", min(n_eff_m))
glue("n_eff_m_max", max(n_eff_m))
glue("n_eff_c_min", min(n_eff_c))
glue("n_eff_c_max", max(n_eff_c))
glue("spread_c_median", float(spread_c.median()))
glue("rel_c_max", float(2 ** rel_c.max()))

# %% mystnb={"image": {"alt": "Untrained attention variants on one utterance: log-mel frames on top, then the scalar weights as one curve, the four heads' weights as a 4-row map and the channel-wise weights as a 40-row map, all against time in seconds."}}
fig, axes = plt.subplots(4, 1, figsize=(9, 8.5), sharex=True, layout="constrained",
                         gridspec_kw={"height_ratios": [1.2, 0.8, 0.6, 1.4]})
ax_frames, ax_s, ax_m, ax_c = axes
image = viz.spectrogram(ax_frames, S, colorbar=False)
ax_frames.set_xlabel("")
ax_frames.set_title(f"Untrained variants on {UTTERANCE}: log-mel frames, then weights relative to 1/T")
fig.colorbar(image, ax=[ax_frames, ax_s], label="log mel power\n(natural log)", pad=0.01, fraction=0.03)
ax_s.plot(times, rel_s, color="tab:blue", linewidth=1)
ax_s.axhline(0, color="black", linestyle=":", linewidth=1.2)
ax_s.set_ylabel("scalar\n" + r"$\log_2(T \alpha_t)$")
ax_s.grid(alpha=0.3)
style = dict(origin="lower", aspect="auto", interpolation="nearest", cmap="cividis", vmin=-3, vmax=3)
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
# From top to bottom: the frames; the scalar layer's weights, one curve shared by all 40
# bands; the four heads, one row per group of {glue:text}`group` bands; one row per band for
# the channel-wise layer (yellow: more than $1/T$, dark blue: less). The scalar layer
# spreads its weight over {glue:text}`n_eff_s:.0f` effective frames of {glue:text}`T`
# ($N_\text{eff} = 1 / \sum_t \alpha_t^2$, chapter 2); the heads over
# {glue:text}`n_eff_m_min:.0f` to {glue:text}`n_eff_m_max:.0f`, the channels over
# {glue:text}`n_eff_c_min:.0f` to {glue:text}`n_eff_c_max:.0f`. Even untrained, the
# channel-wise rows disagree: at a given frame the largest channel weight is a median
# {glue:text}`spread_c_median:.1f` times the smallest, and the largest single weight is
# {glue:text}`rel_c_max:.1f` times the uniform share. Random $v_c$ pick up the random
# hidden units with random signs, so each row follows the loudness with its own sign and
# strength: some channels favour the speech, others the pauses. Training decides which.
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
# (exercise 1). SpeechBrain's `AttentiveStatisticsPooling` (in
# [`speechbrain/lobes/models/ECAPA_TDNN.py`](https://github.com/speechbrain/speechbrain/blob/128b2f385ee2bb6edee3b9f2eb4e03b695fe8b4a/speechbrain/lobes/models/ECAPA_TDNN.py))
# builds the left side: it repeats $\mu$ and $\sigma$ over time with `.repeat(1, 1, L)` and
# concatenates, a `(B, 3C, T)` tensor. `asp_lab` computes the right side:
# `AttentiveStatisticsPooling(C, A, mode="channel", global_context=True)` holds
# $W_h$ as `W` and $[W_\mu, W_\sigma]$ as `W_context`, of shape $(A, 2C)$, and adds
# `W_context @ [mu; sigma]`, one $(A,)$ vector per utterance, to $W_h h_t + b$. We check
# that both give the same weights by building the explicit concatenation from the module's
# own parameters:

# %%
torch.manual_seed(3)
ecapa = AttentiveStatisticsPooling(C, attention_channels=A, mode="channel", global_context=True)
print(ecapa)
print("W:", tuple(ecapa.W.shape), " W_context:", tuple(ecapa.W_context.shape))


def explicit_global_context(m: AttentiveStatisticsPooling, h: torch.Tensor):
    """The global context as ECAPA-TDNN writes it: score the (B, 3C, T) tensor [h_t; mu; sigma]."""
    B, C, T = h.shape
    mu, sigma = pooling.weighted_moments(h, pooling.uniform_weights(B, T))  # unweighted, (B, C) each
    joined = torch.cat([h, mu[:, :, None].expand(B, C, T), sigma[:, :, None].expand(B, C, T)],
                       dim=1)  # (B, 3C, T): mu and sigma copied to every frame
    W_full = torch.cat([m.W, m.W_context], dim=1)  # (A, 3C) = [W_h, W_mu, W_sigma]
    alpha = pooling.attention_weights(pooling.attention_scores(joined, W_full, m.b, m.v, m.k, f=m.f))
    mu_w, sigma_w = pooling.weighted_moments(h, alpha)
    return torch.cat([mu_w, sigma_w], dim=1), alpha, joined


with torch.no_grad():
    pooled_g, alpha_g = ecapa(h, return_attention=True)  # broadcast form
    pooled_x, alpha_x, joined = explicit_global_context(ecapa, h)  # explicit concatenation
print("joined:", tuple(joined.shape), " alpha:", tuple(alpha_x.shape), " pooled:", tuple(pooled_x.shape))
assert joined.shape == (B, 3 * C, T) and alpha_x.shape == alpha_g.shape == (B, C, T)
diff_gc_alpha = float((alpha_g - alpha_x).abs().max())
diff_gc_pooled = float((pooled_g - pooled_x).abs().max())
print(f"max |alpha difference| = {diff_gc_alpha:.1e} (weights near 1/T = {1 / T:.1e}), "
      f"max |pooled difference| = {diff_gc_pooled:.1e}")
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
# (SpeechBrain's default `channels[-1]`) and $A = 128$, for a batch of 32 crops of 3 s
# ($T = 300$ frames) in float32. We ask PyTorch for the sizes on the `meta` device, which
# has shapes and no memory:

# %%
B_big, C_big, A_big, T_big = 32, 1536, 128, 300
MIB = 2**20
frames_bytes = torch.empty(B_big, C_big, T_big, device="meta").nbytes  # h itself
joined_bytes = torch.empty(B_big, 3 * C_big, T_big, device="meta").nbytes  # [h; mu; sigma]
context_bytes = torch.empty(B_big, A_big, device="meta").nbytes  # W_mu mu + W_sigma sigma
print(f"h: {frames_bytes / MIB:.2f} MiB; explicit (B, 3C, T): {joined_bytes / MIB:.2f} MiB; "
      f"broadcast context (B, A): {context_bytes / 1024:.0f} KiB")
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
# SpeechBrain's order is read off its code (file above): `TDNNBlock.forward` returns
# `self.dropout(self.norm(self.activation(self.conv(x))))`, and the pooling computes
# `self.conv(self.tanh(self.tdnn(attn)))`. WeSpeaker's is in the `pooling_layers.py` linked
# above.
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
# normalises each hidden unit with the mean and variance of the *batch*, over all its
# utterances and frames, so one utterance's weights depend on which other utterances share
# its batch (and on padded frames, which `BatchNorm1d` counts like real ones). Both, in
# code, with `AttentiveStatisticsPooling(C, 64, batch_norm=True)` and a second utterance of
# another speaker cut to the same length:

# %%
other = {u.name: u for u in data.utterances("test-other")}["3080-5032-0004"]  # chapter 2's
h_other = torch.from_numpy(features.log_mel(data.load_audio(other.path)))[None]  # (1, C, T_other)
T_cut = min(T, h_other.shape[-1], 400)
h_pair = torch.cat([h[..., :T_cut], h_other[..., :T_cut]])  # (2, C, T_cut)
torch.manual_seed(4)
with_bn = AttentiveStatisticsPooling(C, attention_channels=A, mode="scalar", batch_norm=True)
print(with_bn)
with torch.no_grad():
    with_bn.train()  # batch statistics (and the running averages are updated)
    _, alpha_alone = with_bn(h_pair[:1], return_attention=True)  # (1, T_cut)
    _, alpha_pair = with_bn(h_pair, return_attention=True)  # (2, T_cut)
    with_bn.eval()  # running statistics
    _, alpha_alone_eval = with_bn(h_pair[:1], return_attention=True)
    _, alpha_pair_eval = with_bn(h_pair, return_attention=True)
print("alpha:", tuple(alpha_alone.shape), tuple(alpha_pair.shape))
bn_train_change = float((alpha_pair[0] - alpha_alone[0]).abs().max() * T_cut)
bn_eval_change = float((alpha_pair_eval[0] - alpha_alone_eval[0]).abs().max() * T_cut)
print(f"max |change| of utterance 0's weights when utterance 1 joins its batch, x T: "
      f"training {bn_train_change:.3f}, evaluation {bn_eval_change:.1e}")

# evaluation mode: fold the batch norm into v and k, and drop it
norm = with_bn.norm
scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # (A,)
folded = AttentiveStatisticsPooling(C, attention_channels=A, mode="scalar")  # no batch norm
with torch.no_grad():
    folded.W.copy_(with_bn.W)
    folded.b.copy_(with_bn.b)
    folded.v.copy_(with_bn.v * scale)  # v'
    folded.k.copy_(with_bn.k + with_bn.v @ (norm.bias - norm.running_mean * scale))  # k'
    pooled_bn, alpha_bn = with_bn(h, return_attention=True)
    pooled_fold, alpha_fold = folded(h, return_attention=True)
diff_fold = float((alpha_fold - alpha_bn).abs().max() * T)
print(f"max |alpha(folded) - alpha(batch norm)| x T = {diff_fold:.1e}")
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
# order the tanh comes after the batch norm, and there it matters at evaluation time too:
# batch norm sets how far into the tanh's flat ends the hidden units reach (exercise 2).
# `asp_lab` leaves it off by default, as the post's code does, and offers Okabe's order with
# `batch_norm=True`.
#
# ## What each variant costs
#
# The post's `__main__` printed a summary of its block with `torchsummary`, which is no
# longer maintained; its maintained successor is `torchinfo` (formerly `torch-summary`, a
# rewrite of the original `torchsummary`), which is not installed here. The same
# information takes a few lines of PyTorch: a table of the parameters, and
# `torch.utils.flop_counter.FlopCounterMode` for the operations. Here is the post's block
# at ECAPA's size, parameter by parameter, next to the names `asp_lab` uses:

# %%
post_big = blog.ASP(C_big)
ours_big = AttentiveStatisticsPooling(C_big, A_big, mode="channel")
rows = []
for (name, p), (our_name, q) in zip(post_big.named_parameters(), ours_big.named_parameters(), strict=True):
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
# For every variant we count the parameters from the module (the sum of `numel()` over
# its parameters) and the operations from a formula, counting a multiply-add as 2 FLOPs.
# Per utterance of $T$ frames, with $K$ scores per frame:
#
# - matrix products: $2ACT$ for $W h_t$, $2KAT$ for $v$; global context adds $2A \cdot 2C$
#   once per utterance (broadcast), or $2A \cdot 2C \cdot T$ (explicit concatenation).
#   The two weighted sums of the moments, $\sum_t \alpha_t h_t$ and
#   $\sum_t \alpha_t (h_t - \mu)^2$, are batched dot products in `asp_lab` (chapter 7),
#   $2CT$ each, so $4CT$, and $4CT$ more for global context's unweighted moments;
# - elementwise, roughly: $AT$ for the ReLU ($2AT$ more for a batch norm), $3KT$ for the
#   softmax (exponential, sum, division), $2CT$ for the rest of the moments (subtract the
#   mean, square), and $2CT$ more for global context's.
#
# `FlopCounterMode` counts the matrix products and convolutions (`asp_lab` computes
# $W h_t + b$ at every frame as a convolution with kernel size 1, chapter 7), and not the
# elementwise operations, so it checks the first line exactly.

# %%
def pooling_variants(C: int, A: int, H: int) -> dict:
    """name -> (module, K scores per frame, batch norm?, global context: None/'broadcast'/'explicit')."""
    torch.manual_seed(0)
    gc = AttentiveStatisticsPooling(C, A, mode="channel", global_context=True)
    return {
        "statistics pooling": (StatisticsPooling(), 0, False, None),
        "scalar (Okabe)": (AttentiveStatisticsPooling(C, A, mode="scalar"), 1, False, None),
        "scalar + batch norm": (AttentiveStatisticsPooling(C, A, mode="scalar", batch_norm=True).eval(),
                                1, True, None),
        f"multi-head, H = {H}": (MultiHeadAttentiveStatisticsPooling(C, H, A), H, False, None),
        "channel-wise (post's code)": (AttentiveStatisticsPooling(C, A, mode="channel"), C, False, None),
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
         "the book's TDNN": dict(C=shipped["pool_channels"], A=shipped["attention_channels"], T=300, H=8)}
print("the book's TDNN:", shipped)
costs = {}
for size, s in SIZES.items():
    for name, (module, K, bn, gc) in pooling_variants(s["C"], s["A"], s["H"]).items():
        params, matmul, elementwise = formula(s["C"], s["A"], s["T"], K, bn, gc)
        counted = models.count_parameters(module)
        assert counted == params, (size, name, counted, params)
        flops = counted_matmul_flops(module, gc, s["C"], s["T"])
        assert flops == matmul, (size, name, flops, matmul)
        costs[size, name] = dict(K=K, params=counted, matmul=matmul, counted=flops, elementwise=elementwise)
print(f"{len(costs)} rows: parameters and matrix-product FLOPs agree with the formulas")
glue("tdnn_C", shipped["pool_channels"])
glue("tdnn_A", shipped["attention_channels"])

# %% [markdown]
# Every parameter count from the modules equals the formula, and every count of
# `FlopCounterMode` equals the formula's matrix products. The two sizes: ECAPA-like
# ($C = 1536$, $A = 128$, $H = 8$) and this book's x-vector encoder as chapter 5 trains
# it, read from its shipped checkpoint: its pooling sees $C =$ {glue:text}`tdnn_C` channels, with $A =$ {glue:text}`tdnn_A` hidden units
# ($H = 8$). Both for $T = 300$ frames (3 s).

# %%
for size, s in SIZES.items():
    rows = []
    for (sz, name), c in costs.items():
        if sz != size:
            continue
        total = c["matmul"] + c["elementwise"]
        rows.append([name, c["K"] if c["K"] else "-", f"{c['params']:,}", f"{c['matmul'] / 1e6:.2f}",
                     f"{c['counted'] / 1e6:.2f}", f"{total / 1e6:.2f}"])
    display(HTML(f"<p><strong>{size}</strong>: C = {s['C']}, A = {s['A']}, T = {s['T']}, H = {s['H']}; "
                 f"operations in MFLOP per utterance</p>"))
    show_table(["variant", "K", "parameters", "matrix products", "FlopCounterMode", "total"], rows)

ecapa_cost = {name: c for (size, name), c in costs.items() if size == "ECAPA-like"}
scalar_c, channel_c = ecapa_cost["scalar (Okabe)"], ecapa_cost["channel-wise (post's code)"]
gc_c, explicit_c = ecapa_cost["channel + context (ECAPA)"], ecapa_cost["the same, explicit concat."]
glue("ecapa_scalar_params", scalar_c["params"])
glue("ecapa_channel_params", channel_c["params"])
glue("ecapa_gc_params", gc_c["params"])
glue("ecapa_channel_over_scalar", channel_c["params"] / scalar_c["params"])
glue("ecapa_channel_flop_ratio", (channel_c["matmul"] + channel_c["elementwise"])
     / (scalar_c["matmul"] + scalar_c["elementwise"]))
glue("ecapa_explicit_flop_ratio", (explicit_c["matmul"] + explicit_c["elementwise"])
     / (gc_c["matmul"] + gc_c["elementwise"]))
glue("ecapa_gc_mflop", (gc_c["matmul"] + gc_c["elementwise"]) / 1e6)
glue("ecapa_explicit_mflop", (explicit_c["matmul"] + explicit_c["elementwise"]) / 1e6)

# %% mystnb={"image": {"alt": "Bar charts of parameters (thousands) and operations per utterance (MFLOP) for each pooling variant, at the ECAPA-like size in blue and at the book's TDNN size in orange."}}
names = [name for (size, name) in costs if size == "ECAPA-like"]
y = np.arange(len(names))
fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharey=True, layout="constrained")
for (ax_p, ax_f), size, colour in zip(axes, SIZES, ("tab:blue", "tab:orange"), strict=True):
    s = SIZES[size]
    params = [costs[size, n]["params"] / 1e3 for n in names]
    flops = [(costs[size, n]["matmul"] + costs[size, n]["elementwise"]) / 1e6 for n in names]
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
# Parameters (left) and operations per utterance (right) of each variant at the two sizes
# (top: ECAPA-like; bottom: the book's TDNN; each panel has its own scale);
# statistics pooling has no parameters and its operations, the moments alone, hardly show.
# At the ECAPA-like size the scalar layer has {glue:text}`ecapa_scalar_params:,` parameters
# and the channel-wise one {glue:text}`ecapa_channel_params:,`,
# {glue:text}`ecapa_channel_over_scalar:.1f` times as many: its $v$ has a row per channel,
# as big as $W$. Its operations grow in the same proportion,
# {glue:text}`ecapa_channel_flop_ratio:.1f` times the scalar layer's: $2CAT$ for $v$, as much
# as for $W h_t$. Multi-head attention costs about what the scalar layer costs: $H$ rows of
# $v$ instead of one. Global
# context adds $W_\mu, W_\sigma$ ({glue:text}`ecapa_gc_params:,` parameters in all) but, in the
# broadcast form, almost no operations; the explicit concatenation makes the first map three
# times as wide at every frame, {glue:text}`ecapa_explicit_mflop:.0f` MFLOP against
# {glue:text}`ecapa_gc_mflop:.0f` ({glue:text}`ecapa_explicit_flop_ratio:.2f` times).
#
# Against the encoder, the pooling is small either way: in this book's x-vector model

# %%
size = {k: v for k, v in shipped.items() if k != "pooling"}  # n_mels, channels, pool_channels, ...
built = {p: models.build_model(p, **size) for p in models.POOLINGS}
whole = {p: models.count_parameters(m) for p, m in built.items()}
share = {p: models.count_parameters(m.pooling) / whole[p] for p, m in built.items()}
for p in models.POOLINGS:
    print(f"{p:12s} model {whole[p]:>8,} parameters, pooling {share[p]:.1%} of them")
glue("tdnn_stats_params", whole["stats"])
glue("tdnn_scalar_share", share["asp-scalar"])
glue("tdnn_channel_share", share["asp-channel"])

# %% [markdown]
# the whole model has {glue:text}`tdnn_stats_params:,` parameters with statistics pooling; the
# scalar attention adds {glue:text}`tdnn_scalar_share:.1%` of the total, the channel-wise one
# {glue:text}`tdnn_channel_share:.1%`. Chapter 5 trains all three and asks whether the
# difference shows in the error rates.
#
# ## The trained channel-wise model's attention
#
# Everything above was untrained. Chapter 5 trains the book's x-vector encoder with each
# pooling on the book's LibriSpeech training speakers with noise added, and ships the models in
# `asp_lab/checkpoints/`. `asp_lab.load_model("asp-channel")` loads the channel-wise one
# (seed 0), and `asp_lab.analysis.channel_attention(model, waveform)` runs it on a waveform
# and returns the pooling's weights for every channel, `(P, T')`, with the time of each
# output frame's centre. Its pooling sees the $P$ channels of the encoder's last frame layer,
# not mel bands, and $T' = T -$ {glue:text}`context` frames (the encoder's convolutions use
# {glue:text}`offset` frames on either side). Same utterance as above:

# %%
trained = asp_lab.load_model("asp-channel")  # shipped checkpoint, eval mode, CPU
print(trained.pooling)
waveform = data.load_audio(utterance.path)
times_tr, alpha_tr = analysis.channel_attention(trained, waveform)  # (T',) seconds, (P, T')
P, T_out = alpha_tr.shape
print("times:", times_tr.shape, " alpha:", alpha_tr.shape, f"(P = {P} channels, T' = {T_out} frames)")
assert P == trained.config["pool_channels"] and T_out == T - models.CONTEXT
assert np.allclose(alpha_tr.sum(axis=1), 1.0)
rel_tr = np.log2(T_out * alpha_tr)  # (P, T'), 0 = uniform share
n_eff_tr = np.array([handset.effective_frames(a) for a in alpha_tr])  # (P,)
order = np.argsort(n_eff_tr)  # most concentrated channel first
# which frames: the louder half of the log-mel frames each output frame is centred on
loudness = S.mean(axis=0)[models.FRAME_OFFSET : models.FRAME_OFFSET + T_out]  # (T',)
louder = loudness > np.median(loudness)
mass_louder = alpha_tr[:, louder].sum(axis=1)  # (P,): each channel's weight on the louder half
print(f"N_eff per channel: {n_eff_tr.min():.1f} to {n_eff_tr.max():.1f}, median {np.median(n_eff_tr):.1f} "
      f"(of T' = {T_out}); weight on the louder half: median {np.median(mass_louder):.2f}")
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

# %% mystnb={"image": {"alt": "The trained channel-wise model on one utterance: log-mel frames on top and below them a map of every pooled channel's weights relative to the uniform share against time in seconds, channels sorted from the most concentrated at the bottom to the broadest at the top."}}
fig, (ax_frames, ax_map) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, layout="constrained",
                                        gridspec_kw={"height_ratios": [1, 1.6]})
image = viz.spectrogram(ax_frames, S, colorbar=False)
ax_frames.set_xlabel("")
ax_frames.set_title(f"Trained channel-wise ASP (asp-channel, seed 0) on {UTTERANCE}")
fig.colorbar(image, ax=ax_frames, label="log mel power\n(natural log)", pad=0.01, fraction=0.03)
maps = ax_map.imshow(rel_tr[order], origin="lower", aspect="auto", interpolation="nearest", cmap="cividis",
                     vmin=-4, vmax=4, extent=(times_tr[0] - 0.005, times_tr[-1] + 0.005, -0.5, P - 0.5))
ax_map.set_ylabel("pooled channel, sorted by $N_\\mathrm{eff}$\n(most concentrated at the bottom)")
ax_map.set_xlabel("time (s)")
fig.colorbar(maps, ax=ax_map, label=r"$\log_2(T' \alpha_{t,c})$ (0 = uniform)", pad=0.01, fraction=0.03,
             extend="both")
plt.show()

# %% [markdown]
# The log-mel frames (top) and the trained weights of all {glue:text}`P` pooled channels
# (bottom) over the {glue:text}`T_out` output frames, each row relative to the uniform share
# as before, rows sorted by their effective number of frames. Unlike the untrained layers,
# the channels differ a lot: the most concentrated spreads its weight over
# {glue:text}`n_eff_tr_min:.0f` effective frames, the median channel over
# {glue:text}`n_eff_tr_median:.0f`, the broadest over {glue:text}`n_eff_tr_max:.0f`; the
# largest single weight is {glue:text}`rel_tr_max:.0f` times the uniform share. The louder
# half of the frames gets a median {glue:text}`mass_louder_median:.0%` of a channel's weight,
# and {glue:text}`share_louder:.0%` of the channels give it more than half. Where the
# weights go when noise is added is chapter 6's question; whether channel-wise weights beat
# one weight per frame is chapter 5's.
#
# ## Summary
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
# - Batch norm in the scoring network folds into $v$ and $k$ at evaluation time when $v$
#   follows it directly (Okabe's order); in training it makes an utterance's weights depend on
#   its batch. In ECAPA's order a tanh follows it, and it cannot be folded away.
# - Channel-wise attention doubles the scalar layer's parameters and operations ($v$ is as
#   big as $W$); multi-head attention costs about what the scalar layer costs; the broadcast
#   global context adds parameters but almost no operations. Against the encoder, the pooling
#   is small.

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
# With the context the weights do not change (up to rounding): $W_h (h_t + 3) + W_\mu
# (\mu + 3) = W_h h_t + W_\mu \mu$, since $W_\mu = -W_h$ and both average the 3 over the
# channels. With a fixed $b$ the same speech, only louder, gets other weights: the scores of
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
# order the tanh sits between the batch norm and $v$: $v^\top \tanh(\gamma \odot (z - m)/s
# + \beta)$ is not $v'^\top \tanh(z) + k'$ for any $v'$, $k'$, because the batch norm's scale
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
