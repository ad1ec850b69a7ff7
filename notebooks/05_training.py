# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Training speaker embeddings
#
# Chapters 1 to 4 pooled frames that nobody had trained. This chapter trains the layers
# around the pooling: a small x-vector network {cite:p}`snyder2018xvectors` learns to tell
# training speakers apart, and its pooled, projected output, the *speaker embedding*, is then
# compared between utterances of speakers it has never heard. You will learn:
#
# - how a speaker-verification test is built from trials, and what a small test set can and
#   cannot show;
# - the network, its input and its loss (additive angular margin softmax), and how to read
#   a training curve that rises on purpose;
# - how to measure a model: equal error rate (EER), minimum detection cost (minDCF) and DET
#   curves, each with an interval that resamples speakers;
# - how to compare two poolings fairly: several seeds, and paired intervals.
#
# We train one small model live, then measure the models that asp_lab ships: statistics
# pooling and two kinds of attentive statistics pooling (ASP), several seeds each. The
# finding, stated first: the seeds of one pooling differ by more than the poolings do, so
# this data cannot show that attention helps here.
#
# Data: speech from LibriSpeech train-clean-100 and test-other
# {cite:p}`panayotov2015librispeech` (CC BY 4.0), noise recordings from Speech Commands
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
from asp_lab import analysis, data, features, metrics, models, train

# %% tags=["remove-cell"]
# The book's plumbing: plotting, tables, glue (the values the prose quotes), the shipped results.
torch.set_num_threads(1)  # one thread: what the shipped models used, and fast on a busy machine
import itertools
import json
import re
import time

import matplotlib.pyplot as plt
from IPython.display import Markdown

from asp_lab import viz


def glue(name: str, value) -> None:
    """``viz.glue``, with strings stored as Markdown (for the prose's glue:md roles)."""
    viz.glue(name, Markdown(value) if isinstance(value, str) else value)


show_table = viz.show_table  # a small HTML table, alike in Jupyter, Colab and the book


CHAPTER_START = time.perf_counter()
POOLINGS = ("stats", "asp-scalar", "asp-channel")
COLOURS = viz.MODEL_COLOURS  # the book's colours per model (colour-blind safe)
results = json.loads((analysis.CHECKPOINT_DIR / "results.json").read_text())
shipped = results["models"]
SEEDS = sorted(int(name.rsplit("-seed", 1)[1]) for name in shipped if name.startswith("stats-"))
print("shipped models:", ", ".join(shipped))

# %% [markdown]
# ## The task: speaker verification on test-other
#
# A verification *trial* asks: are these two recordings from the same speaker? The system
# scores the pair, here with the cosine between the two embeddings, and accepts it when the
# score passes a threshold. We use every pair of the test-other utterances the book ships:

# %%
test_utts = data.utterances("test-other")
trials = data.trials("test-other")  # every pair of utterances
n_target = sum(t.target for t in trials)
print(f"{len(test_utts)} utterances, {len(trials)} trials, {n_target} target")

