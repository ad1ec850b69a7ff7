"""Properties of asp_lab.pooling: the three ASP steps and the pooling modules.

Each test states a property the book relies on (uniform weights give statistics pooling,
weights sum to one, permutation, padding, the bias k, numerics in float32/16/bf16,
global context, shapes, the fast path equal to the steps) or checks that bad input raises
a ValueError naming the problem. Shapes are small so the whole file runs in seconds.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from asp_lab import pooling
from asp_lab.pooling import (
    AttentiveStatisticsPooling,
    StatisticsPooling,
    attention_scores,
    attention_weights,
    uniform_weights,
    weighted_moments,
)

SETTINGS = settings(max_examples=30, deadline=None)
MODES = ["scalar", "channel"]
VARIANTS = [(mode, gc) for mode in MODES for gc in (False, True)]
VARIANT_IDS = [f"{mode}{'-gc' if gc else ''}" for mode, gc in VARIANTS]

seeds = st.integers(0, 2**31 - 1)
batches = st.integers(1, 3)
channels = st.integers(1, 5)
frames = st.integers(1, 9)


def make_asp(
    C: int,
    mode: str = "scalar",
    global_context: bool = False,
    seed: int = 0,
    A: int = 6,
    dtype: torch.dtype = torch.float64,
    sharpen: float = 4.0,
) -> AttentiveStatisticsPooling:
    """A small ASP module; v is scaled up so that the weights are far from uniform."""
    torch.manual_seed(seed)
    m = AttentiveStatisticsPooling(C, A, mode=mode, global_context=global_context)
    with torch.no_grad():
        m.v.mul_(sharpen)
    return m.to(dtype)


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


def ref_moments(h: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and std in float64, two-pass, no floor."""
    h, a = h.double(), a.double()
    if a.dim() == 2:
        a = a[:, None, :]
    mu = (a * h).sum(-1)
    var = (a * (h - mu[..., None]) ** 2).sum(-1)
    return mu, var.sqrt()


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((x.double() - ref).abs() / ref.abs().clamp(min=1e-30)).max())


# --------------------------------------------------- uniform weights = statistics pooling


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds)
def test_statistics_pooling_is_mean_and_population_std(B, C, T, seed):
    h = randn(B, C, T, seed=seed, dtype=torch.float32)
    out = StatisticsPooling()(h)
    assert out.shape == (B, 2 * C) and out.dtype == torch.float32
    h64 = h.double()
    torch.testing.assert_close(out[:, :C].double(), h64.mean(dim=-1), rtol=1e-6, atol=1e-6)
    # population std (divide by T); the variance floor only shows where the std is ~0
    torch.testing.assert_close(
        out[:, C:].double(), h64.std(dim=-1, correction=0), rtol=1e-5, atol=2e-6
    )


