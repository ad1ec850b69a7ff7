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
# - the network, its loss (additive angular margin softmax), and a training recipe that
#   replaces stretches of speech by noise, so that attention has frames to learn to skip;
# - how to measure a model: equal error rate (EER), minimum detection cost (minDCF) and DET
#   curves, each with an interval that resamples speakers;
# - how to compare two poolings fairly: several runs, paired intervals, and a test set with
#   enough speakers to tell them apart;
# - why noise over a whole utterance and noise over a third of it test different things.
#
# We train one small model live, then measure the models that asp_lab ships: statistics
# pooling and two kinds of attentive statistics pooling (ASP), several seeds each. The
# finding, stated first: {glue:md}`finding_intro`
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
# Data this small shows the whole pipeline on real speech, but it cannot rank methods
# whose EERs lie close together: all target trials come from
# {glue:text}`n_test_speakers` voices, so one unusual speaker moves every system's EER, and
# the intervals below resample *speakers*, not trials. And each test speaker's utterances
# come from at most {glue:text}`max_sessions` session, so a system can succeed by
# recognising the recording as much as the voice.

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
# Each training step draws equal-length random crops, one per speaker drawn, and corrupts
# some of them. The shipped models' recipe (fields of `asp_lab.train.TrainConfig`):

# %% tags=["remove-input"]
RECIPE = {"steps": "training steps", "batch_size": "crops per batch",
          "crop_seconds": "crop length (s)", "lr": "learning rate (AdamW)",
          "margin": "margin m (rad)", "scale": "scale s",
          "noise_prob": "share of crops corrupted",
          "whole_crop_prob": "of those, noise added over the whole crop",
          "segment_fraction": "else a segment, this share of the crop",
          "replace_prob": "segment replaced by noise (else noise added)",
          "pause_prob": "segment replaced by a pause instead",
          "pause_snr_db": "pause: a faint floor this far below the speech (dB)",
          "snr_db": "SNR (dB), drawn uniformly", "noises": "recorded noises (seen)",
          "generated_noises": "generated noise families (seen)",
          "generated_prob": "share of the noises that are generated"}
missing = [k for k in RECIPE if k not in cfg_shipped]
assert not missing, f"the shipped train_config lacks {missing}: run `make models`"
show_table(["setting", "value"],
           [[what, f"<code>{cfg_shipped[key]}</code>"] for key, what in RECIPE.items()])

# %% tags=["remove-cell"]
seen_noises = list(cfg_shipped["noises"])
unseen_noises = [n for n in data.noise_names() if n not in seen_noises]
assert set(seen_noises) == set(train.SEEN_NOISES) and set(unseen_noises) == set(train.UNSEEN_NOISES)
assert set(cfg_shipped["generated_noises"]) == set(train.GENERATED_NOISES)  # the prose's four
for key in ("steps", "batch_size", "lr", "noise_prob", "whole_crop_prob", "replace_prob",
            "pause_prob", "generated_prob", "margin", "scale", "warmup"):
    glue(key, cfg_shipped[key])
for key, (low, high) in (("crop", cfg_shipped["crop_seconds"]), ("snr", cfg_shipped["snr_db"]),
                         ("seg", cfg_shipped["segment_fraction"])):
    glue(f"{key}_min", low)
    glue(f"{key}_max", high)
glue("margin_start", cfg_shipped["margin_ramp"][0])
glue("margin_end", cfg_shipped["margin_ramp"][1])
glue("seen_noises", " and ".join(f"`{n}`" for n in seen_noises))
glue("unseen_noises", " and ".join(f"`{n}`" for n in unseen_noises))
glue("n_seen", len(seen_noises))

# %% [markdown]
# Why replace segments? Attention can only learn to skip frames that carry no speaker if
# training shows it such frames; noise added at a moderate SNR leaves the speech audible
# underneath. So {glue:text}`noise_prob:.0%` of the crops are corrupted
# (`asp_lab.train.recipe.corrupt`). Of those, {glue:text}`whole_crop_prob:.0%` get noise
# added over the whole crop. The rest get a segment of {glue:text}`seg_min:.0%` to
# {glue:text}`seg_max:.0%` of the crop, most often ({glue:text}`replace_prob:.0%`)
# *replaced* by noise, with no speech left there, otherwise with noise added; now and then
# ({glue:text}`pause_prob:.0%`) the segment becomes a pause instead. The SNR is drawn from
# {glue:text}`snr_min:.0f` to {glue:text}`snr_max:.0f` dB.
#
# The noise is one of the {glue:text}`n_seen` *seen* recordings, {glue:md}`seen_noises`,
# or, for {glue:text}`generated_prob:.0%` of the noises, a fresh sample of a generated
# family (`asp_lab.train.recipe.generated_noise`): coloured noise steeper than pink or
# rising with frequency, band-limited noise, amplitude-modulated noise, and a few steady
# tones at unrelated frequencies. The recordings {glue:md}`unseen_noises` stay *unseen*,
# for testing, as do chapter 6's synthetic hum, clicks, chirp and babble. Unseen does not
# mean unlike anything seen: pink noise lies between the seen white noise and the seen
# steeper coloured noise, and the tones are steady like hum, though not a harmonic series
# as mains hum is. One crop, clean and corrupted in two of these ways:

