r"""3D Tetris: the eight polycubes of Thomas et al. (2018), "Tensor field networks", rendered as volumes.

Each shape is four unit cubes (integer cube coordinates ``(x, y, z)``, :data:`TETRIS_SHAPES`); the two
chiral shapes are mirror images of one another (``y -> -y``) and not rotations of one another, the other
six are their own mirror images up to a rotation. A shape is drawn on a cubic grid of ``size`` voxels a
side, each cube ``scale`` voxels wide, with the shape's centroid at the centre of the grid.

**Rendering.** A voxel holds the polycube's indicator blurred by an isotropic Gaussian of standard deviation
``smoothing`` voxels, sampled at the voxel centre. The blurred box is a product of error functions along
the cube's own axes, and the Gaussian is rotation invariant, so a rotated shape is rendered *exactly*
(nothing is interpolated): voxel ``p`` of the shape moved by ``A`` holds the upright shape's value at
:math:`A^{-1} p`. Every orientation is therefore equally sharp, and a rotation mapping the grid onto itself
(the 24 rotations of the cube, :func:`grid_rotations`) gives exactly the voxel permutation
:func:`~structconv.gspaces.grid_permutation` of the upright volume. With ``smoothing=0`` a voxel holds the
fraction of it that the shape covers (exact for the cube's own symmetries only).

**Axes.** Volumes follow the package's voxel convention (:data:`~structconv.gspaces.r3.VOXEL_AXES`):
``(..., D, H, W)`` with voxel ``(i, j, k)`` at the point ``x = k - (W-1)/2``, ``y = (H-1)/2 - j``,
``z = (D-1)/2 - i``; a motion ``A`` (a ``3 × 3`` orthogonal matrix acting on ``(x, y, z)``) moves a volume
as :meth:`~structconv.gspaces.GSpace3D.featurefield_action` does, :math:`f'(x) = f(A^{-1} x)`.

**Labels follow the geometry**: a mirrored ``chiral_shape_1`` *is* a ``chiral_shape_2`` (rotated), so
``rotation="reflect"`` swaps these two labels (:data:`MIRROR_LABELS`).

Example:
    >>> data = Tetris3D(n_samples=16, rotation="grid", seed=0)
    >>> volume, label = data[0]
    >>> tuple(volume.shape), volume.dtype, int(label) in range(8)
    ((1, 16, 16, 16), torch.float32, True)
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import nn

from structconv.gspaces.r3 import VOXEL_AXES, grid_permutation

__all__ = [
    "TETRIS_SHAPES",
    "TETRIS_CLASSES",
    "MIRROR_LABELS",
    "ROTATION_MODES",
    "grid_rotations",
    "render_tetris",
    "Tetris3D",
    "Tetris3DSplit",
    "load_tetris3d",
    "Conv3dBaseline",
]

#: The eight shapes (label order), as the integer coordinates ``(x, y, z)`` of their four unit cubes
#: (cube ``c`` fills ``[c, c + 1]^3``): Thomas et al. (2018)'s list, as in e3nn's Tetris example.
TETRIS_SHAPES: MappingProxyType[str, tuple[tuple[int, int, int], ...]] = MappingProxyType(
    {
        "chiral_shape_1": ((0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 1, 0)),
        "chiral_shape_2": ((0, 0, 0), (0, 0, 1), (1, 0, 0), (1, -1, 0)),
        "square": ((0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)),
        "line": ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3)),
        "corner": ((0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)),
        "L": ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0)),
        "T": ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 1)),
        "zigzag": ((0, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0)),
    }
)

#: Class names in label order (label ``n`` is ``TETRIS_CLASSES[n]``).
TETRIS_CLASSES: tuple[str, ...] = tuple(TETRIS_SHAPES)

#: The ``rotation`` modes of :class:`Tetris3D`.
ROTATION_MODES: tuple[str, ...] = ("none", "grid", "random", "reflect")

SeedLike = int | np.random.Generator | torch.Generator | None

_CUBES = np.array([TETRIS_SHAPES[name] for name in TETRIS_CLASSES], dtype=np.float64)  # (8, 4, 3)
_CENTROIDS = _CUBES.mean(axis=1) + 0.5  # (8, 3), cube units
_CORNERS = (
    _CUBES[:, :, None, :] + np.array(list(itertools.product((0.0, 1.0), repeat=3)))[None, None]
).reshape(len(TETRIS_CLASSES), -1, 3) - _CENTROIDS[:, None, :]
#: farthest corner from the centroid, in cube units: in any direction (random rotations) and along an axis
#: (over the cube's 48 symmetries); the line's are 2.12 and 2.
_RADIUS_L2 = float(np.linalg.norm(_CORNERS, axis=-1).max())
_RADIUS_LINF = float(np.abs(_CORNERS).max())


def grid_rotations() -> np.ndarray:
    """The 24 rotations mapping the cube onto itself, as ``3 × 3`` matrices acting on ``(x, y, z)``.

    They are the signed permutation matrices of determinant ``+1``, the identity first; their negatives are
    the 24 improper symmetries of the cube (used by ``rotation="reflect"``). Each maps a cubic voxel grid
    onto itself (:func:`~structconv.gspaces.grid_permutation` is a permutation), and together they are the
    elements of :func:`~structconv.gspaces.octaOnR3`.

    Returns:
        ``(24, 3, 3)`` float64 array (a new one at each call).

    Example:
        >>> R = grid_rotations()
        >>> R.shape, bool(np.allclose(np.linalg.det(R), 1.0)), bool((R[0] == np.eye(3)).all())
        ((24, 3, 3), True, True)
    """
    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = np.zeros((3, 3))
            m[np.arange(3), perm] = signs
            if np.linalg.det(m) > 0:
                mats.append(m)
    return np.stack(mats)


def _canonical_form(cubes: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """The sorted cube list translated to the origin (a key for equality up to translation)."""
    c = np.asarray(cubes, dtype=np.int64)
    c = c - c.min(axis=0)
    return tuple(sorted(map(tuple, c.tolist())))


def _congruent(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the cube sets ``a`` and ``b`` are equal up to a rotation of the cube and a translation."""
    key = _canonical_form(b)
    return any(_canonical_form(a @ R.T) == key for R in grid_rotations().astype(np.int64))


