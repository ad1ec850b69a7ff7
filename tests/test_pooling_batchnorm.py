"""Batch norm inside the attention (the post's prose, Okabe et al.): padding changes nothing
in training mode too, because the norm's batch statistics use the valid frames only."""

import torch

from asp_lab.pooling import AttentiveStatisticsPooling


def test_padding_changes_nothing_with_batch_norm_in_training_mode():
    torch.manual_seed(0)
    pool = AttentiveStatisticsPooling(4, 3, batch_norm=True).train()
    h = torch.randn(2, 4, 6)
    padded = torch.cat([h, torch.full((2, 4, 4), 100.0)], dim=-1)
    out = pool(h)
    out_padded = pool(padded, lengths=torch.tensor([6, 6]))
    torch.testing.assert_close(out_padded, out)


def test_batch_norm_statistics_follow_the_valid_frames_of_each_row():
    torch.manual_seed(1)
    pool = AttentiveStatisticsPooling(4, 3, mode="channel", batch_norm=True).train()
    a, b = torch.randn(1, 4, 5), torch.randn(1, 4, 3)
    batch = torch.zeros(2, 4, 5)
    batch[0], batch[1, :, :3] = a[0], b[0]
    batch[1, :, 3:] = -50.0
    # the same frames, stacked without padding: one row of 8 frames has the same BN batch
    pooled, alpha = pool(batch, lengths=[5, 3], return_attention=True)
    assert torch.all(alpha[1, :, 3:] == 0)
    assert torch.isfinite(pooled).all()
    # BN over valid frames = BN over the concatenation of the valid frames
    z = torch.relu(torch.matmul(pool.W, torch.cat([a, b], dim=-1)) + pool.b[:, None])
    mean = z.mean(dim=(0, 2))
    frames = torch.relu(torch.matmul(pool.W, batch) + pool.b[:, None]).transpose(1, 2)
    out = pool.f(frames.transpose(1, 2), torch.tensor([[True] * 5, [True] * 3 + [False] * 2]))
    valid_out = torch.cat([out[0], out[1, :, :3]], dim=-1)
    torch.testing.assert_close(valid_out.mean(dim=-1), torch.zeros_like(mean), atol=1e-5, rtol=0)


def test_half_input_to_a_float32_module_names_both_dtypes():
    import pytest

    pool = AttentiveStatisticsPooling(4, 3)
    with pytest.raises(ValueError, match="h is torch.float16 but this pooling's parameters"):
        pool(torch.randn(1, 4, 6).half())
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast casts per operation: allowed
        assert torch.isfinite(pool(torch.randn(1, 4, 6).bfloat16())).all()
