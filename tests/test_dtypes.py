"""Every constraint and every norm-based module is finite, outputs and gradients, in every float dtype.

Inputs: zero, tiny (the dtype's smallest normal number, and a subnormal), ordinary (standard normal),
negative, huge (a value whose square overflows the dtype: 300 in float16, 1e19 in float32 and bfloat16,
1e155 in float64), and the largest inputs the maps are specified for, ``finfo(dtype).max / 4`` (all entries,
signs mixed, and ordinary values scaled so that the largest is ``max / 4``). Gradients are taken for an
upstream gradient of ones and for a random one: a backward pass sums upstream gradients over a slice, which
overflows if anything multiplies that sum by the slice's scale (issue 15: ZeroMean / UnitL2 at 8.5e37 in
float32, the norm batch norms at 4.5e307 in float64).
"""

from __future__ import annotations

import pytest
import torch

from structconv import constraints as C

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
HUGE = {torch.float16: 300.0, torch.bfloat16: 1e19, torch.float32: 1e19, torch.float64: 1e155}


def _inputs(shape: tuple[int, ...], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    normal = torch.randn(shape, generator=g, dtype=torch.float64)
    tiny = torch.finfo(dtype).tiny
    top = torch.finfo(dtype).max / 4
    return {
        "zero": torch.zeros(shape, dtype=dtype),
        "tiny": torch.full(shape, tiny, dtype=dtype),
        "subnormal": (normal.sign() * tiny / 4).to(dtype),
        "normal": normal.to(dtype),
        "negative": -normal.abs().to(dtype) - 0.5,
        "huge": (normal.sign() * HUGE[dtype]).to(dtype),
        "huge_positive": torch.full(shape, HUGE[dtype], dtype=dtype),
        "max/4": (normal.sign() * top).to(dtype),
        "max/4_positive": torch.full(shape, top, dtype=dtype),
        "max/4_mixed": (normal / normal.abs().max() * top).to(dtype),
        # all taps negative and huge: a clipped slice sums to 0 while eps / scale underflows
        "huge_negative": (-normal.abs() * HUGE[dtype] - HUGE[dtype]).to(dtype),
        "max/4_negative": (-(normal.abs() / normal.abs().max()) * (top / 2) - top / 2).to(dtype),  # in [-top, -top/2]
    }


def _upstream(out: torch.Tensor) -> list[torch.Tensor]:
    """An upstream gradient of ones and a random one (seeded)."""
    g = torch.Generator().manual_seed(1)
    return [torch.ones_like(out), torch.randn(out.shape, generator=g, dtype=torch.float64).to(out.dtype)]


CONSTRAINTS = {
    "NonNeg": lambda: C.NonNeg(),
    "SumToOne": lambda: C.SumToOne(),
    "ZeroMean": lambda: C.ZeroMean(),
    "NonNegSumToOne": lambda: C.NonNegSumToOne(),
    "UnitL2": lambda: C.UnitL2(),
    "MaxL2": lambda: C.MaxL2(1.0),
    "FixedCenter": lambda: C.FixedCenter(),
    "MaxNorm": lambda: C.MaxNorm(2.0),
    "MinMaxNorm": lambda: C.MinMaxNorm(0.5, 1.0, rate=0.7),
    "UnitNorm": lambda: C.UnitNorm(),
    "WeightStandardization": lambda: C.WeightStandardization(),
    "ScaledWeightStandardization": lambda: C.ScaledWeightStandardization(4),
    "Compose": lambda: C.Compose(C.ZeroMean(), C.UnitL2()),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_constraint_outputs_and_gradients_are_finite(name, dtype):
    c = CONSTRAINTS[name]().to(dtype)
    for kind, w0 in _inputs((4, 3, 3, 3), dtype).items():
        for i, upstream in enumerate(_upstream(c(w0))):
            w = w0.clone().requires_grad_(True)
            c.zero_grad()
            out = c(w)
            assert out.dtype == dtype
            assert torch.isfinite(out).all(), f"{name} {dtype} {kind}: output not finite"
            out.backward(upstream)
            assert torch.isfinite(w.grad).all(), f"{name} {dtype} {kind} upstream {i}: gradient not finite"
            for p_name, p in c.named_parameters():
                assert p.grad is None or torch.isfinite(p.grad).all(), f"{name} {dtype} {kind}: {p_name}.grad"
        with torch.no_grad():  # the in-place projection too
            assert torch.isfinite(c.project_(w0.clone())).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_normalising_constraints_keep_their_property_for_huge_and_half_weights(dtype):
    # the cases: UnitL2 / MaxL2 / UnitNorm / MaxNorm kernels of |w| ~ 1e19 (float32) or ~100 (float16)
    # collapsed to 0; they must have norm 1 (resp. the bound)
    big = 100.0 if dtype == torch.float16 else HUGE[dtype]
    w = torch.full((2, 1, 3, 3), big, dtype=dtype)
    tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2, torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    for c, target in ((C.UnitL2(), 1.0), (C.MaxL2(0.5), 0.5), (C.UnitNorm(), 1.0), (C.MaxNorm(2.0), 2.0)):
        out = c(w).double()
        norms = out.square().sum((1, 2, 3)).sqrt()
        torch.testing.assert_close(norms, torch.full_like(norms, target), atol=tol * target, rtol=0)
    sums = C.SumToOne()(w).double().sum((2, 3))
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=tol * 9, rtol=0)
    ws = C.WeightStandardization()(w + torch.arange(9, dtype=dtype).view(1, 1, 3, 3) * (big / 8)).double()
    torch.testing.assert_close(
        ws.std((1, 2, 3), unbiased=False), torch.ones(2, dtype=torch.float64), atol=5 * tol, rtol=0
    )


def test_eps_follows_the_dtype():
    from structconv._numerics import effective_eps

    assert effective_eps(1e-12, torch.float32) == 1e-12
    assert effective_eps(1e-12, torch.float64) == 1e-12
    assert effective_eps(1e-12, torch.float16) == torch.finfo(torch.float16).tiny
    assert torch.tensor(effective_eps(1e-12, torch.float16), dtype=torch.float16) > 0
    # a zero float16 slice: 0 (float32 gives 0 too), never NaN
    for c in (C.UnitL2(), C.SumToOne(), C.NonNegSumToOne(), C.FixedCenter()):
        out = c(torch.zeros(2, 1, 3, 3, dtype=torch.float16))
        assert torch.equal(out.float(), c(torch.zeros(2, 1, 3, 3)))


# ------------------------------------------------------------------------------ norm-based modules


def _modules():
    from structconv import gspaces
    from structconv.nn import (
        FieldType,
        GNormBatchNorm,
        InducedNormBatchNorm,
        InducedNormNonLinearity,
        InducedNormPool,
        NormBatchNorm,
        NormMaxPool,
        NormNonLinearity,
        NormPool,
    )

    gs = gspaces.Rot2dOnR2(8)
    t = FieldType(gs, [gs.irrep(1), gs.irrep(2), gs.regular_repr])
    nontrivial = FieldType(gs, [gs.irrep(1), gs.irrep(3)])
    fr = gspaces.FlipRot2dOnR2(4)
    induced = FieldType(fr, [fr.induced_repr((None, 4), fr.restrict((None, 4))[0].irrep(1))] * 2)
    return {
        "NormNonLinearity[n_relu]": lambda: NormNonLinearity(t, "n_relu"),
        "NormNonLinearity[n_sigmoid]": lambda: NormNonLinearity(t, "n_sigmoid"),
        "NormNonLinearity[squash]": lambda: NormNonLinearity(t, "squash", bias=False),
        "InducedNormNonLinearity": lambda: InducedNormNonLinearity(induced),
        "NormPool": lambda: NormPool(t),
        "InducedNormPool": lambda: InducedNormPool(induced),
        "NormMaxPool": lambda: NormMaxPool(t, 2),
        "NormBatchNorm": lambda: NormBatchNorm(nontrivial),
        "InducedNormBatchNorm": lambda: InducedNormBatchNorm(induced),
        "GNormBatchNorm": lambda: GNormBatchNorm(t),
    }


MODULES = sorted(_modules())


def _field_inputs(c: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    shape = (2, c, 4, 4)
    out = _inputs(shape, dtype)
    region = out["normal"].clone()
    region[..., :2] = 0  # a zero background next to ordinary values
    out["zero_region"] = region
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", MODULES)
def test_norm_module_outputs_and_gradients_are_finite(name, dtype):
    from structconv.nn import GeometricTensor

    m = _modules()[name]().to(dtype)
    for mode in ("train", "eval"):
        m.train(mode == "train")
        for kind, x0 in _field_inputs(m.in_type.size, dtype).items():
            for i in range(2):  # an upstream gradient of ones, then a random one
                x = x0.clone().requires_grad_(True)
                m.zero_grad()
                y = m(GeometricTensor(x, m.in_type)).tensor
                assert y.dtype == dtype
                assert torch.isfinite(y).all(), f"{name} {dtype} {mode} {kind}: output not finite"
                y.backward(_upstream(y)[i])
                assert torch.isfinite(x.grad).all(), f"{name} {dtype} {mode} {kind} {i}: input gradient not finite"
                for p_name, p in m.named_parameters():
                    assert p.grad is None or torch.isfinite(p.grad).all(), f"{name} {dtype} {kind}: {p_name}.grad"
                for b_name, b in m.named_buffers():
                    if b.is_floating_point():
                        assert torch.isfinite(b).all(), f"{name} {dtype} {kind}: buffer {b_name}"


def test_norm_values_are_right_where_the_squares_overflow():
    from structconv import gspaces
    from structconv.nn import FieldType, GeometricTensor, NormNonLinearity, NormPool

    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.irrep(1)])
    for dtype, v in ((torch.float16, 200.0), (torch.float32, 3e19), (torch.float64, 3e160)):
        x = torch.tensor([v, v], dtype=dtype).view(1, 2, 1, 1)
        norm = NormPool(t)(GeometricTensor(x, t)).tensor.double().item()
        assert norm == pytest.approx(v * 2**0.5, rel=2e-3)
        y = NormNonLinearity(t, "squash", bias=False).to(dtype)(GeometricTensor(x, t)).tensor.double()
        n = v * 2**0.5
        assert y.flatten().tolist() == pytest.approx([v / (1 + n)] * 2, rel=2e-3)  # squash: n / (1 + n) v / n


def test_autocast_float16_net_with_a_zero_region_has_finite_gradients():
    # the net: R2Conv -> NormNonLinearity -> NormPool under autocast, input with a zero background
    from structconv import gspaces
    from structconv.nn import FieldType, GeometricTensor, NormNonLinearity, NormPool, R2Conv, SequentialModule

    gs = gspaces.Rot2dOnR2(8)
    t_in = FieldType(gs, [gs.trivial_repr])
    t_mid = FieldType(gs, [gs.irrep(1)] * 2 + [gs.regular_repr])
    torch.manual_seed(0)
    net = SequentialModule(R2Conv(t_in, t_mid, 3, padding=1), NormNonLinearity(t_mid), NormPool(t_mid))
    x = torch.zeros(2, 1, 9, 9)
    x[:, :, 2:5, 2:5] = torch.randn(2, 1, 3, 3) * 50
    with torch.autocast("cpu", dtype=torch.float16):
        y = net(GeometricTensor(x, t_in)).tensor
    y.float().sum().backward()
    assert torch.isfinite(y).all()
    for name, p in net.named_parameters():
        assert torch.isfinite(p.grad).all(), name