def _mirror_labels() -> tuple[int, ...]:
    mirror = np.diag([1, -1, 1])
    out = []
    for n in range(len(TETRIS_CLASSES)):
        matches = [m for m in range(len(TETRIS_CLASSES)) if _congruent(_CUBES[n] @ mirror, _CUBES[m])]
        out.append(matches[0])
    return tuple(out)


#: ``MIRROR_LABELS[n]`` is the label of the mirror image of shape ``n`` (computed from the cubes): the two
#: chiral shapes swap, every other shape is its own mirror image up to a rotation.
MIRROR_LABELS: tuple[int, ...] = _mirror_labels()


# ---------------------------------------------------------------------- argument checks
def _check_int(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r} is not accepted; expected an int >= {minimum}")
    return int(value)


def _check_real(name: str, value: Any, positive: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if not ok or (float(value) <= 0.0 if positive else float(value) < 0.0):
        raise ValueError(
            f"{name}={value!r} is not accepted; expected a finite real number {'> 0' if positive else '>= 0'}"
        )
    return float(value)


def _check_rotation(rotation: Any) -> str:
    if not isinstance(rotation, str) or rotation not in ROTATION_MODES:
        raise ValueError(f"rotation={rotation!r} is not known; expected one of: {', '.join(ROTATION_MODES)}")
    return rotation


def _check_fit(size: int, scale: float, smoothing: float, translation: float, rotation: str) -> None:
    """Raise unless every shape, moved as ``rotation`` allows, stays 3 sigma inside the grid."""
    if rotation == "random":
        reach = _RADIUS_L2 * scale + 3.0 * smoothing + math.sqrt(3.0) * translation
        what = "under every rotation"
    else:
        reach = _RADIUS_LINF * scale + 3.0 * smoothing + translation
        what = "under the cube's symmetries"
    if reach > size / 2.0:
        raise ValueError(
            f"size={size} is too small for scale={scale:g}, smoothing={smoothing:g}, "
            f"translation={translation:g}: "
            f"the shapes {what} reach {reach:.2f} voxels from the centre (farthest corner + 3 * smoothing "
            f"+ translation); expected size >= {math.ceil(2.0 * reach)}, or a smaller scale or translation"
        )


def _generator(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, torch.Generator):
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=seed)))
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed={seed!r} is not accepted; expected a non-negative int, a numpy Generator, a torch Generator "
        "or None"
    )


