"""The rotation-equivariant CNN of the demo, built from ``structconv.nn``'s steerable modules.

The network is ``R2Conv -> InnerBatchNorm -> ReLU`` three times on regular feature fields of a cyclic
(``C_N``) or dihedral (``D_N``) group, with anti-aliased point-wise max pooling (stride 2) after the first
two blocks, then ``GroupPooling`` (a max over each field's channels), a spatial mean and a linear head.
Every layer before the head commutes with the group's rotations (and reflections), so the logits are
invariant: exactly, up to float rounding, for rotations by multiples of 90 degrees (on odd image sizes),
and approximately for other angles (the anti-aliasing blur makes the pooling far less sensitive to
rotations that do not map the pixel grid onto itself).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import torch
from torch import nn

from structconv.models.cnn import _check_widths

__all__ = ["EquivariantCNN", "parse_group", "default_fields"]

_GROUP_RE = re.compile(r"^\s*([CcDd])\s*(\d+)\s*$")
_BASE_FIELDS = (8, 16, 32)


def parse_group(group: str) -> tuple[str, int]:
    """Split a group name such as ``"C8"`` or ``"D4"`` into its kind and order.

    Args:
        group: ``"C<N>"`` (rotations by multiples of ``360/N`` degrees) or ``"D<N>"`` (the same plus
            reflections), ``N >= 1``; case-insensitive.

    Returns:
        ``("C", N)`` or ``("D", N)``.

    Example:
        >>> parse_group("d8")
        ('D', 8)
    """
    match = _GROUP_RE.match(group) if isinstance(group, str) else None
    if match is None or int(match.group(2)) < 1:
        raise ValueError(f"group={group!r} is not accepted; expected 'C<N>' or 'D<N>' with N >= 1, e.g. 'C8'")
    return match.group(1).upper(), int(match.group(2))


def default_fields(group: str) -> tuple[int, int, int]:
    """Numbers of regular fields per block that keep the parameter count close to the C8 model's.

    The weights of a regular-to-regular steerable convolution scale like ``|G| * fields_in * fields_out``,
    so the fields scale like ``sqrt(8 / |G|)`` around ``(8, 16, 32)`` for ``C8``.

    Example:
        >>> default_fields("C8"), default_fields("C4")
        ((8, 16, 32), (11, 23, 45))
    """
    kind, n = parse_group(group)
    order = n * (2 if kind == "D" else 1)
    scale = math.sqrt(8.0 / order)
    return tuple(max(1, round(b * scale)) for b in _BASE_FIELDS)  # type: ignore[return-value]


def _make_gspace(gspaces: ModuleType, group: str) -> Any:
    kind, n = parse_group(group)
    return gspaces.FlipRot2dOnR2(n) if kind == "D" else gspaces.Rot2dOnR2(n)


def _build_features(
    gspaces: ModuleType, enn: ModuleType, group: str, fields: Sequence[int], in_channels: int
):
    """Build the equivariant trunk with the modules of ``enn`` (``structconv.nn`` or an API twin)."""
    space = _make_gspace(gspaces, group)
    in_type = enn.FieldType(space, [space.trivial_repr] * in_channels)
    layers = []
    prev = in_type
    for i, (num, k) in enumerate(zip(fields, (5, 5, 3))):
        out = enn.FieldType(space, [space.regular_repr] * num)
        layers += [
            enn.R2Conv(prev, out, k, padding=k // 2, bias=False),
            enn.InnerBatchNorm(out),
            enn.ReLU(out),
        ]
        if i < 2:
            layers.append(enn.PointwiseMaxPoolAntialiased(out, 3, stride=2, padding=1))
        prev = out
    layers.append(enn.GroupPooling(prev))
    return in_type, enn.SequentialModule(*layers)


class EquivariantCNN(nn.Module):
    """A small rotation-invariant classifier built with steerable convolutions.

    Takes and returns plain tensors, so it trains like any ``torch.nn`` model; the typed tensors live
    inside. :meth:`export` turns it into a plain :class:`torch.nn.Sequential` with the same outputs.

    Args:
        group: ``"C<N>"`` or ``"D<N>"`` (see :func:`parse_group`).
        fields: regular fields of the three blocks; default :func:`default_fields` of ``group``.
        num_classes: number of classes (logits).
        in_channels: channels of the input images (scalar fields).

    Shape:
        - Input: ``(N, in_channels, H, W)``; exact invariance to 90 degree turns needs ``H = W`` with
          ``H % 4 == 3`` (19, 23, 27, ...): each stride-2 pooling (e2cnn's padding) must see an odd size.
        - Output: ``(N, num_classes)``

    Example:
        >>> net = EquivariantCNN("C4", fields=(2, 2, 2)).eval()
        >>> x = torch.randn(1, 1, 19, 19)
        >>> bool(torch.allclose(net(x), net(torch.rot90(x, 1, (2, 3))), atol=1e-5))
        True
    """

    def __init__(
        self,
        group: str = "C8",
        fields: Sequence[int] | None = None,
        num_classes: int = 10,
        in_channels: int = 1,
    ):
        super().__init__()
        from structconv import gspaces
        from structconv import nn as enn

        self._setup(gspaces, enn, group, fields, num_classes, in_channels)

    def _setup(
        self,
        gspaces: ModuleType,
        enn: ModuleType,
        group: str,
        fields: Sequence[int] | None,
        num_classes: int,
        in_channels: int,
    ) -> None:
        parse_group(group)
        self.group = group.strip().upper()
        self.fields = default_fields(group) if fields is None else _check_widths("fields", fields, 3)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} is not accepted; expected a positive int")
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels={in_channels!r} is not accepted; expected a positive int")
        self._geometric_tensor = enn.GeometricTensor
        self.in_type, self.features = _build_features(gspaces, enn, self.group, self.fields, in_channels)
        self.head = nn.Linear(self.fields[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class logits of a batch of images."""
        y = self.features(self._geometric_tensor(x, self.in_type)).tensor
        return self.head(y.mean(dim=(-2, -1)))

    def export(self) -> nn.Sequential:
        """Return an equivalent plain ``torch.nn.Sequential`` in eval mode (this model is left unchanged).

        Example:
            >>> net = EquivariantCNN("C4", fields=(2, 2, 2)).eval()
            >>> x = torch.randn(2, 1, 19, 19)
            >>> bool(torch.allclose(net(x), net.export()(x), atol=1e-6))
            True
        """
        head = copy.deepcopy(self.head)  # a copy, not a new layer: export draws no random numbers
        return nn.Sequential(self.features.export(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1), head).eval()

    def extra_repr(self) -> str:
        return f"group={self.group}, fields={self.fields}, num_classes={self.head.out_features}"

    @classmethod
    def _with_modules(
        cls,
        gspaces: ModuleType,
        enn: ModuleType,
        group: str = "C8",
        fields: Sequence[int] | None = None,
        num_classes: int = 10,
        in_channels: int = 1,
    ) -> EquivariantCNN:
        """Build the same model from another implementation of the ``e2cnn.nn`` API (comparisons)."""
        obj = cls.__new__(cls)
        nn.Module.__init__(obj)
        obj._setup(gspaces, enn, group, fields, num_classes, in_channels)
        return obj
