"""Numbers of ``structconv.group`` / ``gspaces`` / ``kernels`` against e2cnn 0.2.3 (the oracle).

Matrices are compared, never only characters (a trace cannot tell a matrix from its transpose): irreps,
regular, quotient, induced and restricted representations at every element (finite groups) or at the
testing elements (SO(2), O(2)); changes of basis where the conventions agree; ``disentangle``; and the
kernel bases: every ``kernels.kernels_*_act_R2`` and ``gspace.build_kernel_basis`` is sampled on the same
points by both libraries and compared element by element, with the same attributes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from structconv import group as sg
from structconv import gspaces as sgs
from structconv import kernels as sk

pytestmark = pytest.mark.oracle

#: documented deviations: (object, what) -> reason. Everything else must agree.
from _e2cnn_deviations import DEVIATIONS  # noqa: E402,F401 - the one list, documented there


def _oracle():
    e2cnn = pytest.importorskip("e2cnn")
    warnings.filterwarnings("ignore", category=UserWarning)
    return e2cnn


def _groups():
    out = [("C", n) for n in (1, 2, 3, 4, 5, 6, 8)] + [("D", n) for n in (2, 3, 4, 6)]
    return out + [("SO2", 4), ("O2", 4)]


def _pair(kind: str, n: int):
    e2 = _oracle().group
    if kind == "C":
        return e2.cyclic_group(n), sg.cyclic_group(n)
    if kind == "D":
        return e2.dihedral_group(n), sg.dihedral_group(n)
    if kind == "SO2":
        return e2.so2_group(n), sg.so2_group(n)
    return e2.o2_group(n), sg.o2_group(n)


def _elements(G):
    return (
        list(G.elements)
        if not G.continuous
        else G.testing_elements() + [0.123 if G.name == "SO(2)" else (1, 0.123)]
    )


def _max_diff(a, b, elements) -> float:
    return max(float(np.abs(np.asarray(a(e)) - b(e)).max()) for e in elements)


# ---------------------------------------------------------------------------------------- groups and irreps
@pytest.mark.parametrize("kind,n", _groups())
def test_groups_and_irreps_match(kind: str, n: int) -> None:
    theirs, ours = _pair(kind, n)
    assert ours.name == theirs.name and ours.order() == theirs.order()
    assert ours.abelian == theirs.abelian and ours.continuous == theirs.continuous
    assert ours.elements_names == theirs.elements_names
    if not ours.continuous:
        assert ours.elements == list(theirs.elements)
    if kind in ("D", "O2"):
        assert ours.rotation_order == theirs.rotation_order
        assert ours.reflection == theirs.reflection
    assert list(ours.irreps) == list(theirs.irreps)
    # the registries are process-wide (other tests add quotients...): compare the part every group starts with
    start = list(ours.irreps) + ([] if ours.continuous else ["regular"])
    assert list(ours.representations)[: len(start)] == start
    if ours.continuous:  # e2cnn keeps one SO(2) / O(2) for all maximum frequencies, grown in call order
        assert all(n in theirs.representations for n in start)
    else:
        assert list(theirs.representations)[: len(start)] == start
    els = _elements(ours)
    for name, t in theirs.irreps.items():
        o = ours.irreps[name]
        assert (o.size, o.sum_of_squares_constituents) == (t.size, t.sum_of_squares_constituents), name
        assert o.attributes == t.attributes, name
        assert set(o.supported_nonlinearities) == set(t.supported_nonlinearities), name
        assert _max_diff(t, o, els) < 1e-12, name
        assert _max_diff(t.representation, o.representation, els) < 1e-12, name


def _probe_elements(G) -> list:
    """Canonical, out-of-range and malformed elements, to compare is_element / combine / inverse."""
    if G.name.startswith("C"):
        return [0, G.order() - 1, G.order(), -1, 1.0, True, "a", (0, 1), None]
    if G.name.startswith("D"):
        n = G.order() // 2
        return [(0, 0), (1, n - 1), (True, 1), (2, 0), (0, n), (0, -1), (1, 1.0), [1, 1], (0,), (0, 0, 0), 3]
    if G.name == "SO(2)":
        return [0.0, 1.0, 2 * math.pi, 7.0, -1.0, -7.0, 3, (0, 1.0), "a", np.float64(2.0)]
    return [(0, 0.0), (1, 7.0), (0, -1.0), (1, -7.5), (2, 0.0), (1, 3), [1, 1.0], 1.0]


#: is_element: numpy scalars stand for python ints / floats here, non-finite angles are not elements
#: (a documented deviation); e2cnn answers the opposite on each of these.
IS_ELEMENT_DEVIATIONS = {
    "C": [np.int64(0)],
    "D": [(np.int64(1), 1), (1, np.int64(0))],
    "SO2": [np.float32(1.0), float("nan"), float("inf")],
    "O2": [(np.int64(1), 0.5), (1, np.float32(0.5)), (0, float("nan"))],
}


@pytest.mark.parametrize("kind,n", _groups())
def test_element_operations_match(kind: str, n: int) -> None:
    """is_element, identity, combine, inverse, equal and testing_elements give e2cnn's values (bit for bit
    on the canonical elements; equal: see the documented deviations)."""
    theirs, ours = _pair(kind, n)
    assert ours.identity == theirs.identity and type(ours.identity) is type(theirs.identity)
    probes = _probe_elements(ours)
    assert [ours.is_element(e) for e in probes] == [theirs.is_element(e) for e in probes], probes
    for e in IS_ELEMENT_DEVIATIONS[kind]:
        assert ours.is_element(e) != theirs.is_element(e), e
    t_test = list(theirs.testing_elements())
    assert ours.testing_elements() == t_test and len(t_test) == {"SO2": 52, "O2": 104}.get(kind, len(t_test))
    canonical = [e for e in probes if theirs.is_element(e)] + t_test[:: max(1, len(t_test) // 7)]
    for a in canonical:
        assert ours.inverse(a) == theirs.inverse(a), a
        for b in canonical:
            assert ours.combine(a, b) == theirs.combine(a, b), (a, b)
            assert ours.equal(a, b) == theirs.equal(a, b), (a, b)
    if ours.continuous:  # equal: e2cnn's window is one-sided, ours symmetric (a documented deviation)
        x = t_test[3]
        shifted = (x + 3e-9) if kind == "SO2" else (x[0], x[1] + 3e-9)
        assert ours.equal(x, shifted) and theirs.equal(x, shifted)
        assert ours.equal(shifted, x) and not theirs.equal(shifted, x)


def test_flip_gspace_group_matches() -> None:
    eg = _oracle().gspaces
    t, o = eg.Flip2dOnR2(), sgs.Flip2dOnR2()
    tG, oG = t.fibergroup, o.fibergroup
    assert (oG.name, oG.order(), oG.elements, oG.elements_names) == (
        tG.name,
        tG.order(),
        list(tG.elements),
        tG.elements_names,
    )
    assert list(oG.irreps) == list(tG.irreps) and list(oG.representations)[:3] == list(tG.representations)[:3]
    assert oG.irrep(1).name == tG.irrep(1).name and oG.irrep(1).attributes == tG.irrep(1).attributes
    assert o.representations["irrep_1"] is oG.irrep(1) and o.irrep(1) is oG.irrep(1)
    for g in oG.elements:
        np.testing.assert_array_equal(o.representations["irrep_1"](g), t.representations["irrep_1"](g))
        np.testing.assert_allclose(o.regular_repr(g), t.regular_repr(g), atol=1e-15)
    assert o.regular_repr.supported_nonlinearities == set(t.regular_repr.supported_nonlinearities)
    for sid in (1, 2):
        (ts, tp, tc), (os_, op, oc) = t.restrict(sid), o.restrict(sid)
        assert (type(os_).__name__, os_.name, os_.fibergroup.name) == (
            type(ts).__name__,
            ts.name,
            ts.fibergroup.name,
        )
        assert [op(h) for h in os_.fibergroup.elements] == [tp(h) for h in ts.fibergroup.elements]
        assert [oc(g) for g in oG.elements] == [tc(g) for g in tG.elements]
    for N, sids in [(4, [(0, 1), (1, 1), (3, 1)]), (-1, [(0.0, 1), (1.0, 1)])]:
        kw = {"maximum_frequency": 3} if N == -1 else {}
        T, O = eg.FlipRot2dOnR2(N, **kw), sgs.FlipRot2dOnR2(N, **kw)
        for sid in sids:
            (ts, tp, tc), (os_, op, oc) = T.restrict(sid), O.restrict(sid)
            assert (type(os_).__name__, os_.name, os_.fibergroup.name) == (
                type(ts).__name__,
                ts.name,
                ts.fibergroup.name,
            )
            assert os_.axis == pytest.approx(ts.axis) and os_.fibergroup is sg.flip_group()
            assert [op(h) for h in (0, 1)] == [tp(h) for h in (0, 1)]
            flip = tp(1)
            assert oc(flip) == tc(flip) == 1 and oc(T.fibergroup.identity) == tc(T.fibergroup.identity) == 0
    for axis in (0.0, 1.0, 3.5):  # the axis variants: e2cnn's group, name and action
        t, o = eg.Flip2dOnR2(axis=axis), sgs.Flip2dOnR2(axis=axis)
        assert (o.name, o.fibergroup.name, o.axis) == (t.name, t.fibergroup.name, pytest.approx(t.axis))
        x = np.random.default_rng(1).normal(size=(1, 2, 7, 7))
        np.testing.assert_allclose(
            o.featurefield_action(x, o.regular_repr, 1),
            t.featurefield_action(x, t.regular_repr, 1),
            atol=1e-10,
        )


def test_user_defined_irrep_matches() -> None:
    """IrreducibleRepresentation built from e2cnn's constructor arguments: the same values."""
    import inspect

    e2 = _oracle().group
    sig_t = inspect.signature(e2.IrreducibleRepresentation.__init__)
    sig_o = inspect.signature(sg.IrreducibleRepresentation.__init__)
    assert list(sig_o.parameters) == list(sig_t.parameters)
    for tG, oG in [(e2.cyclic_group(5), sg.cyclic_group(5)), (e2.o2_group(3), sg.o2_group(3))]:
        t_psi, o_psi = list(tG.irreps.values())[2], list(oG.irreps.values())[2]
        args = (t_psi.size, t_psi.sum_of_squares_constituents, ["norm"])
        t = e2.IrreducibleRepresentation(tG, "user", lambda g, p=t_psi: p(g), *args, frequency=2, k=1)
        o = sg.IrreducibleRepresentation(oG, "user", lambda g, p=o_psi: p(g), *args, frequency=2, k=1)
        assert (o.name, o.size, o.sum_of_squares_constituents, o.irreps) == (
            t.name,
            t.size,
            t.sum_of_squares_constituents,
            t.irreps,
        )
        assert o.attributes == t.attributes and o.supported_nonlinearities == t.supported_nonlinearities
        assert o.irreducible == t.irreducible and o.is_trivial() == t.is_trivial()
        els = _elements(oG)
        assert _max_diff(t, o, els) < 1e-12
        assert max(abs(t.character(g) - o.character(g)) for g in els) < 1e-12
        np.testing.assert_array_equal(o.change_of_basis, t.change_of_basis)


