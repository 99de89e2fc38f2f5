"""The per-chunk irrep-space expansion (``_FACTORIZE == "chunks"``, ``SingleBlockBasisExpansion._chunked``):
where a block's fields are in the irreps' own bases (band-limited regular and irreps fields of SO(3) and
O(3)), one product per irrep pair over all the field pairs, then one gather. It must give the dense
expansion's filter and gradients for every layer kind, field count, kernel size and dilation, be chosen
where the model says it is faster, and survive every module route."""

from __future__ import annotations

import pytest
import torch

import structconv.nn.conv.basisexpansion as be
from _expansion_checks import assert_module_routes, assert_same_layer, assert_traces_and_compiles
from structconv import gspaces
from structconv.nn import FieldType, R3Conv, R3ConvTransposed


def _so3(mult_in, mult_out, L=2):
    gs = gspaces.rot3dOnR3()
    bl = gs.fibergroup.bl_regular_representation(L)
    return gs, [bl] * mult_in, [bl] * mult_out


def _o3_mixed():
    gs = gspaces.flipRot3dOnR3()
    bl = gs.fibergroup.bl_regular_representation(2)
    return gs, [bl, gs.irrep(1, 1), bl], [bl, bl, gs.trivial_repr]


CASES = {
    # name: (gspace and field reps, layer class, kwargs)
    "so3-bl2-x1-k5": (lambda: _so3(1, 1), R3Conv, {"kernel_size": 5, "padding": 2}),
    "so3-bl2-x2x3-k3": (lambda: _so3(2, 3), R3Conv, {"kernel_size": 3, "padding": 1}),
    "so3-bl2-k3-dilation2": (lambda: _so3(2, 2), R3Conv, {"kernel_size": 3, "dilation": 2}),
    "so3-bl3-x1-k4": (lambda: _so3(1, 1, 3), R3Conv, {"kernel_size": 4}),
    "so3-bl2-transposed": (lambda: _so3(2, 3), R3ConvTransposed, {"kernel_size": 3, "stride": 2}),
    "o3-mixed-k3": (_o3_mixed, R3Conv, {"kernel_size": 3, "padding": 1}),
}


def _pair(case: str, monkeypatch):
    """The layer with the default plans, and the same layer (same weights) with dense expansions."""
    make, cls, kwargs = CASES[case]
    gs, ins, outs = make()
    t_in, t_out = FieldType(gs, ins), FieldType(gs, outs)
    torch.manual_seed(0)
    layer = cls(t_in, t_out, **kwargs).double()
    with monkeypatch.context() as m:
        m.setattr(be, "_FACTORIZE", False)
        dense = cls(t_in, t_out, **kwargs).double()
    dense.load_state_dict(layer.state_dict())
    return layer, dense


def _chunked_blocks(layer):
    return [b for b in layer.basisexpansion._pair_modules.values() if b._chunked is not None]


@pytest.mark.parametrize("case", list(CASES))
def test_chunked_expansion_equals_the_dense_one(case, monkeypatch):
    layer, dense = _pair(case, monkeypatch)
    assert _chunked_blocks(layer), "the model picks the per-chunk expansion for these fields"
    assert not _chunked_blocks(dense)
    assert_same_layer(layer, dense, atol=1e-13, grad_rtol=1e-11, grad_atol=1e-11, size=6)


def test_chunked_expansion_gradcheck_and_other_layouts(monkeypatch):
    layer, dense = _pair("so3-bl2-x2x3-k3", monkeypatch)
    key, block = next((k, b) for k, b in layer.basisexpansion._pair_modules.items() if b._chunked is not None)
    ref = dense.basisexpansion._pair_modules[key]
    assert block._layout == (3, 2)
    w = torch.randn(6, block.dimension(), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (w[:2].detach().requires_grad_(),), fast_mode=True)
    assert torch.autograd.gradgradcheck(block, (w[:1].detach().requires_grad_(),), fast_mode=True)
    torch.testing.assert_close(block(w.reshape(2, 3, -1)), ref(w.reshape(2, 3, -1)), rtol=0, atol=1e-13)
    for n_out, n_in in ((2, 3), (1, 6), (1, 1), block._layout):
        flat = torch.randn(n_out * n_in * block.dimension(), dtype=torch.float64, requires_grad=True)
        got, want = block.expand_fields(flat, n_out, n_in), ref.expand_fields(flat, n_out, n_in)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-13)
        cot = torch.randn_like(got)
        (g1,) = torch.autograd.grad(got, flat, cot)
        (g2,) = torch.autograd.grad(want, flat, cot)
        torch.testing.assert_close(g1, g2, rtol=1e-11, atol=1e-12)


