# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ASP step by step
#
# Attentive statistics pooling (ASP) turns the frames of an utterance into one vector in three
# steps: score every frame, turn the scores into weights, and take the weighted mean and
# standard deviation. The post this book starts from describes them in two lines of maths and
# one block of PyTorch. This chapter takes the post's words one equation at a time, with the
# line of code that computes each, on the frames of a real recording. You will learn:
#
# 1. how a small network scores each frame, $e_t = v^T f(W h_t + b) + k$, and how to choose
#    its parameters by hand so that it listens to speech and ignores pauses;
# 2. how a softmax turns the scores into weights $\alpha_t$, why the bias $k$ does nothing,
#    and how the spread of the scores slides ASP from one frame to statistics pooling;
# 3. how the weighted mean and standard deviation make the pooled vector, and why uniform
#    weights give statistics pooling exactly;
# 4. where the post's code differs from its prose: one weight per frame *and channel*.
#
# No network is trained here: we choose the attention's parameters by hand, so that we know
# what it should do and can check that it does. At the end, a widget lets you move the knobs
# yourself. The symbols and shapes are those of the [notation page](../book/notation.md).
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
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from asp_lab import blog, data, features, handset, pooling, viz, widgets
from asp_lab.pooling import AttentiveStatisticsPooling, StatisticsPooling

glue = viz.glue  # stores the values the text quotes (nothing outside the book)

torch.manual_seed(0)
torch.set_printoptions(precision=4)

# %% [markdown]
# ## The frames
#
# We take one utterance from LibriSpeech test-other, about six seconds of read speech, and
# compute its log-mel frames with `asp_lab.features.log_mel`: $C = 40$ mel bands, one frame
# every 10 ms, each value the natural log of a band's power. In a speaker-embedding network
# the frames $h_t$ would come out of the last frame-level layer; log-mel frames have the
# same shape, $(C, T)$, and a meaning we can read. The pooling functions take a batch,
# `h: (B, C, T)`, so we add a batch axis of 1.

# %%
UTTERANCE = "3080-5032-0004"
utterance = {u.name: u for u in data.utterances("test-other")}[UTTERANCE]
S = features.log_mel(data.load_audio(utterance.path))  # (C, T), ln power
h = torch.from_numpy(S)[None]  # (B, C, T) = (1, 40, T)
B, C, T = h.shape
times = features.frame_times(T)  # (T,) seconds
print("h:", tuple(h.shape), h.dtype, f"({T * features.HOP_SECONDS:.2f} s)")