# %% tags=["remove-cell"]
test_speakers = sorted({u.speaker for u in test_utts})
# LibriSpeech file names are <speaker>-<chapter>-<utterance>: a chapter is one recording session
sessions = {s: {u.name.split("-")[1] for u in test_utts if u.speaker == s} for s in test_speakers}
all_train = train.load_training_data(train.TrainConfig())[0]  # every training utterance, float32
train_speakers = {u.speaker for u in data.utterances("train-clean-100")}
test_seconds = sum(data.load_audio(u.path).size for u in test_utts) / data.SAMPLE_RATE
assert len(trials) == len(test_utts) * (len(test_utts) - 1) // 2
glue("n_test_speakers", len(test_speakers))
glue("n_test_utts", len(test_utts))
glue("utts_per_test_speaker", len(test_utts) // len(test_speakers))
glue("n_trials", len(trials))
glue("n_target", n_target)
glue("n_nontarget", len(trials) - n_target)
glue("test_minutes", test_seconds / 60)
test_lengths = [data.load_audio(u.path).size / data.SAMPLE_RATE for u in test_utts]
glue("test_min_s", min(test_lengths))
glue("test_max_s", max(test_lengths))
glue("test_median_s", np.median(test_lengths))
glue("max_sessions", max(len(v) for v in sessions.values()))
glue("n_train_speakers", len(train_speakers))
glue("n_train_utts", len(all_train))
glue("train_minutes", sum(a.size for a in all_train) / data.SAMPLE_RATE / 60)
glue("n_noises", len(data.noise_names()))

# %% [markdown]
# The test set has {glue:text}`n_test_speakers` speakers with
# {glue:text}`utts_per_test_speaker` utterances each, hence {glue:text}`n_trials:,` trials,
# of which {glue:text}`n_target` are target trials (same speaker). Training uses
# {glue:text}`n_train_speakers` other speakers from train-clean-100, with one utterance each
# ({glue:text}`train_minutes:.0f` minutes in all).
#
# Data this small shows the whole pipeline on real speech and large effects such as that of
# noise augmentation, but it cannot rank methods a few tenths of a percent of EER apart: all
# target trials come from {glue:text}`n_test_speakers` voices, so one unusual speaker moves
# every system's EER, and the intervals below resample *speakers*, not trials. Nor can it
# show robustness to a change of session: each test speaker's utterances come from at most
# {glue:text}`max_sessions` session, so a system can succeed by recognising the recording as
# much as the voice (the baseline without training below shows how far that goes).

# %% [markdown]
# ## The model and its loss
#
# ### A small x-vector network
#
# `asp_lab.models.TDNN` follows the x-vector network {cite:p}`snyder2018xvectors`, scaled
# down so that it trains on two CPU cores. One of the shipped models:

# %%
model_stats = asp_lab.load_model("stats")
print(model_stats)

# %% tags=["remove-cell"]
size = model_stats.config
cfg_shipped = shipped["stats-seed0"]["train_config"]  # every shipped model's recipe but pooling
for name in shipped:
    other = dict(shipped[name]["train_config"], pooling=None, seed=None, noise_aug=None)
    assert other == dict(cfg_shipped, pooling=None, seed=None, noise_aug=None), name
    assert asp_lab.load_model(name).config == dict(size, pooling=shipped[name]["train_config"]["pooling"])
params = {p: shipped[f"{p}-seed0"]["parameters"] for p in POOLINGS}
glue("n_mels", size["n_mels"])
glue("channels", size["channels"])
glue("pool_channels", size["pool_channels"])
glue("embed_dim", size["embed_dim"])
glue("attention_channels", size["attention_channels"])
glue("kernels", ", ".join(str(k) for k, _ in models.FRAME_LAYERS))
glue("dilations", ", ".join(str(d) for _, d in models.FRAME_LAYERS))
glue("n_frame_layers", len(models.FRAME_LAYERS))
glue("hop_ms", 1000 * features.HOP_SECONDS)
glue("context_frames", models.CONTEXT + 1)
glue("context_ms", (models.CONTEXT + 1) * 1000 * features.HOP_SECONDS)
for p in POOLINGS:
    glue(f"params_{p}", params[p])
glue("asp_scalar_extra", params["asp-scalar"] - params["stats"])
glue("asp_channel_extra", params["asp-channel"] - params["stats"])

# %% [markdown]
# From log-mel frames $x$ ({glue:text}`n_mels` bands, one frame every
# {glue:text}`hop_ms:.0f` ms) to an embedding:
#
# 1. **Frame layers.** {glue:text}`n_frame_layers` 1-D convolutions over time, each
#    followed by ReLU and batch norm. Each output frame $h_t$ sees
#    {glue:text}`context_frames` input frames ({glue:text}`context_ms` ms).
# 2. **The pooling slot.** Statistics pooling, $[\mu; \sigma]$ with uniform weights, or ASP,
#    where a small network scores each frame, $e_t = v^\top f(W h_t + b) + k$, and the
#    softmax weights $\alpha_t$ give the weighted mean and standard deviation (chapter 2).
#    `asp-scalar` has one weight per frame, as in {cite:t}`okabe2018attentive`;
#    `asp-channel` one per frame and channel, as in ECAPA-TDNN
#    {cite:p}`desplanques2020ecapa` (chapter 3).
# 3. **Segment layers.** Two linear layers to the embedding of $E =$
#    {glue:text}`embed_dim` numbers.
#
# The network has {glue:text}`params_stats` parameters with statistics pooling; scalar
# attention adds {glue:text}`asp_scalar_extra`.
#
# ### What the network sees
#
# The input is the utterance's log-mel frames with each band's mean over time removed,
#
# $$
# \tilde x_{c,t} = x_{c,t} - \frac{1}{T} \sum_{t'=1}^{T} x_{c,t'} ,
# $$
#
# `asp_lab.features.model_input`. A fixed gain per frequency band (a microphone's colour)
# adds a constant to $x_{c,t}$ at every $t$ and disappears; so does the voice's long-term
# average spectrum. The network must find the speaker in how the spectrum *moves*.
#
# ### Training batches
#
# Each training step draws a batch of equal-length random crops, one per speaker drawn, and
# adds noise to some of them. The recipe of the shipped models:

# %% tags=["remove-input"]
seen_noises = list(cfg_shipped["noises"])
unseen_noises = [n for n in data.noise_names() if n not in seen_noises]
assert set(seen_noises) == set(train.SEEN_NOISES) and set(unseen_noises) == set(train.UNSEEN_NOISES)
recipe = {"steps": "training steps", "batch_size": "crops per batch",
          "crop_seconds": "crop length (s)", "noise_prob": "probability of noise",
          "snr_db": "SNR (dB)", "whole_crop_prob": "noise over the whole crop",
          "noises": "noises seen in training", "lr": "learning rate (AdamW)",
          "margin": "margin m (rad)", "scale": "scale s"}
show_table(["setting", "value"],
           [[what, f"<code>{cfg_shipped[key]}</code>"] for key, what in recipe.items()])
glue("steps", cfg_shipped["steps"])
glue("batch_size", cfg_shipped["batch_size"])
glue("lr", cfg_shipped["lr"])
glue("crop_min", cfg_shipped["crop_seconds"][0])
glue("crop_max", cfg_shipped["crop_seconds"][1])
glue("noise_prob", cfg_shipped["noise_prob"])
glue("snr_min", cfg_shipped["snr_db"][0])
glue("snr_max", cfg_shipped["snr_db"][1])
glue("whole_crop_prob", cfg_shipped["whole_crop_prob"])
glue("margin", cfg_shipped["margin"])
glue("margin_start", cfg_shipped["margin_ramp"][0])
glue("margin_end", cfg_shipped["margin_ramp"][1])
glue("scale", cfg_shipped["scale"])
glue("warmup", cfg_shipped["warmup"])
glue("seen_noises", " and ".join(f"`{n}`" for n in seen_noises))
glue("unseen_noises", " and ".join(f"`{n}`" for n in unseen_noises))
glue("n_seen", len(seen_noises))

# %% [markdown]
# Only {glue:text}`n_seen` of the {glue:text}`n_noises` noise recordings are *seen* in
# training, {glue:md}`seen_noises`; {glue:md}`unseen_noises` stay *unseen*, for testing. A
# noisy crop gets its noise over the whole crop or over a random stretch of it. Here is one
# crop as the network sees it, with and without a seen noise over its middle:

# %%
cfg_example = train.TrainConfig(**cfg_shipped)
wave, labels = train.draw_batch(all_train, (), cfg_example, step=0)
crop = wave[0].numpy()
start, length = crop.size // 3, crop.size // 3  # noise over the middle third
dishes = data.load_noise("doing_the_dishes")
rng = np.random.default_rng(0)
noisy, _ = data.mix_noise(crop, dishes, 5.0, start, length, rng=rng)
raw = features.log_mel_torch(torch.from_numpy(crop))[0]  # (n_mels, T)
clean_in = features.model_input(torch.from_numpy(crop))[0]  # the model's input
noisy_in = features.model_input(torch.from_numpy(noisy))[0]

# %% tags=["remove-cell"]
EXAMPLE_SNR = 5.0
assert torch.allclose(clean_in, raw - raw.mean(dim=-1, keepdim=True))
assert clean_in.mean(dim=-1).abs().max() < 1e-4  # every band's mean is 0
glue("example_seconds", crop.size / data.SAMPLE_RATE)
glue("example_snr", EXAMPLE_SNR)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Three log-mel images of one training crop against time: raw log mel power, the same after removing each band's mean, and the same crop with dish-washing noise at 5 dB in its middle third, also mean-normalised."}}
fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True, layout="constrained")
speaker = data.utterances("train-clean-100")[int(labels[0])].speaker
viz.spectrogram(axes[0], raw.numpy(), title=f"A {crop.size / 16000:.1f} s training crop "
                f"(speaker {speaker}): log-mel frames x")
viz.spectrogram(axes[1], clean_in.numpy(), cmap="cividis", label="minus band mean",
                title="The same, each band's mean removed: what the network sees")
viz.spectrogram(axes[2], noisy_in.numpy(), cmap="cividis", label="minus band mean",
                title=f"With doing_the_dishes (a seen noise) at {EXAMPLE_SNR:g} dB SNR over the middle third")
for edge in (start / 16000, (start + length) / 16000):
    axes[2].axvline(edge, color="white", linestyle="--", linewidth=1.2)
for ax in axes[:2]:
    ax.set_xlabel("")
plt.show()

# %% [markdown]
# *Figure: removing each band's mean keeps the picture of the speech and drops its overall
# colour; noise fills the pauses and drowns the weaker harmonics.* Bottom: a seen noise over
# the middle third (dashed lines) at {glue:text}`example_snr:.0f` dB.
#
# ### The loss: additive angular margin softmax
#
# The network is trained as a classifier over the training speakers, built so that it learns
# a good *angle* between embeddings, the quantity cosine scoring uses.
# `asp_lab.models.AAMSoftmax` keeps one vector $w_j$ per training speaker and looks only at
# the angle $\theta_j$ between it and the embedding $z$. For an example of speaker $y$:
#
# $$
# L = -\log \frac{e^{s \cos(\theta_y + m)}}{e^{s \cos(\theta_y + m)} + \sum_{j \ne y} e^{s \cos\theta_j}} ,
# $$
#
# a cross-entropy in which the true speaker's angle is penalised by a margin $m$ radians.
# The margin is 0 for the first {glue:text}`margin_start:.0%` of the steps, so that the
# classes can form first, then rises linearly to its full value. The *accuracy* recorded in
# training is that of the nearest class by cosine, without the margin.

# %% [markdown]
# ## Training a model live
#
# The shipped models each trained for {glue:text}`steps` steps on all
# {glue:text}`n_train_speakers` speakers, too long for a page. Here is a smaller version
# with the same network, recipe and code (`asp_lab.train.train`): fewer speakers, shorter
# crops and fewer steps.