# %%
clean_cfg = train.TrainConfig(**{**cfg_shipped, "noise_aug": False})  # crops only
wave, labels = train.draw_batch(all_train, (), clean_cfg, step=0)
crop, snr = wave[0].numpy(), 5.0
start, length = crop.size // 3, crop.size // 3  # the middle third
rng = np.random.default_rng(0)
dishes = data.load_noise("doing_the_dishes")  # a seen recording, in place of the speech
replaced, _ = data.mix_noise(crop, dishes, snr, start, length, mode="replace", rng=rng)
tones = train.recipe.generated_noise("tones", length, rng)  # a generated family, added
with_tones, _ = data.mix_noise(crop, tones, snr, start, length, mode="add")
views = {"clean": crop, "middle third replaced by doing_the_dishes": replaced,
         "tones added to the middle third": with_tones}
views = {k: features.model_input(torch.from_numpy(w))[0] for k, w in views.items()}

# %% tags=["remove-cell"]
raw = features.log_mel_torch(torch.from_numpy(crop))[0]  # (n_mels, T)
assert torch.allclose(views["clean"], raw - raw.mean(dim=-1, keepdim=True))
assert views["clean"].mean(dim=-1).abs().max() < 1e-4  # every band's mean is 0
glue("example_seconds", crop.size / data.SAMPLE_RATE)
glue("example_snr", snr)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Three mean-normalised log-mel images of one training crop against time: clean; with its middle third replaced by dish-washing noise; and with a few steady tones added to its middle third, which show as horizontal lines."}}
fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True, layout="constrained")
speaker = data.utterances("train-clean-100")[int(labels[0])].speaker
for ax, (name, x) in zip(axes, views.items(), strict=True):
    viz.spectrogram(ax, x.numpy(), cmap="cividis", label="minus band mean",
                    title=f"Speaker {speaker}, {crop.size / 16000:.1f} s crop: {name}")
for ax in axes[1:]:
    for edge in (start / 16000, (start + length) / 16000):
        ax.axvline(edge, color="white", linestyle="--", linewidth=1.2)
for ax in axes[:2]:
    ax.set_xlabel("")
plt.show()

# %% [markdown]
# *Figure: one training crop as the network sees it (each band's mean removed), clean, with
# its middle third replaced by a seen noise, and with generated tones added there.* Dashed
# lines: the corrupted third, at {glue:text}`example_snr:.0f` dB. Where the speech is
# replaced, no frame carries the speaker; where tones are added, the speech goes on under
# them.
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
assert live_eval["eer"] < untrained_eval["eer"]  # the prose: the EER fell
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
# phased in (shaded), and the accuracy rises regardless.* The loss starts at
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
clean_acc_vs_aug = final["asp-scalar-clean"][1] - max(final[p][1] for p in POOLINGS)
glue("clean_fit_words", "higher than" if clean_acc_vs_aug > 0 else "no higher than")

# %% tags=["remove-input"] mystnb={"image": {"alt": "Training loss and accuracy against step for the shipped models: one colour per pooling, thin lines for seeds and a thick line for their mean; the model trained without noise black and dashed."}}
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
# *Figure: training loss and accuracy of the shipped models.* Thick lines: the mean over
# {glue:text}`n_seeds` seeds; thin lines: each seed; shaded: the margin rising. The
# noise-augmented models end between {glue:text}`final_acc_aug_min:.0%` and
# {glue:text}`final_acc_aug_max:.0%` training accuracy, on corrupted crops;
# `asp-scalar-clean`, on clean crops, at {glue:text}`final_acc_asp-scalar-clean:.1%`,
# {glue:md}`clean_fit_words` all of them. Whether a model carries over to new speakers is
# what the test measures.

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
raw_beats_norm = baselines["log-mel mean + std, raw"]["eer"] < baselines["log-mel std, mean-normalised"]["eer"]
glue("norm_vs_raw", "a higher EER than the raw ones" if raw_beats_norm else "no higher than the raw ones")

