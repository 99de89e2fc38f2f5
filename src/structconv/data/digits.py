"""Rotated handwritten digits: the 8x8 scans shipped with scikit-learn, upsampled and rotated.

The 1,797 scans of :func:`sklearn.datasets.load_digits` are bilinearly upsampled to a square of
``content`` pixels and centred on an odd ``size x size`` canvas small enough that the whole square lies
inside the canvas' inscribed disc (``content * sqrt(2) <= size``), so that rotating a digit by any angle
never cuts it off. Rotated test digits are rendered from the original scans (one interpolation at every
angle, see :func:`render_digits`). Nothing is downloaded: the scans ship inside scikit-learn.

Rotations follow the package convention (``docs/internals.md``): a positive angle turns the image
counter-clockwise on screen, and a rotation by a multiple of 90 degrees is exactly :func:`torch.rot90`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DigitsSplit",
    "load_rotated_digits",
    "render_digits",
    "upsample_digits",
    "rotate_images",
    "DEMO_INSTALL_HINT",
]

DEMO_INSTALL_HINT = 'pip install "structconv[demo]"'


@dataclass(frozen=True)
class DigitsSplit:
    """A train/test split of digits rendered on an odd canvas.

    Attributes:
        train_images: ``(N_train, 1, size, size)`` float32 images in ``[0, 1]`` (upright).
        train_labels: ``(N_train,)`` int64 labels in ``0..9``.
        test_images: ``(N_test, 1, size, size)`` float32 images in ``[0, 1]`` (upright).
        test_labels: ``(N_test,)`` int64 labels.
        size: side of the (odd) canvas, in pixels.
        test_scans: ``(N_test, h, w)`` source scans of the test images (scaled to ``[0, 1]``), from which
            :meth:`test_images_at` renders rotated copies; ``None`` if unknown.
        content: side, in canvas pixels, of the square the scans are drawn on.

    Example:
        >>> x = torch.zeros(2, 1, 5, 5)
        >>> y = torch.zeros(2, dtype=torch.long)
        >>> DigitsSplit(x, y, x, y, 5).test_images_at(90.0).shape
        torch.Size([2, 1, 5, 5])
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    size: int
    test_scans: torch.Tensor | None = None
    content: int | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes (always 10 digits)."""
        return 10

    def test_images_at(self, angle: float) -> torch.Tensor:
        """The test set rotated counter-clockwise by ``angle`` degrees.

        Rendered afresh from the source scans (see :func:`render_digits`) when they are known, so every
        angle has the same sharpness as the upright images; otherwise the upright images are rotated
        with :func:`rotate_images`. Multiples of 90 degrees are exact quarter turns of ``test_images``.
        """
        quarter = angle / 90.0
        if self.test_scans is None or abs(quarter - round(quarter)) < 1e-12:
            return rotate_images(self.test_images, angle)
        return render_digits(self.test_scans, size=self.size, angle=angle, content=self.content)


def _check_size(size: int, content: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 9 or size % 2 == 0:
        raise ValueError(f"size={size!r} is not accepted; expected an odd int >= 9")
    if not isinstance(content, int) or isinstance(content, bool) or content < 8:
        raise ValueError(f"content={content!r} is not accepted; expected an int >= 8")
    if content * math.sqrt(2.0) > size:
        raise ValueError(
            f"content={content} does not fit the inscribed disc of a {size}x{size} canvas; "
            f"expected content <= {int(size / math.sqrt(2.0))}"
        )


def _default_content(size: int) -> int:
    """Largest odd-parity-matching content side whose square fits inside the canvas' inscribed disc."""
    content = int(size / math.sqrt(2.0))
    if (size - content) % 2:
        content -= 1
    return content


def _scale_scans(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images), dtype=torch.float64)
    if x.ndim != 3:
        raise ValueError(f"images has shape {tuple(x.shape)}; expected (N, h, w)")
    peak = float(x.max()) if x.numel() else 1.0
    return x / (peak if peak > 0 else 1.0)


