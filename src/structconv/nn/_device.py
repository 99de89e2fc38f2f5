"""The device new tensors go to: PyTorch's default device, including a ``with torch.device(...)`` context."""

from __future__ import annotations

import torch

__all__ = ["default_device"]


def default_device() -> torch.device:
    """The device a factory call (``torch.empty``) would use now: ``cpu`` unless changed by
    :func:`torch.set_default_device` or a ``with torch.device(...)`` context (e.g. ``'meta'`` to build a
    large model without allocating it). Tensors made from numpy arrays (``torch.from_numpy``) are always on
    the CPU; buffers built that way are moved here.

    Example:
        >>> default_device()
        device(type='cpu')
        >>> with torch.device("meta"):
        ...     default_device()
        device(type='meta')
    """
    return torch.empty(0).device
