"""Groups acting on the plane and on space: how an element moves points and images (numpy only).

:class:`Rot2dOnR2` (C_N or SO(2)), :class:`FlipRot2dOnR2` (D_N or O(2)), :class:`Flip2dOnR2` (one
reflection) and :class:`TrivialOnR2`. See ``docs/internals.md`` for the geometry conventions.
escnn's factories of the same gspaces are there too (:func:`rot2dOnR2`, :func:`flipRot2dOnR2`,
:func:`flip2dOnR2`, :func:`trivialOnR2`). On R^3, escnn's factories (:func:`rot3dOnR3`,
:func:`flipRot3dOnR3`, :func:`octaOnR3`, ...) build a :class:`GSpace3D`, the gspace of the volumetric
layers (:class:`~structconv.nn.R3Conv`, ...).

Example:
    >>> from structconv import gspaces
    >>> gs = gspaces.FlipRot2dOnR2(8)
    >>> gs.fibergroup.name, gs.regular_repr.size, len(gs.testing_elements)
    ('D8', 16, 16)
"""

from __future__ import annotations

from structconv.gspaces.gspace import GeneralOnR2, GSpace
from structconv.gspaces.r2 import (
    Flip2dOnR2,
    FlipRot2dOnR2,
    Rot2dOnR2,
    TrivialOnR2,
    flip2dOnR2,
    flipRot2dOnR2,
    rot2dOnR2,
    trivialOnR2,
)
from structconv.gspaces.r3 import (
    GSpace3D,
    conicalOnR3,
    cylindricalOnR3,
    dihedralOnR3,
    flipRot3dOnR3,
    fullCylindricalOnR3,
    fullIcoOnR3,
    fullOctaOnR3,
    grid_permutation,
    icoOnR3,
    invOnR3,
    mirOnR3,
    octaOnR3,
    rot2dOnR3,
    rot3dOnR3,
    trivialOnR3,
)

__all__ = [
    "GSpace",
    "GeneralOnR2",
    "Rot2dOnR2",
    "FlipRot2dOnR2",
    "Flip2dOnR2",
    "TrivialOnR2",
    # the plane, escnn's factories
    "rot2dOnR2",
    "flipRot2dOnR2",
    "flip2dOnR2",
    "trivialOnR2",
    # R^3 (escnn's names)
    "GSpace3D",
    "rot3dOnR3",
    "flipRot3dOnR3",
    "octaOnR3",
    "fullOctaOnR3",
    "icoOnR3",
    "fullIcoOnR3",
    "rot2dOnR3",
    "dihedralOnR3",
    "conicalOnR3",
    "cylindricalOnR3",
    "fullCylindricalOnR3",
    "invOnR3",
    "mirOnR3",
    "trivialOnR3",
    "grid_permutation",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
