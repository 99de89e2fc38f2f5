"""Tests of the basis expansion modules against a slow, loop-based reference expansion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.kernels import kernel_grid, steerable_basis
from structconv.nn import BlocksBasisExpansion, FieldType, SingleBlockBasisExpansion, block_basisexpansion
from structconv.nn.conv.basisexpansion import r2_kernel_basis


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def slow_filter(in_type, out_type, weights, kernel_size, **kwargs):
    """Obviously-correct expansion: loop over every (output field, input field) pair."""
    filt = np.zeros((out_type.size, in_type.size, kernel_size * kernel_size))
    w = weights.detach().double().numpy()
    out_reprs = list(dict.fromkeys(out_type.representations))
    in_reprs = list(dict.fromkeys(in_type.representations))
    pos = 0
    for ro in out_reprs:
        for ri in in_reprs:
            basis = steerable_basis(ri, ro, kernel_size, **kwargs).array
            for a, rep_a in enumerate(out_type.representations):
                if rep_a != ro:
                    continue
                for b, rep_b in enumerate(in_type.representations):
                    if rep_b != ri:
                        continue
                    coeff = w[pos : pos + len(basis)]
                    pos += len(basis)
                    block = np.tensordot(coeff, basis, axes=1)
                    filt[
                        out_type.fields_start[a] : out_type.fields_end[a],
                        in_type.fields_start[b] : in_type.fields_end[b],
                    ] = block
    assert pos == len(w)
    return filt


@pytest.mark.parametrize("gs", [Rot2dOnR2(4), FlipRot2dOnR2(2)], ids=lambda g: g.name)
def test_blocks_expansion_matches_loops(gs):
    last_irrep = list(gs.fibergroup.irreps.values())[-1]
    t_in = FieldType(gs, [gs.trivial_repr, gs.regular_repr, gs.trivial_repr, last_irrep])
    t_out = FieldType(gs, [gs.regular_repr, gs.trivial_repr, gs.regular_repr])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(5), kernel_size=5).double()
    w = torch.randn(exp.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(exp(w).numpy(), slow_filter(t_in, t_out, w, 5), atol=1e-12)


def test_basis_info_names_and_elements():
    gs = Rot2dOnR2(4)
    t_in = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
    t_out = FieldType(gs, [gs.irrep(1), gs.regular_repr])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(3), kernel_size=3)
    infos = list(exp.get_basis_info())
    names = exp.get_basis_names()
    assert len(infos) == len(names) == exp.dimension() == len(set(names))
    assert exp.get_element_info(names[5]) == infos[5] == exp.get_element_info(5)
    for key in (
        "radius",
        "frequency",
        "in_repr",
        "out_repr",
        "in_field_position",
        "out_field_position",
        "in_irrep",
    ):
        assert key in infos[0]
    with pytest.raises(ValueError, match="name="):
        exp.get_element_info("nope")


def test_buffers_not_in_state_dict_and_follow_dtype():
    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    exp = BlocksBasisExpansion(t, t, r2_kernel_basis, kernel_grid(3), kernel_size=3)
    assert exp.state_dict() == {}
    assert exp.double()(torch.randn(exp.dimension(), dtype=torch.float64)).dtype == torch.float64


def test_single_block_expansion_and_filter():
    gs = FlipRot2dOnR2(4)
    rep = gs.regular_repr
    basis = r2_kernel_basis(rep, rep, kernel_size=5)
    exp = block_basisexpansion(basis, kernel_grid(5))
    assert isinstance(exp, SingleBlockBasisExpansion)
    assert exp.dimension() == len(basis)
    w = torch.randn(3, exp.dimension(), dtype=torch.float64)
    out = exp.double()(w)
    np.testing.assert_allclose(out.numpy(), np.einsum("nd,doip->noip", w.numpy(), basis.array), atol=1e-12)
    low = block_basisexpansion(basis, kernel_grid(5), basis_filter=lambda a: a["radius"] < 1.5)
    assert 0 < low.dimension() < exp.dimension()
    assert all(info["radius"] < 1.5 for info in low.get_basis_info())
    with pytest.raises(ValueError, match="points"):
        block_basisexpansion(basis, kernel_grid(3))
    with pytest.raises(ValueError, match="empty"):
        block_basisexpansion(basis, kernel_grid(5), basis_filter=lambda a: False)


def test_recompute_gives_equal_basis():
    gs = Rot2dOnR2(4)
    rep = gs.regular_repr
    a = r2_kernel_basis(rep, rep, kernel_size=3)
    b = r2_kernel_basis(rep, rep, kernel_size=3, recompute=True)
    assert a is not b
    np.testing.assert_array_equal(a.array, b.array)
    assert r2_kernel_basis(rep, rep, kernel_size=3) is b


@pytest.mark.parametrize("gs", [Rot2dOnR2(8), FlipRot2dOnR2(4)], ids=lambda g: g.name)
def test_expansion_float32_filtered_and_pickled(gs):
    last_irrep = list(gs.fibergroup.irreps.values())[-1]
    t_in = FieldType(gs, [gs.regular_repr, last_irrep, gs.regular_repr, gs.trivial_repr])
    t_out = FieldType(gs, [gs.trivial_repr, gs.regular_repr, last_irrep])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(5), kernel_size=5)
    w = torch.randn(exp.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(exp(w.float()).numpy(), slow_filter(t_in, t_out, w, 5), atol=1e-5)
    # with a basis filter (masked elements) and through pickling
    import pickle

    low = BlocksBasisExpansion(
        t_in,
        t_out,
        r2_kernel_basis,
        kernel_grid(5),
        basis_filter=lambda a: a["frequency"] != 1,
        kernel_size=5,
    )
    low = pickle.loads(pickle.dumps(low))
    single = low._pair_modules["block_1_0"]
    v = torch.randn(2, single.dimension())
    dense = np.einsum("nd,doip->noip", v.numpy(), single._basis.array[single._keep])
    np.testing.assert_allclose(single(v).numpy(), dense, atol=1e-5)
    assert low.dimension() < exp.dimension()


def _factorized_and_dense(monkeypatch, t_in, t_out, kernel_size=5, mode="always", **kwargs):
    import structconv.nn.conv.basisexpansion as be

    monkeypatch.setattr(be, "_FACTORIZE", mode)
    fac = BlocksBasisExpansion(
        t_in, t_out, r2_kernel_basis, kernel_grid(kernel_size), kernel_size=kernel_size, **kwargs
    )
    monkeypatch.setattr(be, "_FACTORIZE", False)
    dense = BlocksBasisExpansion(
        t_in, t_out, r2_kernel_basis, kernel_grid(kernel_size), kernel_size=kernel_size, **kwargs
    )
    return fac, dense


def _field_types(name):
    if name in ("C4", "C8"):
        gs = Rot2dOnR2(int(name[1:]))
        reg = [gs.regular_repr] * 3
        return gs, FieldType(gs, reg), FieldType(gs, reg)
    if name in ("D4", "D8"):
        gs = FlipRot2dOnR2(int(name[1:]))
        reg = [gs.regular_repr] * 3
        return gs, FieldType(gs, reg), FieldType(gs, reg)
    if name == "D4-mixed":
        gs = FlipRot2dOnR2(4)
        quot = gs.quotient_repr((None, 2))
        t_in = FieldType(gs, [gs.trivial_repr, gs.regular_repr, gs.irrep(1, 1), quot, gs.regular_repr])
        t_out = FieldType(gs, [gs.regular_repr, quot, gs.irrep(1, 2), gs.trivial_repr, gs.regular_repr])
        return gs, t_in, t_out
    if name == "C8-mixed":
        gs = Rot2dOnR2(8)
        quot = gs.quotient_repr(2)
        t_in = FieldType(gs, [gs.regular_repr, gs.trivial_repr, quot, gs.irrep(3)])
        t_out = FieldType(gs, [gs.irrep(1), gs.regular_repr, quot, gs.regular_repr])
        return gs, t_in, t_out
    if name in ("SO2-bl", "O2-bl"):
        gs = (
            Rot2dOnR2(-1, maximum_frequency=6) if name == "SO2-bl" else FlipRot2dOnR2(-1, maximum_frequency=6)
        )
        t = FieldType(gs, [gs.bl_regular_repr(3)] * 2 + [gs.trivial_repr])
        return gs, t, FieldType(gs, [gs.bl_regular_repr(3)] * 3)
    if name == "SO2":
        gs = Rot2dOnR2(-1, maximum_frequency=4)
        irreps = [gs.irrep(k) for k in range(4)] * 2
        return gs, FieldType(gs, irreps), FieldType(gs, irreps[::-1])
    gs = FlipRot2dOnR2(-1, maximum_frequency=3)
    irreps = [gs.irrep(0, 0), gs.irrep(1, 0), gs.irrep(1, 1), gs.irrep(1, 2), gs.irrep(1, 3)] * 2
    return gs, FieldType(gs, irreps), FieldType(gs, irreps[1:] + irreps[:1])


@pytest.mark.parametrize("mode", ["always", "irrep"])
@pytest.mark.parametrize(
    "name", ["C4", "C8", "D4", "D8", "D4-mixed", "C8-mixed", "SO2", "O2", "SO2-bl", "O2-bl"]
)
def test_factorized_expansion_matches_dense(monkeypatch, name, mode):
    """Both structured plans (factorized ``Q_out (K Q_in⁻¹)`` and irrep-space ``Q_out K Q_in⁻¹``) give the
    dense product's filter and gradient, in float32, float64 and after pickling."""
    _, t_in, t_out = _field_types(name)
    fac, dense = _factorized_and_dense(monkeypatch, t_in, t_out, mode=mode)
    attr = "_factors" if mode == "always" else "_irrep"
    assert all(getattr(b, attr) is not None for b in fac._pair_modules.values())
    assert all(b._factors is None and b._irrep is None for b in dense._pair_modules.values())
    w = torch.randn(fac.dimension())
    ref = dense(w)
    np.testing.assert_allclose(fac(w).numpy(), ref.numpy(), rtol=1e-5, atol=1e-5 * ref.abs().max().item())
    # gradients agree too
    wf, wd = w.clone().requires_grad_(), w.clone().requires_grad_()
    g = torch.randn_like(ref)
    (fac(wf) * g).sum().backward()
    (dense(wd) * g).sum().backward()
    np.testing.assert_allclose(
        wf.grad.numpy(), wd.grad.numpy(), rtol=1e-4, atol=1e-4 * wd.grad.abs().max().item()
    )
    # float64 (re-installed from the float64 samples) and through pickling
    import pickle

    fac64, dense64 = pickle.loads(pickle.dumps(fac.double())), dense.double()
    w64 = torch.randn(fac.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(fac64(w64).numpy(), dense64(w64).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fac64(w64).numpy(), slow_filter(t_in, t_out, w64, 5), atol=1e-12)


def test_factorized_single_block_batched_forward(monkeypatch):
    import structconv.nn.conv.basisexpansion as be

    gs = FlipRot2dOnR2(8)
    basis = r2_kernel_basis(gs.regular_repr, gs.regular_repr, kernel_size=5)
    fac = block_basisexpansion(basis, kernel_grid(5)).double()  # chosen by default here
    monkeypatch.setattr(be, "_FACTORIZE", False)
    dense = block_basisexpansion(basis, kernel_grid(5)).double()
    assert fac._factors is not None and dense._factors is None
    monkeypatch.setattr(be, "_FACTORIZE", True)
    c4 = Rot2dOnR2(4)
    small = r2_kernel_basis(c4.regular_repr, c4.regular_repr, kernel_size=3)
    assert block_basisexpansion(small, kernel_grid(3))._factors is None  # too little to gain
    w = torch.randn(2, 3, fac.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(fac(w).numpy(), dense(w).numpy(), atol=1e-12)
    np.testing.assert_allclose(
        fac.expand_fields(w.reshape(-1), 2, 3).numpy(),
        dense.expand_fields(w.reshape(-1), 2, 3).numpy(),
        atol=1e-12,
    )
    # a basis filter falls back to the dense product
    low = block_basisexpansion(basis, kernel_grid(5), basis_filter=lambda a: a["radius"] < 1.5)
    assert low._factors is None


def _r3_types(name):
    from structconv.gspaces import flipRot3dOnR3, icoOnR3, octaOnR3, rot3dOnR3

    if name == "octa":
        gs = octaOnR3()
        reg = gs.fibergroup.regular_representation
        return FieldType(gs, [reg, gs.irrep(1), reg]), FieldType(gs, [gs.irrep(2), reg, reg])
    if name == "ico":
        gs = icoOnR3()
        return FieldType(gs, [gs.fibergroup.regular_representation]), FieldType(
            gs, [gs.fibergroup.regular_representation]
        )
    if name == "so3-bl":
        gs = rot3dOnR3()
        bl = gs.fibergroup.bl_regular_representation(2)
        return FieldType(gs, [bl, gs.irrep(1)]), FieldType(gs, [gs.irrep(0), bl])
    gs = flipRot3dOnR3()
    o3 = [gs.irrep(j, l) for j in range(2) for l in range(3)]
    return FieldType(gs, o3), FieldType(gs, o3[::-1])


@pytest.mark.parametrize("mode", ["always", "irrep", "chunks"])
@pytest.mark.parametrize("name", ["octa", "ico", "so3-bl", "o3"])
def test_structured_plans_match_dense_in_space(monkeypatch, name, mode):
    """The same on R³: R3Conv's expansion with either plan forced equals the dense one (float64, values
    and gradients), and the filters of a float32 copy agree to float rounding."""
    import pickle

    import structconv.nn.conv.basisexpansion as be
    from structconv.nn import R3Conv

    t_in, t_out = _r3_types(name)
    monkeypatch.setattr(be, "_FACTORIZE", mode)
    plan = R3Conv(t_in, t_out, 3).double()
    monkeypatch.setattr(be, "_FACTORIZE", False)
    dense = R3Conv(t_in, t_out, 3).double()
    # "chunks" where the changes of basis are identities (irreps fields), else the irrep-space plan
    chunked = mode == "chunks" and name in ("so3-bl", "o3")
    attr = {"always": "_factors", "irrep": "_irrep", "chunks": "_chunked" if chunked else "_irrep"}[mode]
    assert any(getattr(b, attr) is not None for b in plan.basisexpansion._pair_modules.values())
    w = torch.randn(plan.weights.shape, dtype=torch.float64)
    with torch.no_grad():
        plan.weights.copy_(w)
        dense.weights.copy_(w)
    ref = dense.expand_parameters()[0]
    got = plan.expand_parameters()[0]
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    g = torch.randn_like(ref)
    (ga,) = torch.autograd.grad(got, plan.weights, g)
    (gb,) = torch.autograd.grad(dense.expand_parameters()[0], dense.weights, g)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), atol=1e-11)
    # float32 after a round trip through pickling (buffers rebuilt from the float64 samples)
    f32 = pickle.loads(pickle.dumps(plan)).float()
    np.testing.assert_allclose(
        f32.expand_parameters()[0].detach().numpy(), ref.detach().numpy(), atol=2e-5 * ref.abs().max().item()
    )


