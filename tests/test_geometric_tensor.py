"""GeometricTensor and tensor_directsum: construction, slicing, split, arithmetic, transforms."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from structconv import gspaces
from structconv.nn import FieldType, GeometricTensor, tensor_directsum


@pytest.fixture
def space():
    return gspaces.Rot2dOnR2(4)


@pytest.fixture
def mixed(space):
    return FieldType(
        space,
        [
            space.regular_repr,
            space.regular_repr,
            space.irrep(1),
            space.irrep(1),
            space.trivial_repr,
            space.trivial_repr,
            space.trivial_repr,
        ],
    )


# ---------------------------------------------------------------- the document's examples, verbatim


def test_document_arithmetic_example():
    gs = gspaces.Rot2dOnR2(8)
    type = FieldType(gs, [gs.regular_repr] * 3)
    t1 = GeometricTensor(torch.randn(1, 24, 3, 3), type)
    t2 = GeometricTensor(torch.randn(1, 24, 3, 3), type)
    a, b = t1.tensor.clone(), t2.tensor.clone()
    # addition
    t3 = t1 + t2
    assert torch.equal(t3.tensor, a + b)
    # scalar product
    t3 = t1 * 3.0
    assert torch.equal(t3.tensor, a * 3.0)
    # scalar product also supports tensors containing only one scalar
    t3 = t1 * torch.tensor(3.0)
    assert torch.equal(t3.tensor, a * 3.0)
    # inplace operations are also supported
    t1 += t2
    t2 *= 3.0
    assert torch.equal(t1.tensor, a + b)
    assert torch.equal(t2.tensor, b * 3.0)


def test_document_slicing_example():
    space = gspaces.Rot2dOnR2(4)
    type = FieldType(
        space,
        [
            # field type            # index # size
            space.regular_repr,  # 0     # 4
            space.regular_repr,  # 1     # 4
            space.irrep(1),  # 2     # 2
            space.irrep(1),  # 3     # 2
            space.trivial_repr,  # 4     # 1
            space.trivial_repr,  # 5     # 1
            space.trivial_repr,  # 6     # 1
        ],
    )  # sum = 15
    assert len(type) == 7
    assert type.size == 15
    geom_tensor = GeometricTensor(torch.randn(10, type.size, 9, 9), type)
    assert geom_tensor.shape == torch.Size([10, 15, 9, 9])
    assert geom_tensor[1:3, :, 2:5, 2:5].shape == torch.Size([2, 15, 3, 3])
    assert geom_tensor[..., 2:5].shape == torch.Size([10, 15, 9, 3])
    assert geom_tensor[:, 1:4, ...].shape == torch.Size([10, 8, 9, 9])
    assert geom_tensor[:, 0:6:2].shape == torch.Size([10, 7, 9, 9])
    # the document prints torch.Size(1, 2, 9, 9), meaning torch.Size([1, 2, 9, 9])
    assert geom_tensor[3, 2].shape == torch.Size([1, 2, 9, 9])


def test_document_split_example():
    space = gspaces.Rot2dOnR2(4)
    type = FieldType(
        space,
        [
            space.regular_repr,  # size = 4
            space.regular_repr,  # size = 4
            space.irrep(1),  # size = 2
            space.irrep(1),  # size = 2
            space.trivial_repr,  # size = 1
            space.trivial_repr,  # size = 1
            space.trivial_repr,  # size = 1
        ],
    )  # sum = 15
    assert type.size == 15
    geom_tensor = GeometricTensor(torch.randn(10, type.size, 7, 7), type)
    assert geom_tensor.shape == torch.Size([10, 15, 7, 7])
    assert len(geom_tensor.split([4, 6])) == 3
    assert geom_tensor.split([4, 6])[0].shape == torch.Size([10, 12, 7, 7])
    assert geom_tensor.split([4, 6])[1].shape == torch.Size([10, 2, 7, 7])
    assert geom_tensor.split([4, 6])[2].shape == torch.Size([10, 1, 7, 7])


# ---------------------------------------------------------------- construction


def test_construction_errors(mixed):
    with pytest.raises(ValueError, match="4-D tensor.*received shape \\(15, 9, 9\\)"):
        GeometricTensor(torch.randn(15, 9, 9), mixed)
    with pytest.raises(ValueError, match="4-D tensor"):
        GeometricTensor(torch.randn(1, 15, 9, 9, 2), mixed)
    with pytest.raises(ValueError, match="14 channels.*size 15"):
        GeometricTensor(torch.randn(2, 14, 9, 9), mixed)
    with pytest.raises(TypeError, match="torch.Tensor.*ndarray"):
        GeometricTensor(torch.randn(2, 15, 3, 3).numpy(), mixed)
    with pytest.raises(TypeError, match="FieldType"):
        GeometricTensor(torch.randn(2, 15, 3, 3), [1, 2])


def test_properties_to_and_repr(mixed):
    t = GeometricTensor(torch.randn(2, 15, 3, 3), mixed)
    assert t.shape == t.tensor.shape == t.size()
    assert t.size(1) == 15
    d = t.to(torch.float64)
    assert d.tensor.dtype == torch.float64 and d.type == mixed
    assert "g_tensor" in repr(t) and "4-Rotations" in repr(t)


def test_pickle_and_deepcopy(mixed):
    t = GeometricTensor(torch.randn(2, 15, 3, 3), mixed)
    for u in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        assert u.type == t.type and torch.equal(u.tensor, t.tensor)


# ---------------------------------------------------------------- slicing


def _channels(ft, fields):
    return [c for i in fields for c in range(int(ft.fields_start[i]), int(ft.fields_end[i]))]


@pytest.mark.parametrize(
    "fields",
    [
        slice(None),
        slice(1, 4),
        slice(0, 6, 2),
        slice(None, None, -1),
        slice(5, 0, -2),
        slice(-3, None),
        2,
        -1,
    ],
)
def test_field_slicing_matches_channel_gather(mixed, fields):
    x = torch.randn(3, 15, 4, 5)
    t = GeometricTensor(x, mixed)
    out = t[:, fields]
    ids = list(range(7))[fields] if isinstance(fields, slice) else [list(range(7))[fields]]
    assert out.type == mixed.index_select(ids)
    assert torch.equal(out.tensor, x[:, _channels(mixed, ids)])


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["regular", "irrep_1", "irrep_2", "trivial"]), min_size=1, max_size=6),
    start=st.none() | st.integers(-7, 7),
    stop=st.none() | st.integers(-7, 7),
    step=st.none() | st.integers(-3, 3).filter(lambda v: v != 0),
)
def test_random_field_slices_match_index_select(kinds, start, stop, step):
    gs = gspaces.Rot2dOnR2(4)
    table = {
        "regular": gs.regular_repr,
        "irrep_1": gs.irrep(1),
        "irrep_2": gs.irrep(2),
        "trivial": gs.trivial_repr,
    }
    ft = FieldType(gs, [table[k] for k in kinds])
    x = torch.randn(1, ft.size, 2, 2)
    fields = slice(start, stop, step)
    ids = list(range(len(ft)))[fields]
    out = GeometricTensor(x, ft)[:, fields]
    assert out.type == ft.index_select(ids)
    assert torch.equal(out.tensor, x[:, _channels(ft, ids)])
    assert out.type.size == out.shape[1]


def test_slicing_keeps_dims_and_views(mixed):
    x = torch.randn(3, 15, 4, 5)
    t = GeometricTensor(x, mixed)
    out = t[1, 2:4, 0, -1]
    assert out.shape == (1, 4, 1, 1)
    assert torch.equal(out.tensor, x[1:2, 8:12, 0:1, 4:5])
    assert out.tensor.data_ptr() != 0 and out.tensor._base is not None  # step-1 slices are views
    assert t[...].type == mixed and torch.equal(t[...].tensor, x)
    assert t[..., 1].shape == (3, 15, 4, 1)
    assert t[0, ..., 1:3].shape == (1, 15, 4, 2)
    assert t[:, 7:].shape == (3, 0, 4, 5) and len(t[:, 7:].type) == 0


def test_slicing_errors(mixed):
    t = GeometricTensor(torch.randn(3, 15, 4, 5), mixed)
    with pytest.raises(IndexError, match="index 7 is out of range for dim 1 with 7 fields"):
        t[:, 7]
    with pytest.raises(IndexError, match="out of range for dim 0"):
        t[3]
    with pytest.raises(TypeError, match="basic indexing"):
        t[:, [0, 1]]
    with pytest.raises(TypeError, match="basic indexing"):
        t[None]
    with pytest.raises(TypeError, match="basic indexing"):
        t[torch.tensor([0])]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(TypeError):
        t[:, 0] = torch.zeros(3, 4, 4, 5)


def test_split(mixed):
    x = torch.randn(2, 15, 3, 3)
    t = GeometricTensor(x, mixed)
    parts = t.split(None)
    assert len(parts) == 7
    assert [p.type for p in parts] == [mixed.index_select([i]) for i in range(7)]
    assert torch.equal(torch.cat([p.tensor for p in parts], 1), x)
    parts = t.split([2])
    assert [p.shape[1] for p in parts] == [8, 7]
    assert parts[0].tensor._base is not None
    for bad in ([0], [7], [4, 4], [5, 2]):
        with pytest.raises(ValueError, match="strictly increasing"):
            t.split(bad)
    with pytest.raises(TypeError, match="ints"):
        t.split([1.5])
    with pytest.raises(TypeError, match="list of ints"):
        t.split(3)


# ---------------------------------------------------------------- arithmetic


def test_arithmetic(mixed):
    x, y = torch.randn(2, 15, 3, 3), torch.randn(2, 15, 3, 3)
    a, b = GeometricTensor(x.clone(), mixed), GeometricTensor(y.clone(), mixed)
    assert torch.equal((a - b).tensor, x - y)
    assert torch.equal((2.0 * a).tensor, 2.0 * x)
    assert torch.equal((torch.tensor([2.0]) * a).tensor, 2.0 * x)
    assert torch.equal((a * torch.tensor([[2.0]])).tensor, 2.0 * x)
    a -= b
    assert torch.equal(a.tensor, x - y)
    a *= torch.tensor(0.5)
    assert torch.allclose(a.tensor, 0.5 * (x - y))


def test_arithmetic_errors(space, mixed):
    a = GeometricTensor(torch.randn(2, 15, 3, 3), mixed)
    other_type = FieldType(space, [space.trivial_repr] * 15)
    b = GeometricTensor(torch.randn(2, 15, 3, 3), other_type)
    with pytest.raises(ValueError, match="different types: expected .*regular.*received .*irrep_0"):
        a + b
    with pytest.raises(ValueError, match="different types"):
        a -= b
    with pytest.raises(ValueError, match="different shapes"):
        a + GeometricTensor(torch.randn(1, 15, 3, 3), mixed)
    with pytest.raises(TypeError, match="expected a GeometricTensor"):
        a + torch.randn(2, 15, 3, 3)
    with pytest.raises(ValueError, match="one-element tensor"):
        a * torch.randn(2)
    with pytest.raises(TypeError, match="scalar"):
        a * "3"


# ---------------------------------------------------------------- transforms and restriction


def test_transform_and_fibers_delegate(mixed):
    x = torch.randn(2, 15, 5, 5, dtype=torch.float64)
    t = GeometricTensor(x, mixed)
    for g in range(4):
        assert torch.equal(t.transform(g).tensor, mixed.transform(x, g))
        assert torch.equal(t.transform_fibers(g).tensor, mixed.transform_fibers(x, g))
        assert t.transform(g).type == mixed


def test_restrict_shares_storage():
    gs = gspaces.FlipRot2dOnR2(4)
    ft = FieldType(gs, [gs.regular_repr, gs.irrep(1, 1)])
    t = GeometricTensor(torch.randn(2, ft.size, 3, 3), ft)
    for sub in [(None, 4), (0, 2), (None, 1)]:
        r = t.restrict(sub)
        assert r.tensor is t.tensor
        assert r.type == ft.restrict(sub)
        assert r.type.gspace == gs.restrict(sub)[0]


def test_tensor_directsum(space, mixed):
    a = GeometricTensor(torch.randn(2, 15, 3, 3), mixed)
    small = FieldType(space, [space.irrep(1)])
    b = GeometricTensor(torch.randn(2, 2, 3, 3), small)
    s = tensor_directsum([a, b, a])
    assert s.type == mixed + small + mixed
    assert torch.equal(s.tensor, torch.cat([a.tensor, b.tensor, a.tensor], 1))
    with pytest.raises(ValueError, match="non-empty"):
        tensor_directsum([])
    with pytest.raises(TypeError, match="tensors\\[1\\] must be a GeometricTensor"):
        tensor_directsum([a, b.tensor])
    with pytest.raises(ValueError, match="tensors\\[1\\] has shape"):
        tensor_directsum([a, GeometricTensor(torch.randn(2, 2, 3, 4), small)])
    gs8 = gspaces.Rot2dOnR2(8)
    c = GeometricTensor(torch.randn(2, 1, 3, 3), FieldType(gs8, [gs8.trivial_repr]))
    with pytest.raises(ValueError, match="gspace"):
        tensor_directsum([a, c])


@pytest.mark.oracle
def test_slicing_and_split_against_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    ours_gs, theirs_gs = gspaces.Rot2dOnR2(4), e2cnn.gspaces.Rot2dOnR2(4)

    def reprs(gs):
        return [gs.regular_repr, gs.regular_repr, gs.irrep(1), gs.irrep(1), gs.trivial_repr, gs.trivial_repr]

    x = torch.randn(4, 14, 5, 6)
    ours = GeometricTensor(x, FieldType(ours_gs, reprs(ours_gs)))
    theirs = e2cnn.nn.GeometricTensor(x, e2cnn.nn.FieldType(theirs_gs, reprs(theirs_gs)))
    indices = [
        (slice(1, 3), slice(1, 4)),
        (Ellipsis, slice(2, 5)),
        (slice(None), slice(0, 6, 2)),
        (slice(None), slice(None, None, -1)),
        (3, 2),
        (0, slice(None), 1, slice(1, None)),
    ]
    for index in indices:
        a, b = ours[index], theirs[index]
        assert torch.equal(a.tensor, b.tensor), index
        assert a.type.fields_names() == b.type.fields_names(), index
    for breaks in ([2, 4], None, [1]):
        for a, b in zip(ours.split(breaks), theirs.split(breaks)):
            assert torch.equal(a.tensor, b.tensor)
            assert a.type.fields_names() == b.type.fields_names()
