"""Mixed precision: forward and backward under ``torch.autocast`` (bfloat16 on CPU).

Convolutions run in bfloat16; the kernel maps that set the structure of the kernel (constraints,
weight standardization, the steerable basis expansion) must stay in float32, and the parameters,
their gradients and the running statistics stay float32.
"""

from __future__ import annotations

import copy

import pytest
import torch

import _deploy_zoo as zoo

ALL = [*zoo.CONSTRAINED, *zoo.EQUIVARIANT]


def _build(name: str):
    try:
        return zoo.build(name)
    except zoo.Missing as err:
        pytest.skip(str(err))


def _autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("name", ALL)
def test_forward_backward_under_autocast(name: str) -> None:
    model, x = _build(name)
    reference = copy.deepcopy(model)
    torch.manual_seed(0)
    y_ref = reference(x).detach()
    torch.manual_seed(0)
    with _autocast():
        y = model(x)
    assert y.dtype in (torch.bfloat16, torch.float32)
    # bfloat16 keeps ~3 significant digits: compare against the float32 output at that scale
    scale = float(y_ref.abs().max())
    assert float((y.detach().float() - y_ref).abs().max()) <= 0.05 * scale + 1e-3
    y.float().square().mean().backward()
    for n, p in model.named_parameters():
        assert p.dtype == torch.float32, n
        assert p.grad is not None and p.grad.dtype == torch.float32, n
        assert torch.isfinite(p.grad).all(), n
    for n, b in model.named_buffers():
        if b.is_floating_point():
            assert b.dtype in (torch.float32, torch.float64), n
            assert torch.isfinite(b).all(), n


@pytest.mark.parametrize("name", ALL)
def test_eval_under_autocast(name: str) -> None:
    model, x = _build(name)
    model.eval()
    with torch.no_grad():
        y_ref = model(x)
        with _autocast():
            y = model(x)
        y_after = model(x)
    assert float((y.float() - y_ref).abs().max()) <= 0.05 * float(y_ref.abs().max()) + 1e-3
    # an eval-mode cache filled under autocast must not leak bfloat16 into a float32 forward
    torch.testing.assert_close(y_after, y_ref, rtol=1e-6, atol=1e-6)


def test_constraint_maps_stay_float32() -> None:
    c2, ws2 = zoo.require("ConstrainedConv2d", "WSConv2d")
    conv = c2(3, 4, 3, constraint=["zero_mean", "unit_l2"])
    ws = ws2(3, 4, 3)
    with _autocast():
        assert conv.constrained_weight().dtype == torch.float32
        assert ws.standardize_weight().dtype == torch.float32


def _steerable_filter_dtype(cls_name: str) -> torch.dtype:
    ft, cls = zoo.require("FieldType", cls_name)
    from structconv.gspaces import Rot2dOnR2

    gs = Rot2dOnR2(8)
    t = ft(gs, [gs.regular_repr] * 2)
    layer = cls(t, t, 3) if cls_name != "R2Diffop" else cls(t, t, kernel_size=3)
    with _autocast():
        filt, _ = layer.expand_parameters()
    return filt.dtype


@pytest.mark.parametrize("cls_name", ["R2Conv", "R2ConvTransposed", "R2Diffop"])
def test_basis_expansion_stays_float32(cls_name: str) -> None:
    assert _steerable_filter_dtype(cls_name) == torch.float32


def test_eval_switch_under_autocast_keeps_float32_cache() -> None:
    model, x = _build("demo_equivariant_cnn")
    with _autocast():
        model.eval()
    with torch.no_grad():
        y = model(x)
    assert y.dtype == torch.float32
