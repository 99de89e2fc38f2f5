r"""Structural kernel constraints, applied to every kernel slice.

A *kernel slice* is the part of a weight that one output channel applies to one input channel: for a
convolution weight ``(C_out, C_in / groups, *k)`` (or ``(C_in, C_out / groups, *k)`` for a transposed
convolution) it spans the spatial dims ``2..``; for a 2-D (linear) weight ``(out, in)`` it is a row, dim 1.
Every constraint takes ``dims`` to reduce over other dimensions instead.

With :math:`K` the number of taps of a slice, :math:`\varepsilon` = ``eps``:

=================  ==========================================================================================
``none``           :math:`\tilde W = W`
``nonneg``         :math:`\tilde W = \max(W, 0)`
``sum_to_one``     :math:`\tilde W = W / (\sum_i W_i + \varepsilon)`
``zero_mean``      :math:`\tilde W = W - \frac1K \sum_i W_i`
``nonneg_sum1``    :math:`\tilde W = \max(W, 0) / (\sum_i \max(W_i, 0) + \varepsilon)`
``unit_l2``        :math:`\tilde W = W / \sqrt{\sum_i W_i^2 + \varepsilon}`
``max_l2``         :math:`\tilde W = W \min(1, c / \sqrt{\sum_i W_i^2 + \varepsilon})`, :math:`c` = ``max_l2``
``fixed_center``   centre tap :math:`= v_c`, the others rescaled to sum to :math:`s_n` (:class:`FixedCenter`)
=================  ==========================================================================================

NaN (or infinite) weights are never turned into a valid-looking kernel: every slice holding one maps to a
slice holding NaN.

Every dtype gives finite kernels and gradients for finite weights (see :mod:`structconv._numerics`):
half-precision slices are reduced in float32, the sums of squares are taken of the slice divided by its
largest tap (no overflow for taps of 1e19 in float32 or 300 in float16), and ``eps`` is raised to
:math:`\max(\varepsilon, \text{finfo(dtype).tiny}, \sqrt{\text{finfo(float32).tiny}})` (``1e-12`` stays
``1e-12`` in float32 and float64 and becomes ``6.1e-5`` in float16, where ``1e-12`` is 0). The
denominators of ``sum_to_one`` and ``fixed_center`` are also kept ``finfo(dtype).max ** (-1/3)`` times the
largest tap away from 0 (``7e-14`` in float32, below its precision; ``0.025`` in float16), so a slice whose
sum cancels gives large but finite taps and gradients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from structconv._numerics import (
    compute_dtype,
    effective_eps,
    relative_floor,
    scaled_rsqrt,
    slice_scale,
)
from structconv._validate import check_real
from structconv.constraints._base import KernelConstraint, format_number, normalize_dims

__all__ = [
    "CONSTRAINT_NAMES",
    "StructuralConstraint",
    "NoConstraint",
    "NonNeg",
    "SumToOne",
    "ZeroMean",
    "NonNegSumToOne",
    "UnitL2",
    "MaxL2",
    "FixedCenter",
]

#: the names accepted by :func:`make_constraint` and the layers' ``constraint=`` argument
CONSTRAINT_NAMES: tuple[str, ...] = (
    "none",
    "nonneg",
    "sum_to_one",
    "zero_mean",
    "nonneg_sum1",
    "unit_l2",
    "max_l2",
    "fixed_center",
)


def _check_real(value: Any, argname: str, owner: str, *, positive: bool = False) -> float:
    """A finite real argument (``> 0`` if ``positive``), checked by the library's one scalar check."""
    return check_real(value, argname, minimum=0.0 if positive else None, strict=True, owner=owner)


def _check_eps(eps: Any, owner: str) -> float:
    return check_real(eps, "eps", minimum=0.0, owner=owner)


