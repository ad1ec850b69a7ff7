# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Attention on clean and noisy speech
#
# Attentive statistics pooling promises to weight the frames that matter. Chapter 5 trained
# speaker-embedding models with it; this chapter asks what those trained weights do on real
# recordings. If the attention learned to tell speech from noise, noise frames should get
# less than the uniform share that statistics pooling gives them. You will learn:
#
# - how to read a trained model's weights on a spectrogram, and how much they follow
#   loudness;
# - how to measure attention on noise: the share of the weight on noise frames, divided by
#   the share uniform weights would give them (1: as much as statistics pooling, 0.5: half);
# - what the attention learned from noise in training, for noises it heard and noises it
#   did not, and how much that varies between training seeds;
# - whether turning noise down in the pooling helps verification.
#
# We look at three of the shipped models (seed 0 each; the other seeds come in too):
# `asp-scalar`, one weight per frame {cite:p}`okabe2018attentive`, and `asp-channel`, one
# weight per frame and channel {cite:p}`desplanques2020ecapa`, both trained with chapter 5's
# corruption recipe; and `asp-scalar-clean`, the scalar attention trained on clean speech
# only. The recipe *replaces* a stretch of most corrupted training crops by noise, so the
# noise-trained models met audio in which part holds no speaker at all.
#
# Data: speech from LibriSpeech test-other and train-clean-100
# {cite:p}`panayotov2015librispeech` (CC BY 4.0); noise recordings from Speech Commands
# {cite:p}`warden2018speechcommands` (CC BY 4.0).

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
import numpy as np
import torch

import asp_lab
from asp_lab import analysis, data, features, widgets

torch.manual_seed(0)
MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean")
models = {name: asp_lab.load_model(name) for name in MODELS}
utterances = data.utterances("test-other")

# %% tags=["remove-cell"]
# The book's plumbing: plotting, tables, glue (the values the prose quotes) and the readings
# (words computed from the numbers and their intervals, so the prose follows the results).
index_of = {u.name: i for i, u in enumerate(utterances)}
import json
import os

import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display

from asp_lab import viz
from asp_lab.analysis import CHECKPOINT_DIR, mean_interval
from asp_lab.data import SAMPLE_RATE
from asp_lab.experiments.crossval import load_comparison
from asp_lab.models import CONTEXT, FRAME_OFFSET
from asp_lab.train.recipe import generated_noise


def glue(name: str, value) -> None:
    """``viz.glue``, with strings stored as Markdown (for the prose's glue:md roles)."""
    viz.glue(name, Markdown(value) if isinstance(value, str) else value)


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book


def interval(values) -> str:
    """'mean [low, high]' with the 95 % t-interval over utterances."""
    mean, low, high = mean_interval(values)
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def against_uniform(values) -> str:
    """Where the 95 % interval of a relative mass lies: below 1, above 1, or across 1."""
    mean, low, high = mean_interval(values)
    where = ("less than its uniform share" if high < 1 else "more than its uniform share"
             if low > 1 else "about its uniform share (the interval holds 1)")
    return f"{where}, {mean:.2f} [{low:.2f}, {high:.2f}] times"


def paired(a, b, lower: str, higher: str, same: str) -> str:
    """Which way a - b points over utterances (95 % t-interval), with the numbers."""
    mean, low, high = mean_interval(np.asarray(a) - np.asarray(b))
    word = lower if high < 0 else higher if low > 0 else same
    return f"{word} (difference {mean:+.2f} [{low:+.2f}, {high:+.2f}])"


def code_list(names) -> str:
    return ", ".join(f"`{n}`" for n in names) if len(names) else "none"


for name, model in models.items():
    print(f"{name:17s} pooling {model.pooling_name:11s} trained with recorded noises: "
          f"{analysis.training_noises(name) or 'none'}")

# %% [markdown]
# ## Attention on a clean utterance
#
# `asp_lab.frame_attention(model, waveform)` runs a model on a waveform and returns the
# pooling weights $\alpha_{t'}$ with the time of each. The encoder's convolutions are
# *valid* (no padding), so an utterance of $T$ log-mel frames gives $T' = T - 14$ frame
# features, each centred on an input frame; `frame_attention` returns those centre times,
# so the weights line up with the spectrogram. For `asp-channel` it returns the mean over
# channels.

# %%
UTTERANCE = widgets.EXPLORER_UTTERANCES[0]  # chapter 2's utterance
speech = data.cached_audio(utterances[index_of[UTTERANCE]].path)  # 16 kHz samples
S = features.log_mel(speech)  # (C, T) natural log of mel power
clean = {name: asp_lab.frame_attention(m, speech) for name, m in models.items()}
times, alpha = clean["asp-scalar"]  # (T',) each
print("log-mel S:", S.shape, "| times, alpha:", times.shape, alpha.shape)

# %% tags=["remove-cell"]
T = S.shape[1]
assert alpha.shape == (T - CONTEXT,) and np.isclose(alpha.sum(), 1.0)
assert np.isclose(times[0], FRAME_OFFSET * features.HOP_SECONDS)
n_eff = {name: 1 / np.sum(a**2) / a.size for name, (_, a) in clean.items()}
glue("T_example", T)
glue("Tp_example", T - CONTEXT)
for name in MODELS:
    glue(f"neff_{name}", n_eff[name])
share = n_eff["asp-scalar"]
glue("neff_reading", "a gentle reweighting, far from picking a handful of frames" if share >= 0.5
     else "a clear reweighting that still spreads over many frames" if share >= 0.1
     else "a concentration on a small minority of the frames")

# %% tags=["remove-input"] mystnb={"image": {"alt": "Log-mel spectrogram of a clean test-other utterance with, below on the same time axis, the attention weights of asp-scalar, asp-channel and asp-scalar-clean against the dotted uniform share."}}
fig, ax_frames, ax_curve = viz.spectrogram_attention(
    S, clean, title=f"Trained attention on a clean utterance ({UTTERANCE}, test-other)")
plt.show()

# %% [markdown]
# *Figure: the weights of three trained models on one clean utterance.* Top: the log-mel
# frames. Bottom: the weights of the three models over the $T' =$ {glue:text}`Tp_example`
# output frames, and the uniform share $1/T'$ (dotted); look at where the curves dip below
# it. The effective number of frames $1/\sum_t \alpha_t^2$ is
# {glue:text}`neff_asp-scalar:.0%` of $T'$ for `asp-scalar`: {glue:md}`neff_reading`.
#
# Listen to it (16 kHz, as the models hear it):

# %% tags=["remove-input"]
display(HTML(viz.audio_html(speech, SAMPLE_RATE, label=f"{UTTERANCE}, clean")))