@SETTINGS
@given(B=batches, C=channels, T=st.integers(2, 9), seed=seeds, data=st.data())
def test_statistics_pooling_with_lengths_uses_only_valid_frames(B, C, T, seed, data):
    lengths = data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    h = randn(B, C, T, seed=seed, dtype=torch.float32)
    out = StatisticsPooling()(h, lengths=torch.tensor(lengths)).double()
    for i, n in enumerate(lengths):
        row = h[i, :, :n].double()
        torch.testing.assert_close(out[i, :C], row.mean(-1), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(out[i, C:], row.std(-1, correction=0), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("pool", ["stats", "asp-gc"])
def test_float64_pooling_has_float64_accuracy(pool):
    """float64 in, float64 accuracy out: the uniform weights 1/T must not be float32."""
    h = randn(2, 3, 7, seed=0)  # T = 7: 1/7 is not exact in binary
    if pool == "stats":
        out, ref = StatisticsPooling()(h), torch.cat([h.mean(-1), h.std(-1, correction=0)], 1)
    else:
        m = make_asp(3, "scalar", True)
        ref = make_asp(3, "scalar", True)
        with torch.no_grad():  # the same scores from an explicit float64 context
            ref.W_context.zero_()
            mu, sd = h.mean(-1), h.std(-1, correction=0)
            ref.b.add_(torch.cat([mu, sd], 1)[0] @ m.W_context.T)
        out, ref = m(h[:1]), ref(h[:1])
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


def test_uniform_weights_are_one_over_length():
    a = uniform_weights(3, 5, lengths=torch.tensor([5, 2, 1]))
    expected = torch.tensor(
        [[0.2] * 5, [0.5, 0.5, 0, 0, 0], [1.0, 0, 0, 0, 0]], dtype=a.dtype
    )
    torch.testing.assert_close(a, expected, rtol=0, atol=1e-7)


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, data=st.data())
@pytest.mark.parametrize("mode,gc", VARIANTS, ids=VARIANT_IDS)
def test_asp_with_equal_scores_is_statistics_pooling(mode, gc, B, C, T, seed, data):
    """v = 0 makes every score equal to k: the softmax is uniform, so ASP is stats pooling."""
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    m = make_asp(C, mode, gc, seed, dtype=torch.float32)
    with torch.no_grad():
        m.v.zero_()
        m.k.add_(3.0)
    h = randn(B, C, T, seed=seed + 1, dtype=torch.float32)
    pooled, alpha = m(h, lengths=lengths, return_attention=True)
    assert torch.equal(pooled, StatisticsPooling()(h, lengths=lengths))
    expected = uniform_weights(B, T, lengths)
    if mode == "channel":
        expected = expected[:, None, :].expand(B, C, T)
    assert torch.equal(alpha, expected)


# ---------------------------------------------------------------- weights and padding


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, scale=st.floats(0.0, 1e3), data=st.data())
@pytest.mark.parametrize("per_channel", [False, True], ids=["BT", "BCT"])
def test_weights_sum_to_one_and_are_zero_on_padding(per_channel, B, C, T, seed, scale, data):
    lengths = data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    shape = (B, C, T) if per_channel else (B, T)
    e = randn(*shape, seed=seed, dtype=torch.float32) * scale
    a = attention_weights(e, lengths=torch.tensor(lengths))
    assert a.shape == e.shape and a.dtype == e.dtype
    assert torch.all(a >= 0)
    for i, n in enumerate(lengths):
        assert torch.all(a[i, ..., n:] == 0), "padding must get exactly zero weight"
        torch.testing.assert_close(
            a[i, ..., :n].sum(-1), torch.ones(a[i, ..., 0].shape), rtol=0, atol=1e-5
        )


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds)
@pytest.mark.parametrize("mode,gc", VARIANTS, ids=VARIANT_IDS)
def test_module_weights_sum_to_one(mode, gc, B, C, T, seed):
    m = make_asp(C, mode, gc, seed)
    _, alpha = m(randn(B, C, T, seed=seed), return_attention=True)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:-1], dtype=alpha.dtype))
    assert torch.all(alpha >= 0)


