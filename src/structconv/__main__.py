"""Command line entry point: ``python -m structconv`` / ``structconv``.

Subcommands: ``info`` (the default: version and layer list), ``demo`` (rotated digits: a conventional
CNN against a rotation-equivariant CNN; ``demo --3d``: 3D Tetris, a ``Conv3d`` CNN against SO(3)- and
octahedral-invariant CNNs) and ``bench`` (layer timings against ``torch.nn.Conv2d``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "available_layers", "layer_groups"]

_LAYER_MODULES = ("structconv.nn",)


#: modules whose classes are building blocks of the layers, not layers users put in a model
_NOT_LAYER_MODULES = ("structconv.nn.conv.basisexpansion",)

#: the groups ``structconv info`` prints, by the module that defines a class: ``(title, modules)``; the
#: last group holds the containers and utilities, which are not layers
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Constrained convolutions and linear layers", ("constrained.layers", "constrained.separable")),
    ("Weight-standardized convolutions", ("constrained.wsconv",)),
    (
        "Steerable (E(2)- and E(3)-equivariant) convolutions",
        ("conv.r2conv", "conv.r2conv_transposed", "conv.r2diffop", "conv.r3conv"),
    ),
    (
        "Equivariant non-linearities",
        ("modules.nonlinearities", "modules.gated", "modules.norm_nonlinearities", "modules.fourier"),
    ),
    ("Equivariant pooling and invariant maps", ("modules.pooling", "modules.invariantmaps")),
    ("Equivariant batch normalization", ("modules.batchnormalization", "modules.iidbatchnorm")),
    ("Equivariant dropout", ("modules.dropout",)),
    (
        "Resampling and rearranging fields",
        (
            "modules.upsampling",
            "modules.masking",
            "modules.reshuffle",
            "modules.restriction",
            "modules.disentangle",
        ),
    ),
)
_CONTAINERS = (
    "Containers and utilities (they hold or pass on layers; not layers)",
    ("modules.sequential", "modules.modulelist", "modules.multiple", "modules.identity"),
)


def _module_classes() -> list[tuple[str, type]]:
    """The concrete ``torch.nn.Module`` classes ``structconv.nn`` exports, without the basis expansions."""
    import inspect

    import torch

    out = []
    for modname in _LAYER_MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
                continue
            if inspect.isabstract(obj) or obj.__module__.startswith(_NOT_LAYER_MODULES):
                continue
            out.append((name, obj))
    return out


def layer_groups() -> dict[str, list[str]]:
    """The classes of ``structconv.nn`` by kind, as ``structconv info`` prints them.

    Every concrete module class lands in exactly one group; the containers and utilities
    (``SequentialModule``, ``ModuleList``, ``MultipleModule``, ``IdentityModule``, ...) are a group of their
    own, last, and are not counted as layers. A class defined outside the known modules lands in ``'Other'``.

    Example:
        >>> groups = layer_groups()
        >>> "R2Conv" in groups["Steerable (E(2)- and E(3)-equivariant) convolutions"]
        True
        >>> "SequentialModule" in groups[list(groups)[-1]]
        True
    """
    groups: dict[str, list[str]] = {title: [] for title, _ in (*_GROUPS, _CONTAINERS)}
    for name, obj in _module_classes():
        where = obj.__module__.removeprefix("structconv.nn.")
        title = next((t for t, mods in (*_GROUPS, _CONTAINERS) if where in mods), "Other")
        groups.setdefault(title, []).append(name)
    if "Other" in groups:  # keep the containers last
        groups[_CONTAINERS[0]] = groups.pop(_CONTAINERS[0])
    return {title: sorted(names) for title, names in groups.items() if names}


def available_layers() -> list[str]:
    """Return the names of the layer classes that ``structconv.nn`` exports.

    A layer is a concrete ``torch.nn.Module`` a user puts in a model to compute something: abstract bases
    (``EquivariantModule``), the basis expansions that ``R2Conv`` uses internally and the containers
    (``SequentialModule``, ``ModuleList``, ...; see :func:`layer_groups`) are left out.

    Example:
        >>> names = available_layers()
        >>> "R2Conv" in names, "EquivariantModule" in names, "BasisExpansion" in names
        (True, False, False)
        >>> "SequentialModule" in names, "IdentityModule" in names
        (False, False)
    """
    groups = layer_groups()
    return sorted(n for title, names in groups.items() if title != _CONTAINERS[0] for n in names)


def _info(_: argparse.Namespace) -> int:
    from structconv import __version__

    print(f"structconv {__version__}")
    groups = layer_groups()
    layers = available_layers()
    print(f"{len(layers)} layers available in structconv.nn, by kind:")
    for title, names in groups.items():
        print(f"\n{title}:")
        for name in names:
            print(f"  {name}")
    print("\nTypes: FieldType, GeometricTensor; base class of the equivariant modules: EquivariantModule")
    print('Help on one: python -c "import structconv.nn; help(structconv.nn.R2Conv)"')
    print("Commands: structconv demo, structconv bench (--help for their options)")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="structconv",
        description="structconv: convolution layers with structured kernels for PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(func=_info)
    sub = parser.add_subparsers(dest="command")
    info = sub.add_parser("info", help="print the version and the available layers (the default)")
    info.set_defaults(func=_info)
    demo = sub.add_parser(
        "demo",
        help="train a CNN and a rotation-equivariant CNN on upright digits, test them on rotated digits "
        "(--3d: 3D Tetris with SO(3)- and octahedral-invariant CNNs)",
        description="Train a conventional CNN and a rotation-equivariant CNN on upright handwritten digits "
        "and test both on rotated digits; writes a table, a plot and a JSON file to --out.",
    )
    _demo_module().add_arguments(demo)
    demo.set_defaults(func=lambda args: _demo_module().run_from_args(args))
    bench = sub.add_parser(
        "bench",
        help="time the structured convolutions against torch.nn.Conv2d (and e2cnn, if installed)",
        description="Time constrained, weight-standardized and steerable convolutions against "
        "torch.nn.Conv2d in the same run (medians of repeated runs after warm-up).",
    )
    _bench_module().add_arguments(bench)
    bench.set_defaults(func=lambda args: _bench_module().run_from_args(args))
    return parser


def _version() -> str:
    from structconv._version import __version__

    return __version__


def _demo_module():  # imported lazily: ``structconv info`` stays light
    return importlib.import_module("structconv.cli.demo")


def _bench_module():
    return importlib.import_module("structconv.cli.bench")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line interface and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"] and "--3d" in argv[1:]:  # the 3D demo has options of its own
        from structconv.cli.demo3d import main as demo3d_main
        from structconv.cli.demo3d import strip_3d_flag

        return demo3d_main(strip_3d_flag(argv[1:]))
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the output went to a pipe that closed early (e.g. `structconv | head`)
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