# %%
live = train.TrainConfig(pooling="asp-scalar", seed=0, steps=250, n_speakers=50,
                         crop_seconds=(1.0, 1.5))
t0 = time.perf_counter()
run = train.train(live, threads=1, progress=False)  # a line every 25 steps
live_seconds = time.perf_counter() - t0
live_eval = analysis.evaluate(run["model"], bootstrap=0)  # EER on test-other
print(f"{live.steps} steps in {live_seconds:.0f} s; EER {live_eval['eer']:.1%}")

# %% tags=["remove-cell"]
# train() seeds torch with cfg.seed and then builds the network: so is this, its starting point
assert live.model_kwargs() == {k: v for k, v in size.items() if k != "n_mels"} | {"pooling": "asp-scalar"}
torch.manual_seed(live.seed)
untrained = models.build_model(**live.model_kwargs()).eval()
untrained_eval = analysis.evaluate(untrained, return_scores=True)
curve = run["provenance"]["curve"]
glue("live_steps", live.steps)
glue("live_speakers", live.n_speakers)
glue("live_crop_min", live.crop_seconds[0])
glue("live_crop_max", live.crop_seconds[1])
glue("live_seconds", live_seconds)
glue("live_log_every", live.log_every)
glue("live_chance", 1 / live.n_speakers)
glue("live_ln_classes", np.log(live.n_speakers))
glue("live_first_loss", curve[0]["loss"])
glue("live_final_loss", curve[-1]["loss"])
glue("live_peak_loss", max(c["loss"] for c in curve))
glue("live_first_acc", curve[0]["accuracy"])
glue("live_final_acc", curve[-1]["accuracy"])
glue("live_eer", live_eval["eer"])
glue("untrained_eer", untrained_eval["eer"])
# what the prose below says of the curve: the margin makes the loss rise, the accuracy rises
ramp_start, ramp_end = (f * live.steps for f in live.margin_ramp)
before = min(c["loss"] for c in curve if c["step"] <= ramp_start)
peak_step = max(curve, key=lambda c: c["loss"])["step"]
assert ramp_start < peak_step and max(c["loss"] for c in curve) > before > 0
glue("live_peak_step", peak_step)
glue("live_ramp_start", ramp_start)
glue("live_ramp_end", ramp_end)
assert curve[-1]["loss"] < max(c["loss"] for c in curve) and curve[-1]["accuracy"] > curve[0]["accuracy"]

# %% tags=["remove-input"] mystnb={"image": {"alt": "The live run's training loss and accuracy against step: the loss falls, rises as the angular margin is phased in (shaded), and falls again; the accuracy rises overall."}}
steps = np.array([c["step"] for c in curve])
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
ax_loss.plot(steps, [c["loss"] for c in curve], color=COLOURS["asp-scalar"], marker=".")
ax_acc.plot(steps, [100 * c["accuracy"] for c in curve], color=COLOURS["asp-scalar"], marker=".")
ax_acc.axhline(100 / live.n_speakers, color="#555555", linestyle=":", label="chance")
for ax in (ax_loss, ax_acc):
    ax.axvspan(*(f * live.steps for f in live.margin_ramp), color="#999999", alpha=0.25,
               linewidth=0, label="margin rising")
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
ax_loss.set_ylabel("AAM-softmax loss (nats)")
ax_loss.set_title(f"Live run: loss, mean over {live.log_every} steps", fontsize="medium")
ax_acc.set_ylabel("training accuracy (%)")
ax_acc.set_title(f"Live run: accuracy over {live.n_speakers} speakers", fontsize="medium")
ax_acc.legend(loc="upper left", fontsize="small")
plt.show()

# %% [markdown]
# *Figure: the loss of a margin loss is not a progress bar; it rises while the margin is
# phased in (shaded), and the accuracy rises regardless.* The run took
# {glue:text}`live_seconds:.0f` s here. The loss starts at
# {glue:text}`live_first_loss:.2f` nats, above the $\ln$ {glue:text}`live_speakers` $=$
# {glue:text}`live_ln_classes:.2f` nats of a uniform guess: with the scale $s$, even random
# cosines make confident guesses, mostly wrong. It rises to
# {glue:text}`live_peak_loss:.2f` while the margin grows (each embedding must now beat its
# rivals by $m$), then falls to {glue:text}`live_final_loss:.2f`. The accuracy, measured without the margin, ends at
# {glue:text}`live_final_acc:.0%` (chance: {glue:text}`live_chance:.0%`).
#
# What counts is the test. On test-other, whose speakers the network never heard, the EER
# fell from {glue:text}`untrained_eer:.1%` before training to {glue:text}`live_eer:.1%`
# after this short run.

# %% [markdown]
# ## The shipped models
#
# asp_lab ships {glue:text}`n_shipped` models trained with the full recipe: statistics
# pooling, scalar ASP and channel-wise ASP, each with seeds {glue:md}`seed_list`, all with
# noise augmentation; and scalar ASP without noise augmentation (`asp-scalar-clean`, seed
# 0), to see what the augmentation does. Their training curves:

# %% tags=["remove-cell"]
glue("seed_list", ", ".join(str(s) for s in SEEDS))
glue("n_seeds", len(SEEDS))
glue("n_shipped", len(shipped))
groups = {p: [shipped[f"{p}-seed{s}"] for s in SEEDS] for p in POOLINGS}
groups["asp-scalar-clean"] = [shipped["asp-scalar-clean-seed0"]]
for entry in shipped.values():
    assert entry["train_config"]["steps"] == cfg_shipped["steps"] == entry["curve"][-1]["step"]
final = {g: (np.mean([e["curve"][-1]["loss"] for e in es]),
             np.mean([e["curve"][-1]["accuracy"] for e in es])) for g, es in groups.items()}
for g, (loss, acc) in final.items():
    glue(f"final_loss_{g}", loss)
    glue(f"final_acc_{g}", acc)
glue("final_acc_aug_min", min(final[p][1] for p in POOLINGS))
glue("final_acc_aug_max", max(final[p][1] for p in POOLINGS))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Training loss and accuracy against step for the ten shipped models: one colour per pooling, thin lines for seeds and a thick line for their mean; the model trained without noise (black, dashed) ends with a much lower loss and near-perfect accuracy."}}
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
for g, entries in groups.items():
    step = np.array([c["step"] for c in entries[0]["curve"]])
    loss = np.array([[c["loss"] for c in e["curve"]] for e in entries])
    acc = 100 * np.array([[c["accuracy"] for c in e["curve"]] for e in entries])
    style = dict(color=COLOURS[g], linestyle="--" if g.endswith("clean") else "-")
    for ax, y in ((ax_loss, loss), (ax_acc, acc)):
        if len(entries) > 1:
            ax.plot(step, y.T, linewidth=0.6, alpha=0.5, **style)
        ax.plot(step, y.mean(axis=0), linewidth=2, label=g, **style)
for ax in (ax_loss, ax_acc):
    ax.axvspan(*(f * cfg_shipped["steps"] for f in cfg_shipped["margin_ramp"]), color="#999999",
               alpha=0.2, linewidth=0)
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
ax_loss.set_ylabel("AAM-softmax loss (nats)")
ax_loss.set_title("Shipped models: training loss", fontsize="medium")
ax_acc.set_ylabel("training accuracy (%)")
ax_acc.set_title(f"Training accuracy over {len(train_speakers)} speakers", fontsize="medium")
ax_acc.legend(loc="upper left", fontsize="small")
plt.show()