# %% [markdown]
# *Table: EER of the baselines, with {glue:text}`boot_level:.0%` intervals from a bootstrap
# that resamples speakers ({glue:text}`boot_rounds` rounds, `asp_lab.metrics.bootstrap_ci`).*
#
# With no network at all, the raw statistics reach an EER of
# {glue:text}`base_raw_eer:.1%`. On the mean-normalised frames, the same statistics reach
# {glue:text}`base_norm_eer:.1%`, {glue:md}`norm_vs_raw`. What the normalisation removes is
# the long-term average spectrum of each recording: it carries the voice, but also the
# microphone and room of the session, and here every test speaker's utterances share one
# session. The raw baseline is the bar a
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
same_order = order_eer == sorted(mean_over_seeds, key=lambda g: mean_over_seeds[g]["min_dcf_0.01"])
glue("dcf_order_words", "in the same order as" if same_order else "in another order than")
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
# puts the poolings' means {glue:md}`dcf_order_words` the EER. {glue:text}`n_beat_norm` of the
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
# *Figure: {glue:md}`interval_figure_words`* Each point is one trained model, its bar the
# interval from resampling the {glue:text}`n_test_speakers` test speakers; the short thick
# lines are the means over seeds, the dashed lines the two baselines without training.

# %% [markdown]
# ### Is one pooling better?

# %% tags=["remove-cell"]
aug = [f"{p}-seed{s}" for p in POOLINGS for s in SEEDS]
ci = {n: shipped[n]["clean"]["eer_ci"] for n in aug}
cross = [(a, b) for a, b in itertools.combinations(aug, 2) if a.split("-seed")[0] != b.split("-seed")[0]]
overlap = [max(ci[a][0], ci[b][0]) <= min(ci[a][1], ci[b][1]) for a, b in cross]
best = min(aug, key=lambda n: shipped[n]["clean"]["eer"])
worst = max(aug, key=lambda n: shipped[n]["clean"]["eer"])
all_overlap = all(max(ci[a][0], ci[b][0]) <= min(ci[a][1], ci[b][1])
                  for a, b in itertools.combinations(aug, 2))
spread = {p: max(e["clean"]["eer"] for e in groups[p]) - min(e["clean"]["eer"] for e in groups[p])
          for p in POOLINGS}
width = np.mean([ci[n][1] - ci[n][0] for n in aug])
glue("n_overlap", sum(overlap))
glue("n_cross", len(cross))
glue("best_model", f"`{best}`")
glue("worst_model", f"`{worst}`")
glue("best_eer", shipped[best]["clean"]["eer"])
glue("worst_eer", shipped[worst]["clean"]["eer"])
best_worst = max(ci[best][0], ci[worst][0]) <= min(ci[best][1], ci[worst][1])
glue("best_worst_words", "overlap" if best_worst else "do not overlap")
glue("mean_ci_width", width)
for p in POOLINGS:
    glue(f"spread_{p}", spread[p])
glue("max_spread", max(spread.values()))
means = [mean_over_seeds[p]["eer"] for p in POOLINGS]
seeds_wider = max(spread.values()) > max(means) - min(means)
glue("seeds_vs_means", "more than" if seeds_wider else "less than")
glue("interval_figure_words",
     ("every model's interval overlaps every other's" if all_overlap
      else "not every pair of intervals overlaps")
     + f", and the seeds of one pooling spread {'more' if seeds_wider else 'less'} widely than"
     " the poolings' means do.")
glue("means_range", max(means) - min(means))
glue("lowest_mean", f"`{min(POOLINGS, key=lambda p: mean_over_seeds[p]['eer'])}`")

# %% [markdown]
# **Do the intervals overlap?** {glue:text}`n_overlap` of the {glue:text}`n_cross` pairs of
# models with different poolings have overlapping intervals; the best model
# ({glue:md}`best_model`) and the worst ({glue:md}`worst_model`)
# {glue:md}`best_worst_words`. The intervals are
# {glue:text}`mean_ci_width:.1%` wide on average: with
# {glue:text}`n_test_speakers` speakers, that is how precisely one model is measured.
# Overlapping intervals do not prove that there is no difference; they say that this test
# set cannot establish one.
#
# **How much do seeds matter?** The same pooling trained with another seed moves the EER by
# up to {glue:text}`max_spread:.1%`. The means of the three poolings lie within
# {glue:text}`means_range:.1%` of each other: the seed moves the EER {glue:md}`seeds_vs_means`
# the pooling does.
#
# **A paired comparison.** Two models trained with the same seed saw exactly the same
# batches (`draw_batch` draws everything from the seed and the step), and all are tested on
# the same trials. So compare per seed: the *difference* of EER between an ASP model and the
# statistics-pooling model of the same seed, with a bootstrap that resamples the same
# speakers for both (`asp_lab.metrics.paired_eer_difference`):

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
glue("pairing_words", "Pairing helps" if paired_width < independent_width
     else "Here pairing does not narrow the intervals")


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
n_lower = sum(hi < 0 for d, lo, hi in paired.values())  # ASP clearly lower in one seed
n_higher = sum(lo > 0 for d, lo, hi in paired.values())
glue("what_ten_show", "no paired interval excludes zero: on test-other, attention in the pooling"
     " neither measurably helps nor measurably hurts" if n_lower + n_higher == 0 else
     f"{n_lower} paired intervals lie below zero and {n_higher} above it, each a fact about one"
     " pair of runs")

