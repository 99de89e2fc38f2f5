"""Typed tensors on R^3: ``FieldType`` / ``GeometricTensor`` of 5-D tensors ``[B, C, D, H, W]`` on the
``GSpace3D`` gspaces, their ``transform`` (exact voxel permutations on the grid elements, trilinear otherwise),
``GSpace3D.grid_elements`` / ``testing_elements`` and ``check_equivariance`` / ``structconv.testing`` in 3-D."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from structconv import testing
from structconv.gspaces import Rot2dOnR2
from structconv.gspaces.r3 import (
    GSpace3D,
    conicalOnR3,
    cylindricalOnR3,
    dihedralOnR3,
    flipRot3dOnR3,
    fullCylindricalOnR3,
    fullIcoOnR3,
    fullOctaOnR3,
    icoOnR3,
    invOnR3,
    mirOnR3,
    octaOnR3,
    rot2dOnR3,
    rot3dOnR3,
    trivialOnR3,
)
from structconv.nn import EquivariantModule, FieldType, GeometricTensor, IdentityModule, tensor_directsum

FACTORIES = [
    rot3dOnR3,
    flipRot3dOnR3,
    octaOnR3,
    fullOctaOnR3,
    icoOnR3,
    fullIcoOnR3,
    rot2dOnR3,
    dihedralOnR3,
    conicalOnR3,
    cylindricalOnR3,
    fullCylindricalOnR3,
    invOnR3,
    mirOnR3,
    trivialOnR3,
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def _field_types():
    """(id, field type) pairs covering regular fields and irreps of SO(3), O(3) and the cube's groups."""
    so3, o3, octa, focta = rot3dOnR3(), flipRot3dOnR3(), octaOnR3(), fullOctaOnR3()
    return [
        ("so3-irreps", FieldType(so3, [so3.irrep(0), so3.irrep(1), so3.irrep(2)])),
        ("o3-irreps", FieldType(o3, [o3.irrep(1, 1), o3.irrep(0, 2), o3.irrep(1, 0)])),
        ("octa-regular", FieldType(octa, [octa.regular_repr, octa.irrep(1)])),
        ("focta-regular", FieldType(focta, [focta.regular_repr])),
        ("so2-z", FieldType(rot2dOnR3(), [rot2dOnR3().irrep(1), rot2dOnR3().irrep(2)])),
        ("cyl4", FieldType(cylindricalOnR3(4), [cylindricalOnR3(4).regular_repr])),
    ]


FIELD_TYPES = _field_types()
IDS = [name for name, _ in FIELD_TYPES]


def _fields_reference(ft: FieldType, x: torch.Tensor, g, order: int = 1) -> np.ndarray:
    """``gspace.featurefield_action`` (numpy) applied field by field."""
    gs = ft.gspace
    parts = [
        gs.featurefield_action(x[:, a:b].detach().double().numpy(), r, g, order=order)
        for a, b, r in zip(ft.fields_start, ft.fields_end, ft.representations)
    ]
    return np.concatenate(parts, axis=1)


# ------------------------------------------------------------------ construct / shapes


@pytest.mark.parametrize("factory", FACTORIES, ids=[f.__name__ for f in FACTORIES])
def test_field_type_on_every_gspace3d(factory):
    gs = factory()
    ft = FieldType(gs, [gs.trivial_repr, gs.trivial_repr])
    assert ft.size == 2 and gs.type(gs.trivial_repr, gs.trivial_repr) == ft
    t = GeometricTensor(torch.randn(1, 2, 3, 4, 5), ft)
    assert t.shape == (1, 2, 3, 4, 5)
    g = gs.testing_elements[-1]
    assert t.transform(g).shape == t.shape


