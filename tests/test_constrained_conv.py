"""Constrained layers: enforce modes, caching, export, state dicts, pickling, constrain(), attach_projection."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parametrize

import structconv
from _constraint_checks import PARAMS, assert_holds, reference_kernel
from structconv.constraints import CONSTRAINT_NAMES, MaxNorm, MinMaxNorm, UnitNorm
from structconv.nn import (
    ConstrainedConv1d,
    ConstrainedConv2d,
    ConstrainedConv3d,
    ConstrainedConvTranspose1d,
    ConstrainedConvTranspose2d,
    ConstrainedConvTranspose3d,
    ConstrainedLinear,
)

# (class, plain class, constructor args, input shape)
LAYERS = [
    (ConstrainedConv1d, nn.Conv1d, (4, 6, 3), (2, 4, 9)),
    (ConstrainedConv2d, nn.Conv2d, (4, 6, 3), (2, 4, 7, 6)),
    (ConstrainedConv3d, nn.Conv3d, (2, 4, 3), (1, 2, 5, 4, 5)),
    (ConstrainedConvTranspose1d, nn.ConvTranspose1d, (4, 6, 3), (2, 4, 7)),
    (ConstrainedConvTranspose2d, nn.ConvTranspose2d, (4, 6, 3), (2, 4, 5, 4)),
    (ConstrainedConvTranspose3d, nn.ConvTranspose3d, (2, 4, 3), (1, 2, 3, 4, 3)),
    (ConstrainedLinear, nn.Linear, (5, 3), (4, 5)),
]
LAYER_IDS = [c[0].__name__ for c in LAYERS]
MODES = ["forward", "post_step", "inplace"]


def make(cls, args, constraint, enforce, dtype=torch.float32, **kw):
    return cls(*args, constraint=constraint, enforce=enforce, dtype=dtype, **PARAMS, **kw)


@pytest.mark.parametrize("mode", ["forward", "post_step"])
@pytest.mark.parametrize("name", [n for n in CONSTRAINT_NAMES])
@pytest.mark.parametrize("spec", LAYERS, ids=LAYER_IDS)
def test_output_equals_independent_reference(spec, name, mode):
    """The layer's output against a plain torch layer holding a kernel computed by loops in the test."""
    cls, plain_cls, args, in_shape = spec
    if name == "fixed_center" and cls is ConstrainedLinear:
        pytest.skip("fixed_center needs an odd kernel; a linear row of 5 is covered by the conv layers")
    layer = make(cls, args, name, mode, torch.float64)
    with torch.no_grad():  # off the constraint set, slices of both signs
        layer.weight.copy_(torch.randn_like(layer.weight) * 2 + 0.3)
    raw = layer.weight.detach().clone()
    plain = plain_cls(*args, dtype=torch.float64)
    with torch.no_grad():
        plain.weight.copy_(reference_kernel(name, raw, eps=1e-12))
        plain.bias.copy_(layer.bias)
    for attr in ("stride", "padding", "dilation", "output_padding", "groups"):
        if hasattr(plain, attr):
            setattr(plain, attr, getattr(layer, attr))
    x = torch.randn(in_shape, dtype=torch.float64)
    torch.testing.assert_close(layer(x), plain(x), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer.export()(x), plain(x), rtol=1e-10, atol=1e-10)


def kernel_of(layer) -> torch.Tensor:
    """The kernel the layer convolves with, read from the layer's own forward (via export)."""
    return layer.export().weight.detach()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", LAYERS, ids=LAYER_IDS)
def test_constraint_holds_in_every_mode(spec, mode, dtype):
    cls, plain_cls, args, in_shape = spec
    i = LAYERS.index(spec) + MODES.index(mode)
    names = [n for n in CONSTRAINT_NAMES if n != "none"]
    name = names[i % len(names)]
    if name == "fixed_center" and cls is ConstrainedLinear:
        name = "unit_l2"
    layer = make(cls, args, name, mode, dtype)
    x = torch.randn(in_shape, dtype=dtype)
    with torch.no_grad():  # move the stored weight off the constraint set
        layer.weight.mul_(3).add_(0.1)
    y = layer(x)
    if mode == "forward":
        assert_holds(name, layer.constrained_weight().detach())
    elif mode == "inplace":
        assert_holds(name, layer.weight.detach())  # projected in place by the forward
    else:
        layer.project_()
        assert_holds(name, layer.weight.detach())
        y = layer(x)
    plain = layer.export()  # the kernel of the next forward (in 'inplace' mode: the next projection)
    assert type(plain) is plain_cls and plain.weight.dtype == dtype
    torch.testing.assert_close(plain(x), layer(x), rtol=0, atol=0)
    torch.testing.assert_close(plain(x), y, rtol=1e-5, atol=1e-6)  # projections are idempotent
    assert y.dtype == dtype and torch.isfinite(y).all()