def test_irrep_plans_are_chosen_for_large_fields(monkeypatch):
    """The automatic choice: SO(3) band-limited regular fields (in the irreps' own bases, where the
    factorized plan reads a 7.7 MB coefficient tensor per field pair) expand in irrep space, one product
    per irrep pair, with one or several field pairs; fields with changes of basis (icosahedral quotient
    fields) keep the factorized plan; small irreps fields stay dense."""
    import structconv.nn.conv.basisexpansion as be
    from structconv.gspaces import icoOnR3, rot3dOnR3
    from structconv.nn import R3Conv

    gs = rot3dOnR3()
    bl = gs.fibergroup.bl_regular_representation(2)
    one = R3Conv(FieldType(gs, [bl]), FieldType(gs, [bl]), 5)
    two = R3Conv(FieldType(gs, [bl] * 2), FieldType(gs, [bl] * 2), 5)
    (b1,) = one.basisexpansion._pair_modules.values()
    (b2,) = two.basisexpansion._pair_modules.values()
    assert b1._chunked is not None and b1._irrep is None and b1._factors is None
    assert b2._chunked is not None and b2._irrep is None and b2._factors is None
    ico = icoOnR3()
    q = ico.quotient_repr((False, 2))
    (i2,) = R3Conv(FieldType(ico, [q] * 3), FieldType(ico, [q] * 2), 3).basisexpansion._pair_modules.values()
    assert i2._factors is not None

    # the irrep-space plans store their pair bases and gather indices (about 2 MB with the index) where
    # the factorized one stores 7.7 MB
    def stored(block):
        tensors = [*block.buffers(), *(block.__dict__[n] for n in block.__dict__.get("_structure_names", ()))]
        return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))

    monkeypatch.setattr(be, "_FACTORIZE", "always")
    (factorized,) = R3Conv(FieldType(gs, [bl]), FieldType(gs, [bl]), 5).basisexpansion._pair_modules.values()
    assert stored(b1) < 2.5e6 and stored(factorized) > 3 * stored(b1)
    monkeypatch.setattr(be, "_FACTORIZE", True)
    t = FieldType(gs, [gs.irrep(1), gs.irrep(2)])
    small = R3Conv(t, t, 3)
    blocks = small.basisexpansion._pair_modules.values()
    assert all(b._irrep is None and b._factors is None and b._chunked is None for b in blocks)