def test_5d_accepted_4d_rejected_on_gspace3d():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.regular_repr])
    GeometricTensor(torch.zeros(2, 24, 3, 3, 3), ft)
    with pytest.raises(
        ValueError, match=r"tensor must be a 5-D tensor \(batch, channels, depth, height, width\)"
    ):
        GeometricTensor(torch.zeros(2, 24, 3, 3), ft)
    with pytest.raises(ValueError, match=r"Octahedral_on_R3.*received shape \(2, 24, 3, 3\) \(4-D\)"):
        GeometricTensor(torch.zeros(2, 24, 3, 3), ft)
    with pytest.raises(ValueError, match="5-D tensor"):
        GeometricTensor(torch.zeros(1, 2, 24, 3, 3, 3), ft)
    with pytest.raises(ValueError, match="has 23 channels"):
        GeometricTensor(torch.zeros(2, 23, 3, 3, 3), ft)


def test_4d_accepted_5d_rejected_on_the_plane():
    gs = Rot2dOnR2(4)
    ft = FieldType(gs, [gs.regular_repr])
    GeometricTensor(torch.zeros(2, 4, 3, 3), ft)
    with pytest.raises(ValueError, match=r"tensor must be a 4-D tensor \(batch, channels, height, width\)"):
        GeometricTensor(torch.zeros(2, 4, 3, 3, 3), ft)


def test_transform_rejects_too_few_dims_in_3d():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.trivial_repr])
    with pytest.raises(ValueError, match=r"at least 4 dims \(\.\.\., channels, depth, height, width\)"):
        ft.transform(torch.zeros(1, 3, 3), gs.fibergroup.identity)
    with pytest.raises(TypeError, match="floating point"):
        ft.transform(torch.zeros(1, 1, 3, 3, 3, dtype=torch.int64), gs.fibergroup.identity)


# ------------------------------------------------------------------ tensor operations in 5-D


def test_indexing_split_arithmetic_directsum_in_5d():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
    x = torch.randn(3, ft.size, 4, 5, 6, dtype=torch.float64)
    t = GeometricTensor(x, ft)
    sub = t[1, 1:, 2:4, :, ::2]
    assert sub.shape == (1, 4, 2, 5, 3) and sub.type == ft.index_select([1, 2])
    torch.testing.assert_close(sub.tensor, x[1:2, 24:, 2:4, :, ::2])
    assert t[..., 0].shape == (3, 28, 4, 5, 1)
    assert t[:, ::2].type == ft.index_select([0, 2])
    torch.testing.assert_close(t[:, ::2].tensor, torch.cat([x[:, :24], x[:, 27:]], dim=1))
    with pytest.raises(IndexError, match="too many indices for a 5-D GeometricTensor"):
        t[0, 0, 0, 0, 0, 0]
    parts = t.split([1, 2])
    assert [p.shape[1] for p in parts] == [24, 3, 1]
    assert tensor_directsum(parts).type == ft
    torch.testing.assert_close(tensor_directsum(parts).tensor, x)
    torch.testing.assert_close((t + t - t).tensor, x)
    torch.testing.assert_close((2.0 * t * 0.5).tensor, x)
    assert t.to(torch.float32).tensor.dtype == torch.float32
    g = gs.fibergroup.elements[5]
    expected = torch.einsum("ij,bjdhw->bidhw", ft.fiber_matrix(g), x)
    torch.testing.assert_close(t.transform_fibers(g).tensor, expected)


# ------------------------------------------------------------------ transform: group action, exactness


def _combine(G, g, h):
    return G.combine(g, h)


@pytest.mark.parametrize("name_ft", FIELD_TYPES, ids=IDS)
def test_transform_is_a_group_action_on_grid_elements(name_ft):
    _, ft = name_ft
    gs = ft.gspace
    G = gs.fibergroup
    grid = gs.grid_elements()
    x = torch.randn(2, ft.size, 5, 5, 5, dtype=torch.float64)
    rng = np.random.default_rng(0)
    pairs = [(grid[i], grid[j]) for i, j in rng.integers(0, len(grid), size=(6, 2))]
    for g, h in pairs:
        lhs = ft.transform(ft.transform(x, h), g)
        rhs = ft.transform(x, _combine(G, g, h))
        torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-12)
    # the identity is exact, the inverse undoes
    torch.testing.assert_close(ft.transform(x, G.identity), x, rtol=0, atol=1e-14)
    g = grid[-1]
    torch.testing.assert_close(ft.transform(ft.transform(x, g), G.inverse(g)), x, rtol=0, atol=1e-12)


