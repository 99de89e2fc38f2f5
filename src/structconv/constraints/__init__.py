"""structconv.constraints: kernel maps ``W = P(theta)``.

Every constraint is a :class:`torch.nn.Module` usable with
:func:`torch.nn.utils.parametrize.register_parametrization`, with an in-place ``project_(weight)``.
"""

from __future__ import annotations

from structconv.constraints._base import Compose, KernelConstraint, constraint_spec, normalize_dims
from structconv.constraints.factory import (
    CONSTRAINT_ALIASES,
    KERAS_CONSTRAINT_NAMES,
    STANDARDIZATION_NAMES,
    constraint_names,
    make_constraint,
)
from structconv.constraints.norm import KERAS_EPSILON, MaxNorm, MinMaxNorm, NormConstraint, UnitNorm
from structconv.constraints.structural import (
    CONSTRAINT_NAMES,
    FixedCenter,
    MaxL2,
    NoConstraint,
    NonNeg,
    NonNegSumToOne,
    StructuralConstraint,
    SumToOne,
    UnitL2,
    ZeroMean,
)

__all__: list[str] = [
    "CONSTRAINT_ALIASES",
    "CONSTRAINT_NAMES",
    "KERAS_CONSTRAINT_NAMES",
    "STANDARDIZATION_NAMES",
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
    "constraint_names",
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

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