# %% [markdown]
# *Table: the paired differences, seed by seed.*
#
# {glue:text}`n_paired_clear` of the {glue:text}`n_paired` paired intervals exclude zero.
# Seed by seed, {glue:md}`sign_asp-scalar`; {glue:md}`sign_asp-channel`.
# {glue:md}`pairing_words`: a paired interval is {glue:text}`paired_width:.1%` wide on
# average, against about {glue:text}`independent_width:.1%` for two independent
# measurements; pairing narrows it when a speaker who is hard for one model is hard for the
# other too.
#
# **What test-other shows.** Here {glue:md}`what_ten_show`.
# {cite:t}`okabe2018attentive` report one run per method on VoxCeleb1: ASP lowers the EER
# from {glue:text}`okabe_stats:.2f` % to {glue:text}`okabe_asp:.2f` %, a gap of
# {glue:text}`okabe_gap:.2f` points, with no interval or second seed, while our seeds alone
# move the EER by up to {glue:text}`max_spread_points:.1f` points.

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
# ## A test with the power to tell
#
# With {glue:text}`n_test_speakers` speakers, intervals are {glue:text}`mean_ci_width:.1%`
# wide. Train-clean-100 has
# {glue:text}`cv_speakers` speakers, and a *cross-validation* tests on all of them without
# testing on a voice the model trained on (`asp_lab.experiments.crossval`):
#
# - the speakers are split into {glue:text}`cv_folds` folds (`asp_lab.folds`); each pooling
#   trains, with the shipped recipe, on all folds but one and is tested on the speakers
#   left out, once per fold: {glue:text}`cv_runs` runs per pooling;
# - each held-out recording is cut into non-overlapping pieces of
#   {glue:text}`piece_seconds:.0f` s, and every pair of pieces in a fold is a trial. A
#   target trial compares two stretches of *one* session, as in test-other;
# - the paired bootstrap (`asp_lab.experiments.paired.bootstrap_eers`) resamples the
#   speakers within each fold and the runs, and computes every system's EER on the very
#   same resampled trials.
#
# `make experiments` stores it, with the shipped models scored on test-other the same way
# (resampling speakers and seeds):

# %%
from asp_lab.experiments import crossval

comparison = crossval.load_comparison()  # asp_lab/checkpoints/comparison.json
cv, to = comparison["crossval"], comparison["test_other"]
print(f"{cv['speakers']} speakers in {cv['folds']} folds, {sum(cv['pieces_per_fold'])} pieces, "
      f"{sum(cv['trials_per_fold']):,} trials, {sum(cv['target_trials_per_fold'])} target")

# %% tags=["remove-cell"]
NAMES = {"stats": "statistics pooling", "asp-scalar": "scalar ASP", "baseline": "the baseline",
         "asp-channel": "channel-wise ASP", "asp-scalar-clean": "scalar ASP trained clean"}
CV_SYSTEMS = ("stats", "asp-scalar", "asp-channel", "baseline")
assert cv["poolings"] == list(POOLINGS) and set(comparison["conditions"]) == set(cv["results"])
glue("cv_speakers", cv["speakers"])
glue("cv_folds", cv["folds"])
glue("cv_runs", cv["folds"] * len(cv["seeds"]))
glue("piece_seconds", cv["piece_seconds"])
glue("cv_pieces", sum(cv["pieces_per_fold"]))
glue("cv_trials", sum(cv["trials_per_fold"]))
glue("cv_targets", sum(cv["target_trials_per_fold"]))
glue("cv_rounds", cv["results"]["clean"]["rounds"])
glue("cv_level", cv["results"]["clean"]["level"])
glue("to_targets", to["target_trials"])
glue("cv_train_folds", cv["folds"] - 1)


def interval(v: float, ci, sign: str = "") -> str:
    """'v [lo, hi]' in percent (sign='+' for differences)."""
    return f"{100 * v:{sign}.1f} [{100 * ci[0]:{sign}.1f}, {100 * ci[1]:{sign}.1f}]"


def reading(d: dict, a: str, b: str) -> str:
    """A short reading of EER(a) - EER(b): which is lower, if the interval excludes zero."""
    lo, hi = d["ci"]
    return f"{a} lower" if hi < 0 else f"{b} lower" if lo > 0 else "no clear difference"


def sentence(d: dict, a: str, b: str, names=NAMES) -> str:
    """The same reading as words for the prose."""
    lo, hi = d["ci"]
    if hi < 0:
        return f"{names[a]} has a clearly lower EER than {names[b]}"
    if lo > 0:
        return f"{names[a]} has a clearly higher EER than {names[b]}"
    return f"{names[a]} and {names[b]} do not differ clearly"


