r"""Norm constraints with Keras semantics: ``MaxNorm``, ``MinMaxNorm``, ``UnitNorm``.

The norm :math:`n` is the L2 norm over the weight dims ``axis`` (one norm per remaining index), and
:math:`\varepsilon` = ``eps`` (Keras' ``epsilon()``, ``1e-7``, by default):

=================  ==========================================================================================
``MaxNorm``        :math:`\tilde W = W \cdot \mathrm{clip}(n, 0, M) / (\varepsilon + n)`
``MinMaxNorm``     :math:`\tilde W = W \cdot (r \, \mathrm{clip}(n, m, M) + (1 - r) n) / (\varepsilon + n)`
``UnitNorm``       :math:`\tilde W = W / (\varepsilon + n)`
=================  ==========================================================================================

``axis`` is an int or a sequence of ints (negative allowed) indexing the weight in PyTorch layout; the
default ``None`` takes every dim but the first: one norm per output channel of a ``Conv`` / ``Linear``
weight (Keras' per-unit default, and selfeeg's ``axis_norm=[1, 2, 3]`` for ``Conv2d``). It is validated
against the weight's number of dims when a layer is built and at first use.

Every dtype gives finite kernels and gradients for finite weights: the norm is computed from the weight
divided by its largest entry (no overflow of the squares, in float32 at least), and :math:`\varepsilon` is
raised to the smallest normal number of the weight's dtype (``1e-7`` becomes ``6.1e-5`` in float16).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from structconv._numerics import compute_dtype, effective_eps, scaled_norm, slice_scale
from structconv.constraints._base import KernelConstraint, format_number, normalize_dims
from structconv.constraints.structural import _check_eps, _check_real

__all__ = ["KERAS_EPSILON", "NormConstraint", "MaxNorm", "MinMaxNorm", "UnitNorm"]

#: Keras' default fuzz factor ``keras.backend.epsilon()``
KERAS_EPSILON = 1e-7


class NormConstraint(KernelConstraint):
    """Base of the Keras norm constraints: resolves ``axis`` and computes the norms.

    Args:
        axis: the dims the norm runs over (``None``: every dim but the first).
        eps: the fuzz factor added to the norm in the denominator.

    Example:
        >>> from structconv.constraints import UnitNorm
        >>> UnitNorm(axis=[-2, -1]).norm_dims(4)
        (2, 3)
    """

    def __init__(self, axis: int | Sequence[int] | None = None, eps: float = KERAS_EPSILON) -> None:
        super().__init__()
        owner = type(self).__name__
        if axis is not None:
            normalize_dims(axis, 64, argname="axis", owner=owner)  # type check; range checked per weight
        self.axis = axis if axis is None or isinstance(axis, int) else tuple(axis)
        self.eps = _check_eps(eps, owner)
        self._dims: dict[int, tuple[int, ...]] = {}

    def norm_dims(self, ndim: int) -> tuple[int, ...]:
        """The non-negative dims of an ``ndim``-dimensional weight that the norm runs over."""
        dims = self._dims.get(ndim)
        if dims is None:
            if self.axis is None:
                if ndim < 2:
                    raise ValueError(
                        f"{type(self).__name__}: axis=None needs a weight with at least 2 dims; got {ndim}"
                    )
                dims = tuple(range(1, ndim))
            else:
                dims = normalize_dims(self.axis, ndim, argname="axis", owner=type(self).__name__)
            self._dims[ndim] = dims
        return dims

    def check(self, shape: Sequence[int]) -> None:
        """Check ``axis`` against a weight of ``shape``."""
        super().check(shape)
        self.norm_dims(len(shape))

    def _norms(self, weight: Tensor) -> Tensor:
        return scaled_norm(weight, self.norm_dims(weight.ndim))

    def _factors(self, weight: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(u, s, n, g, h, sh)``: ``W = s u``, ``n = |W| = s r``, ``g = s / (eps + n)``, ``h = r g`` and
        ``sh = s h = n s / (eps + n)``.

        Everything is in the computation dtype; ``g``, ``h`` and ``sh`` are formed without computing ``n``
        where it could overflow, have finite gradients at a zero unit, and ``sh`` is formed without
        multiplying ``h`` by ``s`` (as ``s - eps / (r + eps / s)`` where ``s >= 1``), so that no gradient is
        multiplied by ``s`` (see :mod:`structconv._numerics`).
        """
        dims = self.norm_dims(weight.ndim)
        w = weight.to(compute_dtype(weight.dtype))
        eps = effective_eps(self.eps, weight.dtype)
        s = slice_scale(w, dims)
        u = w / s
        sq = u.square().sum(dim=dims, keepdim=True)
        r = torch.where(sq > 0, sq.clamp_min(0.5).sqrt(), torch.zeros_like(sq))  # sq >= 1 unless u == 0
        s_hi, s_lo = s.clamp(min=1.0), s.clamp(max=1.0)
        g = torch.where(s >= 1.0, 1.0 / (r + eps / s_hi), s_lo / (s_lo * r + eps))
        sh = torch.where(s >= 1.0, s_hi - eps / (r + eps / s_hi), s_lo * (r * g))
        return u, s, s * r, g, r * g, sh

    def _rescale(
        self,
        weight: Tensor,
        desired: Callable[[Tensor], Tensor],
        scaled: Callable[[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor], Tensor],
    ) -> Tensor:
        """``W * desired(n) / (eps + n)`` per unit: Keras' arithmetic where the squares cannot overflow or
        underflow (the same numbers as Keras and selfeeg), ``scaled(*self._factors(W))`` elsewhere."""
        dims = self.norm_dims(weight.ndim)
        w = weight.to(compute_dtype(weight.dtype))
        eps = effective_eps(self.eps, weight.dtype)
        info = torch.finfo(w.dtype)
        n_entries = math.prod([w.shape[d] for d in dims])
        top = slice_scale(w, dims)
        safe = (top <= math.sqrt(info.max / (4.0 * n_entries))) & (top >= info.tiny**0.25)
        w0 = torch.where(safe, w, torch.zeros_like(w))
        n0 = torch.linalg.vector_norm(w0, dim=dims, keepdim=True)
        plain = w0 * (desired(n0) / (eps + n0))
        return torch.where(safe, plain, scaled(*self._factors(weight))).to(weight.dtype)

    def extra_repr(self) -> str:
        return f"axis={self.axis!r}, eps={format_number(self.eps)}"


