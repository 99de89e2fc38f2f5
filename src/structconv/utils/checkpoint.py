r"""Checkpoints that remember the field types of equivariant layers, and a loader that checks them.

A plain ``state_dict`` of a steerable model holds coefficient vectors (``weights``) whose meaning
depends on the layers' field types: two layers with different types can have parameters of the same
shape, and loading one into the other then succeeds silently with a wrong model. :func:`typed_state_dict`
records, next to the tensors, the ``in_type`` and ``out_type`` of every module that has them (in the
state dict's ``_metadata``, which ``torch.save`` / ``torch.load(weights_only=True)`` keep and
``load_state_dict`` ignores), so the checkpoint stays an ordinary state dict. :func:`load_checkpoint`
compares those types and every tensor's shape with the model before loading, and names the layer and
the type on a mismatch.

Example:
    >>> from structconv.gspaces import Rot2dOnR2
    >>> from structconv.nn import FieldType, R2Conv
    >>> gs = Rot2dOnR2(4)
    >>> t_in = FieldType(gs, [gs.trivial_repr])
    >>> conv = R2Conv(t_in, FieldType(gs, [gs.regular_repr]), 3)
    >>> other = R2Conv(t_in, FieldType(gs, [gs.irrep(0), gs.irrep(1), gs.irrep(2)]), 3)
    >>> other.weights.shape == conv.weights.shape
    True
    >>> try:
    ...     load_checkpoint(other, typed_state_dict(conv))
    ... except ValueError as err:
    ...     print(str(err).replace(": layer", ":\nlayer").replace("but has", "\nbut has"))
    the checkpoint does not fit the model (nothing was loaded):
    layer '' (R2Conv) was saved with out_type [4-Rotations: {regular}]
    but has out_type [4-Rotations: {irrep_0, irrep_1, irrep_2}]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["typed_state_dict", "checkpoint_problems", "load_checkpoint", "TYPE_KEYS"]

#: the keys under which the field types are recorded in ``state_dict._metadata[layer]``
TYPE_KEYS = {"in_type": "structconv.in_type", "out_type": "structconv.out_type"}


def _layer_types(module: nn.Module) -> dict[str, str]:
    """``{"in_type": repr, "out_type": repr}`` for the attributes a module has (FieldType-like only)."""
    out = {}
    for attr in TYPE_KEYS:
        value = getattr(module, attr, None)
        if value is not None and hasattr(value, "gspace") and hasattr(value, "representations"):
            out[attr] = repr(value)
    return out


def _check_module(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model={type(model).__name__} is not accepted; expected a torch.nn.Module")
    return model


def typed_state_dict(model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """``model.state_dict()`` with the field types of its equivariant layers recorded in ``_metadata``.

    The tensors and keys are exactly those of ``model.state_dict()``; for every submodule with an
    ``in_type`` / ``out_type`` (a :class:`~structconv.nn.FieldType`), ``result._metadata[name]`` gets
    the entries ``"structconv.in_type"`` / ``"structconv.out_type"`` (the types' ``repr``, plain
    strings, so ``torch.load(weights_only=True)`` reads them).

    Args:
        model: any module.

    Returns:
        the state dict.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, InnerBatchNorm
        >>> gs = Rot2dOnR2(4)
        >>> sd = typed_state_dict(InnerBatchNorm(FieldType(gs, [gs.regular_repr])))
        >>> sd._metadata[""]["structconv.in_type"]
        '[4-Rotations: {regular}]'
    """
    state = _check_module(model).state_dict()
    metadata = getattr(state, "_metadata", None)
    if metadata is None:
        metadata = OrderedDict()
        state._metadata = metadata  # type: ignore[attr-defined]
    for name, module in model.named_modules():
        types = _layer_types(module)
        if types:
            entry = metadata.setdefault(name, {})
            for attr, text in types.items():
                entry[TYPE_KEYS[attr]] = text
    return state


def _describe(model: nn.Module, key: str) -> tuple[str, str]:
    """``(layer name, description)`` of the module owning state-dict entry ``key``."""
    layer, _, _ = key.rpartition(".")
    try:
        module = model.get_submodule(layer)
    except AttributeError:
        return layer, "?"
    types = _layer_types(module)
    text = type(module).__name__
    if types:
        text += ", " + ", ".join(f"{a} {t}" for a, t in types.items())
    return layer, text


def checkpoint_problems(model: nn.Module, state_dict: Mapping[str, Any]) -> list[str]:
    """Every way ``state_dict`` does not fit ``model``: field types, then tensor shapes.

    Field types are compared where the checkpoint recorded them (see :func:`typed_state_dict`); tensor
    shapes everywhere. Missing or unexpected keys are left to ``load_state_dict(strict=...)``.

    Args:
        model: the model to load into.
        state_dict: the checkpoint.

    Returns:
        one message per problem, each naming the layer (its name in ``model``, its class and its types).

    Example:
        >>> lin = torch.nn.Linear(3, 2)
        >>> checkpoint_problems(lin, torch.nn.Linear(4, 2).state_dict())
        ["layer '' (Linear): 'weight' has shape (2, 3) in the model but (2, 4) in the checkpoint"]
    """
    _check_module(model)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict={type(state_dict).__name__} is not accepted; expected a mapping")
    problems: list[str] = []
    metadata = getattr(state_dict, "_metadata", None) or {}
    modules = dict(model.named_modules())
    for name, entry in metadata.items():
        module = modules.get(name)
        if module is None or not isinstance(entry, Mapping):
            continue
        have = _layer_types(module)
        for attr, meta_key in TYPE_KEYS.items():
            saved = entry.get(meta_key)
            if saved is not None and saved != have.get(attr):
                problems.append(
                    f"layer {name!r} ({type(module).__name__}) was saved with {attr} {saved} but has "
                    f"{attr} {have.get(attr, '(none)')}"
                )
    own = model.state_dict()
    for key, value in state_dict.items():
        mine = own.get(key)
        if mine is None or not isinstance(value, torch.Tensor) or mine.shape == value.shape:
            continue
        layer, text = _describe(model, key)
        param = key.rpartition(".")[2]
        problems.append(
            f"layer {layer!r} ({text}): {param!r} has shape {tuple(mine.shape)} in the model but "
            f"{tuple(value.shape)} in the checkpoint"
        )
    return problems


def load_checkpoint(
    model: nn.Module, state_dict: Mapping[str, Any], strict: bool = True, allow_nonfinite: bool = False
) -> Any:
    """Check ``state_dict`` against ``model`` (see :func:`checkpoint_problems`), then load it, all or nothing.

    Field types, shapes, non-finite values (NaN or infinity in a floating-point tensor: a model that computes
    with them computes NaN; ``allow_nonfinite=True`` loads them) and (with ``strict=True``) missing and
    unexpected keys are checked before anything is written. Should the load still fail part-way (e.g. a
    tensor that cannot be copied), every parameter and buffer is restored to its value before the call, then
    the error is raised: on any failure the model is unchanged.

    Works in either mode: a checkpoint saved in train mode loads into a model in eval mode and vice
    versa (the state-dict keys of structconv layers do not depend on the mode, and what a layer derives from
    its parameters follows their loaded values).

    Args:
        model: the model to load into.
        state_dict: the checkpoint (from :func:`typed_state_dict` or a plain ``state_dict()``).
        strict: passed to :meth:`torch.nn.Module.load_state_dict`.
        allow_nonfinite: load floating-point tensors that hold NaN or infinity (refused by default).

    Returns:
        what :meth:`torch.nn.Module.load_state_dict` returns (missing and unexpected keys).

    Raises:
        ValueError: a field type or a tensor shape differs, a floating-point tensor holds NaN or infinity
            (unless ``allow_nonfinite``), or (``strict=True``) a key is missing or unexpected; the message
            names every such layer and key.
        TypeError: ``allow_nonfinite`` is not a bool.

    Example:
        >>> src, dst = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
        >>> load_checkpoint(dst, src.state_dict())
        <All keys matched successfully>
        >>> torch.equal(dst.weight, src.weight)
        True
    """
    if not isinstance(allow_nonfinite, bool):
        raise TypeError(f"allow_nonfinite={allow_nonfinite!r} is not accepted; expected True or False")
    problems = checkpoint_problems(model, state_dict)
    if not allow_nonfinite:
        for k, v in state_dict.items():
            if isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex()) and not v.is_meta:
                bad = int((~torch.isfinite(v.detach())).sum()) if v.layout == torch.strided else 0
                if bad:
                    problems.append(
                        f"key {k!r} holds {bad} non-finite value(s) (NaN or inf); pass allow_nonfinite=True "
                        "to load it anyway"
                    )
    if strict:
        own = model.state_dict()
        problems += [
            f"key {k!r} of the model is missing from the checkpoint" for k in own if k not in state_dict
        ]
        problems += [f"key {k!r} of the checkpoint is not in the model" for k in state_dict if k not in own]
    if problems:
        raise ValueError("the checkpoint does not fit the model (nothing was loaded): " + "; ".join(problems))
    backup = {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()}
    try:
        return model.load_state_dict(state_dict, strict=strict)
    except BaseException:
        with torch.no_grad():
            for k, v in model.state_dict(keep_vars=True).items():
                if k in backup:
                    v.copy_(backup[k])
        raise
