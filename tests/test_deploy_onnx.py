"""ONNX: structconv models convert with ``torch.onnx.export`` and run in onnxruntime with the same output.

Two paths are checked: the plain PyTorch model that ``export()`` returns (the supported deployment
path) and, where the layers allow it, the live structconv model itself (the constraint / basis
expansion is then traced into the graph). Both exporters are used: the TorchScript-based one
(``dynamo=False``, needs only ``onnx``) and the ``torch.export``-based default (needs ``onnxscript``).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import _deploy_zoo as zoo

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

# models whose export() gives a plain module (their layers are those the e2cnn document gives export())
EXPORTABLE = [
    "constrained_2d",
    "constrained_nd",
    "weight_standardized",
    "demo_equivariant_cnn",
    "regular_fields",
]
# models exported live; the irrep / transposed / diffop trunks have layers without export()
LIVE = ["constrained_2d", "demo_equivariant_cnn", "irrep_fields", "transposed_and_diffop"]


def _build(name: str) -> tuple[nn.Module, torch.Tensor]:
    try:
        model, x = zoo.build(name)
    except zoo.Missing as err:
        pytest.skip(str(err))
    return model.eval(), x


def _onnx_bytes(
    model: nn.Module, x: torch.Tensor, dynamo: bool = False, dynamic_batch: bool = False
) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            shapes = ({0: torch.export.Dim("batch", min=1, max=64)},) if dynamic_batch else None
            program = torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes=shapes, verbose=False)
            return program.model_proto.SerializeToString()
        f = io.BytesIO()
        axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
        torch.onnx.export(
            model,
            (x,),
            f,
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes=axes,
            opset_version=17,
        )
        return f.getvalue()


def _run(data: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def _assert_same(model: nn.Module, data: bytes, x: torch.Tensor) -> None:
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(_run(data, x), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", EXPORTABLE)
def test_exported_model_runs_in_onnxruntime(name: str) -> None:
    model, x = _build(name)
    plain = zoo.to_plain(model)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), model(x), rtol=1e-5, atol=1e-5)
    if name in zoo.CONSTRAINED:  # (the equivariant exports keep MaxPoolChannels, as the document says)
        left = [type(m).__name__ for m in plain.modules() if type(m).__module__.startswith("structconv")]
        assert not left, f"export() left structconv modules: {left}"
    _assert_same(plain, _onnx_bytes(plain, x), x)


@pytest.mark.parametrize("name", LIVE)
def test_live_model_runs_in_onnxruntime(name: str) -> None:
    model, x = _build(name)
    _assert_same(model, _onnx_bytes(model, x), x)


def test_dynamic_batch_size() -> None:
    model, x = _build("demo_equivariant_cnn")
    plain = zoo.to_plain(model)
    data = _onnx_bytes(plain, x, dynamic_batch=True)
    x5 = torch.randn(5, *x.shape[1:])
    _assert_same(plain, data, x5)


@pytest.mark.slow
@pytest.mark.parametrize("live", [False, True], ids=["exported", "live"])
def test_torch_export_based_exporter(live: bool) -> None:
    pytest.importorskip("onnxscript")
    model, x = _build("demo_equivariant_cnn")
    target = model if live else zoo.to_plain(model)
    data = _onnx_bytes(target, x, dynamo=True, dynamic_batch=True)
    _assert_same(target, data, torch.randn(3, *x.shape[1:]))


def test_fixed_center_exported_layer() -> None:
    """``export()`` is the way to deploy every constraint, including those that do not trace (below)."""
    m = zoo.require("ConstrainedConv1d")[0](2, 3, 3, padding=1, constraint="fixed_center").eval()
    x = torch.randn(2, 2, 8)
    plain = m.export()
    _assert_same(plain, _onnx_bytes(plain, x), x)


def test_fixed_center_live_layer() -> None:
    m = zoo.require("ConstrainedConv1d")[0](2, 3, 3, padding=1, constraint="fixed_center").eval()
    x = torch.randn(2, 2, 8)
    _assert_same(m, _onnx_bytes(m, x), x)


def test_ws_layer_live_top_level() -> None:
    m = zoo.require("WSConv2d")[0](3, 4, 3, padding=1).eval()
    x = torch.randn(2, 3, 6, 6)
    _assert_same(m, _onnx_bytes(m, x), x)
