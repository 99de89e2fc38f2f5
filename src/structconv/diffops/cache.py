"""The shared cache of discretised PDO stencils, in memory and (optionally) on disk.

Every :class:`~structconv.nn.R2Diffop` discretises its basis from monomial stencils
(:func:`~structconv.diffops.discretization.monomial_stencils`), which are kept in one in-memory cache
shared by all layers of the process.  :func:`store_cache` writes that cache to a ``.npz`` file and
:func:`load_cache` reads one back into memory, so later layers use the stored stencils instead of
recomputing them.

**Where.** By default the file is ``diffops.npz`` in the user's cache directory, the platform's convention
(:func:`default_cache_path`, from ``platformdirs``: ``~/.cache/structconv`` on Linux,
``~/Library/Caches/structconv`` on macOS, ``%LOCALAPPDATA%\\structconv\\Cache`` on Windows), never the current
directory.

**Trust.** A file is data, never code: a numpy ``.npz`` archive read with ``allow_pickle=False``. Before
anything is read, what the file claims is bounded (:data:`MAX_FILE_BYTES`, :data:`MAX_ENTRIES`,
:data:`MAX_ENTRY_BYTES`, the size of the key list and of every array header), so a crafted file cannot make
the loader allocate or recurse without limit. Every entry is then verified: its key (method, sizes within
bounds), its dtype and shape, a SHA-256 checksum that covers the key and the values, and the values
themselves: finite-difference stencils must be exact on every polynomial of degree ``< kernel_size`` in each
variable (which determines them), RBF-FD stencils must have the symmetries of the grid and be exact on the
polynomials of their order, and Gaussian-derivative stencils (cheap) are recomputed and compared. A bad
entry is skipped with a :class:`RuntimeWarning` (and recomputed when needed); an unreadable or foreign
file gives one warning and is ignored. :func:`load_cache` never raises; :func:`store_cache` warns instead of
raising when the directory cannot be written.

**Memory.** The in-memory cache is an LRU of at most :data:`MAX_ENTRIES` entries (each one
``(order + 1) x kernel_size ** 2`` float64 stencils): the least recently used entries are dropped first.

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

import hashlib
import io
import json
import math
import os
import tempfile
import threading
import warnings
import zipfile
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DEFAULT_CACHE_PATH",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_FILE_BYTES",
    "StencilKey",
    "default_cache_path",
    "load_cache",
    "store_cache",
    "clear_cache",
    "cache_size",
    "lookup",
    "insert",
]


def default_cache_path() -> str:
    """``diffops.npz`` in the user's cache directory for structconv (``platformdirs.user_cache_dir``).

    Example:
        >>> os.path.basename(default_cache_path())
        'diffops.npz'
    """
    try:
        from platformdirs import user_cache_dir

        directory = user_cache_dir("structconv", appauthor=False)
    except ImportError:  # pragma: no cover - platformdirs is a dependency; XDG fallback
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = os.path.join(base, "structconv")
    return os.path.join(directory, "diffops.npz")


#: Where :func:`load_cache` / :func:`store_cache` read and write by default (:func:`default_cache_path`).
DEFAULT_CACHE_PATH = default_cache_path()

#: the largest cache file read (bytes); larger files are ignored with a warning, unread
MAX_FILE_BYTES = 256 * 2**20
#: the largest number of entries a file may hold, and the bound of the in-memory cache (an LRU)
MAX_ENTRIES = 4096
#: the largest array (bytes, uncompressed) an entry may claim
MAX_ENTRY_BYTES = 32 * 2**20
#: the largest key list (bytes of JSON)
_MAX_KEYS_BYTES = 4 * 2**20
#: the largest kernel size, dilation and derivative order a key may name
_MAX_KEY_INT = 255

_FORMAT = "structconv.diffops.stencils/2"
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


#: the in-memory cache: an LRU of at most :data:`MAX_ENTRIES` entries (least recently used dropped first)
_STENCILS: OrderedDict[StencilKey, np.ndarray] = OrderedDict()
_LOCK = threading.Lock()


def _trim() -> None:
    """Drop the least recently used entries beyond :data:`MAX_ENTRIES` (call with ``_LOCK`` held)."""
    while len(_STENCILS) > MAX_ENTRIES:
        _STENCILS.popitem(last=False)


def lookup(key: StencilKey) -> np.ndarray | None:
    """The cached stencils for ``key`` (read-only), or ``None``.

    Example:
        >>> lookup(StencilKey("fd", 3, 1, None, "", 99)) is None
        True
    """
    with _LOCK:
        found = _STENCILS.get(key)
        if found is not None:
            _STENCILS.move_to_end(key)
        return found


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
        _STENCILS.move_to_end(key)
        _trim()
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
    if not (1 <= ks <= _MAX_KEY_INT and 1 <= dil <= _MAX_KEY_INT and 0 <= order <= _MAX_KEY_INT):
        raise ValueError(f"bad key {item!r}")
    if not isinstance(phi, str) or len(phi) > 16:
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


def _checksum(key: StencilKey, arr: np.ndarray) -> str:
    """SHA-256 over the format, the key, the dtype, the shape and the values of one entry."""
    h = hashlib.sha256()
    h.update(_FORMAT.encode())
    h.update(json.dumps(_key_to_json(key)).encode())
    h.update(str(arr.dtype.str).encode())
    h.update(repr(tuple(arr.shape)).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _read_member(zf: zipfile.ZipFile, name: str, max_bytes: int) -> np.ndarray:
    """Read one ``.npy`` member, refusing (before reading its data) a header that claims too much."""
    info = zf.getinfo(name)
    if info.file_size > max_bytes + 4096:
        raise ValueError(f"member {name!r} claims {info.file_size} bytes; the limit is {max_bytes}")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"member {name!r} has an unknown .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"member {name!r} holds Python objects")
        count = math.prod(shape)
        if count * dtype.itemsize > max_bytes:
            raise ValueError(
                f"member {name!r} claims shape {shape} of {dtype} ({count * dtype.itemsize} bytes); "
                f"the limit is {max_bytes}"
            )
        raw = fh.read(count * dtype.itemsize + 1)
    if len(raw) != count * dtype.itemsize:
        raise ValueError(
            f"member {name!r} holds {len(raw)} bytes; its header claims {count * dtype.itemsize}"
        )
    arr = np.frombuffer(raw, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C")


def _exactness_error(stencils: np.ndarray, key: StencilKey, full: bool) -> float:
    """Worst relative error of the stencils on monomials ``x^a y^b``: every ``a, b < kernel_size`` if
    ``full`` (which determines a finite-difference stencil), else every ``a + b <= order``."""
    from structconv.kernels import kernel_grid

    x, y = np.asarray(kernel_grid(key.kernel_size, key.dilation), dtype=np.float64)
    top = key.kernel_size if full else key.order + 1
    pairs = [(a, b) for a in range(top) for b in range(top) if full or a + b <= key.order]
    worst = 0.0
    for i in range(key.order + 1):
        p, q = key.order - i, i
        row = stencils[i]
        for a, b in pairs:
            mono = x**a * y**b
            expected = math.factorial(p) * math.factorial(q) if (a, b) == (p, q) else 0.0
            scale = 1.0 + np.abs(row).sum() * np.abs(mono).max()
            worst = max(worst, abs(float(row @ mono) - expected) / scale)
    return worst


def _symmetry_error(stencils: np.ndarray, key: StencilKey) -> float:
    """Worst deviation from the grid's symmetries: ``x -> -x`` and ``y -> -y`` multiply the stencil of
    ``d_x^p d_y^q`` by ``(-1)^p`` and ``(-1)^q``; swapping ``x`` and ``y`` maps it to that of
    ``d_x^q d_y^p`` (rows of the ``k x k`` stencil run from ``y = +h`` down, columns from ``x = -h``)."""
    k, n = key.kernel_size, key.order
    worst = 0.0
    for i in range(n + 1):
        p, q = n - i, i
        s = stencils[i].reshape(k, k)
        t = stencils[n - i].reshape(k, k)
        scale = 1.0 + np.abs(s).max()
        worst = max(
            worst,
            float(np.abs(s[:, ::-1] - (-1) ** p * s).max()) / scale,
            float(np.abs(s[::-1, :] - (-1) ** q * s).max()) / scale,
            float(np.abs(t - s[::-1, ::-1].T).max()) / scale,
        )
    return worst


def _verify_values(key: StencilKey, arr: np.ndarray) -> str | None:
    """Why the values of an entry are not the stencils its key names, or ``None`` if they are."""
    if key.method == "gauss":
        from structconv.diffops.discretization import _compute_stencils

        ref = _compute_stencils(key.order, key.method, key.kernel_size, key.dilation, key.smoothing, key.phi)
        if not np.allclose(arr, ref, rtol=1e-9, atol=1e-12):
            return "its values differ from the Gaussian-derivative stencils of its key"
        return None
    if _symmetry_error(arr, key) > 1e-8:
        return "its stencils do not have the symmetries of the grid (rotations and reflections)"
    if _exactness_error(arr, key, full=key.method == "fd") > 1e-8:
        return "its stencils do not discretise the derivatives of its key (exactness on polynomials)"
    return None


def _read(path: str) -> tuple[dict[StencilKey, np.ndarray], list[str]]:
    """The verified entries of a cache file, and the reasons of the entries that were skipped."""
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ValueError(f"the file has {size} bytes; the limit is {MAX_FILE_BYTES} (MAX_FILE_BYTES)")
    entries: dict[StencilKey, np.ndarray] = {}
    skipped: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if len(names) > 2 * MAX_ENTRIES + 2:
            raise ValueError(f"the archive has {len(names)} members; the limit is {2 * MAX_ENTRIES + 2}")
        if "format.npy" not in names or "keys.npy" not in names:
            raise ValueError("not a structconv stencil cache (no format tag or key list)")
        tag = _read_member(zf, "format.npy", 4096)
        if tag.dtype.kind != "U" or tag.shape != () or str(tag[()]) != _FORMAT:
            raise ValueError("not a structconv stencil cache of this version (unknown format tag)")
        text = _read_member(zf, "keys.npy", _MAX_KEYS_BYTES)
        if text.dtype.kind != "U" or text.shape != ():
            raise ValueError("the key list is not a string")
        keys = json.loads(str(text[()]))  # a RecursionError from deep nesting is caught by load_cache
        if not isinstance(keys, list) or len(keys) > MAX_ENTRIES:
            raise ValueError(f"the key list is not a list of at most {MAX_ENTRIES} keys")
        for i, item in enumerate(keys):
            try:
                key = _key_from_json(item)
                arr = _read_member(zf, f"s{i}.npy", MAX_ENTRY_BYTES)
                digest = _read_member(zf, f"h{i}.npy", 4096)
                if arr.dtype != np.float64 or arr.shape != (key.order + 1, key.kernel_size**2):
                    raise ValueError(f"dtype {arr.dtype} and shape {arr.shape} do not match its key")
                if not np.all(np.isfinite(arr)):
                    raise ValueError("its values are not finite")
                if digest.dtype.kind != "U" or str(digest[()]) != _checksum(key, arr):
                    raise ValueError("its checksum does not match its key and values")
                why = _verify_values(key, arr)
                if why is not None:
                    raise ValueError(why)
            except Exception as exc:  # this entry is unusable; the others may be fine
                skipped.append(f"entry {i} ({item!r:.80}): {exc}")
                continue
            entries[key] = np.array(arr, dtype=np.float64)
    return entries, skipped


def load_cache(path: str | os.PathLike[str] | None = None) -> int:
    """Load stored PDO stencils into the in-memory cache shared by all ``R2Diffop`` layers.

    A missing file is skipped; an unreadable, oversized, corrupt or foreign file gives a ``RuntimeWarning``
    and leaves the in-memory cache as it was; an entry that fails its verification (see the module
    docstring) is skipped with a ``RuntimeWarning`` and recomputed when needed. Never raises.

    Args:
        path: the ``.npz`` file written by :func:`store_cache`; default :func:`default_cache_path`.

    Returns:
        the number of entries loaded.

    Example:
        >>> load_cache("/nonexistent/diffops.npz")
        0
    """
    try:
        path = default_cache_path() if path is None else os.fspath(path)
        if not os.path.exists(path):
            return 0
        entries, skipped = _read(path)
    except Exception as exc:  # never raises: MemoryError, RecursionError, OSError, ... all mean "unusable"
        warnings.warn(
            f"ignoring the PDO stencil cache {path!r}: it could not be read ({type(exc).__name__}: "
            f"{str(exc)[:300]}); the stencils will be recomputed",
            RuntimeWarning,
            stacklevel=2,
        )
        return 0
    if skipped:
        warnings.warn(
            f"the PDO stencil cache {path!r} has {len(skipped)} bad entries, skipped (recomputed when "
            "needed): " + "; ".join(skipped[:5]),
            RuntimeWarning,
            stacklevel=2,
        )
    with _LOCK:
        for key, arr in entries.items():
            arr.setflags(write=False)
            _STENCILS[key] = arr
            _STENCILS.move_to_end(key)
        _trim()
    return len(entries)


def store_cache(path: str | os.PathLike[str] | None = None) -> int:
    """Write the in-memory PDO stencil cache to ``path`` (an ``.npz`` archive, written atomically).

    Every entry is written with its SHA-256 checksum. A directory that cannot be created or written (read
    only, say) gives a ``RuntimeWarning`` and nothing is written.

    Args:
        path: destination file (its directory is created if needed); default :func:`default_cache_path`.

    Returns:
        the number of entries written (0 if the file could not be written).

    Example:
        >>> import os, tempfile
        >>> store_cache(os.path.join(tempfile.mkdtemp(), "sub", "c.npz")) >= 0
        True
    """
    path = default_cache_path() if path is None else os.fspath(path)
    with _LOCK:
        items = list(_STENCILS.items())
    arrays: dict[str, np.ndarray] = {}
    for i, (key, arr) in enumerate(items):
        arrays[f"s{i}"] = arr
        arrays[f"h{i}"] = np.array(_checksum(key, arr))
    arrays["format"] = np.array(_FORMAT)
    arrays["keys"] = np.array(json.dumps([_key_to_json(k) for k, _ in items]))
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    except OSError as exc:
        warnings.warn(
            f"could not write the PDO stencil cache {path!r} ({type(exc).__name__}: {exc}); nothing stored",
            RuntimeWarning,
            stacklevel=2,
        )
        return 0
    try:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(items)

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
