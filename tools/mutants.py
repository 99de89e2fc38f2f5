"""Scripted mutation testing of structconv (issue 13, "Tests that can fail").

Each entry of :data:`MUTANTS` is a plausible bug a developer could write in ``kernels/``, ``group/``,
the batch norms or ``constraints/``: ``(id, path, old_text, new_text, test_files)`` plus a one-line
description and, for a mutant that does not change behaviour, the reason why (``equivalent``).

The script never touches the repository it lives in. It exports a revision (default ``HEAD``) into a
private copy (``git archive REV | tar -x``; ``--worktree`` copies the working tree as it is instead),
checks that ``PYTHONPATH=<copy>/src`` makes Python import the copy's ``structconv``, runs every test
file named by a mutant once on the unmutated copy (tests that already fail there are deselected later,
so a pre-existing failure never counts as a kill), and then, one mutant at a time, replaces the single
occurrence of ``old_text`` by ``new_text`` in the copy, runs only that mutant's test files::

    OMP_NUM_THREADS=1 PYTHONPATH=<copy>/src python -m pytest -x -q -p no:cacheprovider -p no:xdist <files>

with a per-mutant timeout, and restores the file. Results: ``killed`` (a test failed), ``survived``
(all passed), ``timeout``, ``not-applied`` (``old_text`` not found, or found more than once), ``error``
(pytest could not run). The score is ``killed / applied``; it is also given without the mutants marked
equivalent.

Usage::

    python tools/mutants.py                   # all mutants, copy of HEAD in /tmp/mut-src
    python tools/mutants.py --only K1 BN2     # some mutants
    python tools/mutants.py --only BN2 --tests tests/test_mutation_kills.py   # does this file kill BN2?
    python tools/mutants.py --check           # only check that every mutant applies (no tests run)
    python tools/mutants.py --list            # print the mutants
    python tools/mutants.py --json out.json   # also write the results as JSON
    python tools/mutants.py --overlay tests/test_new.py   # HEAD plus an uncommitted file of the working tree

Bytecode is never written in the copy (``PYTHONDONTWRITEBYTECODE=1``): a mutant of the same size as the
original, written within the same second, would otherwise be shadowed by a stale ``.pyc``.
``STRUCTCONV_REQUIRE_ORACLES=1`` is set so that oracle tests cannot skip silently (pass
``--allow-missing-oracles`` on a machine without e2cnn, selfeeg and elektronn3).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
MARKER = ".structconv-mutants-copy"


class Mutant(NamedTuple):
    """One scripted mutant: replace ``old`` by ``new`` (exactly one occurrence) in ``path``."""

    id: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str = ""
    equivalent: str = ""  # non-empty: the reason why the mutant cannot change behaviour


K = "src/structconv/kernels/"
G = "src/structconv/group/"
BN = "src/structconv/nn/modules/batchnormalization.py"
C = "src/structconv/constraints/"
KILLS = "tests/test_mutation_kills.py"
T_KERNELS = ("tests/test_kernels.py", "tests/test_e2cnn_group_parity.py", KILLS)
T_POLAR = ("tests/test_e2cnn_group_parity.py", KILLS)
T_GROUP = ("tests/test_group.py", "tests/test_representations.py", KILLS)
T_REPR = ("tests/test_representations.py", "tests/test_e2cnn_group_parity.py", KILLS)
T_BN = ("tests/test_batchnorm.py", "tests/test_norm_batchnorm_e2cnn.py", KILLS)
T_CONS = ("tests/test_constraints.py", "tests/test_keras_constraint_names.py", KILLS)
T_WS = ("tests/test_standardization.py", KILLS)

MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ kernels/
    Mutant(
        "K1", K + "sampling.py",
        "/ (2 * ring_s[:, None] ** 2))", "/ (ring_s[:, None] ** 2))",
        T_KERNELS, "Gaussian ring width exp(-d²/(2σ²)) -> exp(-d²/σ²)",
    ),
    Mutant(
        "K2", K + "sampling.py",
        "sigma = [0.6] * (len(rings) - 1) + [0.4]", "sigma = [0.6] * len(rings)",
        T_KERNELS, "default width of the outermost ring 0.4 -> 0.6",
    ),
    Mutant(
        "K3", K + "sampling.py",
        "return min(2 * r, 2 if r == self.max_radius else 2 * r - (r + 1) % 2)",
        "return min(2 * r, 2 if r == self.max_radius else 2 * r - r % 2)",
        T_KERNELS, "frequency cut-off of the inner rings: (r + 1) % 2 -> r % 2",
    ),
    Mutant(
        "K4", K + "sampling.py",
        "y = (c - rows) * dilation", "y = (rows - c) * dilation",
        T_KERNELS, "kernel grid: y axis pointing down instead of up",
    ),
    Mutant(
        "K5", K + "sampling.py",
        "sign = np.where(s == 1, -1.0, 1.0)[:, None]", "sign = np.where(s == 1, 1.0, -1.0)[:, None]",
        T_KERNELS, "2x2 harmonic blocks: reflection sign of s=0 / s=1 swapped",
    ),
    Mutant(
        "K6", K + "sampling.py",
        "phi = np.where(origin, 0.0, np.arctan2(y, x))", "phi = np.where(origin, 0.0, np.arctan2(x, y))",
        T_KERNELS, "polar angle arctan2(y, x) -> arctan2(x, y)",
    ),
    Mutant(
        "K7", K + "sampling.py",
        "norms = np.sqrt((basis**2).reshape(len(attrs), -1).sum(1) / do)",
        "norms = np.sqrt((basis**2).reshape(len(attrs), -1).sum(1))",
        T_KERNELS, "element normalisation: squared norm = out dim -> 1",
    ),
    Mutant(
        "K8", K + "harmonics.py",
        "gammas = (half * parity,) if flips else (0.0, half)",
        "gammas = (half * (1 - parity),) if flips else (0.0, half)",
        T_KERNELS, "dihedral 1x1 blocks: phase of the parity swapped (cos <-> sin)",
    ),
    Mutant(
        "K9", K + "harmonics.py",
        "for s, base in ((0, out_irrep.k - in_irrep.k), (1, out_irrep.k + in_irrep.k)):",
        "for s, base in ((0, out_irrep.k + in_irrep.k), (1, out_irrep.k - in_irrep.k)):",
        T_KERNELS, "2x2 blocks: frequencies k_out - k_in and k_out + k_in given to the wrong s",
    ),
    Mutant(
        "K10", K + "harmonics.py",
        "if maximum_offset is not None and abs(t) > maximum_offset:",
        "if maximum_offset is not None and abs(t) >= maximum_offset:",
        T_KERNELS, "maximum_offset bound off by one (> -> >=)",
    ),
    Mutant(
        "K11", K + "harmonics.py",
        "base = out_irrep.k - in_irrep.k\n        parity",
        "base = out_irrep.k + in_irrep.k\n        parity",
        T_KERNELS, "1x1 blocks: base frequency k_out - k_in -> k_out + k_in (the same aliasing class, as "
        "1-d irreps have k = 0 or N/2, but other offsets t: maximum_offset keeps other frequencies)",
    ),
    Mutant(
        "K12", K + "polar.py",
        "vals = np.exp(-0.5 * ((r - self.radii[:, None]) / self.sigma[:, None]) ** 2)",
        "vals = np.exp(-((r - self.radii[:, None]) / self.sigma[:, None]) ** 2)",
        T_POLAR, "GaussianRadialProfile width exp(-d²/(2σ²)) -> exp(-d²/σ²)",
    ),
    Mutant(
        "K13", K + "polar.py",
        "vals = np.stack([np.stack([c, -s * sign]), np.stack([s, c * sign])])",
        "vals = np.stack([np.stack([c, s * sign]), np.stack([-s, c * sign])])",
        T_POLAR, "2x2 angular block of a harmonic basis element: the transpose R(-θ) instead of R(θ)",
    ),
    Mutant(
        "K14", K + "polar.py",
        "self.A_inv = np.asarray(in_repr.change_of_basis_inv, dtype=np.float64)",
        "self.A_inv = np.asarray(in_repr.change_of_basis, dtype=np.float64)",
        T_POLAR, "SteerableKernelBasis: Q_in instead of Q_in^-1 (a transpose for orthogonal Q)",
    ),
    Mutant(
        "K15", K + "basis.py",
        "q_in_inv = np.asarray(in_repr.change_of_basis_inv, dtype=np.float64)",
        "q_in_inv = np.asarray(in_repr.change_of_basis, dtype=np.float64)",
        T_KERNELS, "steerable_basis: Q_in instead of Q_in^-1 (a transpose for orthogonal Q)",
    ),
    # ------------------------------------------------------------------ group/
    Mutant(
        "G1", G + "irreps.py",
        "out[:, 0, 1] = -s * sg\n        out[:, 1, 0] = s\n",
        "out[:, 0, 1] = s * sg\n        out[:, 1, 0] = -s\n",
        T_GROUP + ("tests/test_e2cnn_group_parity.py",),
        "2-d irreps: the transpose R(-kθ) (same characters)",
    ),
    Mutant(
        "G2", G + "irreps.py",
        "out[:, 0, 1] = -s * sg\n        out[:, 1, 0] = s\n        out[:, 1, 1] = c * sg",
        "out[:, 0, 1] = -s\n        out[:, 1, 0] = s * sg\n        out[:, 1, 1] = c * sg",
        T_GROUP, "2-d dihedral irreps: S R(kθ) instead of R(kθ) S",
    ),
    Mutant(
        "G3", G + "irreps.py",
        "phase = TWO_PI * ((self._k * rots) % self._n_rot) / self._n_rot",
        "phase = TWO_PI * (rots % self._n_rot) / self._n_rot",
        T_GROUP, "finite 2-d irreps: frequency k dropped from the phase",
    ),
    Mutant(
        "G4", G + "irreps.py",
        "if self._j == 1 and self._has_flip:", "if self._has_flip:",
        T_GROUP, "1-d dihedral irreps: flip sign applied whatever j",
    ),
    Mutant(
        "G5", G + "cyclic.py",
        "for k in range(self._N // 2 + 1):", "for k in range((self._N - 1) // 2 + 1):",
        T_GROUP, "C_N irreps: frequency N/2 missing for even N",
    ),
    Mutant(
        "G6", G + "dihedral.py",
        "return a[0] ^ b[0], (a[1] + (b[1] if a[0] == 0 else -b[1])) % self._N",
        "return a[0] ^ b[0], (a[1] + (b[1] if a[0] == 1 else -b[1])) % self._N",
        T_GROUP, "D_N product: the rotation of b reversed under the wrong flip",
    ),
    Mutant(
        "G7", G + "dihedral.py",
        "return (axis, M), (flip_group() if M == 1 else dihedral_group(M)), TWO_PI * axis / N",
        "return (axis, M), (flip_group() if M == 1 else dihedral_group(M)), TWO_PI * axis / M",
        T_GROUP, "D_N subgroup (axis, M): axis angle 2π·axis/N -> 2π·axis/M",
    ),
    Mutant(
        "G8", G + "o2.py",
        "return a[0] ^ b[0], a[1] + (b[1] if a[0] == 0 else -b[1])",
        "return a[0] ^ b[0], a[1] + b[1]",
        T_GROUP, "O(2) product: rotation of b not reversed by a flip",
    ),
    Mutant(
        "G9", G + "representation.py",
        "return self.change_of_basis @ B @ self.change_of_basis_inv",
        "return self.change_of_basis_inv @ B @ self.change_of_basis",
        T_REPR, "Representation: Q^-1 (⊕ψ) Q instead of Q (⊕ψ) Q^-1",
    ),
    Mutant(
        "G10", G + "representation.py",
        "Qinv = Qinv @ self._outer[1]", "Qinv = self._outer[1] @ Qinv",
        T_REPR, "direct sum with a change of basis C: Q^-1 = (⊕Q_i^-1) C^-1 multiplied in the wrong order",
    ),
    Mutant(
        "G11", G + "constructions.py",
        "cols.append(mats[:, :, j] * np.sqrt(d / n))", "cols.append(mats[:, j, :] * np.sqrt(d / n))",
        T_REPR, "regular representation's Fourier basis: rows of ψ(h) instead of columns",
    ),
    Mutant(
        "G12", G + "constructions.py",
        "r3 = (r[:, None] + (1 - 2 * f[:, None]) * r[None, :]) % N",
        "r3 = (r[:, None] + (1 - 2 * f[None, :]) * r[None, :]) % N",
        T_REPR, "Cayley table of D_N: sign taken from the flip of b instead of a",
    ),
    Mutant(
        "G13", G + "constructions.py",
        "order = sorted(range(len(names)), key=lambda j: (flip[j], keys[j]))",
        "order = sorted(range(len(names)), key=lambda j: (keys[j], flip[j]))",
        T_REPR, "restriction: 1-d blocks ordered by coordinate first (not e2cnn's order)",
    ),
    Mutant(
        "G14", G + "constructions.py",
        "X = X / np.sqrt(np.trace(X.T @ X) / d)", "X = X / np.sqrt(np.trace(X.T @ X))",
        T_REPR, "decomposition: intertwiners normalised to Frobenius norm 1 instead of orthonormal columns",
    ),
    # ------------------------------------------------------------------ batch norms
    Mutant(
        "BN1", BN,
        "var = big.double().square() * t.double() / self._field_size * bessel",
        "var = big.double().square() * t.double() / self._field_size",
        T_BN, "NormBatchNorm: Bessel's correction n/(n-1) dropped",
    ),
    Mutant(
        "BN2", BN,
        "t = t / dims_f * _bessel(count)", "t = t / dims_f",
        T_BN, "GNormBatchNorm: Bessel's correction n/(n-1) dropped",
    ),
    Mutant(
        "BN3", BN,
        "return dims, x.shape[0] * math.prod(x.shape[2:])", "return dims, math.prod(x.shape[2:])",
        T_BN, "sample count N of Bessel's factor without the batch size (pixels only)",
    ),
    Mutant(
        "BN4", BN,
        "new = buffer.double() * (1.0 - factor) + factor * value.double()",
        "new = buffer.double() * factor + (1.0 - factor) * value.double()",
        T_BN, "running statistics: momentum used as the weight of the old value (Keras convention)",
    ),
    Mutant(
        "BN5", BN,
        "return 1.0 / float(self.num_batches_tracked.item())",
        "return 1.0 / (float(self.num_batches_tracked.item()) + 1.0)",
        T_BN, "momentum=None: cumulative average off by one batch",
    ),
    Mutant(
        "BN6", BN,
        "out = F.batch_norm(chunk, mean, var, weight, bias, True, factor, self.eps)",
        "out = F.batch_norm(chunk, mean, var, weight, bias, True, 1.0 - factor, self.eps)",
        T_BN, "InnerBatchNorm: momentum 1 - m given to torch",
    ),
    Mutant(
        "BN7", BN,
        "big, t = _block_moments(centered, boc, self._n_blocks, dims)",
        "big, t = _block_moments(z, boc, self._n_blocks, dims)",
        T_BN, "GNormBatchNorm: variance of the trivial components taken about 0, not about their mean",
    ),
    Mutant(
        "BN8", BN,
        "view(shape)\n            scale = torch.rsqrt(self.running_var.to(cdtype) + self.eps)",
        "view(shape)\n            scale = 1.0 / (torch.sqrt(self.running_var.to(cdtype)) + self.eps)",
        T_BN, "GNormBatchNorm eval: eps added to the standard deviation instead of the variance",
    ),
    Mutant(
        "BN9", BN,
        "_store_running(self.running_var, factor, big.double().square() * t.detach().double())",
        "_store_running(self.running_var, factor, t.detach().double())",
        T_BN, "GNormBatchNorm: running variance stored without the block scale S_b²",
    ),
    # ------------------------------------------------------------------ constraints/
    Mutant(
        "C1", C + "norm.py",
        "lambda n: n.clamp(0.0, self.max_value),", "lambda n: n.clamp(self.max_value),",
        T_CONS, "MaxNorm: clamp(min=max_value) instead of clamp(0, max_value)",
    ),
    Mutant(
        "C2", C + "norm.py",
        "lambda n: rate * n.clamp(lo, hi) + (1.0 - rate) * n,",
        "lambda n: (1.0 - rate) * n.clamp(lo, hi) + rate * n,",
        T_CONS, "MinMaxNorm: rate and 1 - rate swapped",
    ),
    Mutant(
        "C3", C + "norm.py",
        "dims = tuple(range(1, ndim))", "dims = tuple(range(2, ndim))",
        T_CONS, "Keras norms, axis=None: norm per kernel slice instead of per output unit",
    ),
    Mutant(
        "C4", C + "norm.py",
        "g = torch.where(s >= 1.0, 1.0 / (r + eps / s_hi), s_lo / (s_lo * r + eps))",
        "g = torch.where(s >= 1.0, 1.0 / (r + eps), s_lo / (s_lo * r + eps))",
        T_CONS, "Keras norms: eps not divided by the slice scale when the largest entry is >= 1",
    ),
    Mutant(
        "C5", C + "structural.py",
        "return tuple(range(2, ndim)) if ndim >= 3 else (ndim - 1,)",
        "return tuple(range(1, ndim)) if ndim >= 3 else (ndim - 1,)",
        T_CONS, "structural constraints: slice also spans the input channels",
    ),
    Mutant(
        "C6", C + "structural.py",
        "return (u / torch.where(total >= 0, total + e, total - e)).to(weight.dtype)",
        "return (u / (total + e)).to(weight.dtype)",
        T_CONS, "SumToOne: eps always added (a slice summing to -eps divides by 0)",
    ),
    Mutant(
        "C7", C + "structural.py",
        "return (pos / (pos.sum(dims, keepdim=True) + e)).to(weight.dtype)",
        "return (pos / (u.sum(dims, keepdim=True) + e)).to(weight.dtype)",
        T_CONS, "NonNegSumToOne: divided by the sum of the unclipped taps",
    ),
    Mutant(
        "C8", C + "structural.py",
        "return (u * torch.minimum(s, self.max_l2 * q)).to(weight.dtype)",
        "return (u * torch.maximum(s, self.max_l2 * q)).to(weight.dtype)",
        T_CONS, "MaxL2: min(1, c/n) -> max(1, c/n)",
    ),
    Mutant(
        "C9", C + "structural.py",
        "return ((w + (self.neighbor_sum - s) / (k - 1)) * off + center).to(weight.dtype)",
        "return ((w + (self.neighbor_sum - s) / k) * off + center).to(weight.dtype)",
        T_CONS, "FixedCenter.right_inverse: shift divided by K instead of K - 1",
    ),
    Mutant(
        "C10", C + "structural.py",
        "center[tuple(s // 2 for s in shape)] = 1.0", "center[tuple((s - 1) // 2 for s in shape)] = 1.0",
        T_CONS, "FixedCenter: centre index (s - 1) // 2",
        equivalent="check() admits odd slice sizes only, where s // 2 == (s - 1) // 2; the other dims have "
        "size 1",
    ),
    Mutant(
        "C11", C + "structural.py",
        '"""Return :math:`|W|`."""\n        return weight.abs()',
        '"""Return :math:`|W|`."""\n        return weight.clamp_min(0.0)',
        T_CONS, "NonNeg.right_inverse: max(W, 0) instead of |W| (negative taps start dead)",
    ),
    Mutant(
        "C12", C + "standardization.py",
        "var0, mean0 = torch.var_mean(v0, red, correction=0, keepdim=True)\n    scale0 = torch.rsqrt(var0 + ",
        "var0, mean0 = torch.var_mean(v0, red, correction=1, keepdim=True)\n    scale0 = torch.rsqrt(var0 + ",
        T_WS, "weight_standardize: unbiased variance instead of the biased one",
    ),
    Mutant(
        "C13", C + "standardization.py",
        "scale0 = torch.rsqrt(var0 + eps)", "scale0 = 1.0 / (torch.sqrt(var0) + eps)",
        T_WS, "weight_standardize: eps added to the standard deviation instead of the variance",
    ),
    Mutant(
        "C14", C + "standardization.py",
        "return view, [1, *range(3, view.dim())]", "return view, [1, *range(2, view.dim())]",
        T_WS, "transposed grouped layout: reduction also over the output channels",
    ),
    Mutant(
        "C15", C + "standardization.py",
        "return (weight.shape[0] // groups) * math.prod(weight.shape[2:])",
        "return weight.shape[0] * math.prod(weight.shape[2:])",
        T_WS, "scaled WS, transposed grouped weight: fan-in not divided by groups",
    ),
)


# ---------------------------------------------------------------------------------------------- copy
def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def make_copy(copy: Path, rev: str | None) -> None:
    """Fill ``copy`` (emptied first) with the files of ``rev`` or, for ``rev=None``, the working tree."""
    copy = copy.resolve()
    if copy == REPO or REPO in copy.parents or copy in REPO.parents:
        raise SystemExit(f"refusing to use {copy} as the private copy: it overlaps the repository {REPO}")
    if copy.exists():
        if any(copy.iterdir()) and not (copy / MARKER).exists():
            raise SystemExit(f"refusing to empty {copy}: not empty and not made by this script ({MARKER})")
        shutil.rmtree(copy)
    copy.mkdir(parents=True)
    (copy / MARKER).write_text("private copy made by tools/mutants.py; deleted and rebuilt on every run\n")
    if rev is not None:
        archive = subprocess.Popen(["git", "-C", str(REPO), "archive", rev], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(copy)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {rev} failed")
        return
    listing = _run(["git", "-C", str(REPO), "ls-files", "-z", "-c", "-o", "--exclude-standard"], check=True)
    for name in filter(None, listing.stdout.split("\0")):
        src = REPO / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)


def copy_env(copy: Path) -> dict[str, str]:
    """The environment of every command run in the copy."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(copy / "src"),
    )
    return env


