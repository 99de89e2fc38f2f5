"""structconv.testing and EquivariantModule: equivariance checks on tiny hand-made modules."""

from __future__ import annotations

import pickle

import pytest
import torch

from structconv import gspaces
from structconv.nn import EquivariantModule, FieldType, GeometricTensor
from structconv.testing import (
    EquivarianceRecord,
    assert_equivariant,
    default_tolerances,
    equivariance_errors,
)

GSPACES = {
    "C1": lambda: gspaces.Rot2dOnR2(1),
    "C2": lambda: gspaces.Rot2dOnR2(2),
    "C4": lambda: gspaces.Rot2dOnR2(4),
    "C8": lambda: gspaces.Rot2dOnR2(8),
    "D1": lambda: gspaces.FlipRot2dOnR2(1),
    "D4": lambda: gspaces.FlipRot2dOnR2(4),
    "SO2": lambda: gspaces.Rot2dOnR2(-1, maximum_frequency=2),
    "O2": lambda: gspaces.FlipRot2dOnR2(-1, maximum_frequency=2),
}


def _field_type(gs) -> FieldType:
    group = gs.fibergroup
    reprs = list(group.irreps.values())[:3]
    if not group.continuous:
        reprs.append(gs.regular_repr)
    return FieldType(gs, [gs.trivial_repr, *reprs])


class Identity(EquivariantModule):
    def __init__(self, in_type):
        super().__init__()
        self.in_type = self.out_type = in_type

    def forward(self, x):
        return x

    def evaluate_output_shape(self, input_shape):
        return input_shape


class FiberMapBlur(EquivariantModule):
    """A 1x1 channel mix commuting with rho (group average, or a scalar for continuous groups), then an
    isotropic Gaussian blur of every channel: exactly equivariant for rot90/flips, approximately else."""

    def __init__(self, in_type, seed=0):
        super().__init__()
        self.in_type = self.out_type = in_type
        gen = torch.Generator().manual_seed(seed)
        group = in_type.fibergroup
        n = in_type.size
        if group.continuous:
            weight = 1.7 * torch.eye(n, dtype=torch.float64)
        else:
            a = torch.randn(n, n, generator=gen, dtype=torch.float64)
            mats = [in_type.fiber_matrix(g) for g in group.elements]
            weight = sum(m @ a @ m.T for m in mats) / len(mats)
        self.weight = torch.nn.Parameter(weight.float())
        t = torch.arange(-2, 3, dtype=torch.float32)
        k = torch.exp(-(t[:, None] ** 2 + t[None] ** 2) / 2.0)
        self.register_buffer("blur", (k / k.sum()).expand(n, 1, 5, 5).clone())

    def forward(self, x):
        y = torch.einsum("ij,bjhw->bihw", self.weight, x.tensor)
        y = torch.nn.functional.conv2d(y, self.blur, padding=2, groups=self.in_type.size)
        return GeometricTensor(y, self.out_type)

    def evaluate_output_shape(self, input_shape):
        return input_shape


class BreakField(torch.nn.Module):
    """Shifts the channels of one field by a pixel: not equivariant, and only in that field."""

    def __init__(self, field_type, field):
        super().__init__()
        self.lo, self.hi = int(field_type.fields_start[field]), int(field_type.fields_end[field])

    def forward(self, x):
        y = x.clone()
        y[:, self.lo : self.hi] = torch.roll(x[:, self.lo : self.hi], 1, dims=-1)
        return y


@pytest.fixture(params=list(GSPACES))
def gs(request):
    return GSPACES[request.param]()


def test_equivariant_modules_pass(gs):
    ft = _field_type(gs)
    for module in (Identity(ft), FiberMapBlur(ft)):
        records = assert_equivariant(module, spatial_size=13)
        assert len(records) == len(list(gs.testing_elements))
        assert all(isinstance(r, EquivarianceRecord) for r in records)
        assert all(r.abs_error < 1e-9 for r in records if r.exact)


