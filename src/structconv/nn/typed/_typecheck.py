"""Private helpers shared by the typed-tensor classes and :mod:`structconv.testing`.

Nothing here is public API: the helpers validate tensors against field types, turn group elements into
hashable cache keys, decide whether a group element moves the pixel (voxel) grid onto itself (so that the
action on images and volumes is an exact permutation of pixels / voxels) and resolve the ``interpolation``
names per dimension (planar: bicubic, bilinear, nearest; R^3: trilinear, nearest).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = [
    "element_key",
    "exact_grid_action",
    "check_tensor",
    "spatial_dims",
    "is_grid_element",
    "INTERPOLATIONS_2D",
    "INTERPOLATIONS_3D",
    "resolve_interpolation",
]

#: ``interpolation`` values of the planar gspaces (``grid_sample`` modes on 4-D tensors); the first is the
#: default
INTERPOLATIONS_2D = ("bicubic", "bilinear", "nearest")
#: ``interpolation`` values of the gspaces on R^3 (``grid_sample`` on 5-D tensors: its ``'bilinear'`` mode
#: interpolates trilinearly; there is no tricubic mode); the first is the default
INTERPOLATIONS_3D = ("trilinear", "nearest")


def resolve_interpolation(gspace: Any, interpolation: str | None) -> str:
    """The interpolation to use on ``gspace``: ``None`` gives the default (bicubic on the plane, trilinear in
    space); a name of the other dimension or an unknown name raises ``ValueError`` naming what is accepted."""
    d = spatial_dims(gspace)
    accepted = INTERPOLATIONS_2D if d == 2 else INTERPOLATIONS_3D
    if interpolation is None:
        return accepted[0]
    if interpolation not in accepted:
        name = getattr(gspace, "name", gspace)
        if interpolation in INTERPOLATIONS_2D + INTERPOLATIONS_3D:
            other = "planar (4-D)" if d == 3 else "3-D (5-D)"
            raise ValueError(
                f"interpolation={interpolation!r} is only for tensors on {other} gspaces; for "
                f"{name!r} ({d}-D) expected one of {accepted} (or None: {accepted[0]!r})"
            )
        raise ValueError(
            f"interpolation={interpolation!r} is not known; expected one of {accepted} (or None: "
            f"{accepted[0]!r}) for {name!r}"
        )
    return interpolation


def spatial_dims(gspace: Any) -> int:
    """The number of spatial dims of a tensor on ``gspace``: 2 (``H, W``) on the plane, 3 (``D, H, W``) in
    space."""
    return int(getattr(gspace, "dimensionality", 2))


def is_grid_element(gspace: Any, element: Any, shape: Any = None) -> bool:
    """Whether ``element`` moves the sampling grid (pixels or voxels) onto itself, so its action is exact.

    On the plane: the element is a signed permutation (rotations by multiples of 90°, axis mirrors and
    diagonal mirrors), as :func:`exact_grid_action`, for square images. In space: the element's matrix maps
    the voxel grid of ``shape`` ``(D, H, W)`` onto itself (default: a cube), see
    :func:`structconv.gspaces.r3.grid_permutation`.
    """
    matrix = np.asarray(gspace.basespace_action(element), dtype=np.float64)
    if spatial_dims(gspace) == 2:
        return exact_grid_action(matrix) is not None
    from structconv.gspaces.r3 import grid_permutation

    shape = (3, 3, 3) if shape is None else tuple(int(s) for s in shape)[-3:]
    return grid_permutation(matrix, shape) is not None


def element_key(element: Any) -> tuple:
    """Turn a plain group element (int, float, tuple, numpy scalar) into a hashable cache key.

    Two keys are equal only if the elements are written the same way; that is enough for caching.
    """
    if isinstance(element, (list, tuple)):
        items = element
    elif isinstance(element, np.ndarray):
        items = element.reshape(-1).tolist()
    else:
        items = (element,)
    key = []
    for item in items:
        if item is None:
            key.append(None)
        elif isinstance(item, (bool, int, np.integer)):
            key.append(int(item))
        elif isinstance(item, (float, np.floating)):
            key.append(float(item))
        elif isinstance(item, (list, tuple, np.ndarray)):
            key.append(element_key(item))  # nested values, e.g. an O(3) element (j, [x, y, z, w])
        else:
            # element objects introduced by structconv.group: rely on their own hash
            key.append(item)
    return (type(element).__name__, tuple(key))


def exact_grid_action(matrix: np.ndarray, atol: float = 1e-9) -> tuple[int, int] | None:
    """Decompose a 2x2 plane map into ``(flip, k)`` when it maps the pixel grid onto itself.

    The plane map must be a signed permutation matrix, i.e. ``R(k * 90°) @ F**flip`` with
    ``F = diag(-1, 1)`` (the left-right mirror ``x -> -x``). Returns ``None`` when it is not (the image
    action then needs interpolation).
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.shape != (2, 2):
        raise ValueError(f"basespace action must be a 2x2 matrix; received shape {a.shape}")
    rounded = np.round(a)
    if not np.allclose(a, rounded, atol=atol, rtol=0.0):
        return None
    if not np.array_equal(np.abs(rounded) @ np.ones(2), np.ones(2)) or not np.array_equal(
        np.abs(rounded).T @ np.ones(2), np.ones(2)
    ):
        return None
    flip = 1 if np.linalg.det(rounded) < 0 else 0
    rotation = rounded @ np.diag([-1.0, 1.0]) if flip else rounded
    # rotation = [[cos, -sin], [sin, cos]]
    k = int(round(math.atan2(rotation[1, 0], rotation[0, 0]) / (math.pi / 2))) % 4
    return flip, k


def check_tensor(
    tensor: Any,
    size: int,
    name: str,
    *,
    min_dims: int,
    max_dims: int | None,
    spatial: int = 2,
    where: str = "",
) -> None:
    """Check that ``tensor`` is a ``torch.Tensor`` whose channel dim (``-1 - spatial``) has ``size`` entries.

    Args:
        spatial: number of trailing spatial dims: 2 (``H, W``, planar gspaces) or 3 (``D, H, W``, gspaces on
            R^3).
        where: what the tensor is for, added to the message (e.g. ``" on the gspace 'SO(3)_on_R3[so3]'"``).

    Raises:
        TypeError: ``tensor`` is not a ``torch.Tensor``.
        ValueError: wrong number of dims or wrong number of channels.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; received {type(tensor).__name__}")
    dims = "height, width" if spatial == 2 else "depth, height, width"
    if tensor.dim() < min_dims or (max_dims is not None and tensor.dim() > max_dims):
        if max_dims == min_dims:
            expected = f"a {min_dims}-D tensor (batch, channels, {dims}){where}"
        else:
            expected = f"a tensor with at least {min_dims} dims (..., channels, {dims}){where}"
        raise ValueError(
            f"{name} must be {expected}; received shape {tuple(tensor.shape)} ({tensor.dim()}-D)"
        )
    # a shape comparison is Python control flow on a traced value under torch.jit.trace (the TorchScript
    # ONNX exporter): skipped there, where the model's own layers fix the channel count
    if not torch.jit.is_tracing() and tensor.shape[-1 - spatial] != size:
        raise ValueError(
            f"{name} has {tensor.shape[-1 - spatial]} channels (shape {tuple(tensor.shape)}) but its field "
            f"type has size {size}"
        )
