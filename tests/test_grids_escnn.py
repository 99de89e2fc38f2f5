"""The grids of ``structconv.group.grids`` beside escnn 1.0.11's, and their defining properties.

Reference values: ``tests/data/escnn_grids.json``, written by ``tools/escnn_reference_grids.py`` in the escnn
environment (nothing here needs escnn). escnn lists the ``'hopf'`` / ``'fibonacci'`` rotations and the
platonic sphere points in the order of a Python set: those are compared as sets, the others in order too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.group import _so3_maths as so3m
from structconv.group import o2_group, o3_group, so2_group, so3_group
from structconv.group.directproduct import (
    cylinder_discrete_group,
    cylinder_group,
    full_cylinder_discrete_group,
    full_cylinder_group,
    full_octa_group,
    klein4_group,
)
from structconv.group.grids import (
    fibonacci_so3,
    grid,
    grid_so2,
    grid_so3,
    healpix_sphere,
    hopf_so3,
    longlat_sphere,
    sphere_grid,
    sphere_poles,
    thomson_cube_so3,
    thomson_cube_sphere,
)
from structconv.group.polyhedral import OCTA_QUATERNIONS
from structconv.nn import (
    FourierELU,
    FourierPointwise,
    GeometricTensor,
    QuotientFourierELU,
    QuotientFourierPointwise,
)

DATA = json.loads((Path(__file__).parent / "data" / "escnn_grids.json").read_text())
S3, O3 = so3_group(), o3_group()
ADJ = np.array([0.1, -0.3, 0.25, 0.9]) / np.linalg.norm([0.1, -0.3, 0.25, 0.9])
PRODUCTS = {
    "cylinder_group": cylinder_group,
    "full_cylinder_group": full_cylinder_group,
    "cylinder_discrete_group": cylinder_discrete_group,
    "full_cylinder_discrete_group": full_cylinder_discrete_group,
}
CLASSES = {
    "FourierPointwise": FourierPointwise,
    "FourierELU": FourierELU,
    "QuotientFourierPointwise": QuotientFourierPointwise,
    "QuotientFourierELU": QuotientFourierELU,
}


def _group(name):
    return S3 if name == "SO3" else O3


def _kwargs(G, kw, sphere):
    """The stored arguments with ``adj`` as an element (O(3) group grids: escnn's raw quaternion)."""
    kw = dict(kw)
    if "adj" in kw:
        a = kw["adj"]
        if G is S3:
            kw["adj"] = S3.element(np.array(a), "Q")
        elif sphere:
            kw["adj"] = O3.element((a[0], np.array(a[1])), "Q")
        else:
            kw["adj"] = np.array(a)
    return kw


def _quats(G, elements):
    """Quaternions ``(n, 4)`` and inversion flags ``(n,)`` of SO(3) / O(3) elements (or stored values)."""
    vals = [e.value if hasattr(e, "value") else e for e in elements]
    if G is S3:
        return np.array(vals, dtype=float), np.zeros(len(vals), dtype=int)
    return np.array([v[1] for v in vals], dtype=float), np.array([v[0] for v in vals], dtype=int)


def _same_rotations(qa, ja, qb, jb, atol=1e-9):
    """Whether two lists of (flag, rotation) are the same sets (each element of one in the other)."""
    d = np.abs(np.abs(qa @ qb.T) - 1.0) + (ja[:, None] != jb[None, :])
    return len(qa) == len(qb) and d.min(axis=0).max() < atol and d.min(axis=1).max() < atol


def _unique_count(q, atol=1e-7):
    c = np.abs(q @ q.T)
    np.fill_diagonal(c, 0.0)
    return not (c > 1.0 - atol).any()


# --------------------------------------------------------------------------------------------- escnn parity
@pytest.mark.parametrize("case", DATA["group"], ids=[c["label"] for c in DATA["group"]])
def test_group_grid_matches_escnn(case):
    G = _group(case["group"])
    ours = grid(G, *case["args"], **_kwargs(G, case["kwargs"], sphere=False))
    q, j = _quats(G, ours)
    rq, rj = _quats(G, case["elements"])
    assert len(q) == len(rq)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert _same_rotations(q, j, rq, rj)
    if case["args"][0] not in ("hopf", "fibonacci"):  # escnn's order is a set's there
        assert (j == rj).all() and np.abs(np.abs((q * rq).sum(axis=1)) - 1.0).max() < 1e-9


@pytest.mark.parametrize("case", DATA["sphere"], ids=[c["label"] for c in DATA["sphere"]])
def test_sphere_grid_matches_escnn(case):
    G = _group(case["group"])
    els = sphere_grid(G, *case["args"], **_kwargs(G, case["kwargs"], sphere=True))
    P, R = sphere_poles(els), np.array(case["points"])
    assert P.shape == R.shape
    if case["args"][0] in ("ico", "tetra", "cube_vertices"):  # a set in escnn
        d = np.linalg.norm(P[:, None] - R[None], axis=2)
        assert d.min(axis=0).max() < 1e-9 and d.min(axis=1).max() < 1e-9
    else:
        np.testing.assert_allclose(P, R, atol=1e-9)
    if G is O3:
        assert all(e.value[0] == 0 for e in els)  # rotations


def test_sizes_match_escnn():
    for c in DATA["sizes"]:
        G = _group(c["group"])
        f = grid if c["method"] == "grid" else sphere_grid
        assert len(f(G, *c["args"])) == c["size"], c


@pytest.mark.parametrize("case", DATA["product"], ids=[c["label"] for c in DATA["product"]])
def test_product_grid_matches_escnn(case):
    G = PRODUCTS[case["factory"]](*case["factory_args"])
    ours = grid(G, **case["kwargs"])
    ref = [G.element((v[0], tuple(v[1]) if isinstance(v[1], list) else v[1])) for v in case["elements"]]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.value[0] == b.value[0] and np.allclose(a.value[1], b.value[1], atol=1e-12)


def _input(size, shape):
    n = 2 * size * int(np.prod(shape))
    return (np.sin(0.37 * np.arange(n) + 0.1) + 0.2).reshape(2, size, *shape)


@pytest.mark.parametrize("case", DATA["fourier"], ids=[c["label"] for c in DATA["fourier"]])
def test_fourier_module_on_new_grids_matches_escnn(case):
    gs = getattr(gspaces, case["factory"])()
    G = gs.fibergroup
    irreps = [tuple(i) for i in case["irreps"]]
    kw = dict(case["grid_kwargs"])
    if case["function"] is not None:
        kw["function"] = case["function"]
    if case["sphere_grid"] is not None:
        kw["grid"] = sphere_grid(G, *case["sphere_grid"])
    sg = case["subgroup_id"]
    head = (gs, tuple(sg), case["channels"], irreps) if sg is not None else (gs, case["channels"], irreps)
    m = CLASSES[case["class"]](*head, **kw)
    assert len(m.grid) == case["grid_size"] and m.in_type.size == case["in_size"]
    x = torch.tensor(_input(m.in_type.size, case["shape"]), dtype=torch.float32)
    y = m(GeometricTensor(x, m.in_type)).tensor
    assert y.shape == x.shape
    if "ill_conditioned" not in case["label"]:
        np.testing.assert_allclose(y.detach().numpy().ravel(), case["output"], atol=2e-6, rtol=0)
        return
    # escnn projects back with the ridge (A^T A + 1e-8 I)^-1 A^T, ours with the pseudo-inverse: they differ
    # where A is nearly singular (here its smallest singular value is 0.015). Our grid and sampling matrix
    # with escnn's ridge give escnn's output (to its float32 rounding, amplified by the conditioning: 5e-6);
    # our module's is off by a few 1e-4.
    A = m.double().A.numpy()
    assert np.linalg.svd(A, compute_uv=False).min() < 0.02
    ridge = np.linalg.inv(A.T @ A + 1e-8 * np.eye(A.shape[1])) @ A.T
    xs = _input(m.in_type.size, case["shape"]).reshape(2, case["channels"], A.shape[1], -1)
    ys = np.einsum("sg,bcgp->bcsp", ridge, np.maximum(np.einsum("gs,bcsp->bcgp", A, xs), 0.0))
    np.testing.assert_allclose(ys.ravel(), case["output"], atol=2e-5, rtol=0)
    np.testing.assert_allclose(y.detach().numpy().ravel(), case["output"], atol=1e-3, rtol=0)


# --------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("N", [20, 37, 100, 333])
def test_hopf_size_and_layout(N):
    q = hopf_so3(N)
    m, ns = int(np.round(np.cbrt(np.pi * N))), int(np.round(np.sqrt(N / (8 * np.pi**2))))
    assert q.shape == (12 * ns**2 * m, 4) and not q.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert _unique_count(q)
    # axis major: the rotations about the k-th HEALPix axis by (i + 1/4) 2 pi / m
    angles = 2 * np.arccos(np.clip(q[:m, 3], -1, 1))
    np.testing.assert_allclose(angles, (np.arange(m) + 0.25) * 2 * np.pi / m, atol=1e-9)
    np.testing.assert_allclose(
        q[:m, :3] / np.sin(angles / 2)[:, None], healpix_sphere(ns)[[0] * m], atol=1e-9
    )


@pytest.mark.parametrize("N", [4, 9, 100, 400])
def test_fibonacci_size_and_uniqueness(N):
    q = fibonacci_so3(N)
    m, s = int(np.round(np.cbrt(np.pi * N))), int(np.round(np.cbrt(N**2 / np.pi)))
    assert q.shape == ((s - 1) * (m - 1) + 1, 4)  # the identities and the two poles' rotations coincide
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert _unique_count(q)
    assert np.allclose(q[0], [0, 0, 0, 1])


@pytest.mark.parametrize("N_side", [1, 2, 3, 8])
def test_healpix_properties(N_side):
    P = healpix_sphere(N_side)
    assert P.shape == (12 * N_side**2, 3)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-12)
    z = np.round(P[:, 2], 12)
    rings = np.unique(z)
    assert len(rings) == 4 * N_side - 1  # iso-latitude rings
    # equal areas: the points above a ring's centre, and half of the ring, fill the cap above it
    # (its area 2 pi (1 - z) over the pixel area 4 pi / n)
    for zk in rings:
        assert (z > zk).sum() + (z == zk).sum() / 2 == pytest.approx((1 - zk) * len(P) / 2, abs=1e-6)
    # symmetric under z -> -z and p -> -p; distinct points
    key = {tuple(np.round(p, 9) + 0.0) for p in P}
    assert len(key) == len(P)
    assert all(tuple(np.round(p * [1, 1, -1], 9) + 0.0) in key for p in P)
    assert all(tuple(np.round(-p, 9) + 0.0) in key for p in P)


