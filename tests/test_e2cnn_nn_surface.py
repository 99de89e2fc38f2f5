"""e2cnn's public ``nn`` and ``nn.init`` surface, walked mechanically (oracle: needs e2cnn 0.2.3).

Every name in the ``__all__`` of ``e2cnn.nn`` and ``e2cnn.nn.init`` must exist in ``structconv.nn`` /
``structconv.nn.init``; every public attribute and method of e2cnn's public classes must exist on ours;
every parameter an e2cnn callable accepts must be accepted by ours (by name, or through ``**kwargs`` when
e2cnn's takes ``**kwargs`` too). The test prints what is missing and fails when anything is. Deliberate
exclusions live in ``EXCLUDED``, each with its reason. (The group / gspaces / kernels half of the walk is in
``tests/test_e2cnn_surface.py``.)
"""

from __future__ import annotations

import inspect

import pytest

pytestmark = pytest.mark.oracle

pytest.importorskip("e2cnn")

import e2cnn.nn  # noqa: E402
import e2cnn.nn.init  # noqa: E402

import structconv.nn  # noqa: E402
import structconv.nn.init  # noqa: E402

#: name -> reason. A name is ``module.Name`` or ``module.Name.attribute`` or ``module.Name.attribute(param)``.
EXCLUDED: dict[str, str] = {}

_PAIRS = [("nn", e2cnn.nn, structconv.nn), ("nn.init", e2cnn.nn.init, structconv.nn.init)]


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return None


def _signature_gaps(label: str, theirs, ours) -> list[str]:
    """Parameters ``theirs`` accepts that ``ours`` does not."""
    tp, op = _parameters(theirs), _parameters(ours)
    if tp is None or op is None:
        return []
    our_var_kw = any(p.kind is p.VAR_KEYWORD for p in op.values())
    our_var_pos = any(p.kind is p.VAR_POSITIONAL for p in op.values())
    gaps = []
    for name, p in tp.items():
        if p.kind is p.VAR_KEYWORD:
            if not our_var_kw:
                gaps.append(f"{label}(**{name})")
        elif p.kind is p.VAR_POSITIONAL:
            if not our_var_pos:
                gaps.append(f"{label}(*{name})")
        elif name not in op and not our_var_kw:
            gaps.append(f"{label}({name})")
    return gaps


def _walk() -> tuple[int, list[str], list[str]]:
    checked, missing, signatures = 0, [], []
    for label, theirs_mod, ours_mod in _PAIRS:
        for name in theirs_mod.__all__:
            checked += 1
            key = f"{label}.{name}"
            if not hasattr(ours_mod, name):
                missing.append(key)
                continue
            theirs, ours = getattr(theirs_mod, name), getattr(ours_mod, name)
            signatures += _signature_gaps(key, theirs, ours)
            if not inspect.isclass(theirs):
                continue
            for attr in dir(theirs):
                if attr.startswith("_"):
                    continue
                checked += 1
                akey = f"{key}.{attr}"
                if not hasattr(ours, attr):
                    missing.append(akey)
                    continue
                ta, oa = getattr(theirs, attr), getattr(ours, attr)
                if callable(ta) and callable(oa):
                    signatures += _signature_gaps(akey, ta, oa)
    missing = [m for m in missing if m not in EXCLUDED]
    signatures = [s for s in signatures if s not in EXCLUDED]
    return checked, missing, signatures


def test_every_public_name_and_attribute_exists():
    checked, missing, _ = _walk()
    print(f"e2cnn nn surface: {checked} names checked, {len(missing)} missing, {len(EXCLUDED)} excluded")
    for m in missing:
        print("  missing:", m)
    assert checked > 2000
    assert not missing, f"{len(missing)} public names of e2cnn.nn are missing from structconv.nn: {missing}"


def test_every_accepted_parameter_is_accepted():
    _, _, signatures = _walk()
    for s in signatures:
        print("  stricter signature:", s)
    assert not signatures, f"signatures stricter than e2cnn's: {signatures}"


def test_all_lists_cover_e2cnn():
    for label, theirs_mod, ours_mod in _PAIRS:
        absent = sorted(set(theirs_mod.__all__) - set(ours_mod.__all__))
        assert not absent, f"structconv.{label}.__all__ lacks {absent}"


def test_walk_detects_a_missing_attribute(monkeypatch):
    # the walk can fail: remove one method and one parameter and see both reported
    monkeypatch.delattr(structconv.nn.InnerBatchNorm, "reset_running_stats")
    _, missing, _ = _walk()
    assert "nn.InnerBatchNorm.reset_running_stats" in missing

    def strict(self, atol=1e-7, rtol=1e-5):  # no full_space_action
        return []

    monkeypatch.setattr(structconv.nn.MultipleModule, "check_equivariance", strict)
    _, _, signatures = _walk()
    assert "nn.MultipleModule.check_equivariance(full_space_action)" in signatures
