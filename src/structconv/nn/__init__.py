"""structconv.nn."""

from __future__ import annotations

__all__: list[str] = []

from structconv.nn.constrained import (  # noqa: E402
    ConstrainedConv1d,
    ConstrainedConv2d,
    ConstrainedConv3d,
    ConstrainedConvTranspose1d,
    ConstrainedConvTranspose2d,
    ConstrainedConvTranspose3d,
    ConstrainedLayerMixin,
    ConstrainedLinear,
)

__all__ += [
    "ConstrainedConv1d",
    "ConstrainedConv2d",
    "ConstrainedConv3d",
    "ConstrainedConvTranspose1d",
    "ConstrainedConvTranspose2d",
    "ConstrainedConvTranspose3d",
    "ConstrainedLayerMixin",
    "ConstrainedLinear",
]

from structconv.nn.equivariant_module import EquivariantModule  # noqa: E402
from structconv.nn.field_type import FieldType  # noqa: E402
from structconv.nn.geometric_tensor import GeometricTensor, tensor_directsum  # noqa: E402

__all__ += ["FieldType", "GeometricTensor", "tensor_directsum", "EquivariantModule"]

from structconv.nn.wsconv import (  # noqa: E402
    FWS,
    WSConv1d,
    WSConv2d,
    WSConv3d,
    WSConvTranspose1d,
    WSConvTranspose2d,
    WSConvTranspose3d,
)

__all__ += ["FWS", "WSConv1d", "WSConv2d", "WSConv3d", "WSConvTranspose1d", "WSConvTranspose2d", "WSConvTranspose3d"]

from structconv.nn.modules import (  # noqa: E402
    ELU,
    BranchingModule,
    ConcatenatedNonLinearity,
    DisentangleModule,
    FieldDropout,
    GatedNonLinearity1,
    GatedNonLinearity2,
    GNormBatchNorm,
    GroupPooling,
    IdentityModule,
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
    PointwiseAdaptiveMaxPool,
    PointwiseAvgPool,
    PointwiseAvgPoolAntialiased,
    PointwiseDropout,
    PointwiseMaxPool,
    PointwiseMaxPoolAntialiased,
    PointwiseNonLinearity,
    R2Upsampling,
    ReLU,
    ReshuffleModule,
    RestrictionModule,
    SequentialModule,
    VectorFieldNonLinearity,
)

__all__ += [
    "BranchingModule",
    "ConcatenatedNonLinearity",
    "DisentangleModule",
    "ELU",
    "FieldDropout",
    "GatedNonLinearity1",
    "GatedNonLinearity2",
    "GNormBatchNorm",
    "GroupPooling",
    "IdentityModule",
    "InducedGatedNonLinearity1",
    "InducedNormBatchNorm",
    "InducedNormNonLinearity",
    "InducedNormPool",
    "InnerBatchNorm",
    "MaskModule",
    "MaxPoolChannels",
    "MergeModule",
    "ModuleList",
    "MultipleModule",
    "NormBatchNorm",
    "NormMaxPool",
    "NormNonLinearity",
    "NormPool",
    "PointwiseAdaptiveAvgPool",
    "PointwiseAdaptiveMaxPool",
    "PointwiseAvgPool",
    "PointwiseAvgPoolAntialiased",
    "PointwiseDropout",
    "PointwiseMaxPool",
    "PointwiseMaxPoolAntialiased",
    "PointwiseNonLinearity",
    "R2Upsampling",
    "ReLU",
    "ReshuffleModule",
    "RestrictionModule",
    "SequentialModule",
    "VectorFieldNonLinearity",
]

from structconv.nn import init  # noqa: E402
from structconv.nn.basisexpansion import (  # noqa: E402
    BasisExpansion,
    BlocksBasisExpansion,
    SingleBlockBasisExpansion,
    block_basisexpansion,
)
from structconv.nn.r2conv import R2Conv  # noqa: E402
from structconv.nn.r2conv_transposed import R2ConvTransposed  # noqa: E402

__all__ += [
    "BasisExpansion",
    "BlocksBasisExpansion",
    "R2Conv",
    "R2ConvTransposed",
    "SingleBlockBasisExpansion",
    "block_basisexpansion",
    "init",
]

from structconv.nn.r2diffop import R2Diffop  # noqa: E402

__all__ += ["R2Diffop"]
