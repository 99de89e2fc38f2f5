"""Weight standardization: kernels renormalised per output filter on every forward.

Two maps from raw parameters ``W`` to the kernel ``W_hat`` are provided, as functions and as
``torch.nn.Module`` parametrizations (usable with
:func:`torch.nn.utils.parametrize.register_parametrization`), each with an in-place
:meth:`project_` for hard projection.

* **Weight standardization** (Qiao et al., 2019, *Micro-Batch Training with Batch-Channel
  Normalization and Weight Standardization*): per output filter ``i``

  .. math::

      \\hat W_i = \\frac{W_i - \\mu_i}{\\sqrt{\\sigma_i^2 + \\epsilon}},

  with the **biased** (population) variance :math:`\\sigma_i^2 = \\frac{1}{n}\\sum (W_i - \\mu_i)^2`
  over the ``n`` entries of the filter, as in the paper. The result has per-filter mean 0 and biased
  standard deviation :math:`\\sigma_i / \\sqrt{\\sigma_i^2 + \\epsilon}` (1 up to ``eps``).

* **Scaled weight standardization** (Brock et al., 2021, *Characterizing signal propagation to close
  the performance gap in unnormalized ResNets*, the NF-Net reference ``nfnets/base.py``):

  .. math::

      \\hat W_i = g_i (W_i - \\mu_i) \\mathrm{rsqrt}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

  with a per-filter gain :math:`g_i` and a fan-in ``F`` (by default the number ``n`` of entries of a
  filter, so :math:`\\hat W_i` has squared norm :math:`g_i^2` up to the variance convention). The
  variance is biased by default (as in NF-Nets); ``unbiased=True`` with ``fan_in`` set to the size of
  the whole weight tensor reproduces ``elektronn3.modules.wsconv`` exactly (see
  :mod:`structconv.compat.elektronn3`).

Which entries form "a filter": by default every dim but ``channel_dim`` (``0`` for ``ConvNd`` and
``Linear`` weights). A ``ConvTransposeNd`` weight is laid out ``(in, out / groups, *kernel)``: its
output filters live along dim ``1``, and with ``groups > 1`` the filter of output channel
``o = k * (out / groups) + j`` is ``weight[k * in / groups:(k + 1) * in / groups, j]``. Pass
``channel_dim=1, groups=groups`` to standardize those true output filters.

Every dtype gives finite kernels and gradients for finite weights: half-precision filters are
standardized in float32, the variance is computed from the filter divided by its largest entry (no overflow
in float32 for entries of 1e19), and ``eps`` is raised to the smallest normal number of the weight's dtype.
A filter of one entry has no variance: it standardizes to 0 (the layers refuse such kernels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from structconv._numerics import compute_dtype, effective_eps, scaled_rsqrt, slice_scale
from structconv._validate import check_bool, check_int, check_real, where
from structconv.constraints._base import KernelConstraint, format_number

__all__ = [
    "ScaledWeightStandardization",
    "WeightStandardization",
    "scaled_weight_standardize",
    "weight_standardize",
]


def _check_eps(eps: float | Tensor, name: str = "eps", owner: str = "") -> float:
    """``eps`` as a float, finite and > 0 (a 0-dim tensor without gradient is accepted, as exporters pass)."""
    if isinstance(eps, torch.Tensor) and eps.numel() == 1 and not eps.requires_grad:
        eps = eps.item()  # exporters (e.g. ONNX tracing) pass Python defaults as 0-dim tensors
    return check_real(eps, name, minimum=0.0, strict=True, owner=owner)  # type: ignore[return-value]


def _check_layout(
    channel_dim: int, dims: Sequence[int] | None, groups: int, owner: str = ""
) -> tuple[int | None, ...]:
    at = where(owner)
    if isinstance(channel_dim, bool) or not isinstance(channel_dim, int) or channel_dim not in (0, 1):
        raise ValueError(
            f"{at}channel_dim={channel_dim!r} is not accepted; expected 0 (ConvNd/Linear) or 1 "
            "(ConvTransposeNd)"
        )
    check_int(groups, "groups", minimum=1, owner=owner)
    if groups > 1 and channel_dim != 1:
        raise ValueError(
            f"{at}groups={groups} is only meaningful with channel_dim=1 (ConvTransposeNd weights); "
            f"got channel_dim={channel_dim}"
        )
    if dims is None:
        return ()
    try:
        out = tuple(int(d) for d in dims)
    except TypeError:
        raise TypeError(f"{at}dims={dims!r} is not accepted; expected None or a sequence of ints") from None
    if groups > 1:
        raise ValueError(f"{at}dims={dims!r} cannot be combined with groups={groups}; leave dims=None")
    if channel_dim in out or len(set(out)) != len(out) or not out or any(d < 0 for d in out):
        raise ValueError(
            f"{at}dims={dims!r} is not accepted; expected distinct non-negative dims to reduce over, "
            f"not containing channel_dim={channel_dim}"
        )
    return out


def _grouped_view(
    weight: Tensor, channel_dim: int, dims: tuple[int, ...], groups: int
) -> tuple[Tensor, list[int]]:
    """Return a view of ``weight`` and the dims to reduce so that each output filter is one slice."""
    if dims:
        if max(dims) >= weight.dim():
            raise ValueError(f"dims={dims} is out of range for a weight with {weight.dim()} dims")
        return weight, list(dims)
    if channel_dim == 0:
        return weight, list(range(1, weight.dim()))
    # ConvTranspose layout (in, out / groups, *k): view as (groups, in / groups, out / groups, *k).
    if weight.dim() < 2 or weight.shape[0] % groups:
        raise ValueError(
            f"a weight of shape {tuple(weight.shape)} cannot be split into groups={groups} along dim 0"
        )
    view = weight.reshape(groups, weight.shape[0] // groups, *weight.shape[1:])
    return view, [1, *range(3, view.dim())]


def _gain_view(
    gain: Tensor, view: Tensor, weight: Tensor, channel_dim: int, groups: int, dims: tuple[int, ...]
) -> Tensor:
    shape = [1] * view.dim()
    if not dims and channel_dim == 1:
        shape[0], shape[2] = groups, weight.shape[1]
    else:
        shape[channel_dim] = weight.shape[channel_dim]
    return gain.reshape(shape)


def _filter_size(weight: Tensor, channel_dim: int, dims: tuple[int, ...], groups: int) -> int:
    if dims:
        return math.prod([weight.shape[d] for d in dims])
    if channel_dim == 0:
        return math.prod(weight.shape[1:])
    return (weight.shape[0] // groups) * math.prod(weight.shape[2:])


def _scale_and_safe(view: Tensor, red: list[int], fan_in: int | Tensor) -> tuple[Tensor, Tensor]:
    """The per-filter scale ``max |W|`` and where the plain formula's squares cannot overflow."""
    s = slice_scale(view, red)
    n = math.prod([view.shape[r] for r in red])
    top = torch.finfo(view.dtype).max / 4.0
    if isinstance(fan_in, Tensor):
        limit = torch.sqrt(top / torch.clamp(fan_in.detach().to(view.dtype), min=n))
    else:
        limit = math.sqrt(top / max(n, fan_in))
    return s, s <= limit


