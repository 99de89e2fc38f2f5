"""Build-time linear algebra on one BLAS thread.

The bases, changes of basis and intertwiners are computed with many small numpy/scipy matrix operations.
With a multi-threaded BLAS (OpenBLAS spins its threads up for each call) and a busy machine (a data loader,
``pytest -n 2`` on two cores, several ranks per node) the large ones slow down by one to two orders of
magnitude: an SVD of a 975 x 325 matrix took 17 s on two threads and 0.5 s on one on a loaded 2-core machine.

The build-time code therefore runs inside :func:`single_blas_thread`, a region in which the first large
factorization (:func:`one_blas_thread_for`) asks ``threadpoolctl`` (the library scikit-learn and numpy's own
test suite use for this) to hold the BLAS libraries loaded in the process to one thread; the region restores
them when it ends. The limit is taken lazily because finding the BLAS libraries costs about 10 ms
(``threadpoolctl`` inspects every shared library in the process, and torch loads over a hundred), more
than the whole build of a small SO(3) layer from closed forms, which never needs it. The forward pass (torch)
is not affected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = ["one_blas_thread_for", "single_blas_thread"]

#: a factorization whose matrix has at least this many rows and columns holds the region to one BLAS thread
#: (OpenBLAS does not start its threads for smaller ones)
LARGE = 64


@lru_cache(maxsize=1)
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # an optional speed-up: without it, the BLAS keeps its own thread count
        return None
    return ThreadpoolController()


_region: contextlib.ExitStack | None = None  # the outermost open region, None outside
_limited = False  # whether the open region already holds the BLAS to one thread


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """A region of build-time maths whose large factorizations run on one BLAS thread (re-entrant).

    Entering costs nothing: the thread limit is taken at the first :func:`one_blas_thread_for` call on a
    large matrix inside the region, and released when the outermost region ends.

    Example:
        >>> import numpy as np
        >>> with single_blas_thread():
        ...     a = np.eye(100)
        ...     one_blas_thread_for(a)
        ...     float(np.linalg.svd(a, compute_uv=False).sum())
        100.0
    """
    global _region, _limited
    if _region is not None:
        yield
        return
    with contextlib.ExitStack() as stack:
        _region, _limited = stack, False
        try:
            yield
        finally:
            _region, _limited = None, False


def one_blas_thread_for(matrix: Any) -> None:
    """Before factorizing ``matrix`` (any object with a 2-D ``shape``) inside a :func:`single_blas_thread`
    region: hold the BLAS to one thread for the rest of the region if the matrix is large (at least
    :data:`LARGE` rows and columns). Does nothing outside a region, for small matrices, once the region is
    held, or without ``threadpoolctl``.

    Example:
        >>> import numpy as np
        >>> one_blas_thread_for(np.eye(3))  # outside a region: nothing to do
    """
    global _limited
    if _region is None or _limited or min(matrix.shape[-2:]) < LARGE:
        return
    _limited = True
    controller = _controller()
    if controller is not None:
        _region.enter_context(controller.limit(limits=1, user_api="blas"))
