r"""Dtype-aware numerics shared by the constraints and the norm-based modules (private).

Three rules keep every map finite for every finite input in ``float16``, ``bfloat16``, ``float32`` and
``float64``:

* **Half precision computes in float32.** Reductions (sums of squares, means, variances) of ``float16`` and
  ``bfloat16`` tensors run in ``float32`` (:func:`compute_dtype`) and the result is cast back, as autocast
  does for norms.
* **eps follows the dtype.** :func:`effective_eps` raises a user ``eps`` to at least the smallest normal
  number of the tensor's dtype (so it is never 0 there and ``1 / eps`` is representable) and to the square
  root of the smallest normal number of the computation dtype (so ``eps ** -1.5``, the second derivative of
  a square root at 0, is representable too). ``1e-12`` stays ``1e-12`` in ``float32`` and ``float64``; it
  becomes ``6.1e-5`` in ``float16``.
* **Norms are scaled.** A slice ``x`` is written ``x = s u`` with ``s = max |x|`` (a constant for autograd:
  the maps below are the same functions of ``x`` whatever ``s`` is) and ``|u| <= 1``; sums of squares are
  taken of ``u``, so they never overflow, and the factors that multiply ``u`` are formed without computing
  ``s ** 2``. :func:`inv_sqrt_scaled` and :func:`scaled_rsqrt` are the building blocks.
* **Gradients never meet ``s``.** A backward pass sums upstream gradients over a slice; multiplied by a
  scale near ``finfo.max`` such a sum overflows even when the true gradient is small. So ``s`` multiplies
  no value that a gradient flows back through before a reduction: factors are formed as
  :func:`scaled_rsqrt` (``s`` cancels), means as sums of ``x / K``, and learnable scales (a batch norm's
  weight) multiply the already normalised values. With these rules outputs and gradients are finite for
  every finite input up to ``finfo(dtype).max / 4`` in every dtype (``tests/test_dtypes.py`` sweeps 0, the
  smallest normal number, ordinary values and up to that bound).

Example:
    >>> x = torch.full((9,), 1e19)
    >>> float(scaled_norm(x, (0,)))  # the plain sum of squares overflows float32
    3e+19
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "compute_dtype",
    "effective_eps",
    "relative_floor",
    "slice_scale",
    "inv_sqrt_scaled",
    "scaled_rsqrt",
    "scaled_norm",
]

_HALF = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype reductions of a ``dtype`` tensor run in: ``float32`` for half precision, else ``dtype``.

    Example:
        >>> compute_dtype(torch.float16), compute_dtype(torch.float64)
        (torch.float32, torch.float64)
    """
    return torch.float32 if dtype in _HALF else dtype


def effective_eps(eps: float, dtype: torch.dtype) -> float:
    """``eps`` raised to what ``dtype`` (and its computation dtype) can use without 0 or overflow.

    Returns ``max(eps, finfo(dtype).tiny, sqrt(finfo(compute_dtype(dtype)).tiny))``.

    Example:
        >>> effective_eps(1e-12, torch.float32), effective_eps(1e-12, torch.float16)
        (1e-12, 6.103515625e-05)
    """
    if not dtype.is_floating_point:
        return float(eps)
    return max(float(eps), torch.finfo(dtype).tiny, torch.finfo(compute_dtype(dtype)).tiny ** 0.5)


def relative_floor(dtype: torch.dtype) -> float:
    """``finfo(dtype).max ** (-1/3)``: the smallest sum, relative to a slice's largest entry, to divide by.

    A slice sum kept at least this far from 0 (relative to the slice's largest entry) gives quotients below
    ``max ** (1/3)`` and derivatives below ``max ** (2/3)``: both finite. It is ``7e-14`` in float32 (far
    below its precision) and ``0.025`` in float16, where a sum that cancels to that level is rounding noise.

    Example:
        >>> relative_floor(torch.float16) > relative_floor(torch.float32) > relative_floor(torch.float64)
        True
    """
    return float(torch.finfo(dtype).max) ** (-1.0 / 3.0)


