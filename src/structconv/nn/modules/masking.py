"""``MaskModule``: multiply every channel by a disc- (ball-) shaped mask that fades out smoothly."""

from __future__ import annotations

import math

import numpy as np
import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._graphs import spatial_dim
from ._utils import check_field_type, check_input

__all__ = ["MaskModule"]


class MaskModule(EquivariantModule):
    """Multiply the input, pixel-wise, by a radial ``S x S`` mask (``S x S x S`` for fields in space).

    With :math:`r` the distance of a pixel (voxel) from the centre and
    :math:`r_0 = \\frac{S-1}{2}(1 - m/100)` (``margin`` :math:`m` in percent), the mask is

    .. math::
        M(r) = 1 \\text{ if } r \\le r_0, \\qquad M(r) = e^{(r_0^2 - r^2) / \\sigma^2} \\text{ otherwise}

    (e2cnn's and escnn's mask: a Gaussian fall-off in the squared radius, :math:`\\sigma = 2` by default),
    a disc on the plane and a ball in space (as escnn's 3D mask).

    It removes the corners that a rotation would move out of the grid, so rotated and non-rotated inputs
    carry the same information. The mask is radial, hence invariant, and the same for every channel.

    Args:
        in_type: the input field type (on a planar gspace or a gspace of space).
        S: the spatial size of the (square / cubic) inputs.
        margin: margin in percent of the radius, ``0 <= margin < 100``.
        sigma: width of the fall-off outside the disc (ball), ``> 0`` (escnn's argument).

    Shape:
        ``[B, C, S, S] -> [B, C, S, S]``; in space ``[B, C, S, S, S] -> [B, C, S, S, S]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, MaskModule
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.trivial_repr])
        >>> m = MaskModule(t, 9)
        >>> y = m(GeometricTensor(torch.ones(1, 1, 9, 9), t)).tensor
        >>> float(y[0, 0, 4, 4]), float(y[0, 0, 0, 0]) < 0.6
        (1.0, True)
    """

    #: defaults of modules pickled before the argument / volumes existed
    sigma = 2.0
    _dim = 2

    def __init__(self, in_type: FieldType, S: int, margin: float = 0.0, sigma: float = 2.0) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if isinstance(S, bool) or not isinstance(S, (int, np.integer)) or S < 1:
            raise ValueError(f"{name}: S={S!r} is not accepted; expected an int >= 1")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 100:
            raise ValueError(f"{name}: margin={margin!r} is not accepted; expected a number in [0, 100)")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma < math.inf:
            raise ValueError(f"{name}: sigma={sigma!r} is not accepted; expected a finite number > 0")
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.S = int(S)
        self.margin = float(margin)
        self.sigma = float(sigma)
        self._dim = spatial_dim(in_type)
        c = (self.S - 1) / 2.0
        r0 = c * (1.0 - self.margin / 100.0)
        coords = np.arange(self.S, dtype=np.float64) - c
        r2 = sum(np.meshgrid(*[coords**2] * self._dim, indexing="ij"))
        mask = np.where(r2 <= r0**2, 1.0, np.exp((r0**2 - r2) / self.sigma**2))
        self.register_buffer(
            "mask", torch.from_numpy(mask).to(torch.get_default_dtype())[None, None], persistent=False
        )

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Multiply every channel by the mask."""
        check_input(self, input)
        x = input.tensor
        expected = (self.S,) * self._dim
        if tuple(x.shape[2:]) != expected:
            raise ValueError(f"MaskModule: input has spatial shape {tuple(x.shape[2:])}; expected {expected}")
        return GeometricTensor(x * self.mask.to(x.dtype), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` after checking it is ``(B, C, S, S)`` (``(B, C, S, S, S)`` in space)."""
        input_shape = tuple(input_shape)
        expected = (self.S,) * self._dim
        if (
            len(input_shape) != 2 + self._dim
            or input_shape[1] != self.in_type.size
            or input_shape[2:] != expected
        ):
            sizes = ", ".join([str(self.S)] * self._dim)
            raise ValueError(
                f"MaskModule: input_shape={input_shape} is not accepted; "
                f"expected (B, {self.in_type.size}, {sizes})"
            )
        return input_shape

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` (eval mode): the input times a mask copy.

        The graph does not check the spatial size; an input that is not ``S x S`` fails to broadcast.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> m = MaskModule(t, 9, margin=10)
            >>> x = torch.randn(2, 4, 9, 9)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import Mask, to_graph

        return to_graph(Mask(self.mask), "MaskModuleGraph")

    def _equivariance_setup(self):
        # the mask has a fixed size: test on inputs of the mask's size S x S
        return self, self.in_type, self.out_type, {"spatial_size": self.S}

    def extra_repr(self) -> str:
        sigma = "" if self.sigma == 2.0 else f", sigma={self.sigma}"
        return f"{self.in_type}, S={self.S}, margin={self.margin}{sigma}"