# %% [markdown]
# *Figure: the three poolings train alike; the model trained without noise (dashed) fits
# its training data far better.* Thick lines: the mean over {glue:text}`n_seeds` seeds;
# thin lines: each seed; shaded: the margin rising. The noise-augmented models end between
# {glue:text}`final_acc_aug_min:.0%` and {glue:text}`final_acc_aug_max:.0%` training
# accuracy, on noisy crops; `asp-scalar-clean` at {glue:text}`final_acc_asp-scalar-clean:.1%`.
# Clean crops of one recording per speaker are easy to memorise; whether that carries over
# to new speakers is what the test measures.

# %% [markdown]
# ## A baseline without training
#
# How much of the result is the training? Take the crudest embedding there is: statistics
# pooling applied to the log-mel frames themselves, with no network at all, scored by
# cosine exactly as for the trained models. Once on the raw frames, once on the
# mean-normalised frames the network sees (there the mean half is zero):

# %%
raw_stats, norm_stats = [], []
for u in test_utts:
    wave = torch.from_numpy(data.load_audio(u.path))
    x = features.log_mel_torch(wave)[0]  # (n_mels, T) raw log-mel
    xn = features.model_input(wave)[0]  # (n_mels, T) each band's mean removed
    raw_stats.append(torch.cat([x.mean(-1), x.std(-1)]).numpy())
    norm_stats.append(torch.cat([xn.mean(-1), xn.std(-1)]).numpy())
raw_stats, norm_stats = np.stack(raw_stats), np.stack(norm_stats)  # (100, 80)
pairs = np.array(list(itertools.combinations(range(len(test_utts)), 2)))
baseline_scores = {
    "log-mel mean + std, raw": metrics.cosine_scores(
        raw_stats[pairs[:, 0]], raw_stats[pairs[:, 1]]),
    "log-mel std, mean-normalised": metrics.cosine_scores(
        norm_stats[pairs[:, 0]], norm_stats[pairs[:, 1]]),
}

# %% tags=["remove-input"]
BOOT = results["models"]["stats-seed0"]["clean"]["bootstrap"]
glue("boot_rounds", BOOT["rounds"])
glue("boot_level", BOOT["level"])
speaker_of = np.array([u.speaker for u in test_utts])
spk_a, spk_b = speaker_of[pairs[:, 0]], speaker_of[pairs[:, 1]]
labels_trials = spk_a == spk_b
assert labels_trials.tolist() == [t.target for t in trials]  # the trials, in evaluate's order
assert np.abs(norm_stats[:, : size["n_mels"]]).max() < 1e-4  # the mean half is zero
DCF = {"min_dcf_0.01": 0.01, "min_dcf_0.05": 0.05}
glue("p_dcf_1", DCF["min_dcf_0.01"])
glue("p_dcf_2", DCF["min_dcf_0.05"])


def verification(scores: np.ndarray) -> dict:
    """EER and minDCF of the test-other trials, with speaker-bootstrap intervals, as
    ``asp_lab.analysis.evaluate`` computes them. ``scores: (4950,)`` in trial order."""
    fns = {"eer": metrics.eer} | {
        k: (lambda s, y, p=p: metrics.min_dcf(s, y, p_target=p)) for k, p in DCF.items()}
    out = {}
    for key, fn in fns.items():
        point, low, high = metrics.bootstrap_ci(fn, scores, labels_trials, spk_a, spk_b,
                                                n=BOOT["rounds"], level=BOOT["level"])
        out[key], out[f"{key}_ci"] = point, [low, high]
    return out


baselines = {name: verification(s) for name, s in baseline_scores.items()}
baselines["untrained network (asp-scalar)"] = untrained_eval
show_table(["baseline", "EER % [95 % CI]"],
           [[name, f"{100 * r['eer']:.1f} [{100 * r['eer_ci'][0]:.1f}, "
                   f"{100 * r['eer_ci'][1]:.1f}]"] for name, r in baselines.items()])
glue("base_raw_eer", baselines["log-mel mean + std, raw"]["eer"])
glue("base_raw_lo", baselines["log-mel mean + std, raw"]["eer_ci"][0])
glue("base_raw_hi", baselines["log-mel mean + std, raw"]["eer_ci"][1])
glue("base_norm_eer", baselines["log-mel std, mean-normalised"]["eer"])
glue("base_norm_lo", baselines["log-mel std, mean-normalised"]["eer_ci"][0])
glue("base_norm_hi", baselines["log-mel std, mean-normalised"]["eer_ci"][1])

# %% [markdown]
# *Table: EER of the baselines, with {glue:text}`boot_level:.0%` intervals from a bootstrap
# that resamples speakers ({glue:text}`boot_rounds` rounds, `asp_lab.metrics.bootstrap_ci`).*
#
# With no network at all, the raw statistics reach an EER of
# {glue:text}`base_raw_eer:.1%`. On the mean-normalised frames, the same statistics reach
# only {glue:text}`base_norm_eer:.1%`. The difference is the long-term average spectrum of
# each recording: it carries the voice, but also the microphone and room of the session, and
# here every test speaker's utterances share one session. The raw baseline is the bar a
# system must clear on this test set; the normalised one is where training starts.

# %% [markdown]
# ## EER and minDCF of the shipped models
#
# `asp_lab.analysis.evaluate` embeds every test utterance, scores every trial, and reports
# the EER and the minDCF at target priors {glue:text}`p_dcf_1` and {glue:text}`p_dcf_2`
# (miss and false acceptance both cost 1, normalised so that 1 is the cost of always
# deciding the same way). We run it on every shipped model, and check that the numbers
# equal those recorded at training time:

# %%
evaluated = {name: analysis.evaluate(asp_lab.load_model(name), bootstrap=0,
                                     return_scores=True) for name in shipped}
live_scores = {name: r["scores"] for name, r in evaluated.items()}  # (4950,)
print({name: f"{r['eer']:.1%}" for name, r in evaluated.items()})

# %% tags=["remove-input"]
checked = []
for name, r in evaluated.items():
    assert r["labels"].tolist() == labels_trials.tolist()
    for key in ("eer", "min_dcf_0.01", "min_dcf_0.05"):
        checked.append(abs(r[key] - shipped[name]["clean"][key]))
assert max(checked) == 0.0, max(checked)
glue("max_diff", max(checked))


def fmt(r: dict, key: str, percent: bool) -> str:
    f = (lambda v: f"{100 * v:.1f}") if percent else (lambda v: f"{v:.3f}")
    text = f(r[key])
    if f"{key}_ci" in r:
        text += f" [{f(r[key + '_ci'][0])}, {f(r[key + '_ci'][1])}]"
    return text


rows = [[f"<em>{name}</em>", "-", *(fmt(r, k, k == "eer") for k in ("eer", *DCF))]
        for name, r in baselines.items()]
mean_over_seeds = {}
for g, entries in groups.items():
    for s, e in zip(SEEDS, entries, strict=False):
        rows.append([g, s, *(fmt(e["clean"], k, k == "eer") for k in ("eer", *DCF))])
    if len(entries) > 1:
        mean_over_seeds[g] = {k: float(np.mean([e["clean"][k] for e in entries])) for k in ("eer", *DCF)}
        rows.append([f"<strong>{g}</strong>", "mean", *(
            f"<strong>{fmt(mean_over_seeds[g], k, k == 'eer')}</strong>" for k in ("eer", *DCF))])
