"""The e2cnn -> structconv checkpoint migration table (issue 16).

For every kind of e2cnn module with a state, and for the real clients (the README's C8 model and the
equivariant Wide ResNet of ``tests/test_wrn.py``, unrestricted and restricted D8 -> D4 -> D1 and
C8 -> C4 -> C1), the model is built with e2cnn, given a non-trivial state (random parameters, then a few
training forwards, or SGD steps for the clients), saved, loaded into the structconv build of the same code
with :func:`structconv.compat.e2cnn.load_e2cnn_state_dict`, and both eval outputs are compared on the same
input: the largest absolute difference and the largest difference relative to the largest output, in
float32 and in float64. Then the size of a migrated restricted-WRN checkpoint and its conversion and load
time.

In float64 e2cnn runs its own code with two adjustments that make it a float64 oracle: an empty basis
cache before each build (e2cnn reuses bases sampled by earlier layers, in their dtype), and, for the modules
that allocate their output as ``torch.empty(..., dtype=torch.float)`` (gated non-linearities,
``MergeModule``, ``GroupPooling``, ``NormPool``, ``InducedNormPool``), ``torch.float`` read as float64.
GNormBatchNorm's float32 change-of-basis buffers are replaced by the exact matrices of e2cnn's own
representations.

Usage::

    python tools/migration_table.py                 # the table, WRN-10-1
    python tools/migration_table.py --depth 16 --widen 8   # the WRN size for the checkpoint figures
    python tools/migration_table.py --json out.json

Prints a note and exits 0 when e2cnn is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _float64_oracle(dtype: torch.dtype) -> Iterator[None]:
    """Default dtype ``dtype``, an empty e2cnn basis cache, and (float64) e2cnn's float32-only output
    buffers read as float64 (see the module docstring)."""
    from unittest import mock

    from e2cnn.nn.modules import invariantmaps, merge_module, nonlinearities
    from e2cnn.nn.modules.r2_conv import basisexpansion_singleblock as single

    class Float64Torch:
        def __getattr__(self, name: str) -> Any:
            return torch.float64 if name == "float" else getattr(torch, name)

    old = torch.get_default_dtype()
    saved = dict(single._stored_filters)
    single._stored_filters.clear()
    torch.set_default_dtype(dtype)
    try:
        with contextlib.ExitStack() as stack:
            if dtype == torch.float64:
                for module in (
                    merge_module,
                    nonlinearities.gated1,
                    nonlinearities.gated2,
                    nonlinearities.induced_gated1,
                    invariantmaps.gpool,
                    invariantmaps.norm,
                    invariantmaps.induced_norm,
                ):
                    stack.enter_context(mock.patch.object(module, "torch", Float64Torch()))
            yield
    finally:
        torch.set_default_dtype(old)
        single._stored_filters.clear()
        single._stored_filters.update(saved)


def _exact_gnorm(model: torch.nn.Module) -> None:
    import e2cnn.nn as en

    for m in model.modules():
        if isinstance(m, en.GNormBatchNorm):
            for r in m.in_type._unique_representations:
                if hasattr(m, f"{r.name}_change_of_basis"):
                    setattr(m, f"{r.name}_change_of_basis", torch.tensor(r.change_of_basis))
                    setattr(m, f"{r.name}_change_of_basis_inv", torch.tensor(r.change_of_basis_inv))


# ----------------------------------------------------------------------------- the modules


def _irr(g: Any, k: int) -> Any:
    return g.irrep(1, k) if "Flip" in type(g).__name__ else g.irrep(k)


def _induced(g: Any, k: int) -> Any:
    sub_id = (None, 4) if "Flip" in type(g).__name__ else 4
    sub = g.restrict(sub_id)[0]
    return g.induced_repr(sub_id, sub.irrep(k) if k else sub.trivial_repr)


Builder = Callable[[Any, Any], tuple[torch.nn.Module, list[Any]]]


def _modules() -> dict[str, Builder]:
    """name -> builder(gspaces, nn) returning (module, input field types); written once for both libraries."""

    def d4(gs: Any) -> Any:
        return gs.FlipRot2dOnR2(4)

    def conv(cls: str) -> Builder:
        def build(gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
            g = d4(gs)
            t_in = nn.FieldType(g, [g.trivial_repr, g.regular_repr, _irr(g, 1), g.trivial_repr])
            t_out = nn.FieldType(g, [_irr(g, 2), g.regular_repr, g.trivial_repr])
            kwargs = {"stride": 2} if cls == "R2ConvTransposed" else {"padding": 1}
            return getattr(nn, cls)(t_in, t_out, 3, recompute=True, **kwargs), [t_in]

        return build

    def single(make: Callable[[Any, Any, Any], tuple[torch.nn.Module, list[Any]]]) -> Builder:
        return lambda gs, nn: make(d4(gs), gs, nn)

    def restricted(gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
        g = gs.FlipRot2dOnR2(8)
        t = nn.FieldType(g, [g.regular_repr, g.trivial_repr])
        res = nn.RestrictionModule(t, (0, 4))
        dis = nn.DisentangleModule(res.out_type)
        h, sub = dis.out_type, dis.out_type.gspace
        out = nn.FieldType(sub, [sub.regular_repr] * 2)
        layers = [res, dis, nn.GNormBatchNorm(h), nn.R2Conv(h, out, 3, padding=1, recompute=True)]
        return nn.SequentialModule(*layers, nn.InnerBatchNorm(out)), [t]

    def multiple(g: Any, gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
        t = nn.FieldType(g, [g.trivial_repr, _irr(g, 1), g.regular_repr, _irr(g, 1), g.trivial_repr])
        ts, tv = nn.FieldType(g, [g.trivial_repr] * 2), nn.FieldType(g, [_irr(g, 1)] * 2)
        branches = [
            (
                nn.SequentialModule(nn.R2Conv(ts, ts, 3, padding=1, recompute=True), nn.GNormBatchNorm(ts)),
                "s",
            ),
            (nn.SequentialModule(nn.NormBatchNorm(tv), nn.NormNonLinearity(tv)), "v"),
            (nn.GNormBatchNorm(nn.FieldType(g, [g.regular_repr])), "r"),
        ]
        return nn.MultipleModule(t, ["s", "v", "r", "v", "s"], branches, reshuffle=1), [t]

    def gated1(g: Any, gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
        t = nn.FieldType(g, [g.regular_repr, g.trivial_repr, _irr(g, 1), g.trivial_repr])
        return nn.GatedNonLinearity1(t, gates=["gated", "gate", "gated", "gate"]), [t]

    def gated2(g: Any, gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
        gates = nn.FieldType(g, [g.trivial_repr] * 2)
        gated = nn.FieldType(g, [_irr(g, 1), g.regular_repr])
        return nn.GatedNonLinearity2((gates, gated)), [gates, gated]

    def induced(cls: str) -> Callable[[Any, Any, Any], tuple[torch.nn.Module, list[Any]]]:
        def make(g: Any, gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
            if cls == "InducedGatedNonLinearity1":
                t = nn.FieldType(g, [_induced(g, 0), _induced(g, 1)])
                return nn.InducedGatedNonLinearity1(t), [t]
            t = nn.FieldType(g, [_induced(g, 1), _induced(g, 2), _induced(g, 1)])
            return getattr(nn, cls)(t), [t]

        return make

    def norm(cls: str) -> Callable[[Any, Any, Any], tuple[torch.nn.Module, list[Any]]]:
        def make(g: Any, gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
            if cls == "InnerBatchNorm":
                t = nn.FieldType(g, [g.regular_repr, g.trivial_repr, g.regular_repr])
            elif cls == "GNormBatchNorm":
                t = nn.FieldType(g, [g.trivial_repr, g.regular_repr, _irr(g, 1), g.trivial_repr])
            else:
                t = nn.FieldType(g, [_irr(g, 1), _irr(g, 2), _irr(g, 1)])
            return getattr(nn, cls)(t), [t]

        return make

    table: dict[str, Builder] = {
        "R2Conv": conv("R2Conv"),
        "R2ConvTransposed": conv("R2ConvTransposed"),
        "R2Diffop (C8)": lambda gs, nn: _diffop(gs, nn),
    }
    for cls in ("InnerBatchNorm", "NormBatchNorm", "GNormBatchNorm", "NormNonLinearity"):
        table[cls] = single(norm(cls))
    for cls in ("InducedNormBatchNorm", "InducedNormNonLinearity", "InducedGatedNonLinearity1"):
        table[cls] = single(induced(cls))
    table["GatedNonLinearity1"] = single(gated1)
    table["GatedNonLinearity2"] = single(gated2)
    table["MultipleModule (+ Sequential)"] = single(multiple)
    table["Restriction + Disentangle"] = restricted
    return table


def _diffop(gs: Any, nn: Any) -> tuple[torch.nn.Module, list[Any]]:
    g = gs.Rot2dOnR2(8)
    t = nn.FieldType(g, [g.trivial_repr, g.regular_repr, g.irrep(1)])
    return nn.R2Diffop(t, t, 3, padding=1, recompute=True), [t]


def _compare_module(build: Builder, dtype: torch.dtype) -> tuple[float, float]:
    import e2cnn.gspaces as eg
    import e2cnn.nn as en

    import structconv.gspaces as sg
    import structconv.nn as sn
    from structconv.compat.e2cnn import load_e2cnn_state_dict

    with _float64_oracle(dtype):
        torch.manual_seed(0)
        theirs, t_e2 = build(eg, en)
        theirs = theirs.to(dtype)
        with torch.no_grad():
            for p in theirs.parameters():
                if p.requires_grad:
                    p.copy_(0.5 + torch.rand_like(p))
        if dtype == torch.float64:
            _exact_gnorm(theirs)
        gen = torch.Generator().manual_seed(1)

        def inputs(lib: Any, types_: list[Any]) -> list[Any]:
            return [lib.GeometricTensor(x, t) for x, t in zip(xs, types_)]

        theirs.train()
        with torch.no_grad():
            for _ in range(3):
                xs = [torch.randn(3, t.size, 9, 9, generator=gen, dtype=dtype) * 1.5 + 0.2 for t in t_e2]
                theirs(*inputs(en, t_e2))
        ours, t_sc = build(sg, sn)
        load_e2cnn_state_dict(ours.to(dtype), theirs.state_dict())
        theirs.eval()
        ours.eval()
        xs = [torch.randn(2, t.size, 9, 9, generator=gen, dtype=dtype) for t in t_e2]
        with torch.no_grad():
            y1, y2 = theirs(*inputs(en, t_e2)).tensor, ours(*inputs(sn, t_sc)).tensor
    return _errors(y1, y2)


def _errors(y1: torch.Tensor, y2: torch.Tensor) -> tuple[float, float]:
    diff = float((y1.double() - y2.double()).abs().max())
    return diff, diff / float(y1.abs().max())


# ----------------------------------------------------------------------------- the clients


def _wrn_lib(name: str) -> Any:
    sys.path.insert(0, str(REPO / "tests"))
    import test_wrn

    if name == "structconv":
        return test_wrn.make_wrn, test_wrn.STRUCTCONV
    import e2cnn.gspaces
    import e2cnn.nn
    import e2cnn.nn.init

    return test_wrn.make_wrn, types.SimpleNamespace(gspaces=e2cnn.gspaces, nn=e2cnn.nn, init=e2cnn.nn.init)


def _readme_model(gspaces: Any, nn: Any) -> tuple[torch.nn.Module, Any]:
    g = gspaces.Rot2dOnR2(8)
    t0 = nn.FieldType(g, [g.trivial_repr])
    t1 = nn.FieldType(g, 4 * [g.regular_repr])
    t2 = nn.FieldType(g, 8 * [g.regular_repr])
    net = nn.SequentialModule(
        nn.MaskModule(t0, 29, margin=1),
        nn.R2Conv(t0, t1, 7, padding=1, bias=False, recompute=True),
        nn.InnerBatchNorm(t1),
        nn.ReLU(t1, inplace=True),
        nn.R2Conv(t1, t2, 5, padding=2, bias=False, recompute=True),
        nn.InnerBatchNorm(t2),
        nn.ReLU(t2, inplace=True),
        nn.PointwiseAvgPoolAntialiased(t2, sigma=0.66, stride=2),
        nn.GroupPooling(t2),
    )
    return net, t0


def _train(
    model: torch.nn.Module, forward: Callable[[torch.Tensor], torch.Tensor], shape: tuple, dtype
) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    gen = torch.Generator().manual_seed(2)
    for _ in range(2):
        loss = forward(torch.randn(*shape, generator=gen, dtype=dtype)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _compare_client(name: str, dtype: torch.dtype, depth: int, widen: int) -> dict[str, Any]:
    import e2cnn.gspaces as eg
    import e2cnn.nn as en

    import structconv.gspaces as sg
    import structconv.nn as sn
    from structconv.compat.e2cnn import convert_e2cnn_state_dict
    from structconv.utils import load_checkpoint

    with _float64_oracle(dtype):
        torch.manual_seed(0)
        if name == "README C8 model":
            theirs, t_e2 = _readme_model(eg, en)
            ours, t_sc = _readme_model(sg, sn)
            shape = (4, 1, 29, 29)

            def run(model: Any, lib: Any, t: Any, x: torch.Tensor) -> torch.Tensor:
                return model(lib.GeometricTensor(x, t)).tensor
        else:
            n, flip, restrict = {
                "WRN D4": (4, True, ()),
                "WRN C8": (8, False, ()),
                "WRN D8-D4-D1": (8, True, (4, 1)),
                "WRN C8-C4-C1": (8, False, (4, 1)),
            }[name]
            make, e2lib = _wrn_lib("e2cnn")
            _, sclib = _wrn_lib("structconv")
            kw = {
                "N": n,
                "flip": flip,
                "restrict": restrict,
                "depth": depth,
                "widen": widen,
                "delta_init": False,
            }
            theirs, ours = make(e2lib, **kw), make(sclib, **kw)
            t_e2 = t_sc = None
            shape = (2, 3, 33, 33)

            def run(model: Any, lib: Any, t: Any, x: torch.Tensor) -> torch.Tensor:
                return model(x)

        theirs, ours = theirs.to(dtype), ours.to(dtype)
        _train(theirs, lambda x: run(theirs, en, t_e2, x), shape, dtype)
        checkpoint = {k: v.detach().clone() for k, v in theirs.state_dict().items()}
        start = time.perf_counter()
        converted = convert_e2cnn_state_dict(ours, checkpoint)
        converted_s = time.perf_counter() - start
        load_checkpoint(ours, converted)
        total_s = time.perf_counter() - start
        theirs.eval()
        ours.eval()
        x = torch.randn(2, *shape[1:], generator=torch.Generator().manual_seed(3), dtype=dtype)
        with torch.no_grad():
            y1, y2 = run(theirs, en, t_e2, x), run(ours, sn, t_sc, x)
    diff, rel = _errors(y1, y2)
    return {
        "abs": diff,
        "rel": rel,
        "checkpoint_bytes": _nbytes(checkpoint),
        "converted_bytes": _nbytes(converted),
        "checkpoint_entries": sum(v.numel() for v in checkpoint.values()),
        "converted_entries": sum(v.numel() for v in converted.values()),
        "convert_s": converted_s,
        "load_s": total_s,
    }


def _nbytes(state: dict[str, torch.Tensor]) -> int:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.tell()


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=10, help="WRN depth (10, 16, 22, ...)")
    parser.add_argument("--widen", type=int, default=1, help="WRN widening factor")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--only", nargs="*", help="only these rows (names as printed)")
    args = parser.parse_args(argv)
    try:
        import e2cnn  # noqa: F401
    except ImportError:
        print("e2cnn is not installed: nothing to compare (tools/install-oracles.sh installs it).")
        return 0
    import warnings

    warnings.filterwarnings("ignore", module="e2cnn")
    warnings.filterwarnings("ignore", message="torch.meshgrid")
    rows: dict[str, dict[str, Any]] = {}
    clients = ["README C8 model", "WRN D4", "WRN C8", "WRN D8-D4-D1", "WRN C8-C4-C1"]
    names = list(_modules()) + clients
    wrn = f"WRN-{args.depth}-{args.widen}"
    print(
        f"{'module':32s} {'f32 max abs':>12s} {'f32 max rel':>12s} {'f64 max abs':>12s} {'f64 max rel':>12s}"
    )
    for name in names:
        if args.only and name not in args.only:
            continue
        row: dict[str, Any] = {}
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            if name in clients:
                result = _compare_client(name, dtype, args.depth, args.widen)
                row[tag] = result
            else:
                diff, rel = _compare_module(_modules()[name], dtype)
                row[tag] = {"abs": diff, "rel": rel}
        rows[name] = row
        label = name.replace("WRN", wrn) if name.startswith("WRN") else name
        print(
            f"{label:32s} {row['f32']['abs']:12.2e} {row['f32']['rel']:12.2e} "
            f"{row['f64']['abs']:12.2e} {row['f64']['rel']:12.2e}",
            flush=True,
        )
    for name in ("WRN D8-D4-D1", "WRN C8-C4-C1"):
        if name in rows:
            r = rows[name]["f32"]
            print(
                f"\n{wrn} {name[4:]} checkpoint (float32): e2cnn {r['checkpoint_bytes'] / 2**20:.2f} MiB "
                f"({r['checkpoint_entries']} numbers: weights, sampled bases, derived buffers) -> structconv "
                f"{r['converted_bytes'] / 2**20:.2f} MiB ({r['converted_entries']} numbers); conversion "
                f"{r['convert_s']:.2f} s, conversion + load {r['load_s']:.2f} s"
            )
    if args.json:
        args.json.write_text(json.dumps({"wrn": wrn, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