# %% [markdown]
# ## Pauses and silence
#
# How much do the weights follow loudness? For every output frame we take the energy of its
# centre frame (`analysis.frame_energy_db`: the mean square of the 25 ms window, in dB) and
# look at two numbers per utterance:
#
# - Spearman's rank correlation between $\alpha_{t'}$ and the frame energy;
# - the attention on the quietest 20 % of the frames relative to their uniform share (0.2).

# %%
energy_db = analysis.frame_energy_db(speech)  # (T,) dB, one per log-mel frame
energy = analysis.to_output_frames(energy_db, T - CONTEXT)  # (T',) dB
example_stats = {name: analysis.clean_attention_stats(m, speech)
                 for name, m in models.items()}
for name, st in example_stats.items():
    print(f"{name:17s} Spearman {st['energy_spearman']:.3f}, "
          f"quietest 20%: {st['quiet_relative_mass']:.2f} x uniform")

# %% tags=["remove-input"] mystnb={"image": {"alt": "Three scatter plots, one per model, of each frame's attention weight relative to uniform against its energy in dB, with the quietest 20 % of frames shaded grey and the uniform share dotted."}}
fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), sharey=True, layout="constrained")
cut = np.quantile(energy, 0.2)
for ax, (name, (_, a)) in zip(axes, clean.items(), strict=True):
    ax.scatter(energy, a * a.size, s=4, color=viz.MODEL_COLOURS[name], alpha=0.6)
    ax.axhline(1, color="#555555", linestyle=":", linewidth=1.5)
    ax.axvspan(energy.min() - 1, cut, color="#999999", alpha=0.25, linewidth=0)
    ax.set_title(f"{name}\nSpearman ρ = {example_stats[name]['energy_spearman']:.2f}",
                 fontsize="medium")
    ax.set_xlabel("frame energy (dB re full scale)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel(r"$\alpha_{t'} \cdot T'$ (1 = uniform)")
fig.suptitle(f"Weight against frame energy, {UTTERANCE} (grey: the quietest 20 % of frames)")
plt.show()

# %% [markdown]
# *Figure: each frame's weight against its energy, one panel per model.* Each dot is one
# frame of the example utterance: its weight in units of the uniform share (dotted) against
# its energy; the grey band holds the quietest fifth.
#
# Over all 100 test-other utterances (from the stored grid described below), with 95 %
# Student-t intervals:

# %% tags=["remove-input"]
grid = analysis.load_attention_grid()
stored = grid["clean"]
assert stored["utterances"] == [u.name for u in utterances]  # all 100, in order
i = index_of[UTTERANCE]
for name in MODELS:  # the stored values of the example utterance, recomputed above
    for key in ("quiet_relative_mass", "energy_spearman", "n_eff_share"):
        assert abs(stored[key][name][i] - example_stats[name][key]) < 1e-4, (name, key)
rows = []
for name in MODELS:
    rows.append([name, interval(stored["energy_spearman"][name]),
                 interval(stored["quiet_relative_mass"][name]),
                 interval(stored["n_eff_share"][name])])
    glue(f"quiet_{name}", np.mean(stored["quiet_relative_mass"][name]))
show_table(["model", "Spearman ρ(α, energy)", "quietest 20 %: mass / uniform",
            "effective frames / T'"], rows)
glue("n_utts", len(stored["utterances"]))
# the readings of the text below
quiet = {m: mean_interval(stored["quiet_relative_mass"][m]) for m in MODELS}
below = [m for m in MODELS if quiet[m][2] < 1]
rest = code_list([m for m in MODELS if m not in below])
glue("quiet_reading", "All three models give the quietest fifth of the frames clearly less "
     "than its uniform share" if len(below) == 3 else
     f"{code_list(below)} give the quietest fifth of the frames clearly less than its uniform "
     f"share, {rest} not clearly" if below else
     "No model gives the quietest fifth of the frames clearly less than its uniform share")
glue("quietest_model", code_list([min(MODELS, key=lambda m: quiet[m][0])]))

# %% [markdown]
# *Table: attention and loudness over {glue:text}`n_utts` utterances.*
#
# {glue:md}`quiet_reading`. `asp-scalar` gives it {glue:text}`quiet_asp-scalar:.2f` times its
# share, `asp-scalar-clean` {glue:text}`quiet_asp-scalar-clean:.2f` times, and
# {glue:md}`quietest_model` turns it down most. No model is told what a pause is; the
# noise-trained ones met pauses in training, the clean-trained one only those of the
# speakers. Pauses are not useless (they describe the room and the microphone), a reason for
# a pooling to turn them down rather than drop them.

# %% [markdown]
# ## Noise into one segment
#
# Now we put noise into part of an utterance. `analysis.noise_segment(samples)` gives the
# middle third, `(start, length)` in samples, and `analysis.add_noise` fills it with a noise
# excerpt through `data.mix_noise`, in one of two modes:
#
# - **replace**: the segment holds noise only, its RMS the whole utterance's speech RMS
#   divided by $10^{\text{SNR}/20}$. At 0 dB the noise is as loud as the speech on average;
#   at 20 dB it is a tenth as loud, like a quiet room between two sentences.
# - **add**: the noise is added to the speech of the segment, at the SNR measured over the
#   segment.
#
# Here is the example utterance with white noise replacing its middle third at 0 dB, and
# the share of each model's attention on the noise:

# %%
start, length = analysis.noise_segment(speech.size)  # the middle third
noisy = {}
for name, m in models.items():  # white noise replaces the middle third at 0 dB
    rng = analysis.noise_rng(0, i, "white_noise")  # the same excerpt for each
    noisy[name] = analysis.noise_attention(m, speech, "white_noise", 0.0,
                                           start, length, "replace", rng=rng)
for name, out in noisy.items():
    print(f"{name:17s} mass on the noise {out['mass']:.3f}, uniform share "
          f"{out['uniform']:.3f}, relative {out['relative_mass']:.2f}")

# %% tags=["remove-cell"]
mixed = noisy["asp-scalar"]["mixed"]
segment = (start / SAMPLE_RATE, (start + length) / SAMPLE_RATE)
R = grid["replace"]
SNRS, GRID_MODELS = R["snrs"], R["models"]
j0 = SNRS.index(0.0)


def grid_shares(kind: str, snr: float = 0.0) -> dict:
    """model -> (mean, low, high) of the stored relative mass over the 100 utterances."""
    return {m: mean_interval(R["relative_mass"][m][kind][SNRS.index(snr)]) for m in MODELS}


def glance_reading(kind: str) -> str:
    """Each model's stored relative mass on ``kind`` at 0 dB, in words."""
    return "; ".join(f"`{m}` gives it {against_uniform(R['relative_mass'][m][kind][j0])}"
                     for m in MODELS)


for name, out in noisy.items():
    glue(f"ex_rel_{name}", out["relative_mass"])
glue("ex_uniform", noisy["asp-scalar"]["uniform"])
glue("white_reading", glance_reading("white_noise"))

# %% tags=["remove-input"] mystnb={"image": {"alt": "At a glance: log-mel spectrogram of a test-other utterance whose middle third is replaced by white noise at 0 dB, with one colour band per model below it (asp-scalar, asp-channel, asp-scalar-clean) showing each frame's weight over the uniform share, the noise segment marked by dashed lines; beside the bands, one horizontal bar per model: the attention on the noise over its uniform share, mean over 100 utterances with 95 % intervals, and a dotted line at 1."}}
fig, _ = viz.attention_glance(
    features.log_mel(mixed), {n: (o["times"], o["alpha"]) for n, o in noisy.items()},
    grid_shares("white_noise"), segment=segment, hop_seconds=features.HOP_SECONDS,
    title=f"White noise replaces the middle third at 0 dB ({UTTERANCE})",
    share_label="on the noise / uniform share\n(100 utterances, 95 % CI)")
plt.show()

# %% [markdown]
# *Figure: where three models put their weight when white noise, as loud as the speech,
# replaces the middle third (between the dashed lines).* Bands: each model's weight on
# every output frame over the uniform share $1/T'$ (purple: less, orange: more). On this
# utterance the noise gets {glue:text}`ex_rel_asp-scalar:.2f` times its uniform share from
# `asp-scalar`, {glue:text}`ex_rel_asp-channel:.2f` from `asp-channel` and
# {glue:text}`ex_rel_asp-scalar-clean:.2f` from `asp-scalar-clean`. Bars: the same over
# all 100 test-other utterances (the stored grid below): {glue:md}`white_reading`.
#
# Which output frames are noise? `mix_noise` marks the log-mel frames whose centre sample
# lies in the segment, and `analysis.output_frame_mask` carries the mask to the $T' = T -
# 14$ output frames: frame $t'$ takes the value of input frame $t' + 7$, its centre.
#
# **Seen and unseen noise.** The noise-trained models heard three sorts of corruption in
# training (chapter 5's recipe, `asp_lab.train.recipe.corrupt`): the recorded noises
# {glue:md}`seen_list`; fresh samples of the generated families {glue:md}`generated_list`
# (`asp_lab.train.GENERATED_NOISES`); and pauses, a segment replaced by a faint floor far
# below the speech. The families are coloured noise (power falling faster with frequency
# than pink noise does, or rising), noise band-limited to a random band, white noise whose
# loudness swings a few times a second, and two to six steady tones at random, unrelated
# frequencies. Six kinds stay unseen:
#
# - `running_tap` and `pink_noise`, the other two recordings. Pink noise is less new than
#   it looks: its spectrum, falling as $1/f$, lies between the seen white noise (flat) and
#   the seen steeper coloured noise;
# - `hum`: mains hum, 50 Hz and its harmonics up to 1 kHz. The training tones were
#   inharmonic; no training noise was a harmonic series like this one;
# - `clicks`: sparse impulses, about 10 a second, over a faint floor;
# - `chirp`: logarithmic sweeps from 200 Hz to 4 kHz, two a second;
# - `babble`: six talkers at once, from train-clean-100 speakers (none of them in
#   test-other).

# %%
SEEN = analysis.training_noises("asp-scalar")  # the recordings it trained with
record = json.loads((CHECKPOINT_DIR / "asp-scalar-seed0.json").read_text())
GENERATED = record["train_config"].get("generated_noises", [])  # the families it trained with
KINDS = analysis.noise_kinds()  # the eight kinds tested here
UNSEEN = [k for k in KINDS if k not in SEEN]
print("recorded, seen:", SEEN, "| generated, seen:", GENERATED, "| unseen:", UNSEEN)

# %% tags=["remove-cell"]
assert SEEN == analysis.training_noises("asp-channel")
assert analysis.training_noises("asp-scalar-clean") == []
assert R["kinds"] == KINDS and R["utterances"] == [u.name for u in utterances]
glue("seen_list", code_list(SEEN))
glue("generated_list", code_list(GENERATED))
glue("train_snr_low", float(record["train_config"]["snr_db"][0]))
glue("train_snr_high", float(record["train_config"]["snr_db"][1]))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Twelve small log-mel spectrograms, two seconds each: the two recorded noises and the four generated families heard in training, and the six unseen kinds (pink noise, running tap, hum, clicks, chirp, babble)."}}
shown = [(k, "seen") for k in SEEN] + [(k, "generated, seen") for k in GENERATED]
shown += [(k, "unseen") for k in UNSEEN]
rows_needed = -(-len(shown) // 4)
fig, axes = plt.subplots(rows_needed, 4, figsize=(9, 2.1 * rows_needed + 0.6), sharex=True,
                         sharey=True, layout="constrained", squeeze=False)
for ax in axes.ravel()[len(shown):]:
    ax.axis("off")
for ax, (kind, label) in zip(axes.ravel(), shown, strict=False):
    excerpt = (generated_noise(kind, 2 * SAMPLE_RATE, np.random.default_rng(0))
               if label.startswith("generated") else analysis.noise_excerpt(kind, 2 * SAMPLE_RATE, rng=0))
    image = viz.spectrogram(ax, features.log_mel(excerpt), colorbar=False, vmin=-14, vmax=2)
    ax.set_title(f"{kind}\n({label})", fontsize="small")
    ax.label_outer()
fig.colorbar(image, ax=axes, label="log mel power (natural log)", fraction=0.03, pad=0.01)
fig.suptitle("The noise kinds: 2 s of each (peak amplitude as stored or made)")
plt.show()

# %% [markdown]
# *Figure: two seconds of every noise kind, before any scaling (of each generated family,
# one random draw).* Pink noise and the tap are broadband like the seen recordings; hum is
# a stack of steady lines in the lowest bands, the chirp a sweeping line, the clicks short
# bursts, and babble is speech. Listen to the example with four of them in its middle
# third (the clean utterance is above):

# %% tags=["remove-input"]
TWIN_KINDS = ("doing_the_dishes", "white_noise", "running_tap", "babble")  # 2 seen, 2 unseen
players = []  # the clean utterance has its player above
for kind in TWIN_KINDS:
    clip, _ = analysis.add_noise(speech, kind, 0.0, start, length, "replace",
                                 rng=analysis.noise_rng(0, i, kind))
    players.append(viz.audio_html(clip, label=f"{kind} ({'seen' if kind in SEEN else 'unseen'}) "
                                              f"replaces the middle third, 0 dB"))
display(HTML("".join(players)))

# %% [markdown]
# ## The key measurement: attention on noise, over utterances, noises and SNRs
#
# One utterance proves little. `analysis.noise_attention_grid` repeats the experiment on
# all 100 test-other utterances, for each of the eight noise kinds (one excerpt per
# utterance and kind, the same at every SNR), at -5, 0, 5, 10 and 20 dB, noise replacing
# the middle third, for every seed of the noise-trained models and for the clean-trained
# one: {glue:text}`grid_passes:,` forward passes, {glue:text}`grid_minutes:.1f` minutes on
# one CPU thread with the other grids of this chapter. `python -m asp_lab.analysis
# precompute` stored the result in `asp_lab/checkpoints/attention_grid.json`, with how it
# was made:

# %% tags=["remove-input"]
provenance = grid["provenance"]
print(json.dumps({k: provenance[k] for k in ("produced_by", "git_commit", "torch", "threads",
                                              "seed", "noise_choice", "seconds")}, indent=1))
mass = {m: np.array([R["relative_mass"][m][k] for k in KINDS]) for m in GRID_MODELS}  # (K, S, U)
print("per model: (kinds, SNRs, utterances) =", mass["asp-scalar"].shape)
glue("grid_minutes", provenance["seconds"] / 60)
glue("grid_passes", mass["asp-scalar"].size * len(GRID_MODELS))

# %% [markdown]
# The book checks the file at every build: it recomputes one entry from scratch, and the
# static widget below {glue:text}`rechecked` more.

# %% tags=["remove-cell"]
check = dict(model="asp-scalar", utterance_index=0, kind="white_noise", snr_db=0.0)
live = analysis.grid_entry(**check)
stored_value = R["relative_mass"]["asp-scalar"]["white_noise"][j0][0]
print(f"{check}: recomputed {live:.6f}, stored {stored_value:.6f}")
assert abs(live - stored_value) < 1e-4, "the stored grid no longer matches the code: re-run precompute"

# %% [markdown]
# Each utterance's relative mass is averaged over the seen recordings (or the unseen kinds),
# and the mean over the 100 utterances comes with its 95 % t-interval. (For
# `asp-scalar-clean` "seen" and "unseen" are only labels.)

# %% tags=["remove-cell"]
seen_idx = [KINDS.index(k) for k in SEEN]
unseen_idx = [KINDS.index(k) for k in UNSEEN]


def group_mass(model: str, group: list[int]) -> np.ndarray:
    """(S, U): per SNR and utterance, the relative mass averaged over the group's kinds."""
    return mass[model][group].mean(axis=0)


summary = {(m, g): np.array([mean_interval(row) for row in group_mass(m, idx)])  # (S, 3)
           for m in GRID_MODELS for g, idx in (("seen", seen_idx), ("unseen", unseen_idx))}
at0 = {(m, g): group_mass(m, idx)[j0] for m in GRID_MODELS  # (U,) per model and group
       for g, idx in (("seen", seen_idx), ("unseen", unseen_idx))}
for m in MODELS:
    for g in ("seen", "unseen"):
        key = f"{m}_{g}".replace("-", "_")
        glue(f"m0_{key}", summary[m, g][j0][0])
        glue(f"r0_{key}", against_uniform(at0[m, g]))
glue("scalar_seen_unseen", paired(at0["asp-scalar", "seen"], at0["asp-scalar", "unseen"],
                                  "is turned down more than unseen noise",
                                  "is turned down less than unseen noise",
                                  "is turned down about as much as unseen noise"))
glue("channel_vs_scalar", paired(at0["asp-channel", "seen"], at0["asp-scalar", "seen"],
                                 "turns seen noise down more than `asp-scalar`",
                                 "turns seen noise down less than `asp-scalar`",
                                 "turns seen noise down about as much as `asp-scalar`"))
glue("noise_training", paired(at0["asp-scalar", "seen"], at0["asp-scalar-clean", "seen"],
                              "the noise-trained model turns seen noise down more",
                              "the noise-trained model turns seen noise down less",
                              "no clear difference between them"))
j20, jm5 = SNRS.index(20.0), SNRS.index(-5.0)
for tag, j in (("20", j20), ("m5", jm5)):
    below = [m for m in MODELS if all(summary[m, g][j][2] < 1 for g in ("seen", "unseen"))]
    glue(f"below_{tag}", f"{code_list(below)} {'gives' if len(below) == 1 else 'give'}"
         if below else "no model gives")
    glue(f"clean_{tag}", against_uniform(group_mass("asp-scalar-clean", seen_idx)[j]))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Two panels, seen and unseen noise: attention mass on the noise-only middle third relative to uniform, against SNR from -5 to 20 dB, with 95% intervals, for asp-scalar, asp-channel and asp-scalar-clean, with the uniform share dotted at 1 and half of it dashed."}}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True, layout="constrained")
markers = {"asp-scalar": "o", "asp-channel": "s", "asp-scalar-clean": "^"}
for ax, g in zip(axes, ("seen", "unseen"), strict=True):
    for k, m in enumerate(MODELS):
        mean, low, high = summary[m, g].T
        x = np.array(SNRS) + (k - 1) * 0.4  # a small offset keeps the bars apart
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=viz.MODEL_COLOURS[m],
                    marker=markers[m], capsize=3, linewidth=1.5, label=m)
    ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1.5, label="uniform share")
    ax.axhline(0.5, color="#555555", linestyle="--", linewidth=1, label="half the uniform share")
    kinds_text = ", ".join(SEEN if g == "seen" else UNSEEN)
    ax.set_title(f"{g} noise\n({kinds_text})", fontsize="small")
    ax.set_xlabel("SNR (dB): noise RMS below the utterance's speech RMS")
    ax.set_xticks(SNRS)
    ax.grid(alpha=0.3)
lows = [summary[m, g][:, 1].min() for m in MODELS for g in ("seen", "unseen")]
highs = [summary[m, g][:, 2].max() for m in MODELS for g in ("seen", "unseen")]
axes[0].set_ylabel("attention on the noise / uniform share")
axes[0].set_ylim(min(0.4, 0.9 * min(lows)), max(1.15, 1.05 * max(highs)))
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3,
           fontsize="small", frameon=False)
