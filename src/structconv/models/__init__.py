"""Model builders of the demo (``structconv demo``): a conventional CNN and an equivariant CNN.

Example:
    >>> from structconv.models import ConventionalCNN
    >>> ConventionalCNN(channels=(4, 4, 4))(torch.zeros(1, 1, 15, 15)).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

from structconv.models.cnn import ConventionalCNN
from structconv.models.equivariant import EquivariantCNN, default_fields, parse_group

__all__ = ["ConventionalCNN", "EquivariantCNN", "default_fields", "parse_group"]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