def weight_standardize(
    weight: Tensor,
    eps: float = 1e-5,
    *,
    channel_dim: int = 0,
    dims: Sequence[int] | None = None,
    groups: int = 1,
) -> Tensor:
    """Standardize every output filter of ``weight`` to mean 0 and (biased) standard deviation 1.

    .. math::

        \\hat W_i = (W_i - \\mu_i) / \\sqrt{\\sigma_i^2 + \\epsilon}, \\qquad
        \\sigma_i^2 = \\tfrac{1}{n} \\textstyle\\sum (W_i - \\mu_i)^2 \\ \\text{(biased)}.

    Args:
        weight: a ``ConvNd``/``Linear`` weight (filters along dim 0) or, with ``channel_dim=1``, a
            ``ConvTransposeNd`` weight.
        eps: added to the variance inside the square root; finite and > 0.
        channel_dim: dim of the output channels: ``0`` (``ConvNd``, ``Linear``) or ``1``
            (``ConvTransposeNd``).
        dims: dims to reduce over; default: all but ``channel_dim`` (respecting ``groups``).
        groups: groups of a ``ConvTransposeNd`` weight (``channel_dim=1`` only).

    Returns:
        A tensor of the same shape, differentiable in ``weight``.

    Example:
        >>> w = weight_standardize(torch.randn(8, 4, 3, 3, dtype=torch.float64))
        >>> bool(w.mean((1, 2, 3)).abs().max() < 1e-12)
        True
    """
    eps = effective_eps(_check_eps(eps, owner="weight_standardize"), weight.dtype)
    d = _check_layout(channel_dim, dims, groups, "weight_standardize")
    view, red = _grouped_view(weight.to(compute_dtype(weight.dtype)), channel_dim, d, groups)
    s, safe = _scale_and_safe(view, red, 1)
    # the plain formula where it cannot overflow (bit for bit the reference arithmetic) ...
    v0 = torch.where(safe, view, torch.zeros_like(view))
    var0, mean0 = torch.var_mean(v0, red, correction=0, keepdim=True)
    scale0 = torch.rsqrt(var0 + eps)
    # ... and the filter divided by its largest entry elsewhere
    u = view / s
    var, mean = torch.var_mean(u, red, correction=0, keepdim=True)
    scale = scaled_rsqrt(var, s, eps)  # s / sqrt(var(W) + eps): s cancels, gradients never meet it
    out = torch.where(safe, v0 * scale0 - mean0 * scale0, u * scale - mean * scale)
    return out.reshape(weight.shape).to(weight.dtype)


