"""Tests of structconv.diffops: polynomial PDO bases, discretisation, size relations and the cache."""

from __future__ import annotations

import math
import os
import pickle
import warnings

import numpy as np
import pytest

from structconv import diffops
from structconv.diffops import cache as dcache
from structconv.diffops import discretization as ddisc
from structconv.diffops.basis import check_equivariance, group_elements, irreps_diffop_basis
from structconv.diffops.polynomials import (
    evaluate_polynomial,
    homogenized_chebyshev,
    laplacian_power,
    multiply_polynomials,
    transform_polynomial,
)
from structconv.diffops.sampling import DiscretizationArgs, diffop_basis, sample_irreps_diffop_basis
from structconv.kernels.irreps import IrrepSpec, element_action, irrep_matrix
from structconv.kernels.sampling import kernel_grid


def all_irreps(kind: str, N: int | None, max_freq: int = 3) -> list[IrrepSpec]:
    if kind == "cyclic":
        return [IrrepSpec(kind, N, 0, k) for k in range(N // 2 + 1)]
    if kind == "so2":
        return [IrrepSpec(kind, None, 0, k) for k in range(max_freq + 1)]
    if kind == "o2":
        return [IrrepSpec(kind, None, 0, 0), IrrepSpec(kind, None, 1, 0)] + [
            IrrepSpec(kind, None, 1, k) for k in range(1, max_freq + 1)
        ]
    out = [IrrepSpec(kind, N, 0, 0), IrrepSpec(kind, N, 1, 0)]
    out += [IrrepSpec(kind, N, 1, k) for k in range(1, (N + 1) // 2)]
    if N % 2 == 0:
        out += [IrrepSpec(kind, N, 0, N // 2), IrrepSpec(kind, N, 1, N // 2)]
    return out


GROUPS = [("cyclic", 4), ("cyclic", 3), ("dihedral", 4), ("dihedral", 3), ("dihedral", 1), ("cyclic", 1),
          ("so2", None), ("o2", None)]  # fmt: skip


# ----------------------------------------------------------------------------------------------- polynomials
def test_homogenized_chebyshev_is_harmonic_of_its_frequency() -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(2, 11))
    r, phi = np.hypot(*pts), np.arctan2(pts[1], pts[0])
    for n in range(6):
        np.testing.assert_allclose(
            evaluate_polynomial(homogenized_chebyshev(n, "t"), pts), r**n * np.cos(n * phi)
        )
        np.testing.assert_allclose(
            evaluate_polynomial(homogenized_chebyshev(n, "u"), pts), r**n * np.sin(n * phi), atol=1e-12
        )
    np.testing.assert_allclose(evaluate_polynomial(laplacian_power(3), pts), r**6)


def test_transform_and_multiply_polynomials() -> None:
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(2, 7))
    a, b, mat = rng.normal(size=(2, 3, 4)), rng.normal(size=3), rng.normal(size=(2, 2))
    np.testing.assert_allclose(
        evaluate_polynomial(transform_polynomial(a, mat), pts), evaluate_polynomial(a, mat @ pts)
    )
    np.testing.assert_allclose(
        evaluate_polynomial(multiply_polynomials(a, b), pts),
        evaluate_polynomial(a, pts) * evaluate_polynomial(b, pts),
    )


def test_harmonic_action_matches_polynomial_transform() -> None:
    """The analytic action on (r^k cos, r^k sin) equals composing the polynomials with the matrix."""
    from structconv.diffops.basis import _harmonic_action, _harmonics

    for k in range(5):
        h = _harmonics(k)
        for theta in (0.0, 0.4, math.pi / 2):
            for flip in (False, True):
                c, s = math.cos(theta), math.sin(theta)
                mat = np.array([[c, -s], [s, c]]) @ (np.diag([1.0, -1.0]) if flip else np.eye(2))
                np.testing.assert_allclose(
                    transform_polynomial(h, mat), _harmonic_action(k, mat) @ h, atol=1e-12
                )


def test_polynomial_bad_input() -> None:
    with pytest.raises(ValueError, match="n=-1"):
        homogenized_chebyshev(-1)
    with pytest.raises(ValueError, match="kind='v'"):
        homogenized_chebyshev(2, "v")
    with pytest.raises(ValueError, match=r"expected \(2, 2\)"):
        transform_polynomial(np.ones(3), np.eye(3))


# ------------------------------------------------------------------------------------------ analytic bases
@pytest.mark.parametrize("kind,N", GROUPS)
def test_polynomial_bases_are_equivariant(kind: str, N: int | None) -> None:
    """P(g x) = rho_out(g) P(x) rho_in(g)^-1 for every irrep pair, element and random point."""
    pts = np.random.default_rng(2).normal(size=(2, 6))
    axes = (math.pi / 2, 0.3) if kind in ("dihedral", "o2") else (math.pi / 2,)
    for axis in axes:
        for a in all_irreps(kind, N):
            for b in all_irreps(kind, N):
                basis = irreps_diffop_basis(a, b, 4, axis=axis)
                assert check_equivariance(basis, pts, axis=axis) < 1e-10
                # homogeneous of the stated order, independent elements
                for c, attr in zip(basis.coefficients, basis.attributes):
                    assert c.shape == (b.dim, a.dim, attr["order"] + 1)
                    assert attr["order"] == attr["frequency"] + 2 * attr["power"]
                if len(basis):
                    flat = np.stack([evaluate_polynomial(c, pts).ravel() for c in basis.coefficients])
                    by_order = {}
                    for row, attr in zip(flat, basis.attributes):
                        by_order.setdefault(attr["order"], []).append(row)
                    for rows in by_order.values():
                        assert np.linalg.matrix_rank(np.stack(rows), tol=1e-8) == len(rows)


def test_basis_is_complete_for_finite_groups() -> None:
    """Dimension = that of the invariant subspace of all matrix polynomials of each degree (character formula)."""
    for kind, N in [("cyclic", 4), ("dihedral", 3)]:
        for a in all_irreps(kind, N):
            for b in all_irreps(kind, N):
                basis = irreps_diffop_basis(a, b, 3)
                for n in range(4):
                    elems = group_elements(a)
                    # trace of the averaging operator on (out x in x degree-n polynomials)
                    total = 0.0
                    for g in elems:
                        mono = np.eye(n + 1)
                        t = np.stack([transform_polynomial(m, element_action(a, g)) for m in mono], axis=1)
                        total += np.trace(irrep_matrix(b, g)) * np.trace(irrep_matrix(a, g)) * np.trace(t)
                    dim = round(total / len(elems))
                    assert sum(1 for x in basis.attributes if x["order"] == n) == dim


# Parameter counts of e2cnn 0.2.3's R2Diffop(kernel_size=5) for single irrep fields (all pairs, row-major over
# (in, out) in the order of all_irreps); obtained by running the oracle.
E2CNN_K5_COUNTS = {
    ("cyclic", 4): [5, 6, 4, 6, 18, 6, 4, 6, 5],
    ("dihedral", 4): [4, 1, 3, 2, 2, 1, 4, 3, 2, 2, 3, 3, 9, 3, 3, 2, 2, 3, 4, 1, 2, 2, 3, 1, 4],
    ("dihedral", 3): [4, 1, 5, 1, 4, 5, 5, 5, 10],
    ("dihedral", 1): [9, 6, 6, 9],
    ("cyclic", 1): [15],
    ("so2", None): [3, 4, 4, 2, 4, 10, 6, 6, 4, 6, 8, 4, 2, 6, 4, 6],
    ("o2", None): [3, 0, 2, 2, 1, 0, 3, 2, 2, 1, 2, 2, 5, 3, 3, 2, 2, 3, 4, 2, 1, 1, 3, 2, 3],
}


@pytest.mark.parametrize("key", list(E2CNN_K5_COUNTS))
def test_counts_match_reference(key: tuple[str, int | None]) -> None:
    irreps = all_irreps(*key)
    counts = [len(sample_irreps_diffop_basis(a, b, 5, 4)) for a in irreps for b in irreps]
    assert counts == E2CNN_K5_COUNTS[key]


def test_maximum_power_and_offset_restrict_the_basis() -> None:
    one = IrrepSpec("cyclic", 4, 0, 1)
    full = irreps_diffop_basis(one, one, 4)
    assert all(a["power"] <= 1 for a in irreps_diffop_basis(one, one, 4, maximum_power=1).attributes)
    assert len(irreps_diffop_basis(one, one, 4, maximum_power=0)) < len(full)
    no_alias = irreps_diffop_basis(one, one, 4, maximum_offset=0)
    assert {a["frequency"] for a in no_alias.attributes} == {0, 2}
    assert {a["frequency"] for a in full.attributes} == {0, 2, 4}
    # a large offset bound keeps everything: the kernels' harmonics span the whole equivariant space
    for kind, N in [("cyclic", 3), ("dihedral", 4)]:
        for a in all_irreps(kind, N):
            for b in all_irreps(kind, N):
                assert len(irreps_diffop_basis(a, b, 5, maximum_offset=9)) == len(
                    irreps_diffop_basis(a, b, 5)
                )
    with pytest.raises(ValueError, match="maximum_offset=-1"):
        irreps_diffop_basis(one, one, 4, maximum_offset=-1)
    with pytest.raises(ValueError, match="maximum_order=-2"):
        irreps_diffop_basis(one, one, -2)


# ------------------------------------------------------------------------------------------ discretisation
def test_fd_weights_known_values_and_errors() -> None:
    np.testing.assert_allclose(ddisc.fd_weights(1, [-1, 0, 1]), [-0.5, 0, 0.5])
    np.testing.assert_allclose(
        ddisc.fd_weights(2, [-2, -1, 0, 1, 2]), [-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12]
    )
    np.testing.assert_allclose(ddisc.fd_weights(1, [-0.5, 0.5]), [-1, 1])
    with pytest.raises(ValueError, match="derivative=3 cannot be discretised on 3 points"):
        ddisc.fd_weights(3, [-1, 0, 1])
    with pytest.raises(ValueError, match="repeat"):
        ddisc.fd_weights(1, [0, 0, 1])


def _exactness_error(method: str, ks: int, order: int, degree: int, **kw: object) -> float:
    grid = kernel_grid(ks)
    sten = ddisc.monomial_stencils(order, ks, 1, method, **kw)
    worst = 0.0
    for m in range(degree + 1):
        for n in range(degree + 1 - m):
            f = grid[0] ** m * grid[1] ** n
            for i in range(order + 1):
                a, b = order - i, i
                exact = math.factorial(m) * math.factorial(n) if (a, b) == (m, n) else 0.0
                worst = max(worst, abs(sten[i] @ f - exact))
    return worst


@pytest.mark.parametrize("ks", [3, 4, 5])
def test_fd_stencils_exact_on_polynomials(ks: int) -> None:
    """FD stencils on k points reproduce the derivatives of every polynomial of degree < k exactly."""
    for order in range(ks):
        assert _exactness_error("fd", ks, order, ks - 1) < 1e-9
    # and with dilation: derivative in input pixels
    sten = ddisc.monomial_stencils(1, ks, 2, "fd")
    x = kernel_grid(ks, 2)[0]
    assert abs(sten[0] @ x - 1.0) < 1e-12


@pytest.mark.parametrize("phi", ["ga", "phs1", "phs3", "phs5"])
def test_rbffd_stencils_exact_on_polynomials(phi: str) -> None:
    for order in range(4):
        assert _exactness_error("rbffd", 5, order, order, phi=phi) < 1e-8


def test_gaussian_stencils_approximate_derivatives() -> None:
    ks, sigma = 9, 1.0
    grid = kernel_grid(ks)
    s0 = ddisc.monomial_stencils(0, ks, 1, "gauss", smoothing=sigma)
    assert abs(s0.sum() - 1.0) < 1e-12
    s1 = ddisc.monomial_stencils(1, ks, 1, "gauss", smoothing=sigma)
    np.testing.assert_allclose(s1 @ grid[0], [1.0, 0.0], atol=1e-3)  # d/dx x = 1, d/dy x = 0
    np.testing.assert_allclose(s1 @ grid[1], [0.0, 1.0], atol=1e-3)
    s2 = ddisc.monomial_stencils(2, ks, 1, "gauss", smoothing=sigma)
    np.testing.assert_allclose(s2 @ (grid[0] * grid[1]), [0.0, 1.0, 0.0], atol=1e-3)


def _grid_permutation(ks: int, matrix: np.ndarray) -> np.ndarray:
    grid = kernel_grid(ks)
    moved = matrix @ grid
    d = np.abs(moved[:, :, None] - grid[:, None, :]).sum(0)
    perm = d.argmin(1)
    assert np.allclose(d[np.arange(len(perm)), perm], 0)
    return perm


SQUARE_SYMMETRIES = [np.array(m, dtype=float) for m in
                     ([[0, -1], [1, 0]], [[-1, 0], [0, 1]], [[0, 1], [1, 0]], [[-1, 0], [0, -1]])]  # fmt: skip


@pytest.mark.parametrize(
    "method,kw",
    [("fd", {}), ("gauss", {"smoothing": 1.2}), ("rbffd", {"phi": "ga"}), ("rbffd", {"phi": "phs3"})],
)
@pytest.mark.parametrize("ks", [3, 4])
def test_discretisation_commutes_with_grid_symmetries(method: str, ks: int, kw: dict) -> None:
    """D(P o g)(q) = D(P)(g q) for the symmetries of the square grid."""
    rng = np.random.default_rng(3)
    for order in range(ks):
        p = rng.normal(size=order + 1)
        base = ddisc.discretize_homogeneous_polynomial(p, ks, 1, method, **kw)
        for mat in SQUARE_SYMMETRIES:
            moved = ddisc.discretize_homogeneous_polynomial(transform_polynomial(p, mat), ks, 1, method, **kw)
            np.testing.assert_allclose(moved, base[_grid_permutation(ks, mat)], atol=1e-9)


@pytest.mark.parametrize(
    "kind,N,disc",
    [
        ("cyclic", 4, DiscretizationArgs()),
        ("dihedral", 4, DiscretizationArgs("gauss", smoothing=1.0)),
        ("so2", None, DiscretizationArgs("rbffd", phi="phs3")),
        ("o2", None, DiscretizationArgs()),
        ("dihedral", 1, DiscretizationArgs("rbffd")),
    ],
)
def test_sampled_bases_equivariant_on_grid(kind: str, N: int | None, disc: DiscretizationArgs) -> None:
    """kappa(g q) = rho_out(g) kappa(q) rho_in(g)^-1 at the grid points for the grid-preserving elements."""
    ks = 4
    irreps = all_irreps(kind, N, max_freq=2)
    if kind in ("cyclic",):
        elements = [1, 2, 3]
    elif kind == "dihedral" and N == 4:
        elements = [(1, 0), (0, 1), (1, 3)]
    elif kind == "so2":
        elements = [math.pi / 2, math.pi]
    elif kind == "o2":
        elements = [(1, 0.0), (0, math.pi / 2), (1, math.pi / 2)]
    else:
        elements = [(1, 0)]
    for a in irreps:
        for b in irreps:
            basis = sample_irreps_diffop_basis(a, b, ks, 3, discretization=disc)
            arr = basis.array
            for g in elements:
                perm = _grid_permutation(ks, element_action(a, g))
                expected = np.einsum("ab,nbcp,dc->nadp", irrep_matrix(b, g), arr, irrep_matrix(a, g))
                np.testing.assert_allclose(arr[..., perm], expected, atol=1e-9)


def test_angle_offset_rotates_the_operators() -> None:
    triv = IrrepSpec("cyclic", 1, 0, 0)
    one = sample_irreps_diffop_basis(
        triv, triv, 3, 1, discretization=DiscretizationArgs(angle_offset=math.pi / 2)
    )
    ref = sample_irreps_diffop_basis(triv, triv, 3, 1)
    # the first-order elements d/dx, d/dy become d/dy, -d/dx
    np.testing.assert_allclose(one.array[1], ref.array[2], atol=1e-12)
    np.testing.assert_allclose(one.array[2], -ref.array[1], atol=1e-12)


def test_discretization_args_value_semantics() -> None:
    a = DiscretizationArgs("rbffd", angle_offset=0.5, phi="phs3")
    assert a == DiscretizationArgs("rbffd", angle_offset=0.5, phi="phs3") and hash(a) == hash(
        pickle.loads(pickle.dumps(a))
    )
    assert a != DiscretizationArgs("rbffd", phi="phs3")
    with pytest.raises(AttributeError, match="immutable"):
        a.method = "fd"  # type: ignore[misc]
    with pytest.raises(ValueError, match="method='spectral'"):
        DiscretizationArgs("spectral")


def test_representation_basis_matches_irreps_blocks() -> None:
    from structconv.group import cyclic_group

    G = cyclic_group(4)
    reg = G.regular_representation
    basis = diffop_basis(reg, reg, 3, 2)
    assert basis.array.shape[1:] == (4, 4, 9)
    perm = _grid_permutation(3, element_action(IrrepSpec("cyclic", 4, 0, 0), 1))
    expected = np.einsum("ab,nbcp,dc->nadp", reg(1), basis.array, reg(1))
    np.testing.assert_allclose(basis.array[..., perm], expected, atol=1e-9)
    attrs = list(basis.attributes())
    assert {"order", "power", "frequency", "in_irrep", "out_irrep", "idx"} <= set(attrs[0])


# ------------------------------------------------------------------------------------------------ relations
def test_size_relations() -> None:
    assert [ddisc.resolve_kernel_size(kernel_size=k) for k in (1, 2, 3, 5)] == [
        (1, 2, 0),
        (2, 2, 1),
        (3, 2, 2),
        (5, 2, 4),
    ]
    assert [ddisc.resolve_kernel_size(maximum_order=o) for o in (0, 1, 2, 4)] == [
        (1, 2, 0),
        (2, 2, 1),
        (3, 2, 2),
        (5, 2, 4),
    ]
    # (kernel_size, accuracy) -> order and (order, accuracy) -> kernel_size, as in the reference library
    assert [ddisc.resolve_kernel_size(kernel_size=5, accuracy=a)[2] for a in (1, 2, 3, 4, 5)] == [
        4,
        4,
        2,
        2,
        0,
    ]
    assert [ddisc.resolve_kernel_size(maximum_order=2, accuracy=a)[0] for a in (1, 2, 3, 4)] == [3, 3, 5, 5]
    assert ddisc.resolve_kernel_size(kernel_size=5, maximum_order=2) == (5, 4, 2)
    for k in range(1, 10):
        for d in range(k):
            acc = ddisc.guaranteed_accuracy(k, d)
            assert ddisc.required_points(d, acc) <= k
            if acc <= k:
                assert ddisc.largest_possible_order(k, acc) >= d
            assert abs(k - (acc + d)) <= 1  # kernel size ~ accuracy + order, off by one at most


def test_size_relation_errors() -> None:
    with pytest.raises(ValueError, match="at most two"):
        ddisc.resolve_kernel_size(5, 2, 3)
    with pytest.raises(ValueError, match="kernel_size=None and maximum_order=None"):
        ddisc.resolve_kernel_size(accuracy=2)
    with pytest.raises(ValueError, match="maximum_order=5 cannot be discretised with kernel_size=5"):
        ddisc.resolve_kernel_size(kernel_size=5, maximum_order=5)
    with pytest.raises(ValueError, match="accuracy=4 cannot be reached with kernel_size=3"):
        ddisc.resolve_kernel_size(kernel_size=3, accuracy=4)
    with pytest.raises(ValueError, match="kernel_size=0"):
        ddisc.resolve_kernel_size(kernel_size=0)
    with pytest.raises(ValueError, match="radial_basis_function='foo'"):
        ddisc.monomial_stencils(1, 3, method="rbffd", phi="foo")
    with pytest.raises(ValueError, match="smoothing=-1"):
        ddisc.monomial_stencils(1, 3, method="gauss", smoothing=-1.0)
    with pytest.raises(ValueError, match="method='gauss' needs smoothing"):
        DiscretizationArgs("gauss")


@pytest.mark.oracle
def test_size_relations_match_oracle() -> None:
    utils = pytest.importorskip("e2cnn.diffops.utils")
    for k in range(1, 9):
        for d in range(k):
            assert ddisc.guaranteed_accuracy(k, d) == utils.guaranteed_accuracy(k, d)
        for a in range(1, k + 1):
            assert ddisc.largest_possible_order(k, a) == utils.largest_possible_order(k, a)
        with pytest.raises(ValueError, match="cannot be reached"):
            ddisc.largest_possible_order(k, k + 1)
    for d in range(6):
        for a in range(1, 6):
            assert ddisc.required_points(d, a) == utils.required_points(d, a)


# -------------------------------------------------------------------------------------------------- cache
@pytest.fixture
def fresh_cache():
    saved = dict(dcache._STENCILS)
    dcache.clear_cache()
    yield
    dcache.clear_cache()
    dcache._STENCILS.update(saved)


def test_cache_round_trip_takes_effect(tmp_path, fresh_cache, monkeypatch) -> None:
    ref = ddisc.monomial_stencils(2, 5, 1, "rbffd", phi="phs3").copy()
    ddisc.monomial_stencils(1, 3, 2, "gauss", smoothing=0.7)
    path = str(tmp_path / "c" / "diffops.npz")
    assert diffops.store_cache(path) == 2
    dcache.clear_cache()

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although the cache was loaded")

    assert diffops.load_cache(path) == 2  # verifying the Gaussian entry recomputes it (cheap), once
    monkeypatch.setattr(ddisc, "_compute_stencils", boom)
    np.testing.assert_array_equal(ddisc.monomial_stencils(2, 5, 1, "rbffd", phi="phs3"), ref)
    ddisc.monomial_stencils(1, 3, 2, "gauss", smoothing=0.7)
    # a tampered entry is not used: it fails its checksum, is skipped with a warning and recomputed
    # (tests/test_diffop_cache.py plants entries whose checksum was recomputed too)
    tampered = str(tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["s0"] = arrays["s0"] * 2.0
    np.savez(tampered, **arrays)
    dcache.clear_cache()
    monkeypatch.undo()
    with pytest.warns(RuntimeWarning, match="bad entries, skipped"):
        assert diffops.load_cache(tampered) == 1
    np.testing.assert_allclose(ddisc.monomial_stencils(2, 5, 1, "rbffd", phi="phs3"), ref, rtol=1e-12)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/structconv_pwned_by_cache",))


@pytest.mark.parametrize("content", ["garbage", "foreign_npz", "pickle", "bad_shape", "bad_key"])
def test_corrupt_or_foreign_cache_warns_and_rebuilds(tmp_path, fresh_cache, content) -> None:
    path = str(tmp_path / "diffops.npz")
    if content == "garbage":
        with open(path, "wb") as fh:
            fh.write(b"PK\x03\x04 this is not a zip")
    elif content == "foreign_npz":
        np.savez(path, weights=np.ones(3))
    elif content == "pickle":
        with open(path, "wb") as fh:
            pickle.dump({"stencils": _Evil()}, fh)
    else:
        key = '[["fd", 3, 1, null, "", 1]]' if content == "bad_shape" else '[["exec", 3, 1, null, "", 1]]'
        np.savez(path, format=np.array(dcache._FORMAT), keys=np.array(key), s0=np.ones((5, 5)))
    with pytest.warns(RuntimeWarning, match="PDO stencil cache"):  # ignored whole, or its bad entry skipped
        assert diffops.load_cache(path) == 0
    assert dcache.cache_size() == 0
    assert not os.path.exists("/tmp/structconv_pwned_by_cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sten = ddisc.monomial_stencils(1, 3)
    np.testing.assert_allclose(sten[0].reshape(3, 3)[1], [-0.5, 0, 0.5])


def test_missing_cache_is_silent(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert diffops.load_cache(str(tmp_path / "nope.npz")) == 0


def test_diffop_basis_values_at_reads_the_stencils():
    """``values_at`` (which the kernel bases answer from their compact form) gives the PDO basis's own
    stencils at the chosen entries; out-of-range entries raise."""
    from structconv.diffops.sampling import diffop_basis
    from structconv.group import dihedral_group

    G = dihedral_group(4)
    basis = diffop_basis(G.regular_representation, G.irrep(1, 1), 5, 2)
    rng = np.random.default_rng(0)
    n, x, y, p = basis.shape
    o, i, q = rng.integers(0, x, 20), rng.integers(0, y, 20), rng.integers(0, p, 20)
    np.testing.assert_array_equal(basis.values_at(o, i, q), basis.array[:, o, i, q])
    with pytest.raises(IndexError):
        basis.values_at([x], [0], [0])
