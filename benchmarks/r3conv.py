"""Benchmark of R3Conv against escnn 1.0.11 (issue 19's table): construction, memory, train and eval ratios.

Each row of issue 19's table runs, for structconv and for escnn (through escnn's own interpreter, default
``../.escnn-venv/bin/python`` beside the checkout), in **fresh processes**:

* ``cold s``: the first construction of the layer in the process (after the imports and the field types);
  escnn's on-disk cache is wiped first unless ``--keep-escnn-cache`` (escnn reads what it cached on disk);
* ``warm s``: a second construction of the same layer in the same process; ``Conv3d s``: the construction
  of a ``torch.nn.Conv3d`` of the same shape (channels, kernel, bias) in the same process, after the layer;
* ``peak MiB``: the peak resident memory during the cold construction (``VmHWM``, reset just before it
  through ``/proc/self/clear_refs``; where that cannot be written, the process's ``ru_maxrss``), and in
  brackets what the construction added to the resident memory it started from; ``data``: a rough estimate
  of the memory the construction allocated: that growth less the growth of the file-backed resident pages
  (shared-library code and read-only data its first calls faulted in, which stay resident);
* ``train x``: forward + backward of the layer over that of ``torch.nn.Conv3d`` of the same shape (batch
  ``--batch``, ``--size``³ voxels, "same" padding, a fixed cotangent), median of paired ratios, back to back
  in alternating order; ``q1-q3`` the quartiles of those paired ratios (their spread is the machine's
  noise: the median's own uncertainty is about a third of it at 30 repeats); the JSON also has
  ``train_min``, the fastest layer time over the fastest ``Conv3d`` time;
* ``exp f+b ms``: what the layer adds: the filter expansion and its backward, median of ``--repeats``
  (at least 10);
* ``eval x``: the eval forward over ``Conv3d``'s (structconv expands the filter from the current weights at
  every forward, escnn convolves with the filter it cached at ``eval()``); ``cached x``: structconv's eval
  forward inside :func:`torch.nn.utils.parametrize.cached` (one expansion per context).

The whole-network row builds the architecture of escnn's SE(3) example network (14 R3Conv, FourierELU on
'thomson_cube' grids, QuotientFourierELU pooling, about 229k parameters; see ``network``) in a fresh process,
cold and then again (warm). Not a test: numbers depend on the machine and its load.

Usage::

    python benchmarks/r3conv.py                       # every row, both libraries
    python benchmarks/r3conv.py --rows so3,octa --no-reference --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ESCNN = ROOT.parent / ".escnn-venv" / "bin" / "python"

#: key -> (label, gspace factory, field spec, multiplicity, kernel size)
ROWS = {
    "so3": ("SO(3), [irrep 0, 1, 2] x 4", "rot3dOnR3", "irreps012", 4, 5),
    "so3bl": ("SO(3), bl_regular(L=2) x 4", "rot3dOnR3", "blreg2", 4, 5),
    "o3": ("O(3), 6 irreps l<=2 x 2", "flipRot3dOnR3", "o3irreps", 2, 5),
    "octa": ("octahedral, regular x 2", "octaOnR3", "regular", 2, 3),
    "ico": ("icosahedral, regular x 1", "icoOnR3", "regular", 1, 3),
}

_CHILD = r'''
import json, resource, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
lib, factory, spec, mult, k, batch, size, repeats, net = sys.argv[1:10]
mult, k, batch, size, repeats, net = int(mult), int(k), int(batch), int(size), int(repeats), net == "1"
torch.set_num_threads(int(sys.argv[10]))
torch.zeros(8).add_(1)
if lib == "structconv":
    from structconv import gspaces, nn
else:
    from escnn import gspaces, nn

def rss_mib(field="VmRSS"):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def reset_peak():
    """Reset the kernel's peak resident set (VmHWM) to the current one, so that the next peak is the
    construction's own; False where /proc/self/clear_refs cannot be written (then ru_maxrss, the process's
    peak so far, is used)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False

