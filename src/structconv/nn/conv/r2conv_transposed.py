r"""``R2ConvTransposed``: transposed G-steerable planar convolution.

A transposed convolution with weight ``W[c_in, c_out]`` is equivariant when ``W``, read as a kernel from
the output type to the input type, is steerable: ``W(g·x) = ρ_in(g) W(x) ρ_out(g)⁻¹``.  The filter is
therefore expanded in the steerable basis from ``out_type`` to ``in_type`` and passed to
:func:`torch.nn.functional.conv_transpose2d`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from structconv.nn.conv._steerable import _GridConvTransposed
from structconv.nn.conv.basisexpansion import r2_kernel_basis
from structconv.nn.typed.field_type import FieldType

__all__ = ["R2ConvTransposed"]


class R2ConvTransposed(_GridConvTransposed):
    r"""Transposed G-steerable planar convolution (e.g. for learnable upsampling).

    The filter satisfies :math:`W(g \cdot x) = \rho_\text{in}(g) W(x) \rho_\text{out}(g)^{-1}` (a steerable
    kernel from ``out_type`` to ``in_type``), which makes the transposed convolution equivariant.  Like
    :class:`~structconv.nn.R2Conv` it expands the filter from the current weights at every forward with
    autograd on, and reuses it with autograd off only while the weights are unchanged in value.
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
