"""Exports of the planar graph modules to volumes (private).

The graph roots of :mod:`structconv.nn._export` that apply a map per pixel (``Gate``, ``NormScale``) or reduce
over every pixel (``FieldBatchStats``) shape their constants for ``[B, C, H, W]`` tensors. The volumetric
modules reuse them unchanged on the view ``[B, C, D, H * W]`` of a ``[B, C, D, H, W]`` tensor (a per-voxel map
and a reduction over all voxels do not depend on how the voxels are laid out) and unflatten the result: the
exported graph stays plain torch and computes what the live module computes.
"""

from __future__ import annotations

import torch

__all__ = ["spatial_dim", "for_volumes"]


def spatial_dim(field_type) -> int:
    """The number of spatial axes of the tensors of ``field_type`` (2 on the plane, 3 in space)."""
    return int(getattr(field_type.gspace, "dimensionality", 2))


class _FlatVolumes(torch.nn.Module):
    """``root`` applied to ``x.flatten(3)``, the result unflattened to ``x``'s last two axes."""

    def __init__(self, root: torch.nn.Module) -> None:
        super().__init__()
        self.root = root

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.root(x.flatten(3)).unflatten(3, (x.shape[3], x.shape[4]))


class _FlatVolumes2(_FlatVolumes):
    """As :class:`_FlatVolumes` for a root of two tensors (``GatedNonLinearity2``'s ``(gates, input)``)."""

    def forward(self, gates: torch.Tensor, input: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.root(gates.flatten(3), input.flatten(3)).unflatten(3, (input.shape[3], input.shape[4]))


def for_volumes(root: torch.nn.Module, dim: int, inputs: int = 1) -> torch.nn.Module:
    """``root`` itself on the plane (``dim == 2``); on volumes, ``root`` on ``[B, C, D, H * W]`` views."""
    if dim == 2:
        return root
    return _FlatVolumes(root) if inputs == 1 else _FlatVolumes2(root)


def _grouped_fields() -> type:
    from .._export import GroupedFields

    return GroupedFields


class IIDBatchStats(_grouped_fields()):  # type: ignore[misc]
    """``IIDBatchNorm*`` with batch statistics: :func:`~.iidbatchnorm.iid_normalise` per representation."""

    def __init__(
        self, grouping, in_perm, out_perm, projections, weights, shifts, eps: float, spatial: int
    ) -> None:
        from .._export import copy_tensor

        super().__init__(grouping, in_perm, out_perm)
        self.affine = weights is not None
        self.eps = float(eps)
        self.spatial = int(spatial)
        for g, p in enumerate(projections):
            self.register_buffer(f"projection_{g}", copy_tensor(p))
        for g, (w, s) in enumerate(zip(weights or (), shifts or ())):
            self.register_buffer(f"weight_{g}", copy_tensor(w))
            self.register_buffer(f"shift_{g}", copy_tensor(s))

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        from .iidbatchnorm import iid_normalise

        y = iid_normalise(v, getattr(self, f"projection_{g}").to(v), self.eps, self.spatial)[0]
        if self.affine:
            n, d = self.counts[g], self.sizes[g]
            tail = (1,) * self.spatial
            y = y * getattr(self, f"weight_{g}").to(v).reshape(1, n, 1, *tail)
            y = y + getattr(self, f"shift_{g}").to(v).reshape(1, n, d, *tail)
        return y