def test_longlat_layout():
    P = longlat_sphere(5, 4)
    assert P.shape == (5 * 2 + 2, 3)
    np.testing.assert_allclose(P[0], [0, 0, 1])
    np.testing.assert_allclose(P[-1], [0, 0, -1])
    np.testing.assert_allclose(P[1:6, 2], np.cos(np.pi / 3), atol=1e-12)
    np.testing.assert_allclose(
        np.arctan2(P[1:6, 1], P[1:6, 0]) % (2 * np.pi), np.arange(5) * 2 * np.pi / 5, atol=1e-12
    )
    assert len(sphere_grid(S3, "longlat", N=7, M=2)) == 2


def _cube_ops():
    return np.asarray(OCTA_QUATERNIONS, dtype=float)


@pytest.mark.parametrize("N", [1, 2, 3])
def test_thomson_cube_so3_has_octahedral_symmetry(N):
    q = thomson_cube_so3(N)
    assert q.shape == (24 * N, 4) and not q.flags.writeable and thomson_cube_so3(N) is q
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert _unique_count(q, atol=1e-4)  # 24 N distinct rotations
    for c in _cube_ops():
        cq = so3m.quat_mul(c[None], q)
        d = np.abs(np.abs(cq @ q.T) - 1.0)
        assert d.min(axis=1).max() < 1e-9  # c q is in the set: invariant under left multiplication
    els = grid(S3, "thomson_cube", N)
    assert len(els) == 24 * N and len(grid(O3, "thomson_cube", N=N)) == 48 * N


