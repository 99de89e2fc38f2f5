"""The on-disk PDO stencil cache: default location, verification of every entry, bounded reads, no raising."""

from __future__ import annotations

import io
import json
import os
import stat
import warnings
import zipfile

import numpy as np
import pytest
import torch

from structconv.diffops import cache as dcache
from structconv.diffops import discretization as ddisc


@pytest.fixture
def fresh_cache():
    saved = dict(dcache._STENCILS)
    dcache.clear_cache()
    yield
    dcache.clear_cache()
    dcache._STENCILS.update(saved)


def _npy(value: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return buf.getvalue()


def _write(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _planted_file(path, entries: list[tuple[dcache.StencilKey, np.ndarray]]) -> None:
    """A well-formed file whose checksums match its (possibly wrong) values: what a planter would write."""
    members = {"format.npy": _npy(np.array(dcache._FORMAT))}
    members["keys.npy"] = _npy(np.array(json.dumps([dcache._key_to_json(k) for k, _ in entries])))
    for i, (key, arr) in enumerate(entries):
        members[f"s{i}.npy"] = _npy(arr)
        members[f"h{i}.npy"] = _npy(np.array(dcache._checksum(key, arr)))
    _write(path, members)


def test_default_location_is_the_user_cache_directory():
    platformdirs = pytest.importorskip("platformdirs")
    expected = os.path.join(platformdirs.user_cache_dir("structconv", appauthor=False), "diffops.npz")
    assert dcache.default_cache_path() == expected == dcache.DEFAULT_CACHE_PATH
    assert not os.path.abspath(dcache.default_cache_path()).startswith(os.path.abspath(os.getcwd()) + os.sep)


def test_round_trip_of_every_method_verifies(tmp_path, fresh_cache):
    refs = {
        ("fd", None, ""): ddisc.monomial_stencils(2, 5, 1, "fd").copy(),
        ("rbffd", None, "phs3"): ddisc.monomial_stencils(2, 5, 1, "rbffd", phi="phs3").copy(),
        ("gauss", 0.7, ""): ddisc.monomial_stencils(1, 3, 2, "gauss", smoothing=0.7).copy(),
    }
    path = tmp_path / "diffops.npz"
    assert dcache.store_cache(path) == 3
    dcache.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file loads without any warning
        assert dcache.load_cache(path) == 3
    assert dcache.cache_size() == 3
    np.testing.assert_array_equal(ddisc.monomial_stencils(2, 5, 1, "fd"), refs[("fd", None, "")])


@pytest.mark.parametrize("method", ["fd", "rbffd", "gauss"])
def test_planted_entry_with_a_matching_checksum_is_recomputed_with_a_warning(tmp_path, fresh_cache, method):
    kwargs = {"fd": {}, "rbffd": {"phi": "phs3"}, "gauss": {"smoothing": 0.7}}[method]
    good = ddisc.monomial_stencils(2, 5, 1, method, **kwargs).copy()
    key = next(iter(dcache._STENCILS))
    dcache.clear_cache()
    bad = good.copy()
    bad[0] = bad[0][::-1] * 1.5  # wrong values, a checksum recomputed over them
    path = tmp_path / "diffops.npz"
    _planted_file(path, [(key, bad)])
    with pytest.warns(RuntimeWarning, match="bad entries, skipped"):
        assert dcache.load_cache(path) == 0
    assert dcache.cache_size() == 0
    np.testing.assert_allclose(
        ddisc.monomial_stencils(2, 5, 1, method, **kwargs), good, rtol=1e-12, atol=1e-14
    )


def test_planted_file_does_not_break_an_r2diffop(tmp_path, fresh_cache, monkeypatch):
    # the scenario: a file of the right format but wrong values where the layer reads by default
    from structconv.gspaces import Rot2dOnR2
    from structconv.nn import FieldType, R2Diffop
    from structconv.testing import assert_equivariant

    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    R2Diffop(t, t, kernel_size=3, recompute=True)  # fills the in-memory cache with the true stencils
    assert dcache.cache_size() > 0
    planted = [(k, np.random.default_rng(0).normal(size=v.shape)) for k, v in dcache._STENCILS.items()]
    dcache.clear_cache()
    path = tmp_path / "diffops.npz"
    _planted_file(path, planted)
    monkeypatch.setattr(dcache, "default_cache_path", lambda: str(path))
    with pytest.warns(RuntimeWarning, match="bad entries, skipped"):
        layer = R2Diffop(t, t, kernel_size=3, cache="load", recompute=True)
    records = assert_equivariant(layer, spatial_size=9)
    assert max(r.abs_error for r in records) < 1e-9


def test_truncated_file_is_ignored_with_a_warning(tmp_path, fresh_cache):
    ddisc.monomial_stencils(1, 3)
    path = tmp_path / "diffops.npz"
    dcache.store_cache(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    dcache.clear_cache()
    with pytest.warns(RuntimeWarning, match="ignoring the PDO stencil cache"):
        assert dcache.load_cache(path) == 0
    assert dcache.cache_size() == 0


def test_oversized_header_is_refused_before_reading(tmp_path, fresh_cache):
    key = dcache.StencilKey("fd", 3, 1, None, "", 1)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    members = {
        "format.npy": _npy(np.array(dcache._FORMAT)),
        "keys.npy": _npy(np.array(json.dumps([dcache._key_to_json(key)]))),
        "s0.npy": header.getvalue() + b"\0" * 64,  # the header (with its magic) claims 8e13 bytes
        "h0.npy": _npy(np.array("0" * 64)),
    }
    path = tmp_path / "diffops.npz"
    _write(path, members)
    with pytest.warns(RuntimeWarning, match=r"claims shape \(10000000000000,\)"):
        assert dcache.load_cache(path) == 0
    # the key list itself claiming a huge string
    members["keys.npy"] = _header({"descr": "<U1000000000", "fortran_order": False, "shape": ()}) + b"\0" * 64
    _write(path, members)
    with pytest.warns(RuntimeWarning, match="ignoring the PDO stencil cache"):
        assert dcache.load_cache(path) == 0


def _header(d: dict) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, d)
    return buf.getvalue()


def test_deeply_nested_keys_and_too_many_entries_never_raise(tmp_path, fresh_cache, monkeypatch):
    path = tmp_path / "diffops.npz"
    nested = "[" * 100_000 + "]" * 100_000  # json.loads -> RecursionError
    _write(path, {"format.npy": _npy(np.array(dcache._FORMAT)), "keys.npy": _npy(np.array(nested))})
    with pytest.warns(RuntimeWarning, match="RecursionError"):
        assert dcache.load_cache(path) == 0
    keys = json.dumps([["fd", 3, 1, None, "", 1]] * (dcache.MAX_ENTRIES + 1))
    _write(path, {"format.npy": _npy(np.array(dcache._FORMAT)), "keys.npy": _npy(np.array(keys))})
    with pytest.warns(RuntimeWarning, match=f"at most {dcache.MAX_ENTRIES} keys"):
        assert dcache.load_cache(path) == 0
    monkeypatch.setattr(dcache, "MAX_FILE_BYTES", 10)
    with pytest.warns(RuntimeWarning, match="the limit is 10"):
        assert dcache.load_cache(path) == 0
    # an R2Diffop asked to load such a file still builds
    from structconv.gspaces import Rot2dOnR2
    from structconv.nn import FieldType, R2Diffop

    monkeypatch.setattr(dcache, "default_cache_path", lambda: str(path))
    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    with pytest.warns(RuntimeWarning):
        R2Diffop(t, t, kernel_size=3, cache="load")


def test_unwritable_directory_warns_and_the_layer_still_builds(tmp_path, fresh_cache, monkeypatch):
    ddisc.monomial_stencils(1, 3)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.warns(RuntimeWarning, match="could not write the PDO stencil cache"):
        assert dcache.store_cache(blocker / "sub" / "diffops.npz") == 0
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if not os.access(readonly, os.W_OK):  # (root ignores the mode bits)
            with pytest.warns(RuntimeWarning, match="could not write the PDO stencil cache"):
                assert dcache.store_cache(readonly / "diffops.npz") == 0
        from structconv.gspaces import Rot2dOnR2
        from structconv.nn import FieldType, GeometricTensor, R2Diffop

        monkeypatch.setattr(dcache, "default_cache_path", lambda: str(blocker / "diffops.npz"))
        gs = Rot2dOnR2(4)
        t = FieldType(gs, [gs.regular_repr])
        with pytest.warns(RuntimeWarning, match="could not write"):
            layer = R2Diffop(t, t, kernel_size=3, cache=True)
        assert layer(GeometricTensor(torch.randn(1, 4, 5, 5), t)).tensor.shape == (1, 4, 3, 3)
    finally:
        readonly.chmod(stat.S_IRWXU)
