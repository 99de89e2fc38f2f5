"""The build-time BLAS thread limit (structconv._threads): taken lazily, only for large factorizations, and
always released."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from structconv import _threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


def test_large_factorization_holds_one_thread_until_the_region_ends():
    before = _blas_threads()
    with _threads.single_blas_thread():
        with _threads.single_blas_thread():  # nested: the outer region owns the limit
            _threads.one_blas_thread_for(np.eye(_threads.LARGE - 1))
            assert _blas_threads() == before  # small: not limited
            _threads.one_blas_thread_for(np.eye(_threads.LARGE))
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads())  # still inside the outer region
    assert _blas_threads() == before


def test_limit_released_when_the_region_raises():
    before = _blas_threads()
    with pytest.raises(RuntimeError, match="boom"), _threads.single_blas_thread():
        _threads.one_blas_thread_for(np.zeros((200, 100)))
        raise RuntimeError("boom")
    assert _blas_threads() == before
    assert _threads._region is None and not _threads._limited


def test_outside_a_region_nothing_is_limited():
    before = _blas_threads()
    _threads.one_blas_thread_for(np.zeros((500, 500)))
    assert _blas_threads() == before


_SMALL_BUILD = """
import structconv._threads as T
from structconv import gspaces, nn
gs = gspaces.rot3dOnR3()
ft = nn.FieldType(gs, [gs.irrep(0), gs.irrep(1), gs.irrep(2)])
nn.R3Conv(ft, ft, kernel_size=5)
print(T._controller.cache_info().currsize)
gs = gspaces.icoOnR3()
ft = nn.FieldType(gs, [gs.regular_repr])
nn.R3Conv(ft, ft, kernel_size=3)
print(T._controller.cache_info().currsize)
"""


def test_closed_form_build_never_scans_the_blas_libraries():
    """A small SO(3) layer is built from closed forms without the ~10 ms library scan; a layer whose basis
    needs large factorizations (icosahedral regular: 125 x 125 projectors) takes the limit."""
    out = subprocess.run([sys.executable, "-c", _SMALL_BUILD], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]