def versus_stats(result: dict) -> str:
    """Both ASP models against statistics pooling, in words, from one condition's result."""
    d = {p: result["differences"][f"{p} - stats"] for p in ("asp-scalar", "asp-channel")}
    if all(v["ci"][0] <= 0 <= v["ci"][1] for v in d.values()):
        return "neither ASP model differs clearly from statistics pooling"
    return ", and ".join(sentence(v, p, "stats") for p, v in d.items())


# %% tags=["remove-input"]
to_clean, cv_clean = to["results"]["clean"], cv["results"]["clean"]


def eer_cell(result: dict, s: str) -> str:
    r = result["systems"].get(s)
    return "-" if r is None else interval(r["eer"], r["eer_ci"])


show_table(["system", "test-other: EER % [95 % CI]", "cross-validation: EER % [95 % CI]"],
           [[NAMES[s], eer_cell(to_clean, s), eer_cell(cv_clean, s)] for s in to_clean["systems"]])
widths = {k: np.mean([np.diff(r["systems"][s]["eer_ci"])[0] for s in POOLINGS])
          for k, r in (("to", to_clean), ("cv", cv_clean))}
glue("to_width", widths["to"])
glue("cv_width", widths["cv"])

# %% [markdown]
# *Table: clean EER of each system, the mean over its runs, with
# {glue:text}`cv_level:.0%` intervals ({glue:text}`cv_rounds` bootstrap rounds); the
# baseline is the raw log-mel mean and standard deviation, without training.* Test-other
# has {glue:text}`to_targets` target trials, the cross-validation
# {glue:text}`cv_targets` among {glue:text}`cv_trials:,` trials from
# {glue:text}`cv_pieces` pieces. A pooling's interval is {glue:text}`cv_width:.1%` wide on
# average there, against {glue:text}`to_width:.1%` on test-other. The paired differences:

# %% tags=["remove-input"]
DIFFS = [("asp-scalar", "stats"), ("asp-channel", "stats"), ("stats", "baseline"),
         ("asp-scalar", "baseline"), ("asp-channel", "baseline")]
rows = []
for a, b in DIFFS:
    row = [f"{a} - {b}"]
    for res in (to_clean, cv_clean):
        d = res["differences"][f"{a} - {b}"]
        row += [interval(d["eer"], d["ci"], "+"), reading(d, a, b)]
    rows.append(row)
show_table(["EER(a) - EER(b)", "test-other, points [95 %]", "reading",
            "cross-validation, points [95 %]", "reading"], rows)
for k, res in (("to", to_clean), ("cv", cv_clean)):
    glue(f"{k}_clean_asp_vs_stats", versus_stats(res))
    glue(f"{k}_clean_stats_vs_baseline", sentence(res["differences"]["stats - baseline"],
                                                  "stats", "baseline"))

# %% [markdown]
# *Table: paired differences of clean EER, in EER points; a reading names the system with
# the lower EER only when the interval excludes zero.*
#
# On the cross-validation, {glue:md}`cv_clean_asp_vs_stats`; on test-other,
# {glue:md}`to_clean_asp_vs_stats`. Against the baseline without training, on the
# cross-validation, {glue:md}`cv_clean_stats_vs_baseline`. A cross-validation run trains
# on {glue:text}`cv_train_folds` folds only, so its EERs are not the shipped models'.

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
base_eer = baselines["log-mel mean + std, raw"]["eer"]
grid = np.linspace(0.02, 0.5, 50)  # false-acceptance rates at which to compare miss rates
miss = {p: np.interp(grid, *[a[::-1] for a in metrics.det_curve(live_scores[f"{p}-seed0"],
                                                                labels_trials)[:2]])
        for p in POOLINGS}
orders = {tuple(np.argsort([miss[p][k] for p in POOLINGS])) for k in range(grid.size)}
n_below = sum(det_eer[p] < base_eer for p in POOLINGS)
glue("det_caption", (f"{n_below} of the {len(POOLINGS)} trained models have a lower EER than the"
                     " baseline; their curves ")
     + ("cross each other, so their order depends on the threshold." if len(orders) > 1
        else "keep one order over the thresholds shown."))
for p in POOLINGS:
    order = sorted(SEEDS, key=lambda s: shipped[f"{p}-seed{s}"]["clean"]["eer"])
    glue(f"seed0_rank_{p}", order.index(0) + 1)
glue("min_miss", 1 / n_target)

# %% [markdown]
# *Figure: {glue:md}`det_caption`* Seed 0 of each pooling; lower left is better,
# and each curve crosses the dotted diagonal at its EER. The steps at the ends are
# single trials: one miss is {glue:text}`min_miss:.2%` of the target trials, so the curves
# say nothing below that rate.

