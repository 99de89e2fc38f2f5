"""``IIDBatchNorm2d`` / ``IIDBatchNorm3d``: batch normalisation of generic fields whose channels are treated
as identically distributed (escnn's ``IIDBatchNorm*``).

Every field :math:`v` of representation :math:`\\rho` (size :math:`d`) is normalised by one variance, the
average over its channels of the per-channel variance, and centred by the projection of its per-channel mean
onto the invariant subspace of :math:`\\rho` (its trivial irreps, :math:`P = Q_T Q_T^\\top`):

.. math::
    \\mu = P\\, \\mathbb{E}_{b, x}[v], \\qquad
    \\sigma^2 = \\frac{1}{d} \\sum_c \\frac{N}{N - 1}
        \\mathbb{E}_{b, x}\\big[(v_c - \\mathbb{E}_{b, x}[v_c])^2\\big],
    \\qquad y = \\gamma \\frac{v - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + Q_T \\beta

with :math:`N` the number of samples per channel (batch times pixels / voxels), one scale :math:`\\gamma` per
field and one shift per trivial irrep of the field (:math:`\\beta`). Both statistics are invariant (the
summed variance is the mean squared distance of the field from its mean; :math:`P \\rho(g) = P`), so the
map is equivariant. Training normalises by the batch statistics (with their gradient) and updates the running
ones; eval uses the running ones (``track_running_stats=True``) or the batch ones.

These are escnn 1.0.11's semantics, checked against its outputs (``tests/test_modules3d.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ..._numerics import compute_dtype
from ._utils import FieldGrouping, check_dimensionality, check_input, register_grouping
from .batchnormalization import _BatchNormBase, _store_running

__all__ = ["IIDBatchNorm2d", "IIDBatchNorm3d"]


def _trivial_basis(rep, group) -> np.ndarray:
    """``Q_T``: the columns of ``rep``'s change of basis that belong to its trivial irreps, ``(size, t)``."""
    q = np.array(rep.change_of_basis, dtype=np.float64)
    columns, start = [], 0
    for name in rep.irreps:
        irrep = group.irreps[name] if isinstance(name, str) else name
        if irrep.is_trivial():
            columns.append(start)
        start += irrep.size
    return q[:, columns]


