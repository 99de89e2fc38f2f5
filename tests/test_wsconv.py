"""Tests of structconv.nn.constrained.wsconv: WSConv1d/2d/3d, WSConvTranspose1d/2d/3d and FWS."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from structconv.nn import (
    FWS,
    WSConv1d,
    WSConv2d,
    WSConv3d,
    WSConvTranspose1d,
    WSConvTranspose2d,
    WSConvTranspose3d,
)

# (class, constructor kwargs, input shape)
CONVS = [
    (WSConv1d, dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2), (2, 4, 9)),
    (WSConv2d, dict(in_channels=4, out_channels=6, kernel_size=3, stride=2), (2, 4, 9, 9)),
    (WSConv3d, dict(in_channels=2, out_channels=4, kernel_size=3, padding=1), (1, 2, 4, 4, 4)),
    (WSConvTranspose1d, dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, groups=2), (2, 4, 5)),
    (WSConvTranspose2d, dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, groups=2), (2, 4, 4, 4)),
    (WSConvTranspose3d, dict(in_channels=2, out_channels=4, kernel_size=2, stride=2), (1, 2, 3, 3, 3)),
]
IDS = [c[0].__name__ for c in CONVS]
FUNCS = {
    1: (F.conv1d, F.conv_transpose1d),
    2: (F.conv2d, F.conv_transpose2d),
    3: (F.conv3d, F.conv_transpose3d),
}


def _is_transposed(m: nn.Module) -> bool:
    return isinstance(m, (WSConvTranspose1d, WSConvTranspose2d, WSConvTranspose3d))


def _reference_weight(m: nn.Module, eps: float = 1e-4) -> torch.Tensor:
    """Slow reference: standardize each output channel's filter by an explicit loop."""
    w = m.weight.detach()
    out = torch.empty_like(w)
    if not _is_transposed(m):
        for o in range(w.shape[0]):
            f = w[o]
            scale = m.gain[o].item() / math.sqrt(max(f.var(correction=0).item() * f.numel(), eps))
            out[o] = (f - f.mean()) * scale
        return out
    cin, per = w.shape[0] // m.groups, w.shape[1]
    for g in range(m.groups):
        for j in range(per):
            f = w[g * cin : (g + 1) * cin, j]
            scale = m.gain[g * per + j].item() / math.sqrt(max(f.var(correction=0).item() * f.numel(), eps))
            out[g * cin : (g + 1) * cin, j] = (f - f.mean()) * scale
    return out


def _make(cls, kwargs, dtype=torch.float64):
    m = cls(**kwargs, dtype=dtype)
    with torch.no_grad():
        m.gain.copy_(torch.linspace(0.5, 1.5, m.gain.numel(), dtype=dtype))
    return m


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cls,kwargs,shape", CONVS, ids=IDS)
def test_forward_matches_loop_reference(cls, kwargs, shape, dtype):
    m = _make(cls, kwargs, dtype)
    x = torch.randn(shape, dtype=dtype)
    conv, tconv = FUNCS[x.dim() - 2]
    ref_w = _reference_weight(m)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(m.standardize_weight().detach(), ref_w, atol=tol, rtol=tol)
    if _is_transposed(m):
        ref = tconv(x, ref_w, m.bias, m.stride, m.padding, m.output_padding, m.groups, m.dilation)
    else:
        ref = conv(x, ref_w, m.bias, m.stride, m.padding, m.dilation, m.groups)
    for mode in (True, False):
        m.train(mode)
        with torch.no_grad():
            torch.testing.assert_close(m(x), ref, atol=tol, rtol=tol)
    # squared norm of every output filter is gain^2 (mean 0 by construction)
    assert m.gain.numel() == m.out_channels


