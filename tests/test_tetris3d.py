"""3D Tetris (structconv.data.tetris3d): shapes, rendering, the data set, the split and the Conv3d baseline."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import scipy.special
import torch
from scipy.spatial.transform import Rotation

from structconv.data.tetris3d import (
    MIRROR_LABELS,
    ROTATION_MODES,
    TETRIS_CLASSES,
    TETRIS_SHAPES,
    Conv3dBaseline,
    Tetris3D,
    grid_rotations,
    load_tetris3d,
    render_tetris,
)
from structconv.gspaces import grid_permutation, octaOnR3, rot3dOnR3
from structconv.gspaces.r3 import VOXEL_AXES

MIRROR_Y = np.diag([1.0, -1.0, 1.0])


# ---------------------------------------------------------------------- slow references
def _key(cubes: np.ndarray) -> tuple:
    c = np.asarray(cubes, dtype=np.int64)
    return tuple(sorted(map(tuple, (c - c.min(axis=0)).tolist())))


@functools.cache
def _all_proper_rotations() -> tuple[np.ndarray, ...]:
    """The 24 cube rotations by brute force: every integer matrix with entries in {-1, 0, 1} in SO(3)."""
    out = []
    for entries in itertools.product((-1, 0, 1), repeat=9):
        m = np.array(entries, dtype=np.float64).reshape(3, 3)
        if np.allclose(m @ m.T, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0):
            out.append(m)
    return tuple(out)


def _congruent(a, b) -> bool:
    return any(_key(np.asarray(a) @ r.T.astype(np.int64)) == _key(b) for r in _all_proper_rotations())


def _reference_render(label: int, A: np.ndarray, t: np.ndarray, size: int, scale: float, sigma: float):
    """Voxel by voxel: the sum over cubes of products of normal-CDF differences at A^T (p - t) / s + centroid."""
    cubes = np.array(TETRIS_SHAPES[TETRIS_CLASSES[label]], dtype=np.float64)
    centroid = cubes.mean(axis=0) + 0.5
    out = np.zeros((size, size, size))
    c0 = (size - 1) / 2.0
    s = sigma / scale
    for i, j, k in itertools.product(range(size), repeat=3):
        p = np.array([k - c0, c0 - j, c0 - i])
        q = A.T @ (p - t) / scale + centroid
        for c in cubes:
            out[i, j, k] += np.prod(scipy.special.ndtr((c + 1 - q) / s) - scipy.special.ndtr((c - q) / s))
    return out


# ---------------------------------------------------------------------- the shapes
def test_eight_named_shapes_of_four_face_connected_cubes():
    assert TETRIS_CLASSES == (
        "chiral_shape_1", "chiral_shape_2", "square", "line", "corner", "L", "T", "zigzag"
    )  # fmt: skip
    for name, cubes in TETRIS_SHAPES.items():
        c = np.array(cubes)
        assert c.shape == (4, 3) and len({tuple(x) for x in cubes}) == 4, name
        # connected through faces: a walk over unit-distance neighbours reaches every cube
        seen, todo = {0}, [0]
        while todo:
            a = todo.pop()
            for b in range(4):
                if b not in seen and np.abs(c[a] - c[b]).sum() == 1:
                    seen.add(b)
                    todo.append(b)
        assert seen == {0, 1, 2, 3}, name


def test_shapes_pairwise_distinct_up_to_rotation_and_translation():
    shapes = list(TETRIS_SHAPES.values())
    for a, b in itertools.combinations(range(8), 2):
        assert not _congruent(shapes[a], shapes[b]), (TETRIS_CLASSES[a], TETRIS_CLASSES[b])


def test_chiral_pair_mirror_images_not_rotations():
    c1 = np.array(TETRIS_SHAPES["chiral_shape_1"])
    c2 = np.array(TETRIS_SHAPES["chiral_shape_2"])
    assert _key(c1 @ MIRROR_Y.astype(int)) == _key(c2)
    assert len(_all_proper_rotations()) == 24
    assert not _congruent(c1, c2)
    # the other six are their own mirror images up to a rotation; MIRROR_LABELS says the same
    for n, name in enumerate(TETRIS_CLASSES):
        mirrored = np.array(TETRIS_SHAPES[name]) @ MIRROR_Y.astype(int)
        assert _congruent(mirrored, TETRIS_SHAPES[TETRIS_CLASSES[MIRROR_LABELS[n]]]), name
    assert MIRROR_LABELS == (1, 0, 2, 3, 4, 5, 6, 7)


def test_chiral_volumes_mirror_images_and_no_grid_rotation_maps_one_onto_the_other():
    size = 16
    up = render_tetris([0, 1], size=size)
    mirrored = render_tetris([0], MIRROR_Y[None], size=size)
    torch.testing.assert_close(mirrored[0], up[1], atol=1e-6, rtol=0)
    flat1 = up[0, 0].reshape(-1)
    for r in grid_rotations():
        moved = flat1[torch.from_numpy(grid_permutation(r, (size,) * 3))].reshape(size, size, size)
        assert float((moved - up[1, 0]).abs().sum()) > 8.0  # more than one cube's mass (32 / 4) apart


def test_grid_rotations_are_the_octahedral_group():
    R = grid_rotations()
    assert R.shape == (24, 3, 3) and R.dtype == np.float64
    keys = {tuple(r.astype(int).ravel()) for r in R}
    assert keys == {tuple(r.astype(int).ravel()) for r in _all_proper_rotations()}
    gs = octaOnR3()
    lib = {tuple(np.round(gs.basespace_action(g)).astype(int).ravel()) for g in gs.fibergroup.elements}
    assert keys == lib
    np.testing.assert_array_equal(R[0], np.eye(3))


# ---------------------------------------------------------------------- rendering
@pytest.mark.parametrize("scale, smoothing", [(2.0, 0.6), (2.0, 0.0), (1.5, 0.7)])
def test_render_shape_dtype_range_and_mass(scale, smoothing):
    v = render_tetris(np.arange(8), size=16, scale=scale, smoothing=smoothing)
    assert v.shape == (8, 1, 16, 16, 16) and v.dtype == torch.float32
    assert float(v.min()) >= 0.0 and float(v.max()) <= 1.0 + 1e-6
    torch.testing.assert_close(
        v.sum(dim=(1, 2, 3, 4)).double(),
        torch.full((8,), 4 * scale**3, dtype=torch.float64),
        rtol=2e-3,
        atol=0,
    )


def test_render_matches_reference_voxel_by_voxel():
    rng = np.random.default_rng(3)
    mats = np.concatenate([grid_rotations()[[5, 17]], Rotation.random(2, random_state=rng).as_matrix()])
    shifts = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, -1.0], [0.3, 0.0, 0.0]])
    labels = np.array([0, 3, 6, 7])
    got = render_tetris(labels, mats, shifts, size=12, scale=1.5, smoothing=0.5)
    for n in range(4):
        ref = _reference_render(int(labels[n]), mats[n], shifts[n], 12, 1.5, 0.5)
        np.testing.assert_allclose(got[n, 0].numpy(), ref, atol=1e-6, rtol=0)


def test_upright_line_lies_along_z_in_voxel_convention():
    v = render_tetris([3], size=16, smoothing=0.0)[0, 0]
    # z is the first (reversed) axis: the line spans 8 slices along i, 2 along j and k
    occupied = (v > 0.5).nonzero()
    assert occupied[:, 0].unique().numel() == 8
    assert occupied[:, 1].unique().numel() == 2 and occupied[:, 2].unique().numel() == 2
    np.testing.assert_array_equal(VOXEL_AXES @ np.array([1.0, 0.0, 0.0]), [0.0, 0.0, -1.0])


@pytest.mark.parametrize("smoothing", [0.6, 0.0])
def test_grid_rotations_are_exact_voxel_permutations(smoothing):
    size = 16
    up = render_tetris(np.arange(8), size=size, smoothing=smoothing)[:, 0].reshape(8, -1)
    R = grid_rotations()
    labels = np.repeat(np.arange(8), 24)
    moved = render_tetris(labels, np.tile(R, (8, 1, 1)), size=size, smoothing=smoothing)
    perms = [torch.from_numpy(grid_permutation(r, (size,) * 3)) for r in R]
    for n, m in enumerate(labels):
        assert torch.equal(moved[n, 0].reshape(-1), up[m][perms[n % 24]])


def test_grid_rotations_agree_with_featurefield_action():
    gs = octaOnR3()
    up = render_tetris(np.arange(8)).double().numpy()
    for g in gs.fibergroup.elements[:6]:
        A = gs.basespace_action(g)
        want = gs.featurefield_action(up, gs.trivial_repr, g)
        got = render_tetris(np.arange(8), np.repeat(A[None], 8, axis=0)).double().numpy()
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_random_rotations_match_spline_interpolation_of_the_upright_volume():
    # the exact render against rotating the upright volume with GSpace3D.featurefield_action (cubic
    # splines): same direction of rotation, equal up to interpolation error (the transpose is far off)
    gs = rot3dOnR3()
    mats = Rotation.random(8, random_state=np.random.default_rng(1)).as_matrix()
    up = render_tetris(np.arange(8)).double().numpy()
    rot = render_tetris(np.arange(8), mats).double().numpy()
    right, wrong = [], []
    for n in range(8):
        for errors, A in ((right, mats[n]), (wrong, mats[n].T)):
            moved = gs.featurefield_action(
                up[n : n + 1], gs.trivial_repr, gs.fibergroup.element(A, "MAT"), order=3
            )
            errors.append(np.abs(moved[0] - rot[n]).max())
    assert max(right) < 0.08, right
    assert np.mean(wrong) > 4 * np.mean(right), (right, wrong)


def test_random_rotations_preserve_each_shapes_mass():
    data = Tetris3D(n_samples=96, rotation="random", seed=0)
    mass = data.volumes.sum(dim=(1, 2, 3, 4)).double()
    torch.testing.assert_close(mass, torch.full((96,), 32.0, dtype=torch.float64), rtol=1e-3, atol=0)
    up = render_tetris(np.arange(8)).sum(dim=(1, 2, 3, 4)).double()
    torch.testing.assert_close(mass, up[data.labels], rtol=1e-3, atol=0)


# ---------------------------------------------------------------------- the data set
@pytest.mark.parametrize("rotation", ROTATION_MODES)
def test_dataset_shapes_dtypes_labels(rotation):
    data = Tetris3D(n_samples=20, rotation=rotation, translation=1, seed=0)
    assert len(data) == 20 and data.num_classes == 8 and data.classes == TETRIS_CLASSES
    volume, label = data[3]
    assert volume.shape == (1, 16, 16, 16) and volume.dtype == torch.float32
    assert label.dtype == torch.int64 and label.ndim == 0
    assert data.volumes.shape == (20, 1, 16, 16, 16) and data.labels.shape == (20,)
    assert data.matrices.shape == (20, 3, 3) and data.translations.shape == (20, 3)
    assert int(data.labels.min()) >= 0 and int(data.labels.max()) <= 7
    assert np.abs(data.translations).max() <= 1
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nik", data.matrices, data.matrices),
        np.broadcast_to(np.eye(3), (20, 3, 3)),
        atol=1e-12,
    )
    if rotation != "grid" and rotation != "reflect":
        # stratified: each run of 8 holds every shape once
        assert sorted(data.labels[:8].tolist()) == list(range(8))
    dets = np.linalg.det(data.matrices)
    np.testing.assert_allclose(dets, -1.0 if rotation == "reflect" else 1.0, atol=1e-12)
    if rotation == "none":
        np.testing.assert_array_equal(data.matrices, np.broadcast_to(np.eye(3), (20, 3, 3)))
    assert "Tetris3D(n_samples=20" in repr(data)


def test_dataset_volumes_are_the_renders_of_their_labels():
    for rotation in ROTATION_MODES:
        data = Tetris3D(n_samples=16, rotation=rotation, translation=1, seed=4)
        source = (
            np.asarray(MIRROR_LABELS)[data.labels.numpy()] if rotation == "reflect" else data.labels.numpy()
        )
        again = render_tetris(source, data.matrices, data.translations)
        assert torch.equal(again, data.volumes), rotation


def test_reflect_mirrors_and_swaps_the_chiral_labels():
    data = Tetris3D(n_samples=192, rotation="reflect", seed=0)
    pairs = {(int(lbl), tuple(m.astype(int).ravel())) for lbl, m in zip(data.labels, data.matrices)}
    assert len(pairs) == 192  # every (shape, improper symmetry) once
    # a reflected chiral_shape_1 is labelled chiral_shape_2 and is a grid rotation of the upright one
    up2 = render_tetris([1])[0, 0].reshape(-1)
    n = int(np.flatnonzero(data.labels.numpy() == 1)[0])
    matches = [
        torch.allclose(
            data.volumes[n, 0].reshape(-1), up2[torch.from_numpy(grid_permutation(r, (16,) * 3))], atol=1e-6
        )
        for r in grid_rotations()
    ]
    assert any(matches)
    up1 = render_tetris([0])[0, 0].reshape(-1)  # and no rotation of chiral_shape_1 gives it
    assert not any(
        torch.allclose(
            data.volumes[n, 0].reshape(-1), up1[torch.from_numpy(grid_permutation(r, (16,) * 3))], atol=0.1
        )
        for r in grid_rotations()
    )


def test_grid_mode_covers_every_shape_and_rotation_in_each_block():
    data = Tetris3D(n_samples=192, rotation="grid", seed=5)
    pairs = {(int(lbl), tuple(m.astype(int).ravel())) for lbl, m in zip(data.labels, data.matrices)}
    assert len(pairs) == 192


def test_translation_shifts_by_whole_voxels():
    base = Tetris3D(n_samples=8, rotation="none", translation=0, seed=0)
    jit = Tetris3D(n_samples=8, rotation="none", translation=2, seed=0)
    assert np.abs(jit.translations).max() <= 2 and np.abs(jit.translations).max() >= 1
    for n in range(8):
        m = int(jit.labels[n])
        ref = base.volumes[int((base.labels == m).nonzero()[0, 0]), 0]
        tx, ty, tz = jit.translations[n]
        # a shift by (x, y, z) moves voxel (i, j, k) to (i - z, j - y, k + x)
        shifted = torch.roll(ref, shifts=(-int(tz), -int(ty), int(tx)), dims=(0, 1, 2))
        torch.testing.assert_close(jit.volumes[n, 0], shifted, atol=1e-4, rtol=0)


@pytest.mark.parametrize("rotation", ROTATION_MODES)
def test_dataset_deterministic_under_seed(rotation):
    a = Tetris3D(n_samples=24, rotation=rotation, translation=1, seed=7)
    b = Tetris3D(n_samples=24, rotation=rotation, translation=1, seed=7)
    c = Tetris3D(n_samples=24, rotation=rotation, translation=1, seed=np.random.default_rng(7))
    assert torch.equal(a.volumes, b.volumes) and torch.equal(a.labels, b.labels)
    assert torch.equal(a.volumes, c.volumes)
    t1 = Tetris3D(n_samples=24, rotation=rotation, seed=torch.Generator().manual_seed(3))
    t2 = Tetris3D(n_samples=24, rotation=rotation, seed=torch.Generator().manual_seed(3))
    assert torch.equal(t1.volumes, t2.volumes)
    d = Tetris3D(n_samples=24, rotation=rotation, translation=1, seed=8)
    assert not torch.equal(a.volumes, d.volumes)


def test_dataloader_batches():
    data = Tetris3D(n_samples=16, seed=0)
    x, y = next(iter(torch.utils.data.DataLoader(data, batch_size=5)))
    assert x.shape == (5, 1, 16, 16, 16) and y.dtype == torch.int64 and y.shape == (5,)


def test_load_tetris3d_split():
    split = load_tetris3d(n_train=40, n_test_random=24, translation=1, seed=2)
    assert (len(split.train), len(split.test_grid), len(split.test_random), len(split.test_reflect)) == (
        40,
        192,
        24,
        192,
    )
    assert [
        d.rotation for d in (split.train, split.test_grid, split.test_random, split.test_reflect)
    ] == list(ROTATION_MODES)
    assert split.train.translation == 1 and split.test_grid.translation == 0
    again = load_tetris3d(n_train=40, n_test_random=24, translation=1, seed=2)
    assert torch.equal(split.test_random.volumes, again.test_random.volumes)
    assert torch.equal(split.train.volumes, again.train.volumes)
    # the grid test set is every upright volume moved by every grid rotation
    up = render_tetris(np.arange(8))
    for n in (0, 100, 191):
        m = int(split.test_grid.labels[n])
        perm = torch.from_numpy(grid_permutation(split.test_grid.matrices[n], (16,) * 3))
        assert torch.equal(split.test_grid.volumes[n, 0].reshape(-1), up[m, 0].reshape(-1)[perm])


# ---------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 0}, ValueError, r"n_samples=0 is not accepted; expected an int >= 1"),
        ({"n_samples": 2.5}, ValueError, r"n_samples=2.5 is not accepted"),
        (
            {"rotation": "so3"},
            ValueError,
            r"rotation='so3' is not known; expected one of: none, grid, random, reflect",
        ),
        ({"rotation": None}, ValueError, r"rotation=None is not known"),
        ({"translation": -1}, ValueError, r"translation=-1 is not accepted; expected an int >= 0"),
        ({"translation": 0.5}, ValueError, r"translation=0.5 is not accepted"),
        ({"size": True}, ValueError, r"size=True is not accepted"),
        ({"scale": 0}, ValueError, r"scale=0 is not accepted; expected a finite real number > 0"),
        ({"scale": float("nan")}, ValueError, r"scale=nan is not accepted"),
        (
            {"smoothing": -0.1},
            ValueError,
            r"smoothing=-0.1 is not accepted; expected a finite real number >= 0",
        ),
        (
            {"smoothing": 0, "rotation": "random"},
            ValueError,
            r"smoothing=0 is not accepted with rotation='random'",
        ),
        (
            {"size": 8},
            ValueError,
            r"size=8 is too small for scale=2, smoothing=0.6, translation=0: .* expected size >= 12",
        ),
        (
            {"rotation": "random", "translation": 2},
            ValueError,
            r"size=16 is too small .*under every rotation",
        ),
        ({"scale": 4.0}, ValueError, r"size=16 is too small for scale=4"),
        ({"seed": -1}, TypeError, r"seed=-1 is not accepted; expected a non-negative int, a numpy Generator"),
        ({"seed": "0"}, TypeError, r"seed='0' is not accepted"),
    ],
)
def test_dataset_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Tetris3D(**kwargs)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([8],), {}, r"labels: expected a 1-D array of ints in 0..7"),
        (([[0]],), {}, r"labels: expected a 1-D array"),
        (([0.0],), {}, r"labels: expected a 1-D array of ints"),
        (([0], np.eye(3)), {}, r"matrices: expected shape \(1, 3, 3\), got \(3, 3\)"),
        (([0], 2 * np.eye(3)[None]), {}, r"matrices: expected orthogonal 3 x 3 matrices"),
        (
            ([0], Rotation.from_euler("z", 30, degrees=True).as_matrix()[None]),
            {"smoothing": 0.0},
            r"smoothing=0 renders the cube's symmetries only",
        ),
        (([0], None, np.zeros(3)), {}, r"translations: expected shape \(1, 3\), got \(3,\)"),
        (([0],), {"size": 1}, r"size=1 is not accepted; expected an int >= 2"),
    ],
)
def test_render_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_tetris(*args, **kwargs)


def test_load_bad_seed():
    with pytest.raises(ValueError, match=r"seed=-3 is not accepted; expected an int >= 0"):
        load_tetris3d(seed=-3)


# ---------------------------------------------------------------------- the baseline
def test_baseline_shape_parameters_and_repr():
    net = Conv3dBaseline()
    n = sum(p.numel() for p in net.parameters())
    assert n == 39764 and 20_000 <= n <= 60_000
    assert net(torch.zeros(3, 1, 16, 16, 16)).shape == (3, 8)
    assert net(torch.zeros(2, 1, 12, 20, 9)).shape == (2, 8)  # any size >= 4 (global pooling)
    assert "channels=(12, 24, 48), num_classes=8, parameters=39764" in repr(net)
    small = Conv3dBaseline(num_classes=3, channels=[2, 3, 4], in_channels=2)
    assert small(torch.zeros(1, 2, 8, 8, 8)).shape == (1, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 0}, r"num_classes=0 is not accepted; expected a positive int"),
        (
            {"channels": (8, 16)},
            r"channels=\(8, 16\) is not accepted; expected a sequence of 3 positive ints",
        ),
        ({"channels": (8, 0, 16)}, r"channels=\(8, 0, 16\) is not accepted"),
        ({"in_channels": 0}, r"in_channels=0 is not accepted; expected a positive int"),
    ],
)
def test_baseline_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv3dBaseline(**kwargs)


def test_baseline_bad_input_shape():
    net = Conv3dBaseline()
    with pytest.raises(ValueError, match=r"input has shape \(2, 1, 16, 16\); expected \(N, 1, D, H, W\)"):
        net(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"input has shape \(2, 3, 16, 16, 16\)"):
        net(torch.zeros(2, 3, 16, 16, 16))


@pytest.fixture
def _one_thread():
    """Small 3D convolutions are faster on one thread than on contended cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_baseline_overfits_a_tiny_batch(_one_thread):
    data = Tetris3D(n_samples=8, rotation="none", translation=1, seed=0)
    net = Conv3dBaseline()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(data.volumes), data.labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]
    with torch.no_grad():
        assert (net(data.volumes).argmax(dim=1) == data.labels).all()
