"""Every constraint and every norm-based module is finite, outputs and gradients, in every float dtype.

Inputs: zero, tiny (the dtype's smallest normal number), ordinary (standard normal), negative, and huge (a
value whose square overflows the dtype: 300 in float16, 1e19 in float32 and bfloat16, 1e155 in float64).
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
    return {
        "zero": torch.zeros(shape, dtype=dtype),
        "tiny": torch.full(shape, tiny, dtype=dtype),
        "normal": normal.to(dtype),
        "negative": -normal.abs().to(dtype) - 0.5,
        "huge": (normal.sign() * HUGE[dtype]).to(dtype),
        "huge_positive": torch.full(shape, HUGE[dtype], dtype=dtype),
    }


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
    for kind, w in _inputs((4, 3, 3, 3), dtype).items():
        w = w.clone().requires_grad_(True)
        out = c(w)
        assert out.dtype == dtype
        assert torch.isfinite(out).all(), f"{name} {dtype} {kind}: output not finite"
        out.backward(torch.ones_like(out))
        assert torch.isfinite(w.grad).all(), f"{name} {dtype} {kind}: gradient not finite"
        with torch.no_grad():  # the in-place projection too
            assert torch.isfinite(c.project_(w.detach().clone())).all()


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
