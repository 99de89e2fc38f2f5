"""structconv.compat."""

from __future__ import annotations

__all__: list[str] = []

from structconv.compat import lucid, selfeeg  # noqa: E402

__all__ += ["lucid", "selfeeg"]

from structconv.compat import elektronn3  # noqa: E402

__all__ += ["elektronn3"]

from structconv.compat import e2cnn  # noqa: E402

__all__ += ["e2cnn"]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
