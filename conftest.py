"""Doctest set-up: seeded RNGs and ``torch`` in every doctest namespace; required oracles.

With ``STRUCTCONV_REQUIRE_ORACLES=1`` (set by ``.ci/run``) the session fails at once when a reference
library (e2cnn, selfeeg, elektronn3) cannot be imported, so that parity tests can never skip silently in
CI. Without it, oracle tests skip when their library is absent (a user's checkout).
"""

from __future__ import annotations

import importlib
import os
import sys
import types

import numpy as np
import pytest
import torch

ORACLES = ("e2cnn", "selfeeg", "elektronn3")


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("STRUCTCONV_REQUIRE_ORACLES") != "1":
        return
    missing = []
    for name in ORACLES:
        stub = name == "selfeeg" and "torchaudio" not in sys.modules
        if stub:  # selfeeg imports torchaudio at import time; its layers never use it
            sys.modules["torchaudio"] = types.ModuleType("torchaudio")
            sys.modules["torchaudio.functional"] = types.ModuleType("torchaudio.functional")
            sys.modules["torchaudio.functional"].filtfilt = None  # type: ignore[attr-defined]
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure to import is a missing oracle
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
        finally:
            if stub:
                sys.modules.pop("torchaudio", None)
                sys.modules.pop("torchaudio.functional", None)
    if missing:
        raise pytest.UsageError(
            "STRUCTCONV_REQUIRE_ORACLES=1 but these reference libraries cannot be imported: "
            + ", ".join(missing)
            + "; install them (see .ci/run) or unset the variable to skip their tests"
        )


@pytest.fixture(autouse=True)
def _doctest_env(doctest_namespace: dict) -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    doctest_namespace["torch"] = torch
    doctest_namespace["np"] = np


@pytest.fixture(autouse=True)
def _numpy_print_options():
    """Every test starts with numpy's default print options (e2cnn's checks change them process-wide)."""
    saved = np.get_printoptions()
    np.set_printoptions(**_NUMPY_PRINT_DEFAULTS)
    yield
    np.set_printoptions(**saved)


_NUMPY_PRINT_DEFAULTS = np.get_printoptions()