def slice_scale(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    """``max |x|`` over ``dims`` (kept), detached; 1 where it is 0 or not finite (NaN/inf stay in ``x``).

    Example:
        >>> slice_scale(torch.tensor([[0.0, 0.0], [3.0, -4.0]]), 1).flatten().tolist()
        [1.0, 4.0]
    """
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    with torch.no_grad():
        s = x.abs().amax(dim=dims, keepdim=True) if dims else x.abs()
        good = (s > 0) & torch.isfinite(s)
        return torch.where(good, s, 1.0)


def inv_sqrt_scaled(m: Tensor, s: Tensor, eps: float) -> Tensor:
    r""":math:`1 / \sqrt{s^2 m + \varepsilon}`, formed without computing :math:`s^2` where it could overflow.

    Args:
        m: a non-negative tensor of moderate size (a sum of squares of scaled values).
        s: the scale (positive, detached), broadcastable to ``m``.
        eps: the regulariser, > 0.

    Example:
        >>> m, s = torch.tensor([1.0]), torch.tensor([1e30])
        >>> float(inv_sqrt_scaled(m, s, 1e-12))
        1.0000000031710769e-30
    """
    s_hi = s.clamp(min=1.0)
    s_lo = s.clamp(max=1.0)
    # eps / s^2 is floored at max ** -0.5 so that the derivative of rsqrt stays finite (a constant slice has
    # m = 0); a non-constant slice has m far above that floor, which then changes nothing
    floor = float(torch.finfo(m.dtype).max) ** -0.5
    hi = torch.rsqrt(m + (eps / (s_hi * s_hi)).clamp_min(floor)) / s_hi
    lo = torch.rsqrt(m * (s_lo * s_lo) + eps)
    return torch.where(s >= 1.0, hi, lo)


def scaled_rsqrt(m: Tensor, s: Tensor, eps: float) -> Tensor:
    r""":math:`s / \sqrt{s^2 m + \varepsilon}`: the factor that maps a slice divided by its scale ``s`` to the
    slice divided by its (regularised) root mean square.

    The scale ``s`` never multiplies a value that a gradient flows through: where ``s >= 1`` the factor is
    :math:`1 / \sqrt{m + \varepsilon / s^2}` (``s`` cancels), else :math:`s / \sqrt{s^2 m + \varepsilon}`
    with ``s <= 1``. So the backward pass never forms ``s`` times a sum of upstream gradients, which
    overflows for slices near ``finfo.max`` (``inv_sqrt_scaled(m, s, eps) * s`` does: its gradient goes
    through ``s`` times the summed upstream gradient before it is divided by ``s`` again).

    Args:
        m: a non-negative tensor of moderate size (a sum of squares, or a variance, of scaled values).
        s: the scale (positive, detached), broadcastable to ``m``.
        eps: the regulariser, > 0.

    Example:
        >>> m, s = torch.tensor([0.25]), torch.tensor([1e38])
        >>> m.requires_grad_(True)
        tensor([0.2500], requires_grad=True)
        >>> q = scaled_rsqrt(m, s, 1e-12)
        >>> q.item(), bool(torch.isfinite(torch.autograd.grad(q.sum(), m)[0]).all())
        (2.0, True)
    """
    s_hi = s.clamp(min=1.0)
    s_lo = s.clamp(max=1.0)
    floor = float(torch.finfo(m.dtype).max) ** -0.5  # as in inv_sqrt_scaled: a constant slice has m = 0
    hi = torch.rsqrt(m + (eps / (s_hi * s_hi)).clamp_min(floor))
    lo = s_lo * torch.rsqrt(m * (s_lo * s_lo) + eps)
    return torch.where(s >= 1.0, hi, lo)


def scaled_norm(x: Tensor, dims: int | Sequence[int], keepdim: bool = True) -> Tensor:
    """Euclidean norm over ``dims`` without overflow of the squares, with a finite gradient (0) at 0.

    Half-precision inputs are reduced in ``float32`` and the norm is returned in ``x``'s dtype.

    Example:
        >>> x = torch.zeros(2, 3, requires_grad=True)
        >>> scaled_norm(x, 1).sum().backward()
        >>> x.grad.abs().sum().item()
        0.0
    """
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    xc = x.to(compute_dtype(x.dtype))
    s = slice_scale(xc, dims)
    sq = (xc / s).square().sum(dim=dims, keepdim=True)
    # a non-zero scaled slice has sum of squares >= 1, so the clamp only touches zero slices
    r = torch.where(sq > 0, sq.clamp_min(0.5).sqrt(), 0.0)
    n = s * r
    if not keepdim:
        n = n.squeeze(dims)
    return n.to(x.dtype)
