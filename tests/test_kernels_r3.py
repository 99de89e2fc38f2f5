"""Steerable kernel bases on R^3 (structconv.kernels.r3): escnn 1.0.11 parity of the dimensions (stored numbers,
tests/data/escnn_r3basis.json from tools/escnn_reference_r3basis.py), analytic and grid steerability,
completeness against characters, linear independence, bad arguments."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from structconv.gspaces import r3 as gspaces_r3
from structconv.gspaces.r3 import fullOctaOnR3, grid_permutation, octaOnR3, rot3dOnR3
from structconv.kernels.r3 import (
    R3FrequencyCutoff,
    evaluate_basis_r3,
    kernel_grid_r3,
    real_spherical_harmonics,
    sample_irreps_basis_r3,
    steerable_basis_r3,
)

DATA = json.loads((Path(__file__).parent / "data" / "escnn_r3basis.json").read_text())

#: the callables of the reference rows (defined identically in the tool)
CALLABLES = {
    "lin2.5": lambda r: 2.5 * r,
    "const2": lambda r: 2.0,
    "sqrt3": lambda r: 3.0 * math.sqrt(r),
}


def _gspace(factory, kwargs):
    return getattr(gspaces_r3, factory)(**kwargs)


def _field(gs, desc):
    G = gs.fibergroup
    if "irrep" in desc:
        return G.irreps[desc["irrep"]]
    if "regular" in desc:
        return G.regular_representation
    return G.bl_regular_representation(desc["bl_regular"])


def _kwargs(row):
    kw = {"dilation": row["dilation"]}
    for key in ("rings", "sigma"):
        if key in row:
            kw[key] = row[key]
    if "frequencies_cutoff" in row:
        f = row["frequencies_cutoff"]
        kw["frequencies_cutoff"] = CALLABLES[f["callable"]] if isinstance(f, dict) else f
    return kw


def _row_id(row):
    extra = "".join(f",{k}={row[k]}" for k in ("rings", "sigma", "frequencies_cutoff") if k in row)
    kw = ",".join(f"{k}={v}" for k, v in row["gspace_kwargs"].items())
    fields = [
        d.get("irrep", "regular" if "regular" in d else f"bl{d.get('bl_regular')}")
        for d in (row["in"], row["out"])
    ]
    return f"{row['gspace']}({kw})-{fields[0]}->{fields[1]}-k{row['kernel_size']}d{row['dilation']}{extra}"


ROWS = DATA["rows"]


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_dimension_matches_escnn(row):
    if "escnn_failure" in row:
        pytest.skip(f"escnn 1.0.11 itself fails on this row ({row['escnn_failure']}): no reference number")
    gs = _gspace(row["gspace"], row["gspace_kwargs"])
    rin, rout = _field(gs, row["in"]), _field(gs, row["out"])
    if "error" in row:
        with pytest.raises(ValueError, match="rings"):
            steerable_basis_r3(gs, rin, rout, row["kernel_size"], **_kwargs(row))
        return
    basis = steerable_basis_r3(gs, rin, rout, row["kernel_size"], **_kwargs(row))
    assert len(basis) == row["dimension"]


def test_parity_table_is_large_and_covers_the_gspaces():
    assert len(ROWS) > 500
    assert {r["gspace"] for r in ROWS} >= {
        "rot3dOnR3", "flipRot3dOnR3", "octaOnR3", "fullOctaOnR3", "icoOnR3", "rot2dOnR3", "dihedralOnR3",
        "conicalOnR3", "cylindricalOnR3", "fullCylindricalOnR3", "invOnR3", "mirOnR3", "trivialOnR3",
    }  # fmt: skip


@pytest.mark.parametrize("M, r, value", DATA["fco_default"])
def test_default_cutoff_matches_escnn(M, r, value):
    assert R3FrequencyCutoff(M)(r) == pytest.approx(value, abs=1e-12)


# ---------------------------------------------------------------------- steerability
def _elements(G, rng):
    if not G.continuous:
        return list(G.elements)
    testing = list(G.testing_elements())
    picks = [testing[i] for i in rng.choice(len(testing), size=min(8, len(testing)), replace=False)]
    if hasattr(G, "sample"):
        picks += [G.sample(rng) for _ in range(4)]
    return picks


STEER_CASES = [
    ("rot3dOnR3", {}, ["irrep_0", "irrep_1", "irrep_2"]),
    ("flipRot3dOnR3", {}, ["irrep_0,0", "irrep_1,1", "irrep_0,2", "irrep_1,0"]),
    ("octaOnR3", {}, None),
    ("fullOctaOnR3", {}, None),
    ("icoOnR3", {}, None),
    ("fullIcoOnR3", {}, ["irrep_[(0,),(0,)](0)", "irrep_[(1,),(3,)](0)", "irrep_[(0,),(4,)](0)"]),
    ("rot2dOnR3", {"n": -1}, ["irrep_0", "irrep_1", "irrep_3"]),
    ("rot2dOnR3", {"n": 5}, None),
    ("dihedralOnR3", {"n": -1}, ["irrep_0,0", "irrep_1,0", "irrep_1,2"]),
    ("dihedralOnR3", {"n": 3}, None),
    ("conicalOnR3", {"n": 4}, None),
    ("conicalOnR3", {"n": -1, "axis": 0.3}, ["irrep_1,0", "irrep_1,1"]),
    ("cylindricalOnR3", {"n": -1}, ["irrep_[(1,),(1,)](0)", "irrep_[(0,),(2,)](0)"]),
    ("cylindricalOnR3", {"n": 3}, None),
    ("fullCylindricalOnR3", {"n": 2}, None),
    ("fullCylindricalOnR3", {"n": -1}, ["irrep_[(1,),(1, 1)](0)", "irrep_[(0,),(1, 0)](0)"]),
    ("invOnR3", {}, None),
    ("mirOnR3", {}, None),
    ("trivialOnR3", {}, None),
]


@pytest.mark.parametrize("factory, kwargs, names", STEER_CASES, ids=[f"{c[0]}{c[1]}" for c in STEER_CASES])
def test_analytic_steerability(factory, kwargs, names):
    """kappa(g x) = rho_out(g) kappa(x) rho_in(g)^-1 at random points of space (not grid points)."""
    rng = np.random.default_rng(7)
    gs = _gspace(factory, kwargs)
    G = gs.fibergroup
    names = names or list(G.irreps)
    points = rng.normal(size=(3, 40)) * 1.5
    elements = _elements(G, rng)
    worst = 0.0
    for a in names:
        for b in names:
            pair = sample_irreps_basis_r3(gs, a, b, 5, frequencies_cutoff=2.0)
            values = pair.evaluate(points)
            for g in elements:
                A = np.asarray(gs.basespace_action(g))
                moved = pair.evaluate(A @ points)
                expected = np.einsum("xa,nabp,yb->nxyp", G.irreps[b](g), values, G.irreps[a](g))
                worst = max(worst, float(np.abs(moved - expected).max(initial=0.0)))
    assert worst < 1e-10, worst


def test_analytic_steerability_of_a_representation_pair():
    rng = np.random.default_rng(3)
    gs = octaOnR3()
    G = gs.fibergroup
    R = G.regular_representation
    basis = steerable_basis_r3(gs, R, G.irreps["irrep_2"], 3)
    points = rng.normal(size=(3, 10))
    values = evaluate_basis_r3(basis, points)
    assert np.allclose(evaluate_basis_r3(basis, kernel_grid_r3(3)), basis.array, atol=1e-12)
    for g in G.elements:
        moved = evaluate_basis_r3(basis, np.asarray(gs.basespace_action(g)) @ points)
        expected = np.einsum("xa,nabp,yb->nxyp", G.irreps["irrep_2"](g), values, R(g))
        assert np.abs(moved - expected).max() < 1e-10


@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_grid_steerability_under_the_cube_symmetries(kernel_size):
    """The 24 rotations of the cube and the inversion permute the voxels: exact steerability on the grid."""
    gs = fullOctaOnR3()
    G = gs.fibergroup
    R = G.regular_representation
    a, b = G.irreps["irrep_[(1,),(1,)](0)"], G.irreps["irrep_[(0,),(2,)](0)"]
    pairs = ((a, R), (R, b)) if kernel_size == 3 else ((a, b), (b, a), (a, a))
    for rin, rout in pairs:
        basis = steerable_basis_r3(gs, rin, rout, kernel_size)
        arr = basis.array
        for g in G.elements:
            perm = grid_permutation(gs.basespace_action(g), (kernel_size,) * 3)
            assert perm is not None
            expected = np.einsum("xa,nabp,yb->nxyp", rout(g), arr[..., perm], rin(g))
            assert np.abs(arr - expected).max() < 1e-10


def test_conv3d_equivariance_on_the_grid():
    torch = pytest.importorskip("torch")
    gs = octaOnR3()
    G = gs.fibergroup
    R = G.regular_representation
    rin = G.irreps["irrep_1"]
    basis = steerable_basis_r3(gs, rin, R, 3)
    rng = np.random.default_rng(0)
    kernel = np.einsum("n,nxyp->xyp", rng.normal(size=len(basis)), basis.array).reshape(R.size, 3, 3, 3, 3)
    x = rng.normal(size=(1, 3, 7, 7, 7))

    def conv(v):
        return torch.nn.functional.conv3d(torch.from_numpy(v), torch.from_numpy(kernel)).numpy()

    for g in G.elements:
        lhs = conv(gs.featurefield_action(x, rin, g))
        rhs = gs.featurefield_action(conv(x), R, g)
        assert np.abs(lhs - rhs).max() < 1e-10


# ---------------------------------------------------------------------- completeness
def _character_J(J, A):
    """Character of the degree-J harmonics at the orthogonal matrix A (closed form)."""
    det = float(np.linalg.det(A))
    Rm = A * det
    cos = np.clip((np.trace(Rm) - 1) / 2, -1.0, 1.0)
    theta = math.acos(cos)
    chi = 2 * J + 1 if abs(theta) < 1e-9 else math.sin((2 * J + 1) * theta / 2) / math.sin(theta / 2)
    return chi * (det**J)


@pytest.mark.parametrize(
    "factory, kwargs",
    [("octaOnR3", {}), ("fullOctaOnR3", {}), ("icoOnR3", {}), ("dihedralOnR3", {"n": 4}),
     ("conicalOnR3", {"n": 3}), ("cylindricalOnR3", {"n": 2}), ("invOnR3", {}), ("mirOnR3", {}),
     ("fullCylindricalOnR3", {"n": 2}), ("trivialOnR3", {})],
)  # fmt: skip
def test_dimension_per_degree_equals_multiplicity_from_characters(factory, kwargs):
    from structconv.kernels.r3 import _angular_basis

    gs = _gspace(factory, kwargs)
    G = gs.fibergroup
    mats = [np.asarray(gs.basespace_action(g)) for g in G.elements]
    chis = {n: [float(np.trace(G.irreps[n](g))) for g in G.elements] for n in G.irreps}
    for J in range(5):
        chi_J = [_character_J(J, A) for A in mats]
        for a in G.irreps:
            for b in G.irreps:
                mult = np.mean(np.array(chi_J) * np.array(chis[a]) * np.array(chis[b]))
                assert len(_angular_basis(gs, a, b, J)) == round(mult)
                assert abs(mult - round(mult)) < 1e-9


def test_dimension_per_degree_so3_o3():
    from structconv.kernels.r3 import _angular_basis

    gs = rot3dOnR3()
    for l1 in range(3):
        for l2 in range(3):
            for J in range(6):
                expected = int(abs(l1 - l2) <= J <= l1 + l2)
                assert len(_angular_basis(gs, f"irrep_{l1}", f"irrep_{l2}", J)) == expected
    gs = gspaces_r3.flipRot3dOnR3()
    for j1 in range(2):
        for j2 in range(2):
            for l1 in range(3):
                for l2 in range(3):
                    for J in range(5):
                        expected = int(abs(l1 - l2) <= J <= l1 + l2 and (J + j1 + j2) % 2 == 0)
                        got = len(_angular_basis(gs, f"irrep_{j1},{l1}", f"irrep_{j2},{l2}", J))
                        assert got == expected


def test_angular_bases_are_orthonormal():
    from structconv.kernels.r3 import _angular_basis

    T = _angular_basis(octaOnR3(), "irrep_1", "irrep_2", 3)
    flat = T.reshape(len(T), -1)
    assert np.allclose(flat @ flat.T, np.eye(len(T)), atol=1e-12)


@pytest.mark.parametrize("factory", [rot3dOnR3, gspaces_r3.flipRot3dOnR3], ids=["so3", "o3"])
def test_closed_form_basis_spans_the_numerical_null_space(factory):
    # SO(3)/O(3) take the Clebsch-Gordan coefficients: the same space as the constraint's null space
    from structconv.kernels import r3

    gs = factory()
    G = gs.fibergroup
    names = list(G.irreps)[:6]
    elements, A = r3._constraint_elements(gs)
    checked = 0
    for a in names:
        for b in names:
            for J in range(5):
                T = r3._angular_basis(gs, a, b, J)
                assert r3._clebsch_gordan_basis(gs, a, b, J) is not None
                D = r3._harmonic_action(J, A)
                ri = np.stack([G.irreps[a](g) for g in elements])
                ro = np.stack([G.irreps[b](g) for g in elements])
                n = T[0].size if len(T) else (2 * J + 1) * ro.shape[1] * ri.shape[1]
                phi = np.einsum("emn,epo,eqi->noimpq", D, ro, ri).reshape(n, n)
                gram = 2.0 * len(A) * np.eye(n) - phi - phi.T
                null = np.linalg.eigh(gram)[0] < 1e-8
                assert null.sum() == len(T), (a, b, J)
                flat = T.reshape(len(T), n)
                assert np.abs(gram @ flat.T).max(initial=0.0) < 1e-10 and np.allclose(flat @ flat.T, np.eye(len(T)))
                checked += len(T)
    assert checked >= 19
    assert not r3._harmonics_are_irreps(octaOnR3())


def test_canonical_basis_depends_only_on_the_space():
    # an eigensolver's basis of a degenerate space varies with LAPACK and threads; the kernel basis must not
    from structconv.kernels.r3 import _canonical_basis

    rng = np.random.default_rng(3)
    V, _ = np.linalg.qr(rng.standard_normal((40, 3)))
    R, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    W = V @ R  # another orthonormal basis of the same space, signs and order mixed
    a, b = _canonical_basis(V @ V.T, 3), _canonical_basis(W @ W.T, 3)
    assert np.abs(a - b).max() < 1e-12
    assert np.allclose(a @ a.T, np.eye(3)) and np.abs(a @ (np.eye(40) - V @ V.T)).max() < 1e-12
    assert _canonical_basis(V @ V.T, 0).shape == (0, 40)


def test_spherical_harmonics_orthonormal():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(3, 200000))
    for J in range(5):
        Y = real_spherical_harmonics(J, pts)
        gram = Y @ Y.T * 4 * math.pi / pts.shape[1]
        assert np.allclose(gram, np.eye(2 * J + 1), atol=0.03)


# ---------------------------------------------------------------------- sampled basis
@pytest.mark.parametrize(
    "factory, kwargs, rin, rout, k",
    [("octaOnR3", {}, "regular", "regular", 3), ("rot3dOnR3", {}, "irrep_2", "irrep_2", 5),
     ("icoOnR3", {}, "regular", "irrep_2", 5), ("flipRot3dOnR3", {}, "irrep_1,1", "irrep_0,2", 7)],
)  # fmt: skip
def test_linear_independence_and_normalisation(factory, kwargs, rin, rout, k):
    gs = _gspace(factory, kwargs)
    G = gs.fibergroup
    fin = G.regular_representation if rin == "regular" else G.irreps[rin]
    fout = G.regular_representation if rout == "regular" else G.irreps[rout]
    basis = steerable_basis_r3(gs, fin, fout, k)
    flat = basis.array.reshape(len(basis), -1)
    assert np.linalg.matrix_rank(flat) == len(basis)
    for (a, _b), pair in basis.irreps_bases.items():
        if not len(pair):
            continue
        norms = (pair.array**2).reshape(len(pair), -1).sum(1)
        assert np.allclose(norms, G.irreps[a].size)


def test_layout_and_attributes():
    gs = octaOnR3()
    G = gs.fibergroup
    basis = steerable_basis_r3(gs, G.regular_representation, G.irreps["irrep_1"], 3)
    assert basis.shape == (len(basis), 3, 24, 27)
    attrs = list(basis.attributes())
    assert len(attrs) == len(basis)
    assert {"radius", "sigma", "frequency", "in_irrep", "out_irrep"} <= set(attrs[0])
    assert basis.array.flags.writeable is False
    # cached: the same object
    assert steerable_basis_r3(gs, G.regular_representation, G.irreps["irrep_1"], 3) is basis


def test_grid_points_follow_voxel_axes():
    grid = kernel_grid_r3(3, 2)
    assert grid.shape == (3, 27)
    # voxel (i, j, k) = (0, 0, 2): x = 2*(2-1), y = 2*(1-0), z = 2*(1-0)
    assert grid[:, 2].tolist() == [2.0, 2.0, 2.0]
    assert np.allclose(gspaces_r3.VOXEL_AXES @ np.array([0.0, 0.0, 1.0]), [1.0, 0.0, 0.0])


def test_shell_at_the_origin_follows_the_cutoff():
    """As escnn: at radius 0 the cut-off decides (default: J = 0 only); J > 0 vanish at the origin itself,
    so they survive only with a wide shell (escnn 1.0.11: 9 and 1 elements)."""
    gs = gspaces_r3.trivialOnR3()
    t = gs.fibergroup.trivial_representation
    wide = steerable_basis_r3(gs, t, t, 3, rings=[0.0], sigma=0.6, frequencies_cutoff=CALLABLES["const2"])
    narrow = steerable_basis_r3(gs, t, t, 3, rings=[0.0], sigma=0.005, frequencies_cutoff=CALLABLES["const2"])
    assert (len(wide), len(narrow)) == (9, 1)
    assert len(steerable_basis_r3(gs, t, t, 3, rings=[0.0], sigma=0.6)) == 1


# ---------------------------------------------------------------------- bad arguments
def test_bad_arguments():
    gs = rot3dOnR3()
    G = gs.fibergroup
    one = G.irreps["irrep_1"]
    with pytest.raises(TypeError, match="gspace"):
        steerable_basis_r3("so3", one, one, 3)
    with pytest.raises(ValueError, match="in_repr"):
        steerable_basis_r3(gs, octaOnR3().fibergroup.trivial_representation, one, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        steerable_basis_r3(gs, one, one, 0)
    with pytest.raises(ValueError, match="dilation"):
        steerable_basis_r3(gs, one, one, 3, dilation=0)
    with pytest.raises(ValueError, match="rings"):
        steerable_basis_r3(gs, one, one, 3, rings=[0.0, 2.0])
    with pytest.raises(ValueError, match="sigma"):
        steerable_basis_r3(gs, one, one, 3, sigma=-1.0)
    with pytest.raises(TypeError, match="frequencies_cutoff"):
        steerable_basis_r3(gs, one, one, 3, frequencies_cutoff="high")
    with pytest.raises(ValueError, match="in_irrep"):
        sample_irreps_basis_r3(gs, "irrep_x", "irrep_1", 3)
    basis = steerable_basis_r3(gs, one, one, 3)
    with pytest.raises(ValueError, match="points"):
        evaluate_basis_r3(basis, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="degree"):
        real_spherical_harmonics(-1, np.zeros((3, 1)))
