"""Equivariant batch normalisations.

A batch norm stays equivariant when the statistics it normalises with are invariant and the affine map it
applies commutes with the representation:

* :class:`InnerBatchNorm` (permutation fields): one mean and variance per *field*, shared by its channels.
* :class:`NormBatchNorm` / :class:`InducedNormBatchNorm` (fields without a trivial component, whose mean is
  zero): every field is divided by the root mean square of its norm, times a learnable scale.
* :class:`GNormBatchNorm` (any field): in the irreps basis, trivial components are normalised by their mean
  and variance (with a bias), the others by the mean squared norm of their irrep block.

``momentum=None`` gives a cumulative moving average, as in ``torch.nn.BatchNorm2d``. Running statistics are
persistent buffers whose names do not depend on the train/eval mode.

All of them take planar ``[B, C, H, W]`` and volumetric ``[B, C, D, H, W]`` tensors (fields on a gspace of
space): the statistics run over the batch and every spatial axis, and :meth:`export` gives the ``*3d`` torch
module (``BatchNorm3d``, a 1x1x1 ``Conv3d``) for volumes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ..._numerics import compute_dtype, scaled_rsqrt
from ._graphs import for_volumes, spatial_dim
from ._utils import (
    FieldGrouping,
    check_field_type,
    check_input,
    field_of_channel,
    induced_structure,
    register_grouping,
    require_support,
)

__all__ = ["InnerBatchNorm", "NormBatchNorm", "InducedNormBatchNorm", "GNormBatchNorm"]


def _bessel(count: int) -> float:
    """Bessel's factor ``n / (n - 1)`` of ``n`` samples (1 for a single sample), as e2cnn applies it."""
    return count / (count - 1) if count > 1 else 1.0


