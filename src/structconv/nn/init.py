"""Initialisation of the expansion coefficients of steerable convolutions.

* :func:`generalized_he_init`: He initialisation generalised to steerable filters: every output channel
  of the layer gets (approximately) unit variance for a standard-normal input.
* :func:`deltaorthonormal_init`: delta-orthogonal initialisation: only the centre of the filter is
  non-zero, and there it is an orthogonal (equivariant) matrix.

The per-coefficient standard deviations of :func:`generalized_he_init` are cached by layer structure, so
building many layers of one shape is fast. The cache is a process-wide LRU of at most
:data:`STD_CACHE_SIZE` entries (one float64 array of the layer's number of coefficients each): building and
discarding layers of ever new shapes holds at most that many arrays.

Example:
    >>> from structconv.gspaces import Rot2dOnR2
    >>> from structconv.nn import FieldType, R2Conv, init
    >>> gs = Rot2dOnR2(4)
    >>> t = FieldType(gs, [gs.regular_repr] * 2)
    >>> conv = R2Conv(t, t, 3, initialize=False)
    >>> init.generalized_he_init(conv.weights.data, conv.basisexpansion)
    >>> bool(conv.weights.abs().sum() > 0)
    True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from structconv.nn.conv.basisexpansion import BasisExpansion, BlocksBasisExpansion, SingleBlockBasisExpansion

__all__ = ["STD_CACHE_SIZE", "generalized_he_init", "deltaorthonormal_init"]

#: the most layer structures whose He standard deviations are kept (least recently used dropped first)
STD_CACHE_SIZE = 64

_STD_CACHE: OrderedDict[Any, np.ndarray] = OrderedDict()
_STD_LOCK = threading.Lock()


def _std_lookup(key: Any) -> np.ndarray | None:
    with _STD_LOCK:
        std = _STD_CACHE.get(key)
        if std is not None:
            _STD_CACHE.move_to_end(key)
        return std


def _std_store(key: Any, std: np.ndarray) -> None:
    with _STD_LOCK:
        _STD_CACHE[key] = std
        _STD_CACHE.move_to_end(key)
        while len(_STD_CACHE) > STD_CACHE_SIZE:
            _STD_CACHE.popitem(last=False)


def _he_stds(basisexpansion: BasisExpansion) -> list[tuple[int, tuple[int, ...], torch.Tensor]]:
    """Per chunk of coefficients: ``(start, chunk shape, std per basis element)``.

    As e2cnn: a coefficient mapping input irrep :math:`\\psi` to the output irrep occurrence :math:`o` (one
    irrep of one output field) gets variance :math:`1 / (n_o \\, c_{\\psi, o})`, with :math:`c_{\\psi, o}` the
    number of coefficients from any occurrence of :math:`\\psi` (in any input field) to :math:`o`, and
    :math:`n_o` the number of distinct input irreps :math:`\\psi` with :math:`c_{\\psi, o} > 0`.
    """
    if isinstance(basisexpansion, SingleBlockBasisExpansion):
        key = _element_keys(basisexpansion)
        counts, inputs = _count_keys([(key, 1)])
        return [(0, (basisexpansion.dimension(),), _std_of(key, counts, inputs))]
    if not isinstance(basisexpansion, BlocksBasisExpansion):
        raise TypeError(
            f"basisexpansion must be a BlocksBasisExpansion or SingleBlockBasisExpansion; "
            f"received {type(basisexpansion).__name__}"
        )
    layout = basisexpansion._layout()
    keys = {}
    for ro, ri, _, _, _, _, block in layout:
        if block is not None:
            keys[(ro, ri)] = [(ro, o, name) for o, name in _element_keys(block)]
    counts, inputs = _count_keys([(keys[(ro, ri)], len(in_f)) for ro, ri, _, in_f, _, _, b in layout if b])
    chunks = []
    for ro, ri, out_f, in_f, dim, start, block in layout:
        if block is None:
            continue
        chunks.append((start, (len(out_f), len(in_f), dim), _std_of(keys[(ro, ri)], counts, inputs)))
    return chunks


def _element_keys(block: SingleBlockBasisExpansion) -> list[tuple[int, str]]:
    """``(output irrep position, input irrep name)`` of every kept element of a block."""
    basis = block._basis
    elements = basis.elements
    if block._keep is not None:
        elements = elements[block._keep]
    return [(int(o), str(basis.in_irreps[i])) for o, i in zip(elements[:, 0], elements[:, 1])]


def _count_keys(blocks: list[tuple[list[Any], int]]) -> tuple[dict[Any, int], dict[Any, int]]:
    """Coefficients per ``(output occurrence, input irrep)`` (times the input fields of each block), and
    the distinct input irreps per output occurrence."""
    counts: dict[Any, int] = {}
    for keys, n_in in blocks:
        for k in keys:
            counts[k] = counts.get(k, 0) + n_in
    inputs: dict[Any, int] = {}
    for k in counts:
        inputs[k[:-1]] = inputs.get(k[:-1], 0) + 1
    return counts, inputs


def _std_of(keys: list[Any], counts: dict[Any, int], inputs: dict[Any, int]) -> torch.Tensor:
    return torch.tensor([1.0 / np.sqrt(counts[k] * inputs[k[:-1]]) for k in keys], dtype=torch.float64)


def generalized_he_init(tensor: torch.Tensor, basisexpansion: BasisExpansion, cache: bool = False) -> None:
    r"""Initialise the coefficients of a steerable filter with a generalised He initialisation.

    As e2cnn: the coefficient :math:`w_d` of a basis element from input irrep :math:`\psi` to the
    output irrep occurrence :math:`o` (one irrep of one output field) is drawn from
    :math:`\mathcal{N}(0, 1 / (n_o c_{\psi, o}))`, where :math:`c_{\psi, o}` counts the coefficients
    from any occurrence of :math:`\psi` (in any input field) to :math:`o` and :math:`n_o` the distinct
    input irreps reaching :math:`o`. Every output irrep occurrence gets total variance 1, shared equally
    by the input irreps, then by their coefficients; since every basis element is normalised, each
    output channel has variance close to 1 for a standard-normal input. The expanded filter has e2cnn's
    distribution (the coefficients themselves differ, as the bases do).

    Args:
        tensor: the coefficients (``basisexpansion.dimension()`` elements), filled in place.
        basisexpansion: the basis expansion the coefficients belong to.
        cache: keep the variances in memory (this process only) to reuse them for the next layer with
            the same basis expansion.

    Raises:
        ValueError: if ``tensor`` does not have ``basisexpansion.dimension()`` elements.

    Example:
        >>> from structconv.gspaces import FlipRot2dOnR2
        >>> from structconv.nn import FieldType, R2Conv
        >>> gs = FlipRot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> conv = R2Conv(t, t, 5, initialize=False)
        >>> generalized_he_init(conv.weights.data, conv.basisexpansion, cache=True)
        >>> conv.weights.shape
        torch.Size([88])
    """
    if tensor.numel() != basisexpansion.dimension():
        raise ValueError(
            f"tensor has {tensor.numel()} elements; expected basisexpansion.dimension() = "
            f"{basisexpansion.dimension()}"
        )
    values = _he_values(basisexpansion, cache, tensor.dtype, tensor.device)
    with torch.no_grad():
        tensor.copy_(values.view(tensor.shape))


def _he_values(
    basisexpansion: BasisExpansion, cache: bool, dtype: torch.dtype, device: torch.device | str | None
) -> torch.Tensor:
    """A fresh 1-D tensor of He-initialised coefficients (the scaling is done in numpy, one thread)."""
    key = _cache_key(basisexpansion)
    std = _std_lookup(key) if cache and key is not None else None
    if std is None:
        std = np.zeros(basisexpansion.dimension())
        for start, shape, chunk_std in _he_stds(basisexpansion):
            std[start : start + int(np.prod(shape))].reshape(shape)[...] = chunk_std.numpy()
        if cache and key is not None:
            _std_store(key, std)
    noise = torch.randn(  # drawn on the CPU (also under a default-device context), then moved
        basisexpansion.dimension(),
        dtype=torch.float64 if dtype == torch.float64 else torch.float32,
        device="cpu",
    )
    # the product in float64, rounded once to the noise's dtype (as numpy's unsafe in-place multiply did);
    # no NumPy view of the result, which would make the parameter's storage unresizable
    scaled = torch.mul(noise, torch.from_numpy(std)).to(noise.dtype)
    return scaled.to(device=device, dtype=dtype)


def _cache_key(basisexpansion: BasisExpansion) -> Any:
    if isinstance(basisexpansion, BlocksBasisExpansion):
        return (
            "blocks",
            tuple(
                (ro, ri, len(out_f), len(in_f), None if block is None else _block_key(block))
                for ro, ri, out_f, in_f, _, _, block in basisexpansion._layout()
            ),
        )
    if isinstance(basisexpansion, SingleBlockBasisExpansion):
        return ("single", _block_key(basisexpansion))
    return None


def _block_key(block: SingleBlockBasisExpansion) -> Any:
    return (block._basis, None if block._keep is None else block._keep.tobytes())


def _polar_factor(matrix: np.ndarray) -> np.ndarray:
    u, _, vh = np.linalg.svd(matrix, full_matrices=False)
    return u @ vh


def _field_blocks(field_type: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(Q, channels (n, d))`` per representation of a field type: its fields' change of basis, batched."""
    groups: dict[Any, list[int]] = {}
    for i, rep in enumerate(field_type.representations):
        groups.setdefault(rep, []).append(i)
    starts = np.asarray(field_type.fields_start)
    out = []
    for rep, fields in groups.items():
        chans = starts[np.asarray(fields)][:, None] + np.arange(rep.size)[None, :]
        out.append((np.asarray(rep.change_of_basis, dtype=np.float64), chans))
    return out