@SETTINGS
@given(B=batches, C=channels, T=st.integers(2, 9), seed=seeds)
@pytest.mark.parametrize("mode,gc", VARIANTS, ids=VARIANT_IDS)
def test_permuting_frames_permutes_weights_and_keeps_the_pooled_vector(mode, gc, B, C, T, seed):
    m = make_asp(C, mode, gc, seed)
    h = randn(B, C, T, seed=seed)
    perm = torch.randperm(T, generator=torch.Generator().manual_seed(seed))
    pooled, alpha = m(h, return_attention=True)
    pooled_p, alpha_p = m(h[..., perm], return_attention=True)
    torch.testing.assert_close(pooled_p, pooled, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(alpha_p, alpha[..., perm], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(
    C=channels,
    lengths=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    extra=st.integers(1, 4),
    log_scale=st.floats(-2, 15),
    seed=seeds,
)
@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_padding_changes_nothing(mode, gc, C, lengths, extra, log_scale, seed):
    """Rows padded with arbitrary values (up to 1e15, float64) pool as the unpadded rows."""
    m = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, seed)
    B, T = len(lengths), max(lengths) + extra
    h = randn(B, C, T, seed=seed) * 10.0**log_scale + 7.0  # the padding: huge, arbitrary
    for i, n in enumerate(lengths):
        h[i, :, :n] = randn(C, n, seed=seed + 1 + i)
    lengths_t = torch.tensor(lengths)
    if mode == "stats":
        pooled = m(h, lengths=lengths_t)
    else:
        pooled, alpha = m(h, lengths=lengths_t, return_attention=True)
    for i, n in enumerate(lengths):
        alone = h[i : i + 1, :, :n].clone()
        if mode == "stats":
            torch.testing.assert_close(pooled[i : i + 1], m(alone), rtol=1e-10, atol=1e-10)
            continue
        pooled_alone, alpha_alone = m(alone, return_attention=True)
        torch.testing.assert_close(pooled[i : i + 1], pooled_alone, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(alpha[i : i + 1, ..., :n], alpha_alone, rtol=1e-10, atol=1e-12)
        assert torch.all(alpha[i, ..., n:] == 0)


@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_huge_float32_padding_changes_nothing(mode, gc):
    """Padding is ignored whatever its (finite) value, in float32 as well."""
    C, lengths, T = 3, [5, 2], 8
    m = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, dtype=torch.float32)
    for pad in (1e20, -1e25, torch.finfo(torch.float32).max):
        h = torch.full((2, C, T), pad, dtype=torch.float32)
        for i, n in enumerate(lengths):
            h[i, :, :n] = randn(C, n, seed=i, dtype=torch.float32)
        pooled = m(h, lengths=torch.tensor(lengths))
        for i, n in enumerate(lengths):
            alone = m(h[i : i + 1, :, :n].clone())
            torch.testing.assert_close(pooled[i : i + 1], alone, msg=f"padding value {pad:g}")


@SETTINGS
@given(C=channels, lengths=st.lists(st.integers(1, 6), min_size=1, max_size=3), seed=seeds)
@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_gradient_on_padding_is_zero(mode, gc, C, lengths, seed):
    m = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, seed)
    B, T = len(lengths), max(lengths) + 2
    h = (randn(B, C, T, seed=seed) * 1e3).requires_grad_(True)
    pooled = m(h, lengths=torch.tensor(lengths))
    (pooled * randn(*pooled.shape, seed=seed + 1)).sum().backward()
    assert torch.isfinite(h.grad).all()
    for i, n in enumerate(lengths):
        assert torch.all(h.grad[i, :, n:] == 0)
        if mode != "stats":
            assert h.grad[i, :, :n].abs().sum() > 0  # the valid frames do get gradient