# %% [markdown]
# ## Noise over the whole utterance, or over a third of it
#
# Noise over a whole utterance spoils every frame alike, so weighting frames differently
# can do little. Noise over a stretch leaves clean frames beside spoilt ones: there a
# pooling that leans on the clean ones should win. `comparison.json` holds both
# (`asp_lab.experiments.paired.CONDITIONS`): noise added over the whole utterance, or the
# middle third corrupted, with noise added or in place of the speech; seen and unseen
# noises, at {glue:md}`snr_words` dB:

# %% tags=["remove-cell"]
PLACES = (("whole", "add", "whole"), ("third", "add", "add"), ("third", "replace", "repl."))
SNR_LIST = sorted({c["snr_db"] for c in comparison["conditions"].values() if c}, reverse=True)
GROUPS = ("seen", "unseen")


def cond(span: str, mode: str, group: str, snr: float) -> str:
    """The name of a condition in comparison.json, e.g. 'third:replace:unseen@0dB'."""
    return f"{span}:{mode}:{group}@{snr:g}dB"


columns = [("clean", "clean")] + [(cond(sp, m, "{g}", snr), f"{lab} {snr:g}")
                                  for sp, m, lab in PLACES for snr in SNR_LIST]
for g in GROUPS:
    assert all(c.format(g=g) in comparison["conditions"] for c, _ in columns)
glue("snr_words", " and ".join(f"{s:g}" for s in SNR_LIST))
LOW = min(SNR_LIST)  # the loudest noise, for the recovery table
glue("snr_low", LOW)

# %% tags=["remove-input"] mystnb={"image": {"alt": "Four panels, test-other above and cross-validation below, seen noise left and unseen noise right: EER in percent of statistics pooling, scalar ASP and channel-wise ASP under each condition, clean, noise over the whole utterance, added to the middle third, or replacing it, at two SNRs, with interval bars."}}
fig, axes = plt.subplots(2, 2, figsize=(9, 7), sharey="row", layout="constrained")
for row, (label, res) in enumerate((("test-other", to["results"]),
                                    ("cross-validation", cv["results"]))):
    for col, g in enumerate(GROUPS):
        ax = axes[row, col]
        for i, p in enumerate(POOLINGS):
            r = [res[c.format(g=g)]["systems"][p] for c, _ in columns]
            y = 100 * np.array([v["eer"] for v in r])
            lo, hi = (100 * np.array([v["eer_ci"][k] for v in r]) for k in (0, 1))
            ax.errorbar(np.arange(len(columns)) + 0.2 * (i - 1), y, yerr=[y - lo, hi - y],
                        fmt="o", color=COLOURS[p], markersize=4, capsize=2, label=p)
        ax.set_xticks(range(len(columns)), [t for _, t in columns], rotation=45, fontsize="small")
        ax.set_title(f"{label}, {g} noise", fontsize="medium")
        ax.grid(axis="y", alpha=0.3)
    axes[row, 0].set_ylabel("EER (%)")
    axes[row, 0].set_ylim(0, None)
for ax in axes[1]:
    ax.set_xlabel("condition and SNR (dB)")
handles, names = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, names, loc="outside lower center", ncols=3, fontsize="small", frameon=False)
plt.show()

# %% [markdown]
# *Figure: EER of each pooling under each condition, with {glue:text}`cv_level:.0%`
# intervals.* "whole": noise added over the whole utterance; "add": noise added to the
# middle third; "repl.": the middle third replaced; then the SNR in dB. Top: test-other
# (mean of the seeds); bottom: the cross-validation (mean of the folds), whose paired
# differences are:

# %% tags=["remove-input"]
SEGMENTAL = [(sp, m, lab, g, snr) for sp, m, lab in PLACES if sp == "third"
             for g in GROUPS for snr in SNR_LIST]
rows, clear = [], {"to": [0, 0], "cv": [0, 0]}  # [ASP clearly lower, ASP clearly higher]
for sp, m, _, g, snr in SEGMENTAL:
    row = [f"{'replaced' if m == 'replace' else 'added'}, {g}, {snr:g} dB"]
    for p in ("asp-scalar", "asp-channel"):
        d = cv["results"][cond(sp, m, g, snr)]["differences"][f"{p} - stats"]
        row += [interval(d["eer"], d["ci"], "+"), reading(d, p, "stats")]
        for k in clear:
            lo, hi = comparison[{"to": "test_other", "cv": "crossval"}[k]]["results"][
                cond(sp, m, g, snr)]["differences"][f"{p} - stats"]["ci"]
            clear[k][0] += hi < 0
            clear[k][1] += lo > 0
    rows.append(row)
show_table(["middle third", "scalar ASP - stats, points [95 %]", "reading",
            "channel ASP - stats, points [95 %]", "reading"], rows)
n_seg = 2 * len(SEGMENTAL)
glue("n_seg", n_seg)
for k, (lower, higher) in clear.items():
    glue(f"{k}_seg_lower", lower)
    glue(f"{k}_seg_higher", higher)