@pytest.mark.parametrize("mode", MODES)
def test_grouped_conv(mode):
    layer = ConstrainedConv2d(4, 6, 3, groups=2, padding="same", constraint="zero_mean", enforce=mode)
    assert layer.weight.shape == (6, 2, 3, 3)
    y = layer(torch.randn(1, 4, 6, 6))
    assert y.shape == (1, 6, 6, 6)
    assert_holds("zero_mean", kernel_of(layer))
    t = ConstrainedConvTranspose2d(4, 6, 3, groups=2, constraint="unit_l2", enforce=mode)
    assert t(torch.randn(1, 4, 4, 4)).shape == (1, 6, 6, 6)
    assert_holds("unit_l2", kernel_of(t))


def test_initial_weight_satisfies_constraint():
    for mode in ("post_step", "inplace"):
        for name in CONSTRAINT_NAMES:
            layer = ConstrainedConv2d(3, 4, 3, constraint=name, enforce=mode, **PARAMS)
            assert_holds(name, layer.weight.detach())
    # forward mode starts from a well-conditioned feasible theta (sum_to_one would explode from raw init)
    layer = ConstrainedConv2d(3, 4, 3, constraint="sum_to_one")
    assert layer.constrained_weight().abs().max() < 1
    layer.reset_parameters()
    assert layer.constrained_weight().abs().max() < 1


@pytest.mark.parametrize("name", ["nonneg_sum1", "fixed_center", "max_l2", "sum_to_one"])
@pytest.mark.parametrize("cls", [ConstrainedConv1d, ConstrainedConvTranspose2d])
def test_gradcheck_forward_enforcement(cls, name):
    layer = cls(2, 2, 3, constraint=name, dtype=torch.float64, **PARAMS)
    shape = (1, 2, 5) if cls is ConstrainedConv1d else (1, 2, 3, 3)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    w = layer.weight.detach().clone().requires_grad_()
    b = layer.bias.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b: functional_call(layer, {"weight": w, "bias": b}, (x,)), (x, w, b)
    )


def test_gradients_flow_to_raw_weight():
    layer = ConstrainedConv2d(2, 3, 3, constraint=["zero_mean", "unit_l2"])
    layer(torch.randn(2, 2, 5, 5)).square().sum().backward()
    g = layer.weight.grad
    assert g is not None and g.abs().sum() > 0
    # the gradient of a zero-mean reparametrisation has zero mean per slice
    assert g.sum((2, 3)).abs().max() < 1e-4


def test_parametrize_cached_gives_identical_output():
    layer = ConstrainedConv2d(2, 3, 3, constraint="nonneg_sum1")
    x = torch.randn(2, 2, 6, 6)
    y = layer(x)
    with parametrize.cached():
        y1 = layer(x)
        y2 = layer(x)
        assert layer.constrained_weight() is layer.constrained_weight()
    torch.testing.assert_close(y1, y, rtol=0, atol=0)
    torch.testing.assert_close(y2, y, rtol=0, atol=0)
    (y1 + y2).sum().backward()
    assert layer.weight.grad is not None


