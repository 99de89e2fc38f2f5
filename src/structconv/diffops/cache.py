"""The shared cache of discretised PDO stencils, in memory and (optionally) on disk.

Every :class:`~structconv.nn.R2Diffop` discretises its basis from monomial stencils
(:func:`~structconv.diffops.discretization.monomial_stencils`), which are kept in one in-memory cache
shared by all layers of the process.  :func:`store_cache` writes that cache to a ``.npz`` file and
:func:`load_cache` reads one back into memory, so later layers use the stored stencils instead of
recomputing them.

The file format is safe to load: a numpy ``.npz`` archive read with ``allow_pickle=False``, holding a
format tag, a JSON list of keys and one float64 array per key.  A missing file is skipped silently; a
corrupt, foreign or inconsistent file gives a :class:`RuntimeWarning` and is ignored (the stencils are
then rebuilt on demand) — it never raises and never executes anything.

Example:
    >>> import os, tempfile
    >>> from structconv.diffops.discretization import monomial_stencils
    >>> _ = monomial_stencils(2, 3)
    >>> path = os.path.join(tempfile.mkdtemp(), "diffops.npz")
    >>> store_cache(path) >= 1
    True
    >>> clear_cache()
    >>> load_cache(path) >= 1
    True
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import warnings
import zipfile
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DEFAULT_CACHE_PATH",
    "StencilKey",
    "load_cache",
    "store_cache",
    "clear_cache",
    "cache_size",
    "lookup",
    "insert",
]

#: Where :func:`load_cache` / :func:`store_cache` read and write by default.
DEFAULT_CACHE_PATH = "./.structconv_cache/diffops.npz"

_FORMAT = "structconv.diffops.stencils/1"
_METHODS = ("fd", "gauss", "rbffd")


class StencilKey(NamedTuple):
    """What a cached stencil depends on.

    Attributes:
        method: ``"fd"``, ``"gauss"`` or ``"rbffd"``.
        kernel_size: size of the square stencil.
        dilation: spacing of the stencil's pixels.
        smoothing: Gaussian width (``"gauss"``), else ``None``.
        phi: radial basis function (``"rbffd"``), else ``""``.
        order: derivative order; the entry holds the ``order + 1`` monomial stencils.
    """

    method: str
    kernel_size: int
    dilation: int
    smoothing: float | None
    phi: str
    order: int


_STENCILS: dict[StencilKey, np.ndarray] = {}
_LOCK = threading.Lock()


def lookup(key: StencilKey) -> np.ndarray | None:
    """The cached stencils for ``key`` (read-only), or ``None``.

    Example:
        >>> lookup(StencilKey("fd", 3, 1, None, "", 99)) is None
        True
    """
    with _LOCK:
        return _STENCILS.get(key)


def insert(key: StencilKey, stencils: np.ndarray) -> np.ndarray:
    """Put stencils into the cache; returns the stored read-only copy.

    Example:
        >>> insert(StencilKey("fd", 1, 1, None, "", 0), np.ones((1, 1))).flags.writeable
        False
    """
    arr = np.array(stencils, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    with _LOCK:
        _STENCILS[key] = arr
    return arr


def clear_cache() -> None:
    """Empty the in-memory stencil cache.

    Example:
        >>> clear_cache(); cache_size()
        0
    """
    with _LOCK:
        _STENCILS.clear()


def cache_size() -> int:
    """Number of entries in the in-memory stencil cache.

    Example:
        >>> isinstance(cache_size(), int)
        True
    """
    with _LOCK:
        return len(_STENCILS)


def _key_to_json(key: StencilKey) -> list[Any]:
    return [key.method, key.kernel_size, key.dilation, key.smoothing, key.phi, key.order]


def _key_from_json(item: Any) -> StencilKey:
    """Validate one stored key; raises ``ValueError`` if it is not exactly what we write."""
    if not isinstance(item, list) or len(item) != 6:
        raise ValueError(f"bad key {item!r}")
    method, ks, dil, smoothing, phi, order = item
    ints = (ks, dil, order)
    if method not in _METHODS or not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        raise ValueError(f"bad key {item!r}")
    if ks < 1 or dil < 1 or order < 0 or not isinstance(phi, str):
        raise ValueError(f"bad key {item!r}")
    if smoothing is not None:
        if (
            not isinstance(smoothing, (int, float))
            or isinstance(smoothing, bool)
            or not math.isfinite(smoothing)
        ):
            raise ValueError(f"bad key {item!r}")
        smoothing = float(smoothing)
    return StencilKey(method, ks, dil, smoothing, phi, order)


def _read(path: str) -> dict[StencilKey, np.ndarray]:
    entries: dict[StencilKey, np.ndarray] = {}
    with np.load(path, allow_pickle=False) as data:
        if "format" not in data.files or str(data["format"][()]) != _FORMAT:
            raise ValueError("not a structconv stencil cache (missing or unknown format tag)")
        keys = json.loads(str(data["keys"][()]))
        if not isinstance(keys, list):
            raise ValueError("the key list is not a list")
        for i, item in enumerate(keys):
            key = _key_from_json(item)
            arr = np.asarray(data[f"s{i}"])
            if arr.dtype != np.float64 or arr.shape != (key.order + 1, key.kernel_size**2):
                raise ValueError(
                    f"entry {i} has dtype {arr.dtype} and shape {arr.shape}; does not match {item}"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"entry {i} is not finite")
            entries[key] = arr
    return entries


def load_cache(path: str = DEFAULT_CACHE_PATH) -> int:
    """Load stored PDO stencils into the in-memory cache shared by all ``R2Diffop`` layers.

    A missing file is skipped; an unreadable, corrupt or foreign file gives a ``RuntimeWarning`` and
    leaves the in-memory cache as it was (stencils are rebuilt when needed).

    Args:
        path: the ``.npz`` file written by :func:`store_cache`.

    Returns:
        the number of entries loaded.

    Example:
        >>> load_cache("/nonexistent/diffops.npz")
        0
    """
    if not os.path.exists(path):
        return 0
    try:
        entries = _read(path)
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as exc:
        warnings.warn(
            f"ignoring the PDO stencil cache {path!r}: it could not be read ({type(exc).__name__}: {exc}); "
            "the stencils will be recomputed",
            RuntimeWarning,
            stacklevel=2,
        )
        return 0
    with _LOCK:
        for key, arr in entries.items():
            arr.setflags(write=False)
            _STENCILS[key] = arr
    return len(entries)


def store_cache(path: str = DEFAULT_CACHE_PATH) -> int:
    """Write the in-memory PDO stencil cache to ``path`` (an ``.npz`` archive, written atomically).

    Args:
        path: destination file; its directory is created if needed.

    Returns:
        the number of entries written.

    Example:
        >>> import os, tempfile
        >>> store_cache(os.path.join(tempfile.mkdtemp(), "sub", "c.npz")) >= 0
        True
    """
    with _LOCK:
        items = list(_STENCILS.items())
    arrays: dict[str, np.ndarray] = {f"s{i}": arr for i, (_, arr) in enumerate(items)}
    arrays["format"] = np.array(_FORMAT)
    arrays["keys"] = np.array(json.dumps([_key_to_json(k) for k, _ in items]))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(items)