# %% tags=["remove-cell"]
assert (B, C) == (1, 40)
glue("T", T, display=False)
glue("duration", T * features.HOP_SECONDS, display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Log-mel frames h of the chapter's test-other utterance: mel band against time in seconds, colour showing log mel power."}}
fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
viz.spectrogram(ax, S, title=f"Log-mel frames h of {UTTERANCE} "
                             f"(test-other, speaker {utterance.speaker})")
plt.show()

# %% [markdown]
# Speech shows as bright columns, with the harmonics of the voice in the low bands; the
# pauses between words are dark from top to bottom. These are the frames
# $h_1, \dots, h_T$, $T =$ {glue:text}`T` frames ({glue:text}`duration:.2f` s).

# %% [markdown]
# ## Step 1: a score per frame, $e_t$
#
# The post:
#
# > $e_t = v^T f(W h_t + b) + k$ [...] a scalar score $e_t$ of each frame $h_t$ is calculated
# > by affine transformation -> non-linear activation -> affine transformation.
#
# With $A$ hidden units: $W$ is $(A, C)$, $b$ is $(A,)$, $f$ is a non-linearity (ReLU in
# {cite:t}`okabe2018attentive`), $v$ is $(A,)$ and $k$ is a number. One frame in, one number
# out. {py:func}`asp_lab.pooling.attention_scores(h, W, b, v, k)
# <asp_lab.pooling.steps.attention_scores>` computes it for every frame at once; after
# checking its inputs, these are its lines (in `asp_lab/pooling/steps.py`):

# %%
print(viz.source_from(pooling.attention_scores, "z = "))

# %% [markdown]
# Trained parameters would come from data. Before any training we can still choose
# parameters that make sense, and then check that the three steps do what we meant. A
# simple wish: *listen to the frames where somebody speaks, ignore the pauses*. Loudness
# separates the two well enough here, and a one-unit network ($A = 1$) computes it:
#
# - $W = (1/C, \dots, 1/C)$ averages the $C$ log-mel bands: $W h_t$ is the frame's loudness,
#   in nats (natural log of power);
# - $b = -\text{threshold}$, the median loudness of the utterance, so $W h_t + b$ is positive
#   for the louder half of the frames;
# - $f = \text{ReLU}$ sets every frame quieter than the threshold to 0;
# - $v$ is a scale, score per nat above the threshold: we take $v = 1$;
# - $k = 0$ (step 2 shows that its value does not matter).

# %%
loudness = h.mean(dim=1)[0]  # (T,): W h_t with W = 1/C, in nats
threshold = loudness.median()
W = torch.full((1, C), 1.0 / C)  # (A, C) = (1, 40)
b = -threshold.reshape(1)  # (A,) = (1,)
v = torch.tensor([1.0])  # (A,) = (1,)
k = torch.tensor(0.0)  # scalar
e = pooling.attention_scores(h, W, b, v, k, f=torch.relu)  # (B, T)
print("e:", tuple(e.shape))

# %% tags=["remove-cell"]
assert e.shape == (B, T)
# the same by hand, frame by frame: v * relu(loudness - threshold) + k
assert torch.allclose(e[0], v * torch.relu(loudness - threshold) + k, atol=1e-5)
# the widget at the end of the chapter builds exactly these parameters
for ours, its in zip((W, b, v, k), handset.loudness_attention(h, scale=1.0), strict=True):
    assert torch.equal(ours, its)
glue("threshold", float(threshold), display=False)
glue("frac_zero", float((e == 0).float().mean()), display=False)
glue("e_max", float(e.max()), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 1: the spectrogram on top and, below on the same time axis, the loudness-attention score e_t, high in loud frames and flat in pauses."}}
fig, ax_frames, ax_e = viz.frames_and_curve(S)
ax_frames.set_title(r"Step 1: scores $e_t = v\,\mathrm{ReLU}(\mathrm{mean}_c\, h_{t,c}"
                    r" - \mathrm{threshold}) + k$ (loudness attention)")
ax_e.plot(times, e[0], color="tab:blue", linewidth=1)
ax_e.fill_between(times, 0, e[0], color="tab:blue", alpha=0.3)
ax_e.set_ylabel(r"score $e_t$")
plt.show()

# %% [markdown]
# The loudness attention scores the speech and gives every pause exactly 0 (the ReLU): that
# is {glue:text}`frac_zero:.0%` of the frames, half by construction of the median threshold
# ({glue:text}`threshold:.2f` nats). Loud voiced frames score up to {glue:text}`e_max:.2f`.
#
# For contrast, here are the scores of an *untrained* ASP layer: $A = 128$ hidden units with
# $W, b, v, k$ drawn at random, as `AttentiveStatisticsPooling` initialises them (like
# `nn.Linear`, uniform in $\pm 1/\sqrt{\text{fan-in}}$).

# %%
untrained = AttentiveStatisticsPooling(C, attention_channels=128, mode="scalar")
with torch.no_grad():
    W_r, b_r, v_r, k_r = untrained.W, untrained.b, untrained.v, untrained.k
    e_random = pooling.attention_scores(h, W_r, b_r, v_r, k_r)  # (B, T)
print("W:", tuple(W_r.shape), " e:", tuple(e_random.shape))

# %% tags=["remove-cell"]
assert e_random.shape == (B, T)
corr = float(np.corrcoef(e_random[0].numpy(), loudness.numpy())[0, 1])
glue("corr_random", corr, display=False)
glue("e_random_spread", float(e_random.max() - e_random.min()), display=False)
glue("e_spread", float(e.max() - e.min()), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 1 with a random untrained layer: the spectrogram on top and, below, its scores e_t (orange) against time."}}
fig, ax_frames, ax_e = viz.frames_and_curve(S)
ax_frames.set_title(r"Step 1 with random $W, b, v, k$ ($A = 128$): "
                    r"scores $e_t$ of an untrained layer")
ax_e.plot(times, e_random[0], color="tab:orange", linewidth=1)
ax_e.set_ylabel(r"score $e_t$")
plt.show()

# %% [markdown]
# Random parameters give scores that follow loudness, but with a small spread. The 40
# log-mel bands rise and fall together, so any linear map of them mostly measures loudness,
# with some sign: here the correlation is {glue:text}`corr_random:.2f`. But the scores span
# only {glue:text}`e_random_spread:.2f` from lowest to highest, against
# {glue:text}`e_spread:.2f` for our loudness attention; step 2 shows what such a small spread
# means for the weights.

# %% [markdown]
# ## Step 2: weights that sum to one, $\alpha_t$
#
# The post:
#
# > $\alpha_t = \dfrac{e^{e_t}}{\sum e^{e_k}}$ [...] The normalization process is softmax.
#
# (The post's sum runs over an index called $k$, the same letter as the bias of step 1; we
# write $\alpha_t = \exp(e_t) / \sum_{\tau=1}^{T} \exp(e_\tau)$.) The weights are positive and
# sum to one over the frames of the utterance.
# {py:func}`pooling.attention_weights(e) <asp_lab.pooling.steps.attention_weights>` computes them,
# subtracting each row's largest score first so that large scores cannot overflow.

# %%
alpha = pooling.attention_weights(e)  # (B, T)
print("alpha:", tuple(alpha.shape), " sum over t:", float(alpha.sum()))

# %% tags=["remove-cell"]
assert alpha.shape == (B, T)
assert torch.allclose(alpha.sum(dim=-1), torch.ones(B))
assert torch.allclose(alpha[0], torch.exp(e[0]) / torch.exp(e[0]).sum())  # by hand
voiced = e[0] > 0  # frames above the threshold
glue("frac_voiced", float(voiced.float().mean()), display=False)
glue("mass_voiced", float(alpha[0, voiced].sum()), display=False)
glue("n_eff", handset.effective_frames(alpha[0]), display=False)
glue("n_eff_random", handset.effective_frames(pooling.attention_weights(e_random)[0]),
     display=False)
glue("max_over_uniform", float(alpha.max() * T), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 2: the spectrogram on top and, below, the weights alpha_t (blue) against the dotted uniform share 1/T; loud frames get more than 1/T."}}
fig, ax_frames, ax_a = viz.frames_and_curve(S)
ax_frames.set_title(r"Step 2: weights $\alpha_t = \mathrm{softmax}_t(e)$ "
                    "of the loudness attention")
ax_a.plot(times, alpha[0], color="tab:blue", linewidth=1, label=r"$\alpha_t$")
ax_a.axhline(1 / T, color="black", linestyle=":", linewidth=1.5,
             label=r"uniform share $1/T$")
ax_a.set_ylabel(r"weight $\alpha_t$")
ax_a.set_ylim(bottom=0)
ax_a.legend(loc="upper left")
plt.show()

# %% [markdown]
# The pauses get almost no weight. Against the uniform share $1/T$ that statistics pooling
# gives every frame, the frames above the threshold are {glue:text}`frac_voiced:.0%` of the
# frames but carry {glue:text}`mass_voiced:.1%` of the weight, and the loudest frame gets
# {glue:text}`max_over_uniform:.1f` times its uniform share.
#
# A single number summarises how spread out the weights are, the *effective number of
# frames* $N_\text{eff} = 1 / \sum_t \alpha_t^2$: it is $T$ when every frame gets $1/T$, and 1
# when one frame gets all the weight (with $m$ frames at $1/m$ each it is $m$). Here
# $N_\text{eff} =$ {glue:text}`n_eff:.1f` of {glue:text}`T` frames. The untrained layer's
# small spread of scores gives almost uniform weights: $N_\text{eff} =$
# {glue:text}`n_eff_random:.1f`. An untrained ASP layer starts out close to statistics
# pooling.

# %% [markdown]
# ### The bias $k$ cancels
#
# Adding the same number to every score changes nothing:
#
# $$\frac{e^{e_t + k}}{\sum_\tau e^{e_\tau + k}} = \frac{e^{k}\, e^{e_t}}{e^{k} \sum_\tau e^{e_\tau}} = \frac{e^{e_t}}{\sum_\tau e^{e_\tau}}.$$
#
# The softmax is shift-invariant, and $k$ shifts every score of an utterance by the same
# amount. So $k$ has no effect on the weights, and no effect on anything computed from them;
# its gradient is zero too, so training does not move it (exercise 2). We check it with
# $k = 0$ against $k = 5$:

# %%
e_k5 = pooling.attention_scores(h, W, b, v, torch.tensor(5.0))  # all + 5
alpha_k5 = pooling.attention_weights(e_k5)
diff_k = float((alpha_k5 - alpha).abs().max())
print(f"max |alpha(k=5) - alpha(k=0)| = {diff_k:.2e}")

# %% tags=["remove-cell"]
assert alpha_k5.shape == alpha.shape
assert torch.allclose(e_k5 - e, torch.tensor(5.0))
glue("diff_k", diff_k, display=False)

# %% [markdown]
# Every score moved by 5, and the largest change of any weight is {glue:text}`diff_k:.1e`:
# float32 rounding, nothing more.

# %% [markdown]
# ### Temperature
#
# The *spread* of the scores is what matters. Dividing them by a temperature $\tau > 0$,
# $\alpha = \mathrm{softmax}(e / \tau)$, changes the spread without changing their order:
#
# - $\tau \to \infty$: every $e_t / \tau \to 0$, and the weights tend to the uniform $1/T$
#   (statistics pooling);
# - $\tau \to 0$: the largest score wins, and all the weight goes to the $\arg\max$ frame.
#
# With $k = 0$, dividing by $\tau$ is the same as multiplying $v$ by $1/\tau$: a trained
# network sets its own temperature through the size of $v$.

# %%
shown = [0.3, 1.0, 3.0, 100.0]
alpha_tau = {tau: pooling.attention_weights(e / tau) for tau in shown}
for tau, a in alpha_tau.items():
    print(f"tau = {tau:>5g}: N_eff = {handset.effective_frames(a[0]):7.1f}")

# %% tags=["remove-cell"]
taus = np.logspace(-2, 4, 61)  # 0.01 ... 10,000
n_eff_tau = [handset.effective_frames(pooling.attention_weights(e / tau)[0]) for tau in taus]
for a in alpha_tau.values():
    assert a.shape == (B, T)
tau_small, tau_big = 0.01, 1e4
alpha_small = pooling.attention_weights(e / tau_small)[0]
alpha_big = pooling.attention_weights(e / tau_big)[0]
assert int(alpha_small.argmax()) == int(e[0].argmax())
glue("tau_small", tau_small, display=False)
glue("tau_big", tau_big, display=False)
glue("max_w_small", float(alpha_small.max()), display=False)
glue("n_eff_small", handset.effective_frames(alpha_small), display=False)
glue("n_eff_big", handset.effective_frames(alpha_big), display=False)
glue("diff_uniform_big", float((alpha_big - 1 / T).abs().max()), display=False)
for tau in shown:
    glue(f"n_eff_tau_{tau:g}".replace(".", "p"), handset.effective_frames(alpha_tau[tau][0]),
         display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 2 at several temperatures tau: the spectrogram on top and one row of weights alpha_t per temperature, peakier at small tau, flatter at large tau."}}
fig, axes = plt.subplots(len(shown) + 1, 1, figsize=(9, 8.5), sharex=True,
                         layout="constrained",
                         gridspec_kw={"height_ratios": [1.3] + [1] * len(shown)})
image = viz.spectrogram(axes[0], S, colorbar=False)
axes[0].set_xlabel("")
axes[0].set_title(r"Step 2 with a temperature: $\alpha = \mathrm{softmax}(e / \tau)$")
fig.colorbar(image, ax=axes, label="log mel power (natural log)", pad=0.01, fraction=0.03)
for ax, tau in zip(axes[1:], shown, strict=True):
    a = alpha_tau[tau][0]
    ax.plot(times, a, color="tab:blue", linewidth=1)
    ax.axhline(1 / T, color="black", linestyle=":", linewidth=1.5)
    ax.set_ylim(0, float(a.max()) * 1.1)
    ax.set_ylabel(r"$\alpha_t$")
    # the label above the panel, where no curve can run under it
    ax.set_title(rf"$\tau = {tau:g}$,  $N_\mathrm{{eff}} = {handset.effective_frames(a):.1f}$",
                 loc="left", fontsize="medium")
axes[-1].set_xlabel("time (s)")
plt.show()

# %% [markdown]
# The temperature slides the weights from a few frames to all of them. Each panel has its
# own vertical scale; dotted: the uniform share $1/T$. At $\tau = 0.3$ one or two loud
# frames take nearly everything ($N_\text{eff} =$ {glue:text}`n_eff_tau_0p3:.1f`); at
# $\tau = 1$ the voiced frames share the weight ($N_\text{eff} =$
# {glue:text}`n_eff_tau_1:.1f`); at $\tau = 3$ the pauses get some of it back
# ($N_\text{eff} =$ {glue:text}`n_eff_tau_3:.1f`); at $\tau = 100$ the curve lies on the
# uniform line ($N_\text{eff} =$ {glue:text}`n_eff_tau_100:.1f` of {glue:text}`T`).

# %% tags=["remove-input"] mystnb={"image": {"alt": "Effective number of frames 1/sum alpha_t^2 against temperature tau on a log axis, rising from near 1 to T, between dashed lines at 1 and T."}}
fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
ax.semilogx(taus, n_eff_tau, color="tab:blue", marker=".",
            label=r"$N_\mathrm{eff} = 1/\sum_t \alpha_t^2$")
ax.axhline(T, color="black", linestyle=":", label=f"T = {T} (uniform weights)")
ax.axhline(1, color="tab:orange", linestyle="--", label="1 (all weight on one frame)")
ax.set_yscale("log")
ax.set_xlabel(r"temperature $\tau$")
ax.set_ylabel("effective number of frames")
ax.set_title(r"Effective number of frames of $\mathrm{softmax}(e / \tau)$ "
             "against the temperature")
ax.grid(alpha=0.3, which="both")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# Between one frame and statistics pooling, the temperature decides (both axes
# logarithmic). At $\tau =$ {glue:text}`tau_small` the loudest frame has weight
# {glue:text}`max_w_small:.3f` ($N_\text{eff} =$ {glue:text}`n_eff_small:.2f`), and it is
# the $\arg\max$ of $e$; at $\tau =$ {glue:text}`tau_big:.0f` the weights differ from $1/T$
# by at most {glue:text}`diff_uniform_big:.1e` ($N_\text{eff} =$
# {glue:text}`n_eff_big:.1f`).

# %% [markdown]
# ## Step 3: weighted mean $\mu$ and standard deviation $\sigma$
#
# The post:
#
# > $\check{u} = \sum \alpha_t h_t, \quad \check{\sigma} = \sqrt{\sum(\alpha_t h_t^2) - u^2}$
#
# The mean is a weighted sum of the frames, one number per channel. For the standard
# deviation we use the equivalent two-pass form
#
# $$\mu = \sum_t \alpha_t h_t, \qquad \sigma = \sqrt{\sum_t \alpha_t (h_t - \mu)^2},$$
#
# with the square and the square root taken per channel. Both forms are equal in exact
# arithmetic (expand the square and use $\sum_t \alpha_t = 1$); in floating point the post's
# one-pass form subtracts two large, nearly equal numbers when the mean is large against the
# spread, and chapter 4 measures what that costs.
# {py:func}`pooling.weighted_moments(h, alpha) <asp_lab.pooling.steps.weighted_moments>`
# computes both moments, with one weight per frame shared by all channels; after its checks
# and the upcast to float32, its two passes read:

# %%
print(viz.source_from(pooling.weighted_moments, "sum_t = "))

# %% [markdown]
# We run it with the loudness weights, and with uniform weights for comparison
# (statistics pooling):

# %%
mu, sigma = pooling.weighted_moments(h, alpha)  # (B, C) each
mu_stats, sigma_stats = StatisticsPooling()(h).split(C, dim=1)  # unweighted
print("mu:", tuple(mu.shape), " sigma:", tuple(sigma.shape))
# the same two passes by hand: (B, 1, T) * (B, C, T), summed over t
mu_hand = (alpha[:, None, :] * h).sum(dim=-1)  # (B, C)
dev2 = (h - mu_hand[:, :, None]) ** 2  # (B, C, T)
sigma_hand = torch.sqrt((alpha[:, None, :] * dev2).sum(dim=-1))  # (B, C)

# %% tags=["remove-cell"]
assert mu.shape == (B, C) and sigma.shape == (B, C)
assert torch.allclose(mu, mu_hand, atol=1e-5)
diff_hand = float(torch.maximum((mu - mu_hand).abs().max(), (sigma - sigma_hand).abs().max()))
assert diff_hand < 1e-4
glue("diff_hand", diff_hand, display=False)
glue("mu_gain", float((mu - mu_stats).mean()), display=False)
glue("sigma_ratio", float((sigma / sigma_stats).mean()), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 3: one mel band over time (grey) with its ASP weighted mean (blue) and plain mean (orange, dashed), and both means for every band."}}
band = 10  # a mel band around 700 Hz
bands = np.arange(C)
fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained",
                                 gridspec_kw={"width_ratios": [2.2, 1]})
ax_t.plot(times, h[0, band], color="#888888", linewidth=0.8,
          label=rf"$h_{{t,c}}$, band $c = {band}$")
ax_t.axhline(float(mu[0, band]), color="tab:blue", linewidth=2,
             label=r"ASP $\mu_c$ (loudness weights)")
ax_t.axhline(float(mu_stats[0, band]), color="tab:orange", linestyle="--", linewidth=2,
             label=r"statistics pooling $\mu_c$")
ax_t.set_xlabel("time (s)")
ax_t.set_ylabel("log mel power (natural log)")
ax_t.set_title(rf"Step 3: the weighted mean of mel band {band} over time")
ax_t.set_xlim(times[0], times[-1])
ax_t.legend(loc="upper left", fontsize="small")
ax_c.plot(bands, mu[0], color="tab:blue", marker=".", label="ASP")
ax_c.plot(bands, mu_stats[0], color="tab:orange", linestyle="--", marker=".",
          label="statistics pooling")
ax_c.set_xlabel("mel band $c$")
ax_c.set_ylabel(r"$\mu_c$ (natural log of power)")
ax_c.set_title(r"$\mu$, every band")
ax_c.legend(fontsize="small")
plt.show()

# %% [markdown]
# Leaving the pauses out raises the mean. Left: one band of the frames over time, with its
# weighted mean (ASP, loudness weights) and its plain mean (statistics pooling); right: both
# means for every band. Statistics pooling averages the pauses in; the loudness weights
# leave them out, and the mean is higher by {glue:text}`mu_gain:.2f` nats averaged over the
# bands.

# %% tags=["remove-input"] mystnb={"image": {"alt": "Step 3: one mel band over time (grey) with mean plus and minus standard deviation for ASP and statistics pooling, and both deviations for every band."}}
fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained",
                                 gridspec_kw={"width_ratios": [2.2, 1]})
ax_t.plot(times, h[0, band], color="#888888", linewidth=0.8,
          label=rf"$h_{{t,c}}$, band $c = {band}$")
for m, s, colour, style, name in [(mu, sigma, "tab:blue", "-", "ASP"),
                                  (mu_stats, sigma_stats, "tab:orange", "--",
                                   "statistics pooling")]:
    m, s = float(m[0, band]), float(s[0, band])
    ax_t.axhspan(m - s, m + s, color=colour, alpha=0.15)
    ax_t.axhline(m - s, color=colour, linestyle=style, linewidth=1.5,
                 label=rf"{name} $\mu_c \pm \sigma_c$")
    ax_t.axhline(m + s, color=colour, linestyle=style, linewidth=1.5)
ax_t.set_xlabel("time (s)")
ax_t.set_ylabel("log mel power (natural log)")
ax_t.set_title(rf"Step 3: the weighted standard deviation of mel band {band}")
ax_t.set_xlim(times[0], times[-1])
ax_t.legend(loc="upper left", fontsize="small")
ax_c.plot(bands, sigma[0], color="tab:blue", marker=".", label="ASP")
ax_c.plot(bands, sigma_stats[0], color="tab:orange", linestyle="--", marker=".",
          label="statistics pooling")
ax_c.set_xlabel("mel band $c$")
ax_c.set_ylabel(r"$\sigma_c$ (natural log of power)")
ax_c.set_title(r"$\sigma$, every band")
ax_c.set_ylim(bottom=0)
ax_c.legend(fontsize="small")
plt.show()

# %% [markdown]
# Leaving the pauses out shrinks the spread. Left: the band $\mu_c \pm \sigma_c$ for both
# poolings on the same band as above; right: $\sigma_c$ for every band. In the low bands,
# where speech and pauses differ most, much of the unweighted standard deviation is the
# jump between pauses and speech; the weighted one describes the variation *within* speech.
# Over all bands it is on average {glue:text}`sigma_ratio:.2f` times the unweighted one. The
# library's moments agree with the lines by hand above to {glue:text}`diff_hand:.1e`.
#
# ### Uniform weights give statistics pooling
#
# With $\alpha_t = 1/T$ the two sums are the plain mean and the (population) standard
# deviation: ASP contains statistics pooling {cite:p}`snyder2018xvectors` as the special case of
# a constant score.

# %%
alpha_uniform = pooling.uniform_weights(B, T)  # (B, T), every entry 1/T
mu_u, sigma_u = pooling.weighted_moments(h, alpha_uniform)  # (B, C) each
stats = StatisticsPooling()(h)  # (B, 2C)
diff_stats = float((torch.cat([mu_u, sigma_u], dim=1) - stats).abs().max())
print(f"max |ASP with uniform weights - StatisticsPooling| = {diff_stats:.1e}")

# %% tags=["remove-cell"]
assert stats.shape == (B, 2 * C)
assert diff_stats < 1e-5
glue("diff_stats", diff_stats, display=False)
glue("C2", 2 * C, display=False)

# %% [markdown]
# The largest difference over all {glue:text}`C2` entries of the pooled vector is
# {glue:text}`diff_stats:.1e`.

# %% [markdown]
# ## The same, with the module
#
# {py:class}`AttentiveStatisticsPooling(40, mode="scalar")
# <asp_lab.pooling.layers.AttentiveStatisticsPooling>` computes the same three steps, with
# $W, b, v, k$ as trainable parameters (on the faster path of chapter 7, which the tests
# prove equal to the three functions). Give it our loudness parameters ($A = 1$ hidden unit)
# and it must return the same weights and the same pooled vector $[\mu, \sigma]$.

# %%
asp = AttentiveStatisticsPooling(C, attention_channels=1, mode="scalar")
with torch.no_grad():
    asp.W.copy_(W)
    asp.b.copy_(b)
    asp.v.copy_(v)
    asp.k.copy_(k)
    pooled, alpha_module = asp(h, return_attention=True)  # (B, 2C), (B, T)
print(asp)
print("pooled:", tuple(pooled.shape), " alpha:", tuple(alpha_module.shape))

# %% tags=["remove-cell"]
assert pooled.shape == (B, 2 * C) and alpha_module.shape == (B, T)
diff_module_alpha = float((alpha_module - alpha).abs().max())
diff_module_pooled = float((pooled - torch.cat([mu, sigma], dim=1)).abs().max())
assert diff_module_alpha < 1e-6 and diff_module_pooled < 1e-5
glue("diff_module_alpha", diff_module_alpha, display=False)
glue("diff_module_pooled", diff_module_pooled, display=False)

# %% [markdown]
# The module's weights differ from the step-by-step ones by at most
# {glue:text}`diff_module_alpha:.1e`, its pooled vector by at most
# {glue:text}`diff_module_pooled:.1e`.

# %% [markdown]
# ## The post's prose and the post's code
#
# The prose says one *scalar* score per frame, $e_t = v^T f(W h_t + b) + k$. The code says
# something else:
#
# ```python
# self.attention = nn.Sequential(
#     nn.Conv1d(in_channels=in_channels, out_channels=128, kernel_size=1),
#     nn.ReLU(),
#     nn.Conv1d(in_channels=128, out_channels=in_channels, kernel_size=1),
#     nn.Softmax(dim=2)
# )
# ```
#
# The second `Conv1d` has `in_channels` outputs, not one: $v$ is a $(C, A)$ matrix and $k$ a
# $(C,)$ vector, so every frame gets $C$ scores, one per channel. The softmax over `dim=2`
# (time) then gives one weight per frame *and per channel*: each channel has its own
# weighting of the frames. That is channel-wise attention, as in ECAPA-TDNN
# {cite:p}`desplanques2020ecapa`, not the scalar attention of {cite:t}`okabe2018attentive`.
# Both are reasonable (chapter 3 compares them), but they are different layers. We run the
# post's block, `asp_lab.blog.ASP`, untrained, on the same frames.

# %%
torch.manual_seed(0)
post = blog.ASP(C)
with torch.no_grad():
    w_post = post.attention(h)  # the post's weights, (B, C, T)
    pooled_post = post(h)  # (B, 2C)
print("weights:", tuple(w_post.shape), " pooled:", tuple(pooled_post.shape))

# %% tags=["remove-cell"]
assert w_post.shape == (B, C, T)  # one weight per channel and frame, not (B, T)
assert torch.allclose(w_post.sum(dim=2), torch.ones(B, C))  # each channel sums to 1 over time
n_eff_channels = [handset.effective_frames(w_post[0, c]) for c in range(C)]
ratio = (w_post[0].max(dim=0).values / w_post[0].min(dim=0).values)  # (T,), across channels
glue("n_eff_ch_min", min(n_eff_channels), display=False)
glue("n_eff_ch_max", max(n_eff_channels), display=False)
glue("ratio_median", float(ratio.median()), display=False)
glue("ratio_max", float(ratio.max()), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "The blog post's untrained attention: a map of log2(T w_ct) over channel and time, and the weights of a few channels against time with 1/T dotted."}}
fig, (ax_map, ax_lines) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                       layout="constrained",
                                       gridspec_kw={"height_ratios": [1.3, 1]})
image = ax_map.imshow(np.log2(T * w_post[0].numpy()), origin="lower", aspect="auto",
                      interpolation="nearest", cmap="PuOr_r", vmin=-4, vmax=4,
                      extent=(times[0] - 0.005, times[-1] + 0.005, -0.5, C - 0.5))
fig.colorbar(image, ax=[ax_map, ax_lines], label=r"$\log_2(T \cdot w_{c,t})$ (0 = uniform)",
             pad=0.01, fraction=0.03, extend="both")
ax_map.set_ylabel("channel $c$")
ax_map.set_title(r"The post's code, untrained: one weight per channel and frame, "
                 r"$w$ of shape $(C, T)$")
for c, colour in zip((0, 13, 27), ("tab:blue", "tab:orange", "black"), strict=True):
    ax_lines.plot(times, w_post[0, c], color=colour, linewidth=1, label=f"channel {c}")
ax_lines.axhline(1 / T, color="#888888", linestyle=":", linewidth=1.5, label="1/T")
ax_lines.set_xlabel("time (s)")
ax_lines.set_ylabel(r"weight $w_{c,t}$")
ax_lines.legend(loc="upper left", fontsize="small", ncols=4)
plt.show()

# %% [markdown]
# Each channel weighs the frames its own way: that is what the post's code computes. Top:
# the post's weights for every channel (rows) and frame, relative to the uniform share on a
# log scale (orange: more than $1/T$, purple: less; one step of colour is a factor of 2).
# Bottom: three channels' weights over time. At a given frame the largest channel weight is
# a median {glue:text}`ratio_median:.2f` times the smallest (up to
# {glue:text}`ratio_max:.1f` times), and each channel's effective number of frames lies
# between {glue:text}`n_eff_ch_min:.1f` and {glue:text}`n_eff_ch_max:.1f`. A scalar attention
# would make every row the same.
#
# Our module's `mode="channel"` is this layer: copy the post's two convolutions into it
# ($W$ = the first kernel, $v$ = the second, $k$ = its bias) and the weights agree.

# %%
channel = AttentiveStatisticsPooling(C, attention_channels=128, mode="channel")
conv1, conv2 = post.attention[0], post.attention[2]
with torch.no_grad():
    channel.W.copy_(conv1.weight[:, :, 0])  # (A, C)
    channel.b.copy_(conv1.bias)  # (A,)
    channel.v.copy_(conv2.weight[:, :, 0])  # (C, A)
    channel.k.copy_(conv2.bias)  # (C,)
    pooled_channel, w_channel = channel(h, return_attention=True)
print("channel-mode weights:", tuple(w_channel.shape))

# %% tags=["remove-cell"]
assert w_channel.shape == w_post.shape
diff_post_w = float((w_channel - w_post).abs().max())
diff_post_mu = float((pooled_channel[:, :C] - pooled_post[:, :C]).abs().max())
diff_post_sigma = float((pooled_channel[:, C:] - pooled_post[:, C:]).abs().max())
glue("diff_post_w", diff_post_w, display=False)
glue("diff_post_mu", diff_post_mu, display=False)
glue("diff_post_sigma", diff_post_sigma, display=False)

# %% [markdown]
# The weights agree to {glue:text}`diff_post_w:.1e` and the means to
# {glue:text}`diff_post_mu:.1e`. The standard deviations differ by up to
# {glue:text}`diff_post_sigma:.1e`: the post computes $\sqrt{\sum \alpha_t h_t^2 - \mu^2}$ in
# one pass and clamps it at $10^{-5}$, we compute it in two passes. On these frames the gap
# is small; chapter 4 measures the post's formula where the mean is large against the
# spread, in float32, float16 and bfloat16.
#
# One more difference: the prose says "Commonly batch normalization is also used for getting
# attention weights", as in {cite:t}`okabe2018attentive`, where $f$ is a ReLU followed by batch
# normalisation. The code has no batch norm. Our module makes it an option,
# `AttentiveStatisticsPooling(C, batch_norm=True)` (a `BatchNorm1d` over the $A$ hidden units
# after the ReLU), off by default; chapter 3 says where it goes.

# %% [markdown]
# ## Try it: the attention explorer
#
# In JupyterLab or Colab, the cell below shows a widget: pick an utterance, the score scale
# $v$ and the temperature $\tau$, and it redraws the spectrogram with $\alpha_t$ over it and
# the effective number of frames. Its logic is `asp_lab.widgets.attention_explorer`, its
# figure `asp_lab.viz.attention_on_spectrogram`. A widget needs a running kernel, so the
# built book does not show it (the cell skips it when the book is built); the static twin
# after it is the book's version.

# %%
from IPython.display import display

if not os.environ.get(viz.BOOK_BUILD_ENV):  # needs a kernel: not in the book
    explorer = widgets.attention_explorer()
    display(explorer)

# %% [markdown]
# ### The static twin
#
# The same attention, precomputed for three utterances at every pair of a scale $v$ and a
# temperature $\tau$ that its two sliders offer. Move the sliders to change $\tau$ and $v$,
# and use the menu (top right) to change the utterance; the title gives the setting and the
# effective number of frames. Top: the frame loudness and the threshold (its median);
# bottom: the weights $\alpha_t$ and the uniform share $1/T$, on a vertical scale that
# follows each setting's largest weight.

# %% tags=["remove-input"]
TWIN_UTTERANCES = widgets.EXPLORER_UTTERANCES[:3]
TWIN_TEMPERATURES = [0.03, 0.1, 0.3, 0.5, 1, 2, 3, 10, 30, 100, 1000]
TWIN_SCALES = [0.5, 1, 2]  # v; with these temperatures, every setting of exercise 1
all_utterances = {u.name: u for u in data.utterances("test-other")}
states = {}
for name in TWIN_UTTERANCES:
    h_u = torch.from_numpy(features.log_mel(data.load_audio(all_utterances[name].path)))[None]  # (1, C, T)
    alphas = []
    for v_u in TWIN_SCALES:
        e_u = pooling.attention_scores(h_u, *handset.loudness_attention(h_u, scale=v_u))  # (1, T)
        alphas.append(torch.cat([pooling.attention_weights(e_u / tau) for tau in TWIN_TEMPERATURES]))
    alphas = torch.stack(alphas)  # (n_v, n_tau, T)
    assert alphas.shape == (len(TWIN_SCALES), len(TWIN_TEMPERATURES), h_u.shape[-1])
    loud = h_u.mean(dim=1)[0]
    states[name] = {"loudness": loud.numpy(), "threshold": float(loud.median()), "alphas": alphas.numpy()}
twin = viz.attention_slider_figure(states, TWIN_TEMPERATURES, hop_seconds=features.HOP_SECONDS,
                                   scales=TWIN_SCALES)
viz.show_plotly(twin, div_id="asp-static-widget")

# %% [markdown]
# The loudness attention of three utterances, precomputed for every setting of the two
# sliders. At small $\tau$ a handful of frames take the weight; at large $\tau$ the weights
# lie on the uniform line.
#
# ## What to remember
#
# - Step 1 scores each frame with a small network, $e_t = v^T f(W h_t + b) + k$; hand-chosen
#   parameters (loudness above the median) already make a sensible attention; random ones
#   follow loudness too, but with a small spread, so their weights are nearly uniform.
# - Step 2's softmax makes the scores into weights that sum to one. It ignores $k$, and the
#   spread of the scores (or a temperature) moves it between one frame and uniform weights,
#   which is statistics pooling.
# - Step 3's weighted mean and two-pass standard deviation give $[\mu, \sigma]$; uniform
#   weights give exactly statistics pooling, and the module gives exactly the steps.
# - The post's prose describes scalar attention; its code is channel-wise attention without
#   batch norm, with a one-pass standard deviation (chapters 3 and 4).

# %% [markdown]
# ## Exercises
#
# 1. In the explorer or its static twin, compare $v = 2, \tau = 2$ with $v = 1, \tau = 1$,
#    and $v = 0.5, \tau = 0.5$. What do you see, and why? Does it hold for any $f$?
#
# ```{admonition} Solution
# :class: dropdown
# The three settings give the same weights. With the loudness attention,
# $e_t / \tau = (v/\tau)\, \mathrm{ReLU}(W h_t + b) + k/\tau$, and $k / \tau$ cancels in the
# softmax, so only $v / \tau$ matters. This holds for any $f$, because $v$ multiplies
# *after* $f$: $v^T f(z) / \tau = (v / \tau)^T f(z)$. A trained network therefore needs no
# temperature; the size of $v$ is one.
# ```
#
# 2. Show with `torch.autograd` that the gradient of any loss with respect to $k$ is zero
#    (up to rounding), e.g. for the loss $\sum_c \mu_c$. Then prove it. (Code: it needs a
#    running kernel, JupyterLab or Colab.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# k = torch.tensor(0.3, requires_grad=True)
# alpha = pooling.attention_weights(pooling.attention_scores(h, W, b, v, k))
# mu, sigma = pooling.weighted_moments(h, alpha)
# mu.sum().backward()
# print(k.grad)  # zero, up to float32 rounding
# ```
# $k$ reaches the loss only through $e_t = \dots + k$ for every $t$, so
# $\partial L / \partial k = \sum_t \partial L / \partial e_t$. The softmax's Jacobian is
# $\partial \alpha_s / \partial e_t = \alpha_s (\delta_{st} - \alpha_t)$, whose rows sum to
# zero over $t$: $\alpha_s (1 - \sum_t \alpha_t) = 0$. Hence
#
# $$
# \sum_t \frac{\partial L}{\partial e_t}
#   = \sum_s \frac{\partial L}{\partial \alpha_s} \sum_t \frac{\partial \alpha_s}{\partial e_t} = 0 .
# $$
#
# Gradient descent leaves $k$ where it started (only
# weight decay, if used, pulls it towards 0). In channel mode,
# $k_c$ shifts all the scores of channel $c$ and cancels in the same way.
# ````
#
# 3. Set $v = -1$ in the loudness attention (keep $b$). Which frames get the weight now?
#    How do $\mu$ and $\sigma$ change compared with statistics pooling, and why could a
#    trained network want something like this? (Code: it needs a running kernel; the
#    sliders offer only positive $v$.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# e_quiet = pooling.attention_scores(h, W, b, -v, k)
# alpha_quiet = pooling.attention_weights(e_quiet)
# mu_q, sigma_q = pooling.weighted_moments(h, alpha_quiet)
# ```
# Every frame below the threshold now scores exactly 0, the highest possible score, so they
# all get the same, largest weight; the louder a frame, the less it gets. Most of the weight
# moves to the quiet half of the utterance. $\mu$ drops below the statistics-pooling mean
# towards the level of the pauses, and $\sigma$ shrinks, since the pauses vary little. Such
# frames describe the recording (microphone, room, background noise) rather than the
# speaker; a network can use them to model the channel, and chapter 6 looks at where a
# trained attention puts its weight when noise is added.
# ````
