# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From frames to one vector
#
# A speaker-verification system compares two recordings and answers one question: same
# speaker or not? It does so by turning each recording into one vector, a *speaker
# embedding*, and comparing the vectors. Recordings come in every length, but the vectors
# must all have the same size. Somewhere inside the network a variable number of frames
# becomes one fixed-size vector: that step is **pooling**, and this book is about one way
# of doing it, attentive statistics pooling.
#
# This chapter does it by hand on a real recording, with no network at all. You will learn:
#
# 1. how a recording becomes a sequence of frame vectors $h_t$ (a log-mel spectrogram);
# 2. what average pooling and statistics pooling compute (mean and standard deviation per
#    channel), and why every utterance then gives a vector of the same size;
# 3. why a padded batch needs the true lengths of its utterances;
# 4. why one might want to weigh frames unequally: many of them are pauses.
#
# The symbols follow the [notation page](../book/notation.md). The book hides the cells that
# only draw figures or store numbers for the text; the notebook shows them all.

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
from IPython.display import Audio

from asp_lab import data, features, viz
from asp_lab.pooling import StatisticsPooling

glue = viz.glue  # stores the values the text quotes (nothing outside the book)

# %% [markdown]
# ## A real utterance
#
# The book ships a small set of recordings of read speech from the LibriSpeech
# *test-other* set. `data.utterances()` lists them, sorted by speaker (and checks them
# against their checksums first); we take one by name. `data.load_audio` returns the
# samples as a float32 array, full scale $\pm 1$.

# %%
test_other = data.utterances("test-other")
n_speakers = len({u.speaker for u in test_other})
print(f"{len(test_other)} utterances of {n_speakers} speakers")

by_name = {u.name: u for u in test_other}
utt = by_name["3331-159605-0002"]
x = data.load_audio(utt.path)  # (samples,) float32
sample_rate = data.SAMPLE_RATE
duration = x.size / sample_rate
sex = {"F": "female", "M": "male"}[data.speakers()[utt.speaker]]
print(f"{utt.name}: speaker {utt.speaker} ({sex})")
print(f"{x.size} samples at {sample_rate} Hz = {duration:.2f} s")

# %% tags=["remove-cell"]
glue("n_utts", len(test_other), display=False)
glue("n_speakers", n_speakers, display=False)
glue("sample_rate", sample_rate, display=False)
glue("utt_name", utt.name, display=False)
glue("utt_speaker", utt.speaker, display=False)
glue("utt_sex", sex, display=False)
glue("duration", duration, display=False)
glue("n_samples", x.size, display=False)

# %% [markdown]
# Utterance {glue:text}`utt_name`, one of {glue:text}`n_utts` (from
# {glue:text}`n_speakers` speakers), is {glue:text}`duration:.2f` s of a
# {glue:text}`utt_sex` speaker (LibriSpeech speaker {glue:text}`utt_speaker`):
# {glue:text}`n_samples:,` samples at {glue:text}`sample_rate:,` Hz. Here is the
# waveform, and a player to listen to it.

# %% mystnb={"image": {"alt": "Waveform of one LibriSpeech utterance: amplitude against time in seconds, bursts of speech separated by quiet pauses."}}
fig, ax = plt.subplots(figsize=(9, 2.8))
viz.waveform(ax, x, sample_rate, title=f"Waveform of {utt.name}")
ax.set_ylim(-1, 1)
fig.tight_layout()
plt.show()

# %% [markdown]
# A waveform says when someone speaks and how loud, but very little about *who* speaks:
# the bursts are words and syllables, the flat stretches between them pauses
# ({glue:text}`n_samples:,` samples, {glue:text}`sample_rate:,` a second, full scale
# $\pm 1$).

# %%
Audio(x, rate=sample_rate)

# %% [markdown]
# ## From samples to frames: the log-mel spectrogram
#
# Speaker models do not read raw samples. They read short-time spectra: a short window
# slides along the signal in small steps, and each window's power spectrum is summed into
# mel bands (narrow at low frequencies, wide at high ones, roughly as the ear resolves
# pitch) and then logged. `features.log_mel` does exactly this and returns an array of
# shape `(n_mels, T)`: channels first, one column per step.

