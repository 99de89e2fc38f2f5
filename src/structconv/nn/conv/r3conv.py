r"""``R3Conv`` and ``R3ConvTransposed``: G-steerable convolutions on voxel grids (escnn's signatures).

The filter lives in the space of steerable kernels on :math:`\mathbb{R}^3`,
:math:`\kappa(g x) = \rho_\text{out}(g) \kappa(x) \rho_\text{in}(g)^{-1}`, spanned by Gaussian shells times
real spherical harmonics whose degrees and couplings the two fields fix (Weiler et al. 2018, "3D Steerable
CNNs: Learning Rotationally Equivariant Features in Volumetric Data"; Cesa, Lang, Weiler 2022, "A Program to
Build E(N)-Equivariant Steerable CNNs"); see :mod:`structconv.kernels.r3`. The layers share their whole
implementation with :class:`~structconv.nn.R2Conv` (:mod:`structconv.nn.conv._steerable`): the same basis
expansion, initialisation, bias, forward (:func:`torch.nn.functional.conv3d`) and export (to
:class:`torch.nn.Conv3d`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch  # noqa: F401 (doctest namespace)

from structconv.kernels.r3 import kernel_grid_r3
from structconv.nn.conv._steerable import _GridConv, _GridConvTransposed
from structconv.nn.conv.basisexpansion import r3_kernel_basis
from structconv.nn.typed.field_type import FieldType

__all__ = ["R3Conv", "R3ConvTransposed"]


class R3Conv(_GridConv):
    r"""G-steerable convolution on a voxel grid between two field types of a gspace of :math:`\mathbb{R}^3`.

    With :math:`\rho_\text{in}`, :math:`\rho_\text{out}` the representations of ``in_type`` and ``out_type``
    and :math:`G \subset O(3)` the gspace's fibre group, the filter satisfies

    .. math::
        \kappa(g x) = \rho_\text{out}(g)\, \kappa(x)\, \rho_\text{in}(g)^{-1}
        \qquad \forall g \in G,\ x \in \mathbb{R}^3,

    so the convolution commutes with :math:`\mathbb{R}^3 \rtimes G` (exactly for the rotations and
    reflections that map the voxel grid onto itself, up to discretisation for the others). The filter is
    ``Σ_d weights[d] · basis[d]`` over a complete basis of such kernels (:mod:`structconv.kernels.r3`), the
    same number of weights as escnn 1.0.11's ``R3Conv`` with the same arguments; the convolution is
    :func:`torch.nn.functional.conv3d`. As for :class:`~structconv.nn.R2Conv`, the filter is expanded from
    :attr:`weights` at every forward with autograd on, in train and eval mode, and reused with autograd off
    only while the weights, the bias and the basis are unchanged (see :attr:`filter`); :meth:`export`
    gives a plain :class:`torch.nn.Conv3d`.

    Args:
        in_type: type of the input field (a :class:`FieldType` of a ``GSpace3D``).
        out_type: type of the output field (same gspace).
        kernel_size: size of the cubic filter.
        padding: implicit padding (int or triple), or ``'same'`` / ``'valid'`` as for
            :class:`~structconv.nn.R2Conv`. Default: 0.
        stride: stride (int or triple). Default: 1.
        dilation: spacing between kernel elements. Default: 1.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``. Default: ``'zeros'``.
        groups: number of blocked connections; each type must be ``groups`` copies of one list of fields.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        sigma: width of each shell, or one float for all (default: 0.6, 0.4 for the last, 0.005 at radius 0).
        frequencies_cutoff: largest harmonic degree per shell radius: a callable, a float ``λ`` (degree
            ``≤ λ r``) or ``None`` (escnn's default, :class:`~structconv.kernels.r3.R3FrequencyCutoff`).
        rings: radii of the shells (default: ``ceil(k/2)`` shells up to ``(k-1)/2``, times ``dilation``).
        recompute: rebuild the sampled bases instead of reusing cached ones.
        basis_filter: callable on a basis element's attribute dict returning whether to keep it.
        initialize: initialise :attr:`weights` with :func:`~structconv.nn.init.generalized_he_init`.

    Attributes:
        weights: learnable expansion coefficients (1-D).
        bias: learnable bias of the trivial irreps of ``out_type`` (or ``None``).
        filter: the dense filter ``[c_out, c_in / groups, k, k, k]`` of the current weights (detached).
        expanded_bias: the expanded bias of the current weights (detached; ``None`` without bias).

    Shape:
        - input: ``(B, in_type.size, D, H, W)``
        - output: ``(B, out_type.size, D_out, H_out, W_out)`` with
          ``D_out = floor((D + 2·padding - dilation·(kernel_size - 1) - 1) / stride + 1)`` (and alike).

    Raises:
        TypeError: if the types are not :class:`FieldType` or ``bias`` is not a bool.
        ValueError: on any invalid argument, a planar gspace, or an empty kernel basis.

    Example:
        >>> from structconv.gspaces import rot3dOnR3
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = rot3dOnR3()
        >>> t = FieldType(gs, [gs.irrep(0), gs.irrep(1), gs.irrep(2)])
        >>> conv = R3Conv(t, t, kernel_size=5, padding=2)
        >>> conv.weights.numel()
        33
        >>> conv(GeometricTensor(torch.randn(2, 9, 8, 8, 8), t)).tensor.shape
        torch.Size([2, 9, 8, 8, 8])
    """

    _dimensionality = 3

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int, int] | str = 0,
        stride: int | tuple[int, int, int] = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
        groups: int = 1,
        bias: bool = True,
        sigma: float | list[float] | None = None,
        frequencies_cutoff: float | Callable[[float], float] | None = None,
        rings: list[float] | None = None,
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
            padding_mode,
            groups,
            bias,
            "blocks",
            recompute,
            basis_filter,
            initialize,
            basis_generator=r3_kernel_basis,
            basis_kwargs={"rings": rings, "sigma": sigma, "frequencies_cutoff": frequencies_cutoff},
            grid=kernel_grid_r3,
        )


class R3ConvTransposed(_GridConvTransposed):
    r"""Transposed G-steerable convolution on a voxel grid (e.g. for learnable upsampling).

    The weight ``W[c_in, c_out]`` read as a kernel from ``out_type`` to ``in_type`` is steerable,
    :math:`W(g x) = \rho_\text{in}(g) W(x) \rho_\text{out}(g)^{-1}`, which makes
    :func:`torch.nn.functional.conv_transpose3d` equivariant. As in escnn, the basis is sampled on the
    undilated ``k³`` grid and the convolution dilates it (the same number of weights as escnn's
    ``R3ConvTransposed``). Strided transposed convolutions can show checkerboard artefacts that hurt
    equivariance; :class:`~structconv.nn.R3Upsampling` followed by :class:`R3Conv` avoids them.

    Args:
        in_type: type of the input field (a :class:`FieldType` of a ``GSpace3D``).
        out_type: type of the output field (same gspace).
        kernel_size: size of the cubic filter.
        padding: ``dilation·(kernel_size-1) - padding`` zeros are added to both sides of the input (as
            :class:`torch.nn.ConvTranspose3d`). Default: 0.
        output_padding: extra size added to one side of the output. Default: 0.
        stride: stride. Default: 1.
        dilation: spacing between kernel elements. Default: 1.
        groups: number of blocked connections. Default: 1.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        sigma: shell widths, see :class:`R3Conv`.
        frequencies_cutoff: largest harmonic degree per radius, see :class:`R3Conv`.
        rings: shell radii, see :class:`R3Conv`.
        maximum_offset: accepted for escnn's signature; the volumetric bases have no aliased frequencies,
            so only ``None`` is accepted.
        recompute: rebuild the sampled bases instead of reusing cached ones.
        basis_filter: callable on a basis element's attribute dict returning whether to keep it.
        initialize: initialise the weights with :func:`~structconv.nn.init.generalized_he_init`.

    Shape:
        - input: ``(B, in_type.size, D, H, W)``
        - output: ``(B, out_type.size, D_out, H_out, W_out)`` with ``D_out = (D - 1)·stride - 2·padding +
          dilation·(kernel_size - 1) + output_padding + 1`` (and alike).

    Raises:
        ValueError: on any invalid argument (``maximum_offset`` other than ``None`` included).

    Example:
        >>> from structconv.gspaces import octaOnR3
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = octaOnR3()
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> up = R3ConvTransposed(t, t, 3, stride=2, padding=1, output_padding=1)
        >>> up(GeometricTensor(torch.randn(1, 24, 4, 4, 4), t)).tensor.shape
        torch.Size([1, 24, 8, 8, 8])
    """

    _dimensionality = 3

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int, int] = 0,
        output_padding: int | tuple[int, int, int] = 0,
        stride: int | tuple[int, int, int] = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        sigma: float | list[float] | None = None,
        frequencies_cutoff: float | Callable[[float], float] | None = None,
        rings: list[float] | None = None,
        maximum_offset: int | None = None,
        recompute: bool = False,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        initialize: bool = True,
    ) -> None:
        if maximum_offset is not None:
            raise ValueError(
                f"R3ConvTransposed: maximum_offset={maximum_offset!r} is not accepted; the volumetric kernel "
                "bases have no aliased frequencies to limit, expected None"
            )
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
            "blocks",
            recompute,
            basis_filter,
            initialize,
            basis_generator=r3_kernel_basis,
            basis_kwargs={"rings": rings, "sigma": sigma, "frequencies_cutoff": frequencies_cutoff},
            output_padding=output_padding,
            grid=kernel_grid_r3,
        )