@pytest.mark.parametrize("cls,kwargs,shape", CONVS, ids=IDS)
def test_export_equality_and_type(cls, kwargs, shape):
    m = _make(cls, kwargs, torch.float32)
    x = torch.randn(shape)
    for mode in (True, False):
        m.train(mode)
        plain = m.export()
        assert type(plain) in (
            nn.Conv1d,
            nn.Conv2d,
            nn.Conv3d,
            nn.ConvTranspose1d,
            nn.ConvTranspose2d,
            nn.ConvTranspose3d,
        )
        assert not plain.training  # exports are in eval mode, whatever the live mode
        with torch.no_grad():
            torch.testing.assert_close(plain(x), m(x), atol=1e-6, rtol=1e-6)
    assert m.export(eps=0.5).weight.shape == m.weight.shape


def test_eps_forward_argument():
    m = WSConv2d(2, 3, 3, dtype=torch.float64)
    with torch.no_grad():
        m.weight.mul_(1e-4)
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    w = m.weight.detach()
    w0 = w - w.mean((1, 2, 3), keepdim=True)
    torch.testing.assert_close(m(x, eps=1.0), F.conv2d(x, w0, m.bias))  # var*F << eps: scale = rsqrt(eps) = 1
    with pytest.raises(ValueError, match="eps=0"):
        m(x, eps=0)


def test_padding_mode_and_same_padding_are_honoured():
    m = WSConv2d(2, 3, 3, padding=1, padding_mode="reflect")
    x = torch.randn(1, 2, 6, 6)
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), m.standardize_weight(), m.bias)
    torch.testing.assert_close(m(x), ref)
    assert WSConv2d(2, 3, 3, padding="same")(x).shape == (1, 3, 6, 6)
    with pytest.raises(ValueError, match="zeros"):
        WSConvTranspose2d(2, 3, 3, padding_mode="reflect")


def test_transposed_output_size():
    down = WSConv2d(16, 16, 3, stride=2, padding=1)
    up = WSConvTranspose2d(16, 16, 3, stride=2, padding=1)
    x = torch.randn(1, 16, 12, 12)
    h = down(x)
    assert h.shape == (1, 16, 6, 6)
    assert up(h, output_size=x.size()).shape == x.shape
    assert up(h, eps=1e-3).shape == (1, 16, 11, 11)


@pytest.mark.parametrize(
    "cls,kwargs", [(WSConv2d, dict(groups=2)), (WSConvTranspose2d, dict(groups=2, stride=2))]
)
def test_gradcheck_float64(cls, kwargs):
    m = cls(4, 2, 2, dtype=torch.float64, **kwargs)
    x = torch.randn(1, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    params = (m.weight, m.gain, m.bias)

    def f(inp, w, g, b):
        return torch.func.functional_call(m, {"weight": w, "gain": g, "bias": b}, (inp,))

    assert torch.autograd.gradcheck(f, (x, *params))


def test_state_dict_keys_and_round_trip_train_eval():
    m = _make(WSConvTranspose2d, dict(in_channels=4, out_channels=6, kernel_size=3, groups=2), torch.float32)
    x = torch.randn(1, 4, 5, 5)
    keys_train = list(m.state_dict())
    m.eval()
    with torch.no_grad():
        y = m(x)  # fills the eval cache
    assert list(m.state_dict()) == keys_train == ["weight", "bias", "gain"]
    other = WSConvTranspose2d(4, 6, 3, groups=2)
    other.eval()
    with torch.no_grad():
        other(x)  # stale cache in `other` must be invalidated by load_state_dict
        other.load_state_dict(m.state_dict())
        torch.testing.assert_close(other(x), y)
        other.train()
        torch.testing.assert_close(other(x), y)


def test_eval_follows_weight_and_cached_context():
    m = WSConv2d(3, 4, 3)
    x = torch.randn(1, 3, 6, 6)
    m.eval()
    with torch.no_grad():
        y1 = m(x)
        m.weight.mul_(-1.0)  # in-place change (e.g. an optimizer step)
        torch.testing.assert_close(m(x), F.conv2d(x, m.standardize_weight(), m.bias))
        assert not torch.allclose(m(x), y1)
        m.gain.data.mul_(2.0)  # a .data write is seen too
        torch.testing.assert_close(m(x), F.conv2d(x, m.standardize_weight(), m.bias))
        torch.testing.assert_close(m(x, eps=10.0), F.conv2d(x, m.standardize_weight(10.0), m.bias))
        with parametrize.cached():  # the explicit fast path: one standardization per context
            assert m._ws_weight(1e-4) is m._ws_weight(1e-4)
        assert m._ws_weight(1e-4) is not m._ws_weight(1e-4)
    # autograd on in eval: gradients reach weight and gain
    m(x).sum().backward()
    assert m.weight.grad is not None and m.gain.grad is not None


def test_train_step_changes_output():
    m = WSConv2d(3, 4, 3)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(2, 3, 6, 6)
    m(x).square().mean().backward()
    assert m.gain.grad is not None and m.gain.grad.abs().sum() > 0
    opt.step()
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x), F.conv2d(x, m.standardize_weight(), m.bias))