def test_transform_of_regular_fields_is_bitwise_a_group_action():
    gs = fullOctaOnR3()
    ft = FieldType(gs, [gs.regular_repr])
    G = gs.fibergroup
    x = torch.randn(1, 48, 4, 4, 4, dtype=torch.float64)
    for g, h in [(G.elements[i], G.elements[j]) for i, j in [(1, 2), (5, 30), (47, 24), (13, 13)]]:
        assert torch.equal(ft.transform(ft.transform(x, h), g), ft.transform(x, G.combine(g, h)))


@pytest.mark.parametrize("name_ft", FIELD_TYPES, ids=IDS)
def test_transform_agrees_with_featurefield_action_on_grid_elements(name_ft):
    _, ft = name_ft
    gs = ft.gspace
    x = torch.randn(2, ft.size, 5, 5, 5, dtype=torch.float64)
    for g in gs.grid_elements():
        ours = ft.transform(x, g).numpy()
        np.testing.assert_allclose(ours, _fields_reference(ft, x, g), rtol=0, atol=1e-13)


def test_transform_permutes_regular_fields_exactly_as_featurefield_action():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.regular_repr])
    x = torch.randn(1, 24, 3, 4, 3, dtype=torch.float64)  # a box: only some grid elements keep it
    box = gs.grid_elements((3, 4, 3))
    assert 0 < len(box) < 24
    for g in box:
        assert np.array_equal(ft.transform(x, g).numpy(), _fields_reference(ft, x, g))


def test_non_cubic_volume_uses_interpolation_for_elements_that_change_its_shape():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.trivial_repr])
    x = torch.randn(1, 1, 3, 5, 5, dtype=torch.float64)
    keep = gs.grid_elements((3, 5, 5))
    other = next(g for g in gs.fibergroup.elements if not any(g == k for k in keep))
    out = ft.transform(x, other)
    assert out.shape == x.shape  # same size; voxels rotated in from outside are zero
    assert (out == 0).any()


def _inner(shape, margin):
    """Voxels at least ``margin`` voxels inside the inscribed ball (their rotated sources stay inside)."""
    axes = [np.arange(n) - (n - 1) / 2 for n in shape]
    r = np.sqrt(sum(a**2 for a in np.meshgrid(*axes, indexing="ij")))
    return r <= (min(shape) - 1) / 2 - margin


@pytest.mark.parametrize("name_ft", FIELD_TYPES, ids=IDS)
def test_transform_agrees_with_featurefield_action_when_interpolating(name_ft):
    _, ft = name_ft
    gs = ft.gspace
    if not gs.fibergroup.continuous:
        pytest.skip("every element of the cube's groups is a grid element")
    grid = gs.grid_elements()
    generic = [g for g in gs.testing_elements if not any(g is h for h in grid)][:4]
    x = torch.randn(1, ft.size, 9, 9, 9, dtype=torch.float64)
    inside = _inner((9, 9, 9), 1.5)
    for g in generic:
        ours = ft.transform(x, g, interpolation="trilinear").numpy()
        ref = _fields_reference(ft, x, g, order=1)  # scipy's trilinear (spline order 1)
        np.testing.assert_allclose(ours[..., inside], ref[..., inside], rtol=0, atol=1e-10)


def test_nearest_interpolation_matches_order_0():
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.trivial_repr])
    x = torch.randn(1, 1, 9, 9, 9, dtype=torch.float64)
    g = gs.fibergroup.element(np.array([0.1, 0.2, 0.3]), "EV")
    ours = ft.transform(x, g, interpolation="nearest").numpy()
    ref = _fields_reference(ft, x, g, order=0)
    inside = _inner((9, 9, 9), 1.5)
    agree = np.isclose(ours[..., inside], ref[..., inside], rtol=0, atol=1e-12)
    assert agree.mean() > 0.95  # ties at half-voxel positions may round differently