def scaled_weight_standardize(
    weight: Tensor,
    gain: Tensor | None = None,
    eps: float | Tensor = 1e-4,
    *,
    fan_in: int | Tensor | None = None,
    unbiased: bool = False,
    channel_dim: int = 0,
    dims: Sequence[int] | None = None,
    groups: int = 1,
) -> Tensor:
    """Scaled weight standardization (NF-Nets): ``gain * (W - mean) * rsqrt(max(var * fan_in, eps))``.

    .. math::

        \\hat W_i = g_i (W_i - \\mu_i) \\mathrm{rsqrt}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

    computed as ``W * s - mu * s`` with ``s = rsqrt(max(var * F, eps)) * g`` (one fused scale per filter).

    Args:
        weight: the raw weight; filters along ``channel_dim`` (see the module docstring).
        gain: per-output-filter gain of shape ``(num_filters,)``; ``None`` means 1.
        eps: lower bound of ``var * fan_in`` (a float, or a 0-dim tensor as stored by ``FWS``).
        fan_in: ``F``; default: the number of entries of one filter.
        unbiased: use the unbiased (``n - 1``) variance instead of the biased one.
        channel_dim: ``0`` (``ConvNd``/``Linear``) or ``1`` (``ConvTransposeNd``).
        dims: dims to reduce over; default all but ``channel_dim``.
        groups: groups of a ``ConvTransposeNd`` weight (``channel_dim=1`` only).

    Returns:
        A tensor of the shape of ``weight``, differentiable in ``weight`` and ``gain``.

    Example:
        >>> w = scaled_weight_standardize(torch.randn(8, 4, 3, 3, dtype=torch.float64))
        >>> torch.allclose(w.pow(2).sum((1, 2, 3)), torch.ones(8, dtype=torch.float64))
        True
    """
    d = _check_layout(channel_dim, dims, groups, "scaled_weight_standardize")
    cdtype = compute_dtype(weight.dtype)
    view, red = _grouped_view(weight.to(cdtype), channel_dim, d, groups)
    if fan_in is None:
        fan_in = _filter_size(weight, channel_dim, d, groups)
    floor = effective_eps(0.0, weight.dtype)
    if isinstance(eps, Tensor):
        eps = eps.to(cdtype).clamp_min(floor)
    else:
        eps = max(float(eps), floor)
    correction = 1 if unbiased else 0
    s, safe = _scale_and_safe(view, red, fan_in)
    gain_v = None if gain is None else _gain_view(gain.to(cdtype), view, weight, channel_dim, groups, d)
    # the plain formula where it cannot overflow (bit for bit the reference arithmetic) ...
    v0 = torch.where(safe, view, torch.zeros_like(view))
    var0, mean0 = torch.var_mean(v0, red, correction=correction, keepdim=True)
    scale0 = torch.rsqrt(torch.clamp(var0 * fan_in, min=eps))
    if gain_v is not None:
        scale0 = scale0 * gain_v
    # ... and the filter divided by its largest entry elsewhere
    u = view / s
    var, mean = torch.var_mean(u, red, correction=correction, keepdim=True)
    # s * rsqrt(max(var(W) * F, eps)) with var(W) = s^2 var(u), without forming s^2 where it could overflow
    s_hi, s_lo = s.clamp(min=1.0), s.clamp(max=1.0)
    floor = float(torch.finfo(cdtype).max) ** -0.5  # keeps the derivative of rsqrt finite (constant filter)
    hi = torch.rsqrt(torch.maximum(var * fan_in, (eps / (s_hi * s_hi)).clamp_min(floor)))
    lo = s_lo * torch.rsqrt(torch.maximum(var * fan_in * (s_lo * s_lo), torch.as_tensor(eps).to(var)))
    scale = torch.where(s >= 1.0, hi, lo)
    if gain_v is not None:
        scale = scale * gain_v
    out = torch.where(safe, v0 * scale0 - mean0 * scale0, u * scale - mean * scale)
    return out.reshape(weight.shape).to(weight.dtype)


