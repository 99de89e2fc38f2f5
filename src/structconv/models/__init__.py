"""Model builders of the demos: ``structconv demo`` (a conventional CNN and an equivariant CNN) and
``structconv demo --3d`` (a ``Conv3d`` CNN and octahedral-, SO(3)- and O(3)-invariant CNNs of volumes).

Example:
    >>> from structconv.models import ConventionalCNN
    >>> ConventionalCNN(channels=(4, 4, 4))(torch.zeros(1, 1, 15, 15)).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

from structconv.models.cnn import ConventionalCNN
from structconv.models.equivariant import EquivariantCNN, default_fields, parse_group
from structconv.models.tetris3d import Conv3dBaseline, O3TetrisNet, OctaTetrisNet, SO3TetrisNet

__all__ = [
    "ConventionalCNN",
    "EquivariantCNN",
    "default_fields",
    "parse_group",
    # 3D Tetris
    "Conv3dBaseline",
    "OctaTetrisNet",
    "SO3TetrisNet",
    "O3TetrisNet",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
