"""Restriction, disentangle, upsampling, reshuffle, masking and identity modules."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.group import directsum
from structconv.nn import (
    DisentangleModule,
    FieldType,
    GeometricTensor,
    IdentityModule,
    MaskModule,
    R2Upsampling,
    ReshuffleModule,
    RestrictionModule,
)
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)
SO2 = gspaces.Rot2dOnR2(-1, maximum_frequency=3)


def _mixed(gs, shuffled):
    v = gs.irrep(1, 1) if gs.fibergroup.name.startswith("D") else gs.irrep(1)
    reps = [gs.regular_repr, v, gs.trivial_repr, v]
    return FieldType(gs, list(reversed(reps)) if shuffled else reps)


@pytest.mark.parametrize(
    "gs, id", [(D4, (None, 4)), (D4, (0, 2)), (C8, 4), (SO2, 4)], ids=["D4-C4", "D4-D2", "C8-C4", "SO2-C4"]
)
def test_restriction(gs, id):
    t = FieldType(
        gs, [gs.irrep(1), gs.trivial_repr] if gs.fibergroup.continuous else [gs.regular_repr, gs.trivial_repr]
    )
    m = RestrictionModule(t, id)
    assert m.out_type == t.restrict(id)
    x = torch.randn(2, t.size, 5, 5)
    y = m(GeometricTensor(x, t))
    assert y.tensor is x and y.type == m.out_type
    errors = m.check_equivariance()
    assert len(errors) == len(m.out_type.testing_elements) and max(e for _, e in errors) < 1e-12
    exported = m.export()
    assert isinstance(exported, torch.nn.Identity) and not exported.training
    assert m.evaluate_output_shape((2, t.size, 5, 5)) == (2, t.size, 5, 5)
    with pytest.raises(ValueError, match="id=.*not a valid subgroup id"):
        RestrictionModule(t, "bad")


@pytest.mark.parametrize("shuffled", [False, True])
def test_disentangle(shuffled):
    gs = C4
    entangled = directsum(
        [gs.irrep(1), gs.trivial_repr, gs.irrep(2)], change_of_basis=np.eye(4)[[2, 0, 3, 1]]
    )
    reps = [entangled, gs.regular_repr, entangled, gs.irrep(1)]
    t = FieldType(gs, list(reversed(reps)) if shuffled else reps)
    m = DisentangleModule(t)
    assert m.out_type.size == t.size and len(m.out_type) > len(t)
    assert_equivariant(m, spatial_size=5)
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    y = m.double()(GeometricTensor(x, t)).tensor
    for g in t.testing_elements:
        moved = m(GeometricTensor(t.transform_fibers(x, g), t)).tensor
        torch.testing.assert_close(moved, m.out_type.transform_fibers(y, g))
    # an orthogonal (permutation) change of basis: norms are preserved
    torch.testing.assert_close(y.norm(dim=1), x.norm(dim=1))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_upsampling(mode):
    t = _mixed(D4, True)
    m = R2Upsampling(t, scale_factor=2, mode=mode)
    assert_equivariant(m, spatial_size=7)
    x = torch.randn(2, t.size, 7, 7)
    y = m(GeometricTensor(x, t)).tensor
    assert tuple(y.shape) == m.evaluate_output_shape(tuple(x.shape)) == (2, t.size, 14, 14)
    exported = m.export()
    assert isinstance(exported, torch.nn.Upsample) and not exported.training
    torch.testing.assert_close(exported(x), y)
    sized = R2Upsampling(t, size=(10, 12), mode=mode)
    assert sized(GeometricTensor(x, t)).shape[-2:] == (10, 12) and sized.evaluate_output_shape(x.shape)[
        -2:
    ] == (10, 12)
    torch.testing.assert_close(sized.export()(x), sized(GeometricTensor(x, t)).tensor)


def test_upsampling_errors():
    t = _mixed(C4, False)
    with pytest.raises(ValueError, match="mode='bicubic' is not supported"):
        R2Upsampling(t, 2, mode="bicubic")
    with pytest.raises(ValueError, match="expected exactly one"):
        R2Upsampling(t)
    with pytest.raises(ValueError, match="expected exactly one"):
        R2Upsampling(t, 2, size=4)
    with pytest.raises(ValueError, match="scale_factor=-1"):
        R2Upsampling(t, -1)


def test_reshuffle():
    t = _mixed(C4, False)
    m = ReshuffleModule(t, [3, 0, 2, 1])
    assert m.out_type == t.index_select([3, 0, 2, 1])
    x = torch.randn(2, t.size, 5, 5)
    y = m(GeometricTensor(x, t)).tensor
    s, e = t.fields_start, t.fields_end
    ref = torch.cat([x[:, s[i] : e[i]] for i in (3, 0, 2, 1)], dim=1)
    torch.testing.assert_close(y, ref)
    assert_equivariant(m, spatial_size=5)
    clone = pickle.loads(pickle.dumps(m))
    torch.testing.assert_close(clone(GeometricTensor(x, t)).tensor, y)
    with pytest.raises(ValueError, match=r"permutation=\[0, 0, 1, 2\] is not accepted"):
        ReshuffleModule(t, [0, 0, 1, 2])


def test_mask():
    t = _mixed(D4, True)
    m = MaskModule(t, 11, margin=10.0)
    assert_equivariant(m, spatial_size=11)
    assert len(m.check_equivariance()) == len(t.testing_elements)
    x = torch.randn(2, t.size, 11, 11)
    y = m(GeometricTensor(x, t)).tensor
    mask = m.mask[0, 0]
    assert float(mask[5, 5]) == 1.0 and float(mask[0, 0]) < 0.25 and float(mask.min()) > 0
    torch.testing.assert_close(y, x * mask)
    torch.testing.assert_close(mask, mask.T)
    assert list(m.state_dict()) == []
    assert m.evaluate_output_shape((2, t.size, 11, 11)) == (2, t.size, 11, 11)
    with pytest.raises(ValueError, match="spatial shape"):
        m(GeometricTensor(torch.randn(1, t.size, 9, 9), t))
    with pytest.raises(ValueError, match="margin=100"):
        MaskModule(t, 11, margin=100)
    with pytest.raises(ValueError, match="S=0"):
        MaskModule(t, 0)


def test_identity():
    t = _mixed(C8, True)
    m = IdentityModule(t)
    x = GeometricTensor(torch.randn(2, t.size, 3, 3), t)
    assert m(x) is x
    assert isinstance(m.export(), torch.nn.Identity)
    assert m.evaluate_output_shape((2, t.size, 3, 3)) == (2, t.size, 3, 3)
    assert max(e for _, e in m.check_equivariance()) == 0.0
    with pytest.raises(TypeError, match="in_type must be a FieldType"):
        IdentityModule(None)