def _rotate_rows(
    matrix: np.ndarray, blocks: list[tuple[np.ndarray, np.ndarray]], transpose: bool
) -> np.ndarray:
    """``Q^T M`` (``transpose``) or ``Q M`` for a block-diagonal ``Q`` given by :func:`_field_blocks`."""
    out = np.empty_like(matrix)
    for q, chans in blocks:
        q = q.T if transpose else q
        out[chans] = np.matmul(q, matrix[chans])
    return out


def _equivariant_polar_factor(matrix: np.ndarray, in_type: Any, out_type: Any) -> np.ndarray:
    """Polar factor ``U V^T`` of an equivariant matrix, one isotypic block at a time.

    In the irreps bases of the two field types an equivariant matrix only maps components of an irrep to
    components of the same irrep (Schur), so its polar factor is the direct sum of the polar factors of
    those blocks: a few small SVDs instead of one of the whole matrix. Falls back to the whole SVD if a
    change of basis is not orthogonal or the matrix is not block diagonal there.
    """
    out_blocks, in_blocks = _field_blocks(out_type), _field_blocks(in_type)
    for q, _ in out_blocks + in_blocks:
        if not np.allclose(q @ q.T, np.eye(q.shape[0]), atol=1e-9):
            return _polar_factor(matrix)
    group = out_type.gspace.fibergroup
    sizes: dict[str, int] = {}

    def labels(names: list[str]) -> np.ndarray:
        out = []
        for name in names:
            if name not in sizes:
                sizes[name] = group.irreps[name].size
            out += [name] * sizes[name]
        return np.asarray(out, dtype=object)

    rows_irrep, cols_irrep = labels(out_type.irreps), labels(in_type.irreps)
    # Q_out^T M Q_in
    inner = _rotate_rows(_rotate_rows(matrix, out_blocks, True).T, in_blocks, True).T
    ortho = np.zeros_like(inner)
    covered = 0.0
    for name in sizes:
        rows, cols = np.flatnonzero(rows_irrep == name), np.flatnonzero(cols_irrep == name)
        if len(rows) == 0 or len(cols) == 0:
            continue
        block = inner[np.ix_(rows, cols)]
        covered += float(np.sum(block**2))
        ortho[np.ix_(rows, cols)] = _polar_factor(block)
    total = float(np.sum(inner**2))
    if abs(total - covered) > 1e-9 * max(1.0, total):
        return _polar_factor(matrix)
    # Q_out P Q_in^T
    return _rotate_rows(_rotate_rows(ortho, out_blocks, False).T, in_blocks, False).T