class MaxNorm(NormConstraint):
    r"""Keras ``MaxNorm``: :math:`\tilde W = W \cdot \mathrm{clip}(n, 0, M) / (\varepsilon + n)`.

    Args:
        max_value: the maximum norm :math:`M > 0`.
        axis: see :class:`NormConstraint`.
        eps: the fuzz factor (Keras ``1e-7``).

    Example:
        >>> from structconv.constraints import MaxNorm
        >>> w = MaxNorm(0.5)(10 * torch.randn(4, 1, 1, 15))
        >>> bool((w.flatten(1).norm(dim=1) <= 0.5 + 1e-6).all())
        True
    """

    name = "max_norm"

    def __init__(
        self, max_value: float = 2.0, axis: int | Sequence[int] | None = None, eps: float = KERAS_EPSILON
    ) -> None:
        max_value = _check_real(max_value, "max_value", "MaxNorm", positive=True)
        super().__init__(axis, eps)
        self.max_value = max_value

    def forward(self, weight: Tensor) -> Tensor:
        """Rescale every unit whose norm exceeds ``max_value``."""
        return self._rescale(
            weight,
            lambda n: n.clamp(0.0, self.max_value),
            lambda u, s, n, g, h, sh: u * (n.clamp(0.0, self.max_value) * g),
        )

    def extra_repr(self) -> str:
        return f"max_value={format_number(self.max_value)}, " + super().extra_repr()


class MinMaxNorm(NormConstraint):
    r"""Keras ``MinMaxNorm``: the norm is pulled into :math:`[m, M]` at rate :math:`r`.

    .. math::

        \tilde W = W \cdot \frac{r \, \mathrm{clip}(n, m, M) + (1 - r) n}{\varepsilon + n}

    Args:
        min_value: the minimum norm :math:`m \ge 0`.
        max_value: the maximum norm :math:`M \ge m`.
        rate: :math:`r \in (0, 1]`; 1 enforces the bounds strictly, smaller values move the norm part way.
        axis: see :class:`NormConstraint`.
        eps: the fuzz factor (Keras ``1e-7``).

    With ``rate < 1`` the map is not idempotent and ``right_inverse`` is the identity.

    Example:
        >>> from structconv.constraints import MinMaxNorm
        >>> w = MinMaxNorm(1.0, 2.0)(torch.tensor([[0.3, 0.4], [30.0, 40.0]]))
        >>> [round(v, 4) for v in w.norm(dim=1).tolist()]
        [1.0, 2.0]
    """

    name = "min_max_norm"

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: int | Sequence[int] | None = None,
        eps: float = KERAS_EPSILON,
    ) -> None:
        min_value = _check_real(min_value, "min_value", "MinMaxNorm")
        max_value = _check_real(max_value, "max_value", "MinMaxNorm", positive=True)
        rate = _check_real(rate, "rate", "MinMaxNorm")
        if min_value < 0:
            raise ValueError(f"MinMaxNorm: min_value={min_value!r} is not accepted; expected a number >= 0")
        if min_value > max_value:
            raise ValueError(
                f"MinMaxNorm: min_value={min_value!r} > max_value={max_value!r} is not accepted; "
                "expected min_value <= max_value"
            )
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"MinMaxNorm: rate={rate!r} is not accepted; expected a number in (0, 1]")
        super().__init__(axis, eps)
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate

    def forward(self, weight: Tensor) -> Tensor:
        """Move every unit's norm towards ``[min_value, max_value]``."""
        lo, hi, rate = self.min_value, self.max_value, self.rate
        return self._rescale(
            weight,
            lambda n: rate * n.clamp(lo, hi) + (1.0 - rate) * n,
            lambda u, s, n, g, h, sh: u * (rate * n.clamp(lo, hi) * g + (1.0 - rate) * sh),
        )

    def right_inverse(self, weight: Tensor) -> Tensor:
        """The map itself when ``rate == 1`` (a projection), else the identity."""
        return self.forward(weight) if self.rate == 1.0 else weight

    def extra_repr(self) -> str:
        return (
            f"min_value={format_number(self.min_value)}, max_value={format_number(self.max_value)}, "
            f"rate={format_number(self.rate)}, "
            + super().extra_repr()
        )


class UnitNorm(NormConstraint):
    r"""Keras ``UnitNorm``: :math:`\tilde W = W / (\varepsilon + n)`.

    Args:
        axis: see :class:`NormConstraint`.
        eps: the fuzz factor (Keras ``1e-7``).

    Example:
        >>> from structconv.constraints import UnitNorm
        >>> UnitNorm()(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """

    name = "unit_norm"

    def forward(self, weight: Tensor) -> Tensor:
        """Divide every unit by its norm."""
        return self._rescale(weight, torch.ones_like, lambda u, s, n, g, h, sh: u * g)