fig.suptitle("Noise replacing the middle third: mean over 100 utterances, 95 % t-intervals")
plt.show()

# %% [markdown]
# *Figure: attention on a noise-only middle third against its loudness.* Each point is the
# mean over the 100 utterances of the attention on the noise, relative to its uniform share;
# the bars are 95 % intervals over utterances. Dotted: the uniform share of statistics
# pooling; dashed: half of it. At -5 dB, the loudest noise here, {glue:md}`below_m5` both
# groups clearly less than uniform; at 20 dB, where the noise-only third is nearly silence,
# {glue:md}`below_20` both groups clearly less. At 0 dB:

# %% tags=["remove-input"]
show_table(["model (noise replacing the middle third, 0 dB)", "seen noise", "unseen noise"],
           [[m] + [interval(at0[m, g]) for g in ("seen", "unseen")] for m in MODELS])

# %% [markdown]
# *Table: attention on the noise relative to its uniform share, with 95 % intervals over
# utterances.*
#
# This is the chapter's main measurement. At 0 dB `asp-scalar`, trained with noise, gives
# a noise it heard in training {glue:md}`r0_asp_scalar_seen`, and a noise it did not hear
# {glue:md}`r0_asp_scalar_unseen`: seen noise {glue:md}`scalar_seen_unseen`. `asp-channel`
# {glue:md}`channel_vs_scalar`. The same architecture trained on clean speech,
# `asp-scalar-clean`, gives seen noise {glue:md}`r0_asp_scalar_clean_seen`.
#
# The two scalar models differ only in what they heard in training, and at 0 dB
# {glue:md}`noise_training`. Whatever the attention does with noise, it learned it from the
# training crops: on clean speech it can only learn that quiet frames carry less of the
# speaker, and a noise as loud as the speech is not quiet. At 20 dB the noise-only third is
# nearly a pause, and the clean-trained model gives it {glue:md}`clean_20`.
#
# Per noise kind, at 0 dB:

