"""Equivariant modules built on the typed tensors: non-linearities, invariant maps, pooling, batch norms,
dropout, containers and utility modules (the ``e2cnn.nn`` document's modules besides the convolutions)."""

from __future__ import annotations

from .batchnormalization import GNormBatchNorm, InducedNormBatchNorm, InnerBatchNorm, NormBatchNorm
from .disentangle import DisentangleModule
from .dropout import FieldDropout, PointwiseDropout
from .fourier import FourierELU, FourierPointwise, QuotientFourierELU, QuotientFourierPointwise
from .gated import GatedNonLinearity1, GatedNonLinearity2, InducedGatedNonLinearity1
from .identity import IdentityModule
from .iidbatchnorm import IIDBatchNorm2d, IIDBatchNorm3d
from .invariantmaps import GroupPooling, InducedNormPool, MaxPoolChannels, NormPool
from .masking import MaskModule
from .modulelist import ModuleList
from .multiple import BranchingModule, MergeModule, MultipleModule
from .nonlinearities import (
    ELU,
    ConcatenatedNonLinearity,
    PointwiseNonLinearity,
    ReLU,
    VectorFieldNonLinearity,
)
from .norm_nonlinearities import InducedNormNonLinearity, NormNonLinearity
from .pooling import (
    NormMaxPool,
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
    PointwiseMaxPool,
    PointwiseMaxPool2D,
    PointwiseMaxPool3D,
    PointwiseMaxPoolAntialiased,
    PointwiseMaxPoolAntialiased2D,
    PointwiseMaxPoolAntialiased3D,
)
from .reshuffle import ReshuffleModule
from .restriction import RestrictionModule
from .sequential import SequentialModule
from .upsampling import R2Upsampling, R3Upsampling

__all__ = [
    "BranchingModule",
    "ConcatenatedNonLinearity",
    "DisentangleModule",
    "ELU",
    "FieldDropout",
    "FourierELU",
    "FourierPointwise",
    "QuotientFourierELU",
    "QuotientFourierPointwise",
    "GNormBatchNorm",
    "GatedNonLinearity1",
    "GatedNonLinearity2",
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
    "R3Upsampling",
    "IIDBatchNorm2d",
    "IIDBatchNorm3d",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
