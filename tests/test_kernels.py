"""Tests of the analytic steerable kernel bases (structconv.kernels), which take their irreps from structconv.group."""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest

from structconv.kernels import (
    IrrepSpec,
    LinearFrequencyCutoff,
    ManualFrequencyCutoff,
    default_rings,
    default_sigma,
    element_action,
    irrep_matrix,
    irreps_harmonics,
    kernel_grid,
    resolve_basis_params,
    sample_irreps_basis,
)


def all_irreps(kind: str, N: int | None, max_freq: int = 3) -> list[IrrepSpec]:
    if kind == "cyclic":
        return [IrrepSpec(kind, N, 0, k) for k in range(N // 2 + 1)]
    if kind == "so2":
        return [IrrepSpec(kind, None, 0, k) for k in range(max_freq + 1)]
    top = N // 2 if kind == "dihedral" else max_freq
    out = []
    for k in range(top + 1):
        one_dim = k == 0 or (N is not None and 2 * k == N)
        for j in (0, 1) if one_dim else (1,):
            out.append(IrrepSpec(kind, N, j, k))
    return out


def elements(kind: str, N: int | None, rng: np.random.Generator) -> list:
    if kind == "cyclic":
        return list(range(N))
    if kind == "dihedral":
        return [(f, r) for f in (0, 1) for r in range(N)]
    angles = rng.uniform(0, 2 * math.pi, size=5)
    if kind == "so2":
        return list(angles)
    return [(f, a) for f in (0, 1) for a in angles]


GROUPS = [
    ("cyclic", 1),
    ("cyclic", 2),
    ("cyclic", 3),
    ("cyclic", 4),
    ("cyclic", 6),
    ("dihedral", 1),
    ("dihedral", 2),
    ("dihedral", 4),
    ("dihedral", 5),
    ("so2", None),
    ("o2", None),
]


@pytest.mark.parametrize("kind,N", GROUPS)
@pytest.mark.parametrize("axis", [math.pi / 2, 0.3])
def test_steerability_constraint_holds_at_random_points(kind, N, axis):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2, 12)) * 1.5
    irreps = all_irreps(kind, N)
    for si, so in itertools.product(irreps, irreps):
        basis = sample_irreps_basis(si, so, 5, frequencies_cutoff=3.0, axis=axis)
        if len(basis) == 0:
            continue
        base = basis.evaluate(points)
        for g in elements(kind, N, rng):
            moved = basis.evaluate(element_action(si, g, axis) @ points)
            rho_out, rho_in_inv = irrep_matrix(so, g), irrep_matrix(si, g).T
            expected = np.einsum("xo,nopP,py->nxyP", rho_out, base, rho_in_inv)
            err = np.abs(moved - expected).max()
            assert err < 1e-9, (si, so, g, err)


@pytest.mark.parametrize("kind,N", [("cyclic", 4), ("dihedral", 3), ("so2", None), ("o2", None)])
def test_elements_are_linearly_independent_and_normalised(kind, N):
    irreps = all_irreps(kind, N, max_freq=2)
    for si, so in itertools.product(irreps, irreps):
        basis = sample_irreps_basis(si, so, 7)
        if len(basis) == 0:
            continue
        flat = basis.array.reshape(len(basis), -1)
        assert np.linalg.matrix_rank(flat) == len(basis)
        np.testing.assert_allclose((flat**2).sum(1), so.dim)


def test_nonzero_frequencies_vanish_at_origin():
    one = IrrepSpec("cyclic", 8, 0, 1)
    basis = sample_irreps_basis(one, IrrepSpec("cyclic", 8, 0, 0), 5)
    assert all(a["frequency"] != 0 for a in basis.attributes)
    np.testing.assert_array_equal(basis.array[..., 12], 0.0)


