"""Build-time linear algebra on one BLAS thread.

The bases, changes of basis and intertwiners are computed with many small numpy/scipy matrix operations.
With a multi-threaded BLAS (OpenBLAS spins its threads up for each call) and a busy machine (a data loader,
``pytest -n 2`` on two cores, several ranks per node) these slow down by one to two orders of magnitude:
an SVD of a 975 x 325 matrix took 17 s on two threads and 0.5 s on one on a loaded 2-core machine. The
build-time code therefore runs inside :func:`single_blas_thread`, which asks ``threadpoolctl`` (the library
scikit-learn and numpy's own test suite use for this) to hold the BLAS libraries loaded in the process to
one thread, and restores them afterwards. The forward pass (torch) is not affected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = ["single_blas_thread"]


@lru_cache(maxsize=1)
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an optional speed-up: without it, the BLAS keeps its own thread count
        return None
    return ThreadpoolController()


_depth = 0


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the enclosed numpy / scipy linear algebra on one BLAS thread (re-entrant, cheap when nested).

    Example:
        >>> import numpy as np
        >>> with single_blas_thread():
        ...     float(np.linalg.svd(np.eye(3), compute_uv=False).sum())
        3.0
    """
    global _depth
    controller = _controller()
    if controller is None or _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    _depth += 1
    try:
        with controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _depth -= 1
