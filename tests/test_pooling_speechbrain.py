"""asp_lab's AttentiveStatisticsPooling with ``mode="channel", batch_norm=True, tanh=True``
is SpeechBrain's ``AttentiveStatisticsPooling`` (ECAPA-TDNN): a SpeechBrain layer's weights
copied into it give SpeechBrain's output, to float32 rounding in float32 and to float64
rounding in float64, with and without padding, in eval and in train mode.

One case cannot be equal by design: training mode on a padded batch. SpeechBrain's
``TDNNBlock`` applies ``BatchNorm1d`` to the whole ``(B, A, T)`` tensor, so the padded frames
(whatever they hold) enter its batch statistics; asp_lab's batch norm sees the valid frames
only, so that padding changes nothing. For that case the tests show both halves: that
SpeechBrain's output moves when only the padding changes, and that asp_lab's equals
SpeechBrain's once SpeechBrain's batch norm is given the valid frames' statistics.

SpeechBrain is imported with the torchaudio stand-in of :mod:`asp_lab.reference.speechbrain`.
"""

from __future__ import annotations

import copy

import pytest
import torch

from asp_lab.pooling import AttentiveStatisticsPooling
from asp_lab.reference import load_speechbrain_asp

SpeechBrainASP, MISSING = load_speechbrain_asp()
pytestmark = pytest.mark.skipif(SpeechBrainASP is None,
                                reason=f"SpeechBrain not installed: {MISSING}")

#: T = 16 frames, a power of two, for two reasons. SpeechBrain's relative lengths: each count
#: over 16 is an exact binary fraction, so its mask (``lengths * T``) gives back the counts.
#: And SpeechBrain computes the global context's weights 1 / n in float32 even for float64
#: frames (its default ``lengths`` is ``torch.ones``, float32, and it divides by
#: ``mask.sum().float()``): with T = 16 that 1 / 16 is exact, elsewhere (T = 9, say) the
#: float64 outputs differ by about 1e-10, SpeechBrain's float32 rounding of 1 / T, not a
#: difference of function.
B, C, A, T = 4, 12, 6, 16
#: Valid frames per row (the padded runs).
COUNTS = (16, 11, 5, 13)
#: float64 runs: equal up to a few ulps of the order of summation.
EXACT = {"rtol": 1e-12, "atol": 1e-12}


def relative(counts: tuple[int, ...]) -> torch.Tensor:
    """SpeechBrain's lengths: fractions of T."""
    rel = torch.tensor(counts, dtype=torch.float32) / T
    assert torch.equal(rel * T, torch.tensor(counts, dtype=torch.float32))
    return rel


def layers(gc: bool, dtype: torch.dtype, seed: int = 0):
    """A SpeechBrain layer with random weights and batch-norm state, and asp_lab's layer with
    the same weights copied in: ``W [h_t; mu; sigma] + b`` is SpeechBrain's first
    convolution split into ``W``, ``W_context`` and ``b``; ``v`` and ``k`` its second."""
    torch.manual_seed(seed)
    sb = SpeechBrainASP(C, attention_channels=A, global_context=gc)
    norm = sb.tdnn.norm.norm  # the torch.nn.BatchNorm1d inside SpeechBrain's wrapper
    with torch.no_grad():  # not the identity that a fresh batch norm is in eval mode
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.normal_(0.0, 0.3)
        norm.running_mean.normal_(0.0, 0.3)
        norm.running_var.uniform_(0.5, 2.0)
    ours = AttentiveStatisticsPooling(C, A, mode="channel", global_context=gc,
                                      batch_norm=True, tanh=True)
    first, second = sb.tdnn.conv.conv, sb.conv.conv  # SpeechBrain's Conv1d wrap torch's
    with torch.no_grad():
        ours.W.copy_(first.weight[:, :C, 0])
        ours.b.copy_(first.bias)
        if gc:  # the columns that multiply the repeated mean and standard deviation
            ours.W_context.copy_(first.weight[:, C:, 0])
        ours.v.copy_(second.weight[:, :, 0])
        ours.k.copy_(second.bias)
    ours.norm.load_state_dict(norm.state_dict())
    return sb.to(dtype), ours.to(dtype)


def frames(dtype: torch.dtype, padding: float | None = None, seed: int = 1) -> torch.Tensor:
    """``(B, C, T)`` frames with a mean per channel; with ``padding``, the frames after
    ``COUNTS`` are replaced by noise of that scale (which must change nothing)."""
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(B, C, T, generator=gen) * 1.5 + torch.randn(1, C, 1, generator=gen)
    if padding is not None:
        junk = torch.randn(B, C, T, generator=gen) * padding
        after = torch.arange(T)[None, :] >= torch.tensor(COUNTS)[:, None]  # (B, T)
        h = torch.where(after[:, None, :], junk, h)
    return h.to(dtype)


def both(sb, ours, h, padded: bool):
    sb_out = sb(h, relative(COUNTS).to(h.dtype) if padded else None)
    assert sb_out.shape == (B, 2 * C, 1)
    return sb_out.squeeze(-1), ours(h, torch.tensor(COUNTS) if padded else None)


