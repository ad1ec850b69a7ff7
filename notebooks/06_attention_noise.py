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
# weight per frame and channel {cite:p}`desplanques2020ecapa`, both trained with noise
# augmentation; and `asp-scalar-clean`, the scalar attention trained on clean speech only.
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
# The book's plumbing: plotting, tables and glue (the values the prose quotes).
index_of = {u.name: i for i, u in enumerate(utterances)}
import json
import os

import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display

from asp_lab import viz
from asp_lab.analysis import CHECKPOINT_DIR, mean_interval
from asp_lab.data import SAMPLE_RATE
from asp_lab.models import CONTEXT, FRAME_OFFSET

glue = viz.glue  # stores the values the text quotes (nothing outside the book)


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book


def interval(values) -> str:
    """'mean [low, high]' with the 95 % t-interval over utterances."""
    mean, low, high = mean_interval(values)
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


for name, model in models.items():
    print(f"{name:17s} pooling {model.pooling_name:11s} trained with noises: "
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

# %% tags=["remove-input"] mystnb={"image": {"alt": "Log-mel spectrogram of a clean test-other utterance with, below on the same time axis, the attention weights of asp-scalar, asp-channel and asp-scalar-clean against the uniform share; all three dip in the pauses."}}
fig, ax_frames, ax_curve = viz.spectrogram_attention(
    S, clean, title=f"Trained attention on a clean utterance ({UTTERANCE}, test-other)")
plt.show()

# %% [markdown]
# *Figure: all three models give the pauses less than the uniform share, and none
# concentrates on a few frames.* Top: the log-mel frames of the utterance. Bottom: the
# weights of the three models over the $T' =$ {glue:text}`Tp_example` output frames, and
# the uniform share $1/T'$ (dotted). The effective number of frames
# $1/\sum_t \alpha_t^2$ is {glue:text}`neff_asp-scalar:.0%` of $T'$ for `asp-scalar`: a
# trained attention here is a gentle reweighting, far from picking a handful of frames.
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

# %% tags=["remove-input"] mystnb={"image": {"alt": "Three scatter plots, one per model, of each frame's attention weight relative to uniform against its energy in dB; weights rise with energy and the quietest frames get less than uniform."}}
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
# *Figure: louder frames tend to get more weight, and the quietest frames (grey) less than
# uniform, in all three models.* Each dot is one frame of the example utterance: its weight
# in units of the uniform share against its energy.
#
# Over all 100 test-other utterances these numbers come from a stored grid (the next
# section says how it was made and how the book checks it), with 95 % Student-t intervals
# over the utterances:

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
    glue(f"rho_{name}", np.mean(stored["energy_spearman"][name]))
show_table(["model", "Spearman ρ(α, energy)", "quietest 20 %: mass / uniform",
            "effective frames / T'"], rows)
glue("n_utts", len(stored["utterances"]))
# what the text below says
quiet = {m: np.mean(stored["quiet_relative_mass"][m]) for m in MODELS}
assert all(np.mean(stored["energy_spearman"][m]) > 0 and quiet[m] < 1 for m in MODELS)
assert min(quiet, key=quiet.get) == "asp-scalar-clean"

# %% [markdown]
# *Table: attention and loudness over {glue:text}`n_utts` utterances.*
#
# Every model learned, without being told, to listen less to pauses: the quietest fifth of
# the frames gets {glue:text}`quiet_asp-scalar:.2f` times its uniform share from
# `asp-scalar`. The model trained on clean speech does it most. Pauses are not useless
# (they describe the room and the microphone), which is why no model drops them entirely.

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
# `mix_noise` also returns a mask over the $T$ log-mel frames (a frame is noise when its
# centre sample lies in the segment). The weights live on the $T' = T - 14$ output frames,
# so `analysis.output_frame_mask` maps the mask across: output frame $t'$ takes the value
# of input frame $t' + 7$, its centre. (The 7 frames on each side of the segment's edges
# see both speech and noise; we count them by their centre.)
#
# **Seen and unseen noise.** The noise-augmented models were trained with two of the four
# recorded noises (their `train_config` in the shipped checkpoint says which). The other two
# recorded noises, and four kinds that `analysis.synth_noise` makes, were never heard in
# training:
#
# - `hum`: mains hum, 50 Hz and its harmonics up to 1 kHz;
# - `clicks`: sparse impulses, about 10 a second, over a faint floor;
# - `chirp`: logarithmic sweeps from 200 Hz to 4 kHz, two a second;
# - `babble`: six talkers at once, from train-clean-100 speakers (none of them in
#   test-other).

# %%
SEEN = analysis.training_noises("asp-scalar")  # the noises it trained with
KINDS = analysis.noise_kinds()
UNSEEN = [k for k in KINDS if k not in SEEN]
start, length = analysis.noise_segment(speech.size)  # the middle third
print("seen in training:", SEEN, "| unseen:", UNSEEN)

# %% tags=["remove-cell"]
assert SEEN == analysis.training_noises("asp-channel")
assert analysis.training_noises("asp-scalar-clean") == []
segment = (start / SAMPLE_RATE, (start + length) / SAMPLE_RATE)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Eight small log-mel spectrograms, two seconds each, of the noise kinds: the two seen in training (doing the dishes, white noise) and six unseen ones (pink noise, running tap, hum, clicks, chirp, babble)."}}
fig, axes = plt.subplots(2, 4, figsize=(9, 4.6), sharex=True, sharey=True, layout="constrained")
for ax, kind in zip(axes.ravel(), SEEN + UNSEEN, strict=True):
    excerpt = analysis.noise_excerpt(kind, 2 * SAMPLE_RATE, rng=0)
    image = viz.spectrogram(ax, features.log_mel(excerpt), colorbar=False, vmin=-14, vmax=2)
    ax.set_title(f"{kind} ({'seen' if kind in SEEN else 'unseen'})", fontsize="medium")
    ax.label_outer()
fig.colorbar(image, ax=axes, label="log mel power (natural log)", fraction=0.03, pad=0.01)
fig.suptitle("The noise kinds: 2 s of each (peak amplitude as stored or made)")
plt.show()

# %% [markdown]
# *Figure: the two noises seen in training are broadband; hum, clicks, chirp and babble have
# a structure in frequency or time that neither of them had.* Two seconds of every noise
# kind, before any scaling. Of the unseen ones, pink noise and the running tap are broadband
# too.
#
# Here is the example utterance with white noise replacing its middle third at 0 dB, and
# each model's weights:

# %%
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
for name, out in noisy.items():
    glue(f"ex_rel_{name}", out["relative_mass"])
glue("ex_uniform", noisy["asp-scalar"]["uniform"])
# what the text and the figure's description say
assert noisy["asp-scalar"]["relative_mass"] < 1 and noisy["asp-channel"]["relative_mass"] < 1
assert noisy["asp-scalar-clean"]["relative_mass"] > 1

# %% tags=["remove-input"] mystnb={"image": {"alt": "Spectrogram of the example utterance whose middle third is replaced by white noise at 0 dB, with the three models' weights below and the noise segment shaded: the two noise-trained models give the noise less weight, the clean-trained model more."}}
fig, ax_frames, ax_curve = viz.spectrogram_attention(
    features.log_mel(mixed), {n: (o["times"], o["alpha"]) for n, o in noisy.items()},
    segment=segment, title="White noise (seen in training) replaces the middle third, 0 dB")
plt.show()

# %% [markdown]
# *Figure: the two noise-trained models give the noise (shaded) less weight than the speech
# around it; the model trained on clean speech gives it more.* The middle third is white
# noise, as loud as the speech. `asp-scalar` gives it {glue:text}`ex_rel_asp-scalar:.2f`
# times its uniform share. `asp-scalar-clean`, which never heard noise in training, gives
# it {glue:text}`ex_rel_asp-scalar-clean:.2f` times. Listen to the clip, and to the same
# third replaced by other noises (the clean utterance is above):

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
# the middle third, for every seed of the noise-augmented models and for the clean-trained
# one: {glue:text}`grid_passes:,` forward passes, which took {glue:text}`grid_minutes:.1f`
# minutes on one CPU thread (with the added-noise grid below and the clean statistics
# above), too slow to repeat at every build of the book. `python -m asp_lab.analysis
# precompute` ran it once and stored the result in
# `asp_lab/checkpoints/attention_grid.json`, with how it was made:

# %% tags=["remove-input"]
provenance = grid["provenance"]
print(json.dumps({k: provenance[k] for k in ("produced_by", "git_commit", "torch", "threads",
                                              "seed", "noise_choice", "seconds")}, indent=1))
R = grid["replace"]
SNRS, GRID_MODELS = R["snrs"], R["models"]
assert R["kinds"] == KINDS and R["utterances"] == [u.name for u in utterances]
mass = {m: np.array([R["relative_mass"][m][k] for k in KINDS]) for m in GRID_MODELS}  # (K, S, U)
print("per model: (kinds, SNRs, utterances) =", mass["asp-scalar"].shape)
glue("grid_minutes", provenance["seconds"] / 60)
glue("grid_passes", mass["asp-scalar"].size * len(GRID_MODELS))

# %% [markdown]
# A stored number is only as good as the code that made it, so the book checks the file at
# every build: it recomputes one entry of the grid from scratch and compares, and the
# static widget further down recomputes {glue:text}`rechecked` more (the tests check
# others).

# %% tags=["remove-cell"]
check = dict(model="asp-scalar", utterance_index=0, kind="white_noise", snr_db=0.0)
live = analysis.grid_entry(**check)
stored_value = R["relative_mass"]["asp-scalar"]["white_noise"][SNRS.index(0.0)][0]
print(f"{check}: recomputed {live:.6f}, stored {stored_value:.6f}")
assert abs(live - stored_value) < 1e-4, "the stored grid no longer matches the code: re-run precompute"

# %% [markdown]
# Each utterance's relative mass is averaged over the seen kinds (or the unseen ones), and
# the mean over the 100 utterances comes with its 95 % t-interval. (For `asp-scalar-clean`
# "seen" and "unseen" are only labels: it heard no noise at all.)

# %% tags=["remove-cell"]
seen_idx = [KINDS.index(k) for k in SEEN]
unseen_idx = [KINDS.index(k) for k in UNSEEN]


def group_mass(model: str, group: list[int]) -> np.ndarray:
    """(S, U): per SNR and utterance, the relative mass averaged over the group's kinds."""
    return mass[model][group].mean(axis=0)


summary = {(m, g): np.array([mean_interval(row) for row in group_mass(m, idx)])  # (S, 3)
           for m in GRID_MODELS for g, idx in (("seen", seen_idx), ("unseen", unseen_idx))}
j0 = SNRS.index(0.0)
for m in MODELS:
    for g in ("seen", "unseen"):
        mean, low, high = summary[m, g][j0]
        key = f"{m}_{g}".replace("-", "_")
        glue(f"m0_{key}", mean)
        glue(f"lo0_{key}", low)
        glue(f"hi0_{key}", high)
        glue(f"m20_{key}", summary[m, g][SNRS.index(20.0)][0])
        glue(f"mneg5_{key}", summary[m, g][SNRS.index(-5.0)][0])
# what the text below says (it states the findings as measured; these keep it true)
at0 = {(m, g): summary[m, g][j0][0] for m in MODELS for g in ("seen", "unseen")}
assert at0["asp-scalar-clean", "seen"] > 1 and at0["asp-scalar-clean", "unseen"] > 1
assert at0["asp-scalar", "seen"] < at0["asp-scalar", "unseen"] < 1
assert at0["asp-scalar", "seen"] > 0.5 and at0["asp-scalar", "unseen"] > 0.5  # more than half
assert at0["asp-channel", "seen"] < 1 and abs(at0["asp-scalar", "seen"] - at0["asp-channel", "seen"]) < 0.05
assert all(summary[m, g][SNRS.index(20.0)][0] < 1 for m in MODELS for g in ("seen", "unseen"))
# the figure's description: noise-trained models below 1 at every SNR, clean-trained above at -5 dB
assert all(row[0] < 1 for m in ("asp-scalar", "asp-channel") for g in ("seen", "unseen")
           for row in summary[m, g])
assert all(summary["asp-scalar-clean", g][SNRS.index(-5.0)][0] > 1 for g in ("seen", "unseen"))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Two panels, seen and unseen noise: attention mass on the noise-only middle third relative to uniform, against SNR from -5 to 20 dB, with 95% intervals, for asp-scalar, asp-channel and asp-scalar-clean; the clean-trained model sits at or above 1 at -5 and 0 dB and falls below it as the noise gets quieter; the noise-trained models stay below 1 throughout."}}
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
axes[0].set_ylabel("attention on the noise / uniform share")
axes[0].set_ylim(0.3, 1.3)
axes[1].legend(loc="lower left", fontsize="small")
fig.suptitle("Noise replacing the middle third: mean over 100 utterances, 95 % t-intervals")
plt.show()

# %% [markdown]
# *Figure: trained with noise, the attention turns a noise-only third down at every SNR,
# seen noise more than unseen; trained on clean speech, it does not turn loud noise down.*
# Each point is the mean over the 100 utterances of the attention on the noise-only third,
# relative to its uniform share; the bars are 95 % intervals over utterances. Dotted: the
# uniform share of statistics pooling; dashed: half of it. At 0 dB:

# %% tags=["remove-input"]
show_table(["model (noise replacing the middle third, 0 dB)", "seen noise", "unseen noise"],
           [[m] + [f"{summary[m, g][j0][0]:.2f} [{summary[m, g][j0][1]:.2f}, "
                   f"{summary[m, g][j0][2]:.2f}]" for g in ("seen", "unseen")]
            for m in MODELS])

# %% [markdown]
# *Table: attention on the noise relative to its uniform share, with 95 % intervals over
# utterances.*
#
# This is the chapter's main finding. `asp-scalar`, trained with noise, gives a noise it
# heard in training {glue:text}`m0_asp_scalar_seen:.2f` times its uniform share, and a
# noise it did not hear {glue:text}`m0_asp_scalar_unseen:.2f` times. `asp-channel` behaves
# alike. The same architecture trained on clean speech, `asp-scalar-clean`, does not turn
# the noise down at all: it gives it {glue:text}`m0_asp_scalar_clean_seen:.2f` times its
# share.
#
# So the attention does not, by itself, learn to ignore noise. Trained on clean speech it
# learned to turn quiet frames down, and a noise as loud as the speech is not quiet. Trained
# with noise, it learned to turn down the noises it met, and much less so the others. As
# the noise gets quieter the picture changes: at 20 dB the noise-only third is nearly
# silence, and every model gives it less than uniform, as it does the pauses of clean
# speech.
#
# Per noise kind, at 0 dB:

# %% tags=["remove-input"]
rows = []
for k, kind in enumerate(KINDS):
    rows.append([f"{kind} ({'seen' if kind in SEEN else 'unseen'})"]
                + [interval(mass[m][k, j0]) for m in MODELS])
show_table(["noise at 0 dB"] + list(MODELS), rows)
per_kind0 = {m: {kind: float(mass[m][k, j0].mean()) for k, kind in enumerate(KINDS)} for m in MODELS}
best = min(per_kind0["asp-scalar"], key=per_kind0["asp-scalar"].get)
worst = max(per_kind0["asp-scalar"], key=per_kind0["asp-scalar"].get)
glue("best_kind", best.replace("_", " "))
glue("best_kind_mass", per_kind0["asp-scalar"][best])
glue("worst_kind", worst.replace("_", " "))
glue("worst_kind_mass", per_kind0["asp-scalar"][worst])
glue("babble_scalar", per_kind0["asp-scalar"]["babble"])
for kind in ("hum", "clicks", "chirp"):
    glue(f"{kind}_scalar", per_kind0["asp-scalar"][kind])
# what the text below says
broadband = max(per_kind0["asp-scalar"][k] for k in ("pink_noise", "running_tap"))
structured = min(per_kind0["asp-scalar"][k] for k in analysis.SYNTH_NOISES)
assert broadband < max(per_kind0["asp-scalar"][k] for k in SEEN) + 0.1 and structured > broadband

# %% [markdown]
# *Table: attention on each noise kind at 0 dB relative to its uniform share, with 95 %
# intervals over utterances.*
#
# For `asp-scalar` the lowest is {glue:text}`best_kind` ({glue:text}`best_kind_mass:.2f`).
# The broadband unseen noises (pink noise, the tap) are turned down nearly as much as the
# seen ones; the structured ones (hum, clicks, chirp) less. Babble, which *is* speech, gets
# {glue:text}`babble_scalar:.2f` times its share, and no pooling could be blamed for
# trusting it.

# %% [markdown]
# ### Every training seed
#
# Three training runs of each noise-augmented model differ only in their seed. Do they
# agree?

# %% tags=["remove-input"]
SEED_MODELS = {"asp-scalar": ["asp-scalar", "asp-scalar-seed1", "asp-scalar-seed2"],
               "asp-channel": ["asp-channel", "asp-channel-seed1", "asp-channel-seed2"]}
rows = []
for family, names in SEED_MODELS.items():
    for seed, m in enumerate(names):
        rows.append([f"{family}, seed {seed}"]
                    + [f"{summary[m, g][j0][0]:.2f} [{summary[m, g][j0][1]:.2f}, "
                       f"{summary[m, g][j0][2]:.2f}]" for g in ("seen", "unseen")])
    for g in ("seen", "unseen"):
        values = [summary[m, g][j0][0] for m in names]
        glue(f"seeds_{family}_{g}_min".replace("-", "_"), min(values))
        glue(f"seeds_{family}_{g}_max".replace("-", "_"), max(values))
show_table(["model (0 dB, noise replacing the middle third)", "seen noise", "unseen noise"], rows)
# what the text below says
runs = [m for names in SEED_MODELS.values() for m in names]
assert all(summary[m, "seen"][j0][0] < summary[m, "unseen"][j0][0] < 1 for m in runs)
for family, names in SEED_MODELS.items():  # "the seeds disagree by more than those intervals"
    values = [summary[m, "seen"][j0][0] for m in names]
    widest = max(summary[m, "seen"][j0][2] - summary[m, "seen"][j0][1] for m in names)
    assert max(values) - min(values) > widest, family
lowest_run = min(runs, key=lambda m: summary[m, "seen"][j0][0])
glue("lowest_seen_run", Markdown(f"`{lowest_run}`"))
glue("lowest_seen_value", summary[lowest_run, "seen"][j0][0])
glue("seed0_scalar_seen", summary["asp-scalar", "seen"][j0][0])
glue("n_runs_below_half", sum(summary[m, "seen"][j0][0] <= 0.5 for m in runs))

# %% [markdown]
# *Table: attention on noise at 0 dB for each training seed, with 95 % intervals over
# utterances.*
#
# The seeds disagree by more than those intervals: for `asp-scalar`, seen noise gets from
# {glue:text}`seeds_asp_scalar_seen_min:.2f` to {glue:text}`seeds_asp_scalar_seen_max:.2f`
# times its share. {glue:text}`n_runs_below_half` of the six runs give it half the uniform
# share or less. What holds for every seed: all six noise-trained runs give the noise less
# than its uniform share, and seen noise less than unseen.

# %% [markdown]
# ## Does it matter? Verification under noise
#
# Where the weights go is a means; the end is telling speakers apart. Chapter 5 measures
# the equal error rate (EER) of every model on the {glue:text}`n_trials:,` test-other
# trials, clean and with
# noise added to whole utterances (see [chapter 5](05_training.ipynb) for the intervals
# and the detection curves). A recap at 0 dB, from `asp_lab/checkpoints/results.json` (means over the training seeds):

# %% tags=["remove-input"]
all_results = json.loads((CHECKPOINT_DIR / "results.json").read_text())
results = all_results["summary"]
glue("n_trials", all_results["models"]["asp-scalar-seed0"]["clean"]["trials"])
POOLINGS = ["stats", "asp-scalar", "asp-channel", "asp-scalar-clean"]
rows = []
for p in POOLINGS:
    r = results[p]
    rows.append([f"{p} ({r['seeds']} seed{'s' if r['seeds'] > 1 else ''})", f"{r['eer']['mean']:.1%}"]
                + [f"{r['noisy_eer_mean'][f'{k}@0dB']:.1%}" for k in SEEN + ["running_tap", "pink_noise"]])
    glue(f"eer0_{p}", np.mean([r["noisy_eer_mean"][f"{k}@0dB"] for k in SEEN]))
    glue(f"eer0u_{p}", np.mean([r["noisy_eer_mean"][f"{k}@0dB"] for k in ("running_tap", "pink_noise")]))
    glue(f"eer_clean_{p}", r["eer"]["mean"])
show_table(["pooling", "clean"] + [f"{k} (seen), 0 dB" for k in SEEN]
           + [f"{k} (unseen), 0 dB" for k in ("running_tap", "pink_noise")], rows)
# what the text below says
eer0 = {p: np.mean([results[p]["noisy_eer_mean"][f"{k}@0dB"] for k in SEEN]) for p in POOLINGS}
assert max(eer0, key=eer0.get) == "asp-scalar-clean" and eer0["asp-scalar"] >= eer0["stats"]

# %% [markdown]
# *Table: EER on test-other, clean and with each recorded noise added to whole utterances
# at 0 dB (means over the training seeds).*
#
# Noise augmentation matters far more than the pooling: averaged over the seen noises at
# 0 dB, the clean-trained model has an EER of {glue:text}`eer0_asp-scalar-clean:.1%`, the
# worst in noise although it has the same pooling as `asp-scalar`
# ({glue:text}`eer0_asp-scalar:.1%`). And turning the noise down in the pooling did not
# make ASP beat statistics pooling ({glue:text}`eer0_stats:.1%`): when noise covers the
# whole utterance, there are no clean frames to prefer. Chapter 5 gives the intervals these
# differences need.

# %% [markdown]
# ## Try it
#
# In JupyterLab or Colab the cell below shows a widget: choose the utterance (or upload a
# recording of your own), the noise, its SNR, where it starts and how long it lasts, whether
# it replaces or is added to the speech, and the model. It redraws the spectrogram with the
# weights, plays the result, and reports the attention on the noise, the effective number
# of frames, and how far the pooled $\mu$, $\sigma$ and the embedding moved from the clean
# utterance's. Its logic is `asp_lab.widgets.NoiseAttentionExplorer`. The built book cannot
# run it; the static twin after it can.

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
# Two utterances, four noises, five SNRs, three models, all recomputed while the book was
# built (and checked against the stored grid). Try `babble` against `white_noise` at 0 dB,
# and watch `asp-scalar-clean` (bottom row) as the SNR falls.

# %% [markdown]
# ### Live, in your browser
#
# The twin shows cases computed in advance. The widget below runs the shipped models
# themselves in your browser, as one ONNX graph each from the waveform to the weights
# (`asp-lab export-onnx` writes them; onnxruntime-web runs them): take a test-other
# utterance, a recording of your own or your voice from the microphone, put a noise into it
# where and as loud as you like, added or replacing the speech, and read each model's mass
# on the noise against its uniform share. The noise is mixed as `asp_lab.data.mix_noise`
# does it, and the weights are those `asp_lab.frame_attention` gives for the same audio.
# [Try it with your voice](../book/try_it.md) has the widget on a page of its own.
#
# <div class="asp-live" data-model="asp-scalar"></div>
# <script src="../_static/live/asp-live.js"></script>

# %% [markdown]
# ## What to remember
#
# - Trained attention on clean speech is a mild reweighting that turns the pauses down; it
#   never picks out a handful of frames.
# - Measure attention on noise as its share of the weight over the share uniform weights
#   would give it: 1 is statistics pooling, below 1 is turning the noise down.
# - Whether attention avoids noise is learned from the training data, noise by noise: the
#   noise-trained models turn seen noise down most, unseen noise less, and the clean-trained
#   model not at all.
# - Training seeds differ by more than the intervals over utterances: one run is not enough
#   to characterise a model's attention.
# - In verification under noise, noise augmentation matters more than the pooling.
#
# ## Going further
#
# *Noise added to speech rather than replacing it; the rest of the book does not depend on
# this section.*
#
# Replacing speech is the clearest case. More often noise is *added*: the frames of the
# segment still hold speech, at an SNR measured over the segment. The stored grid holds
# that experiment too, for the three seed-0 models, and one more number per utterance:
# within the noisy segment, the rank correlation between a frame's weight and its own SNR
# (`analysis.frame_snr_db`).

# %% tags=["remove-cell"]
A = grid["add"]
assert A["kinds"] == KINDS and A["snrs"] == SNRS
add_mass = {m: np.array([A["relative_mass"][m][k] for k in KINDS]) for m in MODELS}  # (K, S, U)
add_rho = {m: np.array([A["local_snr_spearman"][m][k] for k in KINDS]) for m in MODELS}
for m in MODELS:
    for g, idx in (("seen", seen_idx), ("unseen", unseen_idx)):
        key = f"{m}_{g}".replace("-", "_")
        glue(f"add0_{key}", add_mass[m][idx, j0].mean(axis=0).mean())
        glue(f"rho0_{key}", np.nanmean(add_rho[m][idx, j0].mean(axis=0)))
# what the text below says
rho_seen = {m: np.nanmean(add_rho[m][seen_idx], axis=(0, 2)) for m in MODELS}  # (S,) per model
assert rho_seen["asp-scalar"][0] > 0.2 > abs(rho_seen["asp-scalar-clean"][0])  # at -5 dB
assert add_mass["asp-scalar"][seen_idx, j0].mean() > mass["asp-scalar"][seen_idx, j0].mean()

# %% tags=["remove-input"] mystnb={"image": {"alt": "Left: attention on the noisy middle third relative to uniform when noise is added to the speech, against SNR, per model, seen and unseen noise. Right: rank correlation between a frame's weight and its own SNR inside the segment, against SNR."}}
fig, (ax_m, ax_r) = plt.subplots(1, 2, figsize=(9, 4.3), layout="constrained")
for m in MODELS:
    for g, idx, style in (("seen", seen_idx, "-"), ("unseen", unseen_idx, "--")):
        per_utt = add_mass[m][idx].mean(axis=0)  # (S, U)
        ax_m.plot(SNRS, per_utt.mean(axis=1), style, marker=markers[m], color=viz.MODEL_COLOURS[m],
                  label=f"{m}, {g}")
        rho = np.nanmean(add_rho[m][idx], axis=0)  # (S, U)
        ax_r.plot(SNRS, rho.mean(axis=1), style, marker=markers[m], color=viz.MODEL_COLOURS[m])
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
# *Figure: with the speech still there, the noisy third keeps more of its weight (left), and
# inside it the noise-trained model prefers the frames where the speech stands out
# (right).* At 0 dB `asp-scalar` gives the noisy third {glue:text}`add0_asp_scalar_seen:.2f`
# times its uniform share for seen noise. Inside the segment, the rank correlation of weight
# and frame SNR is {glue:text}`rho0_asp_scalar_seen:.2f` for `asp-scalar`, and
# {glue:text}`rho0_asp_scalar_clean_seen:.2f` for `asp-scalar-clean`. At high SNR part of
# that is the preference for loud frames seen in clean speech; at low SNR the noise-trained
# model keeps the correlation and the clean-trained one loses it.

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
# The encoder's convolutions see 15 frames and the scalar attention scores each frame on
# its own (no global context), so a frame's score does not depend on where it lies. What
# changes with the position is which speech is left (utterances begin and end with
# silence, and the noise replaces it there) and the per-utterance mean that the features
# subtract. The three means come out close but not equal; with 20 utterances their
# intervals are wide, so run all 100 before reading much into the differences.
# ````
#
# 2. The grid counts a boundary frame as noise when its centre lies in the segment, but
#    each output frame sees 15 input frames. Recompute the example's relative mass for
#    `asp-scalar` (white noise, 0 dB) counting only output frames that see noise alone
#    (their whole 150 ms context inside the segment), and the uniform share accordingly.
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
# Only the 14 frames at the two edges change (7 on each side), out of several hundred in
# the segment, so the number moves a little. The frames at the edges see speech and noise
# at once; whether they count as noise is a choice, and the text says which one the grid
# makes.
# ````
#
# 3. Training mixed the noises at 0 to 20 dB SNR (`train_config["snr_db"]` in the
#    checkpoint's record). Does `asp-scalar` still turn white noise down when it is louder
#    than anything in training? Measure it replacing the middle third at -10, -20 and
#    -30 dB on the first 20 utterances. (Code: it needs a running kernel; the SNRs of the
#    static twin and of the explorer do not go that low.)
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# for snr in (0.0, -10.0, -20.0, -30.0):
#     rel = [analysis.grid_entry("asp-scalar", u, "white_noise", snr) for u in range(20)]
#     print(snr, interval(rel))
# ```
# The relative mass rises as the noise gets louder than in training, but it stays below
# the uniform share down to -30 dB: the model recognises this noise by what it sounds
# like, not only by its level, though less firmly the further the level is from training.
# Try the same with `asp-scalar-clean`, which has no such rule.
# ````
