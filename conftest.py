"""Doctest set-up: seeded RNGs and ``torch`` in every doctest namespace."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _doctest_env(doctest_namespace: dict) -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    doctest_namespace["torch"] = torch
    doctest_namespace["np"] = np
