"""Every forward follows the current parameters: no stale, unconstrained or mode-dependent kernels.

The matrix: every layer with a structured or derived kernel x every route that changes a parameter x
train/eval x grad on/off. After the route, the next forward must equal the forward of a freshly built
layer loaded with the same state dict (an independent reference: a new object that never saw the old
weights), and the kernel actually used must satisfy the layer's constraint.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

import structconv
from _constraint_checks import PARAMS, assert_holds
from structconv.compat import elektronn3 as e3
from structconv.compat import lucid, selfeeg
from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.nn import (
    FWS,
    ConstrainedConv1d,
    ConstrainedConv2d,
    ConstrainedConv3d,
    ConstrainedConvTranspose1d,
    ConstrainedConvTranspose2d,
    ConstrainedConvTranspose3d,
    ConstrainedLinear,
    ConstrainedSeparableConv2d,
    FieldType,
    GeometricTensor,
    R2Conv,
    R2ConvTransposed,
    R2Diffop,
    WSConv1d,
    WSConv2d,
    WSConv3d,
    WSConvTranspose2d,
)

# ----------------------------------------------------------------------------- the layers


def _ws_ok(kernel: torch.Tensor, channel_dim: int = 0) -> None:
    dims = tuple(d for d in range(kernel.dim()) if d != channel_dim)
    assert kernel.mean(dims).abs().max() < 1e-5


def _norm_ok(max_norm: float) -> Callable[[torch.Tensor], None]:
    def check(kernel: torch.Tensor) -> None:
        norms = kernel.flatten(1).norm(dim=1)
        assert (norms <= max_norm * (1 + 1e-5)).all(), norms

    return check


_CONV = [
    ("ConstrainedConv1d", lambda **k: ConstrainedConv1d(2, 3, 3, **k), (2, 2, 9), "nonneg"),
    ("ConstrainedConv2d", lambda **k: ConstrainedConv2d(2, 3, 3, **k), (2, 2, 7, 7), "sum_to_one"),
    ("ConstrainedConv3d", lambda **k: ConstrainedConv3d(2, 2, 3, **k), (1, 2, 5, 5, 5), "max_l2"),
    ("ConstrainedConvTranspose1d", lambda **k: ConstrainedConvTranspose1d(2, 3, 3, **k), (2, 2, 6), "zero_mean"),
    ("ConstrainedConvTranspose2d", lambda **k: ConstrainedConvTranspose2d(2, 3, 3, **k), (2, 2, 5, 5), "unit_l2"),
    ("ConstrainedConvTranspose3d", lambda **k: ConstrainedConvTranspose3d(2, 2, 3, **k), (1, 2, 4, 4, 4), "nonneg"),
    ("ConstrainedLinear", lambda **k: ConstrainedLinear(5, 3, **k), (4, 5), "nonneg_sum1"),
]


def _holds(name: str, kernel: torch.Tensor) -> None:
    if name == "nonneg_sum1":  # documented degenerate case: a slice without a positive tap maps to 0
        kernel = kernel[kernel.flatten(1).abs().sum(1) > 0]
    assert_holds(name, kernel)


def _constrained_entries() -> list[tuple[str, Callable[[], nn.Module], tuple[int, ...], Any]]:
    out = []
    for name, make, shape, constraint in _CONV:
        for enforce in ("forward", "post_step", "inplace"):

            def build(make=make, constraint=constraint, enforce=enforce) -> nn.Module:
                return make(constraint=constraint, enforce=enforce, max_l2=PARAMS["max_l2"])

            check = (lambda c: lambda k: _holds(c, k))(constraint)
            out.append((f"{name}-{enforce}", build, shape, check))
    return out


def _constrained_module(enforce: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        return structconv.constrain(nn.Conv2d(2, 3, 3), "nonneg", enforce=enforce)

    return build


def _typed(gs: Any, reprs: list[Any]) -> FieldType:
    return FieldType(gs, reprs)


def _r2conv() -> nn.Module:
    gs = Rot2dOnR2(4)
    t = _typed(gs, [gs.regular_repr, gs.trivial_repr])
    return R2Conv(t, t, 3, padding=1)


def _r2conv_transposed() -> nn.Module:
    gs = FlipRot2dOnR2(2)
    t = _typed(gs, [gs.regular_repr])
    return R2ConvTransposed(t, _typed(gs, [gs.regular_repr, gs.trivial_repr]), 3, stride=2)


def _r2diffop() -> nn.Module:
    gs = Rot2dOnR2(4)
    t = _typed(gs, [gs.regular_repr])
    return R2Diffop(t, _typed(gs, [gs.regular_repr, gs.trivial_repr]), kernel_size=3, padding=1)


def _r3conv() -> nn.Module:
    from structconv.gspaces import rot3dOnR3
    from structconv.nn import R3Conv

    gs = rot3dOnR3()
    t = _typed(gs, [gs.irrep(0), gs.irrep(1)])
    return R3Conv(t, t, 3, padding=1)


def _r3conv_transposed() -> nn.Module:
    from structconv.gspaces import octaOnR3
    from structconv.nn import R3ConvTransposed

    gs = octaOnR3()
    return R3ConvTransposed(_typed(gs, [gs.regular_repr]), _typed(gs, [gs.irrep(1), gs.trivial_repr]), 3, stride=2)


LAYERS: list[tuple[str, Callable[[], nn.Module], tuple[int, ...], Any]] = [
    *_constrained_entries(),
    ("selfeeg.ConstrainedConv2d", lambda: selfeeg.ConstrainedConv2d(2, 3, 3, max_norm=0.5), (2, 2, 7, 7), _norm_ok(0.5)),
    ("selfeeg.ConstrainedConv1d", lambda: selfeeg.ConstrainedConv1d(2, 3, 3, max_norm=0.5), (2, 2, 9), _norm_ok(0.5)),
    ("selfeeg.ConstrainedDense", lambda: selfeeg.ConstrainedDense(5, 3, max_norm=0.5), (4, 5), _norm_ok(0.5)),
    ("selfeeg.DepthwiseConv2d", lambda: selfeeg.DepthwiseConv2d(2, 2, 3, max_norm=0.5), (2, 2, 7, 7), _norm_ok(0.5)),
    (
        "selfeeg.SeparableConv2d",
        lambda: selfeeg.SeparableConv2d(2, 3, 3, depth_max_norm=0.5, point_max_norm=0.25),
        (2, 2, 7, 7),
        None,
    ),
    (
        "ConstrainedSeparableConv2d",
        lambda: ConstrainedSeparableConv2d(2, 3, 3, depth_constraint="nonneg", point_constraint="sum_to_one"),
        (2, 2, 7, 7),
        None,
    ),
    ("lucid.ConstrainedConv1d", lambda: lucid.ConstrainedConv1d(2, 3, 3, constraint="nonneg"), (2, 2, 9), lambda k: assert_holds("nonneg", k)),
    ("lucid.ConstrainedConv2d", lambda: lucid.ConstrainedConv2d(2, 3, 3, constraint="zero_mean", enforce="post_step"), (2, 2, 7, 7), lambda k: assert_holds("zero_mean", k)),
    ("lucid.ConstrainedConv3d", lambda: lucid.ConstrainedConv3d(2, 2, 3, constraint="unit_l2"), (1, 2, 5, 5, 5), lambda k: assert_holds("unit_l2", k)),
    ("constrain-forward", _constrained_module("forward"), (2, 2, 7, 7), lambda k: assert_holds("nonneg", k)),
    ("constrain-post_step", _constrained_module("post_step"), (2, 2, 7, 7), lambda k: assert_holds("nonneg", k)),
    ("constrain-inplace", _constrained_module("inplace"), (2, 2, 7, 7), lambda k: assert_holds("nonneg", k)),
    ("WSConv1d", lambda: WSConv1d(2, 3, 3), (2, 2, 9), _ws_ok),
    ("WSConv2d", lambda: WSConv2d(2, 3, 3), (2, 2, 7, 7), _ws_ok),
    ("WSConv3d", lambda: WSConv3d(2, 2, 3), (1, 2, 5, 5, 5), _ws_ok),
    ("WSConvTranspose2d", lambda: WSConvTranspose2d(2, 3, 3), (2, 2, 5, 5), lambda k: _ws_ok(k, 1)),
    ("elektronn3.WSConv1d", lambda: e3.WSConv1d(2, 3, 3), (2, 2, 9), _ws_ok),
    ("elektronn3.WSConv2d", lambda: e3.WSConv2d(2, 3, 3), (2, 2, 7, 7), _ws_ok),
    ("elektronn3.WSConv3d", lambda: e3.WSConv3d(2, 2, 3), (1, 2, 5, 5, 5), _ws_ok),
    ("elektronn3.WSConvTranspose2d", lambda: e3.WSConvTranspose2d(2, 3, 3), (2, 2, 5, 5), None),
    ("FWS", lambda: FWS(nn.Conv2d(2, 3, 3)), (2, 2, 7, 7), _ws_ok),
    ("elektronn3.FWS", lambda: e3.FWS(nn.Conv2d(2, 3, 3)), (2, 2, 7, 7), _ws_ok),
    ("R2Conv", _r2conv, (2, 5, 7, 7), None),
    ("R2ConvTransposed", _r2conv_transposed, (2, 4, 4, 4), None),
    ("R2Diffop", _r2diffop, (2, 4, 7, 7), None),
    ("R3Conv", _r3conv, (1, 4, 5, 5, 5), None),
    ("R3ConvTransposed", _r3conv_transposed, (1, 24, 3, 3, 3), None),
]
LAYER_IDS = [entry[0] for entry in LAYERS]

ROUTES = [
    "data_write",
    "inplace_no_grad",
    "load_state_dict",
    "new_parameter",
    "optimizer_step",
    "functional_call",
    "averaged_model",
    "to_double",
]


def _build(entry: Any) -> nn.Module:
    torch.manual_seed(0)
    return entry[1]()


def _run(module: nn.Module, x: torch.Tensor, grad: bool, params: dict[str, torch.Tensor] | None = None):
    inp = GeometricTensor(x, module.in_type) if hasattr(module, "in_type") else x
    with torch.set_grad_enabled(grad):
        out = module(inp) if params is None else functional_call(module, params, (inp,))
    return out.tensor if isinstance(out, GeometricTensor) else out


def _new_values(module: nn.Module, scale: float = 3.0) -> dict[str, torch.Tensor]:
    """Fresh random values for every trainable floating parameter (off the constraint set)."""
    gen = torch.Generator().manual_seed(1)
    return {
        name: (torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale - 0.2).to(p.dtype)
        for name, p in module.named_parameters()
        if p.is_floating_point()
    }


def _set_parameter(module: nn.Module, name: str, value: torch.Tensor) -> None:
    owner_name, _, leaf = name.rpartition(".")
    owner = module.get_submodule(owner_name) if owner_name else module
    setattr(owner, leaf, nn.Parameter(value, requires_grad=getattr(owner, leaf).requires_grad))


def _kernel_used(module: nn.Module) -> torch.Tensor | None:
    """The kernel the layer convolves with (what ``export()`` bakes in)."""
    exported = module.export() if hasattr(module, "export") else None
    if exported is None:  # a constrain()ed plain layer: its own weight
        if hasattr(module, "weight_constraint"):
            with torch.no_grad():
                return module.weight_constraint(module.weight).detach()
        return module.weight.detach()
    return exported.weight.detach()


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("entry", LAYERS, ids=LAYER_IDS)
def test_forward_follows_parameters(entry, route, mode, grad):
    layer = _build(entry)
    layer.train(mode == "train")
    torch.manual_seed(2)
    x = torch.randn(entry[2])
    _run(layer, x, grad)  # a first forward: whatever it might cache
    new = _new_values(layer)
    params = None
    dtype = torch.float32
    if route == "data_write":
        for name, p in layer.named_parameters():
            if name in new:
                p.data.copy_(new[name])
    elif route == "inplace_no_grad":
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(3.0).add_(0.25)
    elif route == "load_state_dict":
        state = layer.state_dict()
        state.update(new)
        layer.load_state_dict(state)
    elif route == "new_parameter":
        for name, value in new.items():
            _set_parameter(layer, name, value)
    elif route == "optimizer_step":
        opt = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.5)
        _run(layer, x, True).square().sum().backward()
        opt.step()
    elif route == "functional_call":
        params = new
    elif route == "averaged_model":
        avg = AveragedModel(layer, multi_avg_fn=get_ema_multi_avg_fn(0.5))
        avg.train(mode == "train")
        _run(avg.module, x, grad)
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(1.5).add_(0.3)
        avg.update_parameters(layer)
        layer = avg.module
    elif route == "to_double":
        layer.double()
        x = x.double()
        dtype = torch.float64
    state = {k: v.detach().clone() for k, v in layer.state_dict().items()}
    if params is not None:
        state.update({k: v.clone() for k, v in params.items()})  # the forward may project them in place
    y = _run(layer, x, grad, params)

    fresh = _build(entry).to(dtype)
    fresh.load_state_dict(state)
    fresh.train(mode == "train")
    y_ref = _run(fresh, x, grad)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-11, "atol": 1e-11}
    torch.testing.assert_close(y, y_ref, **tol)
    assert torch.isfinite(y).all()
    check = entry[3]
    if check is not None and params is None:
        check(_kernel_used(layer))


# ----------------------------------------------------------------------------- listed failing inputs


def test_selfeeg_data_write_is_projected():
    torch.manual_seed(0)
    m = selfeeg.ConstrainedConv2d(2, 3, 3, max_norm=0.5)
    x = torch.randn(1, 2, 6, 6)
    m(x)
    m.weight.data.copy_(torch.randn(3, 2, 3, 3) * 10)
    y = m(x)
    norms = m.weight.detach().flatten(1).norm(dim=1)
    assert (norms <= 0.5 + 1e-5).all()
    torch.testing.assert_close(y, F.conv2d(x, m.weight, m.bias, padding="same"))


def test_sum_to_one_output_does_not_depend_on_grad_mode():
    torch.manual_seed(0)
    m = ConstrainedConv2d(2, 3, 3, constraint="sum_to_one").eval()
    x = torch.randn(1, 2, 6, 6)
    with torch.no_grad():
        m(x)
    m.weight.data.normal_()
    with torch.no_grad():
        y_nograd = m(x)
    torch.testing.assert_close(y_nograd, m(x).detach())
    fresh = ConstrainedConv2d(2, 3, 3, constraint="sum_to_one").eval()
    fresh.load_state_dict(m.state_dict())
    torch.testing.assert_close(y_nograd, fresh(x).detach())


@pytest.mark.parametrize("factory", [_r2conv, _r2conv_transposed, _r2diffop], ids=["R2Conv", "R2ConvT", "R2Diffop"])
def test_equivariant_eval_mode_follows_weights_and_has_gradients(factory):
    torch.manual_seed(0)
    conv = factory().eval()
    x = GeometricTensor(torch.randn(1, conv.in_type.size, 6, 6), conv.in_type)
    y = conv(x).tensor
    with torch.no_grad():  # an EMA-style update
        for p in conv.parameters():
            p.mul_(3.0)
    torch.testing.assert_close(conv(x).tensor, 3 * y)
    w2 = {n: p.detach().clone().requires_grad_() for n, p in conv.named_parameters()}
    out = functional_call(conv, {k: v * 2 for k, v in w2.items()}, (x,)).tensor
    torch.testing.assert_close(out, 6 * y)
    out.sum().backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in w2.values())
    conv(x).tensor.sum().backward()  # eval-mode backward reaches the parameters, as torch.nn does
    assert conv.weights.grad is not None
    conv.double()  # float64 expansion from the float64 basis
    with torch.no_grad():
        y64 = conv(GeometricTensor(x.tensor.double(), conv.in_type)).tensor
        ref = factory().double()
        ref.load_state_dict(conv.state_dict())
        torch.testing.assert_close(y64, ref.train()(GeometricTensor(x.tensor.double(), conv.in_type)).tensor, rtol=0, atol=1e-13)


def _demo_model() -> nn.Module:
    from structconv.models import EquivariantCNN

    torch.manual_seed(0)
    return EquivariantCNN("C8", fields=(2, 2, 2))


def test_buffers_and_keys_do_not_depend_on_mode_and_ema_works_in_eval():
    model = _demo_model()
    train_buffers = [n for n, _ in model.named_buffers()]
    train_keys = list(model.state_dict())
    model.eval()
    assert [n for n, _ in model.named_buffers()] == train_buffers
    assert list(model.state_dict()) == train_keys
    avg = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    avg.eval()
    x = torch.randn(2, 1, 21, 21)
    with torch.no_grad():
        avg(x)
        for p in model.parameters():
            p.add_(0.1)
    avg.update_parameters(model)  # crashed with an eval-only buffer
    fresh = _demo_model().eval()
    fresh.load_state_dict(avg.module.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(avg(x), fresh(x))


def _snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool]]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, [m.training for m in model.modules()]


def test_export_leaves_the_live_model_unchanged():
    import _deploy_zoo as zoo

    for name in [*zoo.CONSTRAINED, *zoo.EQUIVARIANT]:
        model, x = zoo.build(name)
        model.train()
        state, modes = _snapshot(model)
        exported = 0
        for module in model.modules():
            if module is not model and hasattr(module, "export"):
                try:
                    module.export()
                except NotImplementedError:  # modules without export() yet (issue 16)
                    continue
                exported += 1
        assert exported > 0
        after_state, after_modes = _snapshot(model)
        assert after_modes == modes, name
        assert after_state.keys() == state.keys()
        for k in state:
            assert torch.equal(after_state[k], state[k]), (name, k)
        # training goes on: an optimizer step still changes the parameters and the statistics
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model(x).square().mean().backward()
        opt.step()
        changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, state[k])]
        assert changed, name


def test_post_step_layer_with_plain_checkpoint_uses_feasible_kernel():
    m = ConstrainedConv2d(1, 2, 3, constraint="nonneg", enforce="post_step")
    plain = nn.Conv2d(1, 2, 3)
    with torch.no_grad():
        plain.weight.fill_(-0.27)
    m.load_state_dict(plain.state_dict())
    x = torch.randn(1, 1, 5, 5)
    assert m.export().weight.min() >= 0
    torch.testing.assert_close(m(x), F.conv2d(x, m.weight.clamp_min(0), m.bias))


def test_projection_through_weight_norm():
    torch.manual_seed(0)
    m = nn.utils.parametrizations.weight_norm(ConstrainedConv2d(2, 3, 3, constraint="nonneg", enforce="post_step"))
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    handle = structconv.attach_projection(opt, m)
    x = torch.randn(2, 2, 6, 6)
    for _ in range(5):
        opt.zero_grad()
        (-m(x).sum()).backward()
        opt.step()
        assert m.weight.min() >= -1e-6  # the stored (weight-normed) weight itself is projected
        assert m.export().weight.min() >= 0
    handle.remove()


def test_load_checkpoint_is_all_or_nothing():
    from structconv.utils import load_checkpoint

    model = _demo_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    other = {k: v + 1.0 if v.is_floating_point() else v for k, v in _demo_model().state_dict().items()}
    bad_extra = dict(other)
    bad_extra["unexpected.weight"] = torch.zeros(1)
    bad_missing = dict(other)
    bad_missing.pop(next(k for k in other if k.endswith("weights")))
    for bad in (bad_extra, bad_missing):
        with pytest.raises(ValueError, match="nothing was loaded"):
            load_checkpoint(model, bad)
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_load_checkpoint_rolls_back_a_failure_during_the_copy(monkeypatch):
    from structconv.utils import load_checkpoint

    model = _demo_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    other = {k: v + 1.0 if v.is_floating_point() else v for k, v in _demo_model().state_dict().items()}
    last = list(model.modules())[-1]

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("copy failed")

    monkeypatch.setattr(last, "_load_from_state_dict", fail)
    with pytest.raises(RuntimeError, match="copy failed"):
        load_checkpoint(model, other)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("enforce", ["forward", "post_step", "inplace"])
def test_constrained_module_pickles_and_reloads_in_a_fresh_process(tmp_path, enforce):
    torch.manual_seed(0)
    conv = structconv.constrain(nn.Conv2d(2, 3, 3), "sum_to_one", enforce=enforce)
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)
    x = torch.randn(1, 2, 5, 5)
    conv(x).square().sum().backward()
    opt.step()  # the raw parameter leaves the constraint set's right-inverse image
    y = conv(x)
    torch.save({"model": conv, "x": x, "y": y.detach()}, tmp_path / "m.pt")
    buf = io.BytesIO()
    torch.save(conv, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False)(x), y, rtol=0, atol=1e-6)
    code = textwrap.dedent(
        f"""
        import torch
        d = torch.load({str(tmp_path / "m.pt")!r}, weights_only=False)
        assert torch.allclose(d["model"](d["x"]), d["y"], rtol=0, atol=1e-6), "reloaded output differs"
        print("ok")
        """
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


@pytest.mark.parametrize("enforce", ["forward", "post_step", "inplace"])
def test_constrain_refuses_tied_weights_and_leaves_them_intact(enforce):
    a, b = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3)
    b.weight = a.weight
    before = b.weight.detach().clone()
    with pytest.raises(ValueError, match="tied weights"):
        structconv.constrain(a, "nonneg", enforce=enforce)
    assert torch.equal(b.weight, before) and b.weight is a.weight
    assert not hasattr(a, "weight_constraint") and not nn.utils.parametrize.is_parametrized(a)
    # an untied layer inside a model is accepted (the model holding it is not a second owner)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    structconv.constrain(net[0], "nonneg", enforce=enforce)


def _counting(conv: nn.Module) -> list[int]:
    """Count the expansions of a steerable layer (its ``expand_parameters`` calls)."""
    calls: list[int] = []
    original = conv.expand_parameters

    def counting():
        calls.append(1)
        return original()

    conv.expand_parameters = counting  # type: ignore[method-assign]
    return calls


def test_inference_reuse_compares_values_and_the_cached_context_is_explicit():
    conv = _r2conv().eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    calls = _counting(conv)
    with torch.no_grad():
        y0 = conv(x).tensor
        conv(x)
        assert len(calls) == 1  # autograd off, weights equal in value: the filter is reused
        conv.weights.data[0] += 1e-3  # a .data write bypasses every version counter: still seen
        y1 = conv(x).tensor
        assert len(calls) == 2 and not torch.equal(y0, y1)
        conv.weights.data[0] -= 1e-3
        torch.testing.assert_close(conv(x).tensor, y0)
        assert len(calls) == 3
    with torch.inference_mode():
        conv(x)
        conv(x)
    assert len(calls) == 3  # inference mode is autograd off too
    y = conv(x).tensor  # autograd on: every forward expands, so gradients reach the weights
    conv(x).tensor.sum().backward()
    assert len(calls) == 5 and conv.weights.grad is not None and y.requires_grad
    with nn.utils.parametrize.cached():
        y1 = conv(x).tensor
        y2 = conv(x).tensor
    assert len(calls) == 6 and torch.equal(y1, y2)
    with torch.no_grad():
        for p in conv.parameters():
            p.mul_(2.0)
        torch.testing.assert_close(conv(x).tensor, 2 * y0)
        conv.weights.data[0] = float("nan")  # NaN never compares equal: recomputed, and visible
        n = len(calls)
        assert torch.isnan(conv(x).tensor).any() and torch.isnan(conv(x).tensor).any()
        assert len(calls) == n + 2


@pytest.mark.parametrize("route", ["to_double", "half_then_float", "load_state_dict", "copy_module"])
def test_inference_reuse_follows_module_conversions(route):
    import copy

    conv = _r2conv().eval()
    x = torch.randn(1, 5, 6, 6)
    with torch.no_grad():
        conv(GeometricTensor(x, conv.in_type))
        if route == "to_double":
            conv.double()
            x = x.double()
        elif route == "half_then_float":
            conv.half().float()  # the same values again after a round trip: the rounded ones
        elif route == "load_state_dict":
            state = {k: v * 0.5 for k, v in conv.state_dict().items()}
            conv.load_state_dict(state)
        else:
            conv = copy.deepcopy(conv)
            conv.weights.mul_(-1.0)
        y = conv(GeometricTensor(x, conv.in_type)).tensor
        f, b = conv.expand_parameters()
        ref = F.conv2d(x, f, b, padding=1)
    torch.testing.assert_close(y, ref, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- found by review


def test_constrain_post_step_never_convolves_with_an_infeasible_weight():
    c = structconv.constrain(nn.Conv2d(2, 3, 3), "nonneg", enforce="post_step")
    c.load_state_dict(nn.Conv2d(2, 3, 3).state_dict())  # a plain checkpoint with negative taps
    x = torch.randn(2, 2, 7, 7)
    y = c(x)
    assert c.weight.min() >= 0
    torch.testing.assert_close(y, F.conv2d(x, c.weight, c.bias))
    c.weight.data.fill_(-1.0)
    assert c(x).abs().max() == c.bias.abs().max()  # the kernel is projected to 0


@pytest.mark.parametrize("wrap", ["parametrizations.weight_norm", "parametrizations.spectral_norm"])
@pytest.mark.parametrize("enforce", ["post_step", "inplace"])
def test_constrain_under_a_weight_parametrization_is_projected(wrap, enforce):
    torch.manual_seed(0)
    base = structconv.constrain(nn.Conv2d(2, 3, 3), "nonneg", enforce=enforce)
    m = eval(f"nn.utils.{wrap}")(base)
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    structconv.attach_projection(opt, m)
    x = torch.randn(2, 2, 6, 6)
    assert structconv.project_model_(m) == 1
    for _ in range(3):
        opt.zero_grad()
        (-m(x).sum()).backward()
        opt.step()
        assert m.weight.min() >= -1e-5


@pytest.mark.parametrize("hooked", ["weight_norm", "spectral_norm"])
def test_hook_based_reparametrizations_are_refused(hooked):
    for layer in (
        structconv.constrain(nn.Conv2d(2, 3, 3), "nonneg", enforce="inplace"),
        ConstrainedConv2d(2, 3, 3, constraint="nonneg", enforce="post_step"),
    ):
        m = getattr(nn.utils, hooked)(layer)
        opt = torch.optim.SGD(m.parameters(), lr=1.0)
        with pytest.raises(ValueError, match="recomputed by a hook"):
            structconv.attach_projection(opt, m)


def test_ema_with_buffers_keeps_the_structure_of_equivariant_layers():
    g = Rot2dOnR2(8)
    fi, fo = FieldType(g, [g.regular_repr]), FieldType(g, [g.regular_repr] * 2)
    m = R2Conv(fi, fo, 5)
    ema = AveragedModel(m, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    ema.update_parameters(m)
    ema.update_parameters(m)
    x = GeometricTensor(torch.randn(1, 8, 9, 9), fi)
    with torch.no_grad():
        torch.testing.assert_close(ema(x).tensor, m(x).tensor)
    # a whole model with batch norms, pooling and group pooling: the averaged copy equals a fresh model
    # loaded with its state
    model = _demo_model()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    for _ in range(3):
        model(torch.randn(4, 1, 21, 21))
        ema.update_parameters(model)
    fresh = _demo_model()
    fresh.load_state_dict(ema.module.state_dict())
    xs = torch.randn(2, 1, 21, 21)
    with torch.no_grad():
        torch.testing.assert_close(ema.module.eval()(xs), fresh.eval()(xs))
    assert all(b.is_floating_point() or b.numel() == 1 for b in model.buffers())  # no index tensors


@pytest.mark.parametrize("low", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("factory", [_r2conv, _r2conv_transposed, _r2diffop], ids=["R2Conv", "R2ConvT", "R2Diffop"])
def test_low_precision_round_trip_leaves_the_basis_exact(factory, low):
    torch.manual_seed(0)
    m = factory().to(low).float()
    fresh = factory()
    fresh.load_state_dict(m.state_dict())
    x = GeometricTensor(torch.randn(1, m.in_type.size, 6, 6), m.in_type)
    torch.testing.assert_close(m(x).tensor, fresh(x).tensor, rtol=0, atol=0)


def test_layers_do_not_share_mutable_basis_tensors():
    a, b = _r2conv(), _r2conv()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), b.in_type)
    y = b(x).tensor
    with torch.no_grad():
        for buf in a.buffers():
            if buf.is_floating_point():
                buf.mul_(2.0)
    torch.testing.assert_close(b(x).tensor, y, rtol=0, atol=0)
    c = _r2conv()  # built after the write: its basis is the library's, not a's
    c.load_state_dict(b.state_dict())
    torch.testing.assert_close(c(x).tensor, y, rtol=0, atol=0)


def test_compiled_inplace_layer_allows_two_forwards_before_backward():
    m = ConstrainedConv2d(2, 3, 3, constraint="nonneg", enforce="inplace")
    cm = torch.compile(m, backend="eager", fullgraph=True)
    x = torch.randn(1, 2, 6, 6)
    m.weight.data.fill_(-1.0)
    y1, y2 = cm(x), cm(x)
    (y1 + y2).sum().backward()
    assert m.weight.min() >= 0 and m.weight.grad is not None


def test_equivariant_layers_run_on_the_meta_device():
    conv = _r2conv().to("meta")
    out = conv(GeometricTensor(torch.randn(1, 5, 6, 6, device="meta"), conv.in_type))
    assert out.tensor.shape == (1, 5, 6, 6) and out.tensor.device.type == "meta"


def test_constrain_refuses_a_shape_changing_module_and_transposed_shape_check():
    with pytest.raises(TypeError, match="maps a weight of shape"):
        structconv.constrain(nn.Conv2d(1, 2, 3), nn.Flatten())
    conv = _r2conv_transposed()
    with pytest.raises(ValueError, match="empty output"):
        R2ConvTransposed(conv.in_type, conv.out_type, 3, padding=3).evaluate_output_shape((1, 4, 1, 1))


# ----------------------------------------------------------------------------- inference reuse, found by review


def _conv_reference(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    f, b = conv.expand_parameters()
    return F.conv2d(x, f, b, padding=1)


def test_inference_reuse_sees_a_write_during_the_expansion():
    # a hook (or another thread) writes the weights while the filter is expanded: the next no-grad forward
    # must not reuse a filter that the snapshot does not describe
    conv = _r2conv()
    x = torch.randn(1, 5, 6, 6)
    def write(module, inputs, output):
        conv.weights.data.add_(1.0)

    hook = conv.basisexpansion.register_forward_hook(write)
    with torch.no_grad():
        conv(GeometricTensor(x, conv.in_type))
    hook.remove()
    with torch.no_grad():
        torch.testing.assert_close(conv(GeometricTensor(x, conv.in_type)).tensor, _conv_reference(conv, x))


def test_inference_reuse_follows_substituted_buffers():
    # functional_call with other basis buffers: freed tensors' ids and memory are reused by the next ones
    conv = _r2conv()
    x = torch.randn(1, 5, 6, 6)
    name = next(n for n, b in conv.named_buffers() if n.startswith("_basisexpansion") and b.dim() >= 2)
    base = dict(conv.named_buffers())[name]
    with torch.no_grad():
        for k in range(1, 30):
            y = functional_call(conv, {name: base * k}, (GeometricTensor(x, conv.in_type),)).tensor
            with torch.enable_grad():
                y_ref = functional_call(conv, {name: base * k}, (GeometricTensor(x, conv.in_type),)).tensor
            torch.testing.assert_close(y, y_ref.detach())


def test_inference_reuse_never_applies_to_meta_or_fake_tensors():
    from torch._subclasses.fake_tensor import FakeTensorMode

    conv = _r2conv()
    x = torch.randn(2, 5, 7, 7)
    with torch.no_grad():
        conv(GeometricTensor(x, conv.in_type))
        with FakeTensorMode(allow_non_fake_inputs=True) as mode:
            fake = mode.from_tensor(x)
            assert conv(GeometricTensor(fake, conv.in_type)).tensor.shape == (2, 5, 7, 7)
    meta = _r2conv().to("meta")
    with torch.no_grad():
        for _ in range(2):
            assert meta(GeometricTensor(torch.empty(2, 5, 7, 7, device="meta"), meta.in_type)).shape == (2, 5, 7, 7)


class _Traceable(nn.Module):
    """A layer on plain tensors (``torch.jit.trace`` takes tensors, not GeometricTensors)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = GeometricTensor(x, self.layer.in_type) if hasattr(self.layer, "in_type") else x
        out = self.layer(inp)
        return out.tensor if isinstance(out, GeometricTensor) else out


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("entry", LAYERS, ids=LAYER_IDS)
def test_jit_trace_passes_its_checks_and_follows_parameters(entry, mode, grad):
    """``torch.jit.trace`` (with its own check that a second run gives the same graph) of every layer, in
    both modes, with and without autograd: the traced graph holds the kernel's computation, so the traced
    module gives the eager output and still follows the parameters after an in-place change."""
    layer = _build(entry)
    layer.train(mode == "train")
    torch.manual_seed(2)
    x = torch.randn(entry[2])
    wrapped = _Traceable(layer)
    with torch.set_grad_enabled(grad):
        _run(layer, x, grad)  # a first eager forward: whatever it might cache
        traced = torch.jit.trace(wrapped, x)  # raises TracingCheckError if the graphs of two runs differ
        torch.testing.assert_close(traced(x), wrapped(x), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(3.0).add_(0.25)
    with torch.set_grad_enabled(grad):
        torch.testing.assert_close(traced(x), wrapped(x), rtol=1e-5, atol=1e-5)
    if grad:  # the traced graph trains as the layer does: the same gradients
        grads = []
        for run in (traced, wrapped):
            layer.zero_grad()
            run(x).square().sum().backward()
            grads.append([p.grad.clone() for p in layer.parameters() if p.grad is not None])
        assert len(grads[0]) == len(grads[1]) > 0
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        # two forwards before one backward, as in eager mode (a traced graph that wrote the projection into
        # the weight would invalidate the first forward's saved tensors). constrain()ed plain modules project
        # in a forward pre-hook and FWS wraps any layer: both can only write the weight (documented).
        if not entry[0].startswith(("constrain-post_step", "constrain-inplace", "FWS", "elektronn3.FWS")):
            for run in (traced, wrapped):
                layer.zero_grad()
                (run(x).sum() + run(x).sum()).backward()


@pytest.mark.parametrize(
    "make",
    [
        lambda: ConstrainedConv2d(3, 4, 3, constraint="nonneg", enforce="inplace"),
        lambda: ConstrainedConv2d(3, 4, 3, constraint="unit_l2", enforce="inplace"),
        lambda: ConstrainedLinear(6, 4, constraint="zero_mean", enforce="inplace"),
        lambda: selfeeg.ConstrainedConv2d(3, 4, 3, max_norm=0.3),
    ],
    ids=["nonneg", "unit_l2", "linear-zero_mean", "selfeeg-max_norm"],
)
def test_traced_inplace_layer_trains_as_the_layer(make):
    """Training through a traced ``enforce='inplace'`` layer (two forwards per backward) follows the eager
    layer's trajectory exactly: the traced graph writes the projection into the stored weight too."""
    torch.manual_seed(0)
    x = torch.randn(2, 6) if "Linear" in type(make()).__name__ else torch.randn(2, 3, 8, 8)
    runs = []
    for traced in (False, True):
        torch.manual_seed(1)
        layer = make()
        run = torch.jit.trace(layer, x) if traced else layer
        opt = torch.optim.SGD(layer.parameters(), lr=0.1)
        for _ in range(10):
            opt.zero_grad()
            (run(x).sum() + run(x).square().sum()).backward()
            opt.step()
        runs.append((layer.weight.detach().clone(), run(x).detach()))
    torch.testing.assert_close(runs[1][0], runs[0][0], rtol=0, atol=1e-6)
    torch.testing.assert_close(runs[1][1], runs[0][1], rtol=0, atol=1e-5)


_STEERABLE = [entry for entry in LAYERS if entry[0].startswith(("R2", "R3"))]
_REPLACEMENTS = [
    "data_reassigned",
    "swap_tensors",
    "buffer_replaced",
    "buffer_written",
    "submodule_replaced",
    "parameter_deleted",
    "bfloat16_data_write",
    "float64_data_write",
    "plain_tensor_attribute",
    "parametrization_state",
    "set_same_storage",
    "parameter_dict_replaced",
    "shadowing_attribute",
]


class _Scale(nn.Module):
    """A parametrization whose state is a Python attribute (invisible to any tensor comparison)."""

    scale = 1.0

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.scale


def _basis_buffer(layer: nn.Module) -> tuple[nn.Module, str, torch.Tensor]:
    name, buf = next((n, b) for n, b in layer.named_buffers() if n.startswith("_basisexpansion") and b.dim() >= 2)
    owner_name, _, leaf = name.rpartition(".")
    return layer.get_submodule(owner_name), leaf, buf


@pytest.mark.parametrize("route", _REPLACEMENTS)
@pytest.mark.parametrize("entry", _STEERABLE, ids=[e[0] for e in _STEERABLE])
def test_inference_reuse_sees_every_replacement(entry, route):
    """The no-grad reuse of a steerable filter after each way of replacing (not writing) what the filter
    is computed from: the next no-grad forward equals a forward with autograd on (which never reuses)."""
    import copy

    layer = _build(entry).eval()
    x = torch.randn(entry[2])
    if route.startswith(("bfloat16", "float64")):
        dtype = torch.bfloat16 if route.startswith("bfloat16") else torch.float64
        layer.to(dtype)
        x = x.to(dtype)
    with torch.no_grad():
        layer.bias.normal_()  # initialised to zero
        y0 = _run(layer, x, False)
        _run(layer, x, False)  # reused
        if route == "data_reassigned":
            for p in layer.parameters():
                p.data = p.data * 2.0 + 0.5  # new memory, no version bump
        elif route == "swap_tensors":
            torch.utils.swap_tensors(layer.weights, nn.Parameter(layer.weights.detach() * -1.5))
        elif route == "buffer_replaced":
            owner, leaf, buf = _basis_buffer(layer)
            setattr(owner, leaf, buf * 2.0)
        elif route == "buffer_written":
            _basis_buffer(layer)[2].mul_(2.0)
        elif route == "submodule_replaced":
            other = copy.deepcopy(layer.basisexpansion)
            for b in other.buffers():
                if b.is_floating_point():
                    b.mul_(-2.0)
            layer._basisexpansion = other
        elif route == "parameter_deleted":
            del layer.bias  # the expanded bias is gone: the output is the convolution alone
            layer.register_parameter("bias", None)
        elif route == "plain_tensor_attribute":  # MAML-style: the weights as a plain tensor, then replaced
            w = layer.weights.detach().clone()
            del layer.weights
            layer.weights = w
            _run(layer, x, False)
            layer.weights = 2.0 * w
        elif route == "parametrization_state":
            nn.utils.parametrize.register_parametrization(layer, "weights", _Scale())
            _run(layer, x, False)
            layer.parametrizations.weights[0].scale = 2.0
        elif route == "set_same_storage":  # the same memory, another layout (every weight = the first)
            w = layer.weights
            w.set_(w.untyped_storage(), w.storage_offset(), w.shape, (0,))
        elif route == "shadowing_attribute":  # set around Module.__setattr__: shadows the parameter
            object.__setattr__(layer, "weights", layer.weights.detach() * 2.0)
        elif route == "parameter_dict_replaced":  # a new dict object holding a new parameter
            params = dict(layer._parameters)
            params["weights"] = nn.Parameter(layer.weights.detach() * -2.0)
            layer._parameters = params
        else:
            layer.weights.data[0] += 1.0  # bfloat16 and float64: a .data write, seen by value
        y = _run(layer, x, False)
    y_ref = _run(layer, x, True).detach()
    assert not torch.equal(y, y0)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)