@pytest.mark.parametrize("kind,n", [(k, n) for k, n in _groups() if k in ("C", "D")])
def test_regular_representation_matches(kind: str, n: int) -> None:
    theirs, ours = _pair(kind, n)
    t, o = theirs.regular_representation, ours.regular_representation
    assert o.irreps == t.irreps
    np.testing.assert_allclose(o.change_of_basis, t.change_of_basis, atol=1e-12)
    assert _max_diff(t, o, ours.elements) < 1e-12


SUBGROUPS = [
    ("C", 8, 2),
    ("C", 8, 4),
    ("C", 6, 3),
    ("D", 4, (None, 2)),
    ("D", 4, (0, 2)),
    ("D", 4, (1, 2)),
    ("D", 6, (None, 3)),
    ("D", 6, (1, 3)),
    ("D", 8, (0, 4)),
    ("D", 4, (0, 1)),  # the flip subgroups: e2cnn's C2 (structconv.group.flip_group())
    ("D", 6, (5, 1)),
]


@pytest.mark.parametrize("kind,n,sid", SUBGROUPS)
def test_quotient_induced_restricted_match(kind: str, n: int, sid) -> None:
    theirs, ours = _pair(kind, n)
    els = ours.elements
    tq, oq = theirs.quotient_representation(sid), ours.quotient_representation(sid)
    assert (oq.name, oq.irreps) == (tq.name, tq.irreps)
    assert _max_diff(tq, oq, els) < 1e-12
    np.testing.assert_allclose(oq.change_of_basis, tq.change_of_basis, atol=1e-12)
    tH, oH = theirs.subgroup(sid)[0], ours.subgroup(sid)[0]
    for name in oH.irreps:
        ti = theirs.induced_representation(sid, tH.irreps[name])
        oi = ours.induced_representation(sid, oH.irreps[name])
        assert (oi.name, oi.irreps) == (ti.name, ti.irreps)
        assert _max_diff(ti, oi, els) < 1e-12, name
        np.testing.assert_allclose(oi.change_of_basis, ti.change_of_basis, atol=1e-12, err_msg=name)
    for rep_name in ["regular", *ours.irreps]:
        t = theirs.restrict_representation(sid, theirs.representations[rep_name])
        o = ours.representations[rep_name].restrict(sid)
        assert o.irreps == t.irreps, rep_name
        assert _max_diff(t, o, oH.elements) < 1e-12, rep_name
        np.testing.assert_allclose(o.change_of_basis, t.change_of_basis, atol=1e-12, err_msg=rep_name)


