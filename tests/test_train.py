"""Training: batches, schedule, AMP policy, smoke run, exact resume, DDP on two CPU processes."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from asp_lab import cli
from asp_lab import train as T
from asp_lab.data import SAMPLE_RATE

# A tiny model on 8 speakers and short crops: tens of steps take a second or two.
TINY = dict(channels=16, pool_channels=24, embed_dim=16, attention_channels=8, n_speakers=8,
            batch_size=8, crop_seconds=(0.5, 0.6), log_every=5, lr=1e-2)


def tiny(**kw) -> T.TrainConfig:
    return T.TrainConfig(**{**TINY, **kw})


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------ batches


def test_batches_are_equal_length_labelled_and_reproducible():
    cfg = tiny(pooling="stats")
    audio, speakers, noises = T.load_training_data(cfg)
    assert len(audio) == len(speakers) == 8 and len(noises) == len(T.SEEN_NOISES)
    wave, labels = T.draw_batch(audio, noises, cfg, step=3)
    assert wave.dtype == torch.float32 and wave.dim() == 2 and wave.shape[0] == 8
    assert 0.5 * SAMPLE_RATE <= wave.shape[1] <= 0.6 * SAMPLE_RATE
    assert torch.isfinite(wave).all()
    assert len(set(labels.tolist())) == 8  # without replacement when there are enough
    again, labels2 = T.draw_batch(audio, noises, cfg, step=3)
    assert torch.equal(wave, again) and torch.equal(labels, labels2)
    other_step, _ = T.draw_batch(audio, noises, cfg, step=4)
    assert not torch.equal(wave[:, :100], other_step[:, :100])
    r0, _ = T.draw_batch(audio, noises, cfg, step=3, rank=0, world_size=2)
    r1, _ = T.draw_batch(audio, noises, cfg, step=3, rank=1, world_size=2)
    assert r0.shape[0] == r1.shape[0] == 4  # the batch is split over the ranks ...
    assert not torch.equal(r0[:, :100], r1[:, :100])  # ... and each rank draws its own


def test_without_noise_aug_crops_are_the_recordings():
    cfg = tiny(noise_aug=False)
    audio, _, noises = T.load_training_data(cfg)
    assert noises == ()
    wave, labels = T.draw_batch(audio, noises, cfg, step=0)
    for row, label in zip(wave.numpy(), labels.tolist(), strict=True):
        src = audio[label]
        starts = np.flatnonzero(src[: src.size - row.size + 1] == row[0])
        assert any(np.array_equal(src[s : s + row.size], row) for s in starts)


def test_seen_and_unseen_noises_are_disjoint():
    assert set(T.SEEN_NOISES) == {"doing_the_dishes", "white_noise"}
    assert set(T.UNSEEN_NOISES) == {"running_tap", "pink_noise"}
    assert T.TrainConfig().noises == T.SEEN_NOISES


# -------------------------------------------------------------------- schedule and AMP


def test_learning_rate_warms_up_then_decays():
    cfg = T.TrainConfig(steps=100, lr=1.0, warmup=0.1)
    lrs = [T.learning_rate(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    assert lrs[-1] == pytest.approx(0.05, abs=1e-3)
    ramp = [T.margin_at(s, cfg) for s in range(100)]
    assert ramp[0] == ramp[20] == 0 and ramp[35] == pytest.approx(cfg.margin / 2)
    assert ramp[50] == ramp[99] == cfg.margin


def test_amp_policy():
    assert T.amp_policy("cpu") == T.AmpPolicy(False)
    bf16 = T.amp_policy("cuda", bf16_supported=True)
    assert bf16.enabled and bf16.dtype == torch.bfloat16 and not bf16.grad_scaler
    fp16 = T.amp_policy("cuda", bf16_supported=False)
    assert fp16.enabled and fp16.dtype == torch.float16 and fp16.grad_scaler
    # The CPU path of a step: autocast and the scaler are both pass-throughs.
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss = torch.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss


def test_resolve_device():
    assert T.resolve_device("cpu").type == "cpu"
    assert T.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        T.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            T.resolve_device("cuda")


# ---------------------------------------------------------------------------- training


def test_smoke_training_writes_checkpoint_and_provenance(tmp_path):
    cfg = tiny(pooling="asp-scalar", steps=40)
    res = T.train(cfg, out=tmp_path, device="cpu", progress=False)
    curve = res["provenance"]["curve"]
    losses = [c["loss"] for c in curve]
    assert len(curve) == 8 and all(math.isfinite(x) for x in losses)
    assert min(losses[-2:]) < losses[0]  # it learns something on 8 speakers
    ckpt, prov = tmp_path / f"{cfg.name}.pt", tmp_path / f"{cfg.name}.json"
    assert res["checkpoint"] == ckpt and ckpt.is_file() and prov.is_file()
    meta = json.loads(prov.read_text())
    for key in ("git_commit", "command", "data_sha256sums_sha256", "seed", "wall_seconds",
                "device", "torch", "steps", "metrics", "train_config", "checkpoint_sha256"):
        assert key in meta, key
    assert meta["steps"] == 40 and meta["seed"] == 0 and meta["torch"] == torch.__version__
    assert len(meta["data_sha256sums_sha256"]) == 64
    assert meta["metrics"]["final_train_loss"] == pytest.approx(losses[-1])
    # The checkpoint loads as a model (the extra training state is ignored).
    from asp_lab.models import load_checkpoint

    model = load_checkpoint(ckpt)
    assert model.pooling_name == "asp-scalar" and not model.training


def test_resume_continues_exactly(tmp_path):
    cfg = tiny(pooling="asp-channel", steps=12)
    straight = T.train(cfg, device="cpu", progress=False)
    first = T.train(cfg, out=tmp_path, device="cpu", stop_after=7, progress=False)
    assert first["provenance"]["steps"] == 7  # between two log entries (every 5 steps)
    resumed = T.train(cfg, out=tmp_path / "b", resume=first["checkpoint"], device="cpu",
                      progress=False)
    assert resumed["provenance"]["steps"] == 12
    assert state_equal(straight["model"].state_dict(), resumed["model"].state_dict())
    assert straight["provenance"]["curve"] == resumed["provenance"]["curve"]
    with pytest.raises(ValueError, match="another config"):
        T.train(dataclasses.replace(cfg, lr=0.5), resume=first["checkpoint"], device="cpu",
                progress=False)


def test_dataloader_workers_train_the_same_model():
    """Worker processes draw the batches ahead; the batches, and so the weights, are the
    same as when the training loop draws them itself."""
    cfg = tiny(pooling="asp-channel", steps=8)
    inline = T.train(cfg, device="cpu", progress=False, workers=0)
    workers = T.train(cfg, device="cpu", progress=False, workers=2)
    assert state_equal(inline["model"].state_dict(), workers["model"].state_dict())
    assert workers["provenance"]["workers"] == 2
    assert workers["provenance"]["steps_per_second"] > 0
    with pytest.raises(ValueError, match="workers must be 0 or more"):
        T.train(cfg, device="cpu", progress=False, workers=-1)


def test_step_batches_are_draw_batch_in_order():
    cfg = tiny()
    audio, _, noises = T.load_training_data(cfg)
    ds = T.StepBatches(audio, noises, cfg, first=3, last=6)
    assert len(ds) == 3
    for i in range(3):
        for a, b in zip(ds[i], T.draw_batch(audio, noises, cfg, 3 + i), strict=True):
            assert torch.equal(a, b)
    with pytest.raises(IndexError, match="step 6 is outside 3..5"):
        ds[3]


def test_compiled_model_computes_the_same_losses():
    """``compile=True`` runs the model through torch.compile (on the CPU here, as it would
    on a GPU). With a learning rate of 0 the weights stay put, so every step's loss must
    agree with eager mode up to rounding: fused kernels sum in another order. (With a real
    learning rate, Adam's first updates, about lr times the sign of each gradient, turn
    rounding differences near zero into differences of order lr.)"""
    cfg = tiny(pooling="asp-scalar", steps=5, lr=0.0)
    from torch._dynamo.utils import counters

    eager = T.train(cfg, device="cpu", progress=False)
    counters.clear()
    compiled = T.train(cfg, device="cpu", progress=False, compile=True)
    assert compiled["provenance"]["compile"] is True
    assert counters["stats"]["unique_graphs"] > 0  # dynamo did compile graphs
    losses = [[c["loss"] for c in r["provenance"]["curve"]] for r in (eager, compiled)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_ddp_two_cpu_processes_keep_identical_weights(tmp_path):
    cfg = tiny(pooling="asp-scalar", steps=6)
    weights = T.launch_local(cfg, 2, tmp_path)
    assert state_equal(weights[0], weights[1])
    torch.manual_seed(cfg.seed)  # the initial weights every rank starts from
    init = T.build_model(**cfg.model_kwargs()).state_dict()
    assert not torch.equal(weights[0]["embedding.weight"], init["embedding.weight"])
    assert (tmp_path / f"{cfg.name}.pt").is_file()  # rank 0 wrote the checkpoint


def test_cli_train_runs(tmp_path, capsys):
    code = cli.main(["train", "--pooling", "stats", "--steps", "2", "--batch-size", "4",
                     "--no-eval", "--seed", "3", "--out", str(tmp_path), "--device", "cpu"])
    assert code == 0
    assert (tmp_path / "stats-seed3.pt").is_file()
    meta = json.loads((tmp_path / "stats-seed3.json").read_text())
    assert meta["steps"] == 2 and meta["train_config"]["noise_aug"] is True
    assert "stats-seed3.pt" in capsys.readouterr().out
