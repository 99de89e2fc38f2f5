"""The norm batch norms (and InnerBatchNorm on quotient types) give e2cnn's numbers (Bessel's factor on every block, running variance).

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


# --- induced, quotient and mixed field types: every batch norm against e2cnn ---------------------------------


def _induced_reps(lib, kind):
    """Field representations (a list) of ``kind`` built with ``lib`` (e2cnn or structconv)."""
    if kind == "d4_c2_sign":  # Ind_{C2}^{D4} of C2's sign: 4 sub-fields of size 1
        gs = lib.gspaces.FlipRot2dOnR2(4)
        sub = gs.fibergroup.subgroup((None, 2))[0]
        return gs, [gs.induced_repr((None, 2), sub.irrep(1))] * 2
    if kind == "d8_mixed":  # sizes 8 (4 sub-fields of 2) and 4 (2 sub-fields of 2), interleaved
        gs = lib.gspaces.FlipRot2dOnR2(8)
        s4, s8 = gs.fibergroup.subgroup((None, 4))[0], gs.fibergroup.subgroup((None, 8))[0]
        a, b = gs.induced_repr((None, 4), s4.irrep(1)), gs.induced_repr((None, 8), s8.irrep(3))
        return gs, [a, b, a, b, b]
    if kind == "c8_c4":  # Ind_{C4}^{C8} of C4's irreps 1 (2 sub-fields of 2) and 2 (2 sub-fields of 1)
        gs = lib.gspaces.Rot2dOnR2(8)
        sub = gs.fibergroup.subgroup(4)[0]
        return gs, [gs.induced_repr(4, sub.irrep(2)), gs.induced_repr(4, sub.irrep(1))]
    raise AssertionError(kind)


def _induced_running_var(ref, reps) -> torch.Tensor:
    """e2cnn's per-field running variances, in field order (it stores one buffer per (size, sub-size))."""
    out, seen = [], {}
    for r in reps:
        (d,) = [int(s.split("_")[-1]) for s in r.supported_nonlinearities if s.startswith("induced_norm_")]
        key = (r.size, d)
        k = seen.get(key, 0)
        seen[key] = k + 1
        out.append(getattr(ref, f"{key}_running_var").flatten()[k])
    return torch.stack(out)


def _set_induced_weights(ref, ours, reps, g) -> None:
    seen = {}
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.5)
        for i, r in enumerate(reps):
            (d,) = [
                int(s.split("_")[-1]) for s in r.supported_nonlinearities if s.startswith("induced_norm_")
            ]
            key = (r.size, d)
            k = seen.get(key, 0)
            seen[key] = k + 1
            ours.weight[i] = getattr(ref, f"{key}_weight").flatten()[k]


@pytest.mark.parametrize("kind", ["d4_c2_sign", "d8_mixed", "c8_c4"])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_induced_norm_batch_norm_matches_e2cnn(kind, affine, momentum):
    # e2cnn counts every sub-field as a sample: Bessel's N = batch x pixels x sub-fields, per field
    e2cnn = pytest.importorskip("e2cnn")
    from structconv import nn as snn

    egs, ereps = _induced_reps(e2cnn, kind)
    gs, reps = _induced_reps(__import__("structconv"), kind)
    et, t = e2cnn.nn.FieldType(egs, ereps), FieldType(gs, reps)
    ref = e2cnn.nn.InducedNormBatchNorm(et, affine=affine, momentum=momentum).double()
    ours = snn.InducedNormBatchNorm(t, affine=affine, momentum=momentum).double()
    g = torch.Generator().manual_seed(3)
    if affine:
        _set_induced_weights(ref, ours, ereps, g)
    for step in range(3):
        x = torch.randn(3, t.size, 5, 4, generator=g, dtype=torch.float64) * (1.0 + step)
        y_ref = ref(e2cnn.nn.GeometricTensor(x, et)).tensor
        y = ours(GeometricTensor(x, t)).tensor
        torch.testing.assert_close(y, y_ref, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(ours.running_var, _induced_running_var(ref, ereps), atol=1e-6, rtol=1e-6)
    ref.eval()
    ours.eval()
    x = torch.randn(2, t.size, 3, 3, generator=g, dtype=torch.float64)
    y_ref = ref(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, y_ref, atol=1e-6, rtol=1e-6)


def test_induced_norm_batch_norm_bessel_counts_sub_fields():
    # one field with 4 sub-fields, momentum 1: N = batch x pixels x 4 in n / (n - 1)
    from structconv import nn as snn

    gs, reps = _induced_reps(__import__("structconv"), "d4_c2_sign")
    t = FieldType(gs, reps[:1])
    m = snn.InducedNormBatchNorm(t, momentum=1.0, affine=False).double()
    x = torch.randn(3, 4, 4, 4, dtype=torch.float64)
    m(GeometricTensor(x, t))
    n = 3 * 4 * 4 * 4
    expected = x.square().sum(1).mean() / 4 * n / (n - 1)
    torch.testing.assert_close(m.running_var, expected.reshape(1), atol=0, rtol=1e-14)


def _sibling_types(lib, kind):
    if kind == "norm_induced":  # NormBatchNorm over induced fields (no trivial component)
        gs, reps = _induced_reps(lib, "d8_mixed")
        return gs, reps
    if kind == "gnorm_quotient_induced":
        gs = lib.gspaces.FlipRot2dOnR2(4)
        sub = gs.fibergroup.subgroup((None, 2))[0]
        return gs, [gs.quotient_repr((None, 2)), gs.induced_repr((None, 2), sub.irrep(1)), gs.regular_repr]
    if kind == "inner_quotient":
        gs = lib.gspaces.FlipRot2dOnR2(4)
        return gs, [gs.quotient_repr((None, 2)), gs.regular_repr, gs.quotient_repr((0, 4)), gs.trivial_repr]
    raise AssertionError(kind)


_SIBLING = {
    "norm_induced": "NormBatchNorm",
    "gnorm_quotient_induced": "GNormBatchNorm",
    "inner_quotient": "InnerBatchNorm",
}


@pytest.mark.parametrize("kind", sorted(_SIBLING))
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sibling_batch_norms_match_e2cnn_on_quotient_and_induced_types(kind, momentum):
    e2cnn = pytest.importorskip("e2cnn")
    from structconv import nn as snn

    egs, ereps = _sibling_types(e2cnn, kind)
    gs, reps = _sibling_types(__import__("structconv"), kind)
    et, t = e2cnn.nn.FieldType(egs, ereps), FieldType(gs, reps)
    name = _SIBLING[kind]
    ref = getattr(e2cnn.nn, name)(et, affine=False, momentum=momentum).double()
    ours = getattr(snn, name)(t, affine=False, momentum=momentum).double()
    g = torch.Generator().manual_seed(5)
    for step in range(3):
        x = torch.randn(3, t.size, 5, 4, generator=g, dtype=torch.float64) * (1.0 + step) + 0.5
        y_ref = ref(e2cnn.nn.GeometricTensor(x, et)).tensor
        torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, y_ref, atol=1e-6, rtol=1e-6)
    ref.eval()
    ours.eval()
    x = torch.randn(2, t.size, 3, 3, generator=g, dtype=torch.float64) + 0.5
    y_ref = ref(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, y_ref, atol=1e-6, rtol=1e-6)