def test_interpolation_names():
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.trivial_repr])
    x = torch.randn(1, 1, 5, 5, 5)
    g = gs.fibergroup.element(np.array([0.1, 0.2, 0.3]), "EV")
    torch.testing.assert_close(ft.transform(x, g), ft.transform(x, g, interpolation="trilinear"))
    for bad in ("bicubic", "bilinear"):
        with pytest.raises(ValueError, match=rf"interpolation='{bad}' is only for tensors on planar"):
            ft.transform(x, g, interpolation=bad)
    with pytest.raises(ValueError, match="interpolation='cubic' is not known; expected one of"):
        ft.transform(x, g, interpolation="cubic")
    planar = FieldType(Rot2dOnR2(8), [Rot2dOnR2(8).trivial_repr])
    with pytest.raises(ValueError, match="interpolation='trilinear' is only for tensors on 3-D"):
        planar.transform(torch.randn(1, 1, 5, 5), 1, interpolation="trilinear")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_transform_keeps_dtype_and_device(dtype):
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.irrep(1)])
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        x = torch.randn(2, 3, 5, 5, 5, dtype=dtype, device=device)
        for g in (gs.grid_elements()[7], gs.fibergroup.element(np.array([0.3, -0.2, 0.5]), "EV")):
            y = GeometricTensor(x, ft).transform(g).tensor
            assert y.dtype == dtype and y.device == x.device
            if device != "cpu":
                torch.testing.assert_close(y.cpu(), ft.transform(x.cpu(), g))


def test_gradient_flows_through_transform():
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.irrep(1)])
    x = torch.randn(1, 3, 4, 4, 4, dtype=torch.float64, requires_grad=True)
    for g in (gs.grid_elements()[5], gs.fibergroup.element(np.array([0.3, -0.2, 0.5]), "EV")):
        assert torch.autograd.gradcheck(lambda t, g=g: ft.transform(t, g), (x,))
    y = GeometricTensor(x, ft).transform(gs.grid_elements()[3]).tensor
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def _smooth_vector_field(n, A=None, sigma=2.5):
    """The gradient of a Gaussian bump off the centre, sampled at the voxels (components x, y, z), moved
    by the rotation ``A`` analytically: ``(A f)(A^{-1} p)``."""
    c = (n - 1) / 2
    i, j, k = np.meshgrid(*(np.arange(n),) * 3, indexing="ij")
    p = np.stack([k - c, c - j, c - i], axis=-1)  # (x, y, z) of each voxel
    if A is not None:
        p = p @ A  # A^{-1} p = A^T p, as rows
    mu = np.array([1.5, -1.0, 0.5])
    d = p - mu
    phi = np.exp(-(d**2).sum(-1) / (2 * sigma**2))
    grad = -d / sigma**2 * phi[..., None]
    if A is not None:
        grad = grad @ A.T
    return np.moveaxis(grad, -1, 0)[None]


@pytest.mark.parametrize("sigma, bound", [(2.0, 0.15), (3.0, 0.08), (4.0, 0.045)])
def test_interpolation_error_on_a_smooth_field_is_small(sigma, bound):
    """Trilinear rotation of the gradient of a Gaussian bump (width ``sigma`` voxels, 21^3 voxels) against
    the analytically rotated field, in the inscribed ball, relative to the field's maximum, over random
    rotations. Measured worst (10 rotations, 25^3): 0.11 (sigma 2), 0.074 (2.5), 0.052 (3), 0.030 (4)."""
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.basespace_action])  # the vector field (x, y, z) of the rotations
    n = 21
    x = torch.from_numpy(_smooth_vector_field(n, sigma=sigma))
    rng = np.random.default_rng(1)
    inside = _inner((n, n, n), 0)
    worst = 0.0
    for _ in range(5):
        g = gs.fibergroup.element(rng.normal(size=3), "EV")
        A = np.asarray(gs.basespace_action(g))
        moved = ft.transform(x, g).numpy()
        exact = _smooth_vector_field(n, A, sigma=sigma)
        err = np.abs(moved - exact)[..., inside].max() / np.abs(exact).max()
        worst = max(worst, err)
    assert worst < bound, worst


# ------------------------------------------------------------------ elements


