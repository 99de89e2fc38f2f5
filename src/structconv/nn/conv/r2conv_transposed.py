r"""``R2ConvTransposed``: transposed G-steerable planar convolution.

A transposed convolution with weight ``W[c_in, c_out]`` is equivariant when ``W``, read as a kernel from
the output type to the input type, is steerable: ``W(g·x) = ρ_in(g) W(x) ρ_out(g)⁻¹``.  The filter is
therefore expanded in the steerable basis from ``out_type`` to ``in_type`` and passed to
:func:`torch.nn.functional.conv_transpose2d`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from structconv.nn.conv.basisexpansion import r2_kernel_basis
from structconv.nn.conv.r2conv import _SteerableConv
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

__all__ = ["R2ConvTransposed"]


class R2ConvTransposed(_SteerableConv):
    r"""Transposed G-steerable planar convolution (e.g. for learnable upsampling).

    The filter satisfies :math:`W(g \cdot x) = \rho_\text{in}(g) W(x) \rho_\text{out}(g)^{-1}` (a steerable
    kernel from ``out_type`` to ``in_type``), which makes the transposed convolution equivariant.  Like
    :class:`~structconv.nn.R2Conv` it expands the filter from the current weights at every forward.
    Transposed convolutions with ``stride > 1`` can show checkerboard artefacts that hurt
    equivariance; :class:`R2Upsampling` followed by :class:`~structconv.nn.R2Conv` avoids them.

    Args:
        in_type: type of the input field.
        out_type: type of the output field.
        kernel_size: size of the square filter.
        padding: ``dilation·(kernel_size-1) - padding`` zeros are added to both sides of the input
            (as :class:`torch.nn.ConvTranspose2d`). Default: 0.
        output_padding: extra size added to one side of the output. Default: 0.
        stride: stride of the convolution. Default: 1.
        dilation: spacing between kernel elements. Default: 1. The basis is sampled on the undilated
            ``k x k`` grid (rings at radii up to ``(k-1)//2``) and the filter is then dilated by the
            convolution, as in the reference library (same number of parameters).
        groups: number of blocked connections (types made of ``groups`` equal copies). Default: 1.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        basisexpansion: the basis expansion algorithm; only ``'blocks'``.
        sigma: ring widths, see :class:`~structconv.nn.R2Conv`.
        frequencies_cutoff: maximum frequency per radius, see :class:`~structconv.nn.R2Conv`.
        rings: ring radii, see :class:`~structconv.nn.R2Conv`.
        maximum_offset: aliased frequencies for finite groups, see :class:`~structconv.nn.R2Conv`.
        recompute: rebuild the sampled bases instead of reusing cached ones.
        basis_filter: callable on a basis element's attribute dict returning whether to keep it.
        initialize: initialise the weights with :func:`~structconv.nn.init.generalized_he_init`.

    Shape:
        - input: ``(B, in_type.size, H, W)``
        - output: ``(B, out_type.size, H_out, W_out)`` with ``H_out = (H - 1)·stride - 2·padding +
          dilation·(kernel_size - 1) + output_padding + 1``.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr] * 2)
        >>> up = R2ConvTransposed(t, t, 3, stride=2, padding=1, output_padding=1)
        >>> up(GeometricTensor(torch.randn(1, 8, 5, 5), t)).tensor.shape
        torch.Size([1, 8, 10, 10])
    """

    _transposed = True

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        basisexpansion: str = "blocks",
        sigma: float | list[float] | None = None,
        frequencies_cutoff: float | Callable[[float], float] | None = None,
        rings: list[float] | None = None,
        maximum_offset: int | None = None,
        recompute: bool = False,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        initialize: bool = True,
    ) -> None:
        super().__init__(
            in_type,
            out_type,
            kernel_size,
            padding,
            stride,
            dilation,
            "zeros",
            groups,
            bias,
            basisexpansion,
            recompute,
            basis_filter,
            initialize,
            basis_generator=r2_kernel_basis,
            basis_kwargs={
                "rings": rings,
                "sigma": sigma,
                "frequencies_cutoff": frequencies_cutoff,
                "maximum_offset": maximum_offset,
            },
            output_padding=output_padding,
        )

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the transposed convolution with the expanded filter and add the expanded bias.

        Args:
            input: a :class:`GeometricTensor` of type :attr:`in_type`.

        Returns:
            a :class:`GeometricTensor` of type :attr:`out_type`.
        """
        x = self._check_input(input)
        filt, bias = self._filter_and_bias()
        out = F.conv_transpose2d(
            x, filt, bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
        )
        return GeometricTensor(out, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, in_type.size, H, W)``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> R2ConvTransposed(t, t, 3, stride=2).evaluate_output_shape((1, 4, 5, 6))
            (1, 4, 11, 13)
        """
        if len(input_shape) != 4 or input_shape[1] != self.in_type.size:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is not valid; expected (B, {self.in_type.size}, H, W)"
            )
        b, _, h, w = input_shape
        if min(h, w) < 1:
            raise ValueError(f"input_shape={tuple(input_shape)} is not valid; expected H >= 1 and W >= 1")
        size = [
            (n - 1) * s - 2 * p + self.dilation * (self.kernel_size - 1) + op + 1
            for n, p, s, op in zip((h, w), self.padding, self.stride, self.output_padding)
        ]
        if min(size) < 1:
            raise ValueError(
                f"input_shape={tuple(input_shape)} gives an empty output {tuple(size)} with padding="
                f"{self.padding}; expected an input whose output is at least 1 x 1"
            )
        return (b, self.out_type.size, size[0], size[1])

    def export(self) -> torch.nn.ConvTranspose2d:
        """Export to an equivalent :class:`torch.nn.ConvTranspose2d` in eval mode (this module is unchanged).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> up = R2ConvTransposed(t, t, 3, stride=2, output_padding=1)
            >>> x = torch.randn(1, 4, 5, 5)
            >>> torch.allclose(up.export()(x), up(GeometricTensor(x, t)).tensor, atol=1e-6)
            True
        """
        with torch.no_grad():
            filt, bias = self.expand_parameters()
        conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            torch.nn.ConvTranspose2d,
            self.in_type.size,
            self.out_type.size,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            bias=bias is not None,
            dilation=self.dilation,
            device=filt.device,
            dtype=filt.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(filt)
            if bias is not None:
                conv.bias.copy_(bias)
        return conv.eval()