# %%
win_ms = 1000 * features.WIN_SECONDS
hop_ms = 1000 * features.HOP_SECONDS
print(f"window {win_ms:g} ms, hop {hop_ms:g} ms, {features.N_MELS} bands")

S = features.log_mel(x)  # (C, T): natural log of mel power
C, T = S.shape
log_floor = np.log(features.LOG_FLOOR)
print(f"S: shape {S.shape} = (C, T), {S.dtype}")
print(f"values from {S.min():.2f} to {S.max():.2f}")
print(f"log floor: ln({features.LOG_FLOOR:g}) = {log_floor:.2f}")

# %% tags=["remove-cell"]
glue("win_ms", win_ms, display=False)
glue("hop_ms", hop_ms, display=False)
glue("C", C, display=False)
glue("two_C", 2 * C, display=False)
glue("T", T, display=False)
glue("frames_per_second", round(1 / features.HOP_SECONDS), display=False)
glue("log_floor", float(log_floor), display=False)

# %% mystnb={"image": {"alt": "Log-mel spectrogram of the utterance: mel band against time in seconds, colour showing log mel power, bright during speech and dark in pauses."}}
fig, ax = plt.subplots(figsize=(9, 3.5))
viz.spectrogram(ax, S, features.HOP_SECONDS,
                title=f"Log-mel spectrogram of {utt.name}")
fig.tight_layout()
plt.show()

# %% [markdown]
# Speech is bright, the pauses are dark. A {glue:text}`win_ms:g` ms window every
# {glue:text}`hop_ms:g` ms, {glue:text}`C` mel bands; time runs left to right, low mel bands are at the bottom, and the colour is the
# natural log of the power in each band. Speech shows up as bright columns with
# horizontal stripes in the low bands (the harmonics of the voice, whose spacing is the
# speaker's pitch); the pauses are dark, many of them at the floor of
# {glue:text}`log_floor:.1f` (the log of the small constant `log_mel` adds to the power,
# so that silence stays finite).

# %% [markdown]
# ## Frames as vectors
#
# Read the spectrogram column by column: frame $t$ is a vector $h_t \in \mathbb{R}^C$
# with $C$ = {glue:text}`C` channels, and the utterance is the sequence
# $h_1, \dots, h_T$ with $T$ = {glue:text}`T` frames ({glue:text}`frames_per_second`
# frames a second for {glue:text}`duration:.2f` s). In a speaker network the $h_t$ would
# come out of several trained layers and have hundreds of channels; here the log-mel
# frames themselves play that role, which is enough to see what pooling does.
#
# Pooling works on batches, so the library's shape is `h: (B, C, T)`; one utterance is a
# batch with $B = 1$.

# %%
h = torch.from_numpy(S)[None]  # (B, C, T) = (1, 40, T)
print("h:", tuple(h.shape), "= (B, C, T)")

energy = np.exp(S).sum(axis=0)  # (T,): total mel power of each frame
times = features.frame_times(T)  # (T,): frame centres in seconds
loud_t, quiet_t = int(np.argmax(energy)), int(np.argmin(energy))
print(f"loudest frame: t = {loud_t} ({times[loud_t]:.2f} s)")
print(f"quietest frame: t = {quiet_t} ({times[quiet_t]:.2f} s)")
print("first 5 channels of the loudest h_t:", np.round(S[:5, loud_t], 2))

