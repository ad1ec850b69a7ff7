"""The post's ASP block (asp_lab.blog.ASP) against asp_lab.pooling.

Where the post's one-pass variance is well conditioned the two agree; where
E[x^2] - mu^2 cancels (large mean, small spread, float32) the post's std is far off
and ours is not.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asp_lab.blog import ASP
from asp_lab.pooling import AttentiveStatisticsPooling


def pair(C: int, seed: int) -> tuple[ASP, AttentiveStatisticsPooling]:
    """The post's block and ours (channel mode, A = 128), with the same weights."""
    torch.manual_seed(seed)
    blog = ASP(C)
    ours = AttentiveStatisticsPooling(C, 128, mode="channel")
    conv1, conv2 = blog.attention[0], blog.attention[2]
    with torch.no_grad():
        ours.W.copy_(conv1.weight[:, :, 0])
        ours.b.copy_(conv1.bias)
        ours.v.copy_(conv2.weight[:, :, 0])
        ours.k.copy_(conv2.bias)
    return blog, ours


def ref_std(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted std in float64, two-pass, for (B, C, T) weights w."""
    x, w = x.double(), w.double()
    mu = (w * x).sum(-1, keepdim=True)
    return (w * (x - mu) ** 2).sum(-1).sqrt()


@settings(max_examples=25, deadline=None)
@given(
    B=st.integers(1, 3),
    C=st.integers(1, 8),
    T=st.integers(16, 40),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(0.5, 3.0),
    offset=st.floats(-3.0, 3.0),
)
def test_post_block_equals_channel_asp_on_well_conditioned_input(B, C, T, seed, scale, offset):
    blog, ours = pair(C, seed)
    g = torch.Generator().manual_seed(seed)
    x = offset + scale * torch.randn(B, C, T, generator=g)
    with torch.no_grad():
        expected = blog(x)
        got, alpha = ours(x, return_attention=True)
        w = blog.attention(x)
    # the post clamps the variance at 1e-5: these inputs stay far above that
    assert float(ref_std(x, w).min()) ** 2 > 1e-2
    assert got.shape == expected.shape == (B, 2 * C)
    torch.testing.assert_close(alpha, w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * scale)


def test_post_std_cancels_where_ours_does_not():
    """x = 1e4 + N(0, 1) in float32: E[x^2] - mu^2 loses the spread, two-pass keeps it."""
    B, C, T = 2, 8, 200
    blog, ours = pair(C, seed=0)
    g = torch.Generator().manual_seed(0)
    x = 1e4 + torch.randn(B, C, T, generator=g)
    with torch.no_grad():
        post = blog(x)
        w = blog.attention(x)
        got, alpha = ours(x, return_attention=True)
    # each against a float64 two-pass std under its own weights (the same up to rounding)
    post_err = ((post[:, C:].double() - ref_std(x, w)).abs() / ref_std(x, w)).max().item()
    our_err = ((got[:, C:].double() - ref_std(x, alpha)).abs() / ref_std(x, alpha)).max().item()
    # the means agree; only the std differs
    torch.testing.assert_close(got[:, :C], post[:, :C], rtol=1e-6, atol=1e-2)
    assert our_err < 1e-4
    assert post_err > 0.1
    assert post_err > 1000 * our_err