# ---------------------------------------------------------------------- rendering
def _is_signed_permutation(m: np.ndarray) -> bool:
    """Whether the ``3 × 3`` matrix ``m`` is one of the 48 symmetries of the cube (a signed permutation)."""
    return bool(np.all(np.isin(m, (-1.0, 0.0, 1.0))) and np.all(np.abs(m).sum(axis=-1) == 1.0))


def _profile(q: torch.Tensor, label: int, scale: float, smoothing: float) -> torch.Tensor:
    """The value of the blurred shape ``label`` at the points ``q`` (``(..., 3)``, cube units, float64).

    Each cube is a product over the axes of a difference of normal CDFs at its two faces; the faces are
    shared between cubes, so the CDF is evaluated once per distinct face coordinate of the shape.
    """
    cubes = _CUBES[label].astype(np.int64)
    lo = cubes.min(axis=0)
    out = torch.zeros(q.shape[:-1], dtype=torch.float64)
    edge_values = []
    for a in range(3):
        edges = torch.arange(lo[a], cubes[:, a].max() + 2, dtype=torch.float64)
        d = edges - q[..., a, None]  # (..., n_edges): face coordinate minus point
        if smoothing > 0.0:
            edge_values.append(torch.erf(d * (scale / (smoothing * math.sqrt(2.0)))) * 0.5)  # Phi - 1/2
        else:
            h = 0.5 / scale  # half a voxel in cube units: the voxel spans [q - h, q + h]
            edge_values.append(d.clamp(-h, h) / (2.0 * h))  # covered fraction of the voxel below the face
    for c in cubes - lo:
        term = edge_values[0][..., c[0] + 1] - edge_values[0][..., c[0]]
        for a in (1, 2):
            term = term * (edge_values[a][..., c[a] + 1] - edge_values[a][..., c[a]])
        out += term
    return out


def _points(size: int) -> torch.Tensor:
    """``(size, size, size, 3)`` float64 points ``(x, y, z)`` of the voxel centres (``VOXEL_AXES``)."""
    idx = np.indices((size, size, size)).astype(np.float64) - (size - 1) / 2.0
    return torch.from_numpy(np.einsum("ab,bijk->ijka", VOXEL_AXES, idx))


