"""Importing the reference libraries used as test oracles."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest


def import_selfeeg(module: str = "selfeeg.models") -> Any:
    """``pytest.importorskip(module)`` of selfeeg, which imports torchaudio at import time although its
    layers never use it: a stub ``torchaudio`` is installed first when the real one is absent."""
    if "torchaudio" not in sys.modules:
        ta = types.ModuleType("torchaudio")
        ta.functional = types.ModuleType("torchaudio.functional")  # type: ignore[attr-defined]
        ta.functional.filtfilt = None  # type: ignore[attr-defined]
        sys.modules["torchaudio"] = ta
        sys.modules["torchaudio.functional"] = ta.functional  # type: ignore[attr-defined]
    pytest.importorskip("selfeeg")
    return pytest.importorskip(module)