# %% tags=["remove-input"]
rows = []
for k, kind in enumerate(KINDS):
    rows.append([f"{kind} ({'seen' if kind in SEEN else 'unseen'})"]
                + [interval(mass[m][k, j0]) for m in MODELS])
show_table(["noise at 0 dB"] + list(MODELS), rows)
per_kind0 = {kind: mass["asp-scalar"][k, j0] for k, kind in enumerate(KINDS)}  # (U,) each
best = min(per_kind0, key=lambda kind: per_kind0[kind].mean())
glue("best_kind", f"`{best}`")
glue("best_kind_mass", per_kind0[best].mean())
seen0 = at0["asp-scalar", "seen"]
broadband = np.mean([per_kind0[k] for k in ("pink_noise", "running_tap")], axis=0)
WORDS = ("less weight than the seen noises", "more weight than the seen noises",
         "about as much weight as the seen noises")
glue("broadband_reading", paired(broadband, seen0, *WORDS))
for kind in ("hum", "clicks", "chirp", "babble"):
    glue(f"{kind}_scalar", per_kind0[kind].mean())
    glue(f"{kind}_vs_seen", paired(per_kind0[kind], seen0, *WORDS))
glue("babble_reading", against_uniform(per_kind0["babble"]))

# %% [markdown]
# *Table: attention on each noise kind at 0 dB relative to its uniform share, with 95 %
# intervals over utterances.*
#
# For `asp-scalar` the lowest is {glue:md}`best_kind` ({glue:text}`best_kind_mass:.2f`).
# The broadband unseen noises (pink noise, the tap) keep {glue:md}`broadband_reading`;
# clicks keep {glue:md}`clicks_vs_seen`. Babble, which *is* speech, gets
# {glue:md}`babble_reading`; no pooling could be blamed for trusting it, since a pooling
# that ignored babble would ignore speakers too.