show_table(["model", "seed", "EER % [95 % CI]", "minDCF(0.01) [95 % CI]",
            "minDCF(0.05) [95 % CI]"], rows)
for g, m in mean_over_seeds.items():
    for k, v in m.items():
        glue(f"mean_{k}_{g}".replace(".", "p"), v)
    assert np.isclose(m["eer"], results["summary"][g]["eer"]["mean"])
order_eer = sorted(mean_over_seeds, key=lambda g: mean_over_seeds[g]["eer"])
assert order_eer == sorted(mean_over_seeds, key=lambda g: mean_over_seeds[g]["min_dcf_0.01"])  # prose
trained_eer = [e["clean"]["eer"] for e in shipped.values()]
glue("n_beat_raw", sum(e < baselines["log-mel mean + std, raw"]["eer"] for e in trained_eer))
glue("n_beat_norm", sum(e < baselines["log-mel std, mean-normalised"]["eer"] for e in trained_eer))
glue("n_beat_raw_dcf", sum(e["clean"]["min_dcf_0.01"]
                           < baselines["log-mel mean + std, raw"]["min_dcf_0.01"]
                           for e in shipped.values()))
glue("n_checked", len(shipped))

# %% [markdown]
# *Table: clean test-other results of the baselines (italic) and of every shipped model,
# with {glue:text}`boot_level:.0%` speaker-bootstrap intervals; bold: the mean over seeds.*
#
# All {glue:text}`n_checked` models reproduce their recorded numbers exactly. The minDCF
# orders the poolings' means as the EER does. {glue:text}`n_beat_norm` of the
# {glue:text}`n_shipped` trained models beat the mean-normalised baseline in EER, and
# {glue:text}`n_beat_raw` beat the raw one. Look at the intervals before reading anything
# into the order:

# %% tags=["remove-input"] mystnb={"image": {"alt": "EER in percent of each shipped model, grouped by pooling with one point per seed and a vertical bar for its 95% speaker-bootstrap interval, a short horizontal line at each pooling's mean, and dashed horizontal lines for the two untrained baselines."}}
fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
for i, (g, entries) in enumerate(groups.items()):
    for j, e in enumerate(entries):
        x = i + 0.2 * (j - (len(entries) - 1) / 2)
        eer_, (lo, hi) = 100 * e["clean"]["eer"], e["clean"]["eer_ci"]
        ax.errorbar(x, eer_, yerr=[[eer_ - 100 * lo], [100 * hi - eer_]], fmt="o",
                    color=COLOURS[g], capsize=4, markersize=6)
        ax.annotate(f"seed {SEEDS[j]}", (x, 100 * hi), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize="x-small")
    if g in mean_over_seeds:
        ax.hlines(100 * mean_over_seeds[g]["eer"], i - 0.35, i + 0.35, color=COLOURS[g],
                  linewidth=2.5, label=f"{g}: mean over seeds")
for (name, r), style in zip(list(baselines.items())[:2], ("--", "-."), strict=True):
    ax.axhline(100 * r["eer"], color="#9467bd", linestyle=style, linewidth=1.2,
               label=f"baseline: {name}")
ax.set_xticks(range(len(groups)), list(groups))
ax.set_xlim(-0.6, len(groups) - 0.4)
ax.set_ylim(0, None)
ax.set_xlabel("model (pooling; asp-scalar-clean: no noise augmentation)")
ax.set_ylabel("EER on clean test-other (%)")
ax.set_title(f"EER per model and seed, with {BOOT['level']:.0%} speaker-bootstrap intervals")
ax.grid(axis="y", alpha=0.3)
fig.legend(loc="outside lower center", fontsize="small", ncols=3, frameon=False)
plt.show()

# %% [markdown]
# *Figure: every model's interval overlaps every other's, and the seeds of one pooling
# spread as widely as the poolings do.* Each point is one trained model, its bar the
# interval from resampling the {glue:text}`n_test_speakers` test speakers; the short thick
# lines are the means over seeds, the dashed lines the two baselines without training.

# %% [markdown]
# ### Is one pooling better?
#
# Three ways to ask the numbers, from crude to careful.

# %% tags=["remove-cell"]
aug = [f"{p}-seed{s}" for p in POOLINGS for s in SEEDS]
ci = {n: shipped[n]["clean"]["eer_ci"] for n in aug}
cross = [(a, b) for a, b in itertools.combinations(aug, 2) if a.split("-seed")[0] != b.split("-seed")[0]]
overlap = [max(ci[a][0], ci[b][0]) <= min(ci[a][1], ci[b][1]) for a, b in cross]
best = min(aug, key=lambda n: shipped[n]["clean"]["eer"])
worst = max(aug, key=lambda n: shipped[n]["clean"]["eer"])
# the introduction says: every interval overlaps every other, and seeds differ more than means
assert all(max(ci[a][0], ci[b][0]) <= min(ci[a][1], ci[b][1]) for a, b in itertools.combinations(aug, 2))
spread = {p: max(e["clean"]["eer"] for e in groups[p]) - min(e["clean"]["eer"] for e in groups[p])
          for p in POOLINGS}
width = np.mean([ci[n][1] - ci[n][0] for n in aug])
glue("n_overlap", sum(overlap))
glue("n_cross", len(cross))
glue("best_model", f"`{best}`")
glue("worst_model", f"`{worst}`")
glue("best_eer", shipped[best]["clean"]["eer"])
glue("worst_eer", shipped[worst]["clean"]["eer"])
assert max(ci[best][0], ci[worst][0]) <= min(ci[best][1], ci[worst][1])  # the prose says so
glue("mean_ci_width", width)
for p in POOLINGS:
    glue(f"spread_{p}", spread[p])
glue("max_spread", max(spread.values()))
means = [mean_over_seeds[p]["eer"] for p in POOLINGS]
assert max(spread.values()) > max(means) - min(means)  # the prose: seeds differ more than means
glue("means_range", max(means) - min(means))
glue("lowest_mean", f"`{min(POOLINGS, key=lambda p: mean_over_seeds[p]['eer'])}`")

# %% [markdown]
# **Do the intervals overlap?** {glue:text}`n_overlap` of the {glue:text}`n_cross` pairs of
# models with different poolings have overlapping intervals. Even the best model
# ({glue:md}`best_model`) and the worst ({glue:md}`worst_model`) overlap. The intervals are
# {glue:text}`mean_ci_width:.1%` wide on average (in EER points): with
# {glue:text}`n_test_speakers` speakers, that is how precisely one model is measured.
# Overlapping intervals do not prove that there is no difference; they say that this test
# set cannot establish one.
#
# **How much do seeds matter?** The same pooling trained with another seed moves the EER by
# up to {glue:text}`max_spread:.1%`. The means of the three poolings lie within
# {glue:text}`means_range:.1%` of each other.
#
# **A paired comparison.** Two models trained with the same seed saw exactly the same
# batches (`draw_batch` draws everything from the seed and the step, not from the pooling),
# and all models are tested on the same trials. So the fair comparison is per seed and per
# trial: the *difference* of EER between an ASP model and the statistics-pooling model of
# the same seed, with a bootstrap that resamples the same speakers for both, so that a hard
# speaker counts against both alike. `asp_lab.metrics.paired_eer_difference` does this:

# %%
paired = {}
for p in ("asp-scalar", "asp-channel"):
    for s in SEEDS:  # EER(ASP) - EER(stats) of the same seed, and its interval
        paired[p, s] = metrics.paired_eer_difference(
            live_scores[f"stats-seed{s}"], live_scores[f"{p}-seed{s}"],
            labels_trials, spk_a, spk_b, n=BOOT["rounds"], level=BOOT["level"])

# %% tags=["remove-input"]
for (p, s), (d, _, _) in paired.items():
    assert np.isclose(d, shipped[f"{p}-seed{s}"]["clean"]["eer"] - shipped[f"stats-seed{s}"]["clean"]["eer"])
rows = [[p, s, f"{100 * d:+.1f}", f"[{100 * lo:+.1f}, {100 * hi:+.1f}]",
         "ASP worse" if lo > 0 else "ASP better" if hi < 0 else "no clear difference"]
        for (p, s), (d, lo, hi) in paired.items()]
show_table(["ASP model", "seed", "EER(ASP) - EER(stats), points", "95 % paired interval",
            "reading"], rows)
stats_better = {p: sum(paired[p, s][0] > 0 for s in SEEDS) for p in ("asp-scalar", "asp-channel")}
excluding_zero = sum(lo > 0 or hi < 0 for d, lo, hi in paired.values())
glue("n_paired", len(paired))
glue("n_paired_clear", excluding_zero)
glue("n_paired_clear_asp_worse", sum(lo > 0 for d, lo, hi in paired.values()))
glue("n_paired_clear_asp_better", sum(hi < 0 for d, lo, hi in paired.values()))
for p, n in stats_better.items():
    glue(f"stats_better_{p}", n)
glue("sign_test_p", 2 * 0.5 ** len(SEEDS))
paired_width = np.mean([hi - lo for d, lo, hi in paired.values()])
# were the two models' errors independent, the difference's interval would be about this wide
ci_of = {n: shipped[n]["clean"]["eer_ci"] for n in shipped}
independent_width = np.mean([np.hypot(np.diff(ci_of[f"stats-seed{s}"])[0], np.diff(ci_of[f"{p}-seed{s}"])[0])
                             for p, s in paired])
glue("paired_width", paired_width)
glue("independent_width", independent_width)
assert paired_width < independent_width  # the prose says that pairing narrows the intervals


def sign_pattern(p: str) -> str:
    """How the paired differences of pooling p against statistics pooling fall over seeds."""
    lower = len(SEEDS) - stats_better[p]  # seeds in which the ASP model has the lower EER
    if lower == len(SEEDS):
        return f"`{p}` has the lower EER in all {len(SEEDS)} seeds"
    if lower == 0:
        return f"statistics pooling has the lower EER in all {len(SEEDS)} seeds against `{p}`"
    return f"the sign changes between seeds for `{p}` (lower EER in {lower} of {len(SEEDS)})"


for p in ("asp-scalar", "asp-channel"):
    glue(f"sign_{p}", sign_pattern(p))
assert not any(hi < 0 for d, lo, hi in paired.values())  # "ASP does not measurably help"
assert not any(lo > 0 for d, lo, hi in paired.values())  # "nor measurably hurt"

# %% [markdown]
# *Table: the paired differences, seed by seed.*
#
# {glue:text}`n_paired_clear` of the {glue:text}`n_paired` paired intervals exclude zero.
# Seed by seed, {glue:md}`sign_asp-scalar`; {glue:md}`sign_asp-channel`. Pairing helps: a
# paired interval is {glue:text}`paired_width:.1%` wide on average. Two independent
# measurements would give about {glue:text}`independent_width:.1%`, since a speaker who is
# hard for one model tends to be hard for the other. Still, each interval is a fact about
# one pair of runs, not about the pooling.
#
# **What the data shows.** On this small task, with this small network, attention in the
# pooling neither measurably helps nor measurably hurts. That is a statement about this
# setting, not about ASP in general: the test utterances are clean read speech,
# {glue:text}`test_min_s:.0f` to {glue:text}`test_max_s:.0f` s long, and the network is
# tiny.
#
# **Compare the paper.** {cite:t}`okabe2018attentive` report one run per method: on
# VoxCeleb1, ASP lowers the EER from {glue:text}`okabe_stats:.2f` % to
# {glue:text}`okabe_asp:.2f` %, a gap of {glue:text}`okabe_gap:.2f` points, with no interval
# or second seed. Our seeds alone move the EER by up to {glue:text}`max_spread_points:.1f`
# points; a gap of that size needs several seeds and an interval before it says anything
# about the pooling.

# %% tags=["remove-cell"]
OKABE_VOXCELEB1_EER = {"stats": 4.19, "asp": 3.85}  # %, Okabe et al. 2018 (arXiv:1803.10963), VoxCeleb1
glue("okabe_stats", OKABE_VOXCELEB1_EER["stats"])
glue("okabe_asp", OKABE_VOXCELEB1_EER["asp"])
glue("okabe_gap", OKABE_VOXCELEB1_EER["stats"] - OKABE_VOXCELEB1_EER["asp"])
glue("okabe_rel", 1 - OKABE_VOXCELEB1_EER["asp"] / OKABE_VOXCELEB1_EER["stats"])
glue("max_spread_points", 100 * max(spread.values()))
VOXCELEB1_TEST = {"speakers": 40, "trials": 37_720}  # the original VoxCeleb1 test list (Nagrani et al. 2017)
glue("vox_speakers", VOXCELEB1_TEST["speakers"])
glue("vox_trials", VOXCELEB1_TEST["trials"])

# %% [markdown]
# ## DET curves
#
# The EER is one point of a trade-off. Moving the threshold trades false acceptances for
# misses; the detection error trade-off (DET) curve draws all of them, both rates on a
# normal-deviate scale, $\Phi^{-1}(p)$, on which two Gaussian score distributions give a
# straight line. `asp_lab.metrics.det_curve` computes the points and `asp_lab.viz.det_plot`
# draws them:

# %% tags=["remove-input"] mystnb={"image": {"alt": "DET curves on normal-deviate axes, miss rate against false-acceptance rate in percent, for seed 0 of statistics pooling, scalar ASP and channel-wise ASP, and the raw log-mel baseline dashed; the dotted diagonal marks equal error rates."}}
fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
det_eer = {}
for p in POOLINGS:
    scores = live_scores[f"{p}-seed0"]
    fpr, fnr, _ = metrics.det_curve(scores, labels_trials)
    det_eer[p] = metrics.eer(scores, labels_trials)[0]
    assert det_eer[p] == shipped[f"{p}-seed0"]["clean"]["eer"]
    viz.det_plot(ax, fpr, fnr, label=f"{p} seed 0 (EER {det_eer[p]:.1%})", color=COLOURS[p],
                 linewidth=1.8)
fpr, fnr, _ = metrics.det_curve(baseline_scores["log-mel mean + std, raw"], labels_trials)
viz.det_plot(ax, fpr, fnr, color="#9467bd", linestyle="--", linewidth=1.5,
             label=f"raw log-mel mean + std (EER {baselines['log-mel mean + std, raw']['eer']:.1%})")
ax.set_title("DET curves on clean test-other")
ax.legend(loc="upper right", fontsize="small")
plt.show()
glue("min_fa", 1 / (len(trials) - n_target))
for p in POOLINGS:
    order = sorted(SEEDS, key=lambda s: shipped[f"{p}-seed{s}"]["clean"]["eer"])
    glue(f"seed0_rank_{p}", order.index(0) + 1)
