"""Dropout: FieldDropout (whole fields) and PointwiseDropout (single channels)."""

from __future__ import annotations

import pickle

import pytest
import torch

from structconv import gspaces
from structconv.nn import FieldDropout, FieldType, GeometricTensor, PointwiseDropout
from structconv.testing import assert_equivariant

C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)
O2 = gspaces.FlipRot2dOnR2(-1, maximum_frequency=3)


def _mixed(gs, shuffled):
    v = gs.irrep(1, 1) if gs.fibergroup.name.startswith(("D", "O")) else gs.irrep(1)
    reps = [v, v, gs.trivial_repr] + ([] if gs.fibergroup.continuous else [gs.regular_repr])
    return FieldType(gs, list(reversed(reps)) if shuffled else reps)


@pytest.mark.parametrize(
    "cls, shuffled", [(FieldDropout, False), (FieldDropout, True), (PointwiseDropout, True)]
)
def test_train_mean_matches_eval_mean(cls, shuffled):
    t = _mixed(C8, shuffled) if cls is FieldDropout else FieldType(C8, [C8.regular_repr, C8.trivial_repr])
    m = cls(t, p=0.3)
    x = torch.randn(1, t.size, 4, 4).expand(4000, -1, -1, -1)
    eval_mean = m.eval()(GeometricTensor(x, t)).tensor.mean(0)
    train_out = m.train()(GeometricTensor(x, t)).tensor
    torch.testing.assert_close(train_out.mean(0), eval_mean, atol=0.1, rtol=0.05)
    kept = (train_out != 0).float().mean()
    assert abs(float(kept) - 0.7) < 0.02


@pytest.mark.parametrize("gs", [C8, D4, O2], ids=["C8", "D4", "O2"])
def test_field_dropout_drops_whole_fields_equivariantly(gs):
    t = _mixed(gs, True)
    m = FieldDropout(t, p=0.5).double()
    x = torch.randn(3, t.size, 4, 4, dtype=torch.float64)
    torch.manual_seed(1)
    y = m(GeometricTensor(x, t)).tensor
    for s, e in zip(t.fields_start, t.fields_end):
        zero = y[:, s:e] == 0
        assert torch.equal(zero, zero[:, :1].expand_as(zero))  # all channels of a field dropped together
    # with the same random mask, the fibre action commutes with the dropout
    for g in t.testing_elements[:6]:
        torch.manual_seed(1)
        moved = m(GeometricTensor(t.transform_fibers(x, g), t)).tensor
        torch.testing.assert_close(moved, t.transform_fibers(y, g))
    if not gs.fibergroup.continuous:
        assert_equivariant(m, spatial_size=5)


def test_eval_identity_export_and_inplace():
    t = FieldType(C8, [C8.regular_repr] * 2)
    x = torch.randn(2, 16, 3, 3)
    for cls, plain in ((FieldDropout, torch.nn.Identity), (PointwiseDropout, torch.nn.Dropout)):
        m = cls(t, p=0.4)
        exported = m.export()
        assert isinstance(exported, plain) and not exported.training
        assert m.training  # export() leaves the live module in training mode
        torch.testing.assert_close(exported(x), m.eval()(GeometricTensor(x, t)).tensor)
        assert m.evaluate_output_shape((2, 16, 3, 3)) == (2, 16, 3, 3)
        m.train()
        z = x.clone()
        out = cls(t, p=0.4, inplace=True)(GeometricTensor(z, t)).tensor
        assert out.data_ptr() == z.data_ptr()
        clone = pickle.loads(pickle.dumps(m))
        assert clone.p == 0.4
    assert repr(PointwiseDropout(t, p=0.4).export()) == "Dropout(p=0.4, inplace=False)"


def test_dropout_rejections():
    with pytest.raises(ValueError, match="field 1 of in_type has representation 'irrep_1'.*'pointwise'"):
        PointwiseDropout(FieldType(C8, [C8.regular_repr, C8.irrep(1)]))
    with pytest.raises(ValueError, match="p=1.5"):
        FieldDropout(FieldType(C8, [C8.irrep(1)]), p=1.5)
    m = FieldDropout(FieldType(C8, [C8.irrep(1)]), p=1.0)
    assert float(m(GeometricTensor(torch.ones(1, 2, 2, 2), m.in_type)).tensor.abs().sum()) == 0.0