# %% [markdown]
# ### Hum and chirp
#
# The same utterance, with mains hum replacing its middle third at 0 dB:

# %% tags=["remove-cell"]
hum = {name: analysis.noise_attention(m, speech, "hum", 0.0, start, length, "replace",
                                      rng=analysis.noise_rng(0, i, "hum"))
       for name, m in models.items()}
glue("hum_reading", glance_reading("hum"))
tonal_trusted = [k for k in ("hum", "chirp")
                 if mean_interval(per_kind0[k] - seen0)[1] > 0]  # clearly above seen noise
why = {
    "hum": "Hum is a harmonic series: a fundamental and its multiples, steady, in the lowest "
           "mel bands. Voiced speech is a harmonic series too (the vocal folds' fundamental "
           "and its harmonics), and the frame layers that feed the attention learned their "
           "features on speech, where a stack of harmonic lines low in frequency means a voice.",
    "chirp": "A chirp is a tone gliding in pitch, as a voice's harmonics glide with intonation.",
}
glue("hum_why", (
    f"Why would an attention that turns the seen noises down trust "
    f"{' and '.join(f'`{k}`' for k in tonal_trusted)}? "
    + " ".join(why[k] for k in tonal_trusted) + " No training family had that structure: the "
    "generated tones were a few steady, unrelated frequencies, not a fundamental with its "
    "harmonics, and none of them glided.") if tonal_trusted else (
    "So the frame layers tell a steady harmonic series and a gliding tone from voiced speech, "
    "although no training family had that structure: the generated tones were a few steady, "
    "unrelated frequencies, not a fundamental with its harmonics."))

# %% tags=["remove-input"] mystnb={"image": {"alt": "At a glance, for hum: log-mel spectrogram of the test-other utterance whose middle third is replaced by mains hum (50 Hz and its harmonics) at 0 dB, with one colour band per model showing each frame's weight over the uniform share, the hum segment marked by dashed lines; beside the bands, a bar per model of the attention on the hum over its uniform share, mean over 100 utterances with 95 % intervals."}}
fig, _ = viz.attention_glance(
    features.log_mel(hum["asp-scalar"]["mixed"]), {n: (o["times"], o["alpha"]) for n, o in hum.items()},
    grid_shares("hum"), segment=segment, hop_seconds=features.HOP_SECONDS,
    title=f"Mains hum (unseen) replaces the middle third at 0 dB ({UTTERANCE})",
    share_label="on the hum / uniform share\n(100 utterances, 95 % CI)")
plt.show()

# %% [markdown]
# *Figure: the weights when hum, steady lines in the lowest mel bands, replaces the middle
# third.* Bars, over the 100 utterances: {glue:md}`hum_reading`.
#
# `asp-scalar` gives hum {glue:text}`hum_scalar:.2f` times its uniform share: it keeps
# {glue:md}`hum_vs_seen`. The chirp gets
# {glue:text}`chirp_scalar:.2f` times: it keeps {glue:md}`chirp_vs_seen`. {glue:md}`hum_why`

# %% [markdown]
# ### Every training seed
#
# Three training runs of each noise-trained model differ only in their seed. Do they agree?

