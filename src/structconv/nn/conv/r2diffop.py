r"""``R2Diffop``: G-steerable partial differential operators on the plane (Jenner & Weiler, 2021).

An :class:`R2Diffop` is an :class:`~structconv.nn.R2Conv` whose filter is a discretised steerable PDO
instead of a sampled steerable kernel: the basis comes from :mod:`structconv.diffops` (homogenised
Chebyshev polynomials times powers of the Laplacian in :math:`(\partial_x, \partial_y)`), discretised by
finite differences, Gaussian derivatives or RBF-FD.  The basis expansion, initialisation, train/eval
caching and export are those of ``R2Conv``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from structconv.diffops import cache as _dcache
from structconv.diffops import sampling as _dsampling
from structconv.diffops.basis import _angular_solutions_cached, _basis_cached
from structconv.diffops.discretization import RADIAL_BASIS_FUNCTIONS, resolve_kernel_size
from structconv.diffops.sampling import DiscretizationArgs, diffop_basis
from structconv.kernels import SteerableBasis
from structconv.nn._conv_utils import check_bool, check_choice, check_int, check_real
from structconv.nn.conv._steerable import _GridConv
from structconv.nn.typed.field_type import FieldType

__all__ = ["R2Diffop", "r2_diffop_basis"]

_CACHE_MODES = (False, True, "load", "store")


def r2_diffop_basis(
    in_repr: Any,
    out_repr: Any,
    *,
    kernel_size: int,
    maximum_order: int,
    maximum_power: int | None = None,
    maximum_offset: int | None = None,
    dilation: int = 1,
    discretization: DiscretizationArgs | None = None,
    axis: float = math.pi / 2,
    recompute: bool = False,
) -> SteerableBasis:
    """Basis generator of :class:`R2Diffop` for :class:`~structconv.nn.BlocksBasisExpansion`.

    Wraps :func:`structconv.diffops.diffop_basis`; with ``recompute=True`` the cached sampled bases are
    dropped first (the stencil cache of :mod:`structconv.diffops.cache` is kept).

    Example:
        >>> from structconv.group import cyclic_group
        >>> G = cyclic_group(4)
        >>> reg = G.regular_representation
        >>> len(r2_diffop_basis(reg, reg, kernel_size=3, maximum_order=2))
        24
    """
    if recompute:
        _dsampling._diffop_basis_cached.cache_clear()
        _dsampling._sample_cached.cache_clear()
        _basis_cached.cache_clear()
        _angular_solutions_cached.cache_clear()
    return diffop_basis(
        in_repr,
        out_repr,
        kernel_size,
        maximum_order,
        maximum_power,
        maximum_offset,
        dilation,
        discretization,
        axis,
    )


class R2Diffop(_GridConv):
    r"""G-steerable planar partial differential operator between two field types.

    With :math:`\rho_\text{in}`, :math:`\rho_\text{out}` the representations of ``in_type`` and
    ``out_type``, the layer applies a PDO :math:`D = P(\partial_x, \partial_y)` whose matrix-valued
    polynomial symbol satisfies

    .. math::
        P(g \cdot x) = \rho_\text{out}(g)\, P(x)\, \rho_\text{in}(g)^{-1} \qquad \forall g \in G,

    so that :math:`D[\mathcal{T}^\text{in}_{g,u} f] = \mathcal{T}^\text{out}_{g,u} [D f]` for all
    :math:`g \in G`, :math:`u \in \mathbb{R}^2`.  The symbol is ``Σ_d weights[d] · P_d`` over a basis of
    such polynomials up to degree ``maximum_order`` (:mod:`structconv.diffops`); each basis PDO is
    discretised into a ``kernel_size x kernel_size`` stencil and the layer is an ordinary
    :func:`torch.nn.functional.conv2d`.  The discretised layer is exactly equivariant to the symmetries
    of the pixel grid (90° rotations, reflections), approximately to the others.

    Any two of ``kernel_size``, ``accuracy`` and ``maximum_order`` determine the third (roughly
    ``kernel_size ≈ accuracy + maximum_order``, see
    :func:`~structconv.diffops.resolve_kernel_size`); with only ``kernel_size`` or only
    ``maximum_order`` the accuracy is 2.  ``smoothing=kernel_size / 4`` is often a good choice.

    The stencil is expanded from the current weights at every forward with autograd on, in train and eval
    mode, and reused with autograd off only while the weights are unchanged in value (as
    :class:`~structconv.nn.R2Conv`; ``state_dict`` keys and ``buffers()`` are the same in both modes).
    All ``R2Diffop`` layers share one in-memory stencil cache; prefer calling
    :func:`structconv.diffops.load_cache` before building a model and
    :func:`structconv.diffops.store_cache` after, over ``cache=True`` on every layer.

    Args:
        in_type: type of the input field.
        out_type: type of the output field.
        kernel_size: size of the square stencil (optional, see above).
        accuracy: asymptotic accuracy of the discretisation (optional, see above).
        padding: implicit padding on both sides of the input (int or pair), or ``'same'`` (output as
            large as the input: needs ``stride=1`` and an even ``dilation * (kernel_size - 1)``, so that
            the padding is symmetric) or ``'valid'`` (no padding). Default: 0.
        stride: stride of the convolution (int or pair). Default: 1.
        dilation: spacing between stencil elements; derivatives are in input pixels. Default: 1.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``. Default: ``'zeros'``.
        groups: number of blocked connections; ``in_type`` and ``out_type`` must each be ``groups``
            copies of one list of fields. Default: 1.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        basisexpansion: the basis expansion algorithm; only ``'blocks'``.
        maximum_order: largest derivative order in the basis (optional, see above).
        maximum_power: largest power of the Laplacian in the basis (default: no extra limit).
        maximum_offset: largest aliasing offset of the angular frequencies for finite groups (default:
            all allowed by ``maximum_order``).
        recompute: rebuild the sampled bases instead of reusing cached ones.
        angle_offset: rotate every basis PDO by this angle (radians) before discretising.
        basis_filter: callable on a basis element's attribute dict (``order``, ``power``,
            ``frequency``, ``in_irrep``, ...) returning whether to keep it.
        initialize: initialise :attr:`weights` with :func:`~structconv.nn.init.generalized_he_init`.
        cache: ``True`` loads the on-disk stencil cache (``diffops.npz`` in the user's cache directory,
            :func:`structconv.diffops.cache.default_cache_path`) before building and stores it after;
            ``'load'`` or ``'store'`` do only one of these; ``False`` (default) neither. Every loaded entry
            is verified (a bad one is recomputed, with a warning) and neither step ever fails the layer.
        rbffd: discretise with RBF-FD instead of finite differences.
        radial_basis_function: the RBF of RBF-FD: one of ``'ga'`` (default), ``'phs1'``, ``'phs3'``,
            ``'phs5'``, ``'phs7'``, ``'mq'``, ``'imq'``, ``'iq'``.
        smoothing: if set, discretise with derivatives of a Gaussian of this standard deviation (pixels).

    Attributes:
        weights: learnable expansion coefficients (1-D).
        bias: learnable bias of the trivial irreps of ``out_type`` (or ``None``).
        filter: the stencil expanded from the current weights (read-only, detached).
        expanded_bias: the expanded bias of the current weights (read-only, detached).
        kernel_size, accuracy, maximum_order: the resolved sizes.

    Shape:
        - input: ``(B, in_type.size, H, W)``
        - output: ``(B, out_type.size, H_out, W_out)`` with
          ``H_out = floor((H + 2·padding - dilation·(kernel_size - 1) - 1) / stride + 1)``.

    Raises:
        TypeError: if the types are not :class:`FieldType` or ``bias`` is not a bool.
        ValueError: on any invalid argument or an empty basis.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> pdo = R2Diffop(t, t, kernel_size=5)
        >>> pdo.maximum_order, pdo.accuracy, pdo.weights.numel()
        (4, 2, 60)
        >>> pdo(GeometricTensor(torch.randn(2, 4, 9, 9), t)).tensor.shape
        torch.Size([2, 4, 5, 5])
    """

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int | None = None,
        accuracy: int | None = None,
        padding: int | tuple[int, int] | str = 0,
        stride: int | tuple[int, int] = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
        groups: int = 1,
        bias: bool = True,
        basisexpansion: str = "blocks",
        maximum_order: int | None = None,
        maximum_power: int | None = None,
        maximum_offset: int | None = None,
        recompute: bool = False,
        angle_offset: float | None = None,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        initialize: bool = True,
        cache: bool | str = False,
        rbffd: bool = False,
        radial_basis_function: str = "ga",
        smoothing: float | None = None,
    ) -> None:
        owner = type(self).__name__
        check_int(kernel_size, "kernel_size", minimum=1, allow_none=True, owner=owner)
        check_int(accuracy, "accuracy", minimum=1, allow_none=True, owner=owner)
        check_int(maximum_order, "maximum_order", minimum=0, allow_none=True, owner=owner)
        try:
            ks, acc, order = resolve_kernel_size(kernel_size, accuracy, maximum_order)
        except ValueError as err:
            raise ValueError(f"{owner}: {err}") from None
        maximum_power = check_int(maximum_power, "maximum_power", minimum=0, allow_none=True, owner=owner)
        maximum_offset = check_int(maximum_offset, "maximum_offset", minimum=0, allow_none=True, owner=owner)
        if not any(cache is mode or (isinstance(cache, str) and cache == mode) for mode in _CACHE_MODES):
            raise ValueError(
                f"{owner}: cache={cache!r} is not known; expected one of: False, True, 'load', 'store'"
            )
        check_bool(rbffd, "rbffd", owner=owner)
        check_bool(initialize, "initialize", owner=owner)
        check_bool(recompute, "recompute", owner=owner)
        check_real(angle_offset, "angle_offset", allow_none=True, owner=owner)
        check_real(smoothing, "smoothing", minimum=0.0, strict=True, allow_none=True, owner=owner)
        if rbffd:
            check_choice(
                radial_basis_function, "radial_basis_function", sorted(RADIAL_BASIS_FUNCTIONS), owner=owner
            )
        disc = DiscretizationArgs(
            "rbffd" if rbffd else "fd",
            smoothing=smoothing,
            angle_offset=angle_offset,
            phi=radial_basis_function,
        )
        if cache is True or cache == "load":
            _dcache.load_cache()
        super().__init__(
            in_type,
            out_type,
            ks,
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
            basis_generator=r2_diffop_basis,
            basis_kwargs={
                "maximum_order": order,
                "maximum_power": maximum_power,
                "maximum_offset": maximum_offset,
                "discretization": disc,
            },
        )
        if cache is True or cache == "store":
            _dcache.store_cache()
        self.accuracy, self.maximum_order = acc, order
        self.maximum_power, self.maximum_offset = maximum_power, maximum_offset
        self.rbffd, self.radial_basis_function = rbffd, radial_basis_function
        self.smoothing, self.angle_offset = disc.smoothing, disc.angle_offset
        self.discretization = disc

    def extra_repr(self) -> str:
        text = super().extra_repr()
        disc = "rbffd" if self.rbffd else "fd"
        if self.smoothing is not None:
            disc = f"gauss(smoothing={self.smoothing})"
        elif self.rbffd:
            disc = f"rbffd({self.radial_basis_function})"
        return text + f", maximum_order={self.maximum_order}, accuracy={self.accuracy}, discretization={disc}"