def test_grid_and_testing_elements():
    so3, o3, focta, ico = rot3dOnR3(), flipRot3dOnR3(), fullOctaOnR3(), icoOnR3()
    assert len(so3.grid_elements()) == 24 and len(o3.grid_elements()) == 48
    assert len(focta.grid_elements()) == 48 == len(focta.testing_elements)
    assert len(ico.grid_elements()) == 12 and len(ico.testing_elements) == 60
    assert len(rot2dOnR3().grid_elements()) == 4 and len(rot2dOnR3(8).grid_elements()) == 4
    assert len(invOnR3().grid_elements()) == 2 and len(trivialOnR3().grid_elements()) == 1
    te = so3.testing_elements
    assert te[:24] == so3.grid_elements() and len(te) == 72
    assert te == rot3dOnR3().testing_elements  # deterministic
    # the 24 grid rotations are distinct and map the cube's voxels onto themselves
    mats = [np.asarray(so3.basespace_action(g)) for g in so3.grid_elements()]
    assert len({tuple(np.round(m).astype(int).ravel()) for m in mats}) == 24
    for g in te[24:]:
        m = np.asarray(so3.basespace_action(g))
        assert not np.allclose(np.abs(m), np.round(np.abs(m)))  # generic: needs interpolation
    # O(3)'s grid elements include the inversion
    assert any(np.allclose(o3.basespace_action(g), -np.eye(3)) for g in o3.grid_elements())
    with pytest.raises(ValueError, match="shape=.* is not accepted"):
        so3.grid_elements((3, 3))


# ------------------------------------------------------------------ equivariance checks


class _ChannelMap(EquivariantModule):
    """A 1x1x1 map on the channels followed by a 3x3x3 box blur of every channel (zero padded; symmetric
    under the cube's 48 symmetries): equivariant for the grid elements when ``matrix`` commutes with the
    group (intertwines in_type and out_type)."""

    def __init__(self, in_type, out_type, matrix, blur=True):
        super().__init__()
        self.in_type, self.out_type = in_type, out_type
        self.blur = blur
        self.register_buffer("matrix", torch.as_tensor(matrix, dtype=torch.float64))

    def forward(self, x):
        y = torch.einsum("ij,bjdhw->bidhw", self.matrix.to(x.tensor.dtype), x.tensor)
        if self.blur:
            y = F.avg_pool3d(y, 3, stride=1, padding=1)
        return GeometricTensor(y, self.out_type)

    def evaluate_output_shape(self, input_shape):
        return (input_shape[0], self.out_type.size, *input_shape[2:])


def _intertwiner(ft_in: FieldType, ft_out: FieldType, seed=0):
    """Group-average a random matrix into an equivariant one (finite groups)."""
    G = ft_in.fibergroup
    W = np.random.default_rng(seed).normal(size=(ft_out.size, ft_in.size))
    avg = sum(ft_out.fiber_matrix(g).numpy() @ W @ ft_in.fiber_matrix(g).numpy().T for g in G.elements)
    return avg / G.order()


def test_check_equivariance_passes_for_an_equivariant_3d_module():
    gs = octaOnR3()
    ft_in = FieldType(gs, [gs.regular_repr])
    ft_out = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr])
    m = _ChannelMap(ft_in, ft_out, _intertwiner(ft_in, ft_out))
    errors = m.check_equivariance()
    assert len(errors) == 24 and max(e for _, e in errors) < 1e-12
    records = testing.assert_equivariant(m)
    assert len(records) == 24 and all(r.exact for r in records)
    assert "exact voxel permutation" in records[0].describe()


def test_check_equivariance_in_3d_asserts_grid_elements_and_reports_interpolated_ones(capsys):
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.irrep(1), gs.irrep(2), gs.trivial_repr])
    scale = np.diag([2.0] * 3 + [-1.0] * 5 + [0.5])  # a multiple of the identity on each irrep
    m = _ChannelMap(ft, ft, scale)
    errors = m.check_equivariance(verbose=True)
    assert len(errors) == len(gs.testing_elements) == 72
    grid_errors = [e for _, e in errors[:24]]
    assert max(grid_errors) < 1e-12
    interpolated = [e for _, e in errors[24:]]
    assert 0 < max(interpolated) < 0.5  # trilinear interpolation: measured, never asserted
    out = capsys.readouterr().out
    assert out.count("[not asserted]") == 48 and "interpolated, inner ball" in out
    # IdentityModule: exact on the grid elements (the default elements of assert_equivariant in 3-D)
    records = testing.assert_equivariant(IdentityModule(ft))
    assert len(records) == 24 and max(r.abs_error for r in records) == 0.0