def test_sampling_matches_evaluate_and_grid_orientation():
    grid = kernel_grid(3, dilation=2)
    # row 0 on top (y > 0), x to the right, centre at the origin
    np.testing.assert_array_equal(grid[:, 0], [-2.0, 2.0])
    np.testing.assert_array_equal(grid[:, 4], [0.0, 0.0])
    np.testing.assert_array_equal(grid[:, 5], [2.0, 0.0])
    so2 = IrrepSpec("so2", None, 0, 1)
    basis = sample_irreps_basis(IrrepSpec("so2", None, 0, 0), so2, 5)
    np.testing.assert_allclose(basis.evaluate(kernel_grid(5)), basis.array)


def test_rot90_of_sampled_basis_is_exact():
    # kappa(g x) = rho_out(g) kappa(x): rotating the sampled image by 90 degrees is exact for C4
    triv, one = IrrepSpec("cyclic", 4, 0, 0), IrrepSpec("cyclic", 4, 0, 1)
    basis = sample_irreps_basis(triv, one, 5)
    img = basis.array.reshape(len(basis), 2, 1, 5, 5)
    # (g.kappa)(x) = rho(g) kappa(g^-1 x) must equal kappa(x): rot90 of the image samples kappa(g^-1 x)
    rotated = np.einsum("xo,noiHW->nxiHW", irrep_matrix(one, 1), np.rot90(img, 1, axes=(-2, -1)))
    np.testing.assert_allclose(rotated, img, atol=1e-12)


def test_known_counts_per_irreps_pair():
    so2_one = IrrepSpec("so2", None, 0, 1)
    assert len(sample_irreps_basis(so2_one, so2_one, 5)) == 10
    triv = IrrepSpec("cyclic", 4, 0, 0)
    assert [len(sample_irreps_basis(triv, triv, k)) for k in (3, 5, 7)] == [2, 3, 4]


@pytest.mark.parametrize("N", [4, 8, 16])
def test_known_counts_regular(N):
    def count(k, ins, outs):
        return sum(mi * mo * len(sample_irreps_basis(si, so, k)) for si, mi in ins for so, mo in outs)

    reg_c = [(s, 1) for s in all_irreps("cyclic", N)]
    reg_d = [(s, s.dim) for s in all_irreps("dihedral", N)]
    triv_c = [(IrrepSpec("cyclic", N, 0, 0), 1)]
    triv_d = [(IrrepSpec("dihedral", N, 0, 0), 1)]
    assert [count(k, triv_c, reg_c) for k in (3, 5, 7)] == [6, 11, 18]
    assert [count(k, triv_d, reg_d) for k in (3, 5, 7)] == [6, 11, 18]
    if N == 8:
        assert [count(k, reg_c, reg_c) for k in (3, 5, 7)] == [48, 88, 144]
        assert [count(k, reg_d, reg_d) for k in (3, 5, 7)] == [96, 176, 288]


def test_maximum_offset_limits_aliasing():
    triv = IrrepSpec("cyclic", 2, 0, 0)
    free = irreps_harmonics(triv, triv, 6)
    limited = irreps_harmonics(triv, triv, 6, maximum_offset=1)
    assert max(abs(h.offset) for h in free) == 3
    assert max(abs(h.offset) for h in limited) == 1


def test_defaults():
    assert default_rings(7) == [0.0, 1.0, 2.0, 3.0]
    assert default_rings(5, dilation=2) == [0.0, 2.0, 4.0]
    assert default_sigma([0.0, 1.0, 2.0, 3.0]) == [0.005, 0.6, 0.6, 0.4]
    fco = ManualFrequencyCutoff(3)
    assert [fco(r) for r in (0, 1, 2, 3)] == [0, 2, 3, 2]
    rings, sigma, cutoff = resolve_basis_params(5, sigma=0.5, frequencies_cutoff=1.5)
    assert sigma == (0.5, 0.5, 0.5)
    assert cutoff == LinearFrequencyCutoff(1.5)
    assert pickle.loads(pickle.dumps(fco)) == fco


