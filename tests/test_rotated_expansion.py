"""The rotated-filter expansion (basisexpansion._RotatedPlan): between permutation representations of a
finite group that acts freely on the channel pairs, on a grid the group does not permute (the icosahedral
groups on the cubic grid, large dihedral and cylindrical groups), every pair's filter is a rotated copy of
a representative one, evaluated from the basis's harmonics. It must give the filter and gradients of the
other expansions for every layer kind, field mix, kernel size and dilation, through every module route,
and its eager backward (a gather by the inverse permutation) must equal index_select's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import structconv.nn.conv.basisexpansion as be
from _expansion_checks import assert_module_routes, assert_same_layer, assert_traces_and_compiles
from structconv import gspaces
from structconv.kernels.r3 import kernel_grid_r3
from structconv.nn import FieldType, R3Conv, R3ConvTransposed


def _ico():
    gs = gspaces.icoOnR3()
    reg, q5 = gs.regular_repr, gs.quotient_repr((False, 5))
    return gs, [reg, gs.trivial_repr, q5], [gs.trivial_repr, reg, gs.irrep(1), q5]


def _full_ico():
    gs = gspaces.fullIcoOnR3()
    return gs, [gs.regular_repr], [gs.trivial_repr, gs.regular_repr]


def _cylinder():
    gs = gspaces.cylindricalOnR3(16)
    return gs, [gs.regular_repr, gs.trivial_repr], [gs.regular_repr, gs.regular_repr]


CASES = {
    # name: (gspace and field reps, layer class, kwargs)
    "ico-k3": (_ico, R3Conv, {"kernel_size": 3, "padding": 1}),
    "ico-k4-even": (_ico, R3Conv, {"kernel_size": 4}),
    "ico-k3-dilation2": (_ico, R3Conv, {"kernel_size": 3, "dilation": 2}),
    "ico-transposed": (_ico, R3ConvTransposed, {"kernel_size": 3, "stride": 2}),
    "fullIco-k3": (_full_ico, R3Conv, {"kernel_size": 3, "padding": 1}),
    "C16-k5": (_cylinder, R3Conv, {"kernel_size": 5, "padding": 2}),
}


def _without_plan(*args):
    return None


def _pair(case: str, monkeypatch):
    """The layer with the default plans, and the same layer (same weights) without the rotated plan (the
    factorized or irrep-space expansion, themselves checked against the dense one elsewhere)."""
    make, cls, kwargs = CASES[case]
    gs, ins, outs = make()
    t_in, t_out = FieldType(gs, ins), FieldType(gs, outs)
    torch.manual_seed(0)
    layer = cls(t_in, t_out, **kwargs).double()
    with monkeypatch.context() as m:
        m.setattr(be, "_cached_rotated_plan", _without_plan)
        other = cls(t_in, t_out, **kwargs).double()
    other.load_state_dict(layer.state_dict())
    return layer, other


def _acts_freely(ro, ri) -> bool:
    """Both representations are permutations and no element but the identity fixes a channel pair."""
    G = ro.group
    elements = list(G.elements)
    mats = [np.asarray(r.representation_matrices(elements)) for r in (ro, ri)]
    if not all(np.all((M == 0) | (M == 1)) and np.all(M.sum(1) == 1) for M in mats):
        return False
    s_out, s_in = (M.argmax(1) for M in mats)  # [E, n]: where g sends each channel
    fixed = (s_out[:, :, None] == np.arange(ro.size)[:, None]) & (s_in[:, None, :] == np.arange(ri.size))
    identity = [j for j, g in enumerate(elements) if g == G.identity]
    assert len(identity) == 1
    return not np.delete(fixed, identity, 0).any()


def _force(form: str, monkeypatch) -> None:
    """``V`` by the dense coefficient map wherever the plan applies (``"map"``), by the per-degree blocks
    everywhere (``"blocks"``), or as chosen by size (``"auto"``)."""
    if form == "map":
        monkeypatch.setattr(be, "_ROTATED_DENSE_MAX", 10**12)
        monkeypatch.setattr(be, "_ROTATED_DENSE_RATIO", 10**6)
    elif form == "blocks":
        monkeypatch.setattr(be, "_ROTATED_DENSE_MAX", 0)


@pytest.mark.parametrize("form", ["auto", "map", "blocks"])
@pytest.mark.parametrize("case", list(CASES))
def test_rotated_expansion_equals_the_other_expansions(case, form, monkeypatch):
    _force(form, monkeypatch)
    layer, other = _pair(case, monkeypatch)
    for block in layer.basisexpansion._pair_modules.values():
        if block._rotated is not None and form != "auto":
            assert (block._rmap is not None) == (form == "map")
    blocks = [(ro, ri, b) for ro, ri, _, _, _, _, b in layer.basisexpansion.layout() if b is not None]
    for ro, ri, block in blocks:  # the plan exactly where the action on the channel pairs is free
        large = be._factor_cost(block._basis)[0] >= be._ROTATED_MIN_COST
        assert (block._rotated is not None) == (_acts_freely(ro, ri) and large), (ro, ri)
    assert any(b._rotated is not None for _, _, b in blocks)
    assert all(b._rotated is None for b in other.basisexpansion._pair_modules.values())
    assert_same_layer(layer, other, atol=1e-12, grad_rtol=1e-10, grad_atol=1e-11)


@pytest.mark.parametrize("form", ["map", "blocks"])
def test_rotated_expansion_equals_the_dense_basis(form, monkeypatch):
    """Against the dense sampled basis itself, for a block small enough to hold it (trivial -> regular and
    regular -> regular of the icosahedral group, k = 3), with ``V`` by either form."""
    _force(form, monkeypatch)
    gs = gspaces.icoOnR3()
    reg = gs.regular_repr
    basis = be.r3_kernel_basis(reg, reg, gspace=gs, kernel_size=3)
    points = kernel_grid_r3(3)
    block = be.SingleBlockBasisExpansion(basis, points, _symmetry=(reg, reg, gs), _layout=(1, 1)).double()
    assert block._rotated is not None and (block._rmap is not None) == (form == "map")
    w = torch.randn(3, block.dimension(), dtype=torch.float64)
    want = np.einsum("fd,doip->foip", w.numpy(), basis.array)
    np.testing.assert_allclose(block(w).numpy(), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(block.expand_fields(w[0], 1, 1).numpy(), want[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", ["map", "blocks"])
def test_rotated_expansion_gradcheck_and_other_layouts(form, monkeypatch):
    _force(form, monkeypatch)
    layer, other = _pair("C16-k5", monkeypatch)
    key, block = next((k, b) for k, b in layer.basisexpansion._pair_modules.items() if b._layout == (2, 1))
    ref = other.basisexpansion._pair_modules[key]
    assert block._rotated is not None and ref._rotated is None
    w = torch.randn(2 * 3, block.dimension(), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (w[:2].detach().requires_grad_(),), fast_mode=True)
    assert torch.autograd.gradgradcheck(block, (w[:1].detach().requires_grad_(),), fast_mode=True)
    # batched forward, and field layouts other than the layer's own
    torch.testing.assert_close(block(w.reshape(2, 3, -1)), ref(w.reshape(2, 3, -1)), rtol=0, atol=1e-12)
    for n_out, n_in in ((2, 3), (3, 2), (1, 6), block._layout):
        flat = torch.randn(n_out * n_in * block.dimension(), dtype=torch.float64, requires_grad=True)
        got, want = block.expand_fields(flat, n_out, n_in), ref.expand_fields(flat, n_out, n_in)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
        cot = torch.randn_like(got)
        (g1,) = torch.autograd.grad(got, flat, cot)
        (g2,) = torch.autograd.grad(want, flat, cot)
        torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-11)


def test_permutation_gather_backward_and_transforms():
    """The eager gather (a gather backward, _PermuteRows) against index_select: values, gradients,
    forward-mode derivatives and vmap."""
    torch.manual_seed(0)
    perm = torch.randperm(12)
    inverse = torch.argsort(perm)
    x = torch.randn(3, 12, 5, dtype=torch.float64, requires_grad=True)
    for dim, size in ((1, 12),):
        assert size == x.shape[dim]
        got = be._permute(x, dim, perm, inverse)
        want = x.index_select(dim, perm)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        assert got.grad_fn is not None and "PermuteRows" in type(got.grad_fn).__name__
        cot = torch.randn_like(got)
        torch.testing.assert_close(
            torch.autograd.grad(got, x, cot)[0], torch.autograd.grad(want, x, cot)[0], rtol=0, atol=0
        )
    assert torch.autograd.gradcheck(lambda t: be._permute(t, 1, perm, inverse), (x,))
    assert torch.autograd.gradgradcheck(lambda t: be._permute(t, 1, perm, inverse), (x,))
    tangent = torch.randn_like(x)
    _, jvp = torch.func.jvp(lambda t: be._permute(t, 1, perm, inverse), (x.detach(),), (tangent,))
    torch.testing.assert_close(jvp, tangent.index_select(1, perm), rtol=0, atol=0)
    rows = torch.randn(4, 12, 5, dtype=torch.float64, requires_grad=True)
    batched = torch.func.vmap(lambda t: be._permute(t, 0, perm, inverse))(rows)
    torch.testing.assert_close(batched, rows.index_select(1, perm), rtol=0, atol=0)
    # no gradient wanted: the plain gather
    assert be._permute(x.detach(), 1, perm, inverse).grad_fn is None


def test_rotated_expansion_not_used_where_it_does_not_apply():
    """Irreps are not permutations; quotient -> quotient fixes channel pairs; the octahedral group permutes
    the grid (the orbit gather); continuous groups; small groups (below _ROTATED_MIN_COST)."""
    ico, octa, so3 = gspaces.icoOnR3(), gspaces.octaOnR3(), gspaces.rot3dOnR3()
    d3 = gspaces.dihedralOnR3(3)
    q = ico.quotient_repr((False, 5))
    layers = [
        R3Conv(FieldType(ico, [ico.irrep(1), ico.irrep(2)]), FieldType(ico, [ico.irrep(3)]), 3),
        R3Conv(FieldType(ico, [q]), FieldType(ico, [q]), 3),
        R3Conv(FieldType(octa, [octa.regular_repr]), FieldType(octa, [octa.regular_repr]), 3),
        R3Conv(FieldType(so3, [so3.irrep(1)]), FieldType(so3, [so3.irrep(1)]), 3),
        R3Conv(FieldType(d3, [d3.regular_repr]), FieldType(d3, [d3.regular_repr]), 3),
    ]
    for layer in layers:
        assert all(b._rotated is None for b in layer.basisexpansion._pair_modules.values())


def test_rotated_expansion_through_module_routes(monkeypatch):
    """Pickling, copies, dtype round trips, to_empty and the meta device keep the plan and its numbers."""
    layer, other = _pair("ico-k3", monkeypatch)
    assert_module_routes(layer, other.filter, "_rotated", "_rphi", atol=1e-12)


def test_rotated_layer_traces_and_compiles(monkeypatch):
    """Traced and compiled graphs take the plain gather; their outputs and gradients equal eager ones."""
    layer, _ = _pair("ico-k3", monkeypatch)
    assert_traces_and_compiles(layer.float(), torch.randn(1, layer.in_type.size, 5, 5, 5))


@pytest.mark.parametrize("group", ["ico", "octa"])
def test_plans_fall_back_when_the_points_are_not_the_basis_grid(group):
    """The probes cover every grid point: points that differ from the basis's grid in any one point (each of
    the 27 moved outward) or that are the grid with two points swapped never give a wrong filter, from the
    rotated plan (icosahedral) or the orbit plan (octahedral) (review: points the random probe missed used
    to pass)."""
    from structconv.nn.conv.basisexpansion import BlocksBasisExpansion, r3_kernel_basis

    gs = gspaces.icoOnR3() if group == "ico" else gspaces.octaOnR3()
    t = FieldType(gs, [gs.regular_repr])
    pts = kernel_grid_r3(3)
    ref = BlocksBasisExpansion(t, t, r3_kernel_basis, pts, kernel_size=3, gspace=gs).double()
    (good,) = ref._pair_modules.values()
    assert (good._rotated if group == "ico" else good._orbits) is not None
    w = torch.randn(ref.dimension(), dtype=torch.float64)
    want = ref(w)
    variants = []
    for idx in range(pts.shape[1]):
        bad = pts.copy()
        bad[:, idx] = bad[:, idx] * 1.5 + (0.3 if idx == 13 else 0.0)  # the centre moves off the origin
        variants.append(bad)
    for a, b in ((19, 26), (0, 26), (4, 22), (1, 3)):
        bad = pts.copy()
        bad[:, [a, b]] = bad[:, [b, a]]
        variants.append(bad)
    for n, bad in enumerate(variants):
        exp = BlocksBasisExpansion(t, t, r3_kernel_basis, bad, kernel_size=3, gspace=gs).double()
        (block,) = exp._pair_modules.values()
        assert block._rotated is None and block._orbits is None, n
        torch.testing.assert_close(exp(w), want, rtol=0, atol=1e-12)


def _blocks_of_every_plan():
    """One block per expansion form: (name, block, attribute that marks its plan)."""
    from structconv.kernels.r3 import kernel_grid_r3 as grid

    ico, octa, so3 = gspaces.icoOnR3(), gspaces.octaOnR3(), gspaces.rot3dOnR3()
    bl = so3.fibergroup.bl_regular_representation(2)
    q = ico.quotient_repr((False, 5))
    out = []
    for name, gs, ri, ro, layout, attr in (
        ("rotated", ico, ico.regular_repr, ico.regular_repr, (2, 1), "_rotated"),
        ("orbit", octa, octa.regular_repr, octa.regular_repr, (2, 1), "_orbits"),
        ("chunked", so3, bl, bl, (2, 2), "_chunked"),
        ("factorized", ico, q, q, (2, 3), "_factors"),
        ("dense", so3, so3.irrep(1), so3.irrep(2), (2, 1), "sampled_basis"),
    ):
        basis = be.r3_kernel_basis(ri, ro, gspace=gs, kernel_size=3)
        block = be.block_basisexpansion(
            basis, grid(3), _fields=layout[0] * layout[1], _symmetry=(ri, ro, gs), _layout=layout
        )
        assert getattr(block, attr) is not None, name
        out.append((name, block))
    return out


def test_every_plan_expands_empty_batches():
    """Zero coefficient rows, zero field pairs: empty filters of the right shape, from every plan
    (review: the rotated plan raised)."""
    for name, block in _blocks_of_every_plan():
        o, i, p = block._shape
        D = block.dimension()
        assert block(torch.zeros(0, D)).shape == (0, o, i, p), name
        assert block(torch.zeros(2, 0, D)).shape == (2, 0, o, i, p), name
        assert block.expand_fields(torch.zeros(0), 0, 1).shape == (0, i, p), name
        assert block.expand_fields(torch.zeros(0), 2, 0).shape == (2 * o, 0, p), name


def test_pickles_from_before_the_plans_load():
    """A pickle of a block written before the rotated and per-chunk plans existed (no such keys) loads and
    expands as the block does."""
    for name, block in _blocks_of_every_plan():
        state = block.__getstate__()
        for key in ("_rotated", "_rotated_key", "_chunked"):
            if not state.get(key):
                state.pop(key, None)
        again = type(block).__new__(type(block))
        again.__setstate__(state)
        w = torch.randn(3, block.dimension())
        torch.testing.assert_close(again(w), block(w), rtol=0, atol=0, msg=name)


def test_rotated_layer_pickles_carry_no_coefficient_map(monkeypatch):
    """A pickle carries which plan a block uses, not its buffers: a layer pickled with the per-degree blocks
    loads with the coefficient map where this process chooses it, and both give the same filter."""
    import pickle

    gs = gspaces.icoOnR3()
    t = FieldType(gs, [gs.regular_repr])
    torch.manual_seed(0)
    with monkeypatch.context() as m:
        _force("blocks", m)
        old = R3Conv(t, t, 3, padding=1).double()
        assert old.basisexpansion._pair_modules["block_0_0"]._rmap is None
        data = pickle.dumps(old)
    loaded = pickle.loads(data)
    block = loaded.basisexpansion._pair_modules["block_0_0"]
    assert block._rmap is not None and block._rmap.dtype == torch.float64
    assert set(dict(loaded.named_parameters())) == set(dict(old.named_parameters()))
    torch.testing.assert_close(loaded.filter, old.filter, rtol=0, atol=1e-13)