def test_check_equivariance_fails_for_a_non_equivariant_3d_module():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.regular_repr])
    W = np.random.default_rng(3).normal(size=(24, 24))  # a random channel mix does not commute
    m = _ChannelMap(ft, ft, W, blur=False)
    with pytest.raises(
        AssertionError, match=r"(?s)_ChannelMap is not equivariant: .*\[exact voxel permutation\]"
    ):
        m.check_equivariance()
    with pytest.raises(AssertionError, match="is not equivariant"):
        testing.assert_equivariant(m)
    errors = m.check_equivariance(assertion=False)
    assert max(e for _, e in errors) > 0.1


def test_check_equivariance_fails_for_a_spatially_non_symmetric_3d_module():
    gs = fullOctaOnR3()
    ft = FieldType(gs, [gs.trivial_repr])

    class Shift(_ChannelMap):
        def forward(self, x):
            return GeometricTensor(torch.roll(x.tensor, 1, dims=-1), self.out_type)

    with pytest.raises(AssertionError, match="not equivariant"):
        Shift(ft, ft, np.eye(1)).check_equivariance()


def test_testing_in_3d_accepts_inputs_and_sizes():
    gs = octaOnR3()
    ft = FieldType(gs, [gs.regular_repr])
    m = _ChannelMap(ft, ft, _intertwiner(ft, ft, seed=1))
    x = torch.randn(1, 24, 4, 6, 4, dtype=torch.float64)  # a box: only the elements that keep it
    records = testing.assert_equivariant(m, x=x)
    assert len(records) == len(gs.grid_elements((4, 6, 4))) < 24
    records = testing.equivariance_errors(m, spatial_size=(5, 5, 5))
    assert len(records) == 24 and max(r.abs_error for r in records) < 1e-12
    with pytest.raises(TypeError, match=r"spatial_size=\(5, 5\) is not accepted; .*triple \(D, H, W\)"):
        testing.equivariance_errors(m, spatial_size=(5, 5))
    with pytest.raises(ValueError, match="x must be a 5-D tensor"):
        testing.equivariance_errors(m, x=torch.randn(1, 24, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="interpolation='bicubic' is only for tensors on planar"):
        testing.equivariance_errors(m, interpolation="bicubic")
    assert testing.sampling_grid_problems(m, (1, 24, 5, 5, 5)) == []


def test_fibers_only_check_in_3d():
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.irrep(1)])
    records = testing.assert_equivariant(IdentityModule(ft), fibers_only=True)
    assert len(records) == len(gs.testing_elements)


# ------------------------------------------------------------------ restrict, pickling


@pytest.mark.parametrize(
    "factory, reprs, sub_id",
    [
        (rot3dOnR3, lambda gs: [gs.irrep(1), gs.irrep(2)], "octa"),
        (rot3dOnR3, lambda gs: [gs.irrep(1), gs.irrep(2)], (False, 4)),
        (flipRot3dOnR3, lambda gs: [gs.irrep(1, 1), gs.irrep(0, 2)], "so3"),
        (flipRot3dOnR3, lambda gs: [gs.irrep(1, 1), gs.irrep(0, 2)], (True, "octa")),
        (lambda: rot2dOnR3(8), lambda gs: [gs.regular_repr], 4),
        (octaOnR3, lambda gs: [gs.regular_repr], (False, 4)),
    ],
    ids=["so3-octa", "so3-c4", "o3-so3", "o3-fullocta", "c8-c4", "octa-sub"],
)
def test_restrict(factory, reprs, sub_id):
    gs = factory()
    ft = FieldType(gs, reprs(gs))
    sub = ft.restrict(sub_id)
    assert sub.size == ft.size and sub.gspace == gs.restrict(sub_id)[0]
    _, parent, _ = gs.restrict(sub_id)
    x = torch.randn(1, ft.size, 5, 5, 5, dtype=torch.float64)
    for h in sub.gspace.grid_elements()[:6]:
        torch.testing.assert_close(sub.transform(x, h), ft.transform(x, parent(h)), rtol=0, atol=1e-12)
    t = GeometricTensor(x, ft).restrict(sub_id)
    assert t.type == sub and t.tensor is x