def iid_normalise(
    v: torch.Tensor,
    projection: torch.Tensor,
    eps: float,
    spatial: int,
    mean: torch.Tensor | None = None,
    var: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise the fields ``v`` ``[B, n, d, *spatial]`` (``spatial`` axes) of one representation.

    With ``mean`` ``[n, d]`` and ``var`` ``[n]`` given, by them; otherwise by the batch statistics (the
    projected per-channel mean and the channel-averaged unbiased variance). Returns the normalised fields
    and the statistics used. Written with torch operations only: the live module and its exported graph
    both call it.
    """
    if mean is None or var is None:
        dims = (0, *range(3, 3 + spatial))
        mean = torch.matmul(v.mean(dim=dims), projection.t())
        var = v.var(dim=dims, unbiased=True).mean(dim=1)
    tail = (None,) * spatial  # [n, d] -> [1, n, d, 1, ...], [n] -> [1, n, 1, 1, ...] (also while tracing)
    y = (v - mean[(None, Ellipsis, *tail)]) * torch.rsqrt(var + eps)[(None, slice(None), None, *tail)]
    return y, mean, var


class _IIDBatchNorm(_BatchNormBase):
    """Arguments, parameters and forward shared by :class:`IIDBatchNorm2d` and :class:`IIDBatchNorm3d`."""

    _dim = 2
    _counterpart = "IIDBatchNorm3d"

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
        name = type(self).__name__
        check_dimensionality(in_type, self._dim, name, self._counterpart)
        self.track_running_stats = bool(track_running_stats)
        group = in_type.fibergroup
        self._grouping = FieldGrouping(in_type)
        register_grouping(self, self._grouping)
        starts = np.asarray(in_type.fields_start)
        n_trivial = 0
        bias_offset = []
        for rep in in_type.representations:
            bias_offset.append(n_trivial)
            n_trivial += sum(
                1 for r in rep.irreps if (group.irreps[r] if isinstance(r, str) else r).is_trivial()
            )
        self._n_trivial = n_trivial
        dtype = torch.float64  # cast at use: exact in float64 even for a module built in float32
        for g, (rep, ids) in enumerate(zip(self._grouping.reps, self._grouping.field_ids)):
            q_t = _trivial_basis(rep, group)
            self.register_buffer(
                f"_projection_{g}", torch.from_numpy(q_t @ q_t.T).to(dtype), persistent=False
            )
            self.register_buffer(f"_trivial_basis_{g}", torch.from_numpy(q_t).to(dtype), persistent=False)
            self.register_buffer(f"_fields_{g}", torch.from_numpy(ids), persistent=False)
            channels = np.concatenate([np.arange(starts[i], starts[i] + rep.size) for i in ids]).astype(
                np.int64
            )
            self.register_buffer(f"_channels_{g}", torch.from_numpy(channels), persistent=False)
            bias_index = np.array(
                [[bias_offset[i] + k for k in range(q_t.shape[1])] for i in ids], dtype=np.int64
            )
            self.register_buffer(
                f"_bias_index_{g}", torch.from_numpy(bias_index.reshape(len(ids), -1)), persistent=False
            )
        n = len(in_type)
        if self.affine:
            self.weight = torch.nn.Parameter(torch.ones(n))
            self.bias = torch.nn.Parameter(torch.zeros(n_trivial))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(in_type.size))
            self.register_buffer("running_var", torch.ones(n))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Reset the running means to 0, the running variances to 1 and the batch counter to 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def _shift(self, g: int, dtype: torch.dtype) -> torch.Tensor | None:
        """``Q_T β`` of the fields of group ``g``, ``[n, d]`` (``None`` without affine parameters)."""
        if not self.affine:
            return None
        index = getattr(self, f"_bias_index_{g}")
        beta = self.bias.to(dtype).index_select(0, index.flatten()).reshape(index.shape)
        return torch.matmul(beta, getattr(self, f"_trivial_basis_{g}").to(dtype).t())

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Normalise every field with its (batch or running) statistics, then scale and shift it."""
        check_input(self, input)
        x = input.tensor
        cdtype = compute_dtype(x.dtype)
        use_batch = self.training or not self.track_running_stats
        update = self.training and self.track_running_stats
        factor = self._factor() if update else 0.0
        outputs = []
        for g, chunk in enumerate(self._grouping.split(x.to(cdtype), self._in_perm)):
            fields = getattr(self, f"_fields_{g}")
            n, d = chunk.shape[1], chunk.shape[2]
            mean = var = None
            if not use_batch:
                channels = getattr(self, f"_channels_{g}")
                mean = self.running_mean.to(cdtype).index_select(0, channels).reshape(n, d)
                var = self.running_var.to(cdtype).index_select(0, fields)
            y, mean, var = iid_normalise(
                chunk, getattr(self, f"_projection_{g}").to(cdtype), self.eps, self._dim, mean, var
            )
            if update:
                with torch.no_grad():
                    channels = getattr(self, f"_channels_{g}")
                    new_mean = self.running_mean.index_select(0, channels)
                    _store_running(new_mean, factor, mean.detach().reshape(-1))
                    self.running_mean.index_copy_(0, channels, new_mean)
                    new_var = self.running_var.index_select(0, fields)
                    _store_running(new_var, factor, var.detach())
                    self.running_var.index_copy_(0, fields, new_var)
            if self.affine:
                tail = (1,) * (chunk.dim() - 3)
                weight = self.weight.to(cdtype).index_select(0, fields).reshape(1, n, 1, *tail)
                y = y * weight + self._shift(g, cdtype).reshape(1, n, d, *tail)
            outputs.append(y)
        y = self._grouping.merge(outputs, self._out_perm)
        return GeometricTensor(y.to(x.dtype), self.out_type)

    def export(self) -> torch.nn.Module:
        """Return the same map in plain PyTorch (eval mode).

        With running statistics: a ``torch.nn.BatchNorm2d`` (``BatchNorm3d`` in space) whose running mean is
        the fields' projected running mean, whose running variance and scale are the field's repeated per
        channel and whose bias is :math:`Q_T \\beta`. Without them (batch statistics in eval mode too): a
        :class:`torch.fx.GraphModule` computing the live module's batch statistics.
        """
        if not self.track_running_stats:
            return self._export_batch_statistics()
        c = self.in_type.size
        reference = self.running_var
        bn = self._torch_module("BatchNorm")(c, self.eps, self.momentum, True, True)
        bn = bn.to(device=reference.device, dtype=reference.dtype)
        with torch.no_grad():
            weight = torch.ones(c, dtype=torch.float64, device=reference.device)
            bias = torch.zeros(c, dtype=torch.float64, device=reference.device)
            var = torch.ones(c, dtype=torch.float64, device=reference.device)
            for g in range(len(self._grouping.reps)):
                channels = getattr(self, f"_channels_{g}")
                fields = getattr(self, f"_fields_{g}")
                d = self._grouping.sizes[g]
                var[channels] = self.running_var.double().index_select(0, fields).repeat_interleave(d)
                if self.affine:
                    weight[channels] = self.weight.double().index_select(0, fields).repeat_interleave(d)
                    bias[channels] = self._shift(g, torch.float64).reshape(-1)
            bn.running_mean.copy_(self.running_mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
            bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn.eval()

    def _export_batch_statistics(self) -> torch.fx.GraphModule:
        from .._export import to_graph
        from ._graphs import IIDBatchStats

        projections = [getattr(self, f"_projection_{g}") for g in range(len(self._grouping.reps))]
        weights = shifts = None
        if self.affine:
            with torch.no_grad():
                weights = [
                    self.weight.index_select(0, getattr(self, f"_fields_{g}"))
                    for g in range(len(projections))
                ]
                shifts = [self._shift(g, self.weight.dtype) for g in range(len(projections))]
        root = IIDBatchStats(
            self._grouping, self._in_perm, self._out_perm, projections, weights, shifts, self.eps, self._dim
        )
        return to_graph(root, f"{type(self).__name__}Graph")

    def extra_repr(self) -> str:
        return (
            f"{self.in_type}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class IIDBatchNorm2d(_IIDBatchNorm):
    """Batch normalisation of generic planar fields with the statistics of identically distributed channels.

    See the module docstring for the map (escnn's ``IIDBatchNorm2d``); :class:`IIDBatchNorm3d` takes volumes.

    Args:
        in_type: the input field type (on a planar gspace; any representation).
        eps: added to the variance for numerical stability.
        momentum: weight of a new batch in the running statistics; ``None`` for a cumulative average.
        affine: learn a scale per field and a shift per trivial irrep.
        track_running_stats: track running statistics (used in eval mode); if ``False``, batch statistics
            are used in both modes.

    Shape:
        ``[B, C, H, W] -> [B, C, H, W]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, IIDBatchNorm2d
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1)])
        >>> bn = IIDBatchNorm2d(t)
        >>> bn.weight.shape, bn.bias.shape, bn.running_mean.shape, bn.running_var.shape
        (torch.Size([2]), torch.Size([1]), torch.Size([6]), torch.Size([2]))
        >>> bn(GeometricTensor(torch.randn(3, 6, 5, 5), t)).shape
        torch.Size([3, 6, 5, 5])
    """

    _dim = 2
    _counterpart = "IIDBatchNorm3d"


class IIDBatchNorm3d(_IIDBatchNorm):
    """Batch normalisation of generic fields on volumes with the statistics of iid channels.

    See the module docstring for the map (escnn's ``IIDBatchNorm3d``: statistics over the batch and the three
    spatial axes); :class:`IIDBatchNorm2d` takes planar fields.

    Args:
        in_type: the input field type (on a gspace of space; any representation).
        eps: added to the variance for numerical stability.
        momentum: weight of a new batch in the running statistics; ``None`` for a cumulative average.
        affine: learn a scale per field and a shift per trivial irrep.
        track_running_stats: track running statistics (used in eval mode); if ``False``, batch statistics
            are used in both modes.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D, H, W]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, IIDBatchNorm3d
        >>> gs = gspaces.octaOnR3()
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1)])
        >>> bn = IIDBatchNorm3d(t)
        >>> y = bn(GeometricTensor(torch.randn(2, 27, 4, 4, 4) + 3.0, t)).tensor
        >>> bn.export()
        BatchNorm3d(27, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _dim = 3
    _counterpart = "IIDBatchNorm2d"