glue("min_miss", 1 / n_target)

# %% [markdown]
# *Figure: the trained models' curves lie well below the baseline's and cross each other,
# so their order depends on the threshold.* Seed 0 of each pooling; lower left is better,
# and each curve crosses the dotted diagonal at its EER. Do not read a ranking of the
# poolings into this picture: another seed draws another one. The steps at the ends are
# single trials: one miss is {glue:text}`min_miss:.2%` of the target trials, so the curves
# say nothing below that rate.

# %% [markdown]
# ## EER under noise
#
# Each model was also evaluated with each of the {glue:text}`n_noises` noise recordings
# added to every whole test utterance, at several SNRs. We average the noises of each kind
# (seen or unseen in training) and the seeds of each pooling (bars: the range over seeds):

# %% tags=["remove-cell"]
SNRS = sorted({c["snr_db"] for c in shipped["stats-seed0"]["noisy"].values()})
glue("snr_list", ", ".join(str(s) for s in SNRS[:-1]) + f" and {SNRS[-1]}")


def noisy_eer(entry: dict, seen: bool, snr: float) -> float:
    """Mean EER over the seen (or unseen) noises at one SNR, from results.json."""
    vals = [c["eer"] for c in entry["noisy"].values() if c["seen"] == seen and c["snr_db"] == snr]
    assert len(vals) == 2, vals
    return float(np.mean(vals))


noise_table = {g: np.array([[[noisy_eer(e, seen, snr) for snr in SNRS] for seen in (True, False)]
                            for e in entries]) for g, entries in groups.items()}  # (seeds, 2, snrs)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Two panels, seen and unseen noise types: EER in percent against SNR in dB for each model; all rise as the SNR falls, the model trained without noise (black, dashed) highest by far; the three noise-augmented poolings lie within a few points of each other."}}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True, layout="constrained")
