"""Command line entry point: ``python -m structconv`` / ``structconv``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "available_layers"]

_LAYER_MODULES = ("structconv.nn",)


def available_layers() -> list[str]:
    """Return the names of the layer classes that ``structconv.nn`` exports.

    Example:
        >>> names = available_layers()
        >>> isinstance(names, list)
        True
    """
    import torch

    names: list[str] = []
    for modname in _LAYER_MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
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
    parser.set_defaults(func=_info)
    sub = parser.add_subparsers(dest="command")
    info = sub.add_parser("info", help="print the version and the available layers (the default)")
    info.set_defaults(func=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line interface and return its exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