def test_thomson_cube_spread():
    # energies of escnn's own grids for N = 1, 2 (measured once with escnn 1.0.11; not stored): ours are as low
    def energy(Y, antipodal):
        G = np.clip(Y @ Y.T, -1, 1)
        iu = np.triu_indices(len(Y), 1)
        e = (1 / np.sqrt(2 - 2 * G[iu])).sum()
        return e + ((1 / np.sqrt(2 + 2 * G[iu])).sum() if antipodal else 0.0)

    assert energy(thomson_cube_sphere(1), False) <= 223.35  # escnn: 223.349 (the snub cube)
    assert energy(thomson_cube_sphere(2), False) <= 969.6  # escnn: 969.598
    assert energy(thomson_cube_so3(1), True) <= 437.2  # escnn: 437.199 (a coset of the cube group)
    assert energy(thomson_cube_so3(2), True) <= 1831.81  # escnn: 1831.808
    P = thomson_cube_sphere(4)
    c = P @ P.T
    np.fill_diagonal(c, -1.0)
    assert np.arccos(c.max()) > 0.3  # 96 points: a uniform spacing would be ~0.36


@pytest.mark.parametrize("N", [1, 2])
def test_thomson_cube_sphere_has_octahedral_symmetry(N):
    P = thomson_cube_sphere(N)
    assert P.shape == (24 * N, 3) and not P.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-12)
    for R in so3m.quat_to_matrix(_cube_ops()):
        d = np.linalg.norm((P @ R.T)[:, None] - P[None], axis=2)
        assert d.min(axis=1).max() < 1e-9
    poles = sphere_poles(sphere_grid(S3, "thomson_cube", N))
    np.testing.assert_allclose(poles, P, atol=1e-12)
    np.testing.assert_allclose(sphere_poles(sphere_grid(O3, "thomson_cube", N)), -P, atol=1e-12)