def peak_mib(reset):
    return rss_mib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def data_mib(base, file_base, peak):
    """An estimate of the memory the construction allocated: its peak resident growth less the growth of the
    file-backed resident pages (shared-library code and read-only data its first calls faulted in, which stay
    resident). It still counts other anonymous memory (allocator retention, lazily imported modules' objects)
    and subtracts file pages faulted in after the peak, so it is a rough figure."""
    return peak - base - (rss_mib("RssFile") - file_base)

def field_type(gs, spec, mult):
    G = gs.fibergroup
    if spec == "irreps012":
        reps = [gs.irrep(0), gs.irrep(1), gs.irrep(2)]
    elif spec == "blreg2":
        reps = [G.bl_regular_representation(2)]
    elif spec == "o3irreps":
        reps = [gs.irrep(j, l) for j in range(2) for l in range(3)]
    else:
        reps = [G.regular_representation]
    return nn.FieldType(gs, reps * mult)

def network(gs):
    """The architecture of escnn's SE(3) example network (``examples/se3_3Dcnn.py`` in escnn's repository,
    its defaults ``res_features='2_96'``, ``pool='snub_cube'``): a k=5 lifting R3Conv to 3 polynomial fields
    of degree 2, four residual blocks (R3Conv k=3, IIDBatchNorm3d, FourierELU on a 96-point 'thomson_cube'
    grid of SO(3) with band limit 2, strided R3Conv k=3; antialiased average pooling and a k=1 R3Conv on the
    skip path) to polynomial fields of degree 3, a final R3Conv k=3 to 128 band-limited sphere fields,
    QuotientFourierELU on the 24-point 'thomson_cube' sphere grid, and a 3-layer MLP head: 14 R3Conv,
    about 229k parameters. Rewritten from the architecture's description; the same calls in both libraries."""
    if lib == "structconv":
        from structconv.group import directsum
    else:
        from escnn.group import directsum
    G = gs.fibergroup

    def polynomial(K):
        parts = [gs.trivial_repr, G.irrep(1)]
        for _ in range(2, K + 1):
            parts.append(parts[-1].tensor(G.irrep(1)))
        return directsum(parts, name=f"polynomial_{K}")

    def block(t_in, width, t_out):
        grid = {"type": "thomson_cube", "N": 4}
        act = nn.FourierELU(gs, int(round(width / len(G.grid(**grid)))), irreps=G.bl_irreps(2), inplace=True, **grid)
        body = nn.SequentialModule(
            nn.R3Conv(t_in, act.in_type, kernel_size=3, padding=1, bias=False, initialize=False),
            nn.IIDBatchNorm3d(act.in_type, affine=True),
            act,
            nn.R3Conv(act.in_type, t_out, kernel_size=3, padding=1, stride=2, bias=False, initialize=False),
        )
        return [body, nn.PointwiseAvgPoolAntialiased3D(t_in, 0.33, 2, 1), nn.R3Conv(t_in, t_out, 1, bias=False)]

    spec = [(2, 3, 200), (3, 2, 480), (3, 6, 480), (3, 12, 960), (3, 8, None)]
    types = [(nn.FieldType(gs, [polynomial(K)] * m), w) for K, m, w in spec]
    layers = [nn.R3Conv(nn.FieldType(gs, [gs.trivial_repr]), types[0][0], 5, padding=2, bias=False, initialize=False)]
    for (t_in, width), (t_out, _) in zip(types[:-1], types[1:]):
        layers += block(t_in, width, t_out)
    pool = nn.QuotientFourierELU(
        gs, (False, -1), 128, irreps=G.bl_irreps(2), out_irreps=G.bl_irreps(0),
        grid=G.sphere_grid(type="thomson_cube", N=1),
    )
    layers += [nn.R3Conv(types[-1][0], pool.in_type, 3, padding=0, bias=False, initialize=False), pool]
    C, H = pool.out_type.size, 256
    layers.append(torch.nn.Sequential(
        torch.nn.Linear(C, H, bias=False), torch.nn.BatchNorm1d(H), torch.nn.ELU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(H, H // 2, bias=False), torch.nn.BatchNorm1d(H // 2), torch.nn.ELU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(H // 2, 10),
    ))
    return layers

gs = getattr(gspaces, factory)()
if net:
    reset = reset_peak()
    base, file_base = rss_mib(), rss_mib("RssFile")
    t0 = time.perf_counter()
    layers = network(gs)
    cold = time.perf_counter() - t0
    n = sum(p.numel() for l in layers for p in l.parameters())
    convs = sum(type(m).__name__ == "R3Conv" for l in layers for m in l.modules())
    peak = peak_mib(reset)
    data = data_mib(base, file_base, peak)
    t0 = time.perf_counter()
    network(gs)
    warm = time.perf_counter() - t0
    print(json.dumps({"cold": cold, "warm": warm, "params": n, "layers": convs, "peak": peak, "added": peak - base,
                      "data": data}))
    sys.exit()
t = field_type(gs, spec, mult)
reset = reset_peak()
base, file_base = rss_mib(), rss_mib("RssFile")
t0 = time.perf_counter()
layer = nn.R3Conv(t, t, k, padding=k // 2)
cold = time.perf_counter() - t0
peak = peak_mib(reset)
data = data_mib(base, file_base, peak)
t0 = time.perf_counter()
nn.R3Conv(t, t, k, padding=k // 2)
warm = time.perf_counter() - t0
t0 = time.perf_counter()
plain = torch.nn.Conv3d(t.size, t.size, k, padding=k // 2)
conv_build = time.perf_counter() - t0
out = {"cold": cold, "warm": warm, "peak": peak, "added": peak - base, "data": data,
       "weights": int(layer.weights.numel()), "channels": t.size, "conv_build": conv_build}
if repeats > 0:
    x = torch.randn(batch, t.size, size, size, size)
    gx = nn.GeometricTensor(x, t)
    cot = torch.randn(batch, t.size, size, size, size)
    def timed(fn):
        s = time.perf_counter(); fn(); return time.perf_counter() - s
    def paired(a, b, n):
        r, ta, tb = [], [], []
        for i in range(n):
            if i % 2:
                x1, x2 = timed(a), timed(b)
            else:
                x2, x1 = timed(b), timed(a)
            r.append(x1 / x2); ta.append(x1); tb.append(x2)
        q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
        return statistics.median(r), min(ta) / min(tb), statistics.median(tb), (q[0], q[2])
    step_layer = lambda: layer(gx).tensor.backward(cot)
    step_plain = lambda: plain(x).backward(cot)
    step_layer(); step_plain()
    out["train"], out["train_min"], out["conv_ms"], out["train_iqr"] = paired(step_layer, step_plain, repeats)
    out["conv_ms"] *= 1e3
    if lib == "structconv":
        fc = torch.randn_like(layer.expand_parameters()[0])
        def efb():
            f, _ = layer.expand_parameters(); torch.autograd.grad(f, layer.weights, fc)
    else:
        fc = None
        def efb():
            f, b = layer.expand_parameters(); torch.autograd.grad(f, layer.weights, torch.ones_like(f))
    efb()
    out["expand_fb_ms"] = statistics.median(timed(efb) for _ in range(max(10, repeats))) * 1e3
    layer.eval(); plain.eval()
    with torch.no_grad():
        layer(gx); plain(x)
        out["eval"], out["eval_min"], _, out["eval_iqr"] = paired(lambda: layer(gx), lambda: plain(x), repeats)
        if lib == "structconv":
            from torch.nn.utils import parametrize
            with parametrize.cached():
                layer(gx)
                out["cached"], _, _, _ = paired(lambda: layer(gx), lambda: plain(x), repeats)
print(json.dumps(out))
'''


def run_child(python: str, lib: str, args: argparse.Namespace, row: tuple, net: bool = False) -> dict:
    _, factory, spec, mult, k = row
    cmd = [
        python,
        "-c",
        _CHILD,
        lib,
        factory,
        spec,
        str(mult),
        str(k),
        str(args.batch),
        str(args.size),
        str(0 if net else args.repeats),
        "1" if net else "0",
        str(args.threads),
    ]
    env = dict(os.environ)
    if lib == "structconv":
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wipe_escnn_cache(python: str) -> None:
    """Delete escnn's on-disk caches (its ``group/_cache`` and ``kernels/_cache`` folders), so that the next
    escnn process builds cold."""
    code = "import os, escnn; print(os.path.dirname(escnn.__file__))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return
    for sub in Path(out.stdout.strip().splitlines()[-1]).rglob("_cache"):
        if sub.is_dir():
            shutil.rmtree(sub, ignore_errors=True)


def _fmt(res: dict, key: str, spec: str = "7.3f") -> str:
    value = res.get(key)
    return format(value, spec) if isinstance(value, (int, float)) else format("-", ">" + spec.split(".")[0])


def _iqr(res: dict, key: str) -> str:
    value = res.get(key)
    return f"{value[0]:5.3f}-{value[1]:5.3f}" if isinstance(value, (list, tuple)) else f"{'-':>11s}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ",".join(ROWS))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument(
        "--repeats", type=int, default=9, help="paired timings per ratio (0: construction only)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads in every child (default 1)")
    parser.add_argument("--escnn", default=str(DEFAULT_ESCNN), help="escnn's interpreter")
    parser.add_argument("--no-reference", action="store_true", help="skip escnn")
    parser.add_argument("--no-network", action="store_true", help="skip the whole-network row")
    parser.add_argument(
        "--keep-escnn-cache", action="store_true", help="do not wipe escnn's disk cache first"
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    libs = [("structconv", sys.executable)]
    if not args.no_reference:
        if Path(args.escnn).exists():
            libs.append(("escnn", args.escnn))
        else:
            print(
                f"escnn rows left out: no interpreter at {args.escnn} (tools: ../shared/tools/install-escnn.sh)"
            )
    header = (
        f"{'layer':30s} {'library':10s} {'weights':>7s} {'cold s':>8s} {'warm s':>8s} {'Conv3d s':>8s} {'peak MiB':>9s} "
        f"{'(added)':>8s} {'data':>6s} {'train x':>7s} {'q1-q3':>11s} {'exp f+b ms':>10s} {'eval x':>7s} {'cached x':>8s} "
        f"{'conv3d f+b ms':>13s}"
    )
    print(f"batch {args.batch}, {args.size}^3 voxels, {args.threads} torch thread(s) per process")
    print(header)
    print("-" * len(header))
    results = []
    for key in args.rows.split(","):
        row = ROWS[key]
        for lib, python in libs:
            if lib == "escnn" and not args.keep_escnn_cache:
                wipe_escnn_cache(python)
            res = run_child(python, lib, args, row)
            results.append({"row": key, "label": row[0], "library": lib, **res})
            if "error" in res:
                print(f"{row[0]:30s} {lib:10s} error: {res['error']}", flush=True)
                continue
            print(
                f"{row[0]:30s} {lib:10s} {res['weights']:7d} {res['cold']:8.3f} {res['warm']:8.3f} "
                f"{_fmt(res, 'conv_build', '8.4f')} "
                f"{res['peak']:9.0f} {res['added']:8.0f} {_fmt(res, 'data', '6.1f')} {_fmt(res, 'train')} "
                f"{_iqr(res, 'train_iqr')} "
                f"{_fmt(res, 'expand_fb_ms', '10.2f')} {_fmt(res, 'eval')} {_fmt(res, 'cached', '8.3f')} "
                f"{_fmt(res, 'conv_ms', '13.1f')}",
                flush=True,
            )
    if not args.no_network:
        for lib, python in libs:
            if lib == "escnn" and not args.keep_escnn_cache:
                wipe_escnn_cache(python)
            res = run_child(python, lib, args, ("network", "rot3dOnR3", "", 0, 0), net=True)
            results.append({"row": "network", "library": lib, **res})
            if "error" in res:
                print(f"{'network (14 R3Conv)':30s} {lib:10s} error: {res['error']}", flush=True)
                continue
            print(
                f"{'SE(3) example net (' + str(res['layers']) + ' R3Conv, ' + str(res['params'] // 1000) + 'k)':30s} "
                f"{lib:10s} {'':7s} {res['cold']:8.3f} {res['warm']:8.3f} {'':8s} {res['peak']:9.0f} "
                f"{res['added']:8.0f} "
                f"{_fmt(res, 'data', '6.1f')}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
