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
    ("R2Conv / R2Diffop / BasisExpansion", "raw weights"): (
        "the same raw `weights` vector is a different filter: structconv's basis spans the same space per "
        "block but its elements are another (orthonormal) choice and order, so a weight vector copied from "
        "e2cnn expands to another filter (max |diff| ~2 on C4 regular->regular 3x3). Convert checkpoints "
        "with structconv.compat.e2cnn.load_e2cnn_state_dict, which converts them to our basis; "
        "generalized_he_init gives e2cnn's filter distribution (test_init.py) "
        "(test_e2cnn_nn_parity.py::test_deviation_raw_weights_are_another_filter)"
    ),
    ("BasisExpansion.get_element_info / get_basis_info", "keys and ids"): (
        "no 'idx1'/'idx2' (e2cnn's inner indices of its per-irrep-pair bases) but an 's' key; the 'id' "
        "separator inside the attribute group is '|' with gamma to 4 decimals ('(0.0|0|0.0000|0)'), e2cnn "
        "'(0.0/0)_0'; in/out_irreps_position are the channel offset of the irrep inside its field's "
        "representation (0, 1, 2, 4, 6, 7 for D4's regular), e2cnn's are irrep indices (0..5), "
        "out_irreps_position counted over the whole output field type. Ids are stable and unique, "
        "not e2cnn's strings (test_e2cnn_nn_parity.py::test_deviation_basis_info_keys)"
    ),
    ("SO(2) / O(2)", "maximum_frequency"): (
        "groups (and gspaces, FieldTypes) built with different maximum_frequency are distinct objects and "
        "compare unequal; e2cnn keeps one SO(2)/O(2) whose irreps grow with every request, so "
        "Rot2dOnR2(-1, maximum_frequency=3) == Rot2dOnR2(-1, maximum_frequency=5) there. Build all layers of "
        "a model from one gspace (test_e2cnn_nn_parity.py::test_deviation_continuous_groups_by_frequency)"
    ),
    ("GeometricTensor", "accepted tensors"): (
        "refuses tensors that are not 4-D (ValueError) and integer / bool tensors (TypeError); e2cnn accepts "
        "any tensor whose dim 1 matches and fails later in a module "
        "(test_e2cnn_nn_parity.py::test_deviation_geometric_tensor_refuses)"
    ),
    ("NormNonLinearity / InducedNormNonLinearity", "parameters"): (
        "e2cnn registers eps as a frozen Parameter (requires_grad=False), so it appears in parameters() / "
        "state_dict and counts in parameter totals; structconv keeps eps a float: parameters() is "
        "['log_bias'] only (test_e2cnn_nn_parity.py::test_deviation_norm_nonlinearity_has_no_eps_parameter)"
    ),
    ("R2Conv / R2Diffop", "train() and the cached filter"): (
        "`filter` and `expanded_bias` are read-only properties that stay available after train() (the "
        "filter expanded from the current weights); e2cnn deletes the attributes in train() and re-creates "
        "them in eval() (test_e2cnn_nn_parity.py::test_deviation_filter_stays_after_train)"
    ),
    ("group.disentangle", "returned representations"): (
        "returns the original irreps / representations of the blocks (e.g. 'regular'), not copies renamed "
        "'<name>_<i>' ('regular_0') as e2cnn does; load_e2cnn_state_dict maps e2cnn's names "
        "(test_e2cnn_nn_parity.py::test_deviation_disentangle_returns_originals)"
    ),
    ("group.directsum", "name with a change of basis"): (
        "a direct sum built with a non-identity change_of_basis (and no name) is named e2cnn's way plus "
        "'@<hash of the change of basis>' ('[irrep_1]_[irrep_0]@1cbf8589'), so that two sums of the same "
        "irreps in different bases are different cached representations; e2cnn gives both the same name "
        "(test_e2cnn_nn_parity.py::test_deviation_directsum_name_hash)"
    ),
    ("quotient / induced representations", "supported_nonlinearities tags"): (
        "induced: {'gated', 'norm', 'induced_gated', 'induced_norm', 'induced_gated_<d>', 'induced_norm_<d>'} "
        "(+ 'pointwise', 'concatenated' when the inducing representation is pointwise, + 'induced_gate' when "
        "it is trivial); e2cnn also tags 'concatenated' always and has no bare 'induced_norm'/'induced_gated'. "
        "quotient: 'induced_norm'/'induced_gated' where e2cnn has 'induced_norm_1'/'induced_gated_1' (adding "
        "those aliases is not a tag-only change here: the induced modules read the '_<d>' tag as the "
        "sub-field structure, so quotient fields would start being accepted by InducedNormNonLinearity). "
        "The modules' own acceptance is compared in the sweep above "
        "(test_e2cnn_nn_parity.py::test_deviation_supported_nonlinearity_tags)"
    ),
    ("*", "exception types"): (
        "invalid arguments raise ValueError (TypeError for wrong types) with a message naming the argument "
        "and what is accepted, where e2cnn raises AssertionError (e.g. adding FieldTypes of different "
        "gspaces) (test_e2cnn_nn_parity.py::test_deviation_value_error_not_assertion)"
    ),
    ("EquivariantModule.check_equivariance", "signature and defaults"): (
        "same atol=1e-7, rtol=1e-5, plus keyword arguments assertion=True, verbose=False (e2cnn always "
        "prints every error) and full_space_action=True; the return value is the maximum error (see the "
        "'check_equivariance return value' entry) (test_e2cnn_nn_parity.py::test_deviation_check_equivariance)"
    ),
    ("R2Conv", "repr"): (
        "repr adds weights=<dimension> and prints the basis-expansion submodule; e2cnn's is one line "
        "'R2Conv([..], [..], kernel_size=3, stride=1)'. Not pinned (cosmetic)"
    ),
    ("e2cnn internal submodules", "not provided"): (
        "e2cnn.kernels.irreps_basis, e2cnn.kernels.utils (offset_iterator), e2cnn.group.utils and "
        "e2cnn.nn.modules.r2_conv are internals outside e2cnn's __all__; structconv has no modules of those "
        "names (ModuleNotFoundError). Their public classes/functions are exported where e2cnn exports them "
        "(test_e2cnn_nn_parity.py::test_deviation_internal_submodules_absent)"
    ),
    ("kernels.kernels_Flip_act_R2", "cyclic_group(2) representations"): (
        "accepts representations of flip_group() (Flip2dOnR2's fiber group) or D1, and refuses "
        "cyclic_group(2)'s (ValueError), which e2cnn's own code passes (its C2 element 1 read as the "
        "reflection). Not changed now: src/structconv/kernels has uncommitted work of another change "
        "(test_e2cnn_nn_parity.py::test_deviation_flip_kernels_refuse_c2)"
    ),
}