lower, higher = clear["cv"]
if lower == 0:
    verdict = ("ASP does not win: in none of the {n} comparisons is an ASP model's EER clearly"
               " below statistics pooling's" + (f", and in {higher} it is clearly above" if higher
                                                 else ""))
elif lower == n_seg:
    verdict = "ASP wins: in all {n} comparisons its EER is clearly below statistics pooling's"
else:
    verdict = (f"ASP wins in {lower} of the {{n}} comparisons (its EER clearly below statistics"
               f" pooling's), loses in {higher}, and ties in the rest")
glue("seg_verdict", verdict.format(n=n_seg))
seg_short = (f"an ASP model's EER is clearly below statistics pooling's in {lower} of {n_seg}"
             f" comparisons and clearly above it in {higher}")
glue("seg_verdict_short", seg_short)

# %% [markdown]
# *Table: paired differences EER(ASP) - EER(statistics pooling) on the cross-validation,
# with the middle third corrupted; a reading names the lower only when the interval excludes
# zero.*
#
# On the cross-validation, {glue:md}`seg_verdict`. On test-other, with {glue:text}`n_test_speakers` speakers,
# {glue:text}`to_seg_lower` of the same {glue:text}`n_seg` intervals lie below zero and
# {glue:text}`to_seg_higher` above it.
#
# How much of this is attention's doing? Look at how far each pooling recovers when the
# noise replaces only the middle third instead of covering the whole utterance, at
# {glue:text}`snr_low:g` dB
# (cross-validation, mean of seen and unseen):

# %% tags=["remove-input"]
def mean_eer(res: dict, name: str, system: str) -> float:
    """A system's EER under a condition, averaged over the seen and unseen noise groups."""
    return float(np.mean([res[name.format(g=g)]["systems"][system]["eer"] for g in GROUPS]))


recover = {}
for p in POOLINGS:
    clean_, whole_, repl_ = (mean_eer(cv["results"], c, p) for c in
                             ("clean", cond("whole", "add", "{g}", LOW), cond("third", "replace", "{g}", LOW)))
    recover[p] = (whole_ - repl_) / (whole_ - clean_)
    for key, v in (("clean", clean_), ("whole", whole_), ("repl", repl_), ("recovered", recover[p])):
        glue(f"cv_{key}_{p}", v)
show_table(["pooling", "clean", f"whole utterance, {LOW:g} dB", f"middle third replaced, {LOW:g} dB",
            "share of the way back to clean"],
           [[p, f"{100 * mean_eer(cv['results'], 'clean', p):.1f}",
             f"{100 * mean_eer(cv['results'], cond('whole', 'add', '{g}', LOW), p):.1f}",
             f"{100 * mean_eer(cv['results'], cond('third', 'replace', '{g}', LOW), p):.1f}",
             f"{recover[p]:.0%}"] for p in POOLINGS])
more = [p for p in ("asp-scalar", "asp-channel") if recover[p] > recover["stats"]]
glue("recover_words", "neither ASP model recovers more of the way than statistics pooling"
     if not more else "both ASP models recover more of the way than statistics pooling"
     if len(more) == 2 else f"only {NAMES[more[0]]} recovers more of the way than statistics pooling")

def noise_training(g: str) -> str:
    """Scalar ASP trained with the recipe against trained clean, whole-utterance noise, LOW dB."""
    lo, hi = to["results"][cond("whole", "add", g, LOW)]["differences"][
        "asp-scalar - asp-scalar-clean"]["ci"]
    return "clearly lower" if hi < 0 else "clearly higher" if lo > 0 else "not clearly different"


glue("noise_training", noise_training("seen") + " with the seen noises and "
     + noise_training("unseen") + " with the unseen ones")

# %% [markdown]
# *Table: EER in % on the cross-validation, mean of seen and unseen noise; the last column is
# (whole - replaced) / (whole - clean).*
#
# Statistics pooling's own EER gets {glue:text}`cv_recovered_stats:.0%` of the way back to
# clean when the noise replaces a third instead of covering everything, and
# {glue:md}`recover_words` (point estimates). Even without attention, the frames of a
# replaced third can weigh less than their share: the frame layers of *every* model were
# trained on crops with replaced segments, so they can learn outputs for noise frames that
# move the pooled mean and standard deviation little. Attention is one way to ignore bad
# frames; trained frame layers are another, and here every pooling has them.
#
# Training with noise at all is a separate question. On test-other, with noise over the
# whole utterance at {glue:text}`snr_low:g` dB, scalar ASP trained with the recipe has an EER
# {glue:md}`noise_training`, against the same network trained on clean crops.