for k, (ax, kind) in enumerate(zip(axes, ("seen", "unseen"), strict=True)):
    names = seen_noises if kind == "seen" else unseen_noises
    for i, (g, arr) in enumerate(noise_table.items()):
        m = 100 * arr[:, k].mean(axis=0)
        x = np.array(SNRS) + 0.25 * (i - 1.5)
        ax.plot(x, m, marker="o", color=COLOURS[g], linestyle="--" if g.endswith("clean") else "-",
                label=g)
        if arr.shape[0] > 1:
            lo, hi = 100 * arr[:, k].min(axis=0), 100 * arr[:, k].max(axis=0)
            ax.vlines(x, lo, hi, color=COLOURS[g], linewidth=1, alpha=0.7)
    ax.set_title(f"{kind} noise: {' and '.join(names)}", fontsize="medium")
    ax.set_xticks(SNRS)
    ax.set_xlabel("SNR (dB)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("EER on noisy test-other (%)")
axes[0].set_ylim(0, None)
axes[1].legend(loc="upper right", fontsize="small")
plt.show()

# %% tags=["remove-cell"]
aug_means = np.stack([noise_table[p].mean(axis=0) for p in POOLINGS])  # (poolings, 2, snrs)
pooling_gap = (aug_means.max(axis=0) - aug_means.min(axis=0)).max()
seed_range = np.mean([np.ptp(noise_table[p], axis=0).mean() for p in POOLINGS])
stats_lowest = aug_means.argmin(axis=0) == POOLINGS.index("stats")  # (2, snrs)
glue("noise_pooling_gap", pooling_gap)
glue("noise_seed_range", seed_range)
glue("n_stats_lowest", int(stats_lowest.sum()))
glue("n_noise_conditions", stats_lowest.size)
assert all(np.all(np.diff(noise_table[g].mean(axis=0), axis=-1) < 0) for g in noise_table)

# %% [markdown]
# *Figure: noise augmentation matters far more than the pooling; the model trained without
# noise (dashed) is the worst by far.* Every model gets worse as the noise gets louder. The
# three noise-augmented poolings' means lie at most {glue:text}`noise_pooling_gap:.1%`
# apart, while the seeds of one pooling span {glue:text}`noise_seed_range:.1%` on average.
# These noisy EERs have no bootstrap intervals: read their order as a hint, not a finding.
# The large effect is noise augmentation itself, at 0 dB:

# %% tags=["remove-input"]
i0 = SNRS.index(0)
clean_model = noise_table["asp-scalar-clean"][0]  # (2, snrs)
aug_seed0 = noise_table["asp-scalar"][SEEDS.index(0)]
for k, kind in enumerate(("seen", "unseen")):
    glue(f"clean_model_{kind}_0db", clean_model[k, i0])
    glue(f"aug_seed0_{kind}_0db", aug_seed0[k, i0])
    glue(f"aug_ratio_{kind}_0db", clean_model[k, i0] / aug_seed0[k, i0])
    for p in POOLINGS:
        glue(f"noisy_mean_{p}_{kind}_0db", noise_table[p][:, k, i0].mean())
glue("clean_model_clean_eer", shipped["asp-scalar-clean-seed0"]["clean"]["eer"])
glue("aug_seed0_clean_eer", shipped["asp-scalar-seed0"]["clean"]["eer"])
glue("aug_mean_clean_eer", mean_over_seeds["asp-scalar"]["eer"])
for a, b in (("asp-scalar-clean-seed0", "asp-scalar-seed0"), ("asp-scalar-seed0", "asp-scalar-clean-seed0")):
    lo, hi = shipped[a]["clean"]["eer_ci"]  # "well inside the intervals": each EER in the other's
    assert lo <= shipped[b]["clean"]["eer"] <= hi, (a, b)
show_table(["scalar ASP, seed 0", "clean", "seen noise, 0 dB", "unseen noise, 0 dB"],
           [["trained without noise",
             f"{shipped['asp-scalar-clean-seed0']['clean']['eer']:.1%}",
             f"{clean_model[0, i0]:.1%}", f"{clean_model[1, i0]:.1%}"],
            ["trained with noise", f"{shipped['asp-scalar-seed0']['clean']['eer']:.1%}",
             f"{aug_seed0[0, i0]:.1%}", f"{aug_seed0[1, i0]:.1%}"]])

# %% [markdown]
# *Table: EER of scalar ASP trained with and without noise augmentation.*
#
# With the seen noises at 0 dB, the model trained without noise makes
# {glue:text}`aug_ratio_seen_0db:.1f` times as many errors as the one trained with noise.
# With the unseen noises, which neither model heard, it makes
# {glue:text}`aug_ratio_unseen_0db:.1f` times as many: augmenting with
# {glue:text}`n_seen` noises helped with the others as well. On clean speech the two are
# close, well inside each other's intervals. Here the noise covers whole utterances, so
# there is no clean stretch for the attention to prefer; chapter 6 puts noise into part of
# an utterance and looks at where the attention goes.

# %% [markdown]
# ## What to remember
#
# - A verification test set is as strong as its number of *speakers*: resample speakers,
#   not trials, to get honest intervals. With {glue:text}`n_test_speakers` speakers, one
#   model's EER is known to within about {glue:text}`mean_ci_width:.1%`.
# - The loss of an angular-margin softmax rises while its margin is phased in; judge
#   training by the test EER, not by the loss curve.
# - Seeds matter as much as the pooling here. Compare methods over several seeds, with
#   paired intervals (`asp_lab.metrics.paired_eer_difference`); one run per method ranks
#   nothing.
# - On this data, ASP neither measurably helps nor hurts on clean speech, while noise
#   augmentation helps a lot under noise, also with noises not seen in training.
# - Check a trained system against a baseline without training: on a test set with one
#   session per speaker, plain log-mel statistics already do well.

# %% [markdown]
# ## Going further
#
# *For readers who want the cost and the full reproduction; the rest of the book does not
# depend on this section.*
#
# ### What attention costs per training step
#
# One training step of each pooling, timed on identical batches, the poolings taking turns
# so that a busy machine slows all of them alike:

# %% tags=["remove-input"]
st = results["step_time"]
prov = json.loads((analysis.CHECKPOINT_DIR / "stats-seed0.json").read_text())
show_table(["pooling", "model step (ms)", "ratio to stats", "with batch drawing and log-mel",
            "whole training run (s)"],
           [[p, f"{1000 * st['model_seconds'][p]:.1f}", f"{st['ratio_vs_stats_model'][p]:.2f}",
             f"{st['ratio_vs_stats_with_data'][p]:.2f}",
             f"{results['summary'][p]['train_seconds_mean']:.0f}"] for p in POOLINGS])
glue("st_steps", int(re.search(r"over (\d+) interleaved", st["what"]).group(1)))
glue("st_threads", prov["threads"])
glue("st_device", prov["device"])
glue("st_torch", results["torch"])
for p in POOLINGS:
    glue(f"st_ms_{p}", 1000 * st["model_seconds"][p])
    glue(f"st_ratio_{p}", st["ratio_vs_stats_model"][p])
    glue(f"st_ratio_data_{p}", st["ratio_vs_stats_with_data"][p])
    glue(f"train_wall_{p}", results["summary"][p]["train_seconds_mean"])

# %% [markdown]
# *Table: medians over {glue:text}`st_steps` interleaved steps, on the machine that trained
# the shipped models ({glue:md}`st_device`, one thread).*
#
# Channel-wise ASP makes a step {glue:text}`st_ratio_asp-channel:.2f` times as long as
# statistics pooling. The ratio depends on the machine: on a GPU, or with the wide frame
# layers of a full x-vector network, the pooling is a smaller share of the step (chapter 7
# benchmarks the pooling layers on their own).
#
# ### How to reproduce
#
# Every shipped number comes from one command, `make models`: it trains the
# {glue:text}`n_shipped` models, evaluates them, times the steps, and writes the
# checkpoints with a provenance file each (commit, command, data checksum, seed, device,
# training curve) and `results.json`, in {glue:text}`make_models_min:.0f` minutes. One
# model, and its evaluation:
#
# ```bash
# asp-lab train --pooling asp-scalar --seed 0 --out runs/     # add --device cuda on a GPU
# asp-lab eval --model runs/asp-scalar-seed0.pt               # EER, minDCF, intervals
# asp-lab eval --model asp-scalar --noise running_tap --snr 0 # a shipped model, unseen noise
# ```
#
# Training is seeded throughout: the same command on the same machine and library versions
# gives the same model. This page ran in {glue:text}`chapter_seconds:.0f` s.

# %% tags=["remove-cell"]
glue("make_models_min", results["make_models_seconds"] / 60)
glue("chapter_seconds", time.perf_counter() - CHAPTER_START)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (what the normalisation hides).** The raw baseline beat the mean-normalised
# one by a wide margin. Which half of the raw $[\mu; \sigma]$ does the work? Compute the EER
# of the raw means alone and of the raw standard deviations alone, and explain the result
# with what you know about the test set's recording sessions.
#
# ````{admonition} Solution
# :class: dropdown
#
# ```python
# mu_only = metrics.cosine_scores(raw_stats[pairs[:, 0], :40], raw_stats[pairs[:, 1], :40])
# sd_only = metrics.cosine_scores(raw_stats[pairs[:, 0], 40:], raw_stats[pairs[:, 1], 40:])
# print(metrics.eer(mu_only, labels_trials)[0], metrics.eer(sd_only, labels_trials)[0])
# ```
#
# The means alone give an EER of {glue:text}`ex_mu_only:.1%`, the standard deviations alone
# {glue:text}`ex_sd_only:.1%`, exactly the mean-normalised baseline: removing each band's
# mean changes no standard deviation. The mean log-mel spectrum of an utterance is the long-term
# spectrum of the voice *and* of the microphone and room. Every test speaker's utterances
# come from one session, so this spectrum identifies the session, and with it the speaker.
# On a test set with sessions that differ within a speaker (VoxCeleb's, for example) this
# shortcut fails; the per-band normalisation keeps the network from learning to rely on it.
# ````
#
# **Exercise 2 (how many speakers).** The {glue:text}`boot_level:.0%` intervals here are about
# {glue:text}`mean_ci_width:.1%` wide. Roughly how many test speakers would you need for
# intervals narrow enough to see the {glue:text}`okabe_gap:.2f`-point gap of the paper?
#
# ````{admonition} Solution
# :class: dropdown
#
# The speaker bootstrap treats speakers as the independent units, so the width shrinks
# roughly like $1/\sqrt{N}$ for $N$ speakers (with the utterances per speaker fixed). To go
# from {glue:text}`mean_ci_width:.1%` to, say, a width of {glue:text}`okabe_gap:.2f` points
# (so that a gap of that size could stand out) takes
# $N \approx$ {glue:text}`n_test_speakers` × ({glue:text}`mean_ci_width_points:.1f` /
# {glue:text}`okabe_gap:.2f`)² ≈ {glue:text}`ex_speakers_needed:,.0f` speakers,
# and a lower EER makes it a little easier. Seeds add their own spread on top, which only
# more training runs reduce.
# ````
#
# **Exercise 3 (the live run with statistics pooling).** Train the live model again with
# `pooling="stats"`, everything else equal, and compare its EER with the scalar-ASP run.
# Then change the seed. What do you conclude from one pair of runs?
#
# ````{admonition} Solution
# :class: dropdown
#
# ```python
# import contextlib, dataclasses, io
# for pooling in ("stats", "asp-scalar"):
#     for seed in (0, 1):
#         cfg = dataclasses.replace(live, pooling=pooling, seed=seed)
#         with contextlib.redirect_stdout(io.StringIO()):  # silence the progress lines
#             net = train.train(cfg, threads=1, progress=False)["model"]
#         print(pooling, seed, analysis.evaluate(net, bootstrap=0)["eer"])
# ```
#
# Each run takes about as long as the live run above. Compare the gap between the two
# poolings with the gap between the two seeds of one pooling. When they are of the same
# size, as for the shipped models, one pair of runs cannot rank the poolings, whichever of
# the two happens to win it.
# ````

# %% tags=["remove-cell"]
# Values quoted in the exercise solutions.
n = size["n_mels"]
mu_only = metrics.cosine_scores(raw_stats[pairs[:, 0], :n], raw_stats[pairs[:, 1], :n])
sd_only = metrics.cosine_scores(raw_stats[pairs[:, 0], n:], raw_stats[pairs[:, 1], n:])
glue("ex_mu_only", metrics.eer(mu_only, labels_trials)[0])
glue("ex_sd_only", metrics.eer(sd_only, labels_trials)[0])
glue("mean_ci_width_points", 100 * width)
gap = OKABE_VOXCELEB1_EER["stats"] - OKABE_VOXCELEB1_EER["asp"]
glue("ex_speakers_needed", len(test_speakers) * (100 * width / gap) ** 2)
