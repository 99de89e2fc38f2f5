"""Typed tensors of the equivariant API (e2cnn / escnn names).

* :mod:`.field_type`: :class:`FieldType`, a gspace and one representation per feature field;
* :mod:`.geometric_tensor`: :class:`GeometricTensor` (a tensor and its field
  type) and :func:`tensor_directsum`;
* :mod:`.equivariant_module`: :class:`EquivariantModule`, the base class of every typed map;
* :mod:`._typecheck`: the one input check of every equivariant module's ``forward``.

Planar (``[B, C, H, W]``) and volumetric (``[B, C, D, H, W]``) tensors share these classes. The public names
are re-exported by :mod:`structconv.nn`.
"""

from __future__ import annotations

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor, tensor_directsum

__all__ = ["EquivariantModule", "FieldType", "GeometricTensor", "tensor_directsum"]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
