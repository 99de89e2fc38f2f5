"""Checks shared by the tests of the filter-expansion plans (orbit, rotated, per-chunk): the same filter and
gradients as a reference layer, every module route, tracing and compiling."""

from __future__ import annotations

import copy
import pickle

import torch

from structconv.nn import GeometricTensor


def assert_same_layer(layer, ref, atol: float, grad_rtol: float, grad_atol: float, size: int = 7) -> None:
    """``layer`` (float64) gives ``ref``'s filter to ``atol``, the same weight gradients through a forward
    and backward, and a float32 copy gives the filter to float rounding."""
    f, want = layer.filter, ref.filter
    assert float(want.abs().max()) > 0
    torch.testing.assert_close(f, want, rtol=0, atol=atol)
    x = torch.randn(2, layer.in_type.size, *([size] * (f.dim() - 2)), dtype=torch.float64)
    for m in (layer, ref):
        m.zero_grad()
        (m(GeometricTensor(x, m.in_type)).tensor.sin().sum()).backward()
    torch.testing.assert_close(layer.weights.grad, ref.weights.grad, rtol=grad_rtol, atol=grad_atol)
    torch.testing.assert_close(copy.deepcopy(layer).float().filter, want.float(), rtol=1e-5, atol=1e-6)


def assert_module_routes(layer, want: torch.Tensor, plan: str, buffer: str, atol: float) -> None:
    """Pickling, copies (which share the cached plan ``plan`` of the blocks, not their buffer ``buffer``),
    a round trip through half precision, ``to_empty`` and the meta device keep ``layer``'s filter ``want``
    (float64)."""
    torch.testing.assert_close(pickle.loads(pickle.dumps(layer)).filter, want, rtol=0, atol=atol)

    def block_of(module):
        return next(b for b in module.basisexpansion._pair_modules.values() if getattr(b, plan) is not None)

    block, copied = block_of(layer), block_of(copy.deepcopy(layer))
    assert getattr(copied, plan) is getattr(block, plan)  # the cached plan is shared
    assert getattr(copied, buffer).data_ptr() != getattr(block, buffer).data_ptr()  # the buffers are not
    rt = copy.deepcopy(layer).half().double()  # rebuilt from the float64 values, not the rounded ones
    rt.load_state_dict(layer.state_dict())  # (the weights themselves were rounded to half)
    torch.testing.assert_close(rt.filter, want, rtol=0, atol=atol)
    empty = copy.deepcopy(layer).to_empty(device="cpu")
    empty.load_state_dict(layer.state_dict())
    torch.testing.assert_close(empty.filter, want, rtol=0, atol=atol)
    meta = copy.deepcopy(layer).to("meta")
    assert meta.filter.device.type == "meta" and meta.filter.shape == want.shape
    real = meta.to_empty(device="cpu").double()
    real.load_state_dict(layer.state_dict())
    torch.testing.assert_close(real.filter, want, rtol=0, atol=atol)


class OnTensors(torch.nn.Module):
    """A layer called on plain tensors (what ``torch.jit.trace`` and ``torch.compile`` take)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(GeometricTensor(x, self.layer.in_type)).tensor


def assert_traces_and_compiles(layer, x: torch.Tensor) -> None:
    """Traced (without a Python op: TorchScript can save it) and compiled graphs of the float32 ``layer``
    give its eager outputs and weight gradients on ``x``."""
    model = OnTensors(layer)
    eager = model(x)
    model.zero_grad()
    model(x).square().sum().backward()
    want = layer.weights.grad.clone()
    traced = torch.jit.trace(model, (x,))
    assert "PythonOp" not in str(traced.inlined_graph)
    for name, run in {
        "trace": traced,
        "compile": torch.compile(model, fullgraph=True, backend="eager"),
    }.items():
        torch.testing.assert_close(run(x), eager, rtol=1e-5, atol=1e-6, msg=name)
        model.zero_grad()
        run(x).square().sum().backward()
        torch.testing.assert_close(layer.weights.grad, want, rtol=1e-4, atol=1e-5, msg=name)