class WeightStandardization(KernelConstraint):
    """Parametrization ``W -> (W - mean) / sqrt(var + eps)`` per output filter (Qiao et al., 2019).

    The variance is the **biased** one (divide by the number of entries ``n`` of a filter), so the
    standardized filter has mean 0 and biased standard deviation ``1`` up to ``eps``.

    .. math::

        \\hat W_i = (W_i - \\mu_i) / \\sqrt{\\sigma_i^2 + \\epsilon}

    Args:
        eps: added to the variance; finite and > 0. Default: ``1e-5``.
        dims: dims to reduce over; default all but ``channel_dim``.
        channel_dim: ``0`` for ``ConvNd``/``Linear`` weights, ``1`` for ``ConvTransposeNd`` weights.
        groups: groups of a ``ConvTransposeNd`` weight (with ``channel_dim=1``).

    Example:
        >>> from torch.nn.utils import parametrize
        >>> conv = nn.Conv2d(4, 8, 3)
        >>> _ = parametrize.register_parametrization(conv, "weight", WeightStandardization())
        >>> bool(conv.weight.mean((1, 2, 3)).abs().max() < 1e-5)
        True
    """

    name = "weight_standardization"

    def __init__(
        self, eps: float = 1e-5, dims: Sequence[int] | None = None, channel_dim: int = 0, groups: int = 1
    ) -> None:
        super().__init__()
        self.eps = _check_eps(eps, owner="WeightStandardization")
        self.dims = _check_layout(channel_dim, dims, groups, "WeightStandardization") or None
        self.channel_dim = channel_dim
        self.groups = groups

    def forward(self, weight: Tensor) -> Tensor:
        """Return the standardized ``weight``."""
        return weight_standardize(
            weight, self.eps, channel_dim=self.channel_dim, dims=self.dims, groups=self.groups
        )

    @torch.no_grad()
    def project_(self, weight: Tensor) -> Tensor:
        """Standardize ``weight`` in place (hard projection) and return it.

        Example:
            >>> w = WeightStandardization().project_(torch.randn(3, 5))
            >>> bool(w.mean(1).abs().max() < 1e-5)
            True
        """
        return weight.copy_(self.forward(weight))

    def extra_repr(self) -> str:
        """Every constructor argument: ``eval(repr(c))`` rebuilds ``c`` (the variance is always biased)."""
        return (
            f"eps={format_number(self.eps)}, dims={self.dims!r}, channel_dim={self.channel_dim}, "
            f"groups={self.groups}"
        )


