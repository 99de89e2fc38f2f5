"""gspaces: names, restrictions, the action on points and on feature fields (images)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from structconv.group import cyclic_group, dihedral_group, directsum, flip_group, o2_group, so2_group
from structconv.gspaces import Flip2dOnR2, FlipRot2dOnR2, GSpace, Rot2dOnR2, TrivialOnR2

GSPACES = [
    Rot2dOnR2(1),
    Rot2dOnR2(2),
    Rot2dOnR2(4),
    Rot2dOnR2(8),
    FlipRot2dOnR2(1),
    FlipRot2dOnR2(2),
    FlipRot2dOnR2(4),
    FlipRot2dOnR2(4, axis=0.0),
    FlipRot2dOnR2(8),
    Flip2dOnR2(),
    Flip2dOnR2(axis=0.0),
    TrivialOnR2(),
]


def _field_repr(gs: GSpace):
    G = gs.fibergroup
    reprs = [G.regular_representation] if not G.continuous else []
    reprs += list(G.irreps.values())[:3]
    return directsum(reprs)


def test_names_and_groups_follow_the_reference_library() -> None:
    assert Rot2dOnR2(8).name == "8-Rotations" and Rot2dOnR2(8).fibergroup is cyclic_group(8)
    assert Rot2dOnR2(-1).name == "Continuous-Rotations" and Rot2dOnR2(-1).fibergroup is so2_group(10)
    assert Rot2dOnR2(-1, maximum_frequency=4).fibergroup is so2_group(4)
    assert FlipRot2dOnR2(4).name == "Flip_4-Rotations(f=1.57080)" and FlipRot2dOnR2(
        4
    ).fibergroup is dihedral_group(4)
    assert FlipRot2dOnR2(-1, 3).name == "Flip_Continuous-Rotations(f=1.57080)"
    assert FlipRot2dOnR2(-1, 3).fibergroup is o2_group(3)
    assert FlipRot2dOnR2(4, axis=0.0).name == "Flip_4-Rotations(f=0.00000)"
    # the flip gspace's group is e2cnn's C2 (names, ids), whose 1 is the reflection (not C2's rotation by π)
    assert Flip2dOnR2().name == "Flips" and Flip2dOnR2().fibergroup is flip_group()
    assert Flip2dOnR2().fibergroup.name == "C2" and Flip2dOnR2().fibergroup != cyclic_group(2)
    assert Flip2dOnR2().irrep(1) is flip_group().irrep(1) and Flip2dOnR2().irrep(1).name == "irrep_1"
    assert Flip2dOnR2(fibergroup=cyclic_group(2)) == Flip2dOnR2(fibergroup=flip_group()) == Flip2dOnR2()
    np.testing.assert_array_equal(Flip2dOnR2().basespace_action(1), [[-1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(Rot2dOnR2(2).basespace_action(1), [[-1.0, 0.0], [0.0, -1.0]])
    assert FlipRot2dOnR2(1).fibergroup is dihedral_group(1)  # accepted here, refused by e2cnn
    assert TrivialOnR2().name == "Trivial" and TrivialOnR2().fibergroup is cyclic_group(1)
    gs = FlipRot2dOnR2(8)
    assert gs.dimensionality == 2 and gs.axis == pytest.approx(np.pi / 2)
    assert gs.trivial_repr is gs.fibergroup.trivial_representation
    assert gs.regular_repr is gs.fibergroup.regular_representation
    assert gs.irrep(1, 2) is gs.fibergroup.irrep(1, 2) and gs.irreps is gs.fibergroup.irreps
    assert gs.quotient_repr((None, 8)).name == "quotient[(None, 8)]"
    assert gs.induced_repr((None, 8), cyclic_group(8).irrep(1)).size == 4
    assert gs.testing_elements == dihedral_group(8).elements
    assert Rot2dOnR2(-1, 2).bl_regular_repr(1).size == 3


def test_value_semantics() -> None:
    for gs in GSPACES + [Rot2dOnR2(-1, 3), FlipRot2dOnR2(-1, 2, axis=0.3)]:
        again = pickle.loads(pickle.dumps(gs))
        assert again == gs and hash(again) == hash(gs) and again.name == gs.name
        assert copy.deepcopy(gs) == gs
    assert Rot2dOnR2(4) == Rot2dOnR2(4) and Rot2dOnR2(4) != Rot2dOnR2(8)
    assert FlipRot2dOnR2(4) != FlipRot2dOnR2(4, axis=0.0) and Rot2dOnR2(1) != TrivialOnR2()
    assert len({Rot2dOnR2(4), Rot2dOnR2(4), FlipRot2dOnR2(4)}) == 2
    assert repr(Rot2dOnR2(8)) == "Rot2dOnR2('8-Rotations')"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Rot2dOnR2(), r"N: Rot2dOnR2 needs N"),
        (
            lambda: Rot2dOnR2(0),
            r"N: expected a positive int \(number of rotations\) or -1 \(continuous\), got 0",
        ),
        (lambda: Rot2dOnR2(-2), r"got -2"),
        (lambda: Rot2dOnR2(2.5), r"got 2.5"),
        (lambda: Rot2dOnR2(8, maximum_frequency=3), r"maximum_frequency: only used for continuous rotations"),
        (
            lambda: FlipRot2dOnR2(-1, maximum_frequency=-1),
            r"maximum_frequency: expected a non-negative integer",
        ),
        (lambda: FlipRot2dOnR2(4, axis="up"), r"axis: expected a finite angle in radians, got 'up'"),
        (
            lambda: Rot2dOnR2(fibergroup=dihedral_group(2)),
            r"fibergroup: expected a cyclic group of rotations or SO\(2\)",
        ),
        (lambda: Rot2dOnR2(fibergroup=flip_group()), r"the reflection group of Flip2dOnR2"),
        (lambda: Flip2dOnR2(fibergroup=dihedral_group(1)), r"fibergroup: expected the flip group C2"),
        (lambda: Flip2dOnR2().restrict((0, 1)), r"subgroup_id: \(0, 1\) is not a subgroup of C2"),
        (lambda: Rot2dOnR2(-1).regular_repr, r"regular_repr: Continuous-Rotations has a continuous group"),
        (lambda: Rot2dOnR2(8).restrict(3), r"subgroup_id: 3 is not a subgroup of C8"),
        (lambda: FlipRot2dOnR2(8).restrict((5, 2)), r"not a subgroup of D8"),
        (lambda: Rot2dOnR2(4).basespace_action((1, 0)), r"not an element of C4"),
        (
            lambda: Rot2dOnR2(4).featurefield_action(np.zeros((3, 5, 5)), Rot2dOnR2(4).regular_repr, 1),
            r"C == repr",
        ),
        (
            lambda: Rot2dOnR2(4).featurefield_action(np.zeros((2, 5, 5)), cyclic_group(8).irrep(1), 1),
            r"repr: expected a representation of C4",
        ),
    ],
)
def test_bad_input_raises(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


RESTRICTIONS = [
    (Rot2dOnR2(8), 4, Rot2dOnR2(4)),
    (Rot2dOnR2(8), 1, TrivialOnR2()),
    (Rot2dOnR2(8), 8, Rot2dOnR2(8)),
    (Rot2dOnR2(-1, 3), 4, Rot2dOnR2(4)),
    (Rot2dOnR2(-1, 3), -1, Rot2dOnR2(-1, 3)),
    (FlipRot2dOnR2(8), (None, 4), Rot2dOnR2(4)),
    (FlipRot2dOnR2(8), (None, 1), TrivialOnR2()),
    (FlipRot2dOnR2(8), (0, 4), FlipRot2dOnR2(4)),
    (FlipRot2dOnR2(8), (1, 4), FlipRot2dOnR2(4, axis=np.pi / 2 + np.pi / 8)),
    (FlipRot2dOnR2(8), (0, 1), Flip2dOnR2()),
    (FlipRot2dOnR2(8), (2, 1), Flip2dOnR2(axis=np.pi / 2 + np.pi / 4)),
    (FlipRot2dOnR2(-1, 3), (None, -1), Rot2dOnR2(-1, 3)),
    (FlipRot2dOnR2(-1, 3), (0.5, 4), FlipRot2dOnR2(4, axis=np.pi / 2 + 0.25)),
    (FlipRot2dOnR2(-1, 3), (0.0, 1), Flip2dOnR2()),
    (Flip2dOnR2(), 1, TrivialOnR2()),
    (Flip2dOnR2(), 2, Flip2dOnR2()),
    (Flip2dOnR2(axis=0.3), 2, Flip2dOnR2(axis=0.3)),
    (FlipRot2dOnR2(1), (0, 1), Flip2dOnR2()),
    (FlipRot2dOnR2(1), (None, 1), TrivialOnR2()),
    (TrivialOnR2(), 1, TrivialOnR2()),
]


@pytest.mark.parametrize(("gs", "sid", "expected"), RESTRICTIONS, ids=lambda x: str(x))
def test_restrict_returns_the_subgroup_gspace(gs: GSpace, sid, expected: GSpace) -> None:
    sub, parent, child = gs.restrict(sid)
    assert sub == expected
    # the subspace moves points exactly as the parent does at the corresponding element
    for h in sub.testing_elements:
        np.testing.assert_allclose(sub.basespace_action(h), gs.basespace_action(parent(h)), atol=1e-12)
        assert sub.fibergroup.equal(child(parent(h)), h)


@pytest.mark.parametrize(
    ("gs", "sid"),
    [
        (Rot2dOnR2(8), 4),
        (FlipRot2dOnR2(8), (1, 4)),
        (FlipRot2dOnR2(4), (1, 1)),
        (FlipRot2dOnR2(-1, 2), (0.5, 2)),
    ],
    ids=str,
)
def test_featurefield_action_of_a_restricted_type_matches_the_parent(gs: GSpace, sid) -> None:
    rho = directsum([gs.fibergroup.irrep(*next(reversed(gs.irreps.values())).id), gs.trivial_repr])
    if not gs.fibergroup.continuous:
        rho = rho + gs.regular_repr
    sub, parent, _ = gs.restrict(sid)
    res = rho.restrict(sid)
    x = np.random.default_rng(1).normal(size=(2, rho.size, 7, 7))
    for h in sub.testing_elements:
        np.testing.assert_allclose(
            sub.featurefield_action(x, res, h), gs.featurefield_action(x, rho, parent(h)), atol=1e-10
        )


def test_geometry_conventions() -> None:
    # a rotation by 90° is np.rot90 (counter-clockwise on screen); the default flip mirrors left-right
    x = np.random.default_rng(0).normal(size=(3, 1, 5, 5))
    gs = Rot2dOnR2(4)
    np.testing.assert_array_equal(
        gs.featurefield_action(x, gs.trivial_repr, 1), np.rot90(x, 1, axes=(-2, -1))
    )
    np.testing.assert_array_equal(gs.featurefield_action(x, gs.trivial_repr, 2), x[..., ::-1, ::-1])
    fs = FlipRot2dOnR2(4)
    np.testing.assert_array_equal(fs.featurefield_action(x, fs.trivial_repr, (1, 0)), x[..., ::-1])
    np.testing.assert_array_equal(
        Flip2dOnR2().featurefield_action(x, Flip2dOnR2().trivial_repr, 1), x[..., ::-1]
    )
    np.testing.assert_array_equal(
        Flip2dOnR2(axis=0.0).featurefield_action(x, Flip2dOnR2().trivial_repr, 1), x[..., ::-1, :]
    )
    # point actions: x to the right, y up
    np.testing.assert_array_equal(gs.basespace_action(1) @ [1.0, 0.0], [0.0, 1.0])
    np.testing.assert_array_equal(fs.basespace_action((1, 0)) @ [1.0, 2.0], [-1.0, 2.0])
    np.testing.assert_allclose(
        FlipRot2dOnR2(8, axis=0.3).basespace_action((1, 0)) @ [np.cos(0.3), np.sin(0.3)],
        [np.cos(0.3), np.sin(0.3)],
    )
    # a vector field: ρ = irrep_1 rotates the vectors as well as the base space
    v = np.zeros((2, 3, 3))
    v[:, 1, 2] = [1.0, 0.0]  # the vector e_x at the point (1, 0)
    w = gs.featurefield_action(v, gs.irrep(1), 1)
    assert np.array_equal(w[:, 0, 1], [0.0, 1.0]) and np.count_nonzero(w) == 1  # e_y at the point (0, 1)
    # a rectangular image: flips are exact, 90° rotations are interpolated (still an image of the same shape)
    r = np.random.default_rng(2).normal(size=(1, 4, 6))
    np.testing.assert_array_equal(fs.featurefield_action(r, fs.trivial_repr, (1, 2)), r[..., ::-1, :])
    assert gs.featurefield_action(r, gs.trivial_repr, 1).shape == (1, 4, 6)


@pytest.mark.parametrize("gs", GSPACES, ids=str)
def test_featurefield_action_is_an_action(gs: GSpace) -> None:
    rho = _field_repr(gs)
    x = np.random.default_rng(3).normal(size=(2, rho.size, 6, 6))
    G = gs.fibergroup
    # exactly, for the elements that map the pixel grid onto itself (multiples of 90°, grid-aligned flips)
    els = [g for g in gs.testing_elements if np.all(np.isin(gs.basespace_action(g), [-1.0, 0.0, 1.0]))]
    assert len(els) == min(len(gs.testing_elements), 8 if gs.fibergroup.name.startswith("D") else 4)
    np.testing.assert_array_equal(gs.featurefield_action(x, rho, G.identity), x)
    for g in els:
        gx = gs.featurefield_action(x, rho, g)
        for h in els:
            np.testing.assert_allclose(
                gs.featurefield_action(gx, rho, h),
                gs.featurefield_action(x, rho, G.combine(h, g)),
                atol=1e-12,
            )


@pytest.mark.parametrize("gs", [Rot2dOnR2(8), FlipRot2dOnR2(-1, 2), Rot2dOnR2(-1, 3)], ids=str)
def test_featurefield_action_interpolates_other_angles(gs: GSpace) -> None:
    # a smooth field inside a disk moves (up to interpolation error) as an action, on a disk mask
    n = 33
    yy, xx = np.mgrid[0:n, 0:n]
    X, Y = xx - (n - 1) / 2, (n - 1) / 2 - yy
    bump = np.exp(-((X - 4.0) ** 2 + (Y - 2.0) ** 2) / 18.0)
    G = gs.fibergroup
    rho = directsum([G.trivial_representation, list(G.irreps.values())[2]])
    x = np.stack([bump, np.roll(bump, 3, axis=0), bump.T])[None, : rho.size]
    mask = (X**2 + Y**2) < ((n - 1) / 2 - 2) ** 2
    els = [e for e in gs.testing_elements][1::3]
    for g in els:
        for h in els[:3]:
            a = gs.featurefield_action(gs.featurefield_action(x, rho, g, order=3), rho, h, order=3)
            b = gs.featurefield_action(x, rho, G.combine(h, g), order=3)
            assert np.abs((a - b)[..., mask]).max() < 2e-2
        # an analytic check: the rotated bump is the bump centred at the rotated point
        A = gs.basespace_action(g)
        c = A @ [4.0, 2.0]
        moved = gs.featurefield_action(x[:, :1], G.trivial_representation, g, order=3)[0, 0]
        expected = np.exp(-((X - c[0]) ** 2 + (Y - c[1]) ** 2) / 18.0)
        assert np.abs((moved - expected)[mask]).max() < 1e-2


@pytest.mark.oracle
@pytest.mark.parametrize("make", ["rot8", "rot4", "fliprot4", "flips", "trivial"])
def test_names_and_testing_elements_match_e2cnn(make: str) -> None:
    e2cnn = pytest.importorskip("e2cnn")
    ours, theirs = {
        "rot8": (Rot2dOnR2(8), lambda: e2cnn.gspaces.Rot2dOnR2(8)),
        "rot4": (Rot2dOnR2(4), lambda: e2cnn.gspaces.Rot2dOnR2(4)),
        "fliprot4": (FlipRot2dOnR2(4), lambda: e2cnn.gspaces.FlipRot2dOnR2(4)),
        "flips": (Flip2dOnR2(), lambda: e2cnn.gspaces.Flip2dOnR2()),
        "trivial": (TrivialOnR2(), lambda: e2cnn.gspaces.TrivialOnR2()),
    }[make]
    theirs = theirs()
    assert ours.name == theirs.name
    assert len(ours.testing_elements) == len(list(theirs.testing_elements))
    assert ours.regular_repr.size == theirs.regular_repr.size
    assert ours.regular_repr.irreps == theirs.regular_repr.irreps
    assert ours.testing_elements == list(theirs.testing_elements)
    x = np.random.default_rng(0).normal(size=(1, ours.regular_repr.size, 5, 5))
    for g in ours.testing_elements:
        np.testing.assert_allclose(
            ours.featurefield_action(x, ours.regular_repr, g),
            theirs.featurefield_action(x, theirs.regular_repr, g),
            atol=1e-10,
        )


def test_escnn_factories_of_the_plane():
    """escnn 1.0.11's factory functions build the e2cnn classes with escnn's defaults (SO(2)/O(2) band
    limit 6, vertical reflection axis) and the same group actions on the plane."""
    import math

    from structconv import gspaces as g

    assert isinstance(g.rot2dOnR2(8), g.Rot2dOnR2) and g.rot2dOnR2(8).fibergroup.name == "C8"
    so2 = g.rot2dOnR2().fibergroup
    assert so2.name == "SO(2)" and so2.maximum_frequency == 6
    assert g.rot2dOnR2(-1, 3).fibergroup.maximum_frequency == 3
    assert g.rot2dOnR2(8, 3).fibergroup.name == "C8"  # the band limit is not used for C_N, as in escnn
    assert g.flipRot2dOnR2().fibergroup.name == "O(2)" and g.flipRot2dOnR2().fibergroup.maximum_frequency == 6
    for axis in (0.0, 0.3, math.pi / 2):
        ours, e2cnn_style = g.flipRot2dOnR2(4, axis=axis), g.FlipRot2dOnR2(4, axis=axis)
        for e in ours.testing_elements:
            np.testing.assert_allclose(ours.basespace_action(e), e2cnn_style.basespace_action(e), atol=1e-15)
        flip = g.flip2dOnR2(axis=axis)
        c, s = math.cos(2 * axis), math.sin(2 * axis)  # the reflection across the line at angle ``axis``
        np.testing.assert_allclose(flip.basespace_action(1), [[c, s], [s, -c]], atol=1e-12)
    np.testing.assert_allclose(g.flip2dOnR2().basespace_action(1), [[-1, 0], [0, 1]], atol=1e-15)
    assert g.trivialOnR2().fibergroup.order() == 1
    with pytest.raises(ValueError, match="N"):
        g.rot2dOnR2(0)
    with pytest.raises(ValueError, match="axis"):
        g.flip2dOnR2(axis=float("nan"))


def test_escnn_gspace2d_accessors():
    """escnn's ``GSpace2D.rotations_order``, ``flips_order`` and ``type`` on the planar gspaces (the orders
    observed from escnn 1.0.11 for the same factory calls)."""
    from structconv import gspaces as g
    from structconv.nn import FieldType

    escnn_orders = [  # (gspace, rotations_order, flips_order) as escnn 1.0.11 reports them
        (g.rot2dOnR2(8), 8, 0),
        (g.rot2dOnR2(), -1, 0),
        (g.flipRot2dOnR2(4), 4, 1),
        (g.flipRot2dOnR2(), -1, 1),
        (g.flip2dOnR2(), 1, 1),
        (g.trivialOnR2(), 1, 0),
        (g.flipRot2dOnR2(1), 1, 1),
        (g.rot2dOnR2(1), 1, 0),
    ]
    for gs, rotations, flips in escnn_orders:
        assert (gs.rotations_order, gs.flips_order) == (rotations, flips), gs.name
    gs = g.rot2dOnR2(4)
    t = gs.type(gs.trivial_repr, gs.regular_repr)
    assert t == FieldType(gs, [gs.trivial_repr, gs.regular_repr]) and t.size == 5
    with pytest.raises(ValueError, match="fiber group 'C4'"):
        gs.type(g.rot2dOnR2(8).regular_repr)