def test_inference_reuse_is_off_under_dispatch_and_function_modes():
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    class Passthrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    class FunctionPassthrough(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    conv = _r2conv().eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    calls = _counting(conv)
    with torch.no_grad():
        conv(x)
        conv(x)
        assert len(calls) == 1
        with Passthrough():  # fake, proxy and functional tensors come through such modes
            conv(x)
            conv(x)
        assert len(calls) == 3
        with FunctionPassthrough():
            conv(x)
        assert len(calls) == 4
        conv(x)
        conv(x)  # reused again once the modes are gone
        assert len(calls) == 5


def test_inference_reuse_compares_bits_and_holds_no_stale_memory():
    """The CPU check compares the bytes of a NumPy view of each parameter: -0.0 against 0.0 recomputes
    (never a stale filter), and a parameter moved to new memory is read there, never through the old view."""
    conv = _r2conv().eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    calls = _counting(conv)
    with torch.no_grad():
        conv.weights.data[0] = 0.0
        conv(x)
        conv.weights.data[0] = -0.0
        conv(x)
        assert len(calls) == 2
        old = conv.weights.data
        conv.weights.data = old.clone()  # the same values in new memory: recomputed once, then reused
        old.add_(1.0)
        y = conv(x).tensor
        conv(x)
        assert len(calls) == 3
    torch.testing.assert_close(y, conv(x).tensor.detach(), rtol=0, atol=0)


def test_inference_reuse_is_off_under_a_random_parametrization():
    """DropConnect as a parametrization: every no-grad forward in train mode draws a new mask, as with
    autograd on, and after ``eval()`` the output is the unmasked one."""
    torch.manual_seed(0)
    conv = _r2conv()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    nn.utils.parametrize.register_parametrization(conv, "weights", nn.Dropout(0.5))
    with torch.no_grad():
        a, b = conv(x).tensor, conv(x).tensor
        assert not torch.equal(a, b)
        conv.eval()
        y = conv(x).tensor
    torch.testing.assert_close(y, conv(x).tensor.detach(), rtol=0, atol=0)


def test_inference_reuse_leaves_the_parameters_storage_resizable():
    """The snapshot reads the parameters' memory without pinning it (a NumPy view would make the storage
    unresizable, breaking offloading schemes that free and re-allocate it)."""
    conv = _r2conv().eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    with torch.no_grad():
        y = conv(x).tensor
        conv(x)
        w = conv.weights
        values = w.detach().clone()
        w.untyped_storage().resize_(0)  # freed, as an offloading wrapper does between uses
        w.untyped_storage().resize_(values.numel() * values.element_size())
        w.copy_(values)
        w.data.resize_(values.numel())
        torch.testing.assert_close(conv(x).tensor, y, rtol=0, atol=0)


@pytest.mark.parametrize("entry", LAYERS, ids=LAYER_IDS)
def test_parameter_storages_stay_resizable(entry):
    """No parameter's storage is pinned (by a NumPy view, or by being NumPy's memory) at construction or
    by a forward, in either mode and with or without autograd: wrappers that free and re-allocate
    parameter storage (offloading) work on every layer."""
    layer = _build(entry)
    x = torch.randn(entry[2])
    for mode in ("train", "eval"):
        layer.train(mode == "train")
        for grad in (True, False):
            _run(layer, x, grad)
            _run(layer, x, grad)
    for p in layer.parameters():
        storage = p.untyped_storage()
        storage.resize_(storage.nbytes())  # raises "not resizable" for a pinned storage


def test_inference_reuse_keeps_no_layer_alive():
    """The snapshot lives in the layer's own ``__dict__`` and holds no reference to the layer: a layer
    that ran no-grad forwards is freed with its last reference, also when a hook closes over it (a cycle,
    collected by the garbage collector); and a pickle or a copy carries no snapshot."""
    import copy
    import gc
    import pickle
    import weakref

    for hooked in (False, True):
        conv = _r2conv().eval()
        if hooked:
            conv.basisexpansion.register_forward_hook(lambda m, i, o, c=conv: None)  # a cycle through the hook
        x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
        with torch.no_grad():
            conv(x)
            conv(x)
        ref = weakref.ref(conv)
        del conv
        gc.collect()
        assert ref() is None, hooked
    conv = _r2conv().eval()
    with torch.no_grad():
        conv(GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type))
    for other in (pickle.loads(pickle.dumps(conv)), copy.deepcopy(conv)):
        holder = other.__dict__.get("_structconv_inference_reuse")
        assert holder is None or holder.entries == {}
    # a shallow copy shares the parameter dicts with the layer (PyTorch's semantics), and the snapshot
    shallow = copy.copy(conv)
    shallow.weights = nn.Parameter(conv.weights.detach() * 3.0)  # lands in the shared dict
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    with torch.no_grad():
        for m in (conv, shallow):
            torch.testing.assert_close(m(x).tensor, m(x).tensor, rtol=0, atol=0)
    for m in (conv, shallow):
        with torch.no_grad():
            y = m(x).tensor
        torch.testing.assert_close(y, m(x).tensor.detach(), rtol=0, atol=0)


