"""Kernel constraints: the maps, their projections, right inverses, errors and NaN handling."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils import parametrize

from _constraint_checks import PARAMS, assert_holds, slice_dims
from structconv.constraints import (
    CONSTRAINT_NAMES,
    Compose,
    FixedCenter,
    MaxL2,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    SumToOne,
    UnitL2,
    UnitNorm,
    ZeroMean,
    make_constraint,
)


def random_weight(name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    w = torch.randn(shape, dtype=dtype)
    if name == "sum_to_one":  # keep every slice sum away from 0, where the map is ill-conditioned
        w = w.abs() + 0.1
    if name == "nonneg_sum1":  # a slice without a positive tap maps to 0 (tested separately)
        w = torch.where(w.amax(slice_dims(w), keepdim=True) > 0, w, w.abs())
    return w


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(4, 3, 5), (3, 2, 3, 3), (2, 2, 3, 1, 3), (3, 5)])
def test_named_constraint_holds_and_is_idempotent(name, dtype, shape):
    c = make_constraint(name, **PARAMS)
    c.check(shape)
    raw = random_weight(name, shape, dtype)
    w = c(raw)
    assert w.shape == raw.shape and w.dtype == dtype
    assert_holds(name, w, raw)
    torch.testing.assert_close(c(w), w)  # projections are idempotent


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_project_is_in_place_on_parameters(name):
    c = make_constraint(name, **PARAMS)
    p = torch.nn.Parameter(random_weight(name, (3, 2, 3, 3), torch.float32))
    expected = c(p.detach())
    out = c.project_(p)
    assert out is p and p.requires_grad and p.grad_fn is None
    torch.testing.assert_close(p.detach(), expected)


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_right_inverse_gives_feasible_weight(name):
    c = make_constraint(name, **PARAMS)
    raw = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    inv = c.right_inverse(raw)
    assert_holds(name, c(inv))
    torch.testing.assert_close(c(inv), inv)  # P(R(W)) = R(W): R lands on the constraint set
    feasible = c(random_weight(name, (3, 2, 3, 3), torch.float64))
    torch.testing.assert_close(c(c.right_inverse(feasible)), feasible)


def test_sum_to_one_right_inverse_is_well_conditioned():
    raw = torch.tensor([[[1.0, -1.0, 1e-9]]], dtype=torch.float64)  # sums to ~0: P alone explodes
    w = SumToOne()(SumToOne().right_inverse(raw))
    assert w.abs().max() < 10 and abs(w.sum().item() - 1) < 1e-9


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_gradcheck_float64(name):
    c = make_constraint(name, **PARAMS)
    w = random_weight(name, (2, 2, 3), torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(c, (w,))


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_register_parametrization_and_cached(name):
    conv = torch.nn.Conv2d(2, 3, 3)
    parametrize.register_parametrization(conv, "weight", make_constraint(name, **PARAMS))
    assert_holds(name, conv.weight.detach())
    x = torch.randn(1, 2, 6, 6)
    y = conv(x)
    with parametrize.cached():
        y_cached = conv(x)
    torch.testing.assert_close(y, y_cached, rtol=0, atol=0)
    y.sum().backward()
    assert conv.parametrizations.weight.original.grad is not None


@pytest.mark.parametrize("name", [n for n in CONSTRAINT_NAMES if n != "none"])
@pytest.mark.parametrize("where", ["center", "corner"])
def test_nan_is_never_turned_into_a_valid_kernel(name, where):
    c = make_constraint(name, **PARAMS)
    w = random_weight(name, (2, 2, 3, 3), torch.float32)
    w[0, 1, 1, 1 if where == "center" else 0] = float("nan")
    out = c(w)
    assert torch.isnan(out[0, 1]).any()
    assert torch.isfinite(out[1]).all() and torch.isfinite(out[0, 0]).all()
    c.project_(w)
    assert torch.isnan(w[0, 1]).any()


@pytest.mark.parametrize("c", [MaxNorm(1.0), MinMaxNorm(0.5, 1.0), UnitNorm()])
def test_nan_propagates_through_norm_constraints(c):
    w = torch.randn(3, 2, 3, 3)
    w[1, 0, 0, 0] = float("nan")
    out = c(w)
    assert torch.isnan(out[1]).any() and torch.isfinite(out[0]).all() and torch.isfinite(out[2]).all()


def test_fixed_center_rescaling_guards_eps():
    c = FixedCenter(center_value=-1.0, neighbor_sum=1.0, eps=1e-12)
    # neighbours sum to exactly 0 / to -eps: the denominator never vanishes, signs are kept
    w = torch.tensor([[[1.0, 7.0, -1.0]], [[-0.5e-12, 3.0, 0.0]]], dtype=torch.float64)
    out = c(w)
    assert torch.isfinite(out).all()
    assert (out[:, 0, 1] == -1.0).all()
    assert out[0, 0, 0] > 0 > out[0, 0, 2]  # s = 0: d = +eps, signs kept
    assert out[1, 0, 0] > 0 and out[1, 0, 0] < 1  # s = -eps/2: d = -1.5 eps, s / d = 1/3
    # the rescaling of the documentation: W_i * s_n / (s + eps)
    w = torch.tensor([[[1.0, 5.0, 3.0]]], dtype=torch.float64)
    torch.testing.assert_close(
        c(w), torch.tensor([[[1 / (4 + 1e-12), -1.0, 3 / (4 + 1e-12)]]], dtype=torch.float64)
    )


def test_fixed_center_3d_center_and_linear_rows():
    c = FixedCenter(center_value=2.0, neighbor_sum=-1.0)
    w = c(torch.rand(2, 1, 3, 5, 3) + 0.5)
    assert (w[:, :, 1, 2, 1] == 2.0).all()
    torch.testing.assert_close(w.sum((2, 3, 4)) - 2.0, torch.full((2, 1), -1.0))
    lin = c(torch.rand(4, 5) + 0.5)
    assert (lin[:, 2] == 2.0).all()


def test_compose_applies_in_order():
    c = make_constraint(["zero_mean", "unit_l2"])
    assert isinstance(c, Compose) and c.spec() == "[zero_mean, unit_l2]"
    w = c(torch.randn(4, 3, 3, 3, dtype=torch.float64))
    assert_holds("zero_mean", w)
    assert_holds("unit_l2", w)
    w2 = Compose([NonNeg(), UnitL2()])(torch.randn(2, 2, 3))
    assert (w2 >= 0).all()
    assert make_constraint(["max_l2"], max_l2=1.0).spec() == "max_l2(max_l2=1.0)"


def test_structural_dims_argument():
    w = torch.randn(4, 6, 3)
    out = ZeroMean(dims=(1, 2))(w)
    assert out.mean((1, 2)).abs().max() < 1e-6
    out = UnitL2(dims=-1)(torch.randn(3, 7))
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))


def test_keras_norm_formulas():
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64) * 3
    n = w.square().sum((1, 2, 3), keepdim=True).sqrt()
    e = 1e-7
    torch.testing.assert_close(MaxNorm(1.5)(w), w * n.clamp(0, 1.5) / (e + n))
    desired = 0.3 * n.clamp(0.5, 2.0) + 0.7 * n
    torch.testing.assert_close(MinMaxNorm(0.5, 2.0, rate=0.3)(w), w * desired / (e + n))
    torch.testing.assert_close(UnitNorm()(w), w / (e + n))
    # axis: a norm per input channel over (0, 2), negative dims accepted
    n2 = w.square().sum((0, 2), keepdim=True).sqrt()
    torch.testing.assert_close(MaxNorm(1.0, axis=[0, -2])(w), w * n2.clamp(0, 1.0) / (e + n2))
    n3 = w.square().sum(1, keepdim=True).sqrt()
    torch.testing.assert_close(UnitNorm(axis=1, eps=1e-9)(w), w / (1e-9 + n3))


def test_keras_norm_right_inverse():
    w = torch.randn(3, 4, dtype=torch.float64) * 5
    for c in (MaxNorm(1.0), UnitNorm(), MinMaxNorm(0.5, 1.0)):
        torch.testing.assert_close(c(c.right_inverse(w)), c.right_inverse(w))
    assert torch.equal(MinMaxNorm(0.5, 1.0, rate=0.5).right_inverse(w), w)


def test_constraints_pickle_and_deepcopy():
    for c in (
        FixedCenter(),
        MaxL2(1.0),
        MaxNorm(2.0, axis=[1, 2]),
        make_constraint(["zero_mean", "unit_l2"]),
    ):
        w = torch.randn(2, 2, 3, 3)
        ref = c(w)
        buf = io.BytesIO()
        torch.save(c, buf)
        buf.seek(0)
        c2 = torch.load(buf, weights_only=False)
        torch.testing.assert_close(c2(w), ref)
        torch.testing.assert_close(copy.deepcopy(c)(w), ref)
        assert c.state_dict() == {} or all(not v.is_floating_point() for v in c.state_dict().values())


def test_reprs():
    assert repr(MaxL2(1.5)) == "MaxL2(max_l2=1.5, eps=1e-12)"
    assert "center_value=-1" in repr(FixedCenter())
    assert repr(MaxNorm(2.0, axis=[1, 2, 3])) == "MaxNorm(max_value=2, axis=(1, 2, 3), eps=1e-07)"
    assert "rate=0.5" in repr(MinMaxNorm(0.1, 1.0, rate=0.5))


def test_unknown_name_lists_accepted_names():
    with pytest.raises(
        ValueError, match=r"constraint='nonnegative' is not known; expected one of: none, nonneg"
    ):
        make_constraint("nonnegative")
    with pytest.raises(TypeError, match="constraint=3 is not accepted"):
        make_constraint(3)
    with pytest.raises(ValueError, match=r"constraint=\[\]"):
        make_constraint([])


@pytest.mark.parametrize("bad", [None, 0.0, -1.0])
def test_max_l2_needs_positive_bound(bad):
    with pytest.raises(ValueError, match="max_l2"):
        make_constraint("max_l2", max_l2=bad)


def test_bad_parameters():
    with pytest.raises(ValueError, match="max_l2=nan"):  # a NaN is a float of a wrong value
        MaxL2(math.nan)
    with pytest.raises(ValueError, match="eps=-1"):
        UnitL2(eps=-1)
    with pytest.raises(TypeError, match="center_value='a'"):
        FixedCenter(center_value="a")
    with pytest.raises(ValueError, match=r"kernel size \(4,\).*expected odd sizes"):
        FixedCenter().check((2, 2, 4))
    with pytest.raises(ValueError, match=r"kernel size \(3, 2\)"):
        make_constraint("fixed_center").check((2, 2, 3, 2))
    with pytest.raises(ValueError, match="at least 3 taps"):
        FixedCenter().check((2, 2, 1, 1))
    with pytest.raises(ValueError, match=r"dims=5 is out of range for a weight with 3 dims"):
        ZeroMean(dims=5).check((2, 2, 3))


def test_bad_norm_parameters():
    with pytest.raises(ValueError, match=r"min_value=2.0 > max_value=1.0"):
        MinMaxNorm(2.0, 1.0)
    for rate in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"rate=.* expected a number in \(0, 1\]"):
            MinMaxNorm(0.0, 1.0, rate=rate)
    with pytest.raises(ValueError, match="max_value=0"):
        MaxNorm(0)
    with pytest.raises(
        ValueError, match=r"axis=4 is out of range for a weight with 4 dims; expected values in \[-4, 3\]"
    ):
        MaxNorm(1.0, axis=4).check((2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"axis=\(1, -5\) is out of range"):
        UnitNorm(axis=[1, -5])(torch.randn(2, 2, 3, 3))  # validated at first use too
    with pytest.raises(TypeError, match="axis='x'"):
        UnitNorm(axis="x")
    with pytest.raises(ValueError, match="repeats"):
        UnitNorm(axis=[1, 1]).check((2, 2))


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(CONSTRAINT_NAMES),
    sizes=st.lists(st.sampled_from([1, 3, 5]), min_size=1, max_size=3),
    channels=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_random_shapes(name, sizes, channels, dtype, seed):
    torch.manual_seed(seed)
    shape = (*channels, *sizes)
    c = make_constraint(name, **PARAMS)
    if name in ("fixed_center", "zero_mean") and math.prod(sizes) < 2:  # 1 tap: refused
        with pytest.raises(ValueError, match="at least 3 taps" if name == "fixed_center" else "at least 2 taps"):
            c.check(shape)
        return
    c.check(shape)
    assert_holds(name, c(random_weight(name, shape, dtype)))


def test_nonneg_sum1_without_positive_tap_is_zero():
    # the documented degenerate case of the formula: no positive tap, nothing to normalise
    c = make_constraint("nonneg_sum1")
    w = c(torch.tensor([[-1.0, -2.0], [1.0, -1.0]]))
    assert w.tolist() == [[0.0, 0.0], [1.0, 0.0]]


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_constraint_compiles_without_graph_break(name):
    # torch.compile(fullgraph=True) of every constraint, forward and backward (a Python generator in the forward,
    # e.g. math.prod(w.shape[d] for d in dims), breaks the graph)
    c = make_constraint(name, **PARAMS)
    shape = (3, 2, 3, 3)
    c.check(shape)
    raw = random_weight(name, shape, torch.float32).requires_grad_(True)
    compiled = torch.compile(c, fullgraph=True, backend="eager")
    got = compiled(raw)
    torch.testing.assert_close(got, c(raw))
    got.sum().backward()
    assert raw.grad is not None and torch.isfinite(raw.grad).all()
