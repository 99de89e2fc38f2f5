"""Tests of structconv.compat.elektronn3 (exact counterparts of elektronn3.modules.wsconv)."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from structconv.compat import elektronn3 as C

NAMES = ["WSConv1d", "WSConv2d", "WSConv3d", "WSConvTranspose2d", "WSConvTranspose3d", "FWS"]
CONVS = [
    ("WSConv1d", (4, 6, 3), dict(padding=1, groups=2), (2, 4, 9)),
    ("WSConv2d", (4, 6, 3), dict(stride=2, dilation=1), (2, 4, 9, 9)),
    ("WSConv3d", (2, 4, 3), dict(padding=1), (1, 2, 4, 4, 4)),
]


@pytest.fixture(scope="module")
def E():
    return pytest.importorskip("elektronn3.modules.wsconv")


@pytest.fixture
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _randomize_gain(*modules):
    g = None
    with torch.no_grad():
        for m in modules:
            if g is None:
                g = torch.rand_like(m.gain) + 0.5
            m.gain.copy_(g)


def test_exports_and_state_dict_keys():
    assert sorted(C.__all__) == sorted(NAMES)
    assert list(C.WSConv2d(4, 6, 3).state_dict()) == ["weight", "bias", "gain"]
    assert C.WSConvTranspose2d(4, 6, 3).gain.shape == (4,)  # per input channel, as elektronn3
    assert sorted(C.FWS(nn.Conv2d(4, 6, 3)).state_dict()) == [
        "eps",
        "fan_in",
        "gain",
        "layer.bias",
        "layer.weight",
    ]
    assert C.FWS(nn.Conv2d(4, 6, 3)).fan_in.item() == 6 * 4 * 3 * 3  # whole weight tensor


def test_formula_unbiased_numel_fan_in():
    m = C.WSConv2d(3, 5, 3).double()
    w = m.weight.detach()
    var = w.var((1, 2, 3), correction=1, keepdim=True)
    expected = (w - w.mean((1, 2, 3), keepdim=True)) / (var * w.numel()).clamp(min=1e-4).sqrt()
    torch.testing.assert_close(m.standardize_weight(1e-4).detach(), expected)


def test_transposed_forward_uses_standardized_weight_and_output_size():
    m = C.WSConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    x = torch.randn(1, 4, 5, 5)
    ref = F.conv_transpose2d(x, m.standardize_weight(1e-4), m.bias, 2, 1, 1, 2, 1)
    torch.testing.assert_close(m(x, output_size=[10, 10]), ref)
    torch.testing.assert_close(m.export()(x, output_size=[10, 10]), ref)


def test_padding_mode_honoured():
    m = C.WSConv2d(2, 3, 3, padding=1, padding_mode="replicate")
    x = torch.randn(1, 2, 5, 5)
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), m.standardize_weight(1e-4), m.bias)
    torch.testing.assert_close(m(x), ref)


def test_fws_learnable_gain_false_is_buffer_and_bad_input():
    f = C.FWS(nn.Linear(3, 2), learnable_gain=False, const_eval=True)
    assert "gain" in dict(f.named_buffers()) and f.const_eval
    with pytest.raises(TypeError, match="has no 'weight'"):
        C.FWS(nn.ReLU())
    with pytest.raises(ValueError, match="eps=-1"):
        C.FWS(nn.Linear(3, 2), eps=-1)


# ------------------------------------------------------------------------------------------ oracle


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_reference(E, name):
    ours, theirs = getattr(C, name), getattr(E, name)
    p_ours = [(p.name, p.default) for p in inspect.signature(ours.__init__).parameters.values()]
    p_theirs = [(p.name, p.default) for p in inspect.signature(theirs.__init__).parameters.values()]
    assert p_ours == p_theirs
    fo = [(p.name, p.default) for p in inspect.signature(ours.forward).parameters.values()]
    ft = [(p.name, p.default) for p in inspect.signature(theirs.forward).parameters.values()]
    assert fo == ft


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,args,kwargs,shape", CONVS, ids=[c[0] for c in CONVS])
def test_conv_parity_bitwise(E, name, args, kwargs, shape, dtype):
    theirs = getattr(E, name)(*args, **kwargs).to(dtype)
    ours = getattr(C, name)(*args, **kwargs).to(dtype)
    _randomize_gain(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(shape, dtype=dtype)
    for mode in (True, False):
        theirs.train(mode)
        ours.train(mode)
        for eps in (1e-4, 0.5):
            y_t, y_o = theirs(x, eps=eps), ours(x, eps=eps)
            assert torch.equal(y_o, y_t)
            with torch.no_grad():
                assert torch.equal(ours(x, eps=eps), y_t)  # eval cache path too
    theirs.train()
    ours.train()
    theirs(x).square().sum().backward()
    ours(x).square().sum().backward()
    for n in ("weight", "gain", "bias"):
        torch.testing.assert_close(getattr(ours, n).grad, getattr(theirs, n).grad, atol=0, rtol=1e-6)
    # our state dict loads into elektronn3 (strict)
    theirs.load_state_dict(ours.state_dict())


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["WSConvTranspose2d", "WSConvTranspose3d"])
def test_transposed_standardize_weight_parity(E, name, float64_default):
    theirs = getattr(E, name)(4, 6, 3, stride=2, groups=2)
    ours = getattr(C, name)(4, 6, 3, stride=2, groups=2)
    _randomize_gain(theirs)
    ours.load_state_dict(theirs.state_dict())
    assert torch.equal(ours.standardize_weight(1e-4), theirs.standardize_weight(1e-4))
    theirs.load_state_dict(ours.state_dict())


@pytest.mark.oracle
def test_reference_transposed_forward_deviation_is_documented(E):
    # elektronn3 0.1.1 runs its raw weight and ignores output_size; we follow its documentation instead.
    theirs = E.WSConvTranspose2d(16, 16, 3, stride=2, padding=1)
    h = torch.randn(1, 16, 6, 6)
    assert theirs(h, output_size=[1, 16, 12, 12]).shape == (1, 16, 11, 11)
    ours = C.WSConvTranspose2d(16, 16, 3, stride=2, padding=1)
    assert ours(h, output_size=[1, 16, 12, 12]).shape == (1, 16, 12, 12)
    assert "output_size" in (C.__doc__ or "")


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: nn.Conv2d(4, 6, 3, groups=2), (2, 4, 6, 6)),
        (lambda: nn.ConvTranspose2d(4, 6, 3), (1, 4, 4, 4)),
        (lambda: nn.Linear(5, 3), (2, 5)),
    ],
    ids=["conv2d", "convT2d", "linear"],
)
@pytest.mark.parametrize("learnable_gain,const_eval", [(True, False), (False, True)])
def test_fws_parity_over_training_steps(E, layer, shape, dtype, learnable_gain, const_eval):
    torch.manual_seed(1)
    base = layer().to(dtype)
    theirs_layer, ours_layer = base, layer().to(dtype)
    ours_layer.load_state_dict(base.state_dict())
    theirs = E.FWS(theirs_layer, learnable_gain=learnable_gain, const_eval=const_eval).to(dtype)
    ours = C.FWS(ours_layer, learnable_gain=learnable_gain, const_eval=const_eval).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt_o = torch.optim.SGD(ours.parameters(), lr=0.1)
    x = torch.randn(shape, dtype=dtype)
    for _ in range(3):
        y_t, y_o = theirs(x), ours(x)
        assert torch.equal(y_o, y_t)
        y_t.square().sum().backward()
        y_o.square().sum().backward()
        opt_t.step()
        opt_o.step()
        opt_t.zero_grad()
        opt_o.zero_grad()
        assert torch.equal(ours_layer.weight, theirs_layer.weight)
    theirs.eval()
    ours.eval()
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
        assert torch.equal(ours_layer.weight, theirs_layer.weight)
    theirs.load_state_dict(ours.state_dict())


def test_parametrization_reproduces_compat_layer():
    from torch.nn.utils import parametrize

    from structconv.constraints import ScaledWeightStandardization

    m = C.WSConv2d(3, 5, 3)
    conv = nn.Conv2d(3, 5, 3)
    conv.load_state_dict({"weight": m.weight.detach(), "bias": m.bias.detach()})
    sws = ScaledWeightStandardization(5, eps=1e-4, fan_in=m.weight.numel(), unbiased=True)
    parametrize.register_parametrization(conv, "weight", sws)
    # registration stores right_inverse(W) = P(W); P is idempotent, so P(P(W)) == P(W) up to rounding
    torch.testing.assert_close(conv.weight, m.standardize_weight(1e-4))
    with torch.no_grad():
        conv.parametrizations.weight.original.copy_(m.weight)
    assert torch.equal(conv.weight, m.standardize_weight(1e-4))
    x = torch.randn(1, 3, 6, 6)
    assert torch.equal(conv(x), m(x))
