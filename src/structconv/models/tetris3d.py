r"""The networks of the 3D demo (``structconv demo --3d``): 3D Tetris volumes to class logits.

Four classifiers of ``(N, 1, D, H, W)`` volumes with about the same number of parameters:

- :class:`~structconv.data.Conv3dBaseline`: a plain ``Conv3d`` CNN (re-exported here);
- :class:`OctaTetrisNet`: steerable convolutions (:class:`~structconv.nn.R3Conv`) on regular fields of the
  octahedral group (the 24 rotations of the cube), point-wise ELU, ``GroupPooling`` at the end;
- :class:`SO3TetrisNet`: steerable convolutions on fields of SO(3) (scalars, vectors, rank-2 tensors:
  the irreps of degree 0, 1 and 2) with gated non-linearities (Weiler et al. 2018), a last convolution
  to scalar fields and a two-layer head;
- :class:`O3TetrisNet`: the same on O(3) (rotations *and* reflections): it is invariant to mirror images, so
  it cannot tell the two chiral shapes apart (they are mirror images of one another).

Every layer before the head commutes with the rotations of the gspace, and the head is a spatial mean of
invariant fields followed by a :class:`torch.nn.Linear` (a small MLP for SO(3) and O(3)), so the logits of
the equivariant models are invariant to the 24 rotations of the voxel grid up to float rounding on grids of
a side ``4k + 1`` (9, 13, 17, ...: each anti-aliased pooling with stride 2 then samples a grid that keeps
its centre; the SO(3) and O(3) models pool once, so any odd side will do) and
approximately invariant to other rotations (the filters are smooth, the poolings blur before they
subsample, the volumes are blurred). Each model's :meth:`export` returns plain
``torch.nn`` modules with the same logits.

Example:
    >>> from structconv.models.tetris3d import OctaTetrisNet
    >>> net = OctaTetrisNet(fields=(1, 1, 1)).eval()
    >>> x = torch.randn(1, 1, 9, 9, 9)
    >>> turned = torch.rot90(x, 1, dims=(-2, -1))  # a quarter turn about the z axis: a grid rotation
    >>> bool(torch.allclose(net(x), net(turned), atol=1e-5))
    True
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from structconv.data.tetris3d import Conv3dBaseline

__all__ = ["Conv3dBaseline", "OctaTetrisNet", "SO3TetrisNet", "O3TetrisNet", "TETRIS3D_MODELS"]

#: irrep multiplicities ``(scalars, vectors, rank-2 tensors)`` of the two gated blocks of the SO(3) and O(3)
#: models, the scalar fields of their last block and the width of their head's hidden layer: about 42k
#: parameters (most of them in the head, where they cost no time), close to the baseline's 39.8k
_SO3_BLOCKS = ((8, 4, 2), (16, 8, 4))
_SO3_LAST = 128
_O3_BLOCKS = ((8, 4, 2), (16, 8, 4))
_O3_LAST = 128
_HIDDEN = 256
#: regular fields of the three blocks of the octahedral model (a regular field has 24 channels)
_OCTA_FIELDS = (2, 6, 24)
#: standard deviation (voxels) of the Gaussian blur of the anti-aliased poolings
_POOL_SIGMA = 0.6


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r} is not accepted; expected an int >= {minimum}")
    return value


def _check_blocks(name: str, value: Any) -> tuple[tuple[int, int, int], ...]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2
    blocks = []
    if ok:
        for b in value:
            if (
                not isinstance(b, (list, tuple))
                or len(b) != 3
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in b)
                or sum(b) == 0
            ):
                ok = False
                break
            blocks.append(tuple(b))
    if not ok:
        raise ValueError(
            f"{name}={value!r} is not accepted; expected two triples (scalars, vectors, rank-2 tensors) of "
            "ints >= 0, each with at least one field, e.g. ((8, 4, 2), (16, 8, 4))"
        )
    return tuple(blocks)  # type: ignore[return-value]


class _InvariantVolumeNet(nn.Module):
    """Shared plumbing: an equivariant trunk ending in invariant fields, a spatial mean and a linear head."""

    in_type: Any
    features: Any
    head: nn.Module

    def _setup_io(self, num_classes: int, in_channels: int) -> None:
        self.num_classes = _check_count("num_classes", num_classes)
        self.in_channels = _check_count("in_channels", in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class logits of a batch of ``(N, in_channels, D, H, W)`` volumes."""
        from structconv.nn import GeometricTensor

        if x.ndim != 5 or x.shape[1] != self.in_channels or min(x.shape[-3:]) < 4:
            raise ValueError(
                f"input has shape {tuple(x.shape)}; expected (N, {self.in_channels}, D, H, W) "
                "with D, H, W >= 4"
            )
        y = self.features(GeometricTensor(x, self.in_type)).tensor
        return self.head(y.mean(dim=(-3, -2, -1)))

    def export(self) -> nn.Sequential:
        """Return an equivalent plain ``torch.nn.Sequential`` in eval mode (this model is left unchanged).

        The trunk is exported layer by layer (each equivariant layer's own ``export()``: ``Conv3d`` with
        the expanded filters, batch norms, non-linearities), followed by ``AdaptiveAvgPool3d(1)``,
        ``Flatten`` and a copy of the head; the result holds torch classes only.
        """
        head = copy.deepcopy(self.head)  # a copy, not a new layer: export draws no random numbers
        was_training = self.training
        self.eval()
        try:
            trunk = self.features.export()
        finally:
            self.train(was_training)
        return nn.Sequential(trunk, nn.AdaptiveAvgPool3d(1), nn.Flatten(1), head).eval()


