"""``torch.compile(fullgraph=True)`` of structconv models: no graph breaks, same outputs and gradients.

``fullgraph=True`` turns any graph break into an error, whatever the backend, so the broad sweep uses
the cheap ``"eager"`` backend (Dynamo tracing only); the demo's equivariant model also goes through
``"aot_eager"`` (AOTAutograd traces the backward too). Inductor code generation takes minutes on a
shared CPU: its test runs only with ``STRUCTCONV_TEST_INDUCTOR=1``.
"""

from __future__ import annotations

import copy
import os

import pytest
import torch
from torch._dynamo.testing import CompileCounter

import _deploy_zoo as zoo

# enforce='inplace' reads ``weight._version`` in forward, a data-dependent guard Dynamo rejects (see below)
ALL = [n for n in [*zoo.CONSTRAINED, *zoo.EQUIVARIANT] if n != "constrained_inplace"]


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _build(name: str):
    try:
        return zoo.build(name)
    except zoo.Missing as err:
        pytest.skip(str(err))


def _check_compiled(name: str, train: bool, backend: str) -> None:
    model, x = _build(name)
    eager = copy.deepcopy(model).train(train)
    compiled_model = copy.deepcopy(model).train(train)
    compiled = torch.compile(compiled_model, fullgraph=True, backend=backend)
    for step in range(2):  # the second call runs the cached graph (and, in training, updated stats)
        torch.manual_seed(step)
        y = compiled(x)
        torch.manual_seed(step)
        y_ref = eager(x)
        torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
        if train:
            y.square().sum().backward()
            y_ref.square().sum().backward()
    if train:
        for (n, p), q in zip(compiled_model.named_parameters(), eager.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-4, msg=f"{name}: grad of {n}")
    for (n, b), c in zip(compiled_model.named_buffers(), eager.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6, msg=f"{name}: buffer {n}")
    if not train:  # an independent reference: the model exported to plain torch.nn layers
        try:
            plain = zoo.to_plain(model).eval()
        except NotImplementedError:  # a module without export() yet
            return
        with torch.no_grad():
            torch.testing.assert_close(compiled(x), plain(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", ALL)
def test_fullgraph_matches_eager(name: str, train: bool) -> None:
    if name == "demo_equivariant_cnn" and train:
        pytest.skip("covered with AOTAutograd by test_demo_model_aot_autograd_matches_eager")
    _check_compiled(name, train, backend="eager")


def test_demo_model_aot_autograd_matches_eager() -> None:
    """The demo's whole equivariant model, forward and backward traced, in training mode."""
    _check_compiled("demo_equivariant_cnn", True, backend="aot_eager")


def test_demo_model_does_not_recompile() -> None:
    """Repeated calls reuse the graph; switching train/eval compiles each mode once."""
    model, x = _build("demo_equivariant_cnn")
    counter = CompileCounter()
    compiled = torch.compile(model, fullgraph=True, backend=counter)
    for mode in (True, True, False, False, True, False):
        model.train(mode)
        compiled(x)
    assert counter.frame_count == 2


def test_constrained_weight_update_is_seen_by_compiled_layer() -> None:
    """An optimizer step between calls changes the kernel of every enforce mode (no stale cache)."""
    model, x = _build("constrained_2d")
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    compiled(x).square().sum().backward()
    opt.step()
    torch.testing.assert_close(compiled(x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_inplace_enforce_compiles_fullgraph(train: bool) -> None:
    _check_compiled("constrained_inplace", train, backend="eager")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("STRUCTCONV_TEST_INDUCTOR") != "1",
    reason="inductor takes minutes: STRUCTCONV_TEST_INDUCTOR=1",
)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", ["demo_equivariant_cnn", "constrained_2d", "weight_standardized"])
def test_inductor_matches_eager(name: str, train: bool) -> None:
    _check_compiled(name, train, backend="inductor")


def test_compiled_eval_model_follows_load_state_dict() -> None:
    """A load_state_dict between calls of a compiled eval-mode model is seen by the next call."""
    model, x = _build("demo_equivariant_cnn")
    other, _ = zoo.build("demo_equivariant_cnn", seed=1)
    model.eval()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    with torch.no_grad():
        before = compiled(x)
        model.load_state_dict(other.state_dict())
        after = compiled(x)
        expected = other.eval()(x)
    assert not torch.allclose(before, expected)
    torch.testing.assert_close(after, expected, rtol=0, atol=0)