def test_pickling_3d_field_types_and_tensors():
    for _, ft in FIELD_TYPES:
        again = pickle.loads(pickle.dumps(ft))
        assert again == ft and hash(again) == hash(ft)
    gs = octaOnR3()
    t = GeometricTensor(torch.randn(1, 25, 3, 3, 3), FieldType(gs, [gs.regular_repr, gs.trivial_repr]))
    back = pickle.loads(pickle.dumps(t))
    assert back.type == t.type and torch.equal(back.tensor, t.tensor)
    assert pickle.loads(pickle.dumps(gs)).testing_elements == gs.testing_elements


def test_gspace3d_accessors():
    gs = octaOnR3()
    assert gs.trivial_repr.size == 1 and gs.regular_repr.size == 24 and gs.irrep(2).size == 2
    so3 = rot3dOnR3()
    with pytest.raises(ValueError, match="regular_repr"):
        so3.regular_repr  # noqa: B018
    assert isinstance(so3, GSpace3D) and so3.type(so3.irrep(1)).size == 3


def test_regular_representation_is_built_once():
    import structconv.group.constructions as constructions
    from structconv.group import cyclic_group

    calls = []
    original = constructions._regular_fourier_basis

    def counting(G):
        calls.append(G.name)
        return original(G)

    constructions._regular_fourier_basis = counting
    try:
        G = cyclic_group(19)  # a group no other test builds the regular representation of first
        rho = G.regular_representation
        assert G.representations["regular"] is rho
    finally:
        constructions._regular_fourier_basis = original
    assert calls.count("C19") <= 1


class _PointwiseRelu(EquivariantModule):
    """ReLU on every channel: equivariant for permutation representations (regular, trivial fields)."""

    _acts_pointwise = True

    def __init__(self, in_type):
        super().__init__()
        self.in_type = self.out_type = in_type

    def forward(self, x):
        return GeometricTensor(torch.relu(x.tensor), self.out_type)

    def evaluate_output_shape(self, input_shape):
        return input_shape


def test_check_equivariance_of_a_pointwise_3d_module():
    gs = fullOctaOnR3()
    ft = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
    errors = _PointwiseRelu(ft).check_equivariance()
    assert len(errors) == 48 and max(e for _, e in errors) == 0.0
    so3 = rot3dOnR3()
    # a ReLU on a vector field is not equivariant: caught on the channels alone
    with pytest.raises(AssertionError, match=r"(?s)not equivariant.*\[exact voxel permutation\]"):
        _PointwiseRelu(FieldType(so3, [so3.irrep(1)])).check_equivariance()


# ------------------------------------------------------------------ oracle: escnn 1.0.11's transform


def _escnn_reference():
    import json
    import pathlib

    path = pathlib.Path(__file__).parent / "data" / "escnn_typed3d.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_transform_matches_escnn_on_grid_rotations():
    """escnn's ``GeometricTensor.transform`` (stored by tools/escnn_reference_typed3d.py; float32 there)."""
    import structconv.gspaces.r3 as r3

    data = _escnn_reference()
    for case in data["cases"]:
        gs = getattr(r3, case["factory"])()
        reprs = [gs.regular_repr if f[0] == "regular" else gs.irrep(*f[1:]) for f in case["fields"]]
        ft = FieldType(gs, reprs)
        shape = tuple(case["shape"])
        n = ft.size * int(np.prod(shape))
        x = torch.from_numpy(np.sin(0.37 * np.arange(n) + 0.1).reshape(1, ft.size, *shape))
        for q, expected in zip(data["quaternions"], case["outputs"]):
            g = gs.fibergroup.element(np.array(q), "Q")
            ours = ft.transform(x, g).numpy().ravel()
            np.testing.assert_allclose(ours, np.array(expected), rtol=0, atol=2e-6, err_msg=case["label"])