def test_deepcopy_pickle_reset_parameters_repr():
    m = _make(WSConv2d, dict(in_channels=3, out_channels=4, kernel_size=3), torch.float32).eval()
    x = torch.randn(1, 3, 5, 5)
    with torch.no_grad():
        y = m(x)
        for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
            torch.testing.assert_close(clone(x), y)
    m.reset_parameters()
    assert torch.equal(m.gain, torch.ones(4))
    assert "scaled_ws=(filters=dim 0, fan_in=per filter, variance=biased)" in repr(m)
    assert "filters=dim 1 (grouped)" in repr(WSConvTranspose2d(2, 2, 3))


def test_device_dtype_kwargs():
    m = WSConv1d(2, 3, 3, dtype=torch.float64)
    assert m.gain.dtype == torch.float64 and m.gain.shape == (3,)
    assert WSConvTranspose3d(2, 6, 3, groups=2).gain.shape == (6,)


# ----------------------------------------------------------------------------------------------- FWS


@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: nn.Conv2d(4, 6, 3, groups=2), (2, 4, 6, 6)),
        (lambda: nn.Conv1d(3, 5, 3), (2, 3, 8)),
        (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), (1, 4, 4, 4)),
        (lambda: nn.Linear(5, 3), (2, 5)),
    ],
    ids=["conv2d", "conv1d", "convT2d", "linear"],
)
def test_fws_standardizes_in_place(layer, shape):
    lay = layer().double()
    f = FWS(lay)
    with torch.no_grad():
        f.gain.copy_(torch.linspace(0.5, 1.5, f.gain.numel(), dtype=torch.float64))
    x = torch.randn(shape, dtype=torch.float64)
    raw = lay.weight.detach().clone()
    y = f(x)
    probe = (
        WSConvTranspose2d(4, 6, 3, groups=2, dtype=torch.float64)
        if isinstance(lay, nn.ConvTranspose2d)
        else None
    )
    if probe is None:
        flat = raw.reshape(raw.shape[0], -1)
        expected = (
            f.gain[:, None]
            * (flat - flat.mean(1, keepdim=True))
            / (flat.var(1, correction=0, keepdim=True) * flat.shape[1]).sqrt()
        )
        expected = expected.reshape(raw.shape)
    else:
        with torch.no_grad():
            probe.weight.copy_(raw)
            probe.gain.copy_(f.gain)
        expected = _reference_weight(probe)
    torch.testing.assert_close(lay.weight.detach(), expected)
    assert f.fan_in.item() == raw.numel() // f.gain.numel()
    torch.testing.assert_close(y, lay(x))


def test_fws_straight_through_gradient_and_no_gain_gradient():
    lay = nn.Conv2d(3, 4, 3).double()
    f = FWS(lay)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    f(x).square().sum().backward()
    w = lay.weight.detach().clone().requires_grad_()
    F.conv2d(x, w, lay.bias).square().sum().backward()
    torch.testing.assert_close(lay.weight.grad, w.grad)
    assert f.gain.grad is None


