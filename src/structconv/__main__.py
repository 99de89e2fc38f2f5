"""Command line entry point: ``python -m structconv`` / ``structconv``.

Subcommands: ``info`` (the default: version and layer list), ``demo`` (rotated digits: a conventional
CNN against a rotation-equivariant CNN) and ``bench`` (layer timings against ``torch.nn.Conv2d``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "available_layers"]

_LAYER_MODULES = ("structconv.nn",)


#: modules whose classes are building blocks of the layers, not layers users put in a model
_NOT_LAYER_MODULES = ("structconv.nn.basisexpansion",)


def available_layers() -> list[str]:
    """Return the names of the layer classes that ``structconv.nn`` exports.

    A layer is a concrete ``torch.nn.Module`` a user puts in a model: abstract bases
    (``EquivariantModule``) and the basis expansions that ``R2Conv`` uses internally are left out.

    Example:
        >>> names = available_layers()
        >>> "R2Conv" in names, "EquivariantModule" in names, "BasisExpansion" in names
        (True, False, False)
    """
    import inspect

    import torch

    names: list[str] = []
    for modname in _LAYER_MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
                continue
            if inspect.isabstract(obj) or obj.__module__.startswith(_NOT_LAYER_MODULES):
                continue
            names.append(name)
    return sorted(names)


def _info(_: argparse.Namespace) -> int:
    from structconv import __version__

    print(f"structconv {__version__}")
    layers = available_layers()
    print(f"{len(layers)} layers available in structconv.nn:")
    for name in layers:
        print(f"  {name}")
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
        help="train a CNN and a rotation-equivariant CNN on upright digits, test them on rotated digits",
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