def check_import(copy: Path, env: dict[str, str]) -> str:
    """Return the path of the imported ``structconv`` and fail unless it is the copy's."""
    out = _run([sys.executable, "-c", "import structconv; print(structconv.__file__)"], cwd=copy, env=env)
    path = out.stdout.strip()
    if out.returncode != 0 or not Path(path).resolve().is_relative_to(copy.resolve() / "src"):
        raise SystemExit(f"the copy's structconv is not what gets imported: {path or out.stderr[-2000:]}")
    return path


# ---------------------------------------------------------------------------------------------- pytest
_FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


def pytest_cmd(files: list[str], deselect: list[str], stop_first: bool = True) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:xdist"]
    if stop_first:
        cmd.append("-x")
    for node in deselect:
        cmd += ["--deselect", node]
    return cmd + files


def baseline(copy: Path, env: dict[str, str], files: list[str], timeout: float) -> list[str]:
    """Node ids of the tests that already fail on the unmutated copy (to deselect in every mutant run)."""
    t0 = time.time()
    proc = _run(pytest_cmd(files, [], stop_first=False), cwd=copy, env=env, timeout=timeout)
    failing = [m.group(2) for m in _FAILED.finditer(proc.stdout)]
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    print(f"baseline ({time.time() - t0:.0f} s): {tail[0]}", flush=True)
    if proc.returncode not in (0, 1) or any("::" not in n for n in failing):
        msg = f"the unmutated copy cannot run its tests (rc {proc.returncode}):\n{proc.stdout[-3000:]}"
        raise SystemExit(msg)
    for node in failing:
        print(f"  already failing, deselected: {node}", flush=True)
    return failing