class StructuralConstraint(KernelConstraint):
    """A constraint reducing over the taps of each kernel slice.

    Args:
        dims: the dims of a slice; ``None`` (default) means ``2..`` for weights of 3 or more dims
            (convolutions) and the last dim for 1-D and 2-D weights (linear layers).
        eps: numerical stability constant of the normalising modes.

    Example:
        >>> from structconv.constraints import ZeroMean
        >>> ZeroMean().slice_dims((8, 4, 3, 3)), ZeroMean(dims=1).slice_dims((8, 4))
        ((2, 3), (1,))
    """

    def __init__(self, dims: int | Sequence[int] | None = None, eps: float = 1e-12) -> None:
        super().__init__()
        owner = type(self).__name__
        if dims is not None:
            normalize_dims(dims, 64, argname="dims", owner=owner)  # type check only; range at check()
        self.dims = dims if dims is None or isinstance(dims, int) else tuple(dims)
        self.eps = _check_eps(eps, owner)

    def slice_dims(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The (non-negative) dims of a weight of ``shape`` that form one kernel slice."""
        ndim = len(shape)
        if self.dims is None:
            return tuple(range(2, ndim)) if ndim >= 3 else (ndim - 1,)
        return normalize_dims(self.dims, ndim, argname="dims", owner=type(self).__name__)

    def check(self, shape: Sequence[int]) -> None:
        """Check that the slice dims exist in a weight of ``shape``."""
        super().check(shape)
        self.slice_dims(shape)

    def _scaled(self, weight: Tensor) -> tuple[Tensor, Tensor, tuple[int, ...], float]:
        """``(u, s, dims, eps)``: the weight in its computation dtype as ``s * u`` per slice, ``|u| <= 1``."""
        dims = self.slice_dims(weight.shape)
        w = weight.to(compute_dtype(weight.dtype))
        s = slice_scale(w, dims)
        return w / s, s, dims, effective_eps(self.eps, weight.dtype)

    def extra_repr(self) -> str:
        parts = [] if self.dims is None else [f"dims={self.dims!r}"]
        if type(self)._uses_eps:
            parts.append(f"eps={format_number(self.eps)}")
        return ", ".join(parts)

    _uses_eps = False


class NoConstraint(StructuralConstraint):
    """The identity: ``constraint='none'``.

    Example:
        >>> from structconv.constraints import NoConstraint
        >>> w = torch.randn(2, 3)
        >>> torch.equal(NoConstraint()(w), w)
        True
    """

    name = "none"

    def forward(self, weight: Tensor) -> Tensor:
        """Return ``weight`` unchanged."""
        return weight

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Return ``weight`` unchanged."""
        return weight

    @torch.no_grad()
    def project_(self, weight: Tensor) -> Tensor:
        """Leave ``weight`` as it is."""
        return weight


class NonNeg(StructuralConstraint):
    r"""Non-negative kernels: :math:`\tilde W = \max(W, 0)`.

    ``right_inverse`` is :math:`|W|` (every tap stays trainable when registered as a parametrization).

    Example:
        >>> from structconv.constraints import NonNeg
        >>> NonNeg()(torch.tensor([[-1.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    name = "nonneg"

    def forward(self, weight: Tensor) -> Tensor:
        """Clip negative taps to 0."""
        return torch.relu(weight)

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Return :math:`|W|`."""
        return weight.abs()


class SumToOne(StructuralConstraint):
    r"""Kernels summing to one: :math:`\tilde W = W / (S + \varepsilon)`, :math:`S = \sum_i W_i`.

    Where :math:`S < 0` the denominator is :math:`S - \varepsilon` (the same value up to
    :math:`2\varepsilon`), so it is never 0: a zero slice maps to 0 with a finite gradient. The map is
    ill-conditioned where a slice sums to about 0; ``right_inverse`` is the Euclidean
    projection onto the hyperplane :math:`\sum_i W_i = 1` (:math:`W - \bar W + 1/K`), which the layers use
    to initialise their weights away from that region.

    Example:
        >>> from structconv.constraints import SumToOne
        >>> SumToOne()(torch.tensor([[1.0, 3.0]])).tolist()
        [[0.25, 0.75]]
    """

    name = "sum_to_one"
    _uses_eps = True

    def forward(self, weight: Tensor) -> Tensor:
        """Divide every slice by its sum plus ``eps`` (minus ``eps`` for a negative sum)."""
        u, s, dims, eps = self._scaled(weight)
        total = u.sum(dims, keepdim=True)
        e = (eps / s).clamp_min(relative_floor(weight.dtype))
        return (u / torch.where(total >= 0, total + e, total - e)).to(weight.dtype)

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Shift every slice so that it sums to exactly one."""
        u, s, dims, _ = self._scaled(weight)
        k = math.prod([weight.shape[d] for d in dims])  # a list: torch.compile cannot trace a generator here
        return ((u - u.mean(dims, keepdim=True)) * s + 1.0 / k).to(weight.dtype)


class ZeroMean(StructuralConstraint):
    r"""Zero-mean kernels: :math:`\tilde W = W - \frac1K \sum_i W_i`.

    Example:
        >>> from structconv.constraints import ZeroMean
        >>> ZeroMean()(torch.tensor([[1.0, 3.0]])).tolist()
        [[-1.0, 1.0]]
    """

    name = "zero_mean"

    def check(self, shape: Sequence[int]) -> None:
        """Refuse slices of one tap: their zero-mean kernel is identically 0 (as weight standardization
        refuses filters of one weight)."""
        super().check(shape)
        sizes = tuple(shape[d] for d in self.slice_dims(shape))
        if math.prod(sizes) < 2:
            raise ValueError(
                f"ZeroMean: kernel slices of size {sizes} are not accepted for constraint='zero_mean': a "
                "zero-mean kernel of 1 tap is identically 0 (the layer would only add its bias); expected "
                "at least 2 taps per kernel slice (a larger kernel, or dims= spanning more entries)"
            )

    def forward(self, weight: Tensor) -> Tensor:
        """Subtract every slice's mean (a sum of ``W / K``: it cannot overflow, nor can its gradient)."""
        dims = self.slice_dims(weight.shape)
        w = weight.to(compute_dtype(weight.dtype))
        k = math.prod([weight.shape[d] for d in dims])  # a list: torch.compile cannot trace a generator here
        return (w - (w / k).sum(dims, keepdim=True)).to(weight.dtype)


class NonNegSumToOne(StructuralConstraint):
    r"""Kernels on the probability simplex: :math:`\tilde W = \max(W,0) / (\sum_i \max(W_i,0) + \varepsilon)`.

    A slice without a positive tap maps to 0 (the formula's degenerate case). ``right_inverse`` applies
    the map to :math:`|W|`, so the layers start with no such slice.

    Example:
        >>> from structconv.constraints import NonNegSumToOne
        >>> NonNegSumToOne()(torch.tensor([[-1.0, 1.0, 3.0]])).tolist()
        [[0.0, 0.25, 0.75]]
    """

    name = "nonneg_sum1"
    _uses_eps = True

    def forward(self, weight: Tensor) -> Tensor:
        """Clip negative taps and divide by the slice sum plus ``eps``."""
        u, s, dims, eps = self._scaled(weight)
        pos = torch.relu(u)
        # eps / s underflows to 0 for huge slices: floored, an all-negative slice gives 0 / floor = 0, not NaN
        e = (eps / s).clamp_min(relative_floor(weight.dtype))
        return (pos / (pos.sum(dims, keepdim=True) + e)).to(weight.dtype)

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Normalise :math:`|W|`."""
        return self.forward(weight.abs())


class UnitL2(StructuralConstraint):
    r"""Unit-norm kernels: :math:`\tilde W = W / \sqrt{\sum_i W_i^2 + \varepsilon}`.

    Example:
        >>> from structconv.constraints import UnitL2
        >>> UnitL2()(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """

    name = "unit_l2"
    _uses_eps = True

    def forward(self, weight: Tensor) -> Tensor:
        """Divide every slice by its (``eps``-regularised) L2 norm."""
        u, s, dims, eps = self._scaled(weight)
        q = scaled_rsqrt(u.square().sum(dims, keepdim=True), s, eps)  # s / sqrt(sum W^2 + eps)
        return (u * q).to(weight.dtype)


class MaxL2(StructuralConstraint):
    r"""Kernels in an L2 ball: :math:`\tilde W = W \min(1, c / \sqrt{\sum_i W_i^2 + \varepsilon})`.

    Args:
        max_l2: the radius :math:`c > 0`.
        dims: see :class:`StructuralConstraint`.
        eps: numerical stability constant.

    Example:
        >>> from structconv.constraints import MaxL2
        >>> MaxL2(1.0)(torch.tensor([[3.0, 4.0], [0.3, 0.4]])).tolist()
        [[0.6, 0.8], [0.3, 0.4]]
    """

    name = "max_l2"
    _uses_eps = True

    def __init__(self, max_l2: float, dims: int | Sequence[int] | None = None, eps: float = 1e-12) -> None:
        if max_l2 is None:
            raise ValueError(
                "MaxL2: max_l2=None is not accepted; constraint='max_l2' needs a bound, a number > 0"
            )
        self_max = _check_real(max_l2, "max_l2", "MaxL2", positive=True)
        super().__init__(dims, eps)
        self.max_l2 = self_max

    def forward(self, weight: Tensor) -> Tensor:
        """Scale down the slices whose norm exceeds ``max_l2``."""
        u, s, dims, eps = self._scaled(weight)
        q = scaled_rsqrt(u.square().sum(dims, keepdim=True), s, eps)  # s / sqrt(sum W^2 + eps)
        return (u * torch.minimum(s, self.max_l2 * q)).to(weight.dtype)  # W min(1, c / sqrt(...))

    def extra_repr(self) -> str:
        rest = super().extra_repr()
        return f"max_l2={format_number(self.max_l2)}" + (f", {rest}" if rest else "")


class FixedCenter(StructuralConstraint):
    r"""Residual-style kernels with a fixed centre tap (Bayar & Stamm's constrained convolution).

    With :math:`c` the centre tap (index ``size // 2`` along every slice dim; all slice sizes must be odd)
    and :math:`s = \sum_{i \ne c} W_i`:

    .. math::

        \tilde W_c = v_c, \qquad \tilde W_i = W_i \, \frac{s_n}{d} \quad (i \ne c), \qquad
        d = \begin{cases} s + \varepsilon & s \ge 0 \\ s - \varepsilon & s < 0 \end{cases}

    so the off-centre taps sum to :math:`s_n \, s / d \approx s_n`. Moving :math:`\varepsilon` away from 0 on
    the side of :math:`s` keeps :math:`|d| \ge \varepsilon` and :math:`s / d \in [0, 1)`: the map is finite
    for every finite weight, and the off-centre sum never exceeds :math:`|s_n|` nor takes the opposite
    sign (the taps are large where :math:`s \approx 0`, as with any rescaling; where :math:`s` and
    :math:`s_n` differ in sign the taps flip sign, as they must). A NaN or infinite tap anywhere in a slice,
    the centre included, makes the whole output slice NaN.
    ``right_inverse`` is the Euclidean projection onto the constraint set (centre set to :math:`v_c`, the
    other taps shifted by :math:`(s_n - s)/(K - 1)`), well-conditioned everywhere; the layers initialise
    their weights with it. With ``neighbor_sum=0`` every off-centre tap becomes 0.

    Args:
        center_value: :math:`v_c`.
        neighbor_sum: :math:`s_n`.
        dims: see :class:`StructuralConstraint`.
        eps: numerical stability constant.

    Example:
        >>> from structconv.constraints import FixedCenter
        >>> FixedCenter(center_value=-1.0, neighbor_sum=1.0)(torch.tensor([[1.0, 5.0, 3.0]])).tolist()
        [[0.25, -1.0, 0.75]]
    """

    name = "fixed_center"
    _uses_eps = True

    def __init__(
        self,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        dims: int | Sequence[int] | None = None,
        eps: float = 1e-12,
    ) -> None:
        center_value = _check_real(center_value, "center_value", "FixedCenter")
        neighbor_sum = _check_real(neighbor_sum, "neighbor_sum", "FixedCenter")
        super().__init__(dims, eps)
        self.center_value = center_value
        self.neighbor_sum = neighbor_sum
        self._masks: dict[tuple[Any, ...], tuple[Tensor, Tensor, Tensor]] = {}

    def check(self, shape: Sequence[int]) -> None:
        """Require odd slice sizes and at least 3 taps per slice."""
        super().check(shape)
        dims = self.slice_dims(shape)
        sizes = tuple(shape[d] for d in dims)
        if any(s % 2 == 0 for s in sizes):
            raise ValueError(
                f"FixedCenter: kernel size {sizes} is not accepted for constraint='fixed_center'; "
                "expected odd sizes (the centre tap must exist)"
            )
        if math.prod(sizes) < 2:
            raise ValueError(
                f"FixedCenter: kernel size {sizes} is not accepted for constraint='fixed_center'; "
                "expected at least 3 taps per kernel"
            )

    def _masks_for(self, weight: Tensor, dims: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        """(1 off the centre and 0 at it, v_c at the centre and 0 off it, eps), in the weight's dtype."""
        key = (weight.shape, dims, weight.device, weight.dtype, self.center_value, self.eps)
        masks = self._masks.get(key)
        if masks is None:
            self.check(weight.shape)
            shape = [weight.shape[d] if d in dims else 1 for d in range(weight.ndim)]
            center = torch.zeros(shape, dtype=weight.dtype, device=weight.device)
            center[tuple(s // 2 for s in shape)] = 1.0
            eps = torch.tensor(self.eps, dtype=weight.dtype, device=weight.device)
            masks = (1.0 - center, center * self.center_value, eps)
            self._masks[key] = masks
        return masks

    def forward(self, weight: Tensor) -> Tensor:
        """Set the centre taps and rescale the others."""
        dims = self.slice_dims(weight.shape)
        w = weight.to(compute_dtype(weight.dtype))
        off, center, _ = self._masks_for(w, dims)
        off_w = w * off  # a NaN/inf centre stays NaN (NaN * 0), it is never replaced by v_c
        scale = slice_scale(off_w, dims)
        u = off_w / scale  # the off-centre taps divided by the largest: their sum cannot overflow
        total = u.sum(dims, keepdim=True)
        e = (effective_eps(self.eps, weight.dtype) / scale).clamp_min(relative_floor(weight.dtype))
        d = torch.where(total >= 0, total + e, total - e)  # |d| >= e, sign of the sum
        return (u * (self.neighbor_sum / d) + center).to(weight.dtype)

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Euclidean projection onto the constraint set."""
        dims = self.slice_dims(weight.shape)
        w = weight.to(compute_dtype(weight.dtype))
        off, center, _ = self._masks_for(w, dims)
        k = math.prod([weight.shape[d] for d in dims])  # a list: torch.compile cannot trace a generator here
        scale = slice_scale(w * off, dims)
        s = (w * off / scale).sum(dims, keepdim=True) * scale
        return ((w + (self.neighbor_sum - s) / (k - 1)) * off + center).to(weight.dtype)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_masks"] = {}
        return state

    def extra_repr(self) -> str:
        rest = super().extra_repr()
        head = (
            f"center_value={format_number(self.center_value)}, "
            f"neighbor_sum={format_number(self.neighbor_sum)}"
        )
        return head + (f", {rest}" if rest else "")
