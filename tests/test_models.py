"""The x-vector encoder with each pooling, the AAM-softmax head, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from asp_lab import models
from asp_lab.models import CONTEXT, POOLINGS, AAMSoftmax, build_model, count_parameters

SMALL = dict(channels=32, pool_channels=48, embed_dim=16, attention_channels=8)

# The default model's size per pooling, shown in the test ids (not asserted).
IDS = [f"{p}-{count_parameters(build_model(p)) / 1e3:.0f}k-params" for p in POOLINGS]


def small(pooling: str, seed: int = 0) -> models.TDNN:
    torch.manual_seed(seed)
    return build_model(pooling, **SMALL).eval()


@pytest.mark.parametrize("pooling", POOLINGS, ids=IDS)
def test_shapes_and_attention(pooling):
    model = build_model(pooling).eval()  # the default size
    x = torch.randn(3, 40, 120)
    with torch.no_grad():
        emb, alpha = model(x, return_attention=True)
    assert model.pooling_name == pooling
    assert emb.shape == (3, 128)
    T_out = 120 - CONTEXT
    expected = (3, 512, T_out) if pooling == "asp-channel" else (3, T_out)
    assert alpha.shape == expected
    torch.testing.assert_close(alpha.sum(-1), torch.ones(expected[:-1]))
    assert (alpha >= 0).all()


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing(pooling):
    model = small(pooling)
    lengths = torch.tensor([60, 41, 15])  # 15 frames: the smallest input the encoder takes
    rows = [torch.randn(1, 40, int(n)) for n in lengths]
    batch = torch.zeros(3, 40, 60)
    for i, row in enumerate(rows):
        batch[i, :, : row.shape[-1]] = row
    batch[1, :, 41:] = 1e3  # padding may hold anything
    with torch.no_grad():
        emb, alpha = model(batch, lengths, return_attention=True)
        for i, row in enumerate(rows):
            alone, alone_alpha = model(row, return_attention=True)
            torch.testing.assert_close(emb[i], alone[0], rtol=1e-4, atol=1e-5)
            n = int(lengths[i]) - CONTEXT
            torch.testing.assert_close(alpha[i, ..., :n], alone_alpha[0], rtol=1e-4, atol=1e-6)
            assert (alpha[i, ..., n:] == 0).all()


def test_lengths_errors():
    model = small("asp-scalar")
    x = torch.randn(2, 40, 30)
    with pytest.raises(ValueError, match=r"lengths\[1\]=14"):
        model(x, torch.tensor([30, 14]))
    with pytest.raises(ValueError, match=r"lengths\[0\]=31"):
        model(x, torch.tensor([31, 20]))
    with pytest.raises(ValueError, match="n_mels=40"):
        model(torch.randn(2, 80, 30))
    with pytest.raises(ValueError, match="at least 15"):
        model(torch.randn(2, 40, 14))
    with pytest.raises(ValueError, match="pooling must be one of"):
        build_model("mean")


def test_gradients_reach_every_parameter():
    model = small("asp-channel").train()
    model(torch.randn(4, 40, 40)).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# ------------------------------------------------------------------------ AAM softmax


def test_aam_with_no_margin_and_unit_scale_is_cosine_softmax():
    torch.manual_seed(0)
    head = AAMSoftmax(16, 5, margin=0.0, scale=1.0)
    x, y = torch.randn(8, 16), torch.randint(0, 5, (8,))
    cosine = F.normalize(x, dim=1) @ F.normalize(head.weight, dim=1).T
    torch.testing.assert_close(head.logits(x, y), cosine)
    torch.testing.assert_close(head(x, y), F.cross_entropy(cosine, y))


def test_aam_margin_only_touches_the_target_logit():
    torch.manual_seed(1)
    head = AAMSoftmax(16, 5, margin=0.3, scale=10.0)
    x, y = torch.randn(8, 16), torch.randint(0, 5, (8,))
    plain, margin = head.logits(x), head.logits(x, y)
    target = F.one_hot(y, 5).bool()
    torch.testing.assert_close(margin[~target], plain[~target])
    theta = torch.acos((plain[target] / 10).clamp(-1, 1))
    expected = torch.where(
        theta + 0.3 < math.pi, torch.cos(theta + 0.3), torch.cos(theta) - 0.3 * math.sin(0.3)
    )
    torch.testing.assert_close(margin[target], 10 * expected, rtol=1e-4, atol=1e-4)
    assert (margin[target] < plain[target]).all()  # the margin makes the true class harder


def test_aam_loss_decreases_on_toy_problem():
    torch.manual_seed(2)
    centres = torch.randn(4, 8)
    y = torch.arange(4).repeat_interleave(16)
    x = centres[y] + 0.3 * torch.randn(64, 8)
    encoder = torch.nn.Linear(8, 8)
    head = AAMSoftmax(8, 4, margin=0.2, scale=10.0)
    opt = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.5)
    losses = []
    for _ in range(20):
        loss = head(encoder(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ------------------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("pooling", POOLINGS)
def test_checkpoint_round_trip(pooling, tmp_path):
    model = small(pooling, seed=3)
    path = tmp_path / "model.pt"
    models.save_checkpoint(model, path, epoch=7)
    loaded = models.load_checkpoint(path)
    assert loaded.pooling_name == pooling and not loaded.training
    x = torch.randn(2, 40, 50)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert models.pooling_of(model.state_dict()) == pooling


@pytest.mark.parametrize(
    "source, target",
    [(a, b) for a in POOLINGS for b in POOLINGS if a != b],
)
def test_loading_another_pooling_fails_naming_both(source, target):
    state = small(source).state_dict()
    with pytest.raises(ValueError, match=f"pooling '{source}'.*pooling '{target}'"):
        models.load_checkpoint(state, model=small(target))


def test_loading_another_size_fails():
    state = small("stats").state_dict()
    with pytest.raises(ValueError, match="shape mismatches"):
        models.load_checkpoint(state, model=build_model("stats"))