def deltaorthonormal_init(tensor: torch.Tensor, basisexpansion: BasisExpansion) -> None:
    r"""Delta-orthogonal initialisation of a steerable filter.

    Only the basis elements supported at the centre of the filter (radius 0) get non-zero coefficients,
    chosen so that the filter's centre is an orthogonal matrix (semi-orthogonal when the numbers of
    input and output channels differ).  The polar factor of an equivariant matrix is equivariant, so
    the result stays in the steerable space.

    Args:
        tensor: the coefficients of a :class:`BlocksBasisExpansion`, filled in place.
        basisexpansion: the basis expansion (odd kernel size: the filter needs a centre pixel or voxel; R2Conv
            and R3Conv).

    Raises:
        TypeError: for a basis expansion that is not a :class:`BlocksBasisExpansion`.
        ValueError: on a wrong number of elements or a filter without a centre pixel.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, R2Conv
        >>> gs = Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 2)
        >>> conv = R2Conv(t, t, 3, initialize=False)
        >>> deltaorthonormal_init(conv.weights.data, conv.basisexpansion)
        >>> centre = conv.expand_parameters()[0][:, :, 1, 1]
        >>> torch.allclose(centre @ centre.T, torch.eye(16), atol=1e-5)
        True
    """
    if not isinstance(basisexpansion, BlocksBasisExpansion):
        raise TypeError(
            f"basisexpansion must be a BlocksBasisExpansion; received {type(basisexpansion).__name__}"
        )
    if tensor.numel() != basisexpansion.dimension():
        raise ValueError(
            f"tensor has {tensor.numel()} elements; expected basisexpansion.dimension() = "
            f"{basisexpansion.dimension()}"
        )
    S = basisexpansion.S
    sides = [round(S ** (1 / d)) for d in (2, 3)]  # a k x k filter (plane) or a k x k x k one (space)
    if not any(k**d == S and k % 2 == 1 for d, k in zip((2, 3), sides)):
        raise ValueError(
            f"deltaorthonormal_init needs an odd square (k x k) or cubic (k x k x k) filter; the basis has "
            f"{S} points"
        )
    centre = S // 2  # the centre pixel or voxel of the row-major grid
    layout = basisexpansion._layout()
    in_type, out_type = basisexpansion._in_type, basisexpansion._out_type
    # 1. a random equivariant matrix from the centre elements, in float64
    weights = np.zeros(basisexpansion.dimension())
    rng_values = torch.randn(basisexpansion.dimension(), dtype=torch.float64).numpy()
    centre_bases = {}
    for ro, ri, out_f, in_f, dim, start, block in layout:
        if block is None:
            continue
        _, radius = block._element_table()
        at_centre = radius == 0
        base = block._basis.array[:, :, :, centre]
        if block._keep is not None:
            base = base[block._keep]
        centre_bases[(ro, ri)] = (at_centre, base[at_centre])
        chunk = weights[start : start + len(out_f) * len(in_f) * dim].reshape(len(out_f), len(in_f), dim)
        chunk[:, :, at_centre] = rng_values[start : start + chunk.size].reshape(chunk.shape)[:, :, at_centre]
    matrix = np.zeros((out_type.size, in_type.size))
    for ro, ri, out_f, in_f, dim, start, block in layout:
        if block is None:
            continue
        at_centre, base = centre_bases[(ro, ri)]
        w = weights[start : start + len(out_f) * len(in_f) * dim].reshape(len(out_f), len(in_f), dim)
        blocks = np.einsum("abd,dxy->axby", w[:, :, at_centre], base)
        rows = np.concatenate([np.arange(out_type.fields_start[f], out_type.fields_end[f]) for f in out_f])
        cols = np.concatenate([np.arange(in_type.fields_start[f], in_type.fields_end[f]) for f in in_f])
        matrix[np.ix_(rows, cols)] = blocks.reshape(len(rows), len(cols))
    # 2. its polar factor, orthogonal and still equivariant
    ortho = _equivariant_polar_factor(matrix, in_type, out_type)
    # 3. back to coefficients, block by block (exact: the centre elements span the intertwiners)
    for ro, ri, out_f, in_f, dim, start, block in layout:
        if block is None:
            continue
        at_centre, base = centre_bases[(ro, ri)]
        rows = np.concatenate([np.arange(out_type.fields_start[f], out_type.fields_end[f]) for f in out_f])
        cols = np.concatenate([np.arange(in_type.fields_start[f], in_type.fields_end[f]) for f in in_f])
        target = ortho[np.ix_(rows, cols)].reshape(len(out_f), ro.size, len(in_f), ri.size)
        target = target.transpose(0, 2, 1, 3).reshape(len(out_f) * len(in_f), -1)
        chunk = np.zeros((len(out_f) * len(in_f), dim))
        if at_centre.any():
            flat = base.reshape(base.shape[0], -1)
            chunk[:, at_centre] = target @ np.linalg.pinv(flat)
        weights[start : start + chunk.size] = chunk.ravel()
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(weights).reshape(tensor.shape).to(tensor))

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
