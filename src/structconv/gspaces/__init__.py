"""Groups acting on the plane: how an element moves points and images (numpy only).

:class:`Rot2dOnR2` (C_N or SO(2)), :class:`FlipRot2dOnR2` (D_N or O(2)), :class:`Flip2dOnR2` (one
reflection) and :class:`TrivialOnR2`. See ``docs/internals.md`` for the geometry conventions.

Example:
    >>> from structconv import gspaces
    >>> gs = gspaces.FlipRot2dOnR2(8)
    >>> gs.fibergroup.name, gs.regular_repr.size, len(gs.testing_elements)
    ('D8', 16, 16)
"""

from __future__ import annotations

from structconv.gspaces.gspace import GeneralOnR2, GSpace
from structconv.gspaces.r2 import Flip2dOnR2, FlipRot2dOnR2, Rot2dOnR2, TrivialOnR2

__all__ = ["GSpace", "GeneralOnR2", "Rot2dOnR2", "FlipRot2dOnR2", "Flip2dOnR2", "TrivialOnR2"]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