@pytest.mark.parametrize(
    "kind,n", [("C", n) for n in (1, 2, 3, 4, 6, 8, 9, 12)] + [("D", n) for n in (1, 2, 3, 4, 6, 8)]
)
def test_every_quotient_and_induced_change_of_basis_matches(kind: str, n: int) -> None:
    """The change of basis of the quotient over every subgroup and of the representation induced from
    every irrep of every subgroup (every axis) equals e2cnn's, entry by entry (Frobenius reciprocity)."""
    theirs, ours = _pair(kind, n)
    divisors = [m for m in range(1, n + 1) if n % m == 0]
    sids = divisors if kind == "C" else [(a, m) for m in divisors for a in [None, *range(n // m)]]
    compared = 0
    for sid in sids:
        tH, oH = theirs.subgroup(sid)[0], ours.subgroup(sid)[0]
        pairs = [(theirs.quotient_representation(sid), ours.quotient_representation(sid))]
        pairs += [
            (theirs.induced_representation(sid, tH.irreps[k]), ours.induced_representation(sid, oH.irreps[k]))
            for k in oH.irreps
        ]
        for t, o in pairs:
            assert (o.name, o.irreps) == (t.name, t.irreps)
            np.testing.assert_allclose(o.change_of_basis, t.change_of_basis, atol=1e-12, err_msg=o.name)
            compared += 1
    assert compared >= len(sids) * 2


@pytest.mark.parametrize("n", [4, 6, 12])
def test_every_dihedral_restriction_matches(n: int) -> None:
    """Irreps, change of basis and matrices of the restriction of every irrep and of the regular
    representation to every subgroup C_M and D_M (every axis) of D_n."""
    theirs, ours = _pair("D", n)
    for m in [m for m in range(1, n + 1) if n % m == 0]:
        for axis in [None] + list(range(n // m)):
            sid = (axis, m)  # (axis, 1): the flip group C2, as e2cnn
            H = ours.subgroup(sid)[0]
            for name in [*ours.irreps, "regular"]:
                t = theirs.restrict_representation(sid, theirs.representations[name])
                o = ours.representations[name].restrict(sid)
                assert o.irreps == t.irreps, (sid, name)
                np.testing.assert_allclose(
                    o.change_of_basis, t.change_of_basis, atol=1e-10, err_msg=f"{sid} {name}"
                )
                assert _max_diff(t, o, H.elements) < 1e-12, (sid, name)


def test_continuous_induced_and_restricted_match() -> None:
    e2 = _oracle().group
    tO, oO = e2.o2_group(3), sg.o2_group(3)
    els = _elements(oO)
    for k in range(3):
        # e2cnn's own subgroup object (its so2_group factory may return another cached instance)
        t = tO.induced_representation((None, -1), tO.subgroup((None, -1))[0].irrep(k))
        o = oO.induced_representation((None, -1), sg.so2_group(3).irrep(k))
        assert o.irreps == t.irreps and _max_diff(t, o, els) < 1e-12
        np.testing.assert_allclose(o.change_of_basis, t.change_of_basis, atol=1e-12)
    tq, oq = tO.quotient_representation((None, -1)), oO.quotient_representation((None, -1))
    assert oq.irreps == tq.irreps and _max_diff(tq, oq, els) < 1e-12
    np.testing.assert_allclose(oq.change_of_basis, tq.change_of_basis, atol=1e-12)
    for name in oO.irreps:
        t = tO.restrict_representation((None, -1), tO.irreps[name])
        o = oO.irreps[name].restrict((None, -1))
        assert o.irreps == t.irreps
        assert _max_diff(t, o, _elements(o.group)) < 1e-12
        np.testing.assert_allclose(o.change_of_basis, t.change_of_basis, atol=1e-12)


def test_disentangle_and_change_basis_match() -> None:
    e2 = _oracle().group
    rng = np.random.default_rng(3)
    for tG, oG in [(e2.cyclic_group(4), sg.cyclic_group(4)), (e2.dihedral_group(3), sg.dihedral_group(3))]:
        names = list(oG.irreps)[1:3]
        size = oG.order() + sum(oG.irreps[n].size for n in names)
        perm = np.eye(size)[rng.permutation(size)]
        t = e2.change_basis(
            e2.directsum([tG.regular_representation] + [tG.irreps[n] for n in names]), perm, "p"
        )
        o = sg.change_basis(
            sg.directsum([oG.regular_representation] + [oG.irreps[n] for n in names]), perm, "p"
        )
        assert _max_diff(t, o, oG.elements) < 1e-12
        t_cob, t_parts = e2.disentangle(t)
        o_cob, o_parts = sg.disentangle(o)
        np.testing.assert_array_equal(o_cob, t_cob)
        assert [p.irreps for p in o_parts] == [p.irreps for p in t_parts]
        ds = sg.directsum(o_parts)
        for g in oG.elements:  # e2cnn's convention: rep(g) = cob^T ds(g) cob
            np.testing.assert_allclose(o(g), o_cob.T @ ds(g) @ o_cob, atol=1e-12)
            np.testing.assert_allclose(t(g), t_cob.T @ e2.directsum(t_parts)(g) @ t_cob, atol=1e-12)


def test_directsum_names_are_reusable_and_never_registered() -> None:
    G = sg.cyclic_group(8)
    before = list(G.representations)
    a = sg.directsum([G.irrep(1), G.irrep(2)], name="irreps")
    b = sg.directsum([G.irrep(1), G.irrep(3)], name="irreps")  # e2cnn code reuses names in loops
    assert a != b and a.irreps != b.irreps
    assert list(G.representations) == before
    assert before[:6] == ["irrep_0", "irrep_1", "irrep_2", "irrep_3", "irrep_4", "regular"]
    assert "irreps" not in before and "[irrep_1]_[irrep_2]" not in G.representations
    np.testing.assert_array_equal(b(1)[2:, 2:], G.irrep(3)(1))


# ---------------------------------------------------------------------------------------- kernel bases
_RNG = np.random.default_rng(0)
POINTS = np.concatenate([np.zeros((2, 1)), _RNG.normal(size=(2, 24)) * 2.0], axis=1)
RADII, SIGMA = [0.0, 1.0, 2.5], [0.6, 0.5, 0.4]


def _norm(attr: dict) -> dict:
    out = {}
    for k, v in attr.items():
        if isinstance(v, (np.floating, float)):
            v = float(v)
        elif isinstance(v, np.integer):
            v = int(v)
        out[k] = v
    return out


def _compare_bases(theirs, ours, label: str) -> float:
    assert (ours.dim, tuple(ours.shape)) == (theirs.dim, tuple(theirs.shape)), label
    diff = float(np.abs(theirs.sample(POINTS) - ours.sample(POINTS)).max())
    assert diff < 1e-10, f"{label}: sampled bases differ by {diff}"
    for i in range(theirs.dim):
        t, o = _norm(theirs[i]), _norm(ours[i])
        assert o == t, f"{label}: element {i}: {o} != {t}"
    return diff


def _build(builder_t, builder_o, label):
    ek = _oracle().kernels
    try:
        theirs = builder_t()
    except ek.EmptyBasisException:
        theirs = None
    try:
        ours = builder_o()
    except sk.EmptyBasisException:
        ours = None
    assert (theirs is None) == (ours is None), (
        f"{label}: one library finds an empty basis, the other does not"
    )
    return theirs, ours


@pytest.mark.parametrize("kind,n", _groups())
def test_kernels_act_R2_match(kind: str, n: int) -> None:
    ek = _oracle().kernels
    theirs, ours = _pair(kind, n)
    names = list(theirs.irreps)
    reps = [(theirs.irreps[a], ours.irreps[a]) for a in names]
    if kind in ("C", "D"):
        reps.append((theirs.regular_representation, ours.regular_representation))
    axes = [math.pi / 2, 0.3] if kind in ("D", "O2") else [None]
    bounds = [{"max_frequency": 5}, {"max_offset": 1}, {"max_frequency": 3, "max_offset": 1}]
    if kind in ("SO2", "O2"):
        bounds = [{}]
    fn = {
        "C": "kernels_CN_act_R2",
        "D": "kernels_DN_act_R2",
        "SO2": "kernels_SO2_act_R2",
        "O2": "kernels_O2_act_R2",
    }
    compared = 0
    for ti, oi in reps:
        for to, oo in reps:
            regular = "regular" in (ti.name, to.name)
            for axis in axes[:1] if regular else axes:  # the regular pairs once: they are the slow ones
                for kw in bounds[:1] if regular else bounds:
                    extra = dict(kw) if axis is None else dict(kw, axis=axis)
                    t, o = _build(
                        lambda ti=ti, to=to, extra=extra: getattr(ek, fn[kind])(
                            ti, to, RADII, SIGMA, **extra
                        ),
                        lambda oi=oi, oo=oo, extra=extra: getattr(sk, fn[kind])(
                            oi, oo, RADII, SIGMA, **extra
                        ),
                        f"{fn[kind]} {ti.name}->{to.name} {extra}",
                    )
                    if t is not None:
                        _compare_bases(t, o, f"{fn[kind]} {ti.name}->{to.name} {extra}")
                        compared += 1
    assert compared > 0


def test_flip_and_trivial_kernels_match() -> None:
    e2 = _oracle()
    C2, F, D1 = e2.group.cyclic_group(2), sg.flip_group(), sg.dihedral_group(1)
    reps = [(C2.irrep(i), F.irrep(i)) for i in (0, 1)] + [
        (C2.regular_representation, F.regular_representation)
    ]
    for ti, oi in reps:
        for to, oo in reps:
            for axis in (math.pi / 2, 0.3):
                for kw in ({"max_frequency": 4}, {"max_offset": 1}):
                    t = e2.kernels.kernels_Flip_act_R2(ti, to, RADII, SIGMA, axis=axis, **kw)
                    s = sk.kernels_Flip_act_R2(oi, oo, RADII, SIGMA, axis=axis, **kw)
                    _compare_bases(t, s, f"flip {ti.name}->{to.name} {kw}")
    # D1's irreps give the same basis (FlipRot2dOnR2(1), which e2cnn refuses, uses them)
    for i, o in [(0, 1), (1, 1)]:
        d = sk.kernels_Flip_act_R2(D1.irrep(i, 0), D1.irrep(o, 0), RADII, SIGMA, axis=0.3, max_frequency=4)
        f = sk.kernels_Flip_act_R2(F.irrep(i), F.irrep(o), RADII, SIGMA, axis=0.3, max_frequency=4)
        np.testing.assert_array_equal(d.sample(POINTS), f.sample(POINTS))
    T, C1 = e2.group.trivial_group(), sg.trivial_group()
    t = e2.kernels.kernels_Trivial_act_R2(T.irrep(0), T.irrep(0), RADII, SIGMA, max_frequency=3)
    _compare_bases(
        t, sk.kernels_Trivial_act_R2(C1.irrep(0), C1.irrep(0), RADII, SIGMA, max_frequency=3), "trivial"
    )


GSPACES = [
    ("Rot2dOnR2", (8,), {}),
    ("FlipRot2dOnR2", (4,), {}),
    ("FlipRot2dOnR2", (3,), {"axis": 0.4}),
    ("Rot2dOnR2", (-1,), {"maximum_frequency": 3}),
    ("FlipRot2dOnR2", (-1,), {"maximum_frequency": 3}),
    ("TrivialOnR2", (), {}),
    ("Flip2dOnR2", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", GSPACES)
def test_gspace_build_kernel_basis_matches(name: str, args, kwargs) -> None:
    eg = _oracle().gspaces
    theirs, ours = getattr(eg, name)(*args, **kwargs), getattr(sgs, name)(*args, **kwargs)
    assert ours.basespace == theirs.basespace and ours.dimensionality == theirs.dimensionality
    # the registries are process-wide and e2cnn keeps one SO(2) for every maximum frequency: compare the
    # representations both hold, by name (e2cnn's Flip2dOnR2 shares its C2 with Rot2dOnR2(2))
    common = [n for n in ours.representations if n in theirs.representations]
    assert common[: len(ours.fibergroup.irreps)] == list(ours.fibergroup.irreps)
    t_reps = [theirs.representations[n] for n in common]
    o_reps = [ours.representations[n] for n in common]
    sid = {"Rot2dOnR2": 2, "FlipRot2dOnR2": (None, 1)}.get(name)
    if sid is not None and not ours.fibergroup.continuous and ours.fibergroup.order() % 2 == 0:
        t_reps.append(theirs.quotient_repr(sid))
        o_reps.append(ours.quotient_repr(sid))
    kw = {} if theirs.fibergroup.continuous else {"maximum_frequency": 4}
    for tr, orr in zip(t_reps, o_reps):
        for tr2, or2 in zip(t_reps, o_reps):
            t, o = _build(
                lambda tr=tr, tr2=tr2: theirs.build_kernel_basis(tr, tr2, sigma=0.6, rings=RADII, **kw),
                lambda orr=orr, or2=or2: ours.build_kernel_basis(orr, or2, sigma=0.6, rings=RADII, **kw),
                f"{name} {tr.name}->{tr2.name}",
            )
            if t is None:
                continue
            _compare_bases(t, o, f"{name} {tr.name}->{tr2.name}")  # quotients too: e2cnn's basis


def test_span_of_the_basis_equals_e2cnns() -> None:
    """Stacked with e2cnn's sampled basis, ours adds no dimension: the filter spaces are equal.

    (A wrong ring width, e.g. ``/σ²`` instead of ``/(2σ²)``, doubles the rank of the stack.)
    """
    eg = _oracle().gspaces
    grid = np.stack(np.meshgrid(np.arange(-2, 3.0), np.arange(-2, 3.0)), 0).reshape(2, -1)
    for t_gs, o_gs in [(eg.Rot2dOnR2(8), sgs.Rot2dOnR2(8)), (eg.FlipRot2dOnR2(4), sgs.FlipRot2dOnR2(4))]:
        t = t_gs.build_kernel_basis(t_gs.regular_repr, t_gs.regular_repr, 0.6, RADII, maximum_frequency=4)
        o = o_gs.build_kernel_basis(o_gs.regular_repr, o_gs.regular_repr, 0.6, RADII, maximum_frequency=4)
        T = t.sample(grid).transpose(2, 0, 1, 3).reshape(t.dim, -1)
        O = o.sample(grid).transpose(2, 0, 1, 3).reshape(o.dim, -1)
        r_t, r_o = np.linalg.matrix_rank(T, tol=1e-8), np.linalg.matrix_rank(O, tol=1e-8)
        assert r_t == r_o == np.linalg.matrix_rank(np.concatenate([T, O]), tol=1e-8)


# ---------------------------------------------------------------------------------------- R2Conv filter spaces
def _field_types(lib_gspaces, lib_nn, gs_name: str, kind: str):
    """``(in_type, out_type)`` of one field kind on one gspace, built with one library's API."""
    args = {
        "C4": ("Rot2dOnR2", (4,), {}),
        "C8": ("Rot2dOnR2", (8,), {}),
        "D4": ("FlipRot2dOnR2", (4,), {}),
        "SO2": ("Rot2dOnR2", (-1,), {"maximum_frequency": 4}),
        "O2": ("FlipRot2dOnR2", (-1,), {"maximum_frequency": 4}),
        "Flip": ("Flip2dOnR2", (), {}),
        "Trivial": ("TrivialOnR2", (), {}),
    }[gs_name]
    gs = getattr(lib_gspaces, args[0])(*args[1], **args[2])
    G = gs.fibergroup
    first_2d = next((r for r in G.irreps.values() if r.size == 2), gs.trivial_repr)
    one_d = [r for r in G.irreps.values() if r.size == 1]
    sign = one_d[1] if len(one_d) > 1 else gs.trivial_repr
    finite = not G.continuous
    reps = {
        "trivial": ([gs.trivial_repr] * 2, [gs.trivial_repr] * 3),
        "regular": ([gs.regular_repr], [gs.regular_repr]) if finite else None,
        "irrep": ([first_2d, sign], [first_2d, first_2d]),
        "quotient": ([gs.quotient_repr((None, 2) if gs_name == "D4" else 2)], [gs.regular_repr])
        if gs_name in ("C4", "C8", "D4")
        else None,
        "mixed": ([gs.trivial_repr, first_2d] + ([gs.regular_repr] if finite else []), [sign, first_2d]),
    }[kind]
    if reps is None:
        return None
    return lib_nn.FieldType(gs, reps[0]), lib_nn.FieldType(gs, reps[1])


def _filter_space(expansion, dim: int) -> np.ndarray:
    import torch

    rows = []
    for i in range(dim):
        w = torch.zeros(dim)
        w[i] = 1.0
        rows.append(expansion(w).detach().reshape(-1).double().numpy())
    return np.stack(rows)


@pytest.mark.parametrize("gs_name", ["C4", "C8", "D4", "SO2", "O2", "Flip", "Trivial"])
@pytest.mark.parametrize("kind", ["trivial", "regular", "irrep", "quotient", "mixed"])
def test_r2conv_filter_space_equals_e2cnns(gs_name: str, kind: str) -> None:
    """The expanded filters of R2Conv span e2cnn's filter space: rank(stack) == rank(each) == dimension."""
    e2 = _oracle()
    from structconv import nn as snn

    theirs = _field_types(e2.gspaces, e2.nn, gs_name, kind)
    ours = _field_types(sgs, snn, gs_name, kind)
    if ours is None:
        pytest.skip(f"no {kind} field on {gs_name}")
    t_conv = e2.nn.R2Conv(*theirs, kernel_size=5)
    o_conv = snn.R2Conv(*ours, kernel_size=5)
    T = _filter_space(t_conv.basisexpansion, t_conv.weights.numel())
    O = _filter_space(o_conv.basisexpansion, o_conv.basisexpansion.dimension())
    rank = lambda A: np.linalg.matrix_rank(A, tol=1e-5)  # noqa: E731
    assert O.shape == T.shape, f"dimension {O.shape[0]} vs e2cnn's {T.shape[0]}"
    assert rank(O) == rank(T) == O.shape[0]
    assert rank(np.concatenate([T, O])) == O.shape[0], "the filter spaces differ"


@pytest.mark.parametrize("N", [4, 6])
def test_disentangle_module_matches(N: int) -> None:
    import torch

    e2 = _oracle()
    from structconv import nn as snn

    rng = np.random.default_rng(N)
    E, S = e2.gspaces.FlipRot2dOnR2(N), sgs.FlipRot2dOnR2(N)
    size = 2 * N + 3
    perm = np.eye(size)[rng.permutation(size)]
    te = e2.group.change_basis(
        e2.group.directsum([E.regular_repr, E.irrep(1, 1), E.trivial_repr]), perm, "pp"
    )
    ts = sg.change_basis(sg.directsum([S.regular_repr, S.irrep(1, 1), S.trivial_repr]), perm, "pp")
    fe, fs = e2.nn.FieldType(E, [te, E.regular_repr]), snn.FieldType(S, [ts, S.regular_repr])
    me, ms = e2.nn.DisentangleModule(fe), snn.DisentangleModule(fs)
    x = torch.randn(2, fe.size, 5, 5, generator=torch.Generator().manual_seed(N))
    ye, ys = me(e2.nn.GeometricTensor(x, fe)).tensor, ms(snn.GeometricTensor(x, fs)).tensor
    assert torch.equal(ye, ys)
    assert [r.irreps for r in me.out_type.representations] == [r.irreps for r in ms.out_type.representations]