def render_tetris(
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    matrices: np.ndarray | None = None,
    translations: np.ndarray | None = None,
    *,
    size: int = 16,
    scale: float = 2.0,
    smoothing: float = 0.6,
) -> torch.Tensor:
    r"""Render Tetris shapes, each moved by a rotation (or reflection) and a translation, as volumes.

    Voxel ``p`` (a point ``(x, y, z)`` in voxels from the grid centre) of shape ``n`` moved by ``A`` and
    ``t`` holds

    .. math::
        v(p) = \sum_{c \in \text{cubes}} \prod_{a \in \{x,y,z\}}
            \Phi\Big(\frac{c_a + 1 - q_a}{\sigma}\Big) - \Phi\Big(\frac{c_a - q_a}{\sigma}\Big),
        \qquad q = \frac{A^{-1}(p - t)}{s} + \bar c,

    the unit cubes blurred by a Gaussian of ``smoothing`` voxels (:math:`\sigma` = smoothing / scale cube
    units, :math:`\Phi` the normal CDF, :math:`s` = scale, :math:`\bar c` the centroid), so rotated shapes
    are exact and a grid rotation is exactly the voxel permutation of
    :func:`~structconv.gspaces.grid_permutation`. With ``smoothing=0`` a voxel holds the covered fraction of
    it (then only the cube's symmetries are accepted as ``matrices``). Values lie in ``[0, 1]``; each
    volume's sum is the shape's volume ``4 * scale**3`` up to the sampling error of the blurred shape, about
    :math:`e^{-2\pi^2 \sigma_v^2}` relative for a blur of :math:`\sigma_v` voxels (under 0.1% from
    ``smoothing=0.6``, about 4% at ``0.4``; exact with ``smoothing=0``).

    Args:
        labels: ``(N,)`` shape labels in ``0..7`` (:data:`TETRIS_CLASSES`).
        matrices: ``(N, 3, 3)`` orthogonal matrices acting on ``(x, y, z)``; default: identities.
        translations: ``(N, 3)`` shifts ``(x, y, z)`` in voxels; default: zeros.
        size: side of the cubic grid, in voxels.
        scale: side of a cube, in voxels.
        smoothing: standard deviation of the Gaussian blur, in voxels (``0``: no blur).

    Returns:
        ``(N, 1, size, size, size)`` float32 tensor (axes ``(-z, -y, x)``).

    Example:
        >>> v = render_tetris([3], size=16, scale=2.0)  # the line, along z
        >>> tuple(v.shape), round(float(v.sum()), 2)  # 4 cubes of 2**3 voxels
        ((1, 1, 16, 16, 16), 32.0)
        >>> (v[0, 0].sum(dim=(1, 2)) > 2.0).nonzero().flatten().tolist()  # 8 slices along -z (axis D)
        [4, 5, 6, 7, 8, 9, 10, 11]
    """
    size = _check_int("size", size, 2)
    scale = _check_real("scale", scale, positive=True)
    smoothing = _check_real("smoothing", smoothing, positive=False)
    lab = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if lab.ndim != 1 or lab.dtype.kind not in "iu" or (lab.size and (lab.min() < 0 or lab.max() > 7)):
        raise ValueError(f"labels: expected a 1-D array of ints in 0..7, got {np.asarray(labels)!r}")
    n = lab.shape[0]
    if matrices is None:
        mats = np.broadcast_to(np.eye(3), (n, 3, 3))
    else:
        mats = np.asarray(matrices, dtype=np.float64)
        if mats.shape != (n, 3, 3):
            raise ValueError(f"matrices: expected shape ({n}, 3, 3), got {mats.shape}")
        gram = np.einsum("nij,nkj->nik", mats, mats)
        if not np.allclose(gram, np.eye(3), atol=1e-8):
            raise ValueError("matrices: expected orthogonal 3 x 3 matrices (rotations or reflections)")
        if smoothing == 0.0 and not _is_signed_permutation(mats):
            raise ValueError(
                "smoothing=0 renders the cube's symmetries only (signed permutation matrices); expected "
                "smoothing > 0 for other rotations"
            )
    if translations is None:
        shifts = np.zeros((n, 3))
    else:
        shifts = np.asarray(translations, dtype=np.float64)
        if shifts.shape != (n, 3):
            raise ValueError(f"translations: expected shape ({n}, 3), got {shifts.shape}")
    out = torch.empty((n, size, size, size), dtype=torch.float64)
    exact = np.array([_is_signed_permutation(m) for m in mats], dtype=bool)
    exact &= np.all(shifts == np.round(shifts), axis=-1)
    if exact.any():
        # the cube's symmetries and whole-voxel shifts: permute (grid_permutation) and crop the upright
        # volume rendered on a grid padded by the largest shift
        pad = int(np.abs(shifts[exact]).max())
        big = size + 2 * pad
        pts = _points(big)
        upright = {
            int(m): _profile(pts / scale + torch.from_numpy(_CENTROIDS[m]), int(m), scale, smoothing)
            for m in np.unique(lab[exact])
        }
        perms: dict[bytes, np.ndarray] = {}
        for i in np.flatnonzero(exact):
            key = mats[i].tobytes()
            if key not in perms:
                perms[key] = torch.from_numpy(grid_permutation(mats[i], (big, big, big)))  # never None here
            moved = upright[int(lab[i])].reshape(-1)[perms[key]].reshape(big, big, big)
            i0, j0, k0 = (pad + VOXEL_AXES.T @ -shifts[i]).round().astype(np.int64)  # index of point -t
            out[i] = moved[i0 : i0 + size, j0 : j0 + size, k0 : k0 + size]
    rest = np.flatnonzero(~exact)
    if rest.size:
        pts = _points(size).reshape(-1, 3)
        for m in np.unique(lab[rest]):
            members = rest[lab[rest] == m]
            for start in range(0, members.size, 64):
                idx = members[start : start + 64]
                # q = A^T (p - t) / s + centroid, with the points as rows: (p - t) @ A
                q = (pts[None] - torch.from_numpy(shifts[idx])[:, None, :]) @ torch.from_numpy(mats[idx])
                q = q / scale + torch.from_numpy(_CENTROIDS[m])
                values = _profile(q, int(m), scale, smoothing)
                out[torch.from_numpy(idx)] = values.reshape(-1, size, size, size)
    return out.unsqueeze(1).to(torch.float32)