@pytest.mark.parametrize("entry", _STEERABLE, ids=[e[0] for e in _STEERABLE])
def test_inference_reuse_without_a_bias(entry):
    """``bias=False`` (a plain ``None`` attribute) still reuses the filter, and follows a bias set later."""
    layer = _build(entry)
    kwargs = {"bias": False}
    torch.manual_seed(0)
    layer = type(layer)(layer.in_type, layer.out_type, **_ctor_kwargs(layer), **kwargs).eval()
    assert layer.bias is None
    calls = _counting(layer)
    x = torch.randn(entry[2])
    with torch.no_grad():
        y0 = _run(layer, x, False)
        _run(layer, x, False)
        assert len(calls) == 1
        layer.weights.data.mul_(2.0)
        torch.testing.assert_close(_run(layer, x, False), 2.0 * y0)
        assert len(calls) == 2


def _ctor_kwargs(layer: nn.Module) -> dict[str, Any]:
    """The kernel arguments of a built steerable layer, to build it again with other options."""
    kwargs: dict[str, Any] = {"kernel_size": layer.kernel_size}
    for name in ("stride", "padding", "dilation"):
        value = getattr(layer, name, None)
        if value is not None:
            kwargs[name] = value[0] if isinstance(value, tuple) else value
    return kwargs


