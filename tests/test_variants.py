"""Properties of asp_lab.variants.MultiHeadAttentiveStatisticsPooling (chapter 3).

Padding changes nothing; each head's weights sum to one over the valid frames; one head is
scalar ASP and C heads are channel-wise ASP with the same parameters; channel group j is
pooled with head j's weights; bad shapes raise a ValueError naming the problem.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asp_lab import pooling
from asp_lab.pooling import AttentiveStatisticsPooling
from asp_lab.variants import MultiHeadAttentiveStatisticsPooling

MHASP = MultiHeadAttentiveStatisticsPooling
SETTINGS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def make(C: int, H: int, seed: int = 0, A: int = 5, sharpen: float = 4.0):
    """A small float64 multi-head pooling; v scaled up so the weights are far from uniform."""
    torch.manual_seed(seed)
    m = MultiHeadAttentiveStatisticsPooling(C, H, A)
    with torch.no_grad():
        m.v.mul_(sharpen)
    return m.double()


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def copy_into(asp: AttentiveStatisticsPooling, mh: MultiHeadAttentiveStatisticsPooling) -> None:
    with torch.no_grad():
        asp.W.copy_(mh.W)
        asp.b.copy_(mh.b)
        asp.v.copy_(mh.v.reshape(asp.v.shape))
        asp.k.copy_(mh.k.reshape(asp.k.shape))


@SETTINGS
@given(
    heads_groups=st.sampled_from([(1, 4), (2, 2), (3, 1), (4, 2)]),
    B=st.integers(1, 3), T=st.integers(1, 8), seed=seeds,
)
def test_each_heads_weights_sum_to_one(heads_groups, B, T, seed):
    H, group = heads_groups
    m = make(H * group, H, seed)
    pooled, alpha = m(randn(B, H * group, T, seed=seed), return_attention=True)
    assert pooled.shape == (B, 2 * H * group) and alpha.shape == (B, H, T)
    assert (alpha >= 0).all()
    torch.testing.assert_close(alpha.sum(-1), torch.ones(B, H, dtype=alpha.dtype))


@SETTINGS
@given(
    H=st.sampled_from([1, 2, 3]), lengths=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    extra=st.integers(1, 5), log_scale=st.floats(-3, 6), seed=seeds,
)
def test_padding_changes_nothing(H, lengths, extra, log_scale, seed):
    C, T = 2 * H, max(lengths) + extra
    m = make(C, H, seed)
    h = randn(len(lengths), C, T, seed=seed)
    noise = randn(len(lengths), C, T, seed=seed + 1) * 10.0**log_scale
    valid = torch.arange(T)[None, None, :] < torch.tensor(lengths)[:, None, None]
    padded_a = torch.where(valid, h, noise)
    padded_b = torch.where(valid, h, -noise)  # other garbage on the same padding
    out_a, alpha_a = m(padded_a, torch.tensor(lengths), return_attention=True)
    out_b = m(padded_b, torch.tensor(lengths))
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
    assert (alpha_a.masked_select(~valid.expand(-1, H, -1)) == 0).all()
    for i, n in enumerate(lengths):  # each row alone, cut to its valid frames
        torch.testing.assert_close(out_a[i], m(h[i : i + 1, :, :n])[0], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(C=st.integers(1, 5), B=st.integers(1, 3), T=st.integers(1, 8), seed=seeds)
def test_one_head_is_scalar_asp_with_the_same_weights(C, B, T, seed):
    mh = make(C, 1, seed)
    asp = AttentiveStatisticsPooling(C, 5, mode="scalar").double()
    copy_into(asp, mh)  # v: (1, A) -> (A,), k: (1,) -> ()
    h = randn(B, C, T, seed=seed)
    out_mh, alpha_mh = mh(h, return_attention=True)
    out_asp, alpha_asp = asp(h, return_attention=True)
    torch.testing.assert_close(alpha_mh[:, 0], alpha_asp, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out_mh, out_asp, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(C=st.integers(1, 5), B=st.integers(1, 3), T=st.integers(1, 8), seed=seeds)
def test_one_head_per_channel_is_channel_wise_asp(C, B, T, seed):
    mh = make(C, C, seed)
    asp = AttentiveStatisticsPooling(C, 5, mode="channel").double()
    copy_into(asp, mh)
    h = randn(B, C, T, seed=seed)
    out_mh, alpha_mh = mh(h, return_attention=True)
    out_asp, alpha_asp = asp(h, return_attention=True)
    torch.testing.assert_close(alpha_mh, alpha_asp, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out_mh, out_asp, rtol=1e-12, atol=1e-12)


def test_channel_group_j_is_pooled_with_head_js_weights():
    C, H, T = 6, 3, 7
    m = make(C, H, seed=1)
    h = randn(2, C, T, seed=1)
    pooled, alpha = m(h, return_attention=True)
    for j in range(H):
        group = slice(j * C // H, (j + 1) * C // H)
        mu, sigma = pooling.weighted_moments(h[:, group], alpha[:, j])
        torch.testing.assert_close(pooled[:, group], mu, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(pooled[:, C:][:, group], sigma, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs_give_finite_results(dtype):
    torch.manual_seed(0)
    m = MultiHeadAttentiveStatisticsPooling(8, 4, 6)
    h = (torch.randn(2, 8, 50) * 3 + 100).to(dtype)
    pooled, alpha = m.to(dtype)(h, return_attention=True)
    assert pooled.dtype == dtype and torch.isfinite(pooled).all() and torch.isfinite(alpha).all()


@pytest.mark.parametrize(
    "build, h, match",
    [
        (lambda: MHASP(6, 4), None, r"heads=4 must divide channels=6"),
        (lambda: MHASP(6, 0), None, r"must be positive"),
        (lambda: MHASP(6, 3), torch.zeros(2, 5, 4), r"C=6.*\(2, 5, 4\)"),
        (lambda: MHASP(6, 3), torch.zeros(6, 4), r"\(6, 4\)"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(build, h, match):
    with pytest.raises(ValueError, match=match):
        build()(h)
