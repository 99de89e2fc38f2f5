"""Pooling: norm max pooling, channel-wise max / average / anti-aliased / adaptive pooling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from structconv import gspaces
from structconv.group import change_basis
from structconv.nn import (
    FieldType,
    GeometricTensor,
    NormMaxPool,
    PointwiseAdaptiveAvgPool,
    PointwiseAdaptiveMaxPool,
    PointwiseAvgPool,
    PointwiseAvgPoolAntialiased,
    PointwiseMaxPool,
    PointwiseMaxPoolAntialiased,
)
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)


def _perm(gs, shuffled):
    reps = [gs.regular_repr, gs.regular_repr, gs.trivial_repr]
    return FieldType(gs, [reps[i] for i in (0, 2, 1)] if shuffled else reps)


def _any(gs, shuffled):
    v = gs.irrep(1, 1) if gs.fibergroup.name.startswith("D") else gs.irrep(1)
    reps = [v, v, gs.regular_repr, gs.trivial_repr]
    return FieldType(gs, [reps[i] for i in (0, 2, 1, 3)] if shuffled else reps)


CASES = [
    ("max", lambda gs, s: PointwiseMaxPool(_perm(gs, s), 3, 2, 1)),
    ("max_aa", lambda gs, s: PointwiseMaxPoolAntialiased(_perm(gs, s), 3, 2, 1)),
    ("avg", lambda gs, s: PointwiseAvgPool(_any(gs, s), 3, 2, 1)),
    ("avg_aa", lambda gs, s: PointwiseAvgPoolAntialiased(_any(gs, s), 0.6, 2)),
    ("adaptive_avg", lambda gs, s: PointwiseAdaptiveAvgPool(_any(gs, s), 1)),
    ("adaptive_max", lambda gs, s: PointwiseAdaptiveMaxPool(_perm(gs, s), 1)),
    ("norm_max", lambda gs, s: NormMaxPool(_any(gs, s), 3, 2, 1)),
]


@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_pooling_equivariance_and_shape(name, make):
    # odd-sized inputs with symmetric windows commute with rotations by 90 degrees and flips
    for gs, shuffled in ((C4, False), (D4, True)):
        m = make(gs, shuffled)
        assert_equivariant(m, spatial_size=9, batch_size=1)
        x = torch.randn(2, m.in_type.size, 9, 9)
        assert tuple(m(GeometricTensor(x, m.in_type)).shape) == m.evaluate_output_shape(tuple(x.shape))


EXPORTS = [
    (lambda t: PointwiseMaxPool(t, 3, 2, 1), torch.nn.MaxPool2d),
    (lambda t: PointwiseMaxPool(t, (2, 3), None, 0, 1, True), torch.nn.MaxPool2d),
    (lambda t: PointwiseMaxPoolAntialiased(t, 3, 2, 1, sigma=0.8), torch.nn.Sequential),
    (lambda t: PointwiseAvgPool(t, 2), torch.nn.AvgPool2d),
    (lambda t: PointwiseAvgPoolAntialiased(t, 1.0, 2, padding=1), torch.nn.Conv2d),
    (lambda t: PointwiseAdaptiveAvgPool(t, (2, 3)), torch.nn.AdaptiveAvgPool2d),
    (lambda t: PointwiseAdaptiveMaxPool(t, 2), torch.nn.AdaptiveMaxPool2d),
]


@pytest.mark.parametrize("make, plain", EXPORTS)
def test_pooling_export(make, plain):
    t = _perm(C8, True)
    m = make(t)
    exported = m.export()
    assert isinstance(exported, plain) and not exported.training
    x = torch.randn(2, t.size, 10, 11)
    torch.testing.assert_close(exported(x), m(GeometricTensor(x, t)).tensor)
    clone = pickle.loads(pickle.dumps(m))
    torch.testing.assert_close(clone(GeometricTensor(x, t)).tensor, m(GeometricTensor(x, t)).tensor)


def test_pointwise_max_pool_repr_matches_the_reference_printout():
    m = PointwiseMaxPool(FieldType(C8, [C8.regular_repr] * 3), kernel_size=3, stride=2, padding=1)
    assert repr(m) == "PointwiseMaxPool()"
    assert repr(m.export()) == (
        "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), ceil_mode=False)"
    )


def test_norm_max_pool_selects_whole_fields():
    t = FieldType(C8, [C8.irrep(1), C8.regular_repr])
    m = NormMaxPool(t, 2)
    x = torch.randn(3, t.size, 6, 6, requires_grad=True)
    y = m(GeometricTensor(x, t)).tensor
    # reference: per field, pick the window position with the largest norm
    for s, e in zip(t.fields_start, t.fields_end):
        v = x[:, s:e].detach()
        norms = v.norm(dim=1, keepdim=True)
        _, idx = F.max_pool2d(norms, 2, return_indices=True)
        ref = v.flatten(2).gather(2, idx.flatten(2).expand(-1, e - s, -1)).view(3, e - s, 3, 3)
        torch.testing.assert_close(y[:, s:e].detach(), ref)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad != 0).sum() == y.numel()


def test_antialiased_blur_is_a_normalised_gaussian():
    t = FieldType(C4, [C4.regular_repr])
    m = PointwiseAvgPoolAntialiased(t, sigma=1.0, stride=1)
    assert m.kernel_size == (7, 7) and m.padding == (3, 3)
    x = torch.ones(1, 4, 15, 15)
    torch.testing.assert_close(m(GeometricTensor(x, t)).tensor[..., 7, 7], torch.ones(1, 4))
    assert m.evaluate_output_shape((1, 4, 15, 15)) == (1, 4, 15, 15)
    mx = PointwiseMaxPoolAntialiased(t, 2)
    assert mx.evaluate_output_shape((1, 4, 8, 8)) == (1, 4, 4, 4)
    # e2cnn pads the blur by `padding` again: with padding 1, a 9 x 9 input gives 6 x 6 (MaxPool2d: 5 x 5)
    mx = PointwiseMaxPoolAntialiased(t, 3, stride=2, padding=1)
    assert mx.evaluate_output_shape((1, 4, 9, 9)) == (1, 4, 6, 6)
    assert mx(GeometricTensor(torch.randn(1, 4, 9, 9), t)).shape == (1, 4, 6, 6)


@pytest.mark.oracle
def test_antialiased_avg_pool_matches_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    egs = e2cnn.gspaces.Rot2dOnR2(4)
    et = e2cnn.nn.FieldType(egs, [egs.regular_repr] * 2)
    t = FieldType(C4, [C4.regular_repr] * 2)
    x = torch.randn(2, 8, 12, 12)
    # (the reference's anti-aliased *max* pool pads the blur by `padding` again, which changes the output
    # size with respect to PointwiseMaxPool; ours keeps PointwiseMaxPool's size, so only the blur is compared)
    ref = e2cnn.nn.PointwiseAvgPoolAntialiased(et, 0.7, 2)(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(PointwiseAvgPoolAntialiased(t, 0.7, 2)(GeometricTensor(x, t)).tensor, ref)


def test_pooling_rejects_and_validates():
    irr = FieldType(C8, [C8.regular_repr, C8.irrep(1)])
    for cls in (PointwiseMaxPool, PointwiseMaxPoolAntialiased):
        with pytest.raises(ValueError, match="field 1 of in_type has representation 'irrep_1'.*'pointwise'"):
            cls(irr, 2)
    with pytest.raises(ValueError, match="'pointwise'"):
        PointwiseAdaptiveMaxPool(irr, 1)
    rep = change_basis(C8.irrep(1), np.eye(2), name="no_support_irrep", supported_nonlinearities=[])
    with pytest.raises(ValueError, match="field 0 of in_type.*does not support 'norm'"):
        NormMaxPool(FieldType(C8, [rep]), 2)
    t = _perm(C8, False)
    with pytest.raises(TypeError, match="kernel_size=2.5"):
        PointwiseMaxPool(t, 2.5)
    with pytest.raises(ValueError, match="stride=0"):
        PointwiseAvgPool(t, 2, stride=0)
    with pytest.raises(ValueError, match="padding=2"):
        PointwiseMaxPool(t, 3, padding=2)
    with pytest.raises(ValueError, match="sigma=0"):
        PointwiseAvgPoolAntialiased(t, 0, 2)
    # ceil_mode has no effect on the dense (stride 1) max, as in e2cnn
    x = GeometricTensor(torch.randn(1, t.size, 9, 9), t)
    ceil = PointwiseMaxPoolAntialiased(t, 3, 2, 1, ceil_mode=True)
    torch.testing.assert_close(ceil(x).tensor, PointwiseMaxPoolAntialiased(t, 3, 2, 1)(x).tensor)
    with pytest.raises(ValueError, match="input_shape"):
        PointwiseMaxPool(t, 2).evaluate_output_shape((1, 3, 4, 4))


# ---------------------------------------------------------------------- Gaussian blur
_BLURS = [
    ("avg2d", lambda t: PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=2), 2),
    ("avg2d-s1-pad0", lambda t: PointwiseAvgPoolAntialiased(t, sigma=0.5, stride=1, padding=0), 2),
    ("avg2d-s3-pad3", lambda t: PointwiseAvgPoolAntialiased(t, sigma=0.9, stride=(3, 2), padding=(3, 1)), 2),
    ("max2d", lambda t: PointwiseMaxPoolAntialiased(t, kernel_size=3, stride=2, padding=1, sigma=0.6), 2),
    ("avg3d", lambda t: _nn3d().PointwiseAvgPoolAntialiased3D(t, sigma=0.6, stride=2), 3),
    ("avg3d-aniso", lambda t: _nn3d().PointwiseAvgPoolAntialiased3D(t, 0.8, (1, 2, 3), (0, 2, 1)), 3),
    ("max3d", lambda t: _nn3d().PointwiseMaxPoolAntialiased3D(t, 2, stride=2, sigma=0.6), 3),
]


def _nn3d():
    import structconv.nn as enn

    return enn


def _blur_type(dim):
    gs = C4 if dim == 2 else gspaces.octaOnR3()
    return FieldType(gs, [gs.regular_repr, gs.trivial_repr])


@pytest.mark.parametrize("name,make,dim", _BLURS, ids=[b[0] for b in _BLURS])
def test_antialiased_blur_is_the_full_gaussian_convolution_and_differentiates(name, make, dim):
    """The blur (built from its 1-D factor) must equal the exported depthwise convolution with the full
    Gaussian, sum to one, and have the right gradient."""
    t = _blur_type(dim)
    m = make(t).double().eval()
    shape = (2, t.size) + ((11, 9) if dim == 2 else (9, 8, 7))
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    y = m(GeometricTensor(x, t)).tensor
    kernel = m.filter
    assert kernel.shape == (t.size, 1) + (kernel.shape[-1],) * dim
    torch.testing.assert_close(
        kernel.sum(dim=tuple(range(2, 2 + dim))), torch.ones(t.size, 1, dtype=torch.float64)
    )
    ref = m.export().double()(x)
    torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-13)
    # with a gradient to carry: the same numbers
    y_grad = m(GeometricTensor(x.clone().requires_grad_(), t)).tensor
    torch.testing.assert_close(y_grad.detach(), ref, rtol=1e-12, atol=1e-13)
    xs = x[:1, :, :6, :5, :4] if dim == 3 else x[:1, :, :7, :6]
    xs = xs.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v: m(GeometricTensor(v, t)).tensor, (xs,))


@pytest.mark.parametrize("grad", [False, True], ids=["nograd", "grad"])
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_antialiased_blur_keeps_the_input_dtype_and_is_finite(dtype, dim, grad):
    t = _blur_type(dim)
    enn = _nn3d()
    make = enn.PointwiseAvgPoolAntialiased3D if dim == 3 else enn.PointwiseAvgPoolAntialiased
    m = make(t, sigma=0.6, stride=2).to(dtype)
    x = torch.rand(2, t.size, *([9] * dim)).to(dtype).requires_grad_(grad)
    y = m(GeometricTensor(x, t)).tensor
    assert y.dtype == dtype and y.shape == (2, t.size, *([5] * dim)) and bool(torch.isfinite(y).all())
    ref = m.float().export()(x.detach().float())
    torch.testing.assert_close(y.detach().float(), ref, rtol=2e-2, atol=2e-2)


def test_antialiased_blur_too_small_input_names_the_axis():
    t = _blur_type(2)
    m = PointwiseAvgPoolAntialiased(t, sigma=1.0, stride=1, padding=0)
    with pytest.raises(ValueError, match="too small along axis 3"):
        m(GeometricTensor(torch.randn(1, t.size, 9, 4), t))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_antialiased_pools_rebuild_their_gaussian_after_to_empty(kind, dim):
    """The Gaussian is a derived buffer that no state dict carries: leaving ``meta`` through ``to_empty``
    must rebuild it (it would be uninitialised memory), and casts keep it exact."""
    t = _blur_type(dim)
    enn = _nn3d()
    if kind == "avg":
        make = enn.PointwiseAvgPoolAntialiased3D if dim == 3 else enn.PointwiseAvgPoolAntialiased
        m = make(t, sigma=0.7, stride=2)
    else:
        make = enn.PointwiseMaxPoolAntialiased3D if dim == 3 else enn.PointwiseMaxPoolAntialiased
        m = make(t, 2, stride=2, sigma=0.7)
    x = torch.rand(2, t.size, *([8] * dim))
    ref = m(GeometricTensor(x, t)).tensor
    m.to("meta").to_empty(device="cpu")
    torch.testing.assert_close(m(GeometricTensor(x, t)).tensor, ref, rtol=0, atol=0)
    m.double()
    assert m._taps.dtype == torch.float64 and abs(float(m._taps.sum()) - 1.0) < 1e-15


def test_antialiased_pools_reject_what_they_cannot_pool():
    t = _blur_type(2)
    with pytest.raises(ValueError, match=r"PointwiseAvgPoolAntialiased: sigma=inf is not accepted"):
        PointwiseAvgPoolAntialiased(t, sigma=float("inf"), stride=2)
    with pytest.raises(ValueError, match=r"PointwiseMaxPoolAntialiased: sigma=nan is not accepted"):
        PointwiseMaxPoolAntialiased(t, 2, sigma=float("nan"))
    avg = PointwiseAvgPoolAntialiased(t, sigma=1.0, stride=2, padding=0)
    msg = r"PointwiseAvgPoolAntialiased: an input of shape \(1, 5, 4, 9\) is too small along axis 2"
    with pytest.raises(ValueError, match=msg):
        avg.evaluate_output_shape((1, t.size, 4, 9))
    with pytest.raises(ValueError, match=msg):
        avg(GeometricTensor(torch.randn(1, t.size, 4, 9), t))
    mx = PointwiseMaxPoolAntialiased(t, 3)
    msg = r"PointwiseMaxPoolAntialiased: an input of shape \(1, 5, 9, 2\) is too small along axis 3: .*max window"
    with pytest.raises(ValueError, match=msg):
        mx.evaluate_output_shape((1, t.size, 9, 2))
    with pytest.raises(ValueError, match=msg):
        mx(GeometricTensor(torch.randn(1, t.size, 9, 2), t))


def test_antialiased_avg_pool_stride_none_is_the_gaussians_size_as_in_e2cnn():
    e2 = pytest.importorskip("e2cnn")
    t = _blur_type(2)
    ours = PointwiseAvgPoolAntialiased(t, sigma=0.6, stride=None)
    assert ours.stride == ours.kernel_size == (5, 5)
    gs = e2.gspaces.Rot2dOnR2(4)
    theirs = e2.nn.PointwiseAvgPoolAntialiased(
        e2.nn.FieldType(gs, [gs.regular_repr, gs.trivial_repr]), 0.6, None
    )
    x = torch.randn(2, t.size, 17, 13)
    with torch.no_grad():
        got = ours(GeometricTensor(x, t)).tensor
        want = theirs(e2.nn.GeometricTensor(x, theirs.in_type)).tensor
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert _nn3d().PointwiseAvgPoolAntialiased3D(_blur_type(3), 0.6, None).stride == (5, 5, 5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_antialiased_blur_in_half_precision_rounds_the_gaussian_once(dtype):
    """The kernel is built in float64 and rounded once: a constant stays constant (inside the padding)."""
    t = _blur_type(3)
    m = _nn3d().PointwiseAvgPoolAntialiased3D(t, sigma=0.6, stride=2).to(dtype)
    y = m(GeometricTensor(torch.ones(1, t.size, 9, 9, 9, dtype=dtype), t)).tensor
    assert float((y[..., 2, 2, 2].float() - 1.0).abs().max()) <= float(torch.finfo(dtype).eps)
    assert m.filter.dtype == dtype and m.export().weight.dtype == dtype


def test_antialiased_pools_extreme_sigmas():
    t = _blur_type(2)
    tiny = PointwiseAvgPoolAntialiased(t, sigma=1e-170, stride=1)  # one tap: the identity
    x = torch.randn(1, t.size, 5, 5)
    torch.testing.assert_close(tiny(GeometricTensor(x, t)).tensor, x, rtol=0, atol=0)
    with pytest.raises(
        ValueError, match=r"sigma=1000000.0 is not accepted; its Gaussian would have 6000001 taps"
    ):
        PointwiseAvgPoolAntialiased(t, sigma=1e6, stride=1)
    with pytest.raises(ValueError, match=r"sigma=1000.* is not accepted; expected a finite float > 0"):
        PointwiseMaxPoolAntialiased(t, 2, sigma=10**400)