def test_o3_sphere_grid_is_the_antipodes():
    a = sphere_poles(sphere_grid(S3, "fibonacci", 9))
    np.testing.assert_allclose(sphere_poles(sphere_grid(O3, "fibonacci", 9)), -a, atol=1e-12)


# --------------------------------------------------------------------------------------------- adj, param
@pytest.mark.parametrize(
    "type,args", [("hopf", (30,)), ("fibonacci", (20,)), ("thomson_cube", (1,)), ("cube", ())]
)
def test_adj_conjugates(type, args):
    a = S3.element(ADJ, "Q")
    A = a.to("MAT")
    for g, h in zip(grid(S3, type, *args, adj=a), grid(S3, type, *args)):
        np.testing.assert_allclose(g.to("MAT"), A @ h.to("MAT") @ A.T, atol=1e-12)  # a g a^-1
    # the same through a raw quaternion and through an O(3) element with the inversion (its rotation part)
    assert _same_rotations(
        *_quats(S3, grid(S3, type, *args, adj=ADJ)), *_quats(S3, grid(S3, type, *args, adj=a))
    )
    o3 = grid(O3, type, *args, adj=O3.element((1, ADJ), "Q"))
    assert [e.value[0] for e in o3] == [0] * (len(o3) // 2) + [1] * (len(o3) // 2)
    for g, h in zip(o3, grid(S3, type, *args, adj=a)):
        assert np.allclose(g.value[1], h.value, atol=1e-12)


def test_sphere_adj_moves_points():
    a = S3.element(ADJ, "Q")
    A = a.to("MAT")
    for type, args in (("healpix", (2,)), ("longlat", (3, 4)), ("thomson_cube", (1,))):
        P = sphere_poles(sphere_grid(S3, type, *args))
        np.testing.assert_allclose(sphere_poles(sphere_grid(S3, type, *args, adj=a)), P @ A.T, atol=1e-12)
        inv = O3.element((1, ADJ), "Q")  # -A on the points
        np.testing.assert_allclose(sphere_poles(sphere_grid(O3, type, *args, adj=inv)), P @ A.T, atol=1e-12)


def test_parametrization_is_accepted():
    for G in (S3, O3):
        a, b = grid(G, "hopf", 30, parametrization="MAT"), grid(G, "hopf", 30)
        assert all(x == y for x, y in zip(a, b))
    with pytest.raises(
        ValueError, match=r"parametrization='quat' is not accepted; expected one of \['Q', 'MAT'"
    ):
        grid(S3, "hopf", 30, parametrization="quat")


# --------------------------------------------------------------------------------------------- other groups
def test_product_grids():
    G = cylinder_group()
    r = grid(G, "rand", 5, seed=3)
    assert len(r) == 5 and r == grid(G, "rand", N=5, seed=3) and all(e.group is G for e in r)
    assert {e.value[0] for e in grid(G, "rand", 40, seed=0)} == {0, 1}
    F = full_cylinder_group()
    assert len(grid(F, "rand", 4, seed=0)) == 4 and isinstance(grid(F, "rand", 4, seed=0)[0].value[1], tuple)
    K = klein4_group()
    assert len(grid(K)) == 4 and len(grid(K, G1_type="regular", G1_N=1, G2_type="regular", G2_N=2)) == 2
    O = full_octa_group()
    assert (
        len(grid(O)) == 48 and len(grid(O, G1_type="regular", G1_N=2)) == 48 and len(grid(O, "rand", 3)) == 3
    )
    D = full_cylinder_discrete_group(4)
    assert grid(D, "regular") == D.elements


def test_grid_so2_so3():
    assert grid_so2(o2_group(), 4) == [(0, t) for t in grid(so2_group(), 4)]
    g = grid_so3(O3, "hopf", 30)
    assert len(g) == 60 and all(e.value[0] == 0 for e in g)
    assert len(grid_so3(O3, "rand", 3, seed=0)) == 3
    with pytest.raises(ValueError, match=r"grid_so3: G=.* expected O\(3\)"):
        grid_so3(S3, "cube")
    with pytest.raises(ValueError, match=r"grid_so2: G=.* expected O\(2\)"):
        grid_so2(S3, 4)


@pytest.mark.parametrize("G", [S3, O3], ids=["SO3", "O3"])
def test_hopf_and_fibonacci_take_a_real_N_as_escnn_does(G):
    """escnn's formulas use ``N`` as a real number: ``N=20.0`` is ``N=20``, ``N=50.5`` lies between."""
    for type in ("hopf", "fibonacci"):
        a, b = grid(G, type, 20.0), grid(G, type, 20)
        assert len(a) == len(b) and all(x == y for x, y in zip(a, b))
        n = len(grid(G, type, N=50.5))
        assert len(grid(G, type, N=50)) <= n <= len(grid(G, type, N=51))
    # the smallest N escnn accepts: 2 pi^2 (N_side = 1) and sqrt(1.5^3 pi) (two axes); escnn 1.0.11 gives
    # 48 and 2 rotations on SO(3)
    factor = 2 if G is O3 else 1
    assert len(grid(G, "hopf", N=19.75)) == 48 * factor and len(grid(G, "fibonacci", N=3.26)) == 2 * factor
    with pytest.raises(ValueError, match=r"N=19.73 is not accepted; expected a real number >= 19.7392"):
        grid(G, "hopf", N=19.73)
    with pytest.raises(ValueError, match=r"N=3.25 is not accepted; expected a real number >= 3.2562"):
        grid(G, "fibonacci", N=3.25)


# --------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: grid(S3, "hopf", 19),
            ValueError,
            r"N=19.0 is not accepted; expected a real number >= 19.7392 \(2 pi\^2: N_side",
        ),
        (
            lambda: grid(S3, "fibonacci", 3),
            ValueError,
            r"N=3.0 is not accepted; expected a real number >= 3.2562",
        ),
        (lambda: grid(O3, "hopf", 2.5), ValueError, r"^grid\(O\(3\)\): N=2.5 is not accepted"),
        (lambda: grid(O3, "fibonacci", float("inf")), ValueError, r"^grid\(O\(3\)\): N=inf is not accepted"),
        (lambda: grid(S3, "hopf", "30"), ValueError, r"N='30' is not accepted"),
        (
            lambda: grid(S3, "hopf", 50 + 0j),
            ValueError,
            r"N=\(50\+0j\) is not accepted; expected a real number >= 19",
        ),
        (
            lambda: grid(O3, "hopf", 10**400),
            ValueError,
            r"^grid\(O\(3\)\): N=1000.* is not accepted; expected a real",
        ),
        (
            lambda: grid(S3, "fibonacci", float("nan")),
            ValueError,
            r"N=nan is not accepted; expected a real number >= 3.2562",
        ),
        (lambda: grid(S3, "fibonacci", [50]), ValueError, r"N=\[50\] is not accepted"),
        (lambda: grid(S3, "thomson_cube", 0), ValueError, r"N=0 is not accepted; expected an int >= 1"),
        (lambda: grid(S3, "thomson_cube"), TypeError, r"the argument 'N' is missing"),
        (lambda: grid(S3, "hopf", 30, seed=1), TypeError, r"unexpected keyword arguments \['seed'\]"),
        (
            lambda: grid(S3, "healpix", 2),
            ValueError,
            r"type='healpix' is not known; expected one of .*'hopf'",
        ),
        (
            lambda: grid(S3, "cube", adj="x"),
            ValueError,
            r"adj='x' is not accepted; expected None, an element",
        ),
        (
            lambda: grid(S3, "cube", adj=[1.0, 1.0, 0.0, 0.0]),
            ValueError,
            r"adj=\[1.0, 1.0, 0.0, 0.0\] is not",
        ),
        (
            lambda: sphere_grid(S3, "healpix", 0),
            ValueError,
            r"N_side=0 is not accepted; expected an int >= 1",
        ),
        (lambda: sphere_grid(S3, "healpix", 2, 3), TypeError, r"too many positional arguments"),
        (lambda: sphere_grid(S3, "longlat", 4), TypeError, r"the argument 'M' is missing"),
        (lambda: sphere_grid(O3, "longlat", 4, 1), ValueError, r"M=1 is not accepted; expected an int >= 2"),
        (
            lambda: sphere_grid(S3, "hopf", 30),
            ValueError,
            r"type='hopf' is not known; expected one of .*'longlat'",
        ),
        (lambda: sphere_grid(S3, "thomson_cube", -1), ValueError, r"N=-1 is not accepted"),
        (
            lambda: grid(cylinder_group()),
            TypeError,
            r"grid\(Cylindrical\): no grid arguments; expected 'rand'",
        ),
        (
            lambda: grid(cylinder_group(), "regular", 4),
            ValueError,
            r"type='regular' is not known; expected 'rand'",
        ),
        (
            lambda: grid(cylinder_group(), "rand", G2_N=4),
            TypeError,
            r"G1_... / G2_... cannot be combined with \('rand',\)",
        ),
        (
            lambda: grid(cylinder_group(), G1_type="regular", G1_N=2),
            TypeError,
            r"grid\(SO\(2\)\).*'N' is missing",
        ),
        (lambda: grid(cylinder_group(), "rand", 0), ValueError, r"N=0 is not accepted"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_fourier_modules_build_on_the_new_grids():
    gs = gspaces.rot3dOnR3()
    G = gs.fibergroup
    m = FourierELU(gs, 2, G.bl_irreps(2), type="hopf", N=100)
    assert len(m.grid) == 84
    q = QuotientFourierELU(gs, (False, -1), 2, G.bl_irreps(2), grid=sphere_grid(G, "healpix", 2))
    assert len(q.grid) == 48
    c = FourierELU(gs, 1, G.bl_irreps(1), "thomson_cube", 1)
    x = torch.randn(
        3, c.in_type.size, 1, 1, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    # the grid is invariant under the cube's rotations: exactly equivariant for them
    y = c(GeometricTensor(x, c.in_type)).tensor
    for g in [S3.element(v, "Q") for v in _cube_ops()[:6]]:
        R = c.in_type.fiber_matrix(g).to(torch.float64)
        y1 = c(GeometricTensor(torch.einsum("ij,bj...->bi...", R, x), c.in_type)).tensor
        torch.testing.assert_close(y1, torch.einsum("ij,bj...->bi...", R, y), atol=1e-9, rtol=0)
