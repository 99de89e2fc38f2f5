"""The conventional CNN of the demo: three conv blocks, global average pooling and a linear head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ConventionalCNN"]


def _check_widths(name: str, value: Sequence[int], length: int) -> tuple[int, ...]:
    widths = tuple(value) if isinstance(value, (list, tuple)) else None
    if (
        widths is None
        or len(widths) != length
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
    ):
        raise ValueError(f"{name}={value!r} is not accepted; expected a sequence of {length} positive ints")
    return widths


class ConventionalCNN(nn.Module):
    """A small plain CNN for ``size x size`` single-channel images.

    Three blocks ``Conv2d -> BatchNorm2d -> ReLU`` with kernels 5, 5 and 3 ("same" padding); the first two
    blocks are followed by a ``3x3`` max pool of stride 2 (padding 1), then the feature maps are averaged
    over space and a linear layer gives the class logits. It has the same layout as
    :class:`~structconv.models.EquivariantCNN`, with ordinary convolutions and plain max pooling.

    Args:
        channels: output channels of the three conv blocks.
        num_classes: number of classes (logits).
        in_channels: channels of the input images.

    Shape:
        - Input: ``(N, in_channels, H, W)``
        - Output: ``(N, num_classes)``

    Example:
        >>> net = ConventionalCNN(channels=(4, 8, 8))
        >>> net(torch.zeros(2, 1, 29, 29)).shape
        torch.Size([2, 10])
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.channels = _check_widths("channels", channels, 3)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} is not accepted; expected a positive int")
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels={in_channels!r} is not accepted; expected a positive int")
        layers: list[nn.Module] = []
        prev = in_channels
        for i, (width, k) in enumerate(zip(self.channels, (5, 5, 3))):
            layers += [
                nn.Conv2d(prev, width, k, padding=k // 2, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
            ]
            if i < 2:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            prev = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class logits of a batch of images."""
        return self.head(self.features(x).mean(dim=(-2, -1)))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, num_classes={self.head.out_features}"