class OctaTetrisNet(_InvariantVolumeNet):
    r"""A classifier invariant to the 24 rotations of the cube: regular fields of the octahedral group.

    Three blocks ``R3Conv -> InnerBatchNorm -> ELU`` on regular fields (24 channels
    each, one per rotation of the cube; a point-wise non-linearity commutes with the permutations of a
    regular field), an anti-aliased average pooling (Gaussian blur of 0.6 voxels, stride 2) after the first
    two, ``GroupPooling`` (the largest
    channel of each field: invariant), a spatial mean and a linear head. With the default
    ``fields=(2, 6, 24)`` it has 37,742 parameters (the ``Conv3dBaseline`` has 39,764); on ``17^3`` volumes
    the feature maps are ``48 × 17^3 -> 144 × 9^3 -> 576 × 5^3``. The first convolution has kernel 5 (it
    reads the one-channel input: richer filters for little time), the others kernel 3.

    Args:
        fields: regular fields of the three blocks.
        num_classes: number of classes (logits).
        in_channels: channels of the input volumes (scalar fields).

    Shape:
        - Input: ``(N, in_channels, D, H, W)`` with ``D, H, W >= 4``; exact invariance to the grid
          rotations needs ``D = H = W = 4k + 1`` (each pooling by 2 then keeps the grid's centre).
        - Output: ``(N, num_classes)``

    Example:
        >>> net = OctaTetrisNet(fields=(1, 1, 1))
        >>> net(torch.zeros(2, 1, 9, 9, 9)).shape
        torch.Size([2, 8])
    """

    def __init__(
        self, fields: Sequence[int] = _OCTA_FIELDS, num_classes: int = 8, in_channels: int = 1
    ) -> None:
        super().__init__()
        from structconv import gspaces
        from structconv import nn as enn

        self._setup_io(num_classes, in_channels)
        if not (isinstance(fields, (list, tuple)) and len(fields) == 3):
            raise ValueError(f"fields={fields!r} is not accepted; expected a sequence of 3 positive ints")
        self.fields = tuple(_check_count("fields", f) for f in fields)
        gs = gspaces.octaOnR3()
        self.in_type = enn.FieldType(gs, [gs.trivial_repr] * self.in_channels)
        layers: list[Any] = []
        prev = self.in_type
        for i, n in enumerate(self.fields):
            out = enn.FieldType(gs, [gs.regular_repr] * n)
            k = 5 if i == 0 else 3  # richer filters on the input (cheap: it has one channel)
            layers += [
                enn.R3Conv(prev, out, k, padding=k // 2, bias=False),
                enn.InnerBatchNorm(out),
                enn.ELU(out),
            ]
            if i < 2:
                layers.append(enn.PointwiseAvgPoolAntialiased3D(out, sigma=_POOL_SIGMA, stride=2))
            prev = out
        layers.append(enn.GroupPooling(prev))
        self.features = enn.SequentialModule(*layers)
        self.head = nn.Linear(self.fields[-1], self.num_classes)

    def extra_repr(self) -> str:
        return f"group=octahedral, fields={self.fields}, num_classes={self.num_classes}"


def _gated_trunk(gs: Any, enn: Any, in_type: Any, blocks: Sequence[Sequence[Any]], last: int) -> Any:
    """Two gated blocks (an anti-aliased average pooling with stride 2 after the first) and a last block
    to ``last`` scalar fields.

    ``blocks[i]`` lists the representations of block ``i``'s fields. A block is ``R3Conv(kernel 5, then 3) ->
    GNormBatchNorm -> GatedNonLinearity1``: the convolution also outputs one scalar gate per field, and each
    field (scalars included) is multiplied by the sigmoid of its gate. The last block is ``R3Conv(kernel 3)
    -> InnerBatchNorm -> ELU`` on trivial fields, which are invariant. One pooling only: the last two
    convolutions see the volume at half resolution, not a quarter, which keeps the features smooth enough
    on the grid to be nearly invariant to rotations off the grid too.
    """
    layers: list[Any] = []
    prev = in_type
    for i, reps in enumerate(blocks):
        gates = enn.FieldType(gs, [gs.trivial_repr] * len(reps))
        gated = enn.FieldType(gs, list(reps))
        conv_out = gates + gated
        k = 5 if i == 0 else 3  # richer filters on the input (cheap: it has one channel)
        layers += [
            enn.R3Conv(prev, conv_out, k, padding=k // 2, bias=False),
            enn.GNormBatchNorm(conv_out),
            enn.GatedNonLinearity1(conv_out, gates=["gate"] * len(gates) + ["gated"] * len(gated)),
        ]
        if i == 0:
            layers.append(enn.PointwiseAvgPoolAntialiased3D(gated, sigma=_POOL_SIGMA, stride=2))
        prev = gated
    scalars = enn.FieldType(gs, [gs.trivial_repr] * last)
    layers += [
        enn.R3Conv(prev, scalars, 3, padding=1, bias=False),
        enn.InnerBatchNorm(scalars),
        enn.ELU(scalars),
    ]
    return enn.SequentialModule(*layers)


def _mlp_head(features: int, hidden: int, num_classes: int) -> nn.Module:
    """``Linear -> ELU -> Linear`` on the invariant features (``hidden == 0``: one ``Linear``)."""
    if hidden == 0:
        return nn.Linear(features, num_classes)
    return nn.Sequential(nn.Linear(features, hidden), nn.ELU(), nn.Linear(hidden, num_classes))


class _GatedTetrisNet(_InvariantVolumeNet):
    """The SO(3) and O(3) models: :func:`_gated_trunk` on the gspace's fields of degree 0, 1 and 2."""

    _group = ""

    def __init__(
        self,
        blocks: Sequence[Sequence[int]],
        last: int,
        hidden: int,
        num_classes: int,
        in_channels: int,
    ) -> None:
        super().__init__()
        from structconv import nn as enn

        self._setup_io(num_classes, in_channels)
        self.blocks = _check_blocks("blocks", blocks)
        self.last = _check_count("last", last)
        self.hidden = _check_count("hidden", hidden, minimum=0)
        gs = self._gspace()
        self.in_type = enn.FieldType(gs, [gs.trivial_repr] * self.in_channels)
        irreps = self._irreps(gs)
        reps = [[irreps[j] for j, n in enumerate(b) for _ in range(n)] for b in self.blocks]
        self.features = _gated_trunk(gs, enn, self.in_type, reps, self.last)
        self.head = _mlp_head(self.last, self.hidden, self.num_classes)

    def _gspace(self) -> Any:
        raise NotImplementedError

    def _irreps(self, gs: Any) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"group={self._group}, blocks={self.blocks}, last={self.last}, hidden={self.hidden}, "
            f"num_classes={self.num_classes}"
        )


class SO3TetrisNet(_GatedTetrisNet):
    r"""A classifier invariant to every rotation (SO(3)): steerable fields of degree 0, 1 and 2.

    Two gated blocks, each ``R3Conv -> GNormBatchNorm -> GatedNonLinearity1`` on ``(scalars, vectors,
    rank-2 tensors)`` fields (irreps of degree 0, 1, 2: 1, 3 and 5 channels), each field gated by the
    sigmoid of a scalar of its own, with an anti-aliased average pooling (stride 2) after the first; then
    ``R3Conv -> InnerBatchNorm -> ELU`` to ``last`` scalar fields (invariant), a spatial mean and an MLP
    head (``Linear -> ELU -> Linear``). The filters are Gaussian shells times spherical harmonics, exactly
    steerable for the grid rotations; other rotations are approximately respected (sampling). Defaults:
    ``blocks=((8, 4, 2), (16, 8, 4))``, ``last=128``, ``hidden=256``: 42,526 parameters (the
    ``Conv3dBaseline`` has 39,764); on ``17^3`` volumes the feature maps are ``30 × 17^3 -> 60 × 9^3 -> 128
    × 9^3``. The first convolution has kernel 5, the others kernel 3.

    Args:
        blocks: ``(scalars, vectors, rank-2 tensors)`` of the two gated blocks.
        last: scalar fields of the last block (the invariant features the head sees).
        hidden: width of the head's hidden layer (``0``: the head is one ``Linear``).
        num_classes: number of classes (logits).
        in_channels: channels of the input volumes (scalar fields).

    Shape:
        - Input: ``(N, in_channels, D, H, W)`` with ``D, H, W >= 4``; exact invariance to the grid
          rotations needs odd ``D = H = W`` (the pooling by 2 then keeps the grid's centre).
        - Output: ``(N, num_classes)``

    Example:
        >>> net = SO3TetrisNet(blocks=((1, 1, 1), (1, 1, 1)), last=2, hidden=4)
        >>> net(torch.zeros(2, 1, 9, 9, 9)).shape
        torch.Size([2, 8])
    """

    _group = "SO(3)"

    def __init__(
        self,
        blocks: Sequence[Sequence[int]] = _SO3_BLOCKS,
        last: int = _SO3_LAST,
        hidden: int = _HIDDEN,
        num_classes: int = 8,
        in_channels: int = 1,
    ) -> None:
        super().__init__(blocks, last, hidden, num_classes, in_channels)

    def _gspace(self) -> Any:
        from structconv import gspaces

        return gspaces.rot3dOnR3()

    def _irreps(self, gs: Any) -> tuple[Any, Any, Any]:
        return (gs.irrep(0), gs.irrep(1), gs.irrep(2))


class O3TetrisNet(_GatedTetrisNet):
    r"""A classifier invariant to every rotation and reflection (O(3)): it cannot separate mirror images.

    :class:`SO3TetrisNet` on O(3): the fields are scalars, vectors (odd: they flip under the inversion
    ``x -> -x``) and even rank-2 tensors (O(3) irreps ``(0, 0)``, ``(1, 1)`` and ``(0, 2)``), the last block
    maps to O(3)-invariant scalars. A mirror image of a volume therefore gets exactly the logits of the
    volume: the two chiral Tetris shapes, mirror images of one another, always get the same prediction.
    Defaults: ``blocks=((8, 4, 2), (16, 8, 4))``, ``last=128``, ``hidden=256``: 42,454 parameters.

    Args:
        blocks: ``(scalars, vectors, rank-2 tensors)`` of the two gated blocks.
        last: scalar fields of the last block.
        hidden: width of the head's hidden layer (``0``: the head is one ``Linear``).
        num_classes: number of classes (logits).
        in_channels: channels of the input volumes (scalar fields).

    Shape:
        - Input: ``(N, in_channels, D, H, W)`` with ``D, H, W >= 4``.
        - Output: ``(N, num_classes)``

    Example:
        >>> net = O3TetrisNet(blocks=((1, 1, 1), (1, 1, 1)), last=2, hidden=0).eval()
        >>> x = torch.randn(1, 1, 9, 9, 9)
        >>> bool(torch.allclose(net(x), net(torch.flip(x, dims=(-1,))), atol=1e-5))  # a mirror image
        True
    """

    _group = "O(3)"

    def __init__(
        self,
        blocks: Sequence[Sequence[int]] = _O3_BLOCKS,
        last: int = _O3_LAST,
        hidden: int = _HIDDEN,
        num_classes: int = 8,
        in_channels: int = 1,
    ) -> None:
        super().__init__(blocks, last, hidden, num_classes, in_channels)

    def _gspace(self) -> Any:
        from structconv import gspaces

        return gspaces.flipRot3dOnR3()

    def _irreps(self, gs: Any) -> tuple[Any, Any, Any]:
        return (gs.irrep(0, 0), gs.irrep(1, 1), gs.irrep(0, 2))


#: the models of the 3D demo by short name, in the order they are trained
TETRIS3D_MODELS: dict[str, type[nn.Module]] = {
    "cnn": Conv3dBaseline,
    "octa": OctaTetrisNet,
    "so3": SO3TetrisNet,
    "o3": O3TetrisNet,
}
