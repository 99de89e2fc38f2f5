"""The public surface of e2cnn, walked mechanically: every name must exist in structconv, compatibly.

For each module (``group``, ``gspaces``, ``kernels``, ``nn``, ``nn.init``) the walker takes every name of
e2cnn's ``__all__`` and, for classes, every public attribute of the class and of sample instances. It
checks that structconv has the same name and, for callables, a compatible signature: every parameter
e2cnn accepts is accepted (same name, same position for positional parameters, a default where e2cnn has
one, ``*args`` / ``**kwargs`` where e2cnn has them). Missing or incompatible names are printed and fail the
test of their module; deliberate exclusions live in :data:`EXCLUDED`, each with its reason.

The ``group`` / ``gspaces`` / ``kernels`` tests and the ``nn`` / ``nn.init`` tests are separate functions
so that each half of the API can be worked on independently.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.oracle

#: Deliberate exclusions: ``"module:Qualified.name"`` -> reason. The one place where a gap is accepted.
from _e2cnn_deviations import EXCLUDED  # noqa: E402 - the one list of deliberate exclusions

#: Modules of e2cnn and their structconv counterparts.
MODULES = {
    "group": "structconv.group",
    "gspaces": "structconv.gspaces",
    "kernels": "structconv.kernels",
    "nn": "structconv.nn",
    "nn.init": "structconv.nn.init",
}


def _e2cnn(module: str) -> Any:
    pytest.importorskip("e2cnn")
    return importlib.import_module(f"e2cnn.{module}")


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def signature_problems(theirs: Callable[..., Any], ours: Callable[..., Any]) -> list[str]:
    """Why a call that e2cnn's ``theirs`` accepts could fail with ``ours`` (empty when compatible)."""
    st, so = _signature(theirs), _signature(ours)
    if st is None or so is None:
        return []
    kinds = inspect.Parameter
    tparams = [p for p in st.parameters.values() if p.name not in ("self", "cls")]
    oparams = [p for p in so.parameters.values() if p.name not in ("self", "cls")]
    o_by_name = {p.name: p for p in oparams}
    o_var_pos = any(p.kind == kinds.VAR_POSITIONAL for p in oparams)
    o_var_kw = any(p.kind == kinds.VAR_KEYWORD for p in oparams)
    o_positional = [p.name for p in oparams if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    problems = []
    pos = 0
    for p in tparams:
        if p.kind == kinds.VAR_POSITIONAL:
            if not o_var_pos:
                problems.append("*args not accepted")
            continue
        if p.kind == kinds.VAR_KEYWORD:
            if not o_var_kw:
                problems.append("**kwargs not accepted")
            continue
        q = o_by_name.get(p.name)
        if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD):
            if pos < len(o_positional) and o_positional[pos] != p.name:
                problems.append(
                    f"positional parameter {pos} is {p.name!r} in e2cnn, {o_positional[pos]!r} here"
                )
            elif pos >= len(o_positional) and not o_var_pos:
                problems.append(f"positional parameter {pos} ({p.name!r}) not accepted")
            pos += 1
        if q is None:
            if not o_var_kw:
                problems.append(f"parameter {p.name!r} missing")
            continue
        if q.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD):
            continue
        if p.default is not inspect.Parameter.empty and q.default is inspect.Parameter.empty:
            problems.append(f"parameter {p.name!r} has a default in e2cnn, none here")
    return problems


def _has(obj: Any, name: str) -> bool:
    """Whether ``obj`` has the attribute ``name`` (an attribute that raises for this instance exists)."""
    try:
        getattr(obj, name)
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 - e.g. the regular representation of SO(2): defined, but not here
        return True
    return True


def _public(names: Any) -> list[str]:
    return sorted(n for n in names if not n.startswith("_"))


def _samples(module: str) -> dict[str, list[tuple[Callable[[], Any], Callable[[], Any]]]]:
    """Pairs of factories ``(e2cnn instance, structconv instance)`` per class name, for instance attributes."""
    from structconv import group as sg
    from structconv import gspaces as sgs
    from structconv import kernels as sk

    if module == "group":
        eg = _e2cnn("group")
        return {
            "CyclicGroup": [(lambda: eg.cyclic_group(4), lambda: sg.cyclic_group(4))],
            "DihedralGroup": [(lambda: eg.dihedral_group(4), lambda: sg.dihedral_group(4))],
            "SO2": [(lambda: eg.so2_group(3), lambda: sg.so2_group(3))],
            "O2": [(lambda: eg.o2_group(3), lambda: sg.o2_group(3))],
            "IrreducibleRepresentation": [
                (lambda: eg.cyclic_group(4).irrep(1), lambda: sg.cyclic_group(4).irrep(1)),
                (lambda: eg.o2_group(3).irrep(1, 2), lambda: sg.o2_group(3).irrep(1, 2)),
            ],
            "Representation": [
                (
                    lambda: eg.dihedral_group(4).regular_representation,
                    lambda: sg.dihedral_group(4).regular_representation,
                ),
                (
                    lambda: eg.directsum([eg.cyclic_group(4).irrep(1)] * 2),
                    lambda: sg.directsum([sg.cyclic_group(4).irrep(1)] * 2),
                ),
            ],
        }
    if module == "gspaces":
        eg = _e2cnn("gspaces")
        return {
            "Rot2dOnR2": [(lambda: eg.Rot2dOnR2(8), lambda: sgs.Rot2dOnR2(8))],
            "FlipRot2dOnR2": [(lambda: eg.FlipRot2dOnR2(4), lambda: sgs.FlipRot2dOnR2(4))],
            "Flip2dOnR2": [(lambda: eg.Flip2dOnR2(), lambda: sgs.Flip2dOnR2())],
            "TrivialOnR2": [(lambda: eg.TrivialOnR2(), lambda: sgs.TrivialOnR2())],
        }
    if module == "kernels":
        ek, eg = _e2cnn("kernels"), _e2cnn("group")

        def pair(lib: Any, group: Any) -> Any:
            G = group.cyclic_group(4)
            return lib.kernels_CN_act_R2(
                G.regular_representation, G.irrep(1), [0.0, 1.0], 0.6, max_frequency=2
            )

        return {
            "PolarBasis": [(lambda: pair(ek, eg), lambda: pair(sk, sg))],
            "GaussianRadialProfile": [
                (
                    lambda: ek.GaussianRadialProfile([0.0, 1.0], 0.6),
                    lambda: sk.GaussianRadialProfile([0.0, 1.0], 0.6),
                )
            ],
            "SteerableKernelBasis": [(lambda: pair(ek, eg).angular, lambda: pair(sk, sg).angular)],
        }
    return {}


