"""Data sets of the demos (no download): scikit-learn's digits, upsampled and rotated, and 3D Tetris.

Example:
    >>> from structconv.data import rotate_images
    >>> rotate_images(torch.ones(1, 1, 5, 5), 180.0).shape
    torch.Size([1, 1, 5, 5])
"""

from __future__ import annotations

from structconv.data.digits import (
    DEMO_INSTALL_HINT,
    DigitsSplit,
    load_rotated_digits,
    render_digits,
    rotate_images,
    upsample_digits,
)
from structconv.data.tetris3d import (
    MIRROR_LABELS,
    ROTATION_MODES,
    TETRIS_CLASSES,
    TETRIS_SHAPES,
    Conv3dBaseline,
    Tetris3D,
    Tetris3DSplit,
    grid_rotations,
    load_tetris3d,
    render_tetris,
)

__all__ = [
    "DEMO_INSTALL_HINT",
    "DigitsSplit",
    "load_rotated_digits",
    "render_digits",
    "rotate_images",
    "upsample_digits",
    # 3D Tetris
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

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