# %% tags=["remove-input"]
SEED_MODELS = {"asp-scalar": ["asp-scalar", "asp-scalar-seed1", "asp-scalar-seed2"],
               "asp-channel": ["asp-channel", "asp-channel-seed1", "asp-channel-seed2"]}
rows = []
for family, names in SEED_MODELS.items():
    for seed, m in enumerate(names):
        rows.append([f"{family}, seed {seed}"] + [interval(at0[m, g]) for g in ("seen", "unseen")])
    values = [summary[m, "seen"][j0][0] for m in names]
    glue(f"seeds_{family}_seen_min".replace("-", "_"), min(values))
    glue(f"seeds_{family}_seen_max".replace("-", "_"), max(values))
show_table(["model (0 dB, noise replacing the middle third)", "seen noise", "unseen noise"], rows)
# the readings of the text below
runs = [m for names in SEED_MODELS.values() for m in names]
wider = [family for family, names in SEED_MODELS.items()  # spread of the seeds > widest interval
         if np.ptp([summary[m, "seen"][j0][0] for m in names])
         > max(summary[m, "seen"][j0][2] - summary[m, "seen"][j0][1] for m in names)]
glue("seeds_reading", "The seeds disagree by more than those intervals" if len(wider) == 2 else
     "The seeds agree within those intervals" if not wider else
     f"For {code_list(wider)} the seeds disagree by more than those intervals; for the other "
     "model they agree within them")
glue("n_runs", len(runs))
glue("n_runs_below_uniform", sum(summary[m, "seen"][j0][2] < 1 for m in runs))
glue("n_runs_seen_lower", sum(mean_interval(at0[m, "unseen"] - at0[m, "seen"])[1] > 0 for m in runs))
glue("n_runs_below_half", sum(summary[m, "seen"][j0][0] <= 0.5 for m in runs))
glue("seeds_remember", "here the seeds differ by more than the intervals over utterances, so "
     "one run is not enough to characterise a model's attention" if wider else
     "here they agree within the intervals over utterances, which only several runs can show")

# %% [markdown]
# *Table: attention on noise at 0 dB for each training seed, with 95 % intervals over
# utterances.*
#
# {glue:md}`seeds_reading`: for `asp-scalar`, seen noise gets from
# {glue:text}`seeds_asp_scalar_seen_min:.2f` to {glue:text}`seeds_asp_scalar_seen_max:.2f`
# times its share. Of the {glue:text}`n_runs` noise-trained runs,
# {glue:text}`n_runs_below_uniform` give seen noise clearly less than its uniform share,
# {glue:text}`n_runs_below_half` half of it or less, and {glue:text}`n_runs_seen_lower`
# clearly less than unseen noise.

# %% [markdown]
# ## Does it matter? Verification under noise
#
# Where the weights go is a means; the end is telling speakers apart. Chapter 5 compares
# the poolings' equal error rates (EER) on the {glue:text}`n_trials:,` test-other trials
# (the shipped models, every seed) and by cross-validation over the
# {glue:text}`cv_speakers` training speakers ({glue:text}`cv_trials:,` held-out trials),
# every system on the very same noisy trials, with a paired bootstrap over speakers and
# training runs (`asp_lab.experiments.crossval.load_comparison()`). Two cases at 0 dB: a
# middle third replaced by noise, and noise added over the whole utterance.

# %% tags=["remove-input"]
comparison = load_comparison()
SETS = {"test_other": "test-other", "crossval": "cross-validation"}
CASES = {"third:replace": "third replaced", "whole:add": "whole, added"}
PAIRS = ("asp-scalar - stats", "asp-channel - stats")
rows, readings = [], {}
for case, case_text in CASES.items():
    for group in ("seen", "unseen"):
        condition = f"{case}:{group}@0dB"
        for key, set_text in SETS.items():
            cells = []
            for pair in PAIRS:
                d = comparison[key]["results"][condition]["differences"][pair]
                low, high = d["ci"]
                word = "ASP better" if high < 0 else "ASP worse" if low > 0 else "no clear difference"
                readings[case, group, key, pair] = word
                cells.append(f"{100 * d['eer']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]: {word}")
            rows.append([f"{case_text}, {group}", set_text] + cells)
show_table(["noise at 0 dB", "evaluated on", "EER(asp-scalar) - EER(stats), points",
            "EER(asp-channel) - EER(stats), points"], rows)

# %% tags=["remove-cell"]
glue("n_trials", comparison["test_other"]["trials"])
glue("cv_speakers", comparison["crossval"]["speakers"])
glue("cv_trials", sum(comparison["crossval"]["trials_per_fold"]))
third = [w for (case, *_), w in readings.items() if case == "third:replace"]
whole = [w for (case, *_), w in readings.items() if case == "whole:add"]
glue("verdict", (
    f"Yes, where there are clean frames to prefer: with a replaced third, ASP has the clearly "
    f"lower EER in all {len(third)} comparisons" if all(w == "ASP better" for w in third) else
    f"Partly: with a replaced third, ASP has the clearly lower EER in "
    f"{third.count('ASP better')} of the {len(third)} comparisons, and the clearly higher in "
    f"{third.count('ASP worse')}" if "ASP better" in third else
    f"No, not in these measurements: with a replaced third, ASP has the clearly lower EER in "
    f"none of the {len(third)} comparisons, and the clearly higher in {third.count('ASP worse')}"))
glue("whole_reading", (
    f"With noise over the whole utterance there are no clean frames to prefer; there ASP is "
    f"clearly better in {whole.count('ASP better')} of the {len(whole)} comparisons and clearly "
    f"worse in {whole.count('ASP worse')}"))
noise_training = []
for case, case_text in CASES.items():
    for group in ("seen", "unseen"):
        d = comparison["test_other"]["results"][f"{case}:{group}@0dB"]["differences"][
            "asp-scalar - asp-scalar-clean"]
        low, high = d["ci"]
        noise_training.append(f"{case_text} ({group}): {100 * d['eer']:+.1f} "
                              f"[{100 * low:+.1f}, {100 * high:+.1f}]")
glue("noise_training_eer", "; ".join(noise_training))
glue("remember_verdict", f"here ASP is clearly better in {third.count('ASP better')} of the "
     f"{len(third)} comparisons with a replaced third, and in {whole.count('ASP better')} of the "
     f"{len(whole)} with noise over the whole utterance")