def tolerance(dtype: torch.dtype) -> dict:
    return EXACT if dtype == torch.float64 else {}  # float32: assert_close's own rtol/atol


DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64],
                                 ids=["float32", "float64"])
GC = pytest.mark.parametrize("gc", [False, True], ids=["plain", "global-context"])


@DTYPES
@GC
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
def test_eval_mode_equals_speechbrain(gc, padded, dtype):
    sb, ours = layers(gc, dtype)
    sb.eval(), ours.eval()
    h = frames(dtype, padding=30.0 if padded else None)
    with torch.no_grad():
        want, got = both(sb, ours, h, padded)
    torch.testing.assert_close(got, want, **tolerance(dtype))


@DTYPES
@GC
def test_train_mode_equals_speechbrain_without_padding(gc, dtype):
    """Batch statistics over every frame of the batch in both; the running statistics move
    alike, and the gradient reaching the frames is the same."""
    sb, ours = layers(gc, dtype)
    sb.train(), ours.train()
    h_sb = frames(dtype).requires_grad_(True)
    h_ours = h_sb.detach().clone().requires_grad_(True)
    want, got = sb(h_sb).squeeze(-1), ours(h_ours)
    torch.testing.assert_close(got, want, **tolerance(dtype))
    weights = torch.randn(B, 2 * C, generator=torch.Generator().manual_seed(2)).to(dtype)
    (want * weights).sum().backward()
    (got * weights).sum().backward()
    torch.testing.assert_close(h_ours.grad, h_sb.grad, **tolerance(dtype))
    norm = sb.tdnn.norm.norm
    torch.testing.assert_close(ours.norm.running_mean, norm.running_mean, **tolerance(dtype))
    torch.testing.assert_close(ours.norm.running_var, norm.running_var, **tolerance(dtype))
    assert int(ours.norm.num_batches_tracked) == int(norm.num_batches_tracked) == 1


@GC
def test_train_mode_on_padding_speechbrain_counts_the_padding(gc):
    """Why equality is impossible here: change only the padded frames and SpeechBrain's
    output in training mode moves (its batch norm's statistics include them); asp_lab's
    does not move at all."""
    sb, ours = layers(gc, torch.float64)
    sb.train(), ours.train()
    outs_sb, outs_ours = [], []
    for padding in (0.0, 30.0):
        sb_copy, ours_copy = copy.deepcopy(sb), copy.deepcopy(ours)  # same running state
        with torch.no_grad():
            want, got = both(sb_copy, ours_copy, frames(torch.float64, padding), padded=True)
        outs_sb.append(want)
        outs_ours.append(got)
    assert (outs_sb[0] - outs_sb[1]).abs().max() > 1e-3
    assert torch.equal(outs_ours[0], outs_ours[1])


@DTYPES
@GC
def test_train_mode_on_padding_equals_speechbrain_normalised_by_the_valid_frames(gc, dtype):
    """asp_lab's training-mode output on a padded batch is SpeechBrain's, once SpeechBrain's
    batch norm normalises with the mean and (biased) variance of the valid frames: read the
    input of its batch norm, take those statistics, and run it in eval mode with them."""
    sb, ours = layers(gc, dtype)
    h = frames(dtype, padding=30.0)
    seen = []
    hook = sb.tdnn.norm.norm.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        sb.train()(h, relative(COUNTS).to(dtype))
    hook.remove()
    z = seen[0].transpose(1, 2)  # (B, T, A): ReLU(W [h_t; mu; sigma] + b) at every frame
    valid = torch.arange(T)[None, :] < torch.tensor(COUNTS)[:, None]
    z = z[valid]  # (N_valid, A)
    norm = sb.tdnn.norm.norm
    with torch.no_grad():
        norm.running_mean.copy_(z.mean(dim=0))
        norm.running_var.copy_(z.var(dim=0, unbiased=False))  # what training mode divides by
        want, got = both(sb.eval(), ours.train(), h, padded=True)
    torch.testing.assert_close(got, want, **tolerance(dtype))


def test_the_option_changes_only_what_it_names():
    """tanh=False (the default) leaves the layer as it was: same parameters, same output as
    a layer built without the argument; tanh=True changes the output."""
    torch.manual_seed(0)
    plain = AttentiveStatisticsPooling(C, A, mode="channel", batch_norm=True).eval()
    with_tanh = AttentiveStatisticsPooling(C, A, mode="channel", batch_norm=True,
                                           tanh=True).eval()
    explicit = AttentiveStatisticsPooling(C, A, mode="channel", batch_norm=True,
                                          tanh=False).eval()
    with_tanh.load_state_dict(plain.state_dict())  # no parameter added
    explicit.load_state_dict(plain.state_dict())
    h = frames(torch.float32)
    with torch.no_grad():
        assert torch.equal(explicit(h), plain(h))
        assert not torch.allclose(with_tanh(h), plain(h))
        z = torch.randn(B, A, T)
        torch.testing.assert_close(with_tanh.f(z), torch.tanh(plain.f(z)), rtol=0, atol=0)
    assert "tanh=True" in repr(with_tanh) and "tanh" not in repr(plain)
