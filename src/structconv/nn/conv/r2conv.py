r"""``R2Conv``: G-steerable convolution on the plane.

The filter of an :class:`R2Conv` lives in the space of steerable kernels
``κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹``; it is the contraction of the learnable ``weights`` with the sampled
basis of :mod:`structconv.kernels` (see :class:`~structconv.nn.conv.basisexpansion.BlocksBasisExpansion`),
followed by an ordinary :func:`torch.nn.functional.conv2d`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch  # noqa: F401 (doctest namespace)

from structconv.nn.conv._steerable import MAX_KERNEL_SIZE, _GridConv, _SteerableConv
from structconv.nn.conv.basisexpansion import r2_kernel_basis
from structconv.nn.typed.field_type import FieldType

__all__ = ["R2Conv"]

# the shared base class and limit stay importable from here (structconv.nn.conv.r2conv.MAX_KERNEL_SIZE)
_ = (MAX_KERNEL_SIZE, _SteerableConv)


class R2Conv(_GridConv):
    r"""G-steerable planar convolution between two field types.

    With :math:`\rho_\text{in}`, :math:`\rho_\text{out}` the representations of ``in_type`` and
    ``out_type``, the filter satisfies

    .. math::
        \kappa(g \cdot x) = \rho_\text{out}(g)\, \kappa(x)\, \rho_\text{in}(g)^{-1}
        \qquad \forall g \in G,\ x \in \mathbb{R}^2,

    so that the convolution commutes with the action of :math:`\mathbb{R}^2 \rtimes G`. The filter is
    ``Σ_d weights[d] · basis[d]`` over a complete basis of such kernels (Gaussian rings times circular
    harmonics, see :mod:`structconv.kernels`); the convolution is :func:`torch.nn.functional.conv2d`.
    The filter is expanded from :attr:`weights` at every forward with autograd on, in train and eval mode,
    so eval-mode backward reaches :attr:`weights`; with autograd off the filter of the previous no-grad
    forward is reused while a snapshot shows that the weights, the bias and the basis are unchanged (see
    :attr:`filter`). Either way the output always follows the current parameters (optimizer steps, EMA
    updates, ``functional_call``, ``load_state_dict``, ``.to()``, ``.data`` writes). The ``state_dict`` keys
    and ``buffers()`` are the same in both modes. For inference at the cost of a plain convolution,
    :meth:`export` the layer, or run it inside :func:`torch.nn.utils.parametrize.cached` (one expansion per
    layer per context).

    Args:
        in_type: type of the input field.
        out_type: type of the output field.
        kernel_size: size of the square filter.
        padding: implicit padding on both sides of the input (int or pair), or ``'same'`` (output as
            large as the input: needs ``stride=1`` and an even ``dilation * (kernel_size - 1)``, so that
            the padding is symmetric) or ``'valid'`` (no padding). Default: 0.
        stride: stride of the convolution (int or pair). Default: 1.
        dilation: spacing between kernel elements. Default: 1.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``. Default: ``'zeros'``.
        groups: number of blocked connections; ``in_type`` and ``out_type`` must each be ``groups``
            copies of one list of fields. Default: 1.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        basisexpansion: the basis expansion algorithm; only ``'blocks'``.
        sigma: width of each ring, or one float for all rings (default: 0.6, 0.4 for the last ring,
            0.005 for a ring at radius 0).
        frequencies_cutoff: maximum frequency per ring radius: callable, float factor, or ``None`` for
            the default policy (see :class:`~structconv.kernels.ManualFrequencyCutoff`).
        rings: radii of the rings (default: ``ceil(k/2)`` rings up to ``(k-1)//2``, times ``dilation``).
        maximum_offset: number of aliased frequencies kept for finite groups (default: all allowed).
        recompute: rebuild the sampled bases instead of reusing cached ones.
        basis_filter: callable on a basis element's attribute dict returning whether to keep it.
        initialize: initialise :attr:`weights` with :func:`~structconv.nn.init.generalized_he_init`.

    Attributes:
        weights: learnable expansion coefficients (1-D).
        bias: learnable bias of the trivial irreps of ``out_type`` (or ``None``).
        filter: the dense filter expanded from the current weights (read-only, detached).
        expanded_bias: the expanded bias of the current weights (read-only, detached; ``None`` without bias).

    Shape:
        - input: ``(B, in_type.size, H, W)``
        - output: ``(B, out_type.size, H_out, W_out)`` with
          ``H_out = floor((H + 2·padding - dilation·(kernel_size - 1) - 1) / stride + 1)``.

    Raises:
        TypeError: if the types are not :class:`FieldType` or ``bias`` is not a bool.
        ValueError: on any invalid argument, or if the kernel basis is empty (e.g. ``kernel_size=2``).

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = Rot2dOnR2(8)
        >>> t_in = FieldType(gs, [gs.trivial_repr] * 3)
        >>> t_out = FieldType(gs, [gs.regular_repr] * 4)
        >>> conv = R2Conv(t_in, t_out, 5, padding=2)
        >>> conv.weights.numel()
        132
        >>> y = conv(GeometricTensor(torch.randn(2, 3, 16, 16), t_in))
        >>> y.tensor.shape
        torch.Size([2, 32, 16, 16])
    """

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int] | str = 0,
        stride: int | tuple[int, int] = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
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
            padding_mode,
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
        )
