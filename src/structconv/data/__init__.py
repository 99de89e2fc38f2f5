"""Data sets of the demo: scikit-learn's handwritten digits, upsampled and rotated (no download).

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

__all__ = [
    "DEMO_INSTALL_HINT",
    "DigitsSplit",
    "load_rotated_digits",
    "render_digits",
    "rotate_images",
    "upsample_digits",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
