"""structconv.nn: the layers users build with.

* Constrained convolutions (:class:`ConstrainedConv2d`, ...) and weight-standardized convolutions
  (:class:`WSConv2d`, :class:`FWS`, ...): ordinary ``torch.nn`` layers whose kernel is ``W = P(θ)``.
* The E(2)-equivariant steerable CNN API (the ``e2cnn.nn`` names): typed tensors (:class:`FieldType`,
  :class:`GeometricTensor`, :class:`EquivariantModule`), steerable convolutions (:class:`R2Conv`,
  :class:`R2ConvTransposed`, :class:`R2Diffop`; on voxel grids :class:`R3Conv`, :class:`R3ConvTransposed`),
  non-linearities, invariant maps, pooling, batch norms,
  dropout, containers and :mod:`structconv.nn.init`.

Example:
    >>> from structconv import gspaces, nn
    >>> gs = gspaces.Rot2dOnR2(8)
    >>> t_in = nn.FieldType(gs, [gs.trivial_repr])
    >>> t_out = nn.FieldType(gs, [gs.regular_repr] * 2)
    >>> conv = nn.R2Conv(t_in, t_out, kernel_size=5, padding=2)
    >>> conv(nn.GeometricTensor(torch.randn(1, 1, 9, 9), t_in)).shape
    torch.Size([1, 16, 9, 9])
"""

from __future__ import annotations

from structconv.nn import init
from structconv.nn.constrained.layers import (
    ConstrainedConv1d,
    ConstrainedConv2d,
    ConstrainedConv3d,
    ConstrainedConvTranspose1d,
    ConstrainedConvTranspose2d,
    ConstrainedConvTranspose3d,
    ConstrainedLayerMixin,
    ConstrainedLinear,
)
from structconv.nn.constrained.separable import ConstrainedSeparableConv2d
from structconv.nn.constrained.wsconv import (
    FWS,
    WSConv1d,
    WSConv2d,
    WSConv3d,
    WSConvTranspose1d,
    WSConvTranspose2d,
    WSConvTranspose3d,
)
from structconv.nn.conv.basisexpansion import (
    BasisExpansion,
    BlocksBasisExpansion,
    SingleBlockBasisExpansion,
    block_basisexpansion,
)
from structconv.nn.conv.r2conv import R2Conv
from structconv.nn.conv.r2conv_transposed import R2ConvTransposed
from structconv.nn.conv.r2diffop import R2Diffop
from structconv.nn.conv.r3conv import R3Conv, R3ConvTransposed
from structconv.nn.modules import (
    ELU,
    BranchingModule,
    ConcatenatedNonLinearity,
    DisentangleModule,
    FieldDropout,
    FourierELU,
    FourierPointwise,
    GatedNonLinearity1,
    GatedNonLinearity2,
    GNormBatchNorm,
    GroupPooling,
    IdentityModule,
    IIDBatchNorm2d,
    IIDBatchNorm3d,
    InducedGatedNonLinearity1,
    InducedNormBatchNorm,
    InducedNormNonLinearity,
    InducedNormPool,
    InnerBatchNorm,
    MaskModule,
    MaxPoolChannels,
    MergeModule,
    ModuleList,
    MultipleModule,
    NormBatchNorm,
    NormMaxPool,
    NormNonLinearity,
    NormPool,
    PointwiseAdaptiveAvgPool,
    PointwiseAdaptiveAvgPool2D,
    PointwiseAdaptiveAvgPool3D,
    PointwiseAdaptiveMaxPool,
    PointwiseAdaptiveMaxPool2D,
    PointwiseAdaptiveMaxPool3D,
    PointwiseAvgPool,
    PointwiseAvgPool2D,
    PointwiseAvgPool3D,
    PointwiseAvgPoolAntialiased,
    PointwiseAvgPoolAntialiased2D,
    PointwiseAvgPoolAntialiased3D,
    PointwiseDropout,
    PointwiseMaxPool,
    PointwiseMaxPool2D,
    PointwiseMaxPool3D,
    PointwiseMaxPoolAntialiased,
    PointwiseMaxPoolAntialiased2D,
    PointwiseMaxPoolAntialiased3D,
    PointwiseNonLinearity,
    QuotientFourierELU,
    QuotientFourierPointwise,
    R2Upsampling,
    R3Upsampling,
    ReLU,
    ReshuffleModule,
    RestrictionModule,
    SequentialModule,
    VectorFieldNonLinearity,
)
from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor, tensor_directsum

