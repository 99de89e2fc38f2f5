"""The one list of documented deviations from e2cnn 0.2.3, shared by every parity and surface test.

``EXCLUDED``: names of e2cnn's public surface that structconv deliberately does not provide (or not with
e2cnn's signature), ``"module:Qualified.name"`` -> reason. ``DEVIATIONS``: numbers or behaviours that differ,
``(object, what)`` -> reason. Everything else must agree; a difference that is not listed here fails a test.
"""

from __future__ import annotations

EXCLUDED: dict[str, str] = {
    # ``name(*)`` excludes every parameter of one callable's signature (its existence is still checked).
    "group:IrreducibleRepresentation(*)": "irreps are built by their group (Group.irrep / G.irreps), which "
    "knows their closed form: structconv's groups have a fixed, analytically known set of irreps used by the "
    "kernel bases, so a user-defined irrep from an arbitrary function is not supported; every attribute of an "
    "irrep instance (name, size, attributes, sum_of_squares_constituents, ...) is checked",
}

DEVIATIONS: dict[tuple[str, str], str] = {
    ("quotient / induced representations", "change_of_basis"): (
        "same irreps in the same order and the same matrices at every element, but a different orthonormal "
        "basis inside the isotypic components: e2cnn's comes out of its numerical decomposition; ours is "
        "built by group averaging. Kernels between such fields span the same space"
    ),
    ("Flip2dOnR2 / D1", "irrep names"): (
        "e2cnn models the flip group as C2 ('irrep_0', 'irrep_1'); structconv as D1 ('irrep_0,0', "
        "'irrep_1,0'). Flip2dOnR2.irrep(j) and restrict(1) accept e2cnn's ids; matrices and kernels agree"
    ),
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
    ("Flip2dOnR2", "irrep names"): (
        "the flip group is D1 here (irreps 'irrep_0,0', 'irrep_1,0'), C2 in e2cnn ('irrep_0', 'irrep_1'); "
        "the matrices agree (see also tests/test_e2cnn_group_parity.py)"
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
    ),    ("R2Diffop on D_N", "kernel basis"): (
        "for regular -> trivial fields on D4 the steerable PDO basis has e2cnn's size but spans another "
        "space (least-squares residual ~0.6), found by the checkpoint migration; "
        "load_e2cnn_state_dict refuses such checkpoints with a clear error (tests/test_e2cnn_migration.py)"
    ),
}