@pytest.mark.parametrize("mode", [False, "always", "irrep", "chunks"])
@pytest.mark.parametrize("transposed", [False, True])
def test_to_empty_then_load_restores_the_fixed_buffers(monkeypatch, mode, transposed):
    """A layer moved to ``meta`` (or emptied in place) and given back its state dict computes what the
    original does: the non-persistent basis buffers and gather indices are rebuilt, not left uninitialised."""
    import copy

    import structconv.nn.conv.basisexpansion as be
    from structconv.gspaces import rot3dOnR3
    from structconv.nn import GeometricTensor, R3Conv, R3ConvTransposed

    gs = rot3dOnR3()
    bl = gs.fibergroup.bl_regular_representation(1)
    t_in = FieldType(gs, [gs.irrep(0), bl, gs.irrep(1)])
    t_out = FieldType(gs, [bl, gs.irrep(2)])
    monkeypatch.setattr(be, "_FACTORIZE", mode)
    cls = R3ConvTransposed if transposed else R3Conv
    torch.manual_seed(0)
    layer = cls(t_in, t_out, 3)
    monkeypatch.setattr(be, "_FACTORIZE", True)
    x = GeometricTensor(torch.randn(1, t_in.size, 5, 5, 5), t_in)
    want = layer(x).tensor
    moved = copy.deepcopy(layer).to("meta")
    assert moved(GeometricTensor(x.tensor.to("meta"), t_in)).tensor.device.type == "meta"
    moved.to_empty(device="cpu")
    moved.load_state_dict(layer.state_dict())
    torch.testing.assert_close(moved(x).tensor, want, rtol=0, atol=0)
    emptied = copy.deepcopy(layer).to_empty(device="cpu")
    emptied.load_state_dict(layer.state_dict())
    torch.testing.assert_close(emptied(x).tensor, want, rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["always", "irrep", "chunks"])