__all__ = [
    # constrained and weight-standardized convolutions
    "ConstrainedConv1d",
    "ConstrainedConv2d",
    "ConstrainedConv3d",
    "ConstrainedConvTranspose1d",
    "ConstrainedConvTranspose2d",
    "ConstrainedConvTranspose3d",
    "ConstrainedLayerMixin",
    "ConstrainedLinear",
    "ConstrainedSeparableConv2d",
    "FWS",
    "WSConv1d",
    "WSConv2d",
    "WSConv3d",
    "WSConvTranspose1d",
    "WSConvTranspose2d",
    "WSConvTranspose3d",
    # typed tensors
    "EquivariantModule",
    "FieldType",
    "GeometricTensor",
    "tensor_directsum",
    # steerable convolutions and their basis expansion
    "BasisExpansion",
    "BlocksBasisExpansion",
    "R2Conv",
    "R2ConvTransposed",
    "R3Conv",
    "R3ConvTransposed",
    "R2Diffop",
    "SingleBlockBasisExpansion",
    "block_basisexpansion",
    "init",
    # non-linearities
    "ConcatenatedNonLinearity",
    "ELU",
    "FourierELU",
    "FourierPointwise",
    "QuotientFourierELU",
    "QuotientFourierPointwise",
    "GatedNonLinearity1",
    "GatedNonLinearity2",
    "InducedGatedNonLinearity1",
    "InducedNormNonLinearity",
    "NormNonLinearity",
    "PointwiseNonLinearity",
    "ReLU",
    "VectorFieldNonLinearity",
    # invariant maps and pooling
    "GroupPooling",
    "InducedNormPool",
    "MaxPoolChannels",
    "NormMaxPool",
    "NormPool",
    "PointwiseAdaptiveAvgPool",
    "PointwiseAdaptiveMaxPool",
    "PointwiseAvgPool",
    "PointwiseAvgPoolAntialiased",
    "PointwiseMaxPool",
    "PointwiseMaxPoolAntialiased",
    "PointwiseMaxPool2D",
    "PointwiseMaxPoolAntialiased2D",
    "PointwiseAvgPool2D",
    "PointwiseAvgPoolAntialiased2D",
    "PointwiseAdaptiveAvgPool2D",
    "PointwiseAdaptiveMaxPool2D",
    "PointwiseMaxPool3D",
    "PointwiseMaxPoolAntialiased3D",
    "PointwiseAvgPool3D",
    "PointwiseAvgPoolAntialiased3D",
    "PointwiseAdaptiveAvgPool3D",
    "PointwiseAdaptiveMaxPool3D",
    # normalization and dropout
    "FieldDropout",
    "GNormBatchNorm",
    "InducedNormBatchNorm",
    "InnerBatchNorm",
    "NormBatchNorm",
    "IIDBatchNorm2d",
    "IIDBatchNorm3d",
    "PointwiseDropout",
    # containers and other modules
    "BranchingModule",
    "DisentangleModule",
    "IdentityModule",
    "MaskModule",
    "MergeModule",
    "ModuleList",
    "MultipleModule",
    "R2Upsampling",
    "R3Upsampling",
    "ReshuffleModule",
    "RestrictionModule",
    "SequentialModule",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)


def _alias_old_module_paths() -> None:
    """Keep the module paths of releases before the rooms of ``nn/`` importable, so whole-module pickles
    (``torch.save(model)``) made with them still load: each old path names the module now in a room."""
    import importlib
    import sys

    moved = {
        "constrained": "constrained.layers",
        "wsconv": "constrained.wsconv",
        "separable": "constrained.separable",
        "field_type": "typed.field_type",
        "geometric_tensor": "typed.geometric_tensor",
        "equivariant_module": "typed.equivariant_module",
        "basisexpansion": "conv.basisexpansion",
        "r2conv": "conv.r2conv",
        "r2conv_transposed": "conv.r2conv_transposed",
        "r2diffop": "conv.r2diffop",
    }
    for old, new in moved.items():
        if old == "constrained":
            continue  # the package ``structconv.nn.constrained`` re-exports the classes of its ``layers``
        sys.modules.setdefault(f"{__name__}.{old}", importlib.import_module(f"{__name__}.{new}"))


_alias_old_module_paths()
