"""NormBatchNorm and GNormBatchNorm give e2cnn's numbers (Bessel's factor on every block, running variance).

The effect under test is about ``1 / N`` (N = batch times pixels = 100 here), so the tolerances are far tighter.
"""

from __future__ import annotations

import pytest
import torch

from structconv import gspaces
from structconv.nn import FieldType, GeometricTensor, GNormBatchNorm, NormBatchNorm

pytestmark = pytest.mark.oracle


def _pair(kind: str):
    e2cnn = pytest.importorskip("e2cnn")
    egs, gs = e2cnn.gspaces.Rot2dOnR2(8), gspaces.Rot2dOnR2(8)
    if kind == "norm":
        names = [1, 2, 1, 3]
        et = e2cnn.nn.FieldType(egs, [egs.irrep(k) for k in names])
        t = FieldType(gs, [gs.irrep(k) for k in names])
        ref, ours = e2cnn.nn.NormBatchNorm(et, affine=False), NormBatchNorm(t, affine=False)
    else:
        et = e2cnn.nn.FieldType(egs, [egs.regular_repr, egs.irrep(1), egs.trivial_repr])
        t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
        ref, ours = e2cnn.nn.GNormBatchNorm(et, affine=False), GNormBatchNorm(t, affine=False)
    return e2cnn, et, t, ref.double(), ours.double()


@pytest.mark.parametrize("kind", ["norm", "gnorm"])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_training_and_eval_outputs_match_e2cnn(kind, momentum):
    e2cnn, et, t, ref, ours = _pair(kind)
    ref.momentum = ours.momentum = momentum
    g = torch.Generator().manual_seed(0)
    for step in range(3):
        x = torch.randn(4, t.size, 5, 5, generator=g, dtype=torch.float64) * (2.0 + step)
        if kind == "gnorm":  # a non-zero mean on the invariant components
            x = x + 1.0
        y_ref = ref(e2cnn.nn.GeometricTensor(x, et)).tensor
        y = ours(GeometricTensor(x, t)).tensor
        torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-10)
    ref.eval()
    ours.eval()
    x = torch.randn(2, t.size, 3, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        ours(GeometricTensor(x, t)).tensor,
        ref(e2cnn.nn.GeometricTensor(x, et)).tensor,
        atol=1e-12,
        rtol=1e-10,
    )


def test_norm_batch_norm_running_variance_has_bessels_factor():
    # one field, momentum 1: the running variance is n / (n - 1) times the mean squared norm per channel
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.irrep(1)])
    m = NormBatchNorm(t, momentum=1.0, affine=False).double()
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    m(GeometricTensor(x, t))
    n = 3 * 4 * 4
    expected = x.square().sum(1).mean() / 2 * n / (n - 1)
    torch.testing.assert_close(m.running_var, expected.reshape(1), atol=0, rtol=1e-14)
