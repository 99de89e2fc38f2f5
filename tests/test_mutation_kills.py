"""Tests that kill the mutants of ``tools/mutants.py`` that the rest of the suite let survive (issue 13).

Every test compares with a reference computed another way (NumPy formulas written out here, or
``torch.nn.BatchNorm2d``), in float64 with tolerances far below the size of the bug it guards against;
the mutant each test kills is named in its docstring. Run ``python tools/mutants.py`` to check that they
still fail on the mutants.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.constraints import MaxNorm, NonNeg, SumToOne, UnitNorm, weight_standardize
from structconv.nn import FieldType, GeometricTensor, GNormBatchNorm, InnerBatchNorm, NormBatchNorm


# ------------------------------------------------------------------------------------------- batch norms
def _fields(t: FieldType, x: np.ndarray):
    """Yield ``(rep, channel slice)`` of every field of ``t``."""
    for rep, a, b in zip(t.representations, t.fields_start, t.fields_end):
        yield rep, slice(int(a), int(b))


def _gnorm_reference(t: FieldType, x: np.ndarray, eps: float, stats=None):
    """GNormBatchNorm written out: per field ``z = Q^-1 v``; trivial irreps centred and divided by
    ``sqrt(var + eps)`` (unbiased variance), the other irrep blocks divided by ``sqrt(E||z||² n/(n-1) / d + eps)``.

    Returns the output and the per-block statistics ``[(mean or None, var)]`` in field and irrep order;
    with ``stats`` given, those are used instead of the batch's (eval mode)."""
    n = x.shape[0] * int(np.prod(x.shape[2:]))
    y = np.empty_like(x)
    found, i = [], 0
    for rep, sl in _fields(t, x):
        z = np.einsum("ij,bj...->bi...", np.asarray(rep.change_of_basis_inv), x[:, sl])
        out = np.empty_like(z)
        p = 0
        for name in rep.irreps:
            irr = t.gspace.fibergroup.irreps[name]
            d = irr.size
            block = z[:, p : p + d]
            if stats is None:
                if irr.is_trivial():
                    mean = block.mean()
                    var = ((block - mean) ** 2).sum() / (n - 1)
                else:
                    mean, var = None, (block**2).sum() / (d * (n - 1))
            else:
                mean, var = stats[i]
            found.append((mean, var))
            i += 1
            out[:, p : p + d] = (block - (mean or 0.0)) / np.sqrt(var + eps)
            p += d
        y[:, sl] = np.einsum("ij,bj...->bi...", np.asarray(rep.change_of_basis), out)
    return y, found


def test_gnorm_batch_norm_matches_the_written_out_formulas():
    """Kills BN2 (Bessel dropped), BN3 (N without the batch), BN4 (momentum as the old value's weight),
    BN7 (trivial variance not centred), BN8 (eps added to the std in eval), BN9 (running variance without
    its scale): training outputs, running statistics (through the eval output) and eval outputs."""
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr, gs.regular_repr])
    eps, m = 0.1, 0.25
    bn = GNormBatchNorm(t, eps=eps, momentum=m, affine=False).double()
    g = torch.Generator().manual_seed(0)
    running = None
    for step in range(2):
        x = torch.randn(3, t.size, 4, 5, generator=g, dtype=torch.float64) * (0.2 + step) + 0.7
        y = bn(GeometricTensor(x, t)).tensor.detach().numpy()
        y_ref, batch = _gnorm_reference(t, x.numpy(), eps)
        np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)  # Q is kept in float32: 1e-6, effects ≥ 1e-2
        if running is None:
            running = [(0.0 if mu is not None else None, 1.0) for mu, _ in batch]
        running = [
            (None if mu is None else (1 - m) * r_mu + m * mu, (1 - m) * r_var + m * var)
            for (r_mu, r_var), (mu, var) in zip(running, batch)
        ]
    bn.eval()
    x = torch.randn(2, t.size, 3, 3, generator=g, dtype=torch.float64) * 0.3 + 0.5
    y_ref, _ = _gnorm_reference(t, x.numpy(), eps, stats=running)
    np.testing.assert_allclose(bn(GeometricTensor(x, t)).tensor.detach().numpy(), y_ref, rtol=1e-5, atol=1e-6)


def test_norm_batch_norm_matches_the_written_out_formulas():
    """Kills BN1 (Bessel dropped; BN3 and BN4 change these numbers too): ``r <- (1 - m) r + m n/(n-1) E||v||²/d``,
    output ``v / sqrt(r + eps)`` with the updated ``r``."""
    gs = gspaces.Rot2dOnR2(8)
    t = FieldType(gs, [gs.irrep(1), gs.irrep(3), gs.irrep(4)])
    eps, m = 0.05, 0.3
    bn = NormBatchNorm(t, eps=eps, momentum=m, affine=False).double()
    g = torch.Generator().manual_seed(1)
    r = np.ones(len(t))
    for step in range(2):
        x = torch.randn(2, t.size, 3, 4, generator=g, dtype=torch.float64) * (1.0 + step)
        xn = x.numpy()
        n = xn.shape[0] * 12
        y_ref = np.empty_like(xn)
        for i, (rep, sl) in enumerate(_fields(t, xn)):
            var = (xn[:, sl] ** 2).sum() / (rep.size * (n - 1))
            r[i] = (1 - m) * r[i] + m * var
            y_ref[:, sl] = xn[:, sl] / np.sqrt(r[i] + eps)
        np.testing.assert_allclose(bn(GeometricTensor(x, t)).tensor.detach().numpy(), y_ref, rtol=1e-10)
        np.testing.assert_allclose(bn.running_var.numpy(), r, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_inner_batch_norm_running_statistics_match_torch(momentum):
    """Kills BN5 (cumulative average off by one) and BN6 (momentum 1 - m): scalar fields make
    InnerBatchNorm a BatchNorm2d, whose running statistics and outputs it must reproduce over 3 batches."""
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.trivial_repr] * 3)
    ours = InnerBatchNorm(t, momentum=momentum).double()
    ref = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    g = torch.Generator().manual_seed(2)
    for step in range(3):
        x = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64) * (1.0 + step) + step
        torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, ref(x))
    torch.testing.assert_close(ours.running_mean, ref.running_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.running_var, ref.running_var, rtol=1e-12, atol=1e-12)
    ours.eval()
    ref.eval()
    x = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, ref(x))