def _block_moments(
    x: torch.Tensor, index: torch.Tensor, n_blocks: int, dims: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per block ``b`` of channels: ``S_b``, the largest ``|x|`` (detached; 1 where 0 or not finite), and
    ``t_b``, the sum over its channels of the mean of ``(x / S_b) ** 2``, so that the block's summed second
    moment is ``S_b ** 2 * t_b`` with ``t_b`` never overflowing."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    with torch.no_grad():
        s_c = x.detach().abs().amax(dim=dims)
        big = torch.zeros(n_blocks, dtype=x.dtype, device=x.device)
        big = big.scatter_reduce(0, index, s_c, reduce="amax", include_self=False)
        big = torch.where((big > 0) & torch.isfinite(big), big, 1.0)
    u = x / big.index_select(0, index).view(shape)
    return big, x.new_zeros(n_blocks).index_add(0, index, u.square().mean(dim=dims))


def _store_running(buffer: torch.Tensor, factor: float, value: torch.Tensor) -> None:
    """``buffer <- (1 - factor) buffer + factor value``, in float64, clamped to the buffer dtype's range."""
    new = buffer.double() * (1.0 - factor) + factor * value.double()
    top = torch.finfo(buffer.dtype).max
    buffer.copy_(new.clamp(-top, top).to(buffer.dtype))


class _BatchNormBase(EquivariantModule):
    """Argument checking, running-statistics bookkeeping and shape logic shared by the batch norms."""

    def _setup(self, in_type: FieldType, eps: float, momentum: float | None, affine: bool) -> None:
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < math.inf:
            raise ValueError(f"{name}: eps={eps!r} is not accepted; expected a finite float >= 0")
        if momentum is not None and (
            isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1
        ):
            raise ValueError(
                f"{name}: momentum={momentum!r} is not accepted; expected a float in [0, 1] or None"
            )
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)

    def reset_parameters(self) -> None:
        """Reset the running statistics, the scales to 1 and the shifts to 0."""
        self.reset_running_stats()
        if self.affine:
            with torch.no_grad():
                if getattr(self, "weight", None) is not None:
                    self.weight.fill_(1.0)
                if getattr(self, "bias", None) is not None:
                    self.bias.zero_()

    def _factor(self) -> float:
        """Increase ``num_batches_tracked`` and return the weight of the new batch in the running average."""
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked.item())
        return self.momentum

    @staticmethod
    def _reduce_dims(x: torch.Tensor) -> tuple[list[int], int]:
        dims = [0, *range(2, x.dim())]
        return dims, x.shape[0] * math.prod(x.shape[2:])

    def _torch_module(self, name: str) -> type:
        """``torch.nn``'s ``<name>2d`` on the plane, ``<name>3d`` in space (the gspace's dimensionality)."""
        return getattr(torch.nn, f"{name}{spatial_dim(self.in_type)}d")

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` (batch norms preserve the shape) after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return input_shape


class InnerBatchNorm(_BatchNormBase):
    """Batch normalisation of permutation fields with statistics shared by the channels of each field.

    For field :math:`i` with channels :math:`c \\in i`, statistics run over the batch, the pixels *and* the
    channels of the field (which the group permutes):

    .. math::
        \\mu_i = \\mathbb{E}_{b, x, c \\in i}[v_c], \\quad
        \\sigma_i^2 = \\mathbb{E}_{b, x, c \\in i}[(v_c - \\mu_i)^2], \\quad
        y_c = \\gamma_i \\frac{v_c - \\mu_i}{\\sqrt{\\sigma_i^2 + \\epsilon}} + \\beta_i

    Running estimates use the unbiased variance, as ``torch.nn.BatchNorm2d``.

    Args:
        in_type: the input field type; fields must support ``'pointwise'`` operations.
        eps: added to the variance for numerical stability.
        momentum: weight of a new batch in the running statistics; ``None`` for a cumulative average.
        affine: learn a scale :math:`\\gamma_i` and a shift :math:`\\beta_i` per field.
        track_running_stats: track running statistics (used in eval mode); if ``False``, batch statistics
            are used in both modes.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InnerBatchNorm
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 3)
        >>> bn = InnerBatchNorm(t)
        >>> bn
        InnerBatchNorm([8-Rotations: {regular, regular, regular}], eps=1e-05, momentum=0.1, affine=True,
        track_running_stats=True)
        >>> y = bn(GeometricTensor(torch.randn(4, 24, 5, 5) * 3 + 1, t)).tensor.detach()
        >>> abs(float(y.mean())) < 1e-4
        True
        >>> bn.export().running_mean.shape
        torch.Size([24])
    """

    def __init__(
        self,
        in_type: FieldType,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self._setup(in_type, eps, momentum, affine)
        require_support(in_type, "pointwise", type(self).__name__)
        self.track_running_stats = bool(track_running_stats)
        n = len(in_type)
        self.register_buffer(
            "_field_of_channel", torch.from_numpy(field_of_channel(in_type)), persistent=False
        )
        # fields grouped by size: each group is normalised as one [B, fields, size, ...] tensor, a slice of
        # the input when its channels are consecutive, a gathered copy otherwise (as e2cnn does, so that
        # the reductions run in the same order and the outputs agree bit for bit)
        grouping = FieldGrouping(in_type, keys=[r.size for r in in_type.representations])
        starts, ends = np.asarray(in_type.fields_start), np.asarray(in_type.fields_end)
        self._groups: list[tuple[int, int, int, int | None]] = []
        for g, ids in enumerate(grouping.field_ids):
            chans = np.concatenate([np.arange(starts[i], ends[i]) for i in ids]).astype(np.int64)
            consecutive = bool(np.array_equal(chans, np.arange(chans[0], chans[0] + len(chans))))
            length = len(chans) if consecutive else None
            self._groups.append((len(ids), grouping.sizes[g], int(chans[0]), length))
            self.register_buffer(f"_group_fields_{g}", torch.from_numpy(ids), persistent=False)
            self.register_buffer(f"_group_channels_{g}", torch.from_numpy(chans), persistent=False)
        if self.affine:
            self.weight = torch.nn.Parameter(torch.ones(n))
            self.bias = torch.nn.Parameter(torch.zeros(n))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(n))
            self.register_buffer("running_var", torch.ones(n))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Reset the running mean to 0, the running variance to 1 and the batch counter to 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics and the affine parameters (scale 1, shift 0)."""
        self.reset_running_stats()
        if self.affine:
            torch.nn.init.ones_(self.weight)
            torch.nn.init.zeros_(self.bias)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Normalise every field with its (batch or running) statistics.

        In eval mode (with running statistics) this is ``torch.nn.functional.batch_norm`` with the
        per-field statistics repeated per channel, the very computation of :meth:`export`: the two agree
        bit for bit. In training mode the fields of each size ``s`` are normalised as one
        ``[B, fields, s, ...]`` tensor, as e2cnn does.
        """
        check_input(self, input)
        x = input.tensor
        if not self.training and self.track_running_stats:
            foc = self._field_of_channel
            weight = self.weight.index_select(0, foc).to(x.dtype) if self.affine else None
            bias = self.bias.index_select(0, foc).to(x.dtype) if self.affine else None
            y = F.batch_norm(
                x,
                self.running_mean.index_select(0, foc).to(x.dtype),
                self.running_var.index_select(0, foc).to(x.dtype),
                weight,
                bias,
                False,
                0.0,
                self.eps,
            )
            return GeometricTensor(y, self.out_type)
        update = self.training and self.track_running_stats
        factor = self._factor() if update else 0.0

        b, spatial = x.shape[0], x.shape[2:]
        y = torch.empty_like(x)
        for g, (n_fields, size, first, length) in enumerate(self._groups):
            ids = getattr(self, f"_group_fields_{g}")
            mean = var = weight = bias = None
            if update:
                mean = self.running_mean.index_select(0, ids).to(x.dtype)
                var = self.running_var.index_select(0, ids).to(x.dtype)
            if self.affine:
                weight = self.weight.index_select(0, ids).to(x.dtype)
                bias = self.bias.index_select(0, ids).to(x.dtype)
            if length is not None:
                chunk = x[:, first : first + length]
            else:
                chunk = x.index_select(1, getattr(self, f"_group_channels_{g}"))
            chunk = chunk.reshape(b, n_fields, size, *spatial)
            out = F.batch_norm(chunk, mean, var, weight, bias, True, factor, self.eps)
            out = out.reshape(b, -1, *spatial)
            if length is not None:
                y[:, first : first + length] = out
            else:
                y[:, getattr(self, f"_group_channels_{g}")] = out
            if update:
                with torch.no_grad():
                    self.running_mean.index_copy_(0, ids, mean.to(self.running_mean.dtype))
                    self.running_var.index_copy_(0, ids, var.to(self.running_var.dtype))
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return the same map in plain PyTorch (eval mode): a ``torch.nn.BatchNorm2d`` in general
        (``BatchNorm3d`` for fields on a gspace of space).

        With running statistics (the default), or with fields of size 1 only, the export is a
        ``torch.nn.BatchNorm2d`` holding the per-field statistics and affine parameters repeated per channel:
        exact in eval mode. With ``track_running_stats=False`` and larger fields, eval mode normalises by
        batch statistics shared by the channels of each field, which ``BatchNorm2d`` cannot reproduce: the
        export is then a :class:`torch.fx.GraphModule` (``torch.nn.functional.batch_norm`` of each field
        size's ``[B, fields, size, H, W]`` view, as the live module), which loads with PyTorch alone.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr] * 2)
            >>> InnerBatchNorm(t).export()
            BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
            >>> m = InnerBatchNorm(t, track_running_stats=False)
            >>> x = torch.randn(3, 8, 4, 4)
            >>> bool(torch.allclose(m.export()(x), m.eval()(GeometricTensor(x, t)).tensor))
            True
        """
        sizes = {r.size for r in self.in_type.representations}
        if not self.track_running_stats and sizes != {1}:
            return self._export_batch_statistics()
        c = self.in_type.size
        batch_norm = self._torch_module("BatchNorm")
        bn = batch_norm(c, self.eps, self.momentum, self.affine, self.track_running_stats)
        foc = self._field_of_channel
        reference = self.weight if self.affine else self.running_mean
        if reference is not None:
            bn = bn.to(dtype=reference.dtype)
        with torch.no_grad():
            if self.affine:
                bn.weight.copy_(self.weight.index_select(0, foc))
                bn.bias.copy_(self.bias.index_select(0, foc))
            if self.track_running_stats:
                bn.running_mean.copy_(self.running_mean.index_select(0, foc))
                bn.running_var.copy_(self.running_var.index_select(0, foc))
                bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn.to(foc.device).eval()

    def _export_batch_statistics(self) -> torch.fx.GraphModule:
        """The export without running statistics: per-field batch statistics, traced from torch operations."""
        from .._export import FieldBatchStats, to_graph

        grouping = FieldGrouping(self.in_type, keys=[r.size for r in self.in_type.representations])
        device = self._field_of_channel.device
        weights = biases = None
        if self.affine:
            with torch.no_grad():
                ids = [torch.as_tensor(i, device=device) for i in grouping.field_ids]
                weights = [self.weight.index_select(0, i) for i in ids]
                biases = [self.bias.index_select(0, i) for i in ids]
        perms = [None if p is None else p.to(device) for p in (grouping.in_perm, grouping.out_perm)]
        root = FieldBatchStats(grouping, perms[0], perms[1], weights, biases, self.eps)
        return to_graph(for_volumes(root, spatial_dim(self.in_type)), "InnerBatchNormGraph")

    def extra_repr(self) -> str:
        return (
            f"{self.in_type}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _NormBatchNormBase(_BatchNormBase):
    """Scale-only normalisation by the root mean square of the fields (mean assumed zero)."""

    _support = "norm"

    def __init__(self, in_type: FieldType, eps: float, momentum: float | None, affine: bool) -> None:
        super().__init__()
        self._setup(in_type, eps, momentum, affine)
        name = type(self).__name__
        require_support(in_type, self._support, name)
        for i, rep in enumerate(in_type.representations):
            if rep.contains_trivial():
                raise ValueError(
                    f"{name}: field {i} of in_type has representation '{rep.name}', which contains the "
                    "trivial "
                    "representation (its mean need not be zero); accepted: representations without a trivial "
                    "component (use GNormBatchNorm otherwise)"
                )
        n = len(in_type)
        self.register_buffer(
            "_field_of_channel", torch.from_numpy(field_of_channel(in_type)), persistent=False
        )
        sizes = torch.tensor([float(r.size) for r in in_type.representations], dtype=torch.float64)
        self.register_buffer("_field_size", sizes, persistent=False)
        # samples per pixel of every field in Bessel's factor: 1 here, its sub-fields for induced fields
        subfields = torch.tensor(
            [float(self._samples_per_pixel(r)) for r in in_type.representations], dtype=torch.float64
        )
        self.register_buffer("_samples", subfields, persistent=False)
        if self.affine:
            self.weight = torch.nn.Parameter(torch.ones(n))
        else:
            self.register_parameter("weight", None)
        self.register_buffer("running_var", torch.ones(n))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    @staticmethod
    def _samples_per_pixel(rep) -> int:
        """How many samples a field contributes per batch element and pixel to Bessel's factor."""
        return 1

    def reset_running_stats(self) -> None:
        """Reset the running variance to 1 and the batch counter to 0."""
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics and draw the scales from ``U(0, 1)``, as e2cnn does."""
        self.reset_running_stats()
        if self.affine:
            with torch.no_grad():
                self.weight.uniform_()

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Divide every field by the root of its running variance (updated first in training), times a scale.

        As e2cnn: in training the running variance is updated with the batch's Bessel-corrected variance and
        the output is normalised by the updated running variance (no gradient through the statistics).
        """
        check_input(self, input)
        x = input.tensor
        foc = self._field_of_channel
        shape = (1, -1) + (1,) * (x.dim() - 2)
        cdtype = compute_dtype(x.dtype)
        if self.training:
            dims, count = self._reduce_dims(x)
            with torch.no_grad():
                big, t = _block_moments(x.detach().to(cdtype), foc, len(self.in_type), dims)
                n = self._samples * count  # Bessel's n / (n - 1) per field (1 for a single sample)
                bessel = torch.where(n > 1, n / (n - 1).clamp(min=1), torch.ones_like(n))
                var = big.double().square() * t.double() / self._field_size * bessel
                _store_running(self.running_var, self._factor(), var)
        scale = torch.rsqrt(self.running_var.to(cdtype) + self.eps)
        y = x.to(cdtype) * scale.index_select(0, foc).view(shape)
        if self.affine:  # the weight multiplies normalised values: its gradient cannot overflow
            y = y * self.weight.to(cdtype).index_select(0, foc).view(shape)
        return GeometricTensor(y.to(x.dtype), self.out_type)

    def export(self) -> torch.nn.Module:
        r"""Return the same map as a ``torch.nn.BatchNorm2d`` (``BatchNorm3d`` in space; eval mode).

        In eval mode every channel of field :math:`i` is multiplied by :math:`\gamma_i / \sqrt{r_i +
        \epsilon}`: a ``BatchNorm2d`` whose running mean (and bias) is 0 and whose running variance and scale
        are the field's, repeated per channel (copies of the current values).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(8)
            >>> t = FieldType(gs, [gs.irrep(1), gs.irrep(2)])
            >>> bn = NormBatchNorm(t)
            >>> bn.export()
            BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
            >>> x = torch.randn(2, 4, 3, 3)
            >>> bool(torch.allclose(bn.export()(x), bn.eval()(GeometricTensor(x, t)).tensor))
            True
        """
        foc = self._field_of_channel
        reference = self.weight if self.affine else self.running_var
        bn = self._torch_module("BatchNorm")(self.in_type.size, self.eps, self.momentum, self.affine, True)
        bn = bn.to(device=reference.device, dtype=reference.dtype)
        with torch.no_grad():
            bn.running_mean.zero_()
            bn.running_var.copy_(self.running_var.index_select(0, foc))
            bn.num_batches_tracked.copy_(self.num_batches_tracked)
            if self.affine:
                bn.weight.copy_(self.weight.index_select(0, foc))
                bn.bias.zero_()
        return bn.eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class NormBatchNorm(_NormBatchNormBase):
    """Batch normalisation of isometric fields without a trivial component, by the norms of the fields.

    The mean of such a field is zero (averaging :math:`\\rho(g) v` over the group gives zero), so only a
    scale is estimated, per field :math:`i` of size :math:`d_i`:

    .. math::
        \\sigma_i^2 = \\frac{N}{N - 1} \\frac{1}{d_i} \\mathbb{E}_{b, x} \\|v_i\\|^2, \\qquad
        r_i \\leftarrow (1 - m) r_i + m \\sigma_i^2, \\qquad
        y_i = \\gamma_i \\frac{v_i}{\\sqrt{r_i + \\epsilon}}

    with :math:`N` the number of samples (batch times pixels) and :math:`m` the momentum. As in e2cnn, the
    output is normalised by the running variance :math:`r_i` in training too (updated first), so training and
    eval outputs differ only by that update, and no gradient flows through the statistics. Large fields are
    handled without overflow (the running variance saturates at the buffer dtype's largest value).

    Args:
        in_type: the input field type; fields must support ``'norm'`` and contain no trivial irrep.
        eps: added to the variance for numerical stability.
        momentum: weight of a new batch in ``running_var``; ``None`` for a cumulative average.
        affine: learn a scale :math:`\\gamma_i` per field.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, NormBatchNorm
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.irrep(1), gs.irrep(2)])
        >>> bn = NormBatchNorm(t)
        >>> bn(GeometricTensor(torch.randn(4, 4, 5, 5), t)).shape
        torch.Size([4, 4, 5, 5])
    """

    def __init__(
        self, in_type: FieldType, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True
    ) -> None:
        super().__init__(in_type, eps, momentum, affine)


class InducedNormBatchNorm(_NormBatchNormBase):
    """Batch normalisation of induced isometric fields: one scale shared by all sub-fields of a field.

    For :math:`\\mathrm{Ind}_H^G \\psi` with :math:`\\psi` non-trivial isometric, the mean is zero and the
    variance of field :math:`i` is the mean squared norm of its sub-fields per channel,

    .. math::
        \\sigma_i^2 = \\frac{N_i}{N_i - 1} \\frac{1}{d_i} \\mathbb{E}_{b, x} \\sum_j \\|v_{i,j}\\|^2, \\qquad
        r_i \\leftarrow (1 - m) r_i + m \\sigma_i^2, \\qquad
        y_i = \\gamma_i \\frac{v_i}{\\sqrt{r_i + \\epsilon}}

    normalised by the running variance in training too, as :class:`NormBatchNorm`. As in e2cnn, every
    sub-field is one sample in Bessel's factor: :math:`N_i` is batch times pixels times the number of
    sub-fields :math:`|G/H|` of field :math:`i`.

    Args:
        in_type: the input field type; fields must support ``'induced_norm'`` and contain no trivial irrep.
        eps: added to the variance for numerical stability.
        momentum: weight of a new batch in ``running_var``; ``None`` for a cumulative average.
        affine: learn a scale :math:`\\gamma_i` per field.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InducedNormBatchNorm
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> rep = gs.induced_repr((None, 4), gs.restrict((None, 4))[0].irrep(1))
        >>> t = FieldType(gs, [rep] * 2)
        >>> InducedNormBatchNorm(t)(GeometricTensor(torch.randn(3, t.size, 4, 4), t)).shape
        torch.Size([3, 8, 4, 4])
    """

    _support = "induced_norm"

    def __init__(
        self, in_type: FieldType, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True
    ) -> None:
        super().__init__(in_type, eps, momentum, affine)

    @staticmethod
    def _samples_per_pixel(rep) -> int:
        # every sub-field is a sample (as e2cnn): N = batch x pixels x sub-fields in Bessel's factor
        structure = induced_structure(rep)
        return 1 if structure is None else structure[0]


class GNormBatchNorm(_BatchNormBase):
    """Batch normalisation of generic fields, in the basis of their irreducible components.

    Every field :math:`v = Q z` is expressed in its irreps basis :math:`z = Q^{-1} v`. Each trivial
    component :math:`z_t` is normalised by its mean and variance (with a scale and a bias); each non-trivial
    irrep block :math:`z_k` of size :math:`d_k` (mean zero) by its mean squared norm (with a scale):

    .. math::
        z_t \\mapsto \\gamma_t \\frac{z_t - \\mu_t}{\\sqrt{\\sigma_t^2 + \\epsilon}} + \\beta_t, \\qquad
        z_k \\mapsto \\gamma_k \\frac{z_k}{\\sqrt{\\sigma_k^2 + \\epsilon}}, \\qquad
        \\sigma_k^2 = \\frac{N}{N - 1} \\frac{\\mathbb{E}\\|z_k\\|^2}{d_k}

    with Bessel's factor :math:`N / (N - 1)` (:math:`N` = batch times pixels) on every block, trivial or not,
    as e2cnn. Training normalises by these batch statistics (with their gradient), eval by the running ones.

    and mapped back with :math:`Q`. The block scalings commute with the irreps, hence the equivariance.

    Args:
        in_type: the input field type (any representation).
        eps: added to the variances for numerical stability.
        momentum: weight of a new batch in the running statistics; ``None`` for a cumulative average.
        affine: learn a scale per irrep block and a bias per trivial component.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, GNormBatchNorm
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1)])
        >>> bn = GNormBatchNorm(t)
        >>> bn.running_var.shape, bn.running_mean.shape
        (torch.Size([4]), torch.Size([1]))
    """

    def __init__(
        self, in_type: FieldType, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True
    ) -> None:
        super().__init__()
        self._setup(in_type, eps, momentum, affine)
        group = in_type.fibergroup
        self._grouping = FieldGrouping(in_type)
        register_grouping(self, self._grouping)
        blocks, dims, trivial_channels, trivial_blocks = [], [], [], []
        channel, block = 0, 0
        for g, (rep, count) in enumerate(zip(self._grouping.reps, self._grouping.counts)):
            q = np.array(rep.change_of_basis, dtype=np.float64)
            q_inv = np.array(rep.change_of_basis_inv, dtype=np.float64)
            self.register_buffer(
                f"_cob_{g}", torch.from_numpy(q).to(torch.get_default_dtype()), persistent=False
            )
            self.register_buffer(
                f"_cob_inv_{g}", torch.from_numpy(q_inv).to(torch.get_default_dtype()), persistent=False
            )
            irreps = [group.irreps[name] if isinstance(name, str) else name for name in rep.irreps]
            for _ in range(count):
                for irr in irreps:
                    blocks.extend([block] * irr.size)
                    dims.append(irr.size)
                    if irr.is_trivial():
                        trivial_channels.append(channel)
                        trivial_blocks.append(block)
                    channel += irr.size
                    block += 1
        self._n_blocks = block
        self.register_buffer("_block_of_channel", torch.tensor(blocks, dtype=torch.long), persistent=False)
        self.register_buffer("_block_dim", torch.tensor(dims, dtype=torch.float64), persistent=False)
        self.register_buffer(
            "_trivial_channels", torch.tensor(trivial_channels, dtype=torch.long), persistent=False
        )
        self.register_buffer(
            "_trivial_blocks", torch.tensor(trivial_blocks, dtype=torch.long), persistent=False
        )
        n_trivial = len(trivial_channels)
        if self.affine:
            self.weight = torch.nn.Parameter(torch.ones(block))
            self.bias = torch.nn.Parameter(torch.zeros(n_trivial))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(n_trivial))
        self.register_buffer("running_var", torch.ones(block))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_running_stats(self) -> None:
        """Reset the running means to 0, the running variances to 1 and the batch counter to 0."""
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()

    def _change_basis(self, x: torch.Tensor, inverse: bool, out_perm: torch.Tensor | None) -> torch.Tensor:
        prefix = "_cob_inv_" if inverse else "_cob_"

        def fn(g: int, v: torch.Tensor) -> torch.Tensor:
            return torch.einsum("ij,bnj...->bni...", getattr(self, f"{prefix}{g}").to(v.dtype), v)

        return self._grouping.apply(x, self._in_perm if inverse else None, out_perm, fn)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Normalise every irrep component of every field."""
        check_input(self, input)
        x = input.tensor
        shape = (1, -1) + (1,) * (x.dim() - 2)
        cdtype = compute_dtype(x.dtype)
        z = self._change_basis(x.to(cdtype), inverse=True, out_perm=None)  # irreps basis, fields grouped
        c = z.shape[1]
        tc, boc = self._trivial_channels, self._block_of_channel
        dims_f = self._block_dim.to(cdtype)
        if self.training:
            dims, count = self._reduce_dims(z)
            trivial = z.index_select(1, tc)
            # the trivial means as sums of x / count: neither they nor their gradients can overflow
            mean = (trivial / count).sum(dim=dims)
            centered = z - z.new_zeros(c).index_copy(0, tc, mean).view(shape)
            # Bessel-corrected variance of every block (as e2cnn), S_b^2 t_b / d_b without overflow
            big, t = _block_moments(centered, boc, self._n_blocks, dims)
            t = t / dims_f * _bessel(count)
            # (centered / S) * (S / sqrt(var + eps)): S (detached) never multiplies a summed gradient
            q = scaled_rsqrt(t, big, self.eps)
            y = (centered / big.index_select(0, boc).view(shape)) * q.index_select(0, boc).view(shape)
            with torch.no_grad():
                factor = self._factor()
                _store_running(self.running_var, factor, big.double().square() * t.detach().double())
                _store_running(self.running_mean, factor, mean.detach())
        else:
            centered = z - z.new_zeros(c).index_copy(0, tc, self.running_mean.to(cdtype)).view(shape)
            scale = torch.rsqrt(self.running_var.to(cdtype) + self.eps)
            y = centered * scale.index_select(0, boc).view(shape)
        if self.affine:  # the weight multiplies normalised values: its gradient cannot overflow
            y = y * self.weight.to(cdtype).index_select(0, boc).view(shape)
        if self.affine:
            y = y + z.new_zeros(c).index_copy(0, tc, self.bias.to(cdtype)).view(shape)
        y = self._change_basis(y, inverse=False, out_perm=self._out_perm)
        return GeometricTensor(y.to(x.dtype), self.out_type)

    def export(self) -> torch.nn.Module:
        r"""Return the same map as a 1×1 ``torch.nn.Conv2d`` with bias (eval mode; 1×1×1 ``Conv3d`` in space).

        In eval mode the module is affine in every field: with :math:`S` the scales :math:`\gamma_k /
        \sqrt{\sigma_k^2 + \epsilon}` of its irrep blocks, :math:`\mu` the running means and :math:`\beta`
        the biases of its trivial components (zero elsewhere),

        .. math::
            y = Q \big(S (Q^{-1} v - \mu) + \beta\big) = Q S Q^{-1} v + Q (\beta - S \mu).

        The matrices :math:`Q S Q^{-1}` and the offsets are formed in float64 from the current statistics and
        parameters, and stored in the module's dtype. When all fields have the same size the convolution has
        one group per field (weights ``[C, size, 1, 1]``); otherwise it is a dense ``C × C`` 1×1 convolution,
        zero outside the fields' diagonal blocks.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.regular_repr])
            >>> bn = GNormBatchNorm(t)
            >>> bn.export()
            Conv2d(8, 8, kernel_size=(1, 1), stride=(1, 1), groups=2)
            >>> x = torch.randn(2, 8, 3, 3)
            >>> bool(torch.allclose(bn.export()(x), bn.eval()(GeometricTensor(x, t)).tensor, atol=1e-6))
            True
        """
        f64 = torch.float64
        c = self.in_type.size
        tc, boc = self._trivial_channels.cpu(), self._block_of_channel.cpu()
        with torch.no_grad():
            scale = torch.rsqrt(self.running_var.detach().cpu().to(f64) + self.eps)
            if self.affine:
                scale = scale * self.weight.detach().cpu().to(f64)
            scale = scale.index_select(0, boc)  # per channel, fields in group order, irreps basis
            mean = torch.zeros(c, dtype=f64).index_copy(0, tc, self.running_mean.detach().cpu().to(f64))
            shift = torch.zeros(c, dtype=f64)
            if self.affine:
                shift = shift.index_copy(0, tc, self.bias.detach().cpu().to(f64))
            sizes = [r.size for r in self.in_type.representations]
            uniform = len(set(sizes)) == 1
            weight = torch.zeros(c, sizes[0] if uniform else c, dtype=f64)
            bias = torch.zeros(c, dtype=f64)
            starts = self.in_type.fields_start
            position = 0  # start of the field in the grouped (irreps-basis) layout
            for g, ids in enumerate(self._grouping.field_ids):
                q = getattr(self, f"_cob_{g}").detach().cpu().to(f64)
                q_inv = getattr(self, f"_cob_inv_{g}").detach().cpu().to(f64)
                n = self._grouping.sizes[g]
                for i in ids:
                    s_i, m_i, b_i = (v[position : position + n] for v in (scale, mean, shift))
                    block = q @ (s_i[:, None] * q_inv)
                    start = int(starts[i])
                    weight[start : start + n, slice(None) if uniform else slice(start, start + n)] = block
                    bias[start : start + n] = q @ (b_i - s_i * m_i)
                    position += n
        reference = self.running_var
        conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            self._torch_module("Conv"),
            c,
            c,
            1,
            groups=c // weight.shape[1],
            bias=True,
            device=reference.device,
            dtype=reference.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(weight.reshape(*weight.shape, *(1,) * (conv.weight.dim() - 2)))
            conv.bias.copy_(bias)
        return conv.eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