def test_non_equivariant_module_fails_with_readable_message(gs):
    ft = _field_type(gs)
    if gs.fibergroup.order() == 1:
        pytest.skip("every module is equivariant for the trivial group")
    conv = torch.nn.Conv2d(ft.size, ft.size, 3, padding=1)
    with pytest.raises(
        AssertionError, match=r"Conv2d is not equivariant: \d+ of \d+ tested elements"
    ) as info:
        assert_equivariant(conv, ft, ft, spatial_size=9)
    message = str(info.value)
    assert "worst: element" in message and "output field" in message and "relative error" in message


def test_worst_field_is_reported():
    gs = gspaces.Rot2dOnR2(4)
    ft = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
    records = equivariance_errors(BreakField(ft, 1), ft, ft, spatial_size=7)
    assert records[0].abs_error == 0.0
    for r in records[1:]:
        assert r.exact and r.field == 1 and r.field_name == "irrep_1" and r.channels == (4, 6)
        assert r.abs_error > 0.1 and r.rel_error > 0.01
        assert "output field 1 ('irrep_1', channels 4:6)" in r.describe()


def test_interpolated_elements_checked_coarsely():
    gs = gspaces.Rot2dOnR2(8)
    ft = FieldType(gs, [gs.regular_repr, gs.irrep(1)])
    records = assert_equivariant(FiberMapBlur(ft), spatial_size=17)
    inexact = [r for r in records if not r.exact]
    assert [r.element for r in inexact] == [1, 3, 5, 7]
    assert all(0 < r.rel_error < 0.15 for r in inexact)
    # the coarse check still catches a wrong channel permutation, also for interpolated elements
    with pytest.raises(AssertionError, match="element 1 \\[interpolated, inner disc\\]"):
        assert_equivariant(_Permute(), ft, ft, elements=[1])


class _Permute(torch.nn.Module):
    def forward(self, x):
        return torch.roll(x, 1, dims=1)


def test_check_equivariance_and_module_api():
    gs = gspaces.FlipRot2dOnR2(4)
    ft = _field_type(gs)
    m = FiberMapBlur(ft)
    result = m.check_equivariance()
    assert [e for e, _ in result] == list(gs.testing_elements)
    assert all(isinstance(err, float) and err < 1e-7 for _, err in result)
    assert m.training and m.weight.dtype == torch.float32  # the check ran on a copy
    with pytest.raises(NotImplementedError, match="FiberMapBlur does not implement export"):
        m.export()
    assert repr(m) == f"FiberMapBlur({ft} -> {ft})"
    restored = pickle.loads(pickle.dumps(m))
    assert restored.in_type == ft and torch.equal(restored.weight, m.weight)
    assert m.evaluate_output_shape((1, ft.size, 5, 5)) == (1, ft.size, 5, 5)


def test_abstract_methods_are_required():
    class NoShape(EquivariantModule):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="evaluate_output_shape"):
        NoShape()


def test_plain_module_given_x_and_dtype():
    gs = gspaces.Rot2dOnR2(4)
    ft = FieldType(gs, [gs.regular_repr] * 2)
    x = GeometricTensor(torch.randn(1, ft.size, 6, 6), ft)
    records = assert_equivariant(torch.nn.ReLU(), ft, ft, x=x, elements=[1, 3])
    assert [r.element for r in records] == [1, 3] and all(r.abs_error < 1e-12 for r in records)
    m32 = FiberMapBlur(ft)
    records = assert_equivariant(m32, dtype=None)
    assert all(r.abs_error < default_tolerances(torch.float32)[1] * 10 for r in records)


def test_default_tolerances():
    assert default_tolerances(torch.float64) == (1e-9, 1e-7)
    assert default_tolerances(torch.float32)[0] > default_tolerances(torch.float64)[0]
    with pytest.raises(ValueError, match="no default tolerances"):
        default_tolerances(torch.int64)