def test_inference_reuse_sees_conjugate_views_and_tangents():
    """A conjugate view of the same memory (same pointer, layout and bytes) and forward-mode AD tangents
    are never taken for the snapshot's values."""
    import torch.autograd.forward_ad as fwAD

    conv = _r2conv().to(torch.complex64).eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6, dtype=torch.complex64), conv.in_type)
    with torch.no_grad():
        conv.weights.mul_(1 + 1j)
        conv(x)
        conv.weights.data = conv.weights.data.conj()
        y = conv(x).tensor
    torch.testing.assert_close(y, conv(x).tensor.detach(), rtol=0, atol=0)
    conv = _r2conv().eval()
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    w = conv.weights
    with fwAD.dual_level():
        with torch.no_grad():
            conv(x)
            w.copy_(fwAD.make_dual(w.detach().clone(), torch.ones_like(w)))
            tangent = fwAD.unpack_dual(conv(x).tensor).tangent
        want = fwAD.unpack_dual(conv(x).tensor).tangent
    assert tangent is not None and torch.equal(tangent, want)


def test_inference_reuse_reads_no_memory_a_parameter_does_not_own(monkeypatch):
    """Only the inputs' values are read, and only inside a storage large enough for their recorded layout:
    a released parameter the filter never reads does not crash the no-grad forward, and a storage shrunk
    under the same pointer (simulated) is not read."""
    import ctypes

    conv = _r2conv().eval()
    conv.extra = nn.Parameter(torch.randn(1000))
    conv.extra.untyped_storage().resize_(0)  # released: any read would fault
    x = GeometricTensor(torch.randn(1, 5, 6, 6), conv.in_type)
    with torch.no_grad():
        y = conv(x).tensor
        conv(x)
    torch.testing.assert_close(y, conv(x).tensor.detach(), rtol=0, atol=0)
    del conv.extra
    w = conv.weights
    with torch.no_grad():
        conv(x)
    ptr = w.data_ptr()
    w.untyped_storage().resize_(w.numel() * w.element_size() // 2)  # moved and shrunk
    reads = []

    class Recorded:  # stands in for the ctypes view over the old memory: records whether it is read
        def __init__(self, view):
            self.view = view

        @property
        def raw(self):
            reads.append(ctypes.addressof(self.view))
            return self.view.raw

    snapshot = conv.__dict__["_structconv_inference_reuse"].entries["filter"]
    snapshot.params[:] = [(*e[:6], Recorded(e[6]), e[7]) if e[0] is w else e for e in snapshot.params]
    monkeypatch.setattr(torch.Tensor, "data_ptr", lambda self, _p=ptr, _w=w, _f=torch.Tensor.data_ptr: (
        _p if self is _w else _f(self)
    ))  # as if the allocator had handed back the old address
    assert not snapshot.unchanged(conv)
    assert reads == []
    monkeypatch.undo()
    w.untyped_storage().resize_(w.numel() * w.element_size())
    with torch.no_grad():  # the read itself is seen: a snapshot of the new memory, read when unchanged
        conv(x)
    snapshot = conv.__dict__["_structconv_inference_reuse"].entries["filter"]
    snapshot.params[:] = [(*e[:6], Recorded(e[6]), e[7]) if e[0] is w else e for e in snapshot.params]
    assert snapshot.unchanged(conv) and reads == [w.data_ptr()]
