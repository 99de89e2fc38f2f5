"""Keras constraint names as strings, with their Keras arguments, wherever a constraint is accepted."""

from __future__ import annotations

import pytest
import torch

import structconv
from structconv import nn
from structconv.constraints import (
    KERAS_CONSTRAINT_NAMES,
    KERAS_EPSILON,
    FixedCenter,
    MaxL2,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    UnitNorm,
    ZeroMean,
    constraint_spec,
    make_constraint,
)


def test_names_with_keras_defaults():
    assert KERAS_CONSTRAINT_NAMES == ("max_norm", "min_max_norm", "unit_norm", "non_neg")
    c = make_constraint("max_norm")
    assert isinstance(c, MaxNorm) and c.max_value == 2.0 and c.eps == KERAS_EPSILON and c.axis is None
    c = make_constraint("min_max_norm")
    assert isinstance(c, MinMaxNorm) and (c.min_value, c.max_value, c.rate) == (0.0, 1.0, 1.0)
    assert isinstance(make_constraint("unit_norm"), UnitNorm)
    assert isinstance(make_constraint("non_neg"), NonNeg)


def test_keras_arguments():
    c = make_constraint("min_max_norm", min_value=0.5, max_value=3.0, rate=0.25, axis=[1, 2])
    assert (c.min_value, c.max_value, c.rate, c.axis) == (0.5, 3.0, 0.25, (1, 2))
    with pytest.raises(ValueError, match="rate=0.5 is not accepted with constraint='max_norm'"):
        make_constraint("max_norm", rate=0.5)
    with pytest.raises(ValueError, match="max_value=1.0 is not accepted with constraint='zero_mean'"):
        make_constraint("zero_mean", max_value=1.0)
    with pytest.raises(ValueError, match="max_value=1.0 is not accepted"):
        make_constraint(["zero_mean", "unit_l2"], max_value=1.0)
    with pytest.raises(ValueError, match="max_value=-1"):
        make_constraint("max_norm", max_value=-1.0)


def test_layer_accepts_keras_name():
    torch.manual_seed(0)
    conv = nn.ConstrainedConv2d(3, 8, 3, constraint="max_norm")
    with torch.no_grad():
        conv.weight.mul_(100)
    norms = conv.constrained_weight().flatten(1).norm(dim=1)
    assert norms.max() <= 2.0 + 1e-5
    lin = nn.ConstrainedLinear(4, 3, constraint="unit_norm")
    torch.testing.assert_close(lin.constrained_weight().norm(dim=1), torch.ones(3), atol=1e-5, rtol=0)
    nonneg = nn.ConstrainedConv1d(2, 2, 3, constraint="non_neg")
    assert (nonneg.constrained_weight() >= 0).all()


@pytest.mark.parametrize("enforce", ["forward", "post_step", "inplace"])
def test_constrain_with_keras_kwargs(enforce):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, 3)
    with torch.no_grad():
        conv.weight.mul_(50)
    structconv.constrain(conv, "max_norm", enforce=enforce, max_value=0.5)
    conv(torch.randn(1, 3, 5, 5))
    assert conv.weight.flatten(1).norm(dim=1).max() <= 0.5 + 1e-5
    with pytest.raises(TypeError, match="unknown keyword"):
        structconv.constrain(torch.nn.Conv2d(1, 1, 3), "max_norm", max_norm=1.0)


@pytest.mark.parametrize(
    "constraint",
    [
        MaxNorm(),
        MaxNorm(0.5, axis=[1, 2], eps=1e-9),
        MinMaxNorm(0.2, 3.0, rate=0.5),
        UnitNorm(axis=-1, eps=1e-12),
        NonNeg(),
        "zero_mean",
        ["zero_mean", "unit_l2"],
        "nonneg_sum1",
        MaxL2(0.5),
        FixedCenter(-2.0, 0.5),
        [ZeroMean(), MaxL2(2.0, eps=1e-9)],
    ],
    ids=str,
)
def test_every_repr_is_a_valid_argument(constraint):
    layer = nn.ConstrainedConv2d(2, 4, 3, constraint=constraint)
    shown = repr(layer).split("constraint=")[1].split(", enforce=")[0]
    rebuilt = nn.ConstrainedConv2d(2, 4, 3, constraint=shown)
    assert repr(rebuilt) == repr(layer)
    assert constraint_spec(rebuilt.weight_constraint) == shown


def test_bad_call_form_names_the_argument():
    with pytest.raises(ValueError, match="argument 'maxvalue' is not known"):
        make_constraint("max_norm(maxvalue=1.0)")
    with pytest.raises(ValueError, match="is not known; expected one of: .*max_norm, min_max_norm"):
        make_constraint("maxnorm")
