"""The one list of documented deviations from e2cnn 0.2.3, shared by every parity and surface test.

``EXCLUDED``: names of e2cnn's public surface that structconv deliberately does not provide (or not with
e2cnn's signature), ``"module:Qualified.name"`` -> reason. ``DEVIATIONS``: numbers or behaviours that differ,
``(object, what)`` -> reason. Everything else must agree; a difference that is not listed here fails a test.
"""

from __future__ import annotations

EXCLUDED: dict[str, str] = {
    # ``name(*)`` excludes every parameter of one callable's signature (its existence is still checked).
}

DEVIATIONS: dict[tuple[str, str], str] = {
    ("InnerBatchNorm", "eval output"): (
        "eval mode runs one batch_norm over all channels, the very call of export(), so that the module "
        "and its export agree bit for bit; e2cnn normalises each field size separately, which rounds "
        "differently in the last float32 bit (<= 2e-6)"
    ),
    ("ConcatenatedNonLinearity", "construction"): (
        "e2cnn builds the output representation with pymanopt (an optional dependency it lacks here); "
        "the test builds e2cnn's module with the representation decomposed by structconv, and compares "
        "e2cnn's own matrices and outputs with ours"
    ),
    ("GatedNonLinearity1/2", "bias initialisation"): (
        "e2cnn draws the gate biases from N(0, 1); structconv starts them at 0 (sigmoid(g)). The "
        "parameters are synchronised before comparing; the layouts differ ((1, n, 1, 1) in e2cnn, "
        "(n,) here, in e2cnn's gate order)"
    ),
    ("Flip2dOnR2", "fibergroup identity"): (
        "the fiber group is e2cnn's C2 in every observable (name 'C2', order 2, elements 0/1, irreps "
        "'irrep_0'/'irrep_1' and their matrices, representations, subgroup ids 1/2, restrict; also the "
        "(axis, 1) subgroup of D_N / O(2)), but it is structconv.group.flip_group(), not the object "
        "cyclic_group(2) (== is False): structconv's groups carry their action on the plane (the element "
        "1 is a reflection here, the rotation by pi in Rot2dOnR2(2)), which the kernel bases and their "
        "caches read from the representations; in e2cnn only the gspace knows it "
        "(tests/test_e2cnn_group_parity.py::test_flip_gspace_group_matches)"
    ),
    ("FlipRot2dOnR2(N=1)", "construction"): (
        "accepted here (the group D1, kernels of one reflection, its (axis, 1) subgroup the flip C2); e2cnn "
        "raises ValueError for N=1 (tests/test_gspaces.py)"
    ),
    ("Group.is_element", "numpy scalars, non-finite angles"): (
        "numpy integer / floating scalars count as python ints / floats (the operations take them), and "
        "a NaN or infinite angle is not an element of SO(2) / O(2) (the operations refuse it); e2cnn answers "
        "the opposite on each. Everything else (ranges, tuple structure, types) is e2cnn's "
        "(test_e2cnn_group_parity.py::test_element_operations_match, IS_ELEMENT_DEVIATIONS)"
    ),
    ("Group.equal", "symmetry, rotation indices"): (
        "SO(2) / O(2): angles are equal when their distance modulo 2pi is <= 2pi*1e-9, symmetrically; e2cnn's "
        "window is one-sided (equal(0, 3e-9) is True, equal(3e-9, 0) False). C_N / D_N: rotation indices "
        "are compared modulo N, as every operation reads them (equal(5, 1) on C4 is True; e2cnn compares "
        "the raw values). On canonical elements both libraries agree "
        "(test_e2cnn_group_parity.py::test_element_operations_match)"
    ),
    ("Group.testing_elements", "return type"): (
        "the same elements in the same order (52 / 104 for SO(2) / O(2)), as a list instead of e2cnn's "
        "one-shot iterator (iterating works the same; a list can also be indexed and reused)"
    ),
    ("SO(2) / O(2) subgroup maps", "child map of a finite subgroup"): (
        "the child map into C_M / D_M returns the canonical element (rotation index reduced modulo M); "
        "e2cnn returns the unreduced index (e.g. -1 or 4 for C3), which its own is_element rejects. "
        "SO(2).subgroup(-1) (SO(2) itself) is accepted here, an AssertionError in e2cnn"
    ),
    ("IrreducibleRepresentation (user-defined)", "is_trivial, equality"): (
        "is_trivial() of an irrep built from a map is computed from its matrices (e2cnn: False unless it "
        "is the group's own trivial irrep); such irreps compare equal only to themselves (their map is "
        "opaque). Name clashes raise ValueError (e2cnn: AssertionError) "
        "(tests/test_group.py::test_user_defined_irreps_take_e2cnns_arguments)"
    ),
    ("*", "state_dict layout"): (
        "parameters and buffers keep structconv's layout (InnerBatchNorm: one weight/bias/statistic per field "
        "in field order, not one BatchNorm3d per field size; NormNonLinearity: log_bias per field in field "
        "order, e2cnn (1, n, 1, 1) in size order; gated biases (n,) not (1, n, 1, 1); MaskModule's mask is a "
        "non-persistent buffer, not a frozen Parameter): the numbers agree once the state is mapped, as the "
        "_sync_* helpers here do; structconv.compat.e2cnn.load_e2cnn_state_dict maps e2cnn checkpoints"
    ),
    ("GroupPooling", "export"): (
        "e2cnn exports GroupPooling to its own MaxPoolChannels module, which needs e2cnn to load; structconv "
        "exports a torch.fx GraphModule (amax over each field's channels) that loads with PyTorch alone "
        "(issue 16). The outputs are equal"
    ),
    ("*", "check_equivariance return value"): (
        "e2cnn returns the mean absolute error per element, structconv the maximum"
    ),
    ("R2Diffop with reflections", "kernel basis"): (
        "on D_N, O(2) and Flip2dOnR2, e2cnn 0.2.3's PDO basis is not equivariant to the gspace's "
        "reflections wherever the two irreps are joined by an odd angular frequency (e.g. trivial -> "
        "irrep_1,1, the gradient; irrep_1,1 -> irrep_1,2 on D6; every pair on Flip2dOnR2): flip errors "
        "~1-9 on a 3x3 operator, random input, exact grid action; structconv's basis is exactly "
        "equivariant. Matching it would break equivariance: the sizes agree, the spans agree for even "
        "frequencies and are orthogonal for the odd ones (so regular -> trivial on D4, which holds both, "
        "has a relative residual ~0.58); without reflections (C_N, SO(2)) the spans are equal. "
        "load_e2cnn_state_dict refuses such checkpoints with a clear error "
        "(test_e2cnn_nn_parity.py::test_r2diffop_with_reflections_deviation, "
        "tests/test_e2cnn_migration.py)"
    ),
}