# %% [markdown]
# *Table: the paired EER difference of each ASP model from statistics pooling (in
# percentage points; below zero, ASP is better), with 95 % bootstrap intervals, and its
# reading: "better" or "worse" only when the interval excludes zero.*
#
# Does turning noise down in the pooling buy verification accuracy? {glue:md}`verdict`.
# {glue:md}`whole_reading`. For scale, noise training itself (scalar ASP with chapter 5's
# recipe minus without it, test-other, points) changes the EER by:
# {glue:md}`noise_training_eer`. [Chapter 5](05_training.ipynb) has the full comparison:
# every condition, both SNRs, minDCF and the detection curves.

# %% [markdown]
# ## Try it
#
# In JupyterLab or Colab the cell below shows a widget: choose the utterance (or upload
# your own), the noise, its SNR, where it goes and how long it lasts, replacing or added,
# and the model. It draws the weights on the spectrogram, plays the result, and reports the
# attention on the noise and how far the pooled $\mu$, $\sigma$ and the embedding moved.
# Its logic is `asp_lab.widgets.NoiseAttentionExplorer`. The built book cannot run it; the
# static twin after it can.

# %%
if not os.environ.get(viz.BOOK_BUILD_ENV):  # needs a kernel: not in the book
    explorer = widgets.NoiseAttentionExplorer()
    display(explorer.widget)

# %% [markdown]
# ### The static twin
#
# Precomputed for two utterances, four noises (two seen, two unseen) replacing the middle
# third, five SNRs and the three models. Move the slider to change the SNR; the menu (top
# right) picks the utterance and the noise. Top: the energy of each frame of the noisy
# utterance; below, each model's weights with the uniform share dotted, all on one vertical
# scale; the noise is shaded grey. Above each model's row, its attention on the noise
# relative to its uniform share.

# %% tags=["remove-input"]
TWIN_UTTERANCES = widgets.EXPLORER_UTTERANCES[:2]
cases = []
rechecked = 0
for name in TWIN_UTTERANCES:
    u = index_of[name]
    x = data.cached_audio(utterances[u].path)
    s0, n0 = analysis.noise_segment(x.size)
    for kind in TWIN_KINDS:
        excerpt = analysis.noise_excerpt(kind, n0, analysis.noise_rng(0, u, kind))
        case = {"label": f"{name} · {kind} ({'seen' if kind in SEEN else 'unseen'})",
                "segment": (s0 / SAMPLE_RATE, (s0 + n0) / SAMPLE_RATE),
                "energy": [], "alphas": {m: [] for m in MODELS}, "masses": {m: [] for m in MODELS}}
        for j, snr in enumerate(SNRS):
            mix, frame_mask = data.mix_noise(x, excerpt, snr, s0, n0, mode="replace")
            case["energy"].append(analysis.frame_energy_db(mix))
            for m in MODELS:
                _, a = asp_lab.frame_attention(models[m], mix)
                rel = analysis.relative_mass(a, frame_mask)
                assert abs(rel - R["relative_mass"][m][kind][j][u]) < 1e-4, (name, kind, snr, m)
                rechecked += 1
                case["alphas"][m].append(a)
                case["masses"][m].append(rel)
        cases.append(case)
print(f"{len(cases)} cases x {len(SNRS)} SNRs x {len(MODELS)} models: {rechecked} grid entries "
      f"recomputed, all equal to the stored grid")
glue("rechecked", rechecked)
twin = viz.noise_attention_twin(cases, SNRS, MODELS, hop_seconds=features.HOP_SECONDS,
                                frame_offset=FRAME_OFFSET)
viz.show_plotly(twin, div_id="asp-noise-widget")

# %% [markdown]
# All recomputed while the book was built, and checked against the stored grid. Try
# `babble` against `white_noise` at 0 dB, and watch `asp-scalar-clean` (bottom row) as the
# SNR falls.

# %% [markdown]
# ### Live, in your browser
#
# The widget below runs the shipped models themselves in your browser, one ONNX graph each
# from the waveform to the weights (`asp-lab export-onnx` writes them, onnxruntime-web runs
# them): take a test-other utterance, your own recording or your microphone, put a noise
# where and as loud as you like, added or replacing, and read each model's mass on the
# noise against its uniform share. Mixing and weights are those of `asp_lab.data.mix_noise`
# and `asp_lab.frame_attention`.
# [Try it with your voice](../book/try_it.md) has the widget on a page of its own.
#
# <div class="asp-live" data-model="asp-scalar"></div>
# <script src="../_static/live/asp-live.js"></script>

# %% tags=["remove-cell"]
scalar_seen = mean_interval(at0["asp-scalar", "seen"])
glue("remember_noise", (
    "the noise-trained `asp-scalar` gives a noise-only third of seen noise "
    f"{scalar_seen[0]:.2f} times its uniform share at 0 dB, and the same pooling trained on "
    f"clean speech {np.mean(at0['asp-scalar-clean', 'seen']):.2f} times"))
top = sorted(UNSEEN, key=lambda k: -per_kind0[k].mean())[:3]
glue("remember_unseen", "Of the unseen kinds, `asp-scalar` trusts most " + ", ".join(
    f"`{k}` ({per_kind0[k].mean():.2f})" for k in top))

# %% [markdown]
# ## What to remember
#
# - On clean speech, measure how far trained attention is from uniform (effective frames)
#   and where it dips (pauses), over many utterances, before reading a single picture.
# - Measure attention on noise as its share of the weight over the share uniform weights
#   would give it: 1 is statistics pooling, below 1 is turning the noise down.
# - What attention does with noise is learned from the training data, noise by noise: here
#   {glue:md}`remember_noise`. {glue:md}`remember_unseen`.
# - Compare training seeds, not only utterances: {glue:md}`seeds_remember`.
# - Turning noise down in the pooling is a means; a paired comparison of EERs says whether
#   it buys verification accuracy: {glue:md}`remember_verdict`.
#
# ## Going further
#
# *Noise added to speech rather than replacing it; the rest of the book does not depend on
# this section.*
#
# More often noise is *added*: the segment still holds speech, at an SNR measured over the
# segment. The stored grid holds that too, for the three seed-0 models, with one more
# number per utterance: inside the segment, the rank correlation of a frame's weight with
# its own SNR (`analysis.frame_snr_db`).

# %% tags=["remove-cell"]
A = grid["add"]
assert A["kinds"] == KINDS and A["snrs"] == SNRS
add_mass = {m: np.array([A["relative_mass"][m][k] for k in KINDS]) for m in MODELS}  # (K, S, U)
add_rho = {m: np.array([A["local_snr_spearman"][m][k] for k in KINDS]) for m in MODELS}


