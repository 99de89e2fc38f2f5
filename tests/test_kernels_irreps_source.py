"""The kernel bases take every irrep fact from structconv.group (issue 18, "one source of truth for irreps").

* the group's irreps describe themselves to the kernels (``IrreducibleRepresentation.planar_data``), and
  that description is the documented closed form of their matrices;
* ``structconv.kernels``' irrep keys (``IrrepSpec``) hold the group's numbers and evaluate the group's
  irreps, with no formula of their own;
* the analytic bases did not change: fingerprints of the bases of every planar group, recorded before the
  kernels took their irreps from the group, are reproduced (the refactor left them bit-identical; the
  fingerprints allow rounding noise of other platforms).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from structconv import group as sg
from structconv import kernels as K
from structconv.group.irreps import PlanarIrrepData
from structconv.kernels.irreps import IrrepSpec, element_action, irrep_matrix, irrep_spec_from


def _groups() -> list[tuple[str, sg.Group]]:
    out: list[tuple[str, sg.Group]] = [(f"C{n}", sg.cyclic_group(n)) for n in range(1, 9)]
    out += [(f"D{n}", sg.dihedral_group(n)) for n in range(1, 9)]
    out += [("Flip", sg.flip_group()), ("SO2", sg.so2_group(3)), ("O2", sg.o2_group(3))]
    return out


GROUPS = _groups()


def _elements(G: sg.Group) -> list:
    return list(G.elements) if not G.continuous else list(G.testing_elements())[::5]


@pytest.mark.parametrize("name,G", GROUPS, ids=[n for n, _ in GROUPS])
def test_planar_data_is_the_closed_form_of_the_matrices(name, G):
    """``ρ(f, θ) = R(kθ) S^f`` (2-d) or ``(-1)^{jf} cos(kθ)`` (1-d), with the group's own ``(f, θ)``."""
    reflections = name.startswith(("D", "Flip", "O2"))
    rotations = None if G.continuous else (G.order() // 2 if reflections else G.order())
    for irr in G.irreps.values():
        data = irr.planar_data
        assert isinstance(data, PlanarIrrepData)
        assert (data.rotations, data.reflections) == (rotations, reflections)
        j, k = data.flip_frequency, data.frequency
        assert j in (0, 1) and (reflections or j == 0)
        for g in _elements(G):
            f, theta = G._to_flip_angle(G._parse(g))
            if irr.size == 1:
                expected = np.array([[(-1.0) ** (j * f) * math.cos(k * theta)]])
            else:
                c, s = math.cos(k * theta), math.sin(k * theta)
                expected = np.array([[c, -s], [s, c]]) @ np.diag([1.0, -1.0 if f else 1.0])
            np.testing.assert_allclose(irr(g), expected, atol=1e-12, err_msg=f"{irr.name} at {g}")


def test_planar_data_of_the_flip_group_is_d1s():
    flip, D1 = sg.flip_group(), sg.dihedral_group(1)
    for f in (0, 1):
        assert flip.irrep(f).planar_data == D1.irrep(f, 0).planar_data
        assert irrep_spec_from(flip.irrep(f)) == IrrepSpec("dihedral", 1, f, 0)


def test_planar_data_only_for_the_groups_own_planar_irreps():
    G = sg.cyclic_group(6)
    sign = sg.IrreducibleRepresentation(
        G, "sign_source_test", lambda r: np.array([[(-1.0) ** r]]), 1, 1, ["norm"], frequency=3
    )
    with pytest.raises(ValueError, match="user-defined"):
        sign.planar_data
    with pytest.raises(ValueError, match="expected an irrep of C_N, D_N, SO\\(2\\) or O\\(2\\)"):
        irrep_spec_from(sign)
    with pytest.raises(ValueError, match="expected an irrep of C_N"):
        irrep_spec_from(object())


@pytest.mark.parametrize("name,G", GROUPS, ids=[n for n, _ in GROUPS])
def test_kernel_irrep_keys_hold_the_groups_numbers_and_matrices(name, G):
    for irr in G.irreps.values():
        spec = irrep_spec_from(irr)
        data = irr.planar_data
        assert (spec.N, spec.j, spec.k, spec.flips) == (
            data.rotations,
            data.flip_frequency,
            data.frequency,
            data.reflections,
        )
        assert spec.dim == irr.size == spec.irrep.size
        assert spec.irrep.planar_data == data
        assert K.irrep_spec_by_name(G, irr.name) == spec
        for g in _elements(G):
            # the kernels evaluate the group's irrep itself (bit for bit): no formula of their own
            h = (g, 0) if name == "Flip" else g  # the flip group's element f is D_1's (f, 0)
            assert np.array_equal(irrep_matrix(spec, g), spec.irrep(h))
            np.testing.assert_allclose(irrep_matrix(spec, g), irr(g), atol=1e-12)
    assert K.group_kind(G) == (irrep_spec_from(G.trivial_representation).kind, spec.N)


def test_element_action_is_the_groups_element_on_the_plane():
    for name, G in GROUPS:
        spec = irrep_spec_from(G.trivial_representation)
        for g in _elements(G):
            f, theta = G._to_flip_angle(G._parse(g))
            for axis in (math.pi / 2, 0.3):
                m = element_action(spec, g, axis)
                rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
                ref = np.array(
                    [[math.cos(2 * axis), math.sin(2 * axis)], [math.sin(2 * axis), -math.cos(2 * axis)]]
                )
                np.testing.assert_allclose(m, rot @ ref if f else rot, atol=1e-12, err_msg=f"{name} {g}")


def test_hand_built_keys_are_checked_against_the_group():
    spec = IrrepSpec("dihedral", 4, 1, 1)
    assert spec.irrep is sg.dihedral_group(4).irrep(1, 1)
    assert IrrepSpec("so2", None, 0, 17).dim == 2  # any frequency of SO(2)
    assert IrrepSpec("cyclic", np.int64(4), 0, np.int64(2)) == IrrepSpec("cyclic", 4, 0, 2)
    with pytest.raises(
        ValueError, match="j=0, k=1 is not an irrep of D4 \\(its irrep of frequency k=1 has j=1\\)"
    ):
        IrrepSpec("dihedral", 4, 0, 1)
    with pytest.raises(ValueError, match="no reflections"):
        IrrepSpec("so2", None, 1, 0)
    with pytest.raises(ValueError, match="N=None"):
        IrrepSpec("cyclic", None, 0, 0)
    with pytest.raises(ValueError, match="k=1.5"):
        IrrepSpec("cyclic", 4, 0, 1.5)
    with pytest.raises(ValueError, match="'irrep_9' is not an irrep of C4"):
        K.irrep_spec_by_name(sg.cyclic_group(4), "irrep_9")


def test_psi_chi_psichi_are_the_groups():
    theta = np.linspace(-3.0, 3.0, 7)
    np.testing.assert_array_equal(K.psi(theta, 3, 0.2)[:, :, 0], sg.psi(theta, 3, 0.2))
    np.testing.assert_array_equal(K.psichi(theta, 1, 2, 0.1)[:, :, 0], sg.psichi(theta, 1, 2, 0.1))
    np.testing.assert_array_equal(K.chi(3)[:, :, 0, 0], sg.chi(1))


# ------------------------------------------------------------------------------------ fingerprints
def _weights(n: int) -> np.ndarray:
    return np.cos(1.0 + 0.7311 * np.arange(n))


def _fingerprint(array: np.ndarray, attributes: list) -> tuple[int, float, float, str]:
    """``(n, Σ w·x, Σ x², hash of the attributes)``: any element lost, moved or changed shows."""
    a = np.asarray(array, dtype=np.float64).ravel()
    keys = []
    for at in attributes:
        keys.append(
            tuple(
                round(float(at[key]), 9) if isinstance(at.get(key), float) else at.get(key)
                for key in ("radius", "frequency", "gamma", "s", "offset", "in_irrep", "out_irrep")
            )
        )
    digest = hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
    return len(attributes), float(a @ _weights(a.size)), float(a @ a), digest


_BUILDERS = {
    "C": K.kernels_CN_act_R2,
    "D": K.kernels_DN_act_R2,
    "Flip": K.kernels_Flip_act_R2,
    "SO2": K.kernels_SO2_act_R2,
    "O2": K.kernels_O2_act_R2,
}
_POINTS = np.array([[0.0, 1.0, -0.7, 2.1, -1.6, 0.4], [0.0, 0.5, 1.3, -0.8, -2.2, 0.0]])


def fingerprints() -> dict[str, tuple[int, float, float, str]]:
    """Fingerprints of the analytic bases of every planar group (R2Conv's sampled bases, the kernel API)."""
    out = {}
    for name, G in GROUPS:
        rep = sg.directsum(list(G.irreps.values()))
        reflections = name.startswith(("D", "Flip", "O2"))
        axis = 0.3 if reflections else math.pi / 2
        b = K.steerable_basis(rep, rep, 5, axis=axis)
        out[f"steerable_basis/{name}"] = _fingerprint(b.array, list(b.attributes()))
        if not G.continuous:
            b = K.steerable_basis(rep, rep, 7, maximum_offset=1)
            out[f"steerable_basis_offset/{name}"] = _fingerprint(b.array, list(b.attributes()))
        kwargs = {} if G.continuous else {"max_frequency": 5}
        if reflections:
            kwargs["axis"] = axis
        build = _BUILDERS["C" if name[0] == "C" else "D" if name[0] == "D" else name]
        b = build(rep, rep, [0.0, 1.0, 2.0], [0.6, 0.6, 0.4], **kwargs)
        out[f"kernels_act_R2/{name}"] = _fingerprint(b.sample(_POINTS), list(b))
    for name, G in (("C8", sg.cyclic_group(8)), ("D8", sg.dihedral_group(8))):
        b = K.steerable_basis(G.regular_representation, G.regular_representation, 5)
        out[f"regular/{name}"] = _fingerprint(b.array, list(b.attributes()))
    return out


#: Recorded with the kernels' own irrep formulas, before they took their irreps from structconv.group.
RECORDED = {
    "steerable_basis/C1": (11, 2.8218586798236496, 11.000000000000002, "6b2e2ca6745dada4"),
    "steerable_basis_offset/C1": (10, -0.7357460796714238, 10.000000000000002, "c0823ceb5b126154"),
    "kernels_act_R2/C1": (33, 4.080338355156678, 21.82174585112276, "bc1e1c24eec33b17"),
    "steerable_basis/C2": (22, 0.2669098952042038, 21.999999999999996, "f74577e32bb1c1c9"),
    "steerable_basis_offset/C2": (34, 1.0319549651718678, 34.00000000000001, "548377a86057e5ca"),
    "kernels_act_R2/C2": (66, 3.4995246487062945, 43.64349170224552, "f009d4cfeed95637"),
    "steerable_basis/C3": (33, -2.609614807764451, 55.00000000000001, "1d4d6205e0298d4b"),
    "steerable_basis_offset/C3": (54, -3.6412724891836064, 89.99999999999997, "86f394cef14da18b"),
    "kernels_act_R2/C3": (99, -8.144054128665674, 164.46758079451178, "96a1a73b7905c59e"),
    "steerable_basis/C4": (44, -5.217181582642817, 66.0, "946117f40da6f8da"),
    "steerable_basis_offset/C4": (72, -3.9466709808390616, 108.0, "f8f735689a228953"),
    "kernels_act_R2/C4": (132, 1.877710442005105, 179.3694702032723, "0f9f60dd4d5d0c6c"),
    "steerable_basis/C5": (55, 0.9365770672564071, 99.00000000000003, "cd1ecfe4c1bb7d28"),
    "steerable_basis_offset/C5": (90, 12.319564639529894, 162.00000000000009, "5d950292a0723281"),
    "kernels_act_R2/C5": (165, 3.55757273534606, 320.9531286226254, "43ca5565bc90f8f4"),
    "steerable_basis/C6": (66, 2.247059348050726, 110.00000000000001, "e6581473a5cf726b"),
    "steerable_basis_offset/C6": (108, -0.17613878623938573, 180.00000000000006, "078295059c58597a"),
    "kernels_act_R2/C6": (198, 1.2994641285110529, 328.93516158902355, "6773430578bd9a19"),
    "steerable_basis/C7": (77, 0.48109641967208017, 143.0, "8d999f05e4c12af5"),
    "steerable_basis_offset/C7": (126, 11.660539765143596, 234.00000000000028, "0f5f85c790d1f200"),
    "kernels_act_R2/C7": (231, -3.498270490957513, 473.9787482295579, "67899b16444fbc55"),
    "steerable_basis/C8": (88, -9.560416563686989, 154.00000000000006, "853ab9a48ca5bd3f"),
    "steerable_basis_offset/C8": (144, 24.226440537208163, 252.0000000000002, "558654395dcbf92d"),
    "kernels_act_R2/C8": (264, 7.604418865746924, 485.4207094171373, "81db15e93f9eea40"),
    "steerable_basis/D1": (22, -1.0602502860508245, 22.0, "e9914bd7cdbf9417"),
    "steerable_basis_offset/D1": (20, -5.674248875774658, 20.000000000000007, "eb187b4eed0c9034"),
    "kernels_act_R2/D1": (66, 0.6278531798267029, 43.64349170224553, "cf2b11a1a938ac48"),
    "steerable_basis/D2": (44, -3.704183487247685, 44.0, "3f0d89ca224d2dd0"),
    "steerable_basis_offset/D2": (68, 8.818937307267092, 68.0, "4f06fe3a938e6e1e"),
    "kernels_act_R2/D2": (132, 7.804149180332923, 87.28698340449105, "64d8699c1b9e1b10"),
    "steerable_basis/D3": (29, -1.080006991107989, 44.0, "541ee61ed82a3521"),
    "steerable_basis_offset/D3": (48, -8.190660707435402, 71.99999999999999, "48ed5e746373c155"),
    "kernels_act_R2/D3": (87, -16.14379153324176, 121.8862656163023, "d83f9718ef267512"),
    "steerable_basis/D4": (51, -4.2575633927765955, 66.0, "0e733511a8517929"),
    "steerable_basis_offset/D4": (82, -1.954467232365206, 107.99999999999997, "e0047a855933bb4f"),
    "kernels_act_R2/D4": (147, 8.805458690416046, 165.5297573185478, "f4a9a59436af7981"),
    "steerable_basis/D5": (40, 4.608264298779016, 66.0, "ce7d39a7280a6027"),
    "steerable_basis_offset/D5": (65, 16.62291073300219, 108.0, "c49302a75368a4bd"),
    "kernels_act_R2/D5": (120, -4.7953542913833855, 200.12903953035908, "8870dd2e89a6ce06"),
    "steerable_basis/D6": (58, 2.018375283690559, 88.0, "dba88955985cadaa"),
    "steerable_basis_offset/D6": (96, 17.883167491264004, 144.0, "de77c4891e9d576b"),
    "kernels_act_R2/D6": (174, -0.49123126588857735, 243.7725312326046, "fe97af7c62d83902"),
    "steerable_basis/D7": (51, -0.1189850361764968, 87.99999999999999, "d55cf82febe8803c"),
    "steerable_basis_offset/D7": (83, 4.270608162096309, 144.00000000000003, "367c0bae31b6d844"),
    "kernels_act_R2/D7": (150, 8.351487906476363, 278.3718134444158, "b3c653cf806624ac"),
    "steerable_basis/D8": (69, 2.7448006633773483, 109.99999999999997, "c65c94534d7202a4"),
    "steerable_basis_offset/D8": (112, 13.358834502463449, 180.00000000000009, "80c53d8d009c0da8"),
    "kernels_act_R2/D8": (207, 8.526285195267365, 322.0153051466614, "5e73b627f79d0b92"),
    "steerable_basis/Flip": (22, -1.0602502860508245, 22.0, "ffe8d0a0e2b4d3ed"),
    "steerable_basis_offset/Flip": (20, -5.674248875774658, 20.000000000000007, "954676aad5f75c19"),
    "kernels_act_R2/Flip": (66, 0.6278531798267029, 43.64349170224553, "5b5524139c280e8f"),
    "steerable_basis/SO2": (65, -0.014389137335960367, 119.00000000000001, "044e74640a4cb1ed"),
    "kernels_act_R2/SO2": (147, 11.64660852062067, 307.90219361286375, "63c4930748159897"),
    "steerable_basis/O2": (45, 5.642461515798219, 75.99999999999999, "d7bc79b9dddcdcc8"),
    "kernels_act_R2/O2": (96, 3.3821770704473346, 181.49382325134434, "cad1373c14dc2ae8"),
    "regular/C8": (88, 4.608347119842408, 153.9999999999995, "853ab9a48ca5bd3f"),
    "regular/D8": (176, 2.488396885279357, 308.000000000005, "639f98d68960c257"),
}


def test_bases_match_their_recorded_fingerprints():
    now = fingerprints()
    assert set(now) == set(RECORDED)
    for key, (n, weighted, squares, digest) in RECORDED.items():
        got = now[key]
        assert (got[0], got[3]) == (n, digest), key
        assert got[1] == pytest.approx(weighted, rel=1e-11, abs=1e-9), key
        assert got[2] == pytest.approx(squares, rel=1e-11), key