# -------------------------------------------------------------------------- the bias k


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, shift=st.floats(-50, 50))
@pytest.mark.parametrize("mode,gc", VARIANTS, ids=VARIANT_IDS)
def test_bias_k_changes_nothing(mode, gc, B, C, T, seed, shift):
    m = make_asp(C, mode, gc, seed)
    h = randn(B, C, T, seed=seed)
    lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(seed))
    pooled, alpha = m(h, lengths=lengths, return_attention=True)
    with torch.no_grad():
        m.k.add_(shift)
    pooled_k, alpha_k = m(h, lengths=lengths, return_attention=True)
    torch.testing.assert_close(alpha_k, alpha, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(pooled_k, pooled, rtol=1e-9, atol=1e-10)


def test_bias_k_shifts_the_scores_only():
    h = randn(2, 3, 6, seed=0)
    W, b, v = randn(4, 3, seed=1), randn(4, seed=2), randn(3, 4, seed=3)
    k = randn(3, seed=4)
    e0 = attention_scores(h, W, b, v)
    e1 = attention_scores(h, W, b, v, k)
    torch.testing.assert_close(e1 - e0, k[None, :, None].expand_as(e0))
    torch.testing.assert_close(attention_weights(e1), attention_weights(e0), rtol=1e-12, atol=0)


# ------------------------------------------------------------------------------ numerics


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str
)
def test_attention_weights_stable_for_huge_scores(dtype):
    e = torch.tensor(
        [
            [1e4, 1e4, -1e4, 0.0],  # two huge equal scores share the weight
            [-1e4, -1e4, -1e4, -1e4],  # all hugely negative: still uniform
            [1e4, -1e4, -1e4, -1e4],  # one frame takes everything
            [-1e4, 0.0, 1.0, -1e4],  # ordinary scores next to huge ones
        ],
        dtype=dtype,
    )
    a = attention_weights(e)
    assert a.dtype == dtype and torch.isfinite(a).all()
    e64 = e.double()
    expected = torch.exp(e64 - e64.max(-1, keepdim=True).values)
    expected = expected / expected.sum(-1, keepdim=True)
    tol = {torch.float16: 1e-3, torch.bfloat16: 1e-2}.get(dtype, 1e-6)
    torch.testing.assert_close(a.double(), expected, rtol=tol, atol=tol)
    assert a[0, 2] == 0 and a[2, 1:].eq(0).all()
    # masked rows with huge scores too
    a = attention_weights(e, lengths=torch.tensor([2, 3, 1, 3]))
    assert torch.isfinite(a).all() and a[:, 3].eq(0).all()
    torch.testing.assert_close(a[1].double(), torch.tensor([1 / 3, 1 / 3, 1 / 3, 0]).double(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("weights", ["uniform", "random"])
def test_sigma_accurate_when_mean_is_large_against_spread(weights):
    """Two-pass sigma stays accurate where the one-pass E[x^2] - mu^2 loses the spread."""
    B, C, T = 2, 8, 400
    h = (1e4 + randn(B, C, T, seed=0)).float()  # float32: spread 1 on a mean of 1e4
    if weights == "uniform":
        a = uniform_weights(B, T)
    else:
        a = attention_weights(randn(B, T, seed=1, dtype=torch.float32))
    mu, sigma = weighted_moments(h, a)
    assert mu.dtype == sigma.dtype == torch.float32
    ref_mu, ref_sigma = ref_moments(h, a)  # same float32 values, float64 arithmetic
    err = rel_err(sigma, ref_sigma)
    assert rel_err(mu, ref_mu) < 1e-6
    assert err < 1e-4
    # the one-pass formula, computed here in float32, is badly off on the same input
    var_one_pass = (a[:, None, :] * h**2).sum(-1) - ((a[:, None, :] * h).sum(-1)) ** 2
    one_pass = var_one_pass.clamp(min=0).sqrt()
    one_pass_err = rel_err(one_pass, ref_sigma)
    assert one_pass_err > 0.1
    assert one_pass_err > 1000 * err


# ---------------------------------------------------------------- the hand-written gradient


def _two_pass_by_autograd(x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The moments as plain tensor arithmetic, for autograd to differentiate."""
    w = a if a.dim() == 3 else a[:, None, :]
    mu = (w * x).sum(dim=-1)
    var = (w * (x - mu[:, :, None]).square()).sum(dim=-1)
    return mu, var.clamp(min=pooling.VAR_FLOOR).sqrt()


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, scale=st.floats(0.0, 10.0))
@pytest.mark.parametrize("per_channel", [False, True], ids=["BT", "BCT"])
def test_hand_written_moments_gradient_equals_autograd(per_channel, B, C, T, seed, scale):
    """The backward of the moments, written by hand, gives autograd's gradients for h and for
    the weights (a softmax, so they sum to one), for any upstream gradient."""
    x = (randn(B, C, T, seed=seed) * 3 + 1).requires_grad_(True)
    scores = (randn(*((B, C, T) if per_channel else (B, T)), seed=seed + 1) * scale)
    scores.requires_grad_(True)
    g_mu, g_sigma = randn(B, C, seed=seed + 2), randn(B, C, seed=seed + 3)
    grads = []
    for moments in (pooling.fast.moments, _two_pass_by_autograd):
        mu, sigma = moments(x, torch.softmax(scores, dim=-1))
        grads.append(torch.autograd.grad((mu * g_mu + sigma * g_sigma).sum(), (x, scores)))
    # float64, but not to the last bits: with weights like (1 - 1e-10, 1e-10), sigma is tiny
    # and both gradients divide rounding errors by it, each in its own order of operations
    for ours, autograd in zip(*grads, strict=True):
        torch.testing.assert_close(ours, autograd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_module_gradients_pass_gradcheck(mode, gc):
    """Finite differences agree with the backward of every module, padding included."""
    m = StatisticsPooling() if mode == "stats" else make_asp(3, mode, gc, sharpen=1.0)
    h = randn(2, 3, 6, seed=1).requires_grad_(True)
    lengths = torch.tensor([6, 4])
    params = [p for p in m.parameters() if p.requires_grad]
    assert torch.autograd.gradcheck(lambda h, *_: m(h, lengths=lengths), (h, *params))


@pytest.mark.parametrize("constant", [0.0, 3.0, -1e3])
def test_sigma_and_its_gradient_when_a_channel_is_constant(constant):
    B, C, T = 2, 3, 8
    h = randn(B, C, T, seed=0, dtype=torch.float32)
    h[:, 1, :] = constant
    h.requires_grad_(True)
    for a in (uniform_weights(B, T), attention_weights(randn(B, T, seed=1, dtype=torch.float32))):
        mu, sigma = weighted_moments(h, a)
        # zero up to float32 rounding of the mean (about 1e-7 of |constant|)
        assert float(sigma[:, 1].detach().abs().max()) <= 1e-5 + 1e-6 * abs(constant)
        h.grad = None
        sigma.sum().backward()
        assert torch.isfinite(h.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_module_gradient_finite_when_a_channel_is_constant(mode, gc, dtype):
    B, C, T = 2, 3, 8
    m = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, dtype=dtype)
    h = randn(B, C, T, seed=0, dtype=dtype)
    h[:, 0, :] = 0.0
    h[:, 2, :] = 2.5
    h.requires_grad_(True)
    lengths = torch.tensor([T, 3])
    m(h, lengths=lengths).sum().backward()
    assert torch.isfinite(h.grad).all()
    for p in m.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()


LOW = [torch.float16, torch.bfloat16]
LOW_TOL = {torch.float16: 2e-2, torch.bfloat16: 6e-2}


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_low_precision_functions_are_finite_and_accurate(dtype):
    B, C, T, A = 2, 6, 50, 8
    h = randn(B, C, T, seed=0, dtype=dtype)
    W, b = randn(A, C, seed=1, dtype=dtype) / 3, randn(A, seed=2, dtype=dtype) / 3
    for v in (randn(A, seed=3, dtype=dtype) / 3, randn(C, A, seed=4, dtype=dtype) / 3):
        e = attention_scores(h, W, b, v, 0.5)
        a = attention_weights(e, lengths=torch.tensor([T, 31]))
        mu, sigma = weighted_moments(h, a)
        for x in (e, a, mu, sigma):
            assert x.dtype == dtype and torch.isfinite(x).all()
        e64 = attention_scores(h.double(), W.double(), b.double(), v.double(), 0.5)
        a64 = attention_weights(e64, lengths=torch.tensor([T, 31]))
        mu64, sigma64 = ref_moments(h, a64)
        tol = LOW_TOL[dtype]
        torch.testing.assert_close(a.double(), a64, rtol=tol, atol=tol / T)
        torch.testing.assert_close(mu.double(), mu64, rtol=tol, atol=tol)
        torch.testing.assert_close(sigma.double(), sigma64, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_low_precision_sigma_when_squares_overflow_the_dtype(dtype):
    """h = 300 + 150 N(0,1): sums of squares pass float16's 65504; sigma is still finite."""
    B, C, T = 2, 4, 64
    h = (300 + 150 * randn(B, C, T, seed=0)).to(dtype)
    a = uniform_weights(B, T)
    mu, sigma = weighted_moments(h, a)
    assert torch.isfinite(mu).all() and torch.isfinite(sigma).all()
    ref_mu, ref_sigma = ref_moments(h, a)
    tol = LOW_TOL[dtype]
    torch.testing.assert_close(sigma.double(), ref_sigma, rtol=tol, atol=0)
    torch.testing.assert_close(StatisticsPooling()(h).double(), torch.cat([ref_mu, ref_sigma], 1),
                               rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_half_precision_weights_do_not_bias_the_moments(dtype):
    """Weights rounded to float16/bfloat16 miss a sum of one by ~1e-3; on a mean of 1e3
    that error would shift mu by ~1 and swamp a spread of 1: the moments must not show it."""
    B, C, T = 2, 4, 64
    h = (1e3 + randn(B, C, T, seed=0)).float()
    a = attention_weights(randn(B, T, seed=1)).to(dtype)
    assert float((a.double().sum(-1) - 1).abs().max()) > 1e-5  # the rounding is there
    a_normalised = a.double() / a.double().sum(-1, keepdim=True)
    ref_mu, ref_sigma = ref_moments(h, a_normalised)
    mu, sigma = weighted_moments(h, a)
    torch.testing.assert_close(mu.double(), ref_mu, rtol=1e-6, atol=0)
    torch.testing.assert_close(sigma.double(), ref_sigma, rtol=1e-3, atol=0)


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("mode,gc", VARIANTS + [("stats", False)], ids=VARIANT_IDS + ["stats"])
def test_low_precision_modules_are_finite_and_accurate(mode, gc, dtype):
    B, C, T = 2, 6, 40
    ref = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, sharpen=2.0)
    m = StatisticsPooling() if mode == "stats" else make_asp(C, mode, gc, sharpen=2.0).to(dtype)
    h = randn(B, C, T, seed=0, dtype=dtype)
    lengths = torch.tensor([T, 17])
    out = m(h, lengths=lengths)
    assert out.dtype == dtype and torch.isfinite(out).all()
    out64 = ref(h.double(), lengths=lengths)  # same rounded inputs, float64 arithmetic
    tol = LOW_TOL[dtype]
    torch.testing.assert_close(out.double(), out64, rtol=tol, atol=tol)
    if mode != "stats":
        _, alpha = m(h, lengths=lengths, return_attention=True)
        assert alpha.dtype == dtype and torch.isfinite(alpha).all()


# ------------------------------------------------------------- global context, scores


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds)
@pytest.mark.parametrize("mode", MODES)
def test_global_context_equals_explicit_concatenation(mode, B, C, T, seed):
    """W_h h_t + W_context [mu; sigma] equals W [h_t; mu; sigma] on the (B, 3C, T) tensor."""
    m = make_asp(C, mode, True, seed)
    h = randn(B, C, T, seed=seed) * 2 + 1
    mu = h.mean(-1, keepdim=True).expand(B, C, T)
    sd = h.std(-1, correction=0, keepdim=True).clamp(min=math.sqrt(pooling.VAR_FLOOR))
    joined = torch.cat([h, mu, sd.expand(B, C, T)], dim=1)  # (B, 3C, T)
    W_full = torch.cat([m.W, m.W_context], dim=1)  # (A, 3C)
    z = torch.relu(torch.einsum("ac,bct->bat", W_full, joined) + m.b[:, None])
    if mode == "scalar":
        e = torch.einsum("a,bat->bt", m.v, z) + m.k
    else:
        e = torch.einsum("oa,bat->bot", m.v, z) + m.k[:, None]
    alpha = torch.softmax(e, dim=-1)
    ref_mu, ref_sigma = ref_moments(h, alpha)
    pooled, got_alpha = m(h, return_attention=True)
    # (the module's context uses float32 uniform weights, so float32-level agreement)
    torch.testing.assert_close(got_alpha, alpha.detach(), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(pooled, torch.cat([ref_mu, ref_sigma], 1).detach(),
                               rtol=1e-6, atol=2e-6)


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, A=st.integers(1, 6))
@pytest.mark.parametrize("mode,gc", VARIANTS, ids=VARIANT_IDS)
def test_shapes(mode, gc, B, C, T, seed, A):
    m = AttentiveStatisticsPooling(C, A, mode=mode, global_context=gc).double()
    pooled, alpha = m(randn(B, C, T, seed=seed), return_attention=True)
    assert pooled.shape == (B, 2 * C)
    assert alpha.shape == ((B, T) if mode == "scalar" else (B, C, T))
    assert m(randn(B, C, T, seed=seed)).shape == (B, 2 * C)  # no tuple without the flag
    mu, sigma = weighted_moments(randn(B, C, T, seed=seed), alpha)
    assert mu.shape == sigma.shape == (B, C)


@SETTINGS
@given(B=batches, C=channels, T=frames, seed=seeds, A=st.integers(1, 6))
@pytest.mark.parametrize("mode", MODES)
def test_attention_scores_match_conv1d_layers(mode, B, C, T, seed, A):
    """e = Conv1d(A -> C_out, 1)(ReLU(Conv1d(C -> A, 1)(h))), with the weights copied."""
    torch.manual_seed(seed)
    out = 1 if mode == "scalar" else C
    conv1, conv2 = nn.Conv1d(C, A, 1).double(), nn.Conv1d(A, out, 1).double()
    h = randn(B, C, T, seed=seed)
    W, b = conv1.weight[:, :, 0], conv1.bias
    v = conv2.weight[0, :, 0] if mode == "scalar" else conv2.weight[:, :, 0]
    k = conv2.bias[0] if mode == "scalar" else conv2.bias
    expected = conv2(torch.relu(conv1(h)))
    if mode == "scalar":
        expected = expected[:, 0, :]
    e = attention_scores(h, W, b, v, k)
    assert e.shape == expected.shape
    torch.testing.assert_close(e, expected, rtol=1e-10, atol=1e-12)
    # and the module scores the same way once its parameters hold these weights
    m = AttentiveStatisticsPooling(C, A, mode=mode).double()
    with torch.no_grad():
        m.W.copy_(W)
        m.b.copy_(b)
        m.v.copy_(v)
        m.k.copy_(k)
    _, alpha = m(h, return_attention=True)
    torch.testing.assert_close(alpha, torch.softmax(expected, -1), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ errors

H = randn(2, 3, 5, seed=0, dtype=torch.float32)


def _with(value: float) -> torch.Tensor:
    h = H.clone()
    h[1, 2, 3] = value
    return h


ASP3 = AttentiveStatisticsPooling(3, 4)
ERRORS = {
    "stats 2-D h": (lambda: StatisticsPooling()(H[0]), r"3 dimensions"),
    "stats 4-D h": (lambda: StatisticsPooling()(H[None]), r"3 dimensions"),
    "asp 2-D h": (lambda: ASP3(H[0]), r"3 dimensions"),
    "moments 2-D h": (lambda: weighted_moments(H[0], torch.ones(2, 5) / 5), r"3 dimensions"),
    "scores 2-D h": (
        lambda: attention_scores(H[0], torch.ones(4, 3), torch.ones(4), torch.ones(4)),
        r"3 dimensions",
    ),
    "weights 1-D e": (lambda: attention_weights(torch.zeros(5)), r"\(B, T\) or \(B, C, T\)"),
    "lengths > T": (lambda: StatisticsPooling()(H, lengths=torch.tensor([5, 6])),
                    r"lengths\[1\]=6 exceeds T=5"),
    "lengths 0": (lambda: ASP3(H, lengths=torch.tensor([0, 5])),
                  r"lengths\[0\]=0.*at least one valid frame"),
    "lengths < 0": (lambda: attention_weights(torch.zeros(2, 5), lengths=torch.tensor([3, -1])),
                    r"lengths\[1\]=-1"),
    "lengths shape (1,)": (lambda: ASP3(H, lengths=torch.tensor([5])), r"shape \(B,\) = \(2,\)"),
    "lengths shape (2,1)": (lambda: StatisticsPooling()(H, lengths=torch.tensor([[5], [5]])),
                            r"shape \(B,\)"),
    "lengths float": (lambda: ASP3(H, lengths=torch.tensor([5.0, 4.0])), r"integer.*float"),
    "lengths float weights": (
        lambda: attention_weights(torch.zeros(2, 5), lengths=torch.tensor([5.0, 4.0])),
        r"integer",
    ),
    "h NaN stats": (
        lambda: StatisticsPooling()(_with(math.nan)), r"NaN or inf.*batch 1, channel 2, frame 3"
    ),
    "h inf asp": (lambda: ASP3(_with(math.inf)), r"NaN or inf"),
    "h -inf moments": (lambda: weighted_moments(_with(-math.inf), torch.ones(2, 5) / 5),
                       r"NaN or inf"),
    "h NaN scores": (
        lambda: attention_scores(_with(math.nan), torch.ones(4, 3), torch.ones(4), torch.ones(4)),
        r"NaN or inf",
    ),
    "e NaN": (lambda: attention_weights(torch.tensor([[0.0, math.nan]])), r"NaN"),
    "alpha (B, T') ": (lambda: weighted_moments(H, torch.ones(2, 4) / 4), r"does not match h"),
    "alpha (B', T)": (lambda: weighted_moments(H, torch.ones(3, 5) / 5), r"does not match h"),
    "alpha (B, C', T)": (lambda: weighted_moments(H, torch.ones(2, 4, 5) / 5),
                         r"does not match h"),
    "alpha 1-D": (lambda: weighted_moments(H, torch.ones(5) / 5), r"alpha must have shape"),
    "alpha negative": (
        lambda: weighted_moments(H, torch.tensor([[0.5, 0.5, 0, 0, 0], [1.5, -0.5, 0, 0, 0]])),
        r"negative",
    ),
    "alpha zero row": (lambda: weighted_moments(H, torch.zeros(2, 5)), r"sum to 0"),
    "module channels": (lambda: AttentiveStatisticsPooling(4, 8)(H),
                        r"3 channels.*channels=4"),
    "mode": (lambda: AttentiveStatisticsPooling(3, 4, mode="vector"),
             r'mode must be "scalar" or "channel".*vector'),
    "h integer": (lambda: StatisticsPooling()(torch.ones(2, 3, 5, dtype=torch.long)),
                  r"floating-point"),
}


@pytest.mark.parametrize("call,match", list(ERRORS.values()), ids=list(ERRORS))
def test_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------- the fast path equals the steps


@pytest.mark.parametrize("per_channel", [False, True], ids=["scalar", "channel"])
@pytest.mark.parametrize("with_context", [False, True], ids=["", "context"])
def test_fast_scores_equal_the_step_to_rounding(per_channel, with_context):
    """The layers' ``W h_t + b`` as a convolution (pooling.fast) is the step's einsum."""
    g = torch.Generator().manual_seed(0)
    B, C, T, A = 3, 24, 50, 8
    h = torch.randn(B, C, T, generator=g, dtype=torch.float64)
    W, b = torch.randn(A, C, generator=g, dtype=torch.float64), torch.randn(A, generator=g,
                                                                           dtype=torch.float64)
    v = torch.randn(*((C, A) if per_channel else (A,)), generator=g, dtype=torch.float64)
    k = torch.randn(C, generator=g, dtype=torch.float64) if per_channel else torch.tensor(0.3)
    context = torch.randn(B, A, generator=g, dtype=torch.float64) if with_context else None
    step = attention_scores(h, W, b, v, k, context=context)
    quick = pooling.fast.scores(h, W, b, v, k, torch.relu, context)
    assert step.shape == quick.shape
    torch.testing.assert_close(quick, step, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("per_channel", [False, True], ids=["scalar", "channel"])
def test_fast_moments_equal_the_step_values_and_gradients(per_channel):
    g = torch.Generator().manual_seed(1)
    B, C, T = 2, 16, 40
    h = (5 + torch.randn(B, C, T, generator=g, dtype=torch.float64)).requires_grad_(True)
    shape = (B, C, T) if per_channel else (B, T)
    a = torch.softmax(torch.randn(*shape, generator=g, dtype=torch.float64), -1)
    a.requires_grad_(True)
    outs = []
    for moments in (weighted_moments, pooling.fast.moments):
        mu, sigma = moments(h, a)
        grads = torch.autograd.grad((mu * 0.7 + sigma * 1.3).sum(), (h, a))
        outs.append((mu, sigma, *grads))
    # weighted_moments divides alpha by its sum, so its gradient for alpha is the fast one
    # less its alpha-weighted mean over time: the same on weights that sum to one.
    quick_a = outs[1][3]
    outs[1] = (*outs[1][:3], quick_a - (quick_a * a).sum(-1, keepdim=True))
    for step, quick in zip(*outs, strict=True):
        torch.testing.assert_close(quick, step, rtol=1e-10, atol=1e-10)
