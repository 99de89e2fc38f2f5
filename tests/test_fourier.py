"""Fourier non-linearities (FourierPointwise, FourierELU, QuotientFourierPointwise, QuotientFourierELU) and the
group / sphere grids of ``structconv.group.grids``.

Reference numbers: escnn 1.0.11 (``tools/escnn_reference_fourier.py`` -> ``tests/data/escnn_fourier.json``).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.group import (
    cyclic_group,
    dihedral_group,
    flip_group,
    full_octa_group,
    ico_group,
    o3_group,
    octa_group,
    so2_group,
    so3_group,
)
from structconv.group.grids import (
    fibonacci_sphere,
    grid,
    sphere_grid,
    sphere_poles,
    thomson_so3,
    thomson_sphere,
)
from structconv.nn import (
    FourierELU,
    FourierPointwise,
    GeometricTensor,
    QuotientFourierELU,
    QuotientFourierPointwise,
)
from structconv.testing import assert_equivariant

DATA = json.loads((Path(__file__).parent / "data" / "escnn_fourier.json").read_text())
FACTORIES = {"rot2dOnR2": gspaces.Rot2dOnR2, "flipRot2dOnR2": gspaces.FlipRot2dOnR2}
CLASSES = {
    "FourierPointwise": FourierPointwise,
    "FourierELU": FourierELU,
    "QuotientFourierPointwise": QuotientFourierPointwise,
    "QuotientFourierELU": QuotientFourierELU,
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The tensors here are tiny: one thread avoids the cost of waking idle workers on busy machines."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def _gspace(factory):
    return FACTORIES.get(factory[0], getattr(gspaces, factory[0], None))(*factory[1:])


def _input(size: int, shape) -> np.ndarray:
    """The oracle's input: ``sin(0.37 n + 0.1) + 0.2`` over the flat index of ``(2, size, *shape)``."""
    n = 2 * size * int(np.prod(shape))
    return (np.sin(0.37 * np.arange(n) + 0.1) + 0.2).reshape(2, size, *shape)


def _ids(x):
    return None if x is None else [tuple(i) for i in x]


def _build(case):
    gs = _gspace(case["factory"])
    G = gs.fibergroup
    if case["label"] == "octa_regular":  # escnn has no grid here: its reference is Q^T elu(Q x)
        return FourierELU(gs, case["channels"], _ids(case["irreps"]))
    kw = dict(case["grid_kwargs"])
    if case["function"] is not None:
        kw["function"] = case["function"]
    if case["sphere_grid"] is not None:
        kw["grid"] = sphere_grid(G, *case["sphere_grid"])
    sg = case["subgroup_id"]
    sg = tuple(sg) if isinstance(sg, list) else sg
    head = (
        (gs, case["channels"], _ids(case["irreps"]))
        if sg is None
        else (gs, sg, case["channels"], _ids(case["irreps"]))
    )
    return CLASSES[case["class"]](
        *head, *case["grid_args"], out_irreps=_ids(case["out_irreps"]), normalize=case["normalize"], **kw
    )