# ------------------------------------------------------------------ escnn's transform(order=...), coords
@pytest.mark.parametrize("name, ft", FIELD_TYPES, ids=[n for n, _ in FIELD_TYPES])
def test_transform_order_follows_escnn(name, ft):
    gs = ft.gspace
    x = torch.randn(2, ft.size, 7, 7, 7, dtype=torch.float64)
    g = gs.fibergroup.testing_elements()[-1]
    for order in range(6):
        y = ft.transform(x, g, order=order)
        assert y.shape == x.shape and y.dtype == x.dtype
        if order >= 2:  # escnn's scipy splines, on the CPU in float64
            ref = gs.featurefield_action(x.numpy(), ft.representation, g, order=order)
            assert np.abs(y.numpy() - ref).max() < 1e-12
    assert torch.equal(ft.transform(x, g, order=1), ft.transform(x, g, interpolation="trilinear"))
    assert torch.equal(ft.transform(x, g, order=0), ft.transform(x, g, interpolation="nearest"))
    t = GeometricTensor(x.float(), ft)
    assert t.transform(g, order=3).tensor.dtype == torch.float32
    assert t.coords is None and t.is_compatible(t) and t.has_same_coords(t)
    assert ft.fiber_representation is ft.representation


def test_spline_order_is_more_accurate_than_trilinear_for_smooth_fields():
    # a smooth blob rotated about an axis through it is invariant: escnn's order 2 beats trilinear
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.trivial_repr])
    idx = torch.arange(15, dtype=torch.float64) - 7.0
    zz, yy, xx = torch.meshgrid(idx, idx, idx, indexing="ij")
    x = torch.exp(-((xx - 0.0) ** 2 + (yy - 0.0) ** 2 + (zz - 2.0) ** 2) / 6.0)[None, None]
    g = gs.fibergroup.element(np.array([0.0, 0.0, np.pi / 6]), "EV")  # about z, through the blob
    errs = {o: float((ft.transform(x, g, order=o) - x).abs().max()) for o in (1, 2, 3)}
    assert errs[2] < errs[1] / 4 and errs[3] < errs[1] / 4, errs


def test_transform_order_errors():
    gs = rot3dOnR3()
    ft = FieldType(gs, [gs.irrep(1)])
    x = torch.randn(1, 3, 5, 5, 5)
    g = gs.fibergroup.testing_elements()[-1]
    with pytest.raises(ValueError, match="at most one of them"):
        ft.transform(x, g, order=2, interpolation="trilinear")
    with pytest.raises(ValueError, match=r"order=7 is not accepted on a 3-D gspace"):
        ft.transform(x, g, order=7)
    with pytest.raises(ValueError, match="expected an int"):
        ft.transform(x, g, order=1.5)
    with pytest.raises(ValueError, match="coords: expected None"):
        ft.transform(x, g, torch.zeros(10, 3))
    with pytest.raises(ValueError, match="not differentiable"):
        ft.transform(x.requires_grad_(), g, order=2)
    with torch.no_grad():
        assert ft.transform(x, g, order=2).shape == x.shape
    planar = Rot2dOnR2(8)
    ft2 = FieldType(planar, [planar.regular_repr])
    x2 = torch.randn(1, 8, 5, 5)
    assert torch.equal(ft2.transform(x2, 1, order=3), ft2.transform(x2, 1, interpolation="bicubic"))
    assert torch.equal(ft2.transform(x2, 1, order=1), ft2.transform(x2, 1, interpolation="bilinear"))
    with pytest.raises(ValueError, match="order=2 is not accepted on a 2-D gspace"):
        ft2.transform(x2, 1, order=2)
    with pytest.raises(TypeError, match="expected a GeometricTensor"):
        GeometricTensor(x2, ft2).has_same_coords(x2)