def test_fws_const_eval_semantics():
    for const_eval in (False, True):
        lay = nn.Conv2d(3, 4, 3)
        f = FWS(lay, const_eval=const_eval).eval()
        raw = lay.weight.detach().clone()
        f(torch.randn(1, 3, 5, 5))
        assert torch.equal(lay.weight, raw) == const_eval
    f.train()
    f(torch.randn(1, 3, 5, 5))
    assert not torch.equal(lay.weight, raw)


def test_fws_restandardizes_every_forward():
    lay = nn.Conv2d(3, 4, 3)
    f = FWS(lay)
    x = torch.randn(1, 3, 5, 5)
    y = f(x)
    w1 = lay.weight.detach().clone()
    y2 = f(x)
    torch.testing.assert_close(lay.weight.detach(), w1)  # standardizing is idempotent
    (y + y2).sum().backward()  # two forwards before one backward are safe (the write bypasses autograd)
    assert lay.weight.grad is not None
    with torch.no_grad():
        lay.weight.data.mul_(10.0)  # a .data write is standardized at the next forward
    f(x)
    torch.testing.assert_close(lay.weight.detach().pow(2).sum((1, 2, 3)), torch.ones(4), atol=1e-5, rtol=0)
    with torch.no_grad():
        lay.weight.add_(0.3 * torch.randn_like(lay.weight))
    f(x)
    torch.testing.assert_close(lay.weight.detach().pow(2).sum((1, 2, 3)), torch.ones(4), atol=1e-5, rtol=0)
    with torch.no_grad():
        f.gain.fill_(2.0)
    f(x)
    torch.testing.assert_close(
        lay.weight.detach().pow(2).sum((1, 2, 3)), torch.full((4,), 4.0), atol=1e-5, rtol=0
    )


def test_fws_state_dict_export_copy_pickle():
    f = FWS(nn.Conv2d(3, 4, 3), learnable_gain=False)
    assert "gain" in dict(f.named_buffers())
    keys = list(f.state_dict())
    f.eval()
    assert list(f.state_dict()) == keys and set(keys) == {
        "gain",
        "fan_in",
        "eps",
        "layer.weight",
        "layer.bias",
    }
    x = torch.randn(1, 3, 5, 5)
    plain = f.export()
    assert type(plain) is nn.Conv2d
    assert torch.equal(plain(x), f(x))
    g = FWS(nn.Conv2d(3, 4, 3))
    g.load_state_dict(f.state_dict())
    torch.testing.assert_close(g(x), f(x))
    for clone in (copy.deepcopy(f), pickle.loads(pickle.dumps(f))):
        torch.testing.assert_close(clone(x), f(x))  # a clone re-standardizes once: equal up to rounding
    r = repr(FWS(nn.Linear(3, 2), const_eval=True))
    assert "const_eval=True" in r and "fan_in=3" in r and "Linear" in r


def test_fws_bad_input():
    with pytest.raises(
        TypeError, match=r"layer=ReLU has no 'weight'; expected a module whose 'weight' is a tensor"
    ):
        FWS(nn.ReLU())
    with pytest.raises(TypeError, match="layer='conv' has type str"):
        FWS("conv")
    with pytest.raises(TypeError, match=r"weight=Parameter\(4,\)"):
        FWS(nn.LayerNorm(4))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="FWS: eps=.*expected a finite number > 0"):
            FWS(nn.Conv2d(1, 1, 1), eps=bad)


def test_wsconv_bad_construction_names_the_argument():
    # the shared check (structconv.nn._conv_utils.check_conv_args), before torch sees the arguments
    with pytest.raises(ValueError, match="WSConv2d: in_channels=3 is not divisible by groups=2"):
        WSConv2d(3, 4, 3, groups=2)


@pytest.mark.slow
def test_torch_compile_matches_eager():
    m = WSConv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 8, 8)
    compiled = torch.compile(m, fullgraph=True)  # fullgraph: no graph break in forward
    torch.testing.assert_close(compiled(x), m(x))
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), m(x))