def _fiber_error(m, elements, seed=0, n=8):
    """Worst relative ``|f(ρ(g) x) - ρ_out(g) f(x)|`` over ``elements`` on ``n`` single-pixel fields (float64)."""
    nd = getattr(m.space, "dimensionality", 2)
    x = torch.randn(
        n, m.in_type.size, *(1,) * nd, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    y = m(GeometricTensor(x, m.in_type)).tensor
    worst = 0.0
    for g in elements:
        rin = m.in_type.fiber_matrix(g).to(torch.float64)
        rout = m.out_type.fiber_matrix(g).to(torch.float64)
        y1 = m(GeometricTensor(torch.einsum("ij,bj...->bi...", rin, x), m.in_type)).tensor
        y2 = torch.einsum("ij,bj...->bi...", rout, y)
        worst = max(worst, float((y1 - y2).abs().max() / y2.abs().max()))
    return worst


# --------------------------------------------------------------------------------------------- escnn parity
@pytest.mark.parametrize("case", DATA["cases"], ids=[c["label"] for c in DATA["cases"]])
def test_matches_escnn(case):
    m = _build(case)
    assert m.in_type.size == case["in_size"] * case["channels"]
    assert m.out_type.size == case["out_size"] * case["channels"]
    assert [list(m.space.fibergroup.irreps[n].id) for n in m.rho.irreps] == case["in_irreps"]
    if case["label"] != "octa_regular":
        assert m.rho.name == case["in_name"]
    assert len(m.grid) == case["grid_size"]
    A = np.array(case["A"]).reshape(case["grid_size"], -1)
    Ainv = np.array(case["Ainv"]).reshape(-1, case["grid_size"])
    ours, ours_inv = m.A.numpy(), m.Ainv.numpy()
    if case["sphere_grid"] is None:
        np.testing.assert_allclose(ours, A, atol=1e-6)
        np.testing.assert_allclose(ours_inv, Ainv, atol=1e-6)
    else:  # the same points in another order: the rows of A (columns of Ainv) match up to a permutation
        d = np.abs(ours[:, None, :] - A[None, :, :]).max(axis=2)
        perm = d.argmin(axis=0)
        assert sorted(perm) == list(range(len(A)))
        np.testing.assert_allclose(ours[perm], A, atol=1e-6)
        np.testing.assert_allclose(ours_inv[:, perm], Ainv, atol=1e-6)
    x = torch.tensor(_input(m.in_type.size, case["shape"]), dtype=torch.float32)
    y = m(GeometricTensor(x, m.in_type)).tensor
    assert y.dtype == torch.float32
    np.testing.assert_allclose(y.detach().numpy().ravel(), case["output"], atol=2e-6, rtol=0)


# --------------------------------------------------------------------------------------------- equivariance
S3, O3 = gspaces.rot3dOnR3(), gspaces.flipRot3dOnR3()
_OCTA = [S3.fibergroup.element(g.value, "Q") for g in octa_group().elements]
_ICO = [S3.fibergroup.element(g.value, "Q") for g in ico_group().elements]
_OCTA_O3 = [O3.fibergroup.element((j, g.value), "Q") for j in (0, 1) for g in octa_group().elements]
_ICO_O3 = [O3.fibergroup.element((j, g.value), "Q") for j in (0, 1) for g in ico_group().elements]

EXACT = {
    # the grid is (or is stable under) a subgroup: exact for its elements
    "C8-regular": (
        lambda: FourierELU(gspaces.Rot2dOnR2(8), 2, [(k,) for k in range(5)], "regular", 8),
        list(range(8)),
    ),
    "C8-sub4": (
        lambda: FourierPointwise(gspaces.Rot2dOnR2(8), 1, [(k,) for k in range(5)], "regular", 4),
        [0, 2, 4, 6],
    ),
    "D4-regular": (
        lambda: FourierELU(
            gspaces.FlipRot2dOnR2(4), 2, [(0, 0), (1, 0), (1, 1), (1, 2), (0, 2)], "regular", 4
        ),
        [(f, k) for f in (0, 1) for k in range(4)],
    ),
    "SO2-N8": (
        lambda: FourierELU(gspaces.Rot2dOnR2(-1), 2, [(0,), (1,), (2,)], N=8),
        [np.pi * k / 4 for k in range(8)],
    ),
    "O2-N8": (
        lambda: FourierELU(gspaces.FlipRot2dOnR2(-1), 2, [(0, 0), (1, 0), (1, 1), (1, 2)], N=8),
        [(f, np.pi * k / 4) for f in (0, 1) for k in range(8)],
    ),
    "SO3-cube": (lambda: FourierELU(S3, 2, S3.fibergroup.bl_irreps(2), "cube"), _OCTA),
    "SO3-ico": (
        lambda: FourierPointwise(S3, 1, S3.fibergroup.bl_irreps(2), type="ico", function="p_tanh"),
        _ICO,
    ),
    "O3-cube": (lambda: FourierELU(O3, 1, O3.fibergroup.bl_irreps(2), "cube"), _OCTA_O3),
    "ico-all": (
        lambda: FourierELU(gspaces.icoOnR3(), 1, [p.id for p in ico_group().irreps()]),
        ico_group().elements[::3],
    ),
    "octa-all": (
        lambda: FourierELU(gspaces.octaOnR3(), 2, [p.id for p in octa_group().irreps()]),
        octa_group().elements,
    ),
    "sphere-ico": (
        lambda: QuotientFourierELU(
            S3, (False, -1), 2, S3.fibergroup.bl_irreps(2), grid=sphere_grid(S3.fibergroup, "ico")
        ),
        _ICO,
    ),
    "sphere-cube": (
        lambda: QuotientFourierPointwise(
            S3, (False, -1), 2, S3.fibergroup.bl_irreps(1), grid=sphere_grid(S3.fibergroup, "cube")
        ),
        _OCTA,
    ),
    "O3-sphere-ico": (
        lambda: QuotientFourierELU(
            O3, ("cone", -1), 1, O3.fibergroup.bl_irreps(2), grid=sphere_grid(O3.fibergroup, "ico")
        ),
        _ICO_O3,
    ),
    "D8-flip-quotient": (
        lambda: QuotientFourierELU(
            gspaces.FlipRot2dOnR2(8),
            (0, 1),
            1,
            [(0, 0), (1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (0, 4)],
            "regular",
            8,
        ),
        [(f, k) for f in (0, 1) for k in range(8)],
    ),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exactly_equivariant_on_grid_symmetries(name):
    build, elements = EXACT[name]
    assert _fiber_error(build(), elements) <= 1e-10


#: (module, elements, bound): generic elements; measured worst relative errors (8 fields, float64) in comments
APPROX = {
    # SO(2), 16 angles, band limit 2, 10 random angles: 0.0086 (8 angles: 0.071, 32: 0.0010)
    "SO2-N16": (lambda: FourierELU(gspaces.Rot2dOnR2(-1), 2, [(0,), (1,), (2,)], N=16), "so2", 0.02),
    # SO(3), our thomson grid of 40 rotations, band limit 1: 0.030 (band limit 2: 0.31; 96 points: 0.077;
    # 192 points: 0.024; escnn's 'ico' (60) at band limit 2: 0.23)
    "SO3-thomson40-L1": (
        lambda: FourierELU(S3, 2, S3.fibergroup.bl_irreps(1), type="thomson", N=40),
        "so3",
        0.06,
    ),
    # sphere, our thomson grid of 40 points, band limit 2: 0.014 (20: 0.050, 100: 0.0020; escnn's fibonacci
    # points: 20: 0.13, 40: 0.029, 100: 0.010; 'ico' (30): 0.070)
    "sphere-thomson40": (
        lambda: QuotientFourierELU(
            S3, (False, -1), 2, S3.fibergroup.bl_irreps(2), grid=sphere_grid(S3.fibergroup, "thomson", 40)
        ),
        "so3",
        0.03,
    ),
}


@pytest.mark.parametrize("name", sorted(APPROX))
def test_approximately_equivariant_on_generic_elements(name):
    build, kind, bound = APPROX[name]
    if kind == "so2":
        elements = [float(t) for t in np.random.default_rng(0).uniform(0, 2 * np.pi, 10)]
    else:
        elements = [S3.fibergroup.sample(i) for i in range(10)]
    err = _fiber_error(build(), elements)
    assert 1e-6 < err < bound, f"{name}: worst relative equivariance error {err:.3g} (bound {bound})"


def test_assert_equivariant_planar_and_volumetric():
    m = FourierELU(gspaces.Rot2dOnR2(8), 1, [(k,) for k in range(5)], "regular", 8)
    assert_equivariant(m, elements=[0, 2, 4, 6], spatial_size=9)
    m3 = FourierELU(gspaces.octaOnR3(), 1, [p.id for p in octa_group().irreps()])
    assert_equivariant(m3, spatial_size=5)


# --------------------------------------------------------------------------------------------- shapes, dtypes
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_dtypes(dtype):
    m = FourierELU(gspaces.Rot2dOnR2(-1), 3, [(0,), (1,), (2,)], N=8, out_irreps=[(0,), (1,)])
    assert (m.in_type.size, m.out_type.size) == (15, 9)
    x = torch.randn(2, 15, 4, 5, dtype=dtype)
    x0 = x.clone()
    y = m(GeometricTensor(x, m.in_type))
    assert y.tensor.shape == (2, 9, 4, 5) and y.tensor.dtype == dtype and y.type == m.out_type
    assert torch.equal(x, x0)  # inplace=True acts on the samples, never on the input
    assert m.evaluate_output_shape((2, 15, 4, 5)) == (2, 9, 4, 5)
    m3 = QuotientFourierELU(
        S3, (False, -1), 2, S3.fibergroup.bl_irreps(2), grid=sphere_grid(S3.fibergroup, "cube")
    )
    y3 = m3(GeometricTensor(torch.randn(1, 18, 2, 3, 4, dtype=dtype), m3.in_type)).tensor
    assert y3.shape == (1, 18, 2, 3, 4) and y3.dtype == dtype


def test_forward_is_per_channel_and_position():
    """The vectorised forward equals the slow loop over fields and pixels."""
    m = FourierPointwise(S3, 2, S3.fibergroup.bl_irreps(1), "cube", function="p_elu", out_irreps=[(0,), (2,)])
    m = m.double()  # A and Ainv in float64, re-cast from their float64 masters
    x = torch.randn(2, 20, 1, 2, 2, dtype=torch.float64)
    y = m(GeometricTensor(x, m.in_type)).tensor
    A, Ainv = m.A, m.Ainv
    for c in range(2):
        for idx in np.ndindex(2, 1, 2, 2):
            b, p = idx[0], idx[1:]
            v = x[(b, slice(10 * c, 10 * c + 10), *p)]
            ref = Ainv @ torch.nn.functional.elu(A @ v)
            torch.testing.assert_close(y[(b, slice(26 * c, 26 * c + 26), *p)], ref)


def test_buffers_follow_the_default_dtype_and_casts():
    m = FourierELU(S3, 1, [(0,), (1,)], "cube")
    assert m.A.dtype == torch.float32 and m.export()[0].weight.dtype == torch.float32
    x = torch.randn(1, m.in_type.size, 2, 2, 2, dtype=torch.float64)
    y64 = m(GeometricTensor(x, m.in_type)).tensor  # a float64 input is computed with the float64 masters
    m64 = FourierELU(S3, 1, [(0,), (1,)], "cube").double()
    assert m64.A.dtype == torch.float64 and m64.export()[0].weight.dtype == torch.float64
    torch.testing.assert_close(y64, m64(GeometricTensor(x, m64.in_type)).tensor, rtol=0, atol=1e-14)
    assert torch.equal(m64.float().A, m.A)  # cast from the master, not from a rounded copy


def test_gradcheck():
    m = FourierELU(gspaces.Rot2dOnR2(-1), 1, [(0,), (1,)], N=5)
    x = torch.randn(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: m(GeometricTensor(t, m.in_type)).tensor, (x,))
    q = QuotientFourierPointwise(
        S3, (False, -1), 1, [(0,), (1,)], grid=sphere_grid(S3.fibergroup, "cube"), function="p_sigmoid"
    )
    x3 = torch.randn(1, 4, 1, 1, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: q(GeometricTensor(t, q.in_type)).tensor, (x3,))


@pytest.mark.parametrize("where", ["planar", "volumetric"])
def test_export_equals_module(where):
    if where == "planar":
        m = FourierPointwise(gspaces.FlipRot2dOnR2(-1), 2, [(0, 0), (1, 0), (1, 1)], N=6, function="p_relu")
        x = torch.randn(2, m.in_type.size, 3, 3)
    else:
        m = QuotientFourierELU(
            O3,
            ("cone", -1),
            2,
            O3.fibergroup.bl_irreps(2),
            grid=sphere_grid(O3.fibergroup, "ico"),
            out_irreps=O3.fibergroup.bl_irreps(1),
        )
        x = torch.randn(2, m.in_type.size, 2, 2, 3)
    plain = m.export()
    assert isinstance(plain, torch.nn.Sequential) and not plain.training
    assert all(type(mod).__module__.startswith("torch.") for mod in plain.modules())
    torch.testing.assert_close(
        plain(x.clone()), m(GeometricTensor(x, m.in_type)).tensor, atol=2e-6, rtol=1e-5
    )


def test_state_dict_repr_and_pickle():
    m = FourierELU(S3, 2, S3.fibergroup.bl_irreps(1), "cube")
    assert set(m.state_dict()) == {"A", "Ainv"}  # escnn's buffer names
    m2 = FourierELU(S3, 2, S3.fibergroup.bl_irreps(1), "cube")
    m2.load_state_dict(m.state_dict())
    r = repr(m)
    assert "FourierELU" in r and "->" in r and "p_elu" in r and "24 points" in r
    again = pickle.loads(pickle.dumps(m))
    x = torch.randn(1, 20, 1, 1, 2)
    torch.testing.assert_close(
        again(GeometricTensor(x, again.in_type)).tensor, m(GeometricTensor(x, m.in_type)).tensor
    )
    assert (
        m.in_type == FourierELU(S3, 2, S3.fibergroup.bl_irreps(1), "ico").in_type
    )  # the type does not depend on the grid


# --------------------------------------------------------------------------------------------- bad arguments
SO2S = gspaces.Rot2dOnR2(-1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: FourierELU(SO2S, 0, [(0,), (1,)], N=4), ValueError, r"channels=0 .*int >= 1"),
        (
            lambda: FourierPointwise(SO2S, 1, [(0,), (1,)], N=4, function="relu"),
            ValueError,
            r"function='relu' .*p_elu",
        ),
        (lambda: FourierELU(SO2S, 1, [], N=4), ValueError, r"irreps=\[\] .*non-empty list"),
        (
            lambda: FourierELU(SO2S, 1, [(0,), (1, 2)], N=4),
            ValueError,
            r"irreps contains \(1, 2\).*not an irrep id",
        ),
        (lambda: FourierELU(SO2S, 1, [(0,), (0,)], N=4), ValueError, r"twice"),
        (lambda: FourierELU(SO2S, 1, [(0,)], N=4, out_irreps=[(-3,)]), ValueError, r"out_irreps contains"),
        (
            lambda: FourierELU(SO2S, 1, [(0,)], N=4, type="hexagonal"),
            ValueError,
            r"type='hexagonal' .*'regular' or 'rand'",
        ),
        (lambda: FourierELU(SO2S, 1, [(0,)], N=0), ValueError, r"N=0 .*int >= 1"),
        (
            lambda: FourierELU(gspaces.Rot2dOnR2(8), 1, [(0,)], "regular", 3),
            ValueError,
            r"N=3 does not divide",
        ),
        (lambda: FourierELU(gspaces.Rot2dOnR2(8), 1, [(0,)]), TypeError, r"'type' is missing"),
        (lambda: FourierELU(S3, 1, [(0,)], "geodesic", 10), ValueError, r"type='geodesic' .*thomson"),
        (lambda: FourierELU(SO2S, 1, [(0,)], N=4, inplace="yes"), TypeError, r"inplace='yes' .*bool"),
        (lambda: FourierELU("plane", 1, [(0,)], N=4), TypeError, r"gspace='plane' .*GSpace"),
        (
            lambda: QuotientFourierELU(S3, (False, 7.5), 1, [(0,)], grid=sphere_grid(S3.fibergroup, "cube")),
            ValueError,
            r"subgroup_id=\(False, 7.5\) .*not a subgroup",
        ),
        (
            lambda: QuotientFourierELU(
                S3, (False, -1), 1, [(0,)], "cube", grid=sphere_grid(S3.fibergroup, "cube")
            ),
            ValueError,
            r"grid is given together",
        ),
        (
            lambda: QuotientFourierELU(S3, (False, -1), 1, [(0,)], grid=[1.5]),
            ValueError,
            r"grid contains 1.5",
        ),
        (lambda: sphere_grid(so2_group(), "ico"), ValueError, r"G=.* SO\(3\) or O\(3\)"),
        (lambda: sphere_grid(so3_group(), "geodesic", 10), ValueError, r"type='geodesic' .*fibonacci"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_input():
    m = FourierELU(SO2S, 1, [(0,), (1,)], N=4)
    with pytest.raises(TypeError, match="GeometricTensor"):
        m(torch.randn(1, 3, 2, 2))
    other = FourierELU(SO2S, 1, [(0,), (1,), (2,)], N=6)
    with pytest.raises(ValueError, match="field type"):
        m(GeometricTensor(torch.randn(1, 5, 2, 2), other.in_type))
    with pytest.raises(ValueError, match=r"input_shape=\(1, 4\)"):
        m.evaluate_output_shape((1, 4))


# --------------------------------------------------------------------------------------------- grids
def test_group_grids():
    assert grid(so2_group(), 4) == [0.0, np.pi / 2, np.pi, 3 * np.pi / 2]
    assert grid(o3_group(), "rand", 3, seed=1) == grid(o3_group(), "rand", 3, seed=1)
    assert len(grid(o3_group(), "cube")) == 48 and len(grid(o3_group(), "ico")) == 120
    assert len(grid(so3_group(), "tetra")) == 12 and len(grid(full_octa_group())) == 48
    assert grid(dihedral_group(4), "regular", 2) == [(0, 0), (0, 2), (1, 0), (1, 2)]
    assert grid(flip_group(), "regular", 1) == [0, 1] and grid(cyclic_group(8), type="regular", N=4) == [
        0,
        2,
        4,
        6,
    ]
    G = so3_group()
    a = G.sample(3)
    R = a.to("MAT")
    for t, args in (("thomson", (5,)), ("cube", ())):  # adj conjugates: adj g adj^-1 (escnn's)
        for g, h in zip(grid(G, t, *args, adj=a), grid(G, t, *args)):
            np.testing.assert_allclose(g.to("MAT"), R @ h.to("MAT") @ R.T, atol=1e-12)
    assert thomson_so3(30) is thomson_so3(30)  # cached
    q = thomson_so3(24)
    assert q.shape == (24, 4) and not q.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0)
    # spread: the smallest angle between two rotations, near the 24 rotations of the cube (pi/2)
    c = np.abs(q @ q.T)
    np.fill_diagonal(c, 0.0)
    assert 2 * np.arccos(c.max()) > 0.85 * np.pi / 2


def test_sphere_grids():
    G = so3_group()
    P = sphere_poles(sphere_grid(G, "cube"))
    np.testing.assert_allclose(
        sorted(map(tuple, np.round(P, 12) + 0.0)), sorted(map(tuple, np.vstack([np.eye(3), -np.eye(3)])))
    )
    ico = sphere_poles(sphere_grid(G, "ico"))
    c = ico @ ico.T
    np.fill_diagonal(c, -1.0)
    assert ico.shape == (30, 3) and np.isclose(np.arccos(c.max()), np.pi / 5)  # neighbouring edge centres
    t = thomson_sphere(40)
    c = t @ t.T
    np.fill_diagonal(c, -1.0)
    f = fibonacci_sphere(40)
    cf = f @ f.T
    np.fill_diagonal(cf, -1.0)
    assert np.arccos(c.max()) > np.arccos(cf.max())  # the energy spreads the Fibonacci start
    # each representative maps the north pole to its point; O(3)'s are rotations, to the antipodes (escnn's)
    for e, p in zip(sphere_grid(o3_group(), "thomson", 12), thomson_sphere(12)):
        assert e.value[0] == 0
        np.testing.assert_allclose(sphere_poles([e])[0], -p, atol=1e-12)
