"""FieldType: value semantics, list-like API, change of basis, restriction and the group action."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.nn import FieldType

GSPACES = {
    "C1": lambda: gspaces.Rot2dOnR2(1),
    "C2": lambda: gspaces.Rot2dOnR2(2),
    "C4": lambda: gspaces.Rot2dOnR2(4),
    "C8": lambda: gspaces.Rot2dOnR2(8),
    "D1": lambda: gspaces.FlipRot2dOnR2(1),
    "D4": lambda: gspaces.FlipRot2dOnR2(4),
    "SO2": lambda: gspaces.Rot2dOnR2(-1, maximum_frequency=3),
    "O2": lambda: gspaces.FlipRot2dOnR2(-1, maximum_frequency=3),
}


def _mixed_type(gs) -> FieldType:
    """A field type with several different representations (irreps, regular when finite)."""
    group = gs.fibergroup
    reprs = [gs.trivial_repr] + list(group.irreps.values())[:4]
    if not group.continuous:
        reprs.append(gs.regular_repr)
    return FieldType(gs, reprs + reprs[1:3])


@pytest.fixture(params=list(GSPACES))
def gs(request):
    return GSPACES[request.param]()


def _is_exact(gs, g) -> bool:
    a = np.asarray(gs.basespace_action(g))
    return bool(np.allclose(a, np.round(a), atol=1e-9))


def _exact_elements(gs) -> list:
    return [g for g in gs.testing_elements if _is_exact(gs, g)]


def _inexact_elements(gs) -> list:
    return [g for g in gs.testing_elements if not _is_exact(gs, g)]


def _disc_mask(size: int, fraction: float = 0.5) -> torch.Tensor:
    c = (size - 1) / 2
    r = torch.arange(size, dtype=torch.float64) - c
    return (r[:, None] ** 2 + r[None] ** 2).sqrt() <= fraction * c


def _smooth(shape, sigma=2.0) -> torch.Tensor:
    """Smooth noise tapered to zero outside the inscribed disc, float64."""
    x = torch.randn(shape, dtype=torch.float64)
    t = torch.arange(-6, 7, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    k = (g[:, None] * g[None]) / g.sum() ** 2
    c = shape[-3]
    x = torch.nn.functional.conv2d(x, k.expand(c, 1, 13, 13), padding=6, groups=c)
    size = shape[-1]
    r = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2) / ((size - 1) / 2)
    rad = (r[:, None] ** 2 + r[None] ** 2).sqrt()
    return x * torch.where(rad < 1, torch.cos(math.pi / 2 * rad) ** 2, torch.zeros_like(rad))


# ---------------------------------------------------------------- value semantics


def test_repr_like_reference():
    gs = gspaces.Rot2dOnR2(8)
    assert repr(FieldType(gs, [gs.regular_repr] * 2)) == "[8-Rotations: {regular, regular}]"
    assert str(FieldType(gs, [gs.trivial_repr] * 3)) == "[8-Rotations: {irrep_0, irrep_0, irrep_0}]"


def test_basic_properties(gs):
    ft = _mixed_type(gs)
    sizes = [r.size for r in ft.representations]
    assert len(ft) == len(sizes) and ft.size == sum(sizes)
    assert ft.fields_end.tolist() == np.cumsum(sizes).tolist()
    assert ft.fields_start.tolist() == (np.cumsum(sizes) - sizes).tolist()
    assert ft.fields_names() == [r.name for r in ft.representations]
    assert list(ft) == list(ft.representations)
    assert ft.irreps == [name for r in ft.representations for name in r.irreps]
    assert ft.fibergroup is gs.fibergroup or ft.fibergroup == gs.fibergroup
    assert list(ft.testing_elements) == list(gs.testing_elements)
    assert not ft.uniform
    assert FieldType(gs, [gs.trivial_repr] * 3).uniform
    assert ft.unique_representations == tuple(dict.fromkeys(ft.representations))


def test_immutable_hashable_picklable(gs):
    ft = _mixed_type(gs)
    with pytest.raises(AttributeError, match="immutable"):
        ft.size = 3
    with pytest.raises(AttributeError, match="immutable"):
        del ft.gspace
    with pytest.raises(ValueError):
        ft.fields_start[0] = 5
    same = FieldType(gs, list(ft.representations))
    assert same == ft and hash(same) == hash(ft)
    assert len({ft, same}) == 1
    assert ft != FieldType(gs, list(ft.representations)[::-1])
    for other in (pickle.loads(pickle.dumps(ft)), copy.deepcopy(ft), copy.copy(ft)):
        assert other == ft and hash(other) == hash(ft) and repr(other) == repr(ft)


def test_construction_errors():
    c8, c4 = gspaces.Rot2dOnR2(8), gspaces.Rot2dOnR2(4)
    with pytest.raises(ValueError, match=r"representations\[1\].*group 'C4'.*fiber group 'C8'"):
        FieldType(c8, [c8.regular_repr, c4.regular_repr])
    d4 = gspaces.FlipRot2dOnR2(4)
    with pytest.raises(ValueError, match="fiber group"):
        FieldType(c4, [d4.trivial_repr])
    with pytest.raises(TypeError, match="gspace must be"):
        FieldType(c8.fibergroup, [c8.regular_repr])
    with pytest.raises(TypeError, match=r"representations\[0\] must be"):
        FieldType(c8, ["regular"])
    with pytest.raises(TypeError, match="representations must be a list"):
        FieldType(c8, 3)
    with pytest.raises(ValueError, match="different gspaces"):
        FieldType(c8, [c8.regular_repr]) + FieldType(c4, [c4.regular_repr])


# ---------------------------------------------------------------- list-like API


def test_add_index_select_sorted_group_by_labels():
    gs = gspaces.Rot2dOnR2(4)
    reg, vec, triv = gs.regular_repr, gs.irrep(1), gs.trivial_repr
    ft = FieldType(gs, [reg, vec, triv, vec])
    assert (ft + FieldType(gs, [triv])).representations == (reg, vec, triv, vec, triv)
    assert ft.index_select([3, 0, 0, -1]).representations == (vec, reg, reg, vec)
    assert ft.sorted().representations == (triv, vec, vec, reg)
    groups = ft.group_by_labels(["a", "b", "a", "c"])
    assert list(groups) == ["a", "b", "c"]
    assert groups["a"].representations == (reg, triv)
    assert groups["b"].representations == (vec,)
    with pytest.raises(ValueError, match="expected 4 labels, received 3"):
        ft.group_by_labels(["a", "b", "c"])
    with pytest.raises(IndexError, match="entry 4 is out of range"):
        ft.index_select([4])
    with pytest.raises(TypeError, match="only ints"):
        ft.index_select([0.0])
    with pytest.raises(TypeError, match="list of ints"):
        ft.index_select(1)
    empty = FieldType(gs, [])
    assert len(empty) == 0 and empty.size == 0 and empty.uniform
    with pytest.raises(ValueError, match="empty"):
        empty.representation


# ---------------------------------------------------------------- change of basis


def test_change_of_basis_reproduces_direct_sum(gs):
    ft = _mixed_type(gs)
    q = ft.get_dense_change_of_basis(torch.float64)
    q_inv = ft.get_dense_change_of_basis_inv(torch.float64)
    assert ft.get_dense_change_of_basis().dtype == torch.get_default_dtype()
    assert ft.change_of_basis.format == "coo" and ft.change_of_basis.shape == (ft.size, ft.size)
    assert torch.allclose(q @ q_inv, torch.eye(ft.size, dtype=torch.float64), atol=1e-10)
    irreps = gs.fibergroup.irreps
    for g in list(gs.testing_elements)[:6]:
        blocks = [torch.as_tensor(np.asarray(irreps[name](g)), dtype=torch.float64) for name in ft.irreps]
        rho = q @ torch.block_diag(*blocks) @ q_inv
        assert torch.allclose(rho, ft.fiber_matrix(g), atol=1e-10)
        assert np.allclose(ft.representation(g), ft.fiber_matrix(g).numpy(), atol=1e-10)


# ---------------------------------------------------------------- restriction


@pytest.mark.parametrize(
    "make, sub",
    [
        (lambda: gspaces.Rot2dOnR2(8), 4),
        (lambda: gspaces.Rot2dOnR2(4), 1),
        (lambda: gspaces.FlipRot2dOnR2(4), (None, 4)),
        (lambda: gspaces.FlipRot2dOnR2(4), (0, 2)),
        (lambda: gspaces.Rot2dOnR2(-1, maximum_frequency=3), 4),
        (lambda: gspaces.FlipRot2dOnR2(-1, maximum_frequency=3), (None, -1)),
    ],
)
def test_restrict(make, sub):
    gs = make()
    ft = _mixed_type(gs)
    res = ft.restrict(sub)
    subspace = gs.restrict(sub)[0]
    assert res == FieldType(subspace, [r.restrict(sub) for r in ft.representations])
    assert res.size == ft.size and len(res) == len(ft)
    parent_map = gs.restrict(sub)[1]
    for h in list(subspace.testing_elements)[:4]:
        assert torch.allclose(res.fiber_matrix(h), ft.fiber_matrix(parent_map(h)), atol=1e-10)


# ---------------------------------------------------------------- group action


def _combine(gs, a, b):
    return gs.fibergroup.combine(a, b)


def test_transform_is_an_action_exact(gs):
    ft = _mixed_type(gs)
    x = torch.randn(2, ft.size, 5, 7, dtype=torch.float64)
    elements = _exact_elements(gs)
    assert elements, "every group has exact elements (at least the identity)"
    for g in elements:
        once = ft.transform(x, g)
        for h in elements:
            twice = ft.transform(once, h)
            assert torch.allclose(twice, ft.transform(x, _combine(gs, h, g)), atol=1e-12, rtol=0)
        identity = ft.transform(once, gs.fibergroup.inverse(g))
        assert torch.allclose(identity, x, atol=1e-12, rtol=0)


def test_transform_is_an_action_interpolated():
    gs = gspaces.Rot2dOnR2(8)
    ft = _mixed_type(gs)
    x = _smooth((1, ft.size, 25, 25))
    mask = _disc_mask(25)
    for g, h in [(1, 1), (1, 2), (3, 5)]:
        twice = ft.transform(ft.transform(x, g), h)
        direct = ft.transform(x, _combine(gs, h, g))
        err = ((twice - direct).abs() * mask).max() / (direct.abs() * mask).max()
        assert err < 0.05


def test_transform_agrees_with_featurefield_action(gs):
    ft = _mixed_type(gs)
    x = torch.randn(2, ft.size, 7, 7, dtype=torch.float64)
    for g in _exact_elements(gs):
        ours = ft.transform(x, g)
        theirs = torch.as_tensor(gs.featurefield_action(x.numpy(), ft.representation, g))
        assert torch.allclose(ours, theirs, atol=1e-12, rtol=0)
    # for permutation representations both sides only move numbers around: bitwise equality
    perm = FieldType(gs, [gs.trivial_repr] + ([] if gs.fibergroup.continuous else [gs.regular_repr]))
    xp = torch.randn(2, perm.size, 6, 6, dtype=torch.float64)
    for g in _exact_elements(gs):
        theirs = torch.as_tensor(gs.featurefield_action(xp.numpy(), perm.representation, g))
        assert torch.equal(perm.transform(xp, g), theirs)
    xs = _smooth((1, ft.size, 25, 25))
    mask = _disc_mask(25)
    for g in _inexact_elements(gs)[:2]:
        ours = ft.transform(xs, g)
        theirs = torch.as_tensor(gs.featurefield_action(xs.numpy(), ft.representation, g))
        assert ((ours - theirs).abs() * mask).max() < 0.05 * (theirs.abs() * mask).max()


def test_exact_transform_is_rot90_and_flip():
    gs = gspaces.FlipRot2dOnR2(4)
    ft = FieldType(gs, [gs.trivial_repr])
    x = torch.randn(1, 1, 4, 6)
    assert torch.equal(ft.transform(x, (0, 1)), torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.equal(ft.transform(x, (1, 0)), torch.flip(x, dims=(-1,)))
    assert torch.equal(ft.transform(x, (1, 1)), torch.rot90(torch.flip(x, dims=(-1,)), 1, dims=(-2, -1)))
    so2 = gspaces.Rot2dOnR2(-1, maximum_frequency=2)
    scalar = FieldType(so2, [so2.trivial_repr])
    assert torch.equal(scalar.transform(x, math.pi / 2), torch.rot90(x, 1, dims=(-2, -1)))


def test_transform_fibers_is_rho(gs):
    ft = _mixed_type(gs)
    x = torch.randn(2, ft.size, 3, 4, dtype=torch.float64)
    for g in list(gs.testing_elements)[:5]:
        expected = torch.cat(
            [
                torch.einsum("ij,bjhw->bihw", torch.as_tensor(np.asarray(r(g))), x[:, s:e])
                for r, s, e in zip(ft.representations, ft.fields_start, ft.fields_end)
            ],
            dim=1,
        )
        assert torch.allclose(ft.transform_fibers(x, g), expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_transform_keeps_dtype_and_batch_dims(dtype):
    gs = gspaces.Rot2dOnR2(8)
    ft = _mixed_type(gs)
    for g in (1, 2):
        x = torch.randn(ft.size, 6, 6, dtype=dtype)
        y = ft.transform(x, g)
        assert y.dtype == dtype and y.shape == x.shape
        x5 = torch.randn(2, 3, ft.size, 6, 6, dtype=dtype)
        y5 = ft.transform(x5, g)
        assert y5.dtype == dtype
        assert torch.allclose(y5[1, 2], ft.transform(x5[1, 2], g), atol=1e-5)
    for g in range(8):
        assert ft.transform_fibers(torch.randn(1, ft.size, 2, 2, dtype=dtype), g).dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_transform_on_cuda():
    gs = gspaces.Rot2dOnR2(8)
    ft = _mixed_type(gs)
    x = torch.randn(2, ft.size, 9, 9, dtype=torch.float64)
    for g in range(8):
        y = ft.transform(x.cuda(), g)
        assert y.is_cuda
        assert torch.allclose(y.cpu(), ft.transform(x, g), atol=1e-10)


def test_transform_is_differentiable():
    gs = gspaces.Rot2dOnR2(8)
    ft = FieldType(gs, [gs.regular_repr, gs.irrep(1)])
    x = torch.randn(1, ft.size, 4, 4, dtype=torch.float64, requires_grad=True)
    for g in (1, 2):
        assert torch.autograd.gradcheck(lambda t, g=g: ft.transform(t, g), (x,))


def test_transform_errors():
    gs = gspaces.FlipRot2dOnR2(4)
    ft = FieldType(gs, [gs.regular_repr])
    x = torch.randn(1, 8, 3, 3)
    with pytest.raises(ValueError, match="not an element of the fiber group 'D4'.*pair \\(flip, k\\)"):
        ft.transform(x, "a")
    with pytest.raises(ValueError, match="not an element"):
        ft.transform_fibers(x, (2, 0))
    with pytest.raises(TypeError, match="floating point"):
        ft.transform(torch.ones(1, 8, 3, 3, dtype=torch.long), (0, 1))
    with pytest.raises(ValueError, match="7 channels.*size 8"):
        ft.transform(torch.randn(1, 7, 3, 3), (0, 1))
    with pytest.raises(ValueError, match="at least 3 dims"):
        ft.transform(torch.randn(8, 3), (0, 1))
    with pytest.raises(TypeError, match="torch.Tensor"):
        ft.transform(x.numpy(), (0, 1))
    with pytest.raises(ValueError, match="interpolation='cubic' is not known"):
        ft.transform(x, (0, 1), interpolation="cubic")


# ---------------------------------------------------------------- oracle: the reference library


@pytest.mark.oracle
def test_against_e2cnn_field_type_and_transform():
    e2cnn = pytest.importorskip("e2cnn")
    for ours_gs, theirs_gs, ids in [
        (gspaces.Rot2dOnR2(4), e2cnn.gspaces.Rot2dOnR2(4), [(1,), (2,)]),
        (gspaces.FlipRot2dOnR2(4), e2cnn.gspaces.FlipRot2dOnR2(4), [(1, 1), (0, 2), (1, 0)]),
    ]:
        ours = FieldType(
            ours_gs, [ours_gs.regular_repr] + [ours_gs.irrep(*i) for i in ids] + [ours_gs.trivial_repr]
        )
        theirs = e2cnn.nn.FieldType(
            theirs_gs,
            [theirs_gs.regular_repr] + [theirs_gs.irrep(*i) for i in ids] + [theirs_gs.trivial_repr],
        )
        assert ours.size == theirs.size and len(ours) == len(theirs)
        assert ours.fields_names() == theirs.fields_names()
        assert ours.fields_start.tolist() == theirs.fields_start.tolist()
        assert ours.fields_end.tolist() == theirs.fields_end.tolist()
        assert ours.sorted().fields_names() == theirs.sorted().fields_names()
        labels = ["a", "b", "a", "c", "b"][: len(ours)]
        assert {k: v.fields_names() for k, v in ours.group_by_labels(labels).items()} == {
            k: v.fields_names() for k, v in theirs.group_by_labels(labels).items()
        }
        x = torch.randn(2, ours.size, 7, 7)
        for g in theirs_gs.testing_elements:
            expected = theirs.transform(x, g)
            assert torch.allclose(ours.transform(x, g), expected, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gspaces.Flip2dOnR2(axis=0.0),
        lambda: gspaces.Flip2dOnR2(axis=math.pi / 4),
        lambda: gspaces.Flip2dOnR2(axis=math.pi / 3),
        lambda: gspaces.FlipRot2dOnR2(4, axis=math.pi / 4),
        lambda: gspaces.TrivialOnR2(),
    ],
)
def test_other_axes_and_gspaces_match_featurefield_action(make):
    gs = make()
    ft = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
    x = torch.randn(1, ft.size, 7, 7, dtype=torch.float64)
    for g in _exact_elements(gs):
        theirs = torch.as_tensor(gs.featurefield_action(x.numpy(), ft.representation, g))
        assert torch.equal(ft.transform(x, g), theirs)
    xs = _smooth((1, ft.size, 25, 25))
    mask = _disc_mask(25)
    for g in _inexact_elements(gs):
        ours = ft.transform(xs, g)
        theirs = torch.as_tensor(gs.featurefield_action(xs.numpy(), ft.representation, g))
        assert ((ours - theirs).abs() * mask).max() < 0.05 * (theirs.abs() * mask).max()
