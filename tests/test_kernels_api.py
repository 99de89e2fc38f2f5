"""The reference library's kernel API (``KernelBasis``, ``PolarBasis``, ``kernels_*_act_R2``), the gspace
and group surface added for e2cnn code (issue 13), checked by their defining properties without the oracle."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from structconv import group as sg
from structconv import gspaces, kernels, nn
from structconv.kernels.irreps import element_action, irrep_spec_from

RNG = np.random.default_rng(7)
POINTS = RNG.normal(size=(2, 17)) * 1.7
RINGS, SIGMA = [0.0, 1.0, 2.0], [0.6, 0.6, 0.4]


def _act(G, g, axis: float) -> np.ndarray:
    return element_action(irrep_spec_from(G.trivial_representation), g, axis)


CASES = [
    ("C5", lambda: sg.cyclic_group(5), kernels.kernels_CN_act_R2, {"max_frequency": 6}, None),
    ("C4", lambda: sg.cyclic_group(4), kernels.kernels_CN_act_R2, {"max_offset": 1}, None),
    ("D3", lambda: sg.dihedral_group(3), kernels.kernels_DN_act_R2, {"max_frequency": 5, "axis": 0.4}, 0.4),
    ("D4", lambda: sg.dihedral_group(4), kernels.kernels_DN_act_R2, {"max_frequency": 5}, math.pi / 2),
    ("SO2", lambda: sg.so2_group(3), kernels.kernels_SO2_act_R2, {}, None),
    ("O2", lambda: sg.o2_group(3), kernels.kernels_O2_act_R2, {"axis": 0.2}, 0.2),
    ("D1", lambda: sg.dihedral_group(1), kernels.kernels_Flip_act_R2, {"max_frequency": 3}, math.pi / 2),
    ("Flip", lambda: sg.flip_group(), kernels.kernels_Flip_act_R2, {"max_frequency": 3, "axis": 0.3}, 0.3),
    ("C1", lambda: sg.trivial_group(), kernels.kernels_Trivial_act_R2, {"max_frequency": 3}, None),
]


def _reprs(G):
    reps = list(G.irreps.values())
    if not G.continuous:
        reps.append(G.regular_representation)
    return reps


@pytest.mark.parametrize("name,make,build,kw,axis", CASES, ids=[c[0] for c in CASES])
def test_kernel_bases_are_steerable(name, make, build, kw, axis) -> None:
    """Every sampled element satisfies κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹ at every point, for every g tested."""
    G = make()
    ax = math.pi / 2 if axis is None else axis
    for rin in _reprs(G)[:4] + _reprs(G)[-1:]:
        for rout in _reprs(G)[:4] + _reprs(G)[-1:]:
            try:
                basis = build(rin, rout, RINGS, SIGMA, **kw)
            except kernels.EmptyBasisException:
                continue
            k = basis.sample(POINTS)  # (o, i, dim, n)
            assert k.shape == (rout.size, rin.size, basis.dim, POINTS.shape[1])
            worst = 0.0
            for g in G.testing_elements()[:8]:
                moved = basis.sample(_act(G, g, ax) @ POINTS)
                expected = np.einsum("ab,bcdn,ce->aedn", rout(g), k, rin(G.inverse(g)))
                worst = max(worst, float(np.abs(moved - expected).max()))
            assert worst < 1e-9, f"{name} {rin.name}->{rout.name}: equivariance error {worst}"


def test_polar_basis_layout_and_attributes() -> None:
    G = sg.cyclic_group(4)
    b = kernels.kernels_CN_act_R2(G.regular_representation, G.irrep(1), RINGS, 0.6, max_frequency=3)
    assert isinstance(b, kernels.PolarBasis) and isinstance(b.angular, kernels.SteerableKernelBasis)
    assert b.dim == b.radial.dim * b.angular.dim == len(b) == len(list(b))
    samples = b.sample(POINTS)
    for idx in (0, 5, b.dim - 1):
        attr = b[idx]
        i1, i2 = divmod(idx, b.angular.dim)
        assert (attr["idx"], attr["idx1"], attr["idx2"]) == (idx, i1, i2)
        assert attr["radius"] == RINGS[i1] and attr["frequency"] == b.angular[i2]["frequency"]
        # element = ring profile x angular element, computed independently
        r = np.hypot(*POINTS)
        ring = np.exp(-((r - RINGS[i1]) ** 2) / (2 * 0.6**2))
        ang = b.angular.sample(np.arctan2(POINTS[1], POINTS[0]))[:, :, i2]
        np.testing.assert_allclose(samples[:, :, idx], ring * ang, atol=1e-12)
    mask = np.zeros(b.dim, dtype=bool)
    mask[[1, 4]] = True
    np.testing.assert_array_equal(b.sample_masked(POINTS, mask), samples[:, :, mask])
    with pytest.raises(IndexError, match="idx"):
        b[b.dim]


def test_origin_keeps_only_frequency_zero() -> None:
    G = sg.so2_group(3)
    b = kernels.kernels_SO2_act_R2(G.irrep(1), G.irrep(1), [0.0], 0.5)
    at_origin = b.sample(np.zeros((2, 1)))[:, :, :, 0]
    for i, attr in enumerate(b):
        assert np.any(at_origin[:, :, i] != 0) == (attr["frequency"] == 0)


def test_irreps_basis_bounds_and_errors() -> None:
    G = sg.cyclic_group(4)
    with pytest.raises(ValueError, match="max_frequency, max_offset"):
        kernels.IrrepsBasis(G, 0, 1)
    with pytest.raises(kernels.EmptyBasisException):
        kernels.IrrepsBasis(sg.o2_group(2), (0, 0), (1, 0))
    by_freq = kernels.IrrepsBasis(G, 1, 1, max_frequency=3)
    assert all(abs(a["frequency"]) <= 3 for a in by_freq)
    by_offset = kernels.IrrepsBasis(G, 1, 1, max_offset=1)
    assert {a["offset"] for a in by_offset} == {-1, 0, 1}
    with pytest.raises(ValueError, match="in_repr: expected a representation of a cyclic group"):
        kernels.kernels_CN_act_R2(
            sg.dihedral_group(2).irrep(0, 0), sg.dihedral_group(2).irrep(0, 0), [1.0], 0.5
        )
    with pytest.raises(ValueError, match="sigma"):
        kernels.GaussianRadialProfile([0.0, 1.0], [0.5])


def test_psi_chi_psichi() -> None:
    th = np.array([0.1, 0.7, 2.0])
    for k, gamma in [(1, 0.0), (3, 0.4)]:
        m = kernels.psi(th, k, gamma)
        assert m.shape == (2, 2, 1, 3)
        for n, t in enumerate(th):
            np.testing.assert_allclose(m[:, :, 0, n], sg.psi(t, k, gamma), atol=1e-15)
            np.testing.assert_allclose(kernels.psichi(th, 1, k, gamma)[:, :, 0, n], sg.psichi(t, 1, k, gamma))
    np.testing.assert_array_equal(sg.chi(1), np.diag([1, -1]))
    np.testing.assert_array_equal(kernels.chi(1)[:, :, 0, 0], np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="s: expected 0 or 1"):
        sg.chi(2)


@pytest.mark.parametrize(
    "gs",
    [
        gspaces.Rot2dOnR2(8),
        gspaces.FlipRot2dOnR2(4),
        gspaces.Rot2dOnR2(-1, maximum_frequency=3),
        gspaces.TrivialOnR2(),
    ],
    ids=repr,
)
def test_gspace_surface(gs) -> None:
    assert isinstance(gs, gspaces.GeneralOnR2) and gs.basespace == "R^2" and gs.dimensionality == 2
    reps = gs.representations
    names = list(reps)
    assert names[: len(gs.fibergroup.irreps)] == list(gs.fibergroup.irreps)
    assert ("regular" in reps) == (not gs.fibergroup.continuous)
    kw = {} if gs.fibergroup.continuous else {"maximum_frequency": 3}
    r = reps[names[1] if len(names) > 1 else names[0]]
    b = gs.build_kernel_basis(r, r, sigma=0.6, rings=[0.0, 1.0], **kw)
    assert b is gs.build_kernel_basis(r, r, sigma=0.6, rings=[0.0, 1.0], **kw)  # cached
    assert b.shape == (r.size, r.size)
    assert pickle.loads(pickle.dumps(gs)) == gs


def test_group_surface() -> None:
    D = sg.dihedral_group(3)
    assert D.rotation_order == 3 and D.reflection == (1, 0) and not D.abelian
    assert D.elements_names == ["e", "r1", "r2", "f", "r1f", "r2f"]
    assert sg.cyclic_group(3).abelian and sg.so2_group(2).abelian and not sg.o2_group(2).abelian
    assert sg.o2_group(2).rotation_order == -1 and sg.so2_group(2).elements_names is None
    assert list(sg.cyclic_group(6).representations)[:5] == [
        "irrep_0",
        "irrep_1",
        "irrep_2",
        "irrep_3",
        "regular",
    ]
    assert D.irrep(j=1, k=1) is D.irrep(1, 1) and sg.cyclic_group(6).irrep(k=2) is sg.cyclic_group(6).irrep(2)
    assert D.combine(e1=(1, 1), e2=(0, 1)) == D.combine((1, 1), (0, 1))
    irr = D.irrep(1, 1)
    np.testing.assert_array_equal(irr.representation((1, 2)), irr((1, 2)))
    assert irr.attributes == {"frequency": 1, "flip_frequency": 1} and irr.character(e=(0, 0)) == 2.0


def test_representation_name_reuse_and_given_maps() -> None:
    G = sg.cyclic_group(8)
    registered = dict(G.representations)
    reps = [sg.directsum([G.irrep(1), G.irrep(k)], name="irreps") for k in (2, 3, 4)]
    assert len({r.irreps[-1] for r in reps}) == 3 and dict(G.representations) == registered
    assert hash(reps[0]) == hash(reps[1]) and reps[0] != reps[1]
    again = pickle.loads(pickle.dumps(reps[1]))
    assert again == reps[1] and again.irreps == ["irrep_1", "irrep_3"]
    rho = sg.Representation(G, "given", ["irrep_1"], np.eye(2), ["norm"], representation=G.irrep(1), seed=3)
    assert rho.attributes == {"seed": 3}
    with pytest.raises(ValueError, match="representation: the value at element"):
        sg.Representation(G, "wrong", ["irrep_1"], np.eye(2), ["norm"], representation=G.irrep(2))


def test_flip_restrictions_to_the_trivial_group() -> None:
    gs = gspaces.Flip2dOnR2()
    ft = nn.FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
    assert ft.restrict(1).gspace == gspaces.TrivialOnR2()
    assert gs.irrep(1).restrict(1).irreps == ["irrep_0"]
    module = nn.RestrictionModule(ft, 1)
    x = torch.randn(2, ft.size, 5, 5)
    y = module(nn.GeometricTensor(x, ft))
    assert torch.equal(y.tensor, x) and y.type.gspace == gspaces.TrivialOnR2()
    assert gs.restrict(2)[0] == gs  # e2cnn's id for the whole flip group
    with pytest.raises(
        ValueError, match=r"not a subgroup of C2; expected an int M dividing 2, one of \[1, 2\]"
    ):
        gs.fibergroup.subgroup(3)


def test_get_element_info_agrees_with_the_full_walk() -> None:
    gs = gspaces.FlipRot2dOnR2(4)
    t_in = nn.FieldType(gs, [gs.regular_repr] * 2 + [gs.irrep(1, 1), gs.trivial_repr])
    t_out = nn.FieldType(gs, [gs.irrep(1, 1), gs.regular_repr, gs.quotient_repr((None, 2))])
    be = nn.R2Conv(t_in, t_out, 5).basisexpansion
    infos = list(be.get_basis_info())
    assert len(infos) == be.dimension()
    for i in list(range(0, len(infos), 13)) + [len(infos) - 1]:
        assert be.get_element_info(i) == infos[i]
        assert be.get_element_info(infos[i]["id"]) == infos[i]
    be.get_element_info(3)["idx"] = -1  # a copy: the index is not corrupted
    assert be.get_element_info(3)["idx"] == 3
    with pytest.raises(ValueError, match="out of range"):
        be.get_element_info(len(infos))
    with pytest.raises(ValueError, match="not the name of a basis element"):
        be.get_element_info("nope")
