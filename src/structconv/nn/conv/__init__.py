"""Steerable convolutions and their basis expansion.

* :mod:`.basisexpansion`: learnable coefficients -> dense steerable filter (:class:`BlocksBasisExpansion`),
  shared by every steerable convolution, planar or volumetric;
* :mod:`.r2conv`, :mod:`.r2conv_transposed`: :class:`R2Conv`, :class:`R2ConvTransposed` (one base
  class);
* :mod:`.r2diffop`: :class:`R2Diffop`, steerable partial differential operators;
* :mod:`.r3conv`: :class:`R3Conv`, :class:`R3ConvTransposed` on voxel grids.

The public names are re-exported by :mod:`structconv.nn`.
"""

from __future__ import annotations

from structconv.nn.conv.basisexpansion import (
    BasisExpansion,
    BlocksBasisExpansion,
    SingleBlockBasisExpansion,
    block_basisexpansion,
    r2_kernel_basis,
    r3_kernel_basis,
)
from structconv.nn.conv.r2conv import R2Conv
from structconv.nn.conv.r2conv_transposed import R2ConvTransposed
from structconv.nn.conv.r2diffop import R2Diffop, r2_diffop_basis
from structconv.nn.conv.r3conv import R3Conv, R3ConvTransposed

__all__ = [
    "BasisExpansion",
    "BlocksBasisExpansion",
    "R2Conv",
    "R2ConvTransposed",
    "R2Diffop",
    "R3Conv",
    "R3ConvTransposed",
    "SingleBlockBasisExpansion",
    "block_basisexpansion",
    "r2_diffop_basis",
    "r2_kernel_basis",
    "r3_kernel_basis",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