_GS4 = gspaces.Rot2dOnR2(4)
_FT4 = FieldType(_GS4, [_GS4.regular_repr])
_GS8 = gspaces.Rot2dOnR2(8)
_BAD_ARGUMENTS = [  # (id, keyword arguments of equivariance_errors / assert_equivariant, exception, message)
    ("no-types", {"module": torch.nn.Identity(), "in_type": None, "out_type": None}, TypeError,
     r"in_type must be a FieldType"),
    ("function", {"module": lambda x: x}, TypeError, r"module=<function .* expected a torch.nn.Module"),
    ("elements-empty", {"elements": []}, ValueError, r"elements=\[\] is not accepted; expected at least one"),
    ("elements-str", {"elements": "all"}, TypeError, r"elements='all' is not accepted; expected None or a list"),
    ("inner-0", {"inner_fraction": 0}, ValueError, r"inner_fraction=0 is not accepted; expected a finite number > 0"),
    ("inner-2", {"inner_fraction": 2.0}, ValueError, r"inner_fraction=2.0 .*<= 1"),
    ("fiber-group", {"out_type": FieldType(_GS8, [_GS8.regular_repr])}, ValueError, r"same fiber group"),
    ("x-channels", {"x": torch.randn(1, 3, 5, 5)}, ValueError, r"x has 3 channels"),
    ("x-int", {"x": torch.zeros(1, 4, 5, 5, dtype=torch.int64)}, TypeError, r"x has dtype torch.int64"),
    ("x-list", {"x": [1.0]}, TypeError, r"x=list is not accepted"),
    ("size-str", {"spatial_size": "big"}, TypeError, r"spatial_size='big' is not accepted"),
    ("size-0", {"spatial_size": 0}, ValueError, r"spatial_size=0 is not accepted"),
    ("size-triple", {"spatial_size": (5, 5, 5)}, TypeError, r"spatial_size=\(5, 5, 5\)"),
    ("seed-str", {"seed": "a"}, TypeError, r"seed='a' is not accepted; expected an int >= 0"),
    ("seed-float", {"seed": 1.5}, TypeError, r"seed=1.5 is not accepted"),
    ("seed-negative", {"seed": -1}, ValueError, r"seed=-1 is not accepted"),
    ("dtype-int", {"dtype": torch.int32}, TypeError, r"dtype=torch.int32 is not accepted; expected None or a floating"),
    ("dtype-str", {"dtype": "float64"}, TypeError, r"dtype='float64' is not accepted"),
    ("device", {"device": "nope"}, ValueError, r"device='nope' is not accepted; expected None, a torch.device"),
    ("batch-0", {"batch_size": 0}, ValueError, r"batch_size=0 is not accepted; expected an int >= 1"),
    ("train", {"train": "yes"}, TypeError, r"train='yes' is not accepted; expected True or False"),
    ("fibers_only", {"fibers_only": 1}, TypeError, r"fibers_only=1 is not accepted; expected True or False"),
    ("interpolation", {"interpolation": "cubic"}, ValueError, r"interpolation='cubic' is not known; expected one of: bicubic"),
]


@pytest.mark.parametrize("owner", ["equivariance_errors", "assert_equivariant"])
@pytest.mark.parametrize("case", _BAD_ARGUMENTS, ids=[c[0] for c in _BAD_ARGUMENTS])
def test_bad_arguments(case, owner):
    _, kwargs, exc, words = case
    kwargs = {"module": torch.nn.Identity(), "in_type": _FT4, "out_type": _FT4} | kwargs
    module, in_type, out_type = kwargs.pop("module"), kwargs.pop("in_type"), kwargs.pop("out_type")
    fn = equivariance_errors if owner == "equivariance_errors" else assert_equivariant
    with pytest.raises(exc, match=words) as info:
        fn(module, in_type, out_type, **kwargs)
    assert str(info.value).startswith(f"{owner}: ")  # the message names the function


@pytest.mark.parametrize(
    "kwargs, words",
    [({"atol": -1}, r"atol=-1 is not accepted"), ({"rtol": float("nan")}, r"rtol=nan is not accepted"),
     ({"interpolation_rtol": None}, r"interpolation_rtol=None is not accepted")],
)
def test_bad_tolerances(kwargs, words):
    with pytest.raises((TypeError, ValueError), match=rf"assert_equivariant: {words}"):
        assert_equivariant(torch.nn.Identity(), _FT4, _FT4, **kwargs)