def test_chunked_expansion_choice():
    """Picked for large band-limited fields; small irreps blocks stay dense; changes of basis that are not
    identities (tensor-product fields) never take it, even when forced (then the irrep-space plan)."""
    so3 = gspaces.rot3dOnR3()
    G = so3.fibergroup
    big = FieldType(so3, [G.bl_regular_representation(2)] * 2)
    assert _chunked_blocks(R3Conv(big, big, 5))
    small = FieldType(so3, [so3.irrep(1), so3.irrep(2)] * 4)
    assert not _chunked_blocks(R3Conv(small, small, 5))
    tensor = G.irrep(1).tensor(G.irrep(1))
    t = FieldType(so3, [tensor] * 2)
    old = be._FACTORIZE
    try:
        be._FACTORIZE = "chunks"
        layer = R3Conv(t, t, 3)
        blocks = list(layer.basisexpansion._pair_modules.values())
        assert all(b._chunked is None and b._irrep is not None for b in blocks)
        be._FACTORIZE = "sometimes"
        with pytest.raises(ValueError, match="'chunks'"):
            R3Conv(big, big, 3)
    finally:
        be._FACTORIZE = old


def test_chunked_expansion_through_module_routes(monkeypatch):
    """Pickling, copies, dtype round trips, to_empty and the meta device keep the plan and its numbers."""
    layer, dense = _pair("so3-bl2-x2x3-k3", monkeypatch)
    assert_module_routes(layer, dense.filter, "_chunked", "_cchunk0", atol=1e-13)


def test_chunked_layer_traces_and_compiles(monkeypatch):
    layer, _ = _pair("so3-bl2-x2x3-k3", monkeypatch)
    assert_traces_and_compiles(layer.float(), torch.randn(1, layer.in_type.size, 5, 5, 5))


def test_chunked_gathers_move_rows_not_entries():
    """The gathers of the per-chunk plan index rows of P entries: their indices hold ``fields·out·in``
    entries, not ``fields·out·in·P`` (a gather of single entries made the cold build of SO(3)'s
    ``bl_regular(2)`` x 4 at k = 5 take 0.3 s and 81 MiB)."""
    gs = gspaces.rot3dOnR3()
    t = FieldType(gs, [gs.fibergroup.bl_regular_representation(2)] * 4)
    (block,) = _chunked_blocks(R3Conv(t, t, 5))
    o, i, p = block._shape
    entries = sum(getattr(block, n).numel() for n in block._structure_names if getattr(block, n) is not None)
    assert entries <= 6 * 16 * o * i, entries
    assert block._cfull.numel() == 16 * o * i


def test_building_a_chunked_layer_forms_no_dense_products():
    """The per-chunk plan works from the pair bases: building the layer forms neither the dense basis nor
    the products ``Q_out K`` (``SteerableBasis._plan``, formed on first use), which made the cold build of
    SO(3)'s ``bl_regular(2)`` x 4 at k = 5 take 2.5 times longer. In a fresh process: the bases are cached
    per process, and other tests may have asked for their dense samples."""
    code = """
import torch
from structconv import gspaces
from structconv.nn import FieldType, R3Conv
gs = gspaces.rot3dOnR3()
t = FieldType(gs, [gs.fibergroup.bl_regular_representation(2)] * 4)
layer = R3Conv(t, t, 5)
(block,) = [b for b in layer.basisexpansion._pair_modules.values() if b._chunked is not None]
assert "_left" not in block._basis.__dict__ and not block._basis._arrays, "formed at construction"
dense = block._basis.array  # formed on demand, and right
assert "_left" in block._basis.__dict__
w = torch.randn(2, block.dimension(), dtype=torch.float64)
want = (w @ torch.from_numpy(dense).reshape(len(dense), -1)).reshape(2, -1)
torch.testing.assert_close(block.double()(w).reshape(2, -1), want, rtol=0, atol=1e-12)
print("ok")
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