# ---------------------------------------------------------------------- data set
class Tetris3D(torch.utils.data.Dataset):
    r"""A data set of 3D Tetris volumes: ``(volume, label)`` pairs, rendered once at construction.

    Labels are stratified: every run of 8 consecutive samples holds each shape once (for ``"grid"`` and
    ``"reflect"``, every run of 192 holds each (shape, symmetry) pair once), in a random order. Each shape
    is moved by

    - ``"none"``: nothing (the upright shapes of :data:`TETRIS_SHAPES`);
    - ``"grid"``: one of the 24 rotations of the cube (:func:`grid_rotations`; exact voxel permutations);
    - ``"random"``: a uniformly random rotation of SO(3) (:meth:`scipy.spatial.transform.Rotation.random`,
      float64; rendered exactly, not interpolated, see :func:`render_tetris`);
    - ``"reflect"``: one of the 24 improper symmetries of the cube (a mirror image, exact; the label is
      that of the mirror image, :data:`MIRROR_LABELS`),

    then shifted by a random integer number of voxels in ``-translation..translation`` along each axis.

    Args:
        n_samples: number of volumes.
        rotation: one of :data:`ROTATION_MODES`.
        translation: largest shift along each axis, in voxels.
        size: side of the cubic grid, in voxels.
        scale: side of a cube of the shapes, in voxels.
        smoothing: standard deviation of the Gaussian blur, in voxels (``0``: none; ``"random"`` needs > 0).
        seed: an int, a :class:`numpy.random.Generator` or a :class:`torch.Generator` (the same seed always
            gives the same data set); ``None``: fresh entropy.

    Attributes:
        volumes: ``(n_samples, 1, size, size, size)`` float32 volumes, values in ``[0, 1]``.
        labels: ``(n_samples,)`` int64 labels in ``0..7``.
        matrices: ``(n_samples, 3, 3)`` float64 motions ``A`` of ``(x, y, z)`` applied to the shapes.
        translations: ``(n_samples, 3)`` int64 shifts ``(x, y, z)`` in voxels.

    Raises:
        ValueError: an argument is out of range, or the shapes, moved as ``rotation`` and ``translation``
            allow, would not stay inside the grid (3 ``smoothing`` widths from its faces).

    Example:
        >>> data = Tetris3D(n_samples=8, rotation="random", seed=0)
        >>> len(data), sorted(data.labels.tolist()), tuple(data.volumes.shape)
        (8, [0, 1, 2, 3, 4, 5, 6, 7], (8, 1, 16, 16, 16))
    """

    def __init__(
        self,
        n_samples: int = 192,
        rotation: str = "none",
        translation: int = 0,
        *,
        size: int = 16,
        scale: float = 2.0,
        smoothing: float = 0.6,
        seed: SeedLike = 0,
    ) -> None:
        n = _check_int("n_samples", n_samples, 1)
        self.rotation = _check_rotation(rotation)
        self.translation = _check_int("translation", translation, 0)
        self.size = _check_int("size", size, 2)
        self.scale = _check_real("scale", scale, positive=True)
        self.smoothing = _check_real("smoothing", smoothing, positive=False)
        if self.smoothing == 0.0 and rotation == "random":
            raise ValueError(
                "smoothing=0 is not accepted with rotation='random'; expected smoothing > 0 (the Gaussian "
                "blur makes every orientation render exactly)"
            )
        _check_fit(self.size, self.scale, self.smoothing, self.translation, self.rotation)
        rng = _generator(seed)
        k = len(TETRIS_CLASSES)
        block = k * 24 if rotation in ("grid", "reflect") else k
        order = np.concatenate([rng.permutation(block) for _ in range(-(-n // block))])[:n]
        labels = order % k
        if rotation == "none":
            mats = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        elif rotation == "random":
            mats = Rotation.random(n, random_state=rng).as_matrix()
        else:
            mats = grid_rotations()[order // k]
            if rotation == "reflect":
                mats = -mats
                labels = np.asarray(MIRROR_LABELS)[labels]
        t = self.translation
        shifts = rng.integers(-t, t + 1, size=(n, 3)) if t else np.zeros((n, 3), dtype=np.int64)
        source = order % k  # the shape rendered; for "reflect", its mirror image carries `labels`
        self.volumes = render_tetris(
            source,
            mats,
            shifts.astype(np.float64),
            size=self.size,
            scale=self.scale,
            smoothing=self.smoothing,
        )
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.matrices = mats
        self.translations = shifts.astype(np.int64)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in label order (:data:`TETRIS_CLASSES`)."""
        return TETRIS_CLASSES

    @property
    def num_classes(self) -> int:
        """Number of classes (8)."""
        return len(TETRIS_CLASSES)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``(1, size, size, size)`` float32 volume and the 0-d int64 label of sample ``index``."""
        return self.volumes[index], self.labels[index]

    def __repr__(self) -> str:
        return (
            f"Tetris3D(n_samples={len(self)}, rotation={self.rotation!r}, translation={self.translation}, "
            f"size={self.size}, scale={self.scale:g}, smoothing={self.smoothing:g})"
        )


@dataclass(frozen=True)
class Tetris3DSplit:
    """The data sets of the 3D demo: upright training shapes, test shapes under grid and random rotations.

    Attributes:
        train: upright shapes (``rotation="none"``), shifted by up to ``translation`` voxels.
        test_grid: every shape under every one of the 24 rotations of the cube (``rotation="grid"``).
        test_random: shapes under uniformly random rotations (``rotation="random"``).
        test_reflect: every shape under every improper symmetry of the cube (``rotation="reflect"``).

    Example:
        >>> split = load_tetris3d(n_train=16, n_test_random=8)
        >>> len(split.train), len(split.test_grid), len(split.test_random), len(split.test_reflect)
        (16, 192, 8, 192)
    """

    train: Tetris3D
    test_grid: Tetris3D
    test_random: Tetris3D
    test_reflect: Tetris3D


def load_tetris3d(
    n_train: int = 320,
    n_test_random: int = 480,
    translation: int = 1,
    *,
    size: int = 16,
    scale: float = 2.0,
    smoothing: float = 0.6,
    seed: int = 0,
) -> Tetris3DSplit:
    """Build the train and test sets of the 3D Tetris demo (no download; well under a second each).

    The training shapes are upright and shifted by up to ``translation`` voxels; the test sets are centred
    and rotated: all ``8 * 24`` (shape, rotation of the cube) pairs, ``n_test_random`` uniformly random
    rotations, and all ``8 * 24`` mirror images. The four sets draw from independent streams of ``seed``.

    Args:
        n_train: number of training volumes.
        n_test_random: number of randomly rotated test volumes.
        translation: largest shift of a training shape along each axis, in voxels.
        size: side of the cubic grid, in voxels.
        scale: side of a cube of the shapes, in voxels.
        smoothing: standard deviation of the Gaussian blur, in voxels (> 0: random rotations need it).
        seed: a non-negative int.

    Returns:
        A :class:`Tetris3DSplit`.

    Example:
        >>> split = load_tetris3d(n_train=8, n_test_random=8, seed=1)
        >>> tuple(split.train.volumes.shape), split.test_random.rotation
        ((8, 1, 16, 16, 16), 'random')
    """
    seed = _check_int("seed", seed, 0)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    common = {"size": size, "scale": scale, "smoothing": smoothing}
    n_grid = len(TETRIS_CLASSES) * 24
    return Tetris3DSplit(
        train=Tetris3D(n_train, "none", translation, seed=streams[0], **common),
        test_grid=Tetris3D(n_grid, "grid", 0, seed=streams[1], **common),
        test_random=Tetris3D(n_test_random, "random", 0, seed=streams[2], **common),
        test_reflect=Tetris3D(n_grid, "reflect", 0, seed=streams[3], **common),
    )


# ---------------------------------------------------------------------- baseline
def _check_widths(name: str, value: Any, length: int) -> tuple[int, ...]:
    widths = tuple(value) if isinstance(value, (list, tuple)) else None
    if (
        widths is None
        or len(widths) != length
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
    ):
        raise ValueError(f"{name}={value!r} is not accepted; expected a sequence of {length} positive ints")
    return widths


class Conv3dBaseline(nn.Module):
    r"""The plain (not equivariant) 3D CNN of the 3D demo, for ``(N, 1, D, H, W)`` volumes.

    Three blocks ``Conv3d(kernel 3, padding 1) -> BatchNorm3d -> ReLU``; the first two are followed by a
    ``2 × 2 × 2`` max pool (stride 2), then the features are averaged over space and a linear layer gives
    the class logits. With the default ``channels=(12, 24, 48)`` it has 39,764 parameters; on ``16^3``
    volumes the feature maps are ``12 × 16^3 -> 24 × 8^3 -> 48 × 4^3``.

    Args:
        num_classes: number of classes (logits).
        channels: output channels of the three conv blocks.
        in_channels: channels of the input volumes.

    Shape:
        - Input: ``(N, in_channels, D, H, W)`` with ``D, H, W >= 4`` (two poolings by 2).
        - Output: ``(N, num_classes)``

    Example:
        >>> net = Conv3dBaseline()
        >>> net(torch.zeros(2, 1, 16, 16, 16)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([2, 8]), 39764)
    """

    def __init__(
        self, num_classes: int = 8, channels: Sequence[int] = (12, 24, 48), in_channels: int = 1
    ) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} is not accepted; expected a positive int")
        self.channels = _check_widths("channels", channels, 3)
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
            raise ValueError(f"in_channels={in_channels!r} is not accepted; expected a positive int")
        self.in_channels = in_channels
        layers: list[nn.Module] = []
        prev = in_channels
        for i, width in enumerate(self.channels):
            layers += [nn.Conv3d(prev, width, 3, padding=1, bias=False), nn.BatchNorm3d(width), nn.ReLU()]
            if i < 2:
                layers.append(nn.MaxPool3d(2))
            prev = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class logits of a batch of volumes."""
        if x.ndim != 5 or x.shape[1] != self.in_channels or min(x.shape[-3:]) < 4:
            raise ValueError(
                f"input has shape {tuple(x.shape)}; expected (N, {self.in_channels}, D, H, W) "
                "with D, H, W >= 4"
            )
        return self.head(self.features(x).mean(dim=(-3, -2, -1)))

    def extra_repr(self) -> str:
        n = sum(p.numel() for p in self.parameters())
        return f"channels={self.channels}, num_classes={self.head.out_features}, parameters={n}"