class ScaledWeightStandardization(KernelConstraint):
    """Parametrization ``W -> gain * (W - mean) * rsqrt(max(var * fan_in, eps))`` (Brock et al., 2021).

    .. math::

        \\hat W_i = g_i (W_i - \\mu_i) \\mathrm{rsqrt}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

    With the defaults (biased variance, ``F`` = entries per filter) each filter of the result has mean 0
    and squared norm ``g_i ** 2`` (while ``var * F >= eps``), so a unit-variance input keeps unit
    variance through the layer. The gain is a parameter named ``gain`` (a buffer of ones when
    ``learnable_gain=False``).

    Args:
        num_filters: number of output filters (the size of ``gain``).
        eps: lower bound of ``var * fan_in``; finite and > 0. Default: ``1e-4``.
        learnable_gain: register ``gain`` as a parameter (else a buffer of ones).
        dims: dims to reduce over; default all but ``channel_dim``.
        channel_dim: ``0`` for ``ConvNd``/``Linear`` weights, ``1`` for ``ConvTransposeNd`` weights.
        groups: groups of a ``ConvTransposeNd`` weight (with ``channel_dim=1``).
        fan_in: ``F``; default (``None``): entries per filter, computed from the weight.
        unbiased: use the unbiased variance (``n - 1``). Default: ``False``.

    Example:
        >>> from torch.nn.utils import parametrize
        >>> conv = nn.Conv2d(4, 8, 3)
        >>> _ = parametrize.register_parametrization(conv, "weight", ScaledWeightStandardization(8))
        >>> torch.allclose(conv.weight.pow(2).sum((1, 2, 3)), torch.ones(8), atol=1e-5)
        True
    """

    name = "scaled_weight_standardization"

    def __init__(
        self,
        num_filters: int,
        eps: float = 1e-4,
        learnable_gain: bool = True,
        dims: Sequence[int] | None = None,
        channel_dim: int = 0,
        groups: int = 1,
        fan_in: int | None = None,
        unbiased: bool = False,
    ) -> None:
        super().__init__()
        owner = "ScaledWeightStandardization"
        check_int(num_filters, "num_filters", minimum=1, owner=owner)
        if fan_in is not None:
            check_int(fan_in, "fan_in", minimum=1, owner=owner)
        check_bool(learnable_gain, "learnable_gain", owner=owner)
        check_bool(unbiased, "unbiased", owner=owner)
        self.eps = _check_eps(eps, owner=owner)
        self.dims = _check_layout(channel_dim, dims, groups, owner) or None
        self.channel_dim = channel_dim
        self.groups = groups
        self.fan_in = fan_in
        self.unbiased = bool(unbiased)
        self.num_filters = num_filters
        if learnable_gain:
            self.gain = nn.Parameter(torch.ones(num_filters))
        else:
            self.register_buffer("gain", torch.ones(num_filters))

    def forward(self, weight: Tensor) -> Tensor:
        """Return the scaled-standardized ``weight``."""
        n = weight.shape[self.channel_dim] * (
            self.groups if self.channel_dim == 1 and self.dims is None else 1
        )
        if n != self.num_filters:
            raise ValueError(
                f"weight of shape {tuple(weight.shape)} has {n} filters along "
                f"channel_dim={self.channel_dim}; "
                f"expected num_filters={self.num_filters}"
            )
        return scaled_weight_standardize(
            weight,
            self.gain,
            self.eps,
            fan_in=self.fan_in,
            unbiased=self.unbiased,
            channel_dim=self.channel_dim,
            dims=self.dims,
            groups=self.groups,
        )

    @torch.no_grad()
    def project_(self, weight: Tensor) -> Tensor:
        """Overwrite ``weight`` in place with its scaled standardization and return it.

        Example:
            >>> w = ScaledWeightStandardization(3).project_(torch.randn(3, 5))
            >>> torch.allclose(w.pow(2).sum(1), torch.ones(3))
            True
        """
        return weight.copy_(self.forward(weight))

    def _init_value(self, name: str, default: object) -> object:
        if name == "learnable_gain":
            return isinstance(self.gain, nn.Parameter)
        return super()._init_value(name, default)

    def extra_repr(self) -> str:
        """Every constructor argument: ``eval(repr(c))`` rebuilds ``c`` (``fan_in=None``: entries per
        filter)."""
        return (
            f"{self.num_filters}, eps={format_number(self.eps)}, "
            f"learnable_gain={isinstance(self.gain, nn.Parameter)}, dims={self.dims!r}, "
            f"channel_dim={self.channel_dim}, groups={self.groups}, fan_in={self.fan_in!r}, "
            f"unbiased={self.unbiased}"
        )