def run_mutant(
    m: Mutant, copy: Path, env: dict[str, str], deselect: list[str], timeout: float
) -> dict[str, object]:
    """Apply ``m`` to the copy, run its tests, restore the file; return the result record."""
    rec: dict[str, object] = {"id": m.id, "path": m.path, "what": m.what, "equivalent": m.equivalent}
    target = copy / m.path
    original = target.read_text()
    count = original.count(m.old)
    files = [f for f in m.tests if (copy / f).is_file()]
    rec["tests"] = files
    if count != 1:
        rec.update(result="not-applied", detail=f"old text found {count} times", seconds=0.0)
        return rec
    if not files:
        rec.update(result="error", detail="none of its test files exists in the copy", seconds=0.0)
        return rec
    mine = [n for n in deselect if n.split("::")[0] in files]
    t0 = time.time()
    try:
        target.write_text(original.replace(m.old, m.new))
        proc = _run(pytest_cmd(files, mine), cwd=copy, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        rec.update(result="timeout", detail=f"> {timeout:.0f} s")
    else:
        killer = _FAILED.search(proc.stdout)
        if proc.returncode == 0:
            rec.update(result="survived", detail="")
        elif proc.returncode in (1, 2):  # 2: the mutated code broke collection (import error)
            rec.update(result="killed", detail=killer.group(2) if killer else f"rc {proc.returncode}")
        else:
            rec.update(result="error", detail=f"pytest rc {proc.returncode}: {proc.stdout[-300:]}")
    finally:
        target.write_text(original)
    rec["seconds"] = round(time.time() - t0, 1)
    return rec


def report(records: list[dict[str, object]]) -> str:
    """The results table and the score."""
    lines = [f"{'id':5} {'result':11} {'s':>5}  {'file':38} what / killed by"]
    for r in records:
        path = str(r["path"]).removeprefix("src/structconv/")
        lines.append(f"{r['id']:5} {r['result']:11} {r.get('seconds', 0):5.0f}  {path:38} {r['what']}")
        if r.get("detail"):
            lines.append(f"{'':25}-> {r['detail']}")
        if r.get("equivalent"):
            lines.append(f"{'':25}equivalent: {r['equivalent']}")
    counts = {k: sum(r["result"] == k for r in records) for k in ("killed", "survived", "timeout", "error")}
    not_applied = sum(r["result"] == "not-applied" for r in records)
    applied = len(records) - not_applied
    equiv = [r for r in records if r.get("equivalent") and r["result"] != "not-applied"]
    equiv_killed = sum(r["result"] == "killed" for r in equiv)
    lines.append(
        f"killed {counts['killed']}, survived {counts['survived']}, timeout {counts['timeout']}, "
        f"error {counts['error']}, not applied {not_applied}"
    )
    if applied:
        k = counts["killed"]
        lines.append(f"score: killed / applied = {k}/{applied} = {k / applied:.1%}")
        rest = applied - len(equiv)
        if equiv and rest:
            k = counts["killed"] - equiv_killed
            lines.append(f"score without the {len(equiv)} equivalent mutants: {k}/{rest} = {k / rest:.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy", type=Path, default=Path("/tmp/mut-src"), help="private copy (rebuilt)")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--rev", default="HEAD", help="git revision to copy (default HEAD)")
    src.add_argument("--worktree", action="store_true", help="copy the working tree as it is instead")
    parser.add_argument(
        "--overlay", nargs="+", default=[], metavar="FILE",
        help="repository files to copy from the working tree over the exported revision (e.g. a new test)",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutants")
    parser.add_argument(
        "--tests", nargs="+", metavar="FILE", help="run these test files for every mutant instead of its own"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant (default 120)")
    parser.add_argument("--check", action="store_true", help="only check that the mutants apply")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--allow-missing-oracles", action="store_true", help="let oracle tests skip")
    args = parser.parse_args(argv)

    mutants = list(MUTANTS)
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            parser.error(f"unknown mutant ids: {unknown}")
        mutants = [m for m in mutants if m.id in args.only]
    if args.tests:
        mutants = [m._replace(tests=tuple(args.tests)) for m in mutants]
    if args.list:
        for m in mutants:
            print(f"{m.id:5} {m.path}: {m.what}\n      {m.old!r}\n   -> {m.new!r}")
            print(f"      tests: {' '.join(m.tests)}")
            if m.equivalent:
                print(f"      equivalent: {m.equivalent}")
        return 0
    make_copy(args.copy, None if args.worktree else args.rev)
    copy = args.copy.resolve()
    for name in args.overlay:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    if args.check:
        bad = [m.id for m in mutants if (copy / m.path).read_text().count(m.old) != 1]
        print(f"{len(mutants) - len(bad)}/{len(mutants)} mutants apply" + (f"; not: {bad}" if bad else ""))
        return 1 if bad else 0
    env = copy_env(copy)
    if not args.allow_missing_oracles:
        env["STRUCTCONV_REQUIRE_ORACLES"] = "1"
    what = "the working tree" if args.worktree else args.rev
    print(f"copy of {what} in {copy}; imports {check_import(copy, env)}", flush=True)
    files = sorted({f for m in mutants for f in m.tests if (copy / f).is_file()})
    deselect = baseline(copy, env, files, timeout=max(600.0, 10 * args.timeout))
    records = []
    for m in mutants:
        rec = run_mutant(m, copy, env, deselect, args.timeout)
        records.append(rec)
        print(f"{m.id:5} {rec['result']:11} {rec['seconds']:5.0f} s  {rec.get('detail', '')}", flush=True)
    text = report(records)
    print(text)
    if args.json:
        result = {"records": records, "deselected": deselect, "report": text}
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