def test_pickles_do_not_carry_the_plans(monkeypatch, mode):
    """The factorized and irrep-space plans are derived from the basis: a pickle carries only which one is
    used (an unpickled layer takes the process's cached plan), so it is no larger than the dense layer's."""
    import copy
    import pickle

    import structconv.nn.conv.basisexpansion as be
    from structconv.gspaces import rot3dOnR3
    from structconv.nn import R3Conv

    gs = rot3dOnR3()
    bl = gs.fibergroup.bl_regular_representation(2)
    t = FieldType(gs, [bl] * 2)
    monkeypatch.setattr(be, "_FACTORIZE", mode)
    layer = R3Conv(t, t, 5)
    attr = {"always": "_factors", "irrep": "_irrep", "chunks": "_chunked"}[mode]
    (block,) = layer.basisexpansion._pair_modules.values()
    assert getattr(block, attr) is not None
    data = pickle.dumps(layer)
    monkeypatch.setattr(be, "_FACTORIZE", False)
    dense = pickle.dumps(R3Conv(t, t, 5))
    assert len(data) < 1.01 * len(dense)
    (again,) = pickle.loads(data).basisexpansion._pair_modules.values()
    assert type(getattr(again, attr)) is type(getattr(block, attr))  # the plan, rebuilt from the basis
    with torch.no_grad():
        torch.testing.assert_close(
            again.expand_fields(layer.weights, 2, 2), layer.basisexpansion(layer.weights), rtol=0, atol=0
        )
    (copied,) = copy.deepcopy(layer).basisexpansion._pair_modules.values()
    assert getattr(copied, attr) is getattr(block, attr)  # copies share the basis, hence the cached plan