# %% tags=["remove-cell"]
glue("finding_intro", f"{len(test_speakers)} test speakers give wide intervals, so the chapter adds a"
     f" cross-validation over all {cv['speakers']} training speakers. There, on clean speech,"
     f" {versus_stats(cv_clean)}; with the middle third of each recording corrupted,"
     f" {seg_short}.")

# %% [markdown]
# ## What to remember
#
# - A verification test set is as strong as its number of *speakers*: resample speakers,
#   not trials, to get honest intervals. With {glue:text}`n_test_speakers` speakers, one
#   model's EER is known to within about {glue:text}`mean_ci_width:.1%`.
# - The loss of an angular-margin softmax rises while its margin is phased in; judge
#   training by the test EER, not by the loss curve.
# - On test-other the seed moves the EER {glue:md}`seeds_vs_means` the pooling does.
#   Compare methods over several runs, with paired intervals; one run per method ranks
#   nothing.
# - A test needs speakers to have power: with {glue:text}`cv_speakers` in cross-validation,
#   a pooling's interval is {glue:text}`cv_width:.1%` wide, not {glue:text}`to_width:.1%`.
#   There, on clean speech, {glue:md}`cv_clean_asp_vs_stats`.
# - Noise over a whole utterance and noise over a third of it test different things. With
#   a third corrupted, {glue:md}`seg_verdict_short`; statistics pooling itself gets
#   {glue:text}`cv_recovered_stats:.0%` of the way back to clean: its trained frame layers,
#   too, have learnt from replaced segments.
# - Check a trained system against a baseline without training: on a test set with one
#   session per speaker, plain log-mel statistics reach {glue:text}`base_raw_eer:.1%` EER.

# %% [markdown]
# ## Going further
#
# ### What attention costs per training step
#
# One training step of each pooling, timed on identical batches, the poolings taking turns:

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
glue("st_device", prov["device"].replace(" 1 threads", " 1 thread"))  # as runtime writes it now
glue("st_torch", results["torch"])
for p in POOLINGS:
    glue(f"st_ms_{p}", 1000 * st["model_seconds"][p])
    glue(f"st_ratio_{p}", st["ratio_vs_stats_model"][p])
    glue(f"st_ratio_data_{p}", st["ratio_vs_stats_with_data"][p])
    glue(f"train_wall_{p}", results["summary"][p]["train_seconds_mean"])

# %% [markdown]
# *Table: medians over {glue:text}`st_steps` interleaved steps, on the machine that trained
# the shipped models ({glue:md}`st_device`).*
#
# Channel-wise ASP makes a step {glue:text}`st_ratio_asp-channel:.2f` times as long as
# statistics pooling. On a GPU, or with the wide frame layers of a full x-vector network,
# the pooling is a smaller share of the step (chapter 7).
#
# ### How to reproduce
#
# Every shipped number comes from two commands. `make models` trains the
# {glue:text}`n_shipped` models, evaluates them, times the steps, and writes the
# checkpoints with a provenance file each (commit, command, data checksum, seed, device,
# training curve) and `results.json`, in {glue:text}`make_models_min:.0f` minutes.
# `make experiments` then writes the comparison of this chapter (`comparison.json`: the
# {glue:text}`cv_n_runs` cross-validation runs and every bootstrap), in
# {glue:text}`experiments_min:.0f` minutes, and chapter 6's attention grid. One model, and
# its evaluation:
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
glue("experiments_min", comparison["provenance"]["seconds"] / 60)
glue("cv_n_runs", len(cv["runs"]))
glue("chapter_seconds", time.perf_counter() - CHAPTER_START)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (what the normalisation hides).** The raw baseline reached
# {glue:text}`base_raw_eer:.1%` EER, the mean-normalised one {glue:text}`base_norm_eer:.1%`.
# Which half of the raw $[\mu; \sigma]$ does the work? Compute the EER
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
# come from one session, so this spectrum can identify the session, and with it the speaker.
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
# and seeds add their own spread on top, which only more training runs reduce.
# ````

# %% tags=["remove-cell"]
# Values quoted in the exercise solutions.
n = size["n_mels"]
mu_only = metrics.cosine_scores(raw_stats[pairs[:, 0], :n], raw_stats[pairs[:, 1], :n])
sd_only = metrics.cosine_scores(raw_stats[pairs[:, 0], n:], raw_stats[pairs[:, 1], n:])
glue("ex_mu_only", metrics.eer(mu_only, labels_trials)[0])
glue("ex_sd_only", metrics.eer(sd_only, labels_trials)[0])
assert np.isclose(metrics.eer(sd_only, labels_trials)[0], baselines["log-mel std, mean-normalised"]["eer"])
glue("mean_ci_width_points", 100 * width)
gap = OKABE_VOXCELEB1_EER["stats"] - OKABE_VOXCELEB1_EER["asp"]
glue("ex_speakers_needed", len(test_speakers) * (100 * width / gap) ** 2)
