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
