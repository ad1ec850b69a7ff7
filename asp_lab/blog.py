"""The ASP block from the post this book starts from, kept as written.

Source: ``shared/seed/asp_blog_post.txt``. Two changes only: the indentation the post
lost is restored, and ``__main__`` no longer calls ``.cuda(0)`` unconditionally nor imports
the unmaintained ``torchsummary`` (it picks a device and prints shapes and a parameter
count instead). Everything the book examines is untouched: the channel-wise scores
(``Conv1d`` to ``in_channels`` outputs, one weight per frame and channel, where the post's
prose speaks of one scalar per frame), no batch norm (which its prose mentions), no
masking of padded frames, and the one-pass standard deviation
``sqrt(sum(w x^2) - mu^2)`` clamped at 1e-5, which cancels catastrophically when the mean
is large against the spread (chapter 4).

Compare with :class:`asp_lab.pooling.AttentiveStatisticsPooling` in ``mode="channel"``.
"""

import torch
import torch.nn as nn


class ASP(nn.Module):
    def __init__(self, in_channels):
        super(ASP, self).__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(in_channels=in_channels, out_channels=128, kernel_size=1),
            nn.ReLU(),
            nn.Conv1d(in_channels=128, out_channels=in_channels, kernel_size=1),
            nn.Softmax(dim=2)
        )

    def forward(self, x):
        w = self.attention(x)
        w_mean = torch.sum(x * w, dim=2)
        w_std = torch.sqrt(( torch.sum((x**2) * w, dim=2) - w_mean**2 ).clamp(min=1e-5))
        x = torch.cat((w_mean, w_std), dim = 1)
        return x


if __name__ == "__main__":
    device = "cuda" if torch.cuda.is_available() else "cpu"  # the post: .cuda(0)
    model = ASP(10).to(device)
    x = torch.randn(2, 10, 20, device=device)  # the post: summary(model, (10, 20))
    print(model)
    print("input", tuple(x.shape), "-> output", tuple(model(x).shape))
    print("parameters:", sum(p.numel() for p in model.parameters()))
