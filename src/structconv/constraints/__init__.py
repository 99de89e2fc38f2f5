"""structconv.constraints: kernel maps ``W = P(theta)``.

Every constraint is a :class:`torch.nn.Module` usable with
:func:`torch.nn.utils.parametrize.register_parametrization`, with an in-place ``project_(weight)``.
"""

from __future__ import annotations

from structconv.constraints._base import Compose, KernelConstraint, constraint_spec, normalize_dims
from structconv.constraints.norm import KERAS_EPSILON, MaxNorm, MinMaxNorm, NormConstraint, UnitNorm
from structconv.constraints.structural import (
    CONSTRAINT_NAMES,
    KERAS_CONSTRAINT_NAMES,
    FixedCenter,
    MaxL2,
    NoConstraint,
    NonNeg,
    NonNegSumToOne,
    StructuralConstraint,
    SumToOne,
    UnitL2,
    ZeroMean,
    make_constraint,
)

__all__: list[str] = [
    "CONSTRAINT_NAMES",
    "KERAS_CONSTRAINT_NAMES",
    "KERAS_EPSILON",
    "Compose",
    "FixedCenter",
    "KernelConstraint",
    "MaxL2",
    "MaxNorm",
    "MinMaxNorm",
    "NoConstraint",
    "NonNeg",
    "NonNegSumToOne",
    "NormConstraint",
    "StructuralConstraint",
    "SumToOne",
    "UnitL2",
    "UnitNorm",
    "ZeroMean",
    "constraint_spec",
    "make_constraint",
    "normalize_dims",
]

from structconv.constraints.standardization import (  # noqa: E402
    ScaledWeightStandardization,
    WeightStandardization,
    scaled_weight_standardize,
    weight_standardize,
)

__all__ += [
    "ScaledWeightStandardization",
    "WeightStandardization",
    "scaled_weight_standardize",
    "weight_standardize",
]