def test_basis_is_cached():
    one = IrrepSpec("dihedral", 4, 1, 1)
    assert sample_irreps_basis(one, one, 5) is sample_irreps_basis(one, one, 5)
    assert not sample_irreps_basis(one, one, 5).array.flags.writeable


def test_empty_basis_for_kernel_size_two():
    triv = IrrepSpec("cyclic", 4, 0, 0)
    assert len(sample_irreps_basis(triv, triv, 2)) == 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"kernel_size": 0}, "kernel_size=0"),
        ({"kernel_size": 3, "dilation": 0}, "dilation=0"),
        ({"kernel_size": 3, "rings": [-1.0, 1.0]}, "rings="),
        ({"kernel_size": 3, "sigma": [0.1]}, "sigma="),
        ({"kernel_size": 3, "sigma": -1.0}, "sigma="),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve_basis_params(**kwargs)


def test_bad_cutoff_and_offset():
    triv = IrrepSpec("cyclic", 4, 0, 0)
    with pytest.raises(TypeError, match="frequencies_cutoff='x'"):
        sample_irreps_basis(triv, triv, 3, frequencies_cutoff="x")
    with pytest.raises(ValueError, match="maximum_offset=-1"):
        sample_irreps_basis(triv, triv, 3, maximum_offset=-1)
    with pytest.raises(ValueError, match="different groups"):
        irreps_harmonics(triv, IrrepSpec("cyclic", 8, 0, 0), 2)


@pytest.mark.parametrize(
    "args,match",
    [
        (("square", 4, 0, 0), "kind='square'"),
        (("cyclic", 0, 0, 0), "N=0"),
        (("cyclic", 4, 1, 0), "j=1"),
        (("cyclic", 4, 0, 3), "k=3"),
        (("dihedral", 4, 0, 1), "j=1"),
    ],
)
def test_bad_irrep_spec(args, match):
    with pytest.raises(ValueError, match=match):
        IrrepSpec(*args)


@pytest.mark.oracle
def test_irreps_pair_bases_match_reference_library():
    gspaces = pytest.importorskip("e2cnn.gspaces")
    enn = pytest.importorskip("e2cnn.nn")

    def spec(kind, N, irr):
        attrs = irr.attributes
        if kind == "dihedral":
            return IrrepSpec(kind, N, attrs["flip_frequency"], attrs["frequency"])
        return IrrepSpec(kind, N, 0, attrs["frequency"])

    for kind, N, gs in [("cyclic", 6, gspaces.Rot2dOnR2(6)), ("dihedral", 4, gspaces.FlipRot2dOnR2(4))]:
        irreps = list(gs.fibergroup.irreps.values())
        for ri, ro in itertools.product(irreps, irreps):
            for k, dilation, offset in [(5, 1, None), (5, 2, None), (7, 1, 0)]:
                mine = sample_irreps_basis(
                    spec(kind, N, ri), spec(kind, N, ro), k, dilation, maximum_offset=offset
                )
                key = [
                    (
                        float(a["radius"]),
                        int(a["frequency"]),
                        round(float(a["gamma"]), 6),
                        int(a["s"]),
                        int(a["offset"]),
                    )
                    for a in mine.attributes
                ]
                try:
                    conv = enn.R2Conv(
                        enn.FieldType(gs, [ri]),
                        enn.FieldType(gs, [ro]),
                        k,
                        dilation=dilation,
                        maximum_offset=offset,
                        initialize=False,
                    )
                    theirs = [
                        (
                            float(a["radius"]),
                            int(a["frequency"]),
                            round(float(a["gamma"]), 6),
                            int(a.get("s", 0)),
                            int(a["offset"]),
                        )
                        for a in conv.basisexpansion.get_basis_info()
                    ]
                except ValueError:
                    theirs = []
                assert sorted(key) == sorted(theirs), (kind, N, ri.name, ro.name, k, dilation, offset)
