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


# ------------------------------------------------------------------ Keras arguments on every layer

LAYERS = [
    (nn.ConstrainedConv1d, (3, 4, 3), 3),
    (nn.ConstrainedConv2d, (3, 4, 3), 4),
    (nn.ConstrainedConv3d, (3, 4, 3), 5),
    (nn.ConstrainedConvTranspose1d, (3, 4, 3), 3),
    (nn.ConstrainedConvTranspose2d, (3, 4, 3), 4),
    (nn.ConstrainedConvTranspose3d, (3, 4, 3), 5),
    (nn.ConstrainedLinear, (6, 4), 2),
]
KERAS_CASES = [  # (constraint, Keras keyword arguments, the bound every unit's norm must respect)
    ("max_norm", {"max_value": 0.5}, (0.0, 0.5)),
    ("max_norm", {"max_value": 0.5, "axis": -1}, (0.0, 0.5)),
    ("min_max_norm", {"min_value": 1.0, "max_value": 1.5, "rate": 1.0}, (1.0, 1.5)),
    ("unit_norm", {"axis": None}, (1.0, 1.0)),
    ("non_neg", {}, None),
]


@pytest.mark.parametrize("case", KERAS_CASES, ids=lambda c: f"{c[0]}{c[1]}")
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer[0].__name__)
def test_every_layer_takes_the_keras_arguments(layer, case):
    cls, args, ndim = layer
    name, kwargs, bound = case
    torch.manual_seed(0)
    m = cls(*args, constraint=name, **kwargs)
    with torch.no_grad():
        m.weight.mul_(30)
    w = m.constrained_weight()
    if bound is None:
        assert (w >= 0).all()
        return
    axis = kwargs.get("axis")
    dims = tuple(range(1, w.ndim)) if axis is None else (axis % w.ndim,)
    norms = torch.linalg.vector_norm(w, dim=dims)
    assert norms.min() >= bound[0] - 1e-4 and norms.max() <= bound[1] + 1e-4
    shown = repr(m).split("constraint=")[1].split(", enforce=")[0]  # the repr carries the Keras arguments
    assert repr(cls(*args, constraint=shown).weight_constraint) == repr(m.weight_constraint)


def test_separable_layer_takes_keras_names_in_call_form():
    m = nn.ConstrainedSeparableConv2d(2, 4, 3, depth_constraint="max_norm(max_value=0.25)",
                                      point_constraint="min_max_norm(min_value=0.5, max_value=0.5)")
    with torch.no_grad():
        m.depthwise.weight.mul_(30)
    assert m.depthwise.constrained_weight().flatten(1).norm(dim=1).max() <= 0.25 + 1e-5
    torch.testing.assert_close(m.pointwise.constrained_weight().flatten(1).norm(dim=1), torch.full((4,), 0.5))


# ------------------------------------------------------------------ every repr is a valid argument


def _instances():
    """One instance per public constraint class, with arguments away from their defaults."""
    from structconv import constraints as C

    return [
        C.NoConstraint(),
        C.NonNeg(dims=(2, 3)),
        C.SumToOne(eps=1e-9),
        C.ZeroMean(dims=-1),
        C.NonNegSumToOne(eps=0.123456789),
        C.UnitL2(eps=1e-10),
        C.MaxL2(0.3333333333333333, dims=(2,)),
        C.FixedCenter(center_value=-2.5, neighbor_sum=0.7),
        C.MaxNorm(0.123456789, axis=[1, 2]),
        C.MinMaxNorm(0.25, 2.0, rate=0.3, axis=-1, eps=1e-9),
        C.UnitNorm(axis=(1,)),
        C.WeightStandardization(eps=1e-3, channel_dim=1, groups=2),
        C.ScaledWeightStandardization(4, eps=1e-3, learnable_gain=False, fan_in=7, unbiased=True),
        C.Compose(C.ZeroMean(), C.MaxL2(2.0, eps=1e-9)),
        C.Compose(C.NonNeg(), C.Compose(C.SumToOne(), C.UnitNorm())),
    ]


def test_every_constraint_class_is_covered():
    from structconv import constraints as C

    abstract = {"KernelConstraint", "StructuralConstraint", "NormConstraint"}
    classes = {n for n in C.__all__ if isinstance(getattr(C, n), type)} - abstract
    assert classes == {type(c).__name__ for c in _instances()}


@pytest.mark.parametrize("c", _instances(), ids=lambda c: type(c).__name__)
def test_repr_round_trips(c):
    from structconv import constraints as C

    w = torch.randn(4, 4, 3, 3, dtype=torch.float64)
    namespace = {n: getattr(C, n) for n in C.__all__}
    for text in (repr(c), c.spec()):
        rebuilt = eval(text, namespace) if text == repr(c) else make_constraint(text)  # noqa: S307
        assert repr(rebuilt) == repr(c) and rebuilt.spec() == c.spec(), text
        torch.testing.assert_close(rebuilt.double()(w), c.double()(w))
        assert repr(make_constraint(text)) == repr(c)  # make_constraint reads both forms, without eval
    # and every layer shows a spec it accepts back
    if not isinstance(c, C.ScaledWeightStandardization):
        layer = nn.ConstrainedConv2d(4, 4, 3, constraint=c)
        shown = repr(layer).split("constraint=")[1].split(", enforce=")[0]
        assert repr(nn.ConstrainedConv2d(4, 4, 3, constraint=shown).weight_constraint) == repr(c)


def test_numbers_are_shown_in_full():
    c = MaxNorm(0.123456789)
    assert "max_value=0.123456789" in repr(c) and make_constraint(repr(c)).max_value == 0.123456789


def test_alias_and_bad_texts():
    from structconv.constraints import CONSTRAINT_ALIASES, NonNegSumToOne, constraint_names

    assert CONSTRAINT_ALIASES == {"nonneg_sum_to_one": "nonneg_sum1"}
    assert "nonneg_sum_to_one" in constraint_names()
    c = nn.ConstrainedConv1d(2, 2, 3, constraint="nonneg_sum_to_one").weight_constraint
    assert isinstance(c, NonNegSumToOne) and c.spec() == "nonneg_sum1"
    with pytest.raises(ValueError, match=r"MaxNorm: max_value=nan is not accepted; expected a finite number > 0"):
        make_constraint("max_norm(max_value=nan)")
    with pytest.raises(ValueError, match=r"MaxNorm: max_value=nan is not accepted"):
        make_constraint("max_norm", max_value=float("nan"))
    with pytest.raises(ValueError, match=r"did you mean 'nonneg_sum1'"):
        make_constraint("nonneg_sum_1")