def test_unknown_factorize_value_is_refused(monkeypatch):
    import structconv.nn.conv.basisexpansion as be

    monkeypatch.setattr(be, "_FACTORIZE", "dense")
    gs = Rot2dOnR2(4)
    with pytest.raises(ValueError, match="_FACTORIZE='dense' is not accepted"):
        block_basisexpansion(r2_kernel_basis(gs.regular_repr, gs.regular_repr, kernel_size=3), kernel_grid(3))


def test_steerable_basis_pickled_before_its_products_were_deferred_loads():
    """A SteerableBasis pickled when it kept its products with Q_out (``_plan``) and not the compact pairs
    loads and gives the same samples."""
    import pickle

    from structconv.group import cyclic_group, directsum
    from structconv.kernels.basis import SteerableBasis

    G = cyclic_group(4)
    basis = steerable_basis(G.regular_representation, directsum([G.irrep(1), G.trivial_representation]), 3)
    state = basis.__getstate__()
    state["_plan"] = basis._plan  # the old layout: no compact form
    del state["_compact"]
    old = SteerableBasis.__new__(SteerableBasis)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.array, basis.array)
    o, i, q = np.array([0, 2]), np.array([1, 3]), np.array([4, 8])
    np.testing.assert_array_equal(old.values_at(o, i, q), basis.values_at(o, i, q))
    again = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(again.array, basis.array)