# %% tags=["remove-cell"]
glue("loud_time", float(times[loud_t]), display=False)
glue("quiet_time", float(times[quiet_t]), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Two frames as vectors h_t: log mel power against mel band for the loudest frame (blue circles) and the quietest frame (orange squares)."}}
fig, ax = plt.subplots(figsize=(9, 3.5))
bands = np.arange(C)
ax.plot(bands, S[:, loud_t], "o-", color="tab:blue", ms=3,
        label=f"loudest frame, t = {times[loud_t]:.2f} s")
ax.plot(bands, S[:, quiet_t], "s-", color="tab:orange", ms=3,
        label=f"quietest frame, t = {times[quiet_t]:.2f} s")
ax.set_xlabel("mel band (channel c)")
ax.set_ylabel("log mel power (natural log)")
ax.set_title("Two frames of the utterance as vectors $h_t$")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# A loud frame describes the voice, a quiet one next to nothing: two columns of the
# spectrogram, drawn as vectors over the {glue:text}`C` channels. The loud frame (at {glue:text}`loud_time:.2f` s) has peaks in the low bands where the voice
# has most of its energy; the quiet frame (at {glue:text}`quiet_time:.2f` s) sits near
# the log floor in most bands and carries next to nothing about the speaker.

# %% [markdown]
# ## Average pooling and statistics pooling
#
# The simplest way to turn $T$ vectors into one is to average them, channel by channel:
#
# $$\mu = \frac{1}{T}\sum_{t=1}^{T} h_t .$$
#
# The average keeps the typical spectrum but forgets how much each channel moves over
# time. **Statistics pooling** {cite:p}`snyder2018xvectors` adds that spread, the standard
# deviation per channel, and concatenates the two:
#
# $$\sigma = \sqrt{\frac{1}{T}\sum_{t=1}^{T} (h_t - \mu) \odot (h_t - \mu)},
# \qquad \text{pooled} = [\mu; \sigma] \in \mathbb{R}^{2C}.$$
#
# By hand with numpy, averaging over the time axis (axis 1 of `S`):

# %%
mu_np = S.mean(axis=1)  # (C,)
dev = S - mu_np[:, None]  # (C, T): deviations from the mean
sigma_np = np.sqrt((dev**2).mean(axis=1))  # (C,)
pooled_np = np.concatenate([mu_np, sigma_np])  # (2C,)
print("mu", mu_np.shape, "sigma", sigma_np.shape)
print("pooled", pooled_np.shape)

# %% [markdown]
# And with the library's `StatisticsPooling`, which takes `h: (B, C, T)` and returns
# `(B, 2C)`: the means of the $C$ channels, then their standard deviations.

# %%
pooled = StatisticsPooling()(h)  # (B, 2C)
print("StatisticsPooling()(h):", tuple(pooled.shape), "= (B, 2C)")

diff = np.abs(pooled[0].numpy() - pooled_np).max()
print(f"largest difference from the numpy version: {diff:.2e}")

# %% tags=["remove-cell"]
assert diff < 1e-4, diff
glue("stats_diff", float(diff), display=False)
glue("bessel_ratio", float(np.sqrt(T / (T - 1))), display=False)

# %% [markdown]
# The two agree to {glue:text}`stats_diff:.1e` (float32 rounding; the sums run in a
# different order). Note the $1/T$ in $\sigma$: this is the *population* standard
# deviation (numpy's default `ddof=0`), not the sample one with $1/(T-1)$. The next
# chapter shows why: statistics pooling is attentive statistics pooling with every
# weight equal to $1/T$.

# %% tags=["remove-input"] mystnb={"image": {"alt": "Statistics pooling: two panels, the mean mu_c (left, blue) and the standard deviation sigma_c (right, orange) of each mel band over time."}}
fig, (ax_mu, ax_sigma) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_mu.plot(bands, mu_np, "o-", color="tab:blue", ms=3)
ax_mu.set_title(r"Mean $\mu_c$ per mel band")
ax_mu.set_ylabel("log mel power (natural log)")
ax_sigma.plot(bands, sigma_np, "s-", color="tab:orange", ms=3)
ax_sigma.set_title(r"Standard deviation $\sigma_c$ per mel band")
ax_sigma.set_ylabel("std of log mel power (natural log)")
for a in (ax_mu, ax_sigma):
    a.set_xlabel("mel band (channel c)")
fig.suptitle(f"Statistics pooling of {utt.name}: {2 * C} numbers")
fig.tight_layout()
plt.show()

# %% [markdown]
# The whole utterance, {glue:text}`T` frames, is now these {glue:text}`C` means and
# {glue:text}`C` standard deviations. The spreads are large, several natural-log units,
# because the utterance alternates between speech and pauses at the log floor: the
# statistics describe the pauses as much as the voice.

# %% [markdown]
# ## Two lengths, one size
#
# Pooling removes the time axis, so utterances of any length give vectors of the same
# size. A second, shorter utterance by another speaker:

# %%
utt2 = by_name["2414-128291-0003"]
x2 = data.load_audio(utt2.path)
S2 = features.log_mel(x2)  # (C, T2)
T2 = S2.shape[1]
h2 = torch.from_numpy(S2)[None]  # (1, C, T2)
pooled2 = StatisticsPooling()(h2)
for name, a, b in [(utt.name, h, pooled), (utt2.name, h2, pooled2)]:
    print(f"{name}: h {tuple(a.shape)} -> pooled {tuple(b.shape)}")

# %% tags=["remove-cell"]
glue("utt2_name", utt2.name, display=False)
glue("T2", T2, display=False)
glue("duration2", x2.size / sample_rate, display=False)

# %% [markdown]
# {glue:text}`T` frames and {glue:text}`T2` frames ({glue:text}`duration2:.2f` s,
# utterance {glue:text}`utt2_name`) both become $2C$ = {glue:text}`two_C` numbers. That
# is all a downstream layer, or a cosine similarity between two embeddings, needs.

# %% [markdown]
# ## A padded batch needs its lengths
#
# Networks process utterances in batches, and a tensor needs one $T$ for the whole batch.
# The usual trick: pad the shorter utterances (here with zeros) up to the longest, and
# keep a `lengths` tensor that says how many frames of each row are real.

# %%
batch = torch.zeros(2, C, T)  # (B, C, T), zeros where there is no speech
batch[0] = torch.from_numpy(S)
batch[1, :, :T2] = torch.from_numpy(S2)
lengths = torch.tensor([T, T2])
print("batch:", tuple(batch.shape), " lengths:", lengths.tolist())

print(f"largest value in the frames of {utt2.name}: {S2.max():.2f}")

# %% tags=["remove-cell"]
glue("n_pad", T - T2, display=False)
glue("pad_percent", 100 * (T - T2) / T, display=False)
glue("s2_max", float(S2.max()), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Spectrogram of the shorter utterance as row 1 of a batch: its frames, then a dashed line after which the padding frames are all zero."}}
fig, ax = plt.subplots(figsize=(9, 3.5))
viz.spectrogram(ax, batch[1].numpy(), features.HOP_SECONDS,
                title=f"Row 1 of the batch: {utt2.name}, zero-padded")
edge = (T2 - 0.5) * features.HOP_SECONDS
ax.axvline(edge, color="black", linestyle="--", linewidth=1.5)
ax.text(edge + 0.1, C - 5, "padding (zeros)", color="black")
fig.tight_layout()
plt.show()

# %% [markdown]
# To the pooling, zero padding looks louder than any real frame. The second row of the
# batch: its {glue:text}`T2` real frames, then {glue:text}`n_pad`
# frames of zeros (right of the dashed line, {glue:text}`pad_percent:.0f`% of the row).
# A zero is not silence in the log domain: silence sits near {glue:text}`log_floor:.1f`,
# and 0 lies above every value of this recording (its largest is
# {glue:text}`s2_max:.2f`).
#
# Averaging over the whole time axis counts the padding as frames:

# %%
mu2_true = S2.mean(axis=1)  # the real mean of utterance 2, (C,)
mu2_unmasked = batch[1].mean(dim=-1).numpy()  # averages the zeros too
err_unmasked = np.abs(mu2_unmasked - mu2_true).max()
print(f"unmasked mean, largest error: {err_unmasked:.3f} (ln power)")

unmasked = StatisticsPooling()(batch)  # no lengths: padding counted
err_sigma = (unmasked[1, C:] - pooled2[0, C:]).abs().max().item()
print(f"no lengths, largest error in sigma: {err_sigma:.3f}")

masked = StatisticsPooling()(batch, lengths)  # (B, 2C), padding ignored
err_masked = max((masked[0] - pooled[0]).abs().max().item(),
                 (masked[1] - pooled2[0]).abs().max().item())
print(f"with lengths, largest error: {err_masked:.1e}")

# %% tags=["remove-cell"]
# equal up to float32 rounding (relative 1.3e-6, absolute 1e-5)
torch.testing.assert_close(masked, torch.cat([pooled, pooled2]))
glue("err_unmasked", float(err_unmasked), display=False)
glue("err_masked", float(err_masked), display=False)
glue("err_sigma", float(err_sigma), display=False)

# %% [markdown]
# Without the lengths, the mean of the padded row is off by up to
# {glue:text}`err_unmasked:.2f` in a channel, and its standard deviation by up to
# {glue:text}`err_sigma:.2f`: the vector describes the padding as much as the speaker,
# and it would change if the same utterance were batched with a longer or a shorter one.
# `StatisticsPooling()(h, lengths)` gives the frames at and after `lengths[b]` zero
# weight, and both rows match their unpadded results to {glue:text}`err_masked:.0e`
# (float32 rounding). Every pooling layer in `asp_lab` takes the same `lengths` argument.

# %% [markdown]
# ## Where the quiet frames are
#
# Statistics pooling gives every frame the same weight $1/T$. But frames are not equally
# useful: the pauses say little about the speaker. Measure each frame's energy, its total
# mel power, in decibels below the loudest frame, and call a frame *quiet* when it is far
# below (a fixed threshold, `QUIET_DB`):

# %%
QUIET_DB = -30.0  # dB re the loudest frame
energy_db = 10 * np.log10(energy / energy.max())  # (T,), max at 0 dB
quiet = energy_db < QUIET_DB  # (T,) bool
print(f"{quiet.sum()} of {T} frames are quiet")

mu_speech = S[:, ~quiet].mean(axis=1)  # mean over the other frames
shift = np.abs(mu_np - mu_speech).max()
print(f"mean over all vs non-quiet frames: up to {shift:.2f} apart")

# %% tags=["remove-cell"]
glue("quiet_db", -QUIET_DB, display=False)
glue("n_quiet", int(quiet.sum()), display=False)
glue("quiet_percent", 100 * float(quiet.mean()), display=False)
glue("mu_shift", float(shift), display=False)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Frame energy in dB against time in seconds, with a dashed threshold line and the quiet frames below it shaded orange."}}
fig, ax = plt.subplots(figsize=(9, 3.5))
low = energy_db.min() - 15  # room for the legend below the curve
ax.fill_between(times, low, 3, where=quiet, step="mid", alpha=0.3,
                color="tab:orange", linewidth=0,
                label=f"quiet (< {QUIET_DB:g} dB)")
ax.plot(times, energy_db, color="tab:blue", linewidth=1,
        label="frame energy")
ax.axhline(QUIET_DB, color="black", linestyle="--", linewidth=1,
           label="threshold")
ax.set_ylim(low, 3)
ax.set_xlim(0, times[-1])
ax.set_xlabel("time (s)")
ax.set_ylabel("energy (dB re loudest frame)")
ax.set_title(f"Energy per frame of {utt.name}")
ax.legend(loc="lower center", ncol=3, framealpha=1)
fig.tight_layout()
plt.show()

# %% [markdown]
# Many frames are pauses, and each weighs as much as a loud vowel. The energy of each
# {glue:text}`hop_ms:g` ms frame relative to the loudest one; shaded frames are more than
# {glue:text}`quiet_db:g` dB down: the pauses of the waveform and the dark columns of the
# spectrogram, {glue:text}`n_quiet` of {glue:text}`T` frames
# ({glue:text}`quiet_percent:.0f`% of the utterance), each with weight $1/T$. Leaving them out moves the mean of some
# channel by {glue:text}`mu_shift:.2f`.
#
# A fixed threshold is a hand-made rule, and "quiet" is not the same as "useless" (noise
# can be loud). **Attentive statistics pooling** {cite:p}`okabe2018attentive` lets the
# network learn a weight $\alpha_t$ for every frame instead, and replaces $1/T$ by it in
# both $\mu$ and $\sigma$. [Chapter 2](02_asp_step_by_step.ipynb) builds it step by step.
#
# *Data:* speech from LibriSpeech {cite:p}`panayotov2015librispeech`, CC BY 4.0. The
# book's noise recordings, from Speech Commands {cite:p}`warden2018speechcommands` (CC BY
# 4.0), appear in later chapters, not in this one.
#
# ## What to remember
#
# - An utterance reaches the pooling layer as frames `h: (B, C, T)`: $C$ channels, one
#   column every {glue:text}`hop_ms:g` ms, $T$ depending on the length.
# - Statistics pooling concatenates the per-channel mean and (population, $1/T$) standard
#   deviation: $2C$ numbers for any $T$.
# - Padding is not silence: pool a padded batch without its `lengths` and the vectors
#   describe the padding; with them, padding changes nothing.
# - Every frame counts $1/T$ in statistics pooling, pauses included; attentive statistics
#   pooling learns a weight per frame instead.

# %% [markdown]
# ## Exercises
#
# 1. **Zeros or copies.** Instead of zeros, pad the short utterance by repeating its last
#    frame, and pool without `lengths`. Which of $\mu$ and $\sigma$ goes wrong, and in
#    which direction? Is there a way to pad that leaves unmasked statistics pooling exact?
#
# ````{admonition} Solution
# :class: dropdown
# Both go wrong, in different directions. Zeros lie above every log-mel value of
# this recording, so they pull every channel's mean *up*, and as a second cluster of
# values far from the first they *inflate* $\sigma$. Copies of the last frame pull the
# mean towards that frame (here a pause, so *down* towards the log floor), and since the
# copies are all equal they add no spread of their own while diluting the real frames:
# $\sigma$ *shrinks*.
#
# ```python
# pad = T - T2
# zeros = np.concatenate([S2, np.zeros((C, pad), np.float32)], axis=1)
# copies = np.concatenate([S2, np.repeat(S2[:, -1:], pad, axis=1)], axis=1)
# for name, p in [("zeros", zeros), ("copies", copies)]:
#     print(name, (p.mean(1) - S2.mean(1)).mean(), (p.std(1) - S2.std(1)).mean())
# ```
#
# Only the weights (masking with `lengths`) are exact in general. The one padding that
# is harmless: repeat the *whole* utterance a whole number of times. Every frame then
# appears equally often, so $\mu$ and the population $\sigma$ do not change
# (`np.tile(S2, 3).std(1)` equals `S2.std(1)` up to rounding). A batch rarely has
# lengths that fit, though.
# ````
#
# 2. **Bessel's correction.** `np.std(S, axis=1, ddof=1)` divides by $T-1$ instead of
#    $T$. By what factor does it differ from the $\sigma$ above, and why does `asp_lab`
#    use the population form ($1/T$)?
#
# ```{admonition} Solution
# :class: dropdown
# The ratio is exactly $\sqrt{T/(T-1)}$ in every channel, here
# {glue:text}`bessel_ratio:.5f` for $T$ = {glue:text}`T`: negligible for utterances of a
# few seconds, large only for a handful of frames (and undefined for $T = 1$). `asp_lab`
# uses $1/T$ because the weighted form $\sigma = \sqrt{\sum_t \alpha_t (h_t - \mu)^2}$,
# with weights that sum to one, has no "$T - 1$" in it: with $\alpha_t = 1/T$ it *is* the
# population standard deviation, so statistics pooling is exactly attentive statistics
# pooling with uniform weights. Bessel's correction makes a variance *estimate* unbiased
# for a population seen through a sample; a pooled feature does not need that, it needs
# to be one function of the frames and their weights.
# ```
#
# 3. **Pool the speech only.** Compute statistics pooling over the non-quiet frames
#    (`S[:, ~quiet]`). In which channels does $\sigma$ change most, and why?
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# sigma_speech = S[:, ~quiet].std(axis=1)
# change = sigma_np - sigma_speech
# print(np.argsort(change)[::-1][:5])  # the channels whose sigma drops most
# print((change > 0).sum(), "of", C, "channels drop")
# ```
#
# $\sigma$ drops in most channels, most of all in the low bands, where voiced speech is
# loudest and the pauses sit far below it at the log floor: pauses and speech were two
# clusters of values, and the distance between them made much of the spread. In the top
# few bands it can rise a little, because there much of the speech is quiet too, and the
# remaining frames include the bursts of fricatives ("s", "sh"). What is left is the
# variation *within* speech, closer to what a speaker model wants to describe. A learned
# weight $\alpha_t$ can make this choice softly and frame by frame, instead of with a
# fixed threshold.
# ````