# ------------------------------------------------------------------------------------------- constraints
def _keras_norm(w: np.ndarray, eps: float, desired) -> np.ndarray:
    """Keras' ``w * desired(n) / (eps + n)`` with one norm per output unit (float64)."""
    n = np.sqrt((w.astype(np.float64) ** 2).reshape(w.shape[0], -1).sum(1)).reshape(-1, *[1] * (w.ndim - 1))
    return w * (desired(n) / (eps + n))


@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_keras_norms_with_a_large_eps_follow_keras_formula(scale):
    """Kills C4: where the weights are too large for Keras' plain arithmetic (1e20 in float32), ``eps``
    must still enter as ``W / (eps + n)``, relative to the norm, not as ``eps`` added to ``n / max|W|``."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(4, 3, 3, 3, generator=g) * scale
    wn = w.double().numpy()
    for c, desired in [
        (UnitNorm(eps=1.0), lambda n: np.ones_like(n)),
        (MaxNorm(max_value=0.5, eps=1.0), lambda n: np.clip(n, 0.0, 0.5)),
    ]:
        np.testing.assert_allclose(c(w).double().numpy(), _keras_norm(wn, 1.0, desired), rtol=1e-5, atol=0)


def test_sum_to_one_moves_eps_to_the_side_of_a_negative_sum():
    """Kills C6: a slice with a negative sum ``S`` is divided by ``S - eps`` (documented), not ``S + eps``."""
    w = torch.tensor([[1.0, -2.0], [3.0, 1.0]], dtype=torch.float64)
    out = SumToOne(eps=0.5)(w)
    torch.testing.assert_close(out, torch.tensor([[1 / -1.5, -2 / -1.5], [3 / 4.5, 1 / 4.5]], dtype=torch.float64))


def test_nonneg_right_inverse_is_the_absolute_value():
    """Kills C11: ``right_inverse`` is ``|W|``, so no negative tap starts at the dead zero of ``max(W, 0)``."""
    w = torch.tensor([[-2.0, 0.5, -0.1]])
    torch.testing.assert_close(NonNeg().right_inverse(w), torch.tensor([[2.0, 0.5, 0.1]]))


def test_weight_standardization_adds_eps_to_the_variance():
    """Kills C13: ``(W - mu) / sqrt(var + eps)`` (Qiao et al.), not ``(W - mu) / (std + eps)``."""
    w = torch.tensor([[1.0, -1.0, 3.0, -3.0]], dtype=torch.float64)  # mean 0, biased variance 5
    out = weight_standardize(w, eps=0.5)
    torch.testing.assert_close(out, w / np.sqrt(5.5))


# ------------------------------------------------------------------------------------------- kernels
def test_polar_psi_chi_psichi_are_the_written_out_matrices():
    """Kills K13 (``psi`` transposed): ``psi(θ, k, γ) = R(kθ + γ)``, ``chi(s) = diag(1, (-1)^s)`` and
    ``psichi = psi @ chi``, with the angles flattened into the last axis ``(2, 2, 1, n)``."""
    from structconv.kernels.polar import chi, psi, psichi

    theta = np.array([0.0, 0.4, 2.0, -1.3])
    for k, gamma in [(1, 0.0), (3, 0.7)]:
        a = k * theta + gamma
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # (2, 2, n)
        np.testing.assert_allclose(psi(theta, k, gamma)[:, :, 0, :], rot, atol=1e-15)
        for s in (0, 1):
            flip = np.diag([1.0, -1.0 if s else 1.0])
            np.testing.assert_array_equal(chi(s)[:, :, 0, 0], flip)
            np.testing.assert_allclose(
                psichi(theta, s, k, gamma)[:, :, 0, :], np.einsum("ijn,jk->ikn", rot, flip), atol=1e-15
            )


@pytest.mark.oracle
def test_polar_psi_chi_psichi_match_e2cnn():
    """Kills K13 against the oracle: e2cnn's ``kernels.utils.psi``, ``chi`` and ``psichi``."""
    utils = pytest.importorskip("e2cnn.kernels.utils")
    from structconv.kernels.polar import chi, psi, psichi

    theta = np.linspace(-3.0, 3.0, 7)
    for k, gamma in [(1, 0.0), (2, 0.3)]:
        np.testing.assert_allclose(psi(theta, k, gamma), utils.psi(theta, k, gamma), atol=1e-15)
        for s in (0, 1):
            np.testing.assert_array_equal(chi(s), utils.chi(s))
            np.testing.assert_allclose(psichi(theta, s, k, gamma), utils.psichi(theta, s, k, gamma), atol=1e-15)