def test_eval_follows_weight_and_cached_context():
    layer = ConstrainedConv2d(2, 3, 3, constraint="unit_l2").eval()
    x = torch.randn(1, 2, 5, 5)
    with torch.no_grad():
        k1 = layer.constrained_weight()
        assert layer.constrained_weight() is not k1  # no cache outside an explicit context
        with parametrize.cached():  # the explicit fast path: one kernel per layer per context
            assert layer.constrained_weight() is layer.constrained_weight()
        layer(x)
        layer.weight.mul_(2.0)  # in-place change: recomputed (unit_l2 is scale invariant)
        k2 = layer.constrained_weight()
        assert k2 is not k1
        torch.testing.assert_close(k2, k1)
        layer.weight.add_(torch.randn_like(layer.weight))
        torch.testing.assert_close(layer(x), F.conv2d(x, layer.weight_constraint(layer.weight), layer.bias))
    # new parameter object
    layer.weight = nn.Parameter(torch.randn(3, 2, 3, 3))
    with torch.no_grad():
        torch.testing.assert_close(layer(x), F.conv2d(x, layer.weight_constraint(layer.weight), layer.bias))
    # load_state_dict, train(), .to() all invalidate
    other = ConstrainedConv2d(2, 3, 3, constraint="unit_l2")
    layer.load_state_dict(other.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(layer(x), other(x))
    layer.train()
    layer.eval().double()
    with torch.no_grad():
        assert layer(x.double()).dtype == torch.float64
    # eval with gradients enabled still builds a graph (no stale detached kernel)
    layer.float()
    layer(x).sum().backward()
    assert layer.weight.grad is not None


def test_weight_assignment_semantics():
    # forward: layer.weight is the raw parameter theta; assigning it replaces theta
    layer = ConstrainedConv1d(1, 2, 3, constraint="unit_l2", bias=False)
    layer.weight = nn.Parameter(torch.full((2, 1, 3), 5.0))
    torch.testing.assert_close(layer.constrained_weight(), torch.full((2, 1, 3), 3**-0.5))
    # inplace: the assigned parameter is projected in place at the next forward (selfeeg's behaviour)
    layer = ConstrainedConv1d(1, 2, 3, constraint="max_l2", max_l2=0.5, enforce="inplace")
    layer.weight = nn.Parameter(layer.weight * 10)
    layer(torch.randn(1, 1, 5))
    assert (layer.weight.flatten(1).norm(dim=1) <= 0.5 + 1e-6).all()


def test_inplace_does_not_reproject_unchanged_weight():
    layer = ConstrainedConv2d(2, 2, 3, constraint=MaxNorm(0.5), enforce="inplace")
    x = torch.randn(1, 2, 5, 5)
    layer(x)
    v = layer.weight._version
    y1 = layer(x)
    y2 = layer(x)  # two forwards before one backward: no in-place change in between
    assert layer.weight._version == v
    (y1 + y2).sum().backward()


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_keys_and_round_trips(mode):
    layer = ConstrainedConv2d(2, 3, 3, constraint="zero_mean", enforce=mode)
    plain_keys = set(nn.Conv2d(2, 3, 3).state_dict())
    keys_train = set(layer.train().state_dict())
    x = torch.randn(1, 2, 5, 5)
    with torch.no_grad():
        y_eval = layer.eval()(x)
    assert set(layer.state_dict()) == keys_train == plain_keys == {"weight", "bias"}
    # eval -> train and train -> eval round trips
    fresh = ConstrainedConv2d(2, 3, 3, constraint="zero_mean", enforce=mode).train()
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh(x), y_eval)
    back = ConstrainedConv2d(2, 3, 3, constraint="zero_mean", enforce=mode).eval()
    back.load_state_dict(fresh.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(back(x), y_eval)
    # the exported plain layer's state dict loads into a plain Conv2d with the same output
    plain = nn.Conv2d(2, 3, 3)
    plain.load_state_dict(layer.export().state_dict())
    torch.testing.assert_close(plain(x), y_eval)
    if mode != "forward":  # the stored weight is the kernel: the layer's own state dict works too
        plain.load_state_dict(layer.state_dict())
        torch.testing.assert_close(plain(x), y_eval)
    # a plain layer's state dict (e.g. pretrained) loads into the constrained one
    layer.load_state_dict(nn.Conv2d(2, 3, 3).state_dict())
    if mode == "post_step":  # stored as loaded until the next projection
        layer.project_()
    with torch.no_grad():
        assert_holds("zero_mean", kernel_of(layer))


@pytest.mark.parametrize("mode", MODES)
def test_deepcopy_and_pickle(mode):
    layer = ConstrainedConvTranspose2d(2, 3, 3, constraint=["nonneg", "max_l2"], enforce=mode, max_l2=0.3)
    x = torch.randn(1, 2, 4, 4)
    layer.eval()
    with torch.no_grad():
        y = layer(x)  # fills the caches
    for clone in (copy.deepcopy(layer), _save_load(layer)):
        with torch.no_grad():
            torch.testing.assert_close(clone(x), y)
            clone.weight.add_(1.0)  # the clone's cache follows the clone's weight
            torch.testing.assert_close(clone(x), clone.export()(x))
        with torch.no_grad():
            torch.testing.assert_close(layer(x), y)


def _save_load(module):
    buf = io.BytesIO()
    torch.save(module, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


def test_conv_options_go_through_torch_forward():
    layer = ConstrainedConv2d(2, 3, (3, 5), padding="same", padding_mode="reflect", constraint="unit_l2")
    x = torch.randn(1, 2, 6, 7)
    y = layer(x)
    assert y.shape == (1, 3, 6, 7)
    plain = layer.export()
    assert plain.padding_mode == "reflect" and plain.padding == "same"
    torch.testing.assert_close(plain(x), y)
    t = ConstrainedConvTranspose1d(2, 2, 3, stride=2, padding=1, dilation=2, constraint="nonneg")
    x = torch.randn(1, 2, 5)
    y = t(x, output_size=[12])
    assert y.shape == (1, 2, 12)
    torch.testing.assert_close(t.export()(x, output_size=[12]), y)


def test_norm_constraint_modules_on_layers():
    for c in (MaxNorm(0.5), MinMaxNorm(0.5, 1.0, rate=0.5, axis=[1, 2]), UnitNorm(axis=-1)):
        for mode in MODES:
            layer = ConstrainedConv1d(3, 4, 5, constraint=c, enforce=mode)
            layer(torch.randn(1, 3, 8))
            k = kernel_of(layer)
            if getattr(c, "rate", 1.0) == 1.0:  # the kernel is a fixed point of the projection
                torch.testing.assert_close(c(k), k)
    layer = ConstrainedConv2d(2, 2, 3, constraint=MaxNorm(0.1))
    assert (layer.constrained_weight().flatten(1).norm(dim=1) <= 0.1 + 1e-6).all()


def test_extra_repr():
    layer = ConstrainedConv2d(2, 3, 3, constraint=["zero_mean", "unit_l2"], enforce="post_step")
    assert "constraint=[zero_mean, unit_l2], enforce='post_step'" in repr(layer)
    assert "constraint=max_norm(max_value=1.0), enforce='forward'" in repr(
        ConstrainedLinear(2, 2, constraint=MaxNorm(1.0))
    )


@pytest.mark.slow
def test_torch_compile_matches_eager():
    layer = ConstrainedConv2d(2, 3, 3, padding=1, constraint="unit_l2")
    x = torch.randn(2, 2, 6, 6)
    compiled = torch.compile(layer)
    y = compiled(x)
    torch.testing.assert_close(y, layer(x), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert layer.weight.grad is not None


def test_attach_projection_with_sgd():
    model = nn.Sequential(
        ConstrainedConv2d(2, 4, 3, constraint="max_l2", max_l2=0.2, enforce="post_step"),
        nn.ReLU(),
        ConstrainedConv2d(4, 2, 3, constraint="nonneg_sum1", enforce="inplace"),
        ConstrainedConv2d(2, 2, 3, constraint="zero_mean"),  # forward mode: left alone
        structconv.constrain(nn.Conv2d(2, 2, 1), "nonneg", enforce="post_step"),
    )
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    handle = structconv.attach_projection(opt, model)
    raw_before = model[3].weight.detach().clone()
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(2, 2, 9, 9)).square().mean().backward()
        opt.step()
        assert (model[0].weight.flatten(2).norm(dim=2) <= 0.2 + 1e-6).all()
        assert_holds("nonneg_sum1", model[2].weight.detach())
        assert (model[4].weight >= 0).all()
    assert not torch.equal(model[3].weight.detach(), raw_before)  # trained, not projected
    handle.remove()
    opt.zero_grad()
    model(torch.randn(2, 2, 9, 9)).square().mean().backward()
    with torch.no_grad():
        model[0].weight.add_(10.0)
    opt.step()
    assert (model[0].weight.flatten(2).norm(dim=2) > 0.2 + 1e-3).any()


@pytest.mark.parametrize("mode", MODES)
def test_constrain_plain_conv_in_sequential(mode):
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Linear(6, 3))
    out = structconv.constrain(net[0], "unit_l2", enforce=mode)
    assert out is net[0]
    structconv.constrain(net[2], "max_l2", max_l2=0.5, enforce=mode)
    x = torch.randn(2, 2, 6, 6)
    y = net(x)
    assert y.shape == (2, 4, 6, 3)
    with torch.no_grad():
        assert_holds("unit_l2", net[0].weight.detach())
        assert (net[2].weight.norm(dim=1) <= 0.5 + 1e-6).all()
    keys = set(net.state_dict())
    if mode == "forward":
        assert "0.parametrizations.weight.original" in keys
        y.sum().backward()
        assert net[0].parametrizations.weight.original.grad is not None
        torch.testing.assert_close(copy.deepcopy(net)(x), y)
    else:
        assert keys == {"0.weight", "0.bias", "2.weight", "2.bias"}
        with torch.no_grad():
            net[0].weight.mul_(5.0)
        if mode == "post_step":
            assert structconv._constrain.project_model_(net) == 2
        else:
            net(x)
        assert_holds("unit_l2", net[0].weight.detach())
        clone = _save_load(net)
        torch.testing.assert_close(clone(x), net(x))


def test_constrain_errors():
    with pytest.raises(TypeError, match="unknown keyword"):
        structconv.constrain(nn.Conv2d(1, 1, 3), "max_l2", max_norm=1.0)
    with pytest.raises(TypeError, match="no 'weight' parameter"):
        structconv.constrain(nn.ReLU(), "nonneg")
    with pytest.raises(ValueError, match="enforce='sometimes' is not known"):
        structconv.constrain(nn.Conv2d(1, 1, 3), "nonneg", enforce="sometimes")
    conv = structconv.constrain(nn.Conv2d(1, 1, 3), "nonneg")
    with pytest.raises(ValueError, match="already has a weight constraint"):
        structconv.constrain(conv, "unit_l2")
    with pytest.raises(ValueError, match=r"kernel size \(4, 4\)"):
        structconv.constrain(nn.Conv2d(1, 1, 4), "fixed_center")
    with pytest.raises(TypeError, match="expected a torch.optim.Optimizer"):
        structconv.attach_projection(None, conv)


def test_construction_errors():
    with pytest.raises(
        ValueError, match=r"constraint='nonnegative' is not known; expected one of: none, nonneg, sum_to_one"
    ):
        ConstrainedConv2d(2, 2, 3, constraint="nonnegative")
    with pytest.raises(ValueError, match="max_l2=None is not accepted"):
        ConstrainedConv1d(2, 2, 3, constraint="max_l2")
    with pytest.raises(ValueError, match=r"max_l2=-1.0 is not accepted; expected a finite number > 0"):
        ConstrainedConv1d(2, 2, 3, constraint="max_l2", max_l2=-1.0)
    with pytest.raises(
        ValueError, match=r"kernel size \(3, 4\) is not accepted for constraint='fixed_center'"
    ):
        ConstrainedConv2d(2, 2, (3, 4), constraint="fixed_center")
    with pytest.raises(ValueError, match=r"kernel size \(4,\)"):
        ConstrainedLinear(4, 2, constraint="fixed_center")
    with pytest.raises(ValueError, match="in_channels=3 is not divisible by groups=2"):
        ConstrainedConv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels=3 is not divisible by groups=2"):
        ConstrainedConvTranspose2d(4, 3, 3, groups=2)
    with pytest.raises(
        ValueError, match="enforce='post-step' is not known; expected one of: forward, post_step, inplace"
    ):
        ConstrainedConv3d(2, 2, 3, enforce="post-step")
    with pytest.raises(ValueError, match=r"axis=5 is out of range for a weight with 4 dims"):
        ConstrainedConv2d(2, 2, 3, constraint=MaxNorm(1.0, axis=5))
    with pytest.raises(ValueError, match=r"rate=2.0 is not accepted"):
        ConstrainedConv2d(2, 2, 3, constraint=MinMaxNorm(0.1, 1.0, rate=2.0))
    with pytest.raises(ValueError, match=r"min_value=2.0 > max_value=1.0"):
        ConstrainedConv2d(2, 2, 3, constraint=MinMaxNorm(2.0, 1.0))