def render_digits(
    scans: np.ndarray | torch.Tensor, size: int = 21, angle: float = 0.0, content: int | None = None
) -> torch.Tensor:
    """Draw small scans, rotated by ``angle`` degrees, centred on an odd canvas.

    Each canvas pixel samples the bilinear interpolant of the scan once, at the point that the rotation
    maps it to, so an upright and a rotated rendering are equally sharp (rotating an already upsampled
    image would interpolate twice and blur the rotated copies only). The scan fills a square of
    ``content`` canvas pixels; outside it the canvas is zero.

    Args:
        scans: ``(N, h, w)`` non-negative scans (divided by their global maximum).
        size: side of the odd output canvas.
        angle: counter-clockwise rotation in degrees.
        content: side of the digit square; default: the largest square (with the parity of ``size``, so
            that it is centred on a pixel grid) inside the canvas' inscribed disc.

    Returns:
        ``(N, 1, size, size)`` float32 tensor with values in ``[0, 1]``.

    Example:
        >>> scans = np.random.default_rng(0).random((2, 8, 8))
        >>> up = render_digits(scans, size=21)
        >>> bool(torch.allclose(render_digits(scans, size=21, angle=90.0 + 1e-9), torch.rot90(up, 1, (2, 3)),
        ...                     atol=1e-6))
        True
    """
    if content is None:
        content = _default_content(size) if isinstance(size, int) else 0
    _check_size(size, content)
    x = _scale_scans(scans)[:, None]
    theta = math.radians(float(angle))
    c, s = math.cos(theta), math.sin(theta)
    # grid_sample's normalised coordinates (x right, y down, align_corners=False): the canvas point p
    # shows the scan at R(-angle) p, and the scan spans +-content/size of the canvas' half-width.
    k = size / content
    mat = torch.tensor([[k * c, -k * s, 0.0], [k * s, k * c, 0.0]], dtype=x.dtype)
    grid = F.affine_grid(mat.expand(x.shape[0], 2, 3), [x.shape[0], 1, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp_(0.0, 1.0).to(torch.float32)


def upsample_digits(
    images: np.ndarray | torch.Tensor, size: int = 21, content: int | None = None
) -> torch.Tensor:
    """Upsample small digit scans and centre them on an odd canvas (:func:`render_digits` at angle 0).

    Args:
        images: ``(N, h, w)`` scans (any non-negative scale; they are divided by their global maximum).
        size: side of the odd output canvas.
        content: side of the upsampled digit square; default: the largest square (with the same parity
            as ``size``, so that it is exactly centred) that lies inside the canvas' inscribed disc.

    Returns:
        ``(N, 1, size, size)`` float32 tensor with values in ``[0, 1]``.

    Example:
        >>> out = upsample_digits(np.ones((3, 8, 8)), size=29)
        >>> tuple(out.shape), float(out.max())
        ((3, 1, 29, 29), 1.0)
    """
    return render_digits(images, size=size, angle=0.0, content=content)


def rotate_images(images: torch.Tensor, angle: float) -> torch.Tensor:
    """Rotate a batch of images counter-clockwise by ``angle`` degrees about their centre.

    Multiples of 90 degrees are exact (:func:`torch.rot90`); other angles use bilinear interpolation with
    zeros outside the image.

    Args:
        images: ``(N, C, H, W)`` tensor.
        angle: rotation angle in degrees (positive: counter-clockwise on screen).

    Returns:
        The rotated images, same shape, dtype and device.

    Example:
        >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
        >>> torch.equal(rotate_images(x, 90.0), torch.rot90(x, 1, dims=(-2, -1)))
        True
    """
    if images.ndim != 4:
        raise ValueError(f"images has shape {tuple(images.shape)}; expected (N, C, H, W)")
    quarter = angle / 90.0
    if abs(quarter - round(quarter)) < 1e-12:
        return torch.rot90(images, int(round(quarter)) % 4, dims=(-2, -1))
    theta = math.radians(angle)
    c, s = math.cos(theta), math.sin(theta)
    # Output pixel at plane point p samples the input at R(-theta) p; in grid_sample's normalised
    # coordinates (x right, y down) that is the matrix below (align_corners=True: pixel centres at +-1).
    mat = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=images.dtype, device=images.device)
    grid = F.affine_grid(mat.expand(images.shape[0], 2, 3), list(images.shape), align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def load_rotated_digits(
    size: int = 21,
    test_fraction: float = 0.25,
    seed: int = 0,
    max_train: int | None = None,
    max_test: int | None = None,
) -> DigitsSplit:
    """Load scikit-learn's digits, upsample them and split them into train and test sets.

    Args:
        size: odd side of the canvas (the digit fills the square inscribed in the canvas' disc).
        test_fraction: fraction of the 1,797 scans kept for testing, stratified by label.
        seed: seed of the split (the same seed always gives the same split).
        max_train: if given, keep only the first ``max_train`` training images (quick runs).
        max_test: if given, keep only the first ``max_test`` test images.

    Returns:
        A :class:`DigitsSplit`.

    Raises:
        ImportError: if scikit-learn is not installed (the message says how to install it).

    Example:
        >>> split = load_rotated_digits(size=15, seed=0)
        >>> tuple(split.train_images.shape), tuple(split.test_images.shape)
        ((1347, 1, 15, 15), (450, 1, 15, 15))
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction!r} is not accepted; expected a float in (0, 1)")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the digits data set ships with scikit-learn, which is not installed; run: {DEMO_INSTALL_HINT}"
        ) from err
    digits = load_digits()
    content = _default_content(size) if isinstance(size, int) else 0
    images = upsample_digits(digits.images, size=size, content=content)
    scans = _scale_scans(digits.images).to(torch.float32)
    labels = torch.as_tensor(digits.target, dtype=torch.long)
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        idx, test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    if max_train is not None:
        train_idx = train_idx[:max_train]
    if max_test is not None:
        test_idx = test_idx[:max_test]
    train_idx_t = torch.as_tensor(train_idx)
    test_idx_t = torch.as_tensor(test_idx)
    return DigitsSplit(
        images[train_idx_t],
        labels[train_idx_t],
        images[test_idx_t],
        labels[test_idx_t],
        size,
        test_scans=scans[test_idx_t],
        content=content,
    )