def rho_words(m: str, j: int) -> str:
    """The seen kinds' mean rank correlation of weight and frame SNR, in words."""
    rho = np.nanmean(add_rho[m][seen_idx, j], axis=0)  # (U,)
    mean, low, high = mean_interval(rho[np.isfinite(rho)])
    strength = "weakly " if abs(mean) < 0.2 else ""
    word = (f"{strength}positive: it prefers the frames where the speech stands out" if low > 0
            else f"{strength}negative: it prefers the frames where the noise stands out"
            if high < 0 else "not clearly different from zero")
    return f"{mean:.2f} [{low:.2f}, {high:.2f}], {word}"


for m in MODELS:
    key = m.replace("-", "_")
    glue(f"add0_{key}", add_mass[m][seen_idx, j0].mean())
    glue(f"rho0_{key}", rho_words(m, j0))
    glue(f"rhom5_{key}", rho_words(m, jm5))
glue("add_vs_replace", paired(add_mass["asp-scalar"][seen_idx, j0].mean(axis=0), seen0,
                              "less of its weight", "more of its weight",
                              "about as much of its weight"))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Left: attention on the noisy middle third relative to uniform when noise is added to the speech, against SNR, per model, seen and unseen noise. Right: rank correlation between a frame's weight and its own SNR inside the segment, against SNR."}}
fig, (ax_m, ax_r) = plt.subplots(1, 2, figsize=(9, 4.3), layout="constrained")
for m in MODELS:
    for g, idx, style in (("seen", seen_idx, "-"), ("unseen", unseen_idx, "--")):
        per_utt = add_mass[m][idx].mean(axis=0)  # (S, U)
        ax_m.plot(SNRS, per_utt.mean(axis=1), style, marker=markers[m], color=viz.MODEL_COLOURS[m],
                  label=f"{m}, {g}")
        rho = np.nanmean(add_rho[m][idx], axis=0)  # (S, U)
        ax_r.plot(SNRS, np.nanmean(rho, axis=1), style, marker=markers[m], color=viz.MODEL_COLOURS[m])
ax_m.axhline(1.0, color="#555555", linestyle=":", linewidth=1.5)
ax_m.set_ylabel("attention on the noisy third / uniform")
ax_r.set_ylabel("Spearman ρ(α, frame SNR) in the segment")
ax_r.axhline(0.0, color="#555555", linestyle=":", linewidth=1.5)
for ax in (ax_m, ax_r):
    ax.set_xlabel("SNR over the segment (dB)")
    ax.set_xticks(SNRS)
    ax.grid(alpha=0.3)
handles, labels = ax_m.get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small", frameon=False)
fig.suptitle("Noise added to the middle third (solid: seen noise, dashed: unseen); means over 100 utterances")
plt.show()

# %% [markdown]
# *Figure: noise added to the middle third: the attention on it (left), and inside it the
# rank correlation of a frame's weight with its own SNR (right).* At 0 dB `asp-scalar` gives
# the noisy third {glue:text}`add0_asp_scalar:.2f` times its uniform share for seen noise,
# against {glue:text}`m0_asp_scalar_seen:.2f` when the noise replaces the speech: with the
# speech still there, the third keeps {glue:md}`add_vs_replace`. Inside the segment, the
# correlation at 0 dB for `asp-scalar` is {glue:md}`rho0_asp_scalar`; for
# `asp-scalar-clean` it is {glue:md}`rho0_asp_scalar_clean`. At high SNR part of any
# correlation is the preference for loud frames seen in clean speech. At -5 dB, where the
# noise dominates, `asp-scalar`'s is {glue:md}`rhom5_asp_scalar`, and
# `asp-scalar-clean`'s {glue:md}`rhom5_asp_scalar_clean`.

# %% [markdown]
# ## Exercises
#
# 1. Measure the attention on noise when it replaces the *first* third instead of the
#    middle one (`analysis.noise_segment(n, position=0.0)`), for `asp-scalar` and white
#    noise at 0 dB, on the first 20 utterances. Does the position matter? (Code: it needs a
#    running kernel, JupyterLab or Colab; the explorer's position slider shows one
#    utterance at a time.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# model = asp_lab.load_model("asp-scalar")
# for position in (0.0, 0.5, 1.0):
#     rel = []
#     for u in range(20):
#         x = data.cached_audio(utterances[u].path)
#         start, length = analysis.noise_segment(x.size, position=position)
#         out = analysis.noise_attention(model, x, "white_noise", 0.0, start, length,
#                                        rng=analysis.noise_rng(0, u, "white_noise"))
#         rel.append(out["relative_mass"])
#     print(position, interval(rel))
# ```
# The scalar attention scores each frame from its 15-frame context alone, so a frame's
# score does not depend on where it lies. What changes with the position is which speech is
# left (utterances begin and end with silence) and the per-utterance mean the features
# subtract. With 20 utterances the intervals are wide: run all 100 before reading much into
# a difference.
# ````
#
# 2. The grid counts an output frame as noise when its centre lies in the segment, but it
#    sees 15 input frames. Recompute the example's relative mass for `asp-scalar` (white
#    noise, 0 dB) counting only frames whose whole 150 ms context lies in the segment.
#    (Code: it needs a running kernel.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# out = noisy["asp-scalar"]
# u = index_of[UTTERANCE]
# _, frame_mask = analysis.add_noise(speech, "white_noise", 0.0, start, length,
#                                    rng=analysis.noise_rng(0, u, "white_noise"))
# Tp = out["alpha"].size
# inside = np.array([frame_mask[t:t + CONTEXT + 1].all() for t in range(Tp)])  # (T',)
# print(out["relative_mass"], analysis.relative_mass(out["alpha"], inside))
# ```
# Only the 14 edge frames (7 on each side) change, out of several hundred in the segment,
# so the number moves a little; counting edge frames by their centre is a choice.
# ````
#
# 3. Training mixed the noises at {glue:text}`train_snr_low:g` to
#    {glue:text}`train_snr_high:g` dB SNR (`train_config["snr_db"]` in the checkpoint's
#    record). Does `asp-scalar` still turn white noise down when it is louder than anything
#    in training? Measure it replacing the middle third at -10, -20 and -30 dB on the first
#    20 utterances. (Code: it needs a running kernel; the SNRs of the
#    static twin and of the explorer do not go that low.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# for snr in (0.0, -10.0, -20.0, -30.0):
#     rel = [analysis.grid_entry("asp-scalar", u, "white_noise", snr) for u in range(20)]
#     print(snr, interval(rel))
# ```
# Read each interval against 1. If the relative mass stays below 1 far beyond the training
# range, the model recognises this noise by what it sounds like, not only by its level; if
# it climbs towards 1 as the noise gets louder, the rule weakens away from training. Try
# the same with `asp-scalar-clean`, which heard no noise at all.
# ````
