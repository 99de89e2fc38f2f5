"""The rooms of ``structconv.nn`` (docs/internals.md, "Layout of the package"): who may import whom, and
old module paths that whole-module pickles name."""

from __future__ import annotations

import ast
import pathlib
import pickle

import pytest
import torch

import structconv.nn as nn
from structconv import gspaces

NN = pathlib.Path(nn.__file__).parent

#: room -> the rooms of nn/ it must not import (lower layers never import higher ones)
FORBIDDEN = {
    "constrained": ("typed", "conv", "modules"),
    "typed": ("constrained", "conv", "modules"),
    "conv": ("constrained", "modules"),
    "modules": ("constrained",),
}


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_only_downwards(room: str) -> None:
    files = sorted((NN / room).glob("*.py"))
    assert files, room
    bad = [
        (f.name, mod)
        for f in files
        for mod in _imports(f)
        for other in FORBIDDEN[room]
        if mod == f"structconv.nn.{other}" or mod.startswith(f"structconv.nn.{other}.")
    ]
    assert not bad, f"nn/{room} imports a room above it: {bad}"


def test_public_names_live_in_rooms() -> None:
    top_level = {p.stem for p in NN.glob("*.py")}
    assert top_level <= {"__init__", "init", "_conv_utils", "_derived", "_device", "_export", "_structure"}, top_level
    for name in nn.__all__:
        obj = getattr(nn, name)
        if name == "init":
            continue
        assert obj.__module__.startswith("structconv.nn"), (name, obj.__module__)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("structconv.nn.conv.r2conv", "structconv.nn.r2conv"),
        ("structconv.nn.typed.field_type", "structconv.nn.field_type"),
    ],
)
def test_pickles_naming_old_module_paths_load(old: str, new: str) -> None:
    gs = gspaces.Rot2dOnR2(4)
    t = nn.FieldType(gs, [gs.regular_repr])
    conv = nn.R2Conv(t, t, 3)
    data = pickle.dumps(conv, protocol=0)  # text protocol: module paths can be rewritten in place
    assert old.encode() in data
    restored = pickle.loads(data.replace(old.encode(), new.encode()))
    x = nn.GeometricTensor(torch.randn(1, 4, 5, 5), t)
    assert torch.equal(restored(x).tensor, conv(x).tensor)


def test_groups_import_and_build_without_torch() -> None:
    """``structconv.group`` is numpy/scipy maths: importing it and building every group and its
    representations must not import torch (a fresh interpreter; torch costs seconds to import)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import structconv.group as g\n"
        "for G in (g.so3_group(3), g.o3_group(3), g.octa_group(), g.full_octa_group(), g.ico_group(),\n"
        "          g.full_ico_group(), g.cyclic_group(4), g.dihedral_group(3), g.so2_group(3), g.o2_group(3)):\n"
        "    G.irreps\n"
        "    getattr(G, 'bl_regular_representation', None) and G.continuous and G.bl_regular_representation(2)\n"
        "g.so3_group(2).bl_sphere_representation(2); g.tensor_product(g.so3_group(2).irrep(1), g.so3_group(2).irrep(1))\n"
        "g.octa_group().regular_representation; g.octa_group().restrict_representation((False, 4), g.octa_group().irrep(1))\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