def walk_surface(module: str) -> tuple[int, list[str], list[str]]:
    """``(names checked, problems, exclusions used)`` for one e2cnn module."""
    theirs = _e2cnn(module)
    ours = importlib.import_module(MODULES[module])
    checked, problems, used = 0, [], []

    def report(key: str, what: str) -> None:
        wildcard = key.split("(")[0] + "(*)"
        if key in EXCLUDED or wildcard in EXCLUDED:
            used.append(key if key in EXCLUDED else wildcard)
        else:
            problems.append(f"{key}: {what}")

    samples = _samples(module)
    for name in theirs.__all__:
        checked += 1
        t_obj = getattr(theirs, name)
        if not hasattr(ours, name):
            report(f"{module}:{name}", "missing")
            continue
        o_obj = getattr(ours, name)
        if callable(t_obj):
            for why in signature_problems(t_obj, o_obj):
                param = why.split("'")[1] if "'" in why else ""
                report(f"{module}:{name}({param})", why)
        if not inspect.isclass(t_obj):
            continue
        attrs = set(_public(dir(t_obj)))
        for t_factory, o_factory in samples.get(name, []):
            t_inst, o_inst = t_factory(), o_factory()
            attrs |= set(_public(dir(t_inst)))
            for a in _public(dir(t_inst)):
                if not _has(o_inst, a):
                    report(f"{module}:{name}.{a}", "missing on an instance")
        if issubclass(t_obj, BaseException):
            attrs = set()
        for a in sorted(attrs):
            checked += 1
            if not _has(o_obj, a) and not any(_has(f(), a) for _, f in samples.get(name, [])):
                report(f"{module}:{name}.{a}", "missing")
                continue
            t_attr = inspect.getattr_static(t_obj, a, None)
            o_attr = inspect.getattr_static(o_obj, a, None)
            if inspect.isfunction(t_attr) and callable(o_attr) and not isinstance(o_attr, property):
                for why in signature_problems(t_attr, o_attr):
                    param = why.split("'")[1] if "'" in why else ""
                    report(f"{module}:{name}.{a}({param})", why)
    return checked, sorted(set(problems)), sorted(set(used))


def _check(module: str) -> None:
    checked, problems, used = walk_surface(module)
    print(
        f"e2cnn.{module}: {checked} names checked, {len(problems)} missing or incompatible, {len(used)} excluded"
    )
    for p in problems:
        print("  MISSING", p)
    for key in used:
        print("  EXCLUDED", key, "--", EXCLUDED[key])
    assert not problems, f"e2cnn.{module}: {len(problems)} names missing or incompatible:\n" + "\n".join(
        problems
    )


# ------------------------------------------------------------------ group / gspaces / kernels
@pytest.mark.parametrize("module", ["group", "gspaces", "kernels"])
def test_e2cnn_surface_group_gspaces_kernels(module: str) -> None:
    _check(module)


# ------------------------------------------------------------------ nn / nn.init
@pytest.mark.parametrize("module", ["nn", "nn.init"])
def test_e2cnn_surface_nn(module: str) -> None:
    _check(module)


# ------------------------------------------------------------------ the walker itself
def test_signature_problems_finds_incompatibilities() -> None:
    def theirs(a, b=1, *args, c=2, **kwargs): ...  # noqa: ANN001, ANN002, ANN003, ANN202

    def same(a, b=1, *args, c=2, **kwargs): ...  # noqa: ANN001, ANN002, ANN003, ANN202

    def stricter(a, b, c=2): ...  # noqa: ANN001, ANN202

    def renamed(x, b=1, *args, c=2, **kwargs): ...  # noqa: ANN001, ANN002, ANN003, ANN202

    assert signature_problems(theirs, same) == []
    found = signature_problems(theirs, stricter)
    assert "*args not accepted" in found and "**kwargs not accepted" in found
    assert "parameter 'b' has a default in e2cnn, none here" in found
    assert any("positional parameter 0" in p for p in signature_problems(theirs, renamed))
    assert np.isfinite(len(found))
