"""Shared checks of the structural kernel constraints (used by several test modules)."""

from __future__ import annotations

import torch

PARAMS = {"max_l2": 0.7, "center_value": -1.0, "neighbor_sum": 1.0}


def slice_dims(w: torch.Tensor) -> tuple[int, ...]:
    return tuple(range(2, w.ndim)) if w.ndim >= 3 else (w.ndim - 1,)


def assert_holds(
    name: str, w: torch.Tensor, raw: torch.Tensor | None = None, atol: float | None = None
) -> None:
    """Assert that ``w`` satisfies the named constraint (``raw``: the weight it came from)."""
    atol = atol if atol is not None else (1e-5 if w.dtype == torch.float32 else 1e-10)
    dims = slice_dims(w)
    assert torch.isfinite(w).all()
    if name == "none":
        assert raw is None or torch.equal(w, raw)
    elif name == "nonneg":
        assert (w >= 0).all()
    elif name == "sum_to_one":
        torch.testing.assert_close(w.sum(dims), torch.ones_like(w.sum(dims)), atol=atol * 10, rtol=0)
    elif name == "zero_mean":
        assert w.mean(dims).abs().max() <= atol
    elif name == "nonneg_sum1":
        assert (w >= 0).all()
        assert (w.sum(dims) - 1).abs().max() <= max(atol, 1e-8)  # 1 - eps / sum: 8e-10 for a sum of 1.2e-3
    elif name == "unit_l2":
        # the norm is 1 / sqrt(1 + eps / n^2): 1.3e-10 below 1 for a raw norm of 0.06 with eps = 1e-12
        assert (w.square().sum(dims).sqrt() - 1).abs().max() <= max(atol, 1e-8)
    elif name == "max_l2":
        norms = w.square().sum(dims).sqrt()
        assert (norms <= PARAMS["max_l2"] + atol).all()
        if raw is not None:  # slices already inside the ball are untouched
            inside = raw.square().sum(dims).sqrt() < PARAMS["max_l2"] * 0.99
            torch.testing.assert_close(w[inside], raw[inside])
    elif name == "fixed_center":
        flat = w.flatten(len(w.shape) - len(dims))
        c = flat.shape[-1] // 2
        assert (flat[..., c] == PARAMS["center_value"]).all()
        neigh = flat.sum(-1) - flat[..., c]
        assert (neigh - PARAMS["neighbor_sum"]).abs().max() <= atol * 10
    else:  # pragma: no cover
        raise AssertionError(name)


def reference_kernel(name: str, w: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """The named constraint applied slice by slice with plain Python loops in float64 (independent of
    ``structconv.constraints``): the documented formula of each mode, written out a second time."""
    import math

    w64 = w.detach().double()
    flat = w64.reshape(-1, w64.shape[-1]) if w64.ndim < 3 else w64.reshape(w64.shape[0] * w64.shape[1], -1)
    out = torch.empty_like(flat)
    for i, row in enumerate(flat.tolist()):
        n = len(row)
        if name == "none":
            new = row
        elif name == "nonneg":
            new = [max(v, 0.0) for v in row]
        elif name == "sum_to_one":
            s = sum(row)
            new = [v / (s + eps) for v in row]
        elif name == "zero_mean":
            m = sum(row) / n
            new = [v - m for v in row]
        elif name == "nonneg_sum1":
            pos = [max(v, 0.0) for v in row]
            s = sum(pos)
            new = [v / (s + eps) for v in pos]
        elif name == "unit_l2":
            norm = math.sqrt(sum(v * v for v in row) + eps)
            new = [v / norm for v in row]
        elif name == "max_l2":
            scale = min(1.0, PARAMS["max_l2"] / math.sqrt(sum(v * v for v in row) + eps))
            new = [v * scale for v in row]
        elif name == "fixed_center":
            c = n // 2
            s = sum(v for j, v in enumerate(row) if j != c)
            d = s + eps if s >= 0 else s - eps
            new = [PARAMS["center_value"] if j == c else v * PARAMS["neighbor_sum"] / d for j, v in enumerate(row)]
        else:
            raise ValueError(name)
        out[i] = torch.tensor(new, dtype=torch.float64)
    return out.reshape(w64.shape)
