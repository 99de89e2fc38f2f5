"""Load e2cnn checkpoints into structconv models, without e2cnn installed.

An e2cnn model and the structconv model built by the same code (only the import changed) compute the same
function space, but not with the same coordinates: e2cnn stores one coefficient per element of *its*
steerable basis, structconv per element of its own, and the two bases of a pair of representations differ
by an invertible linear map (element order, normalisation, real/imaginary combinations). State-dict keys and
layouts differ too (e2cnn's ``InnerBatchNorm`` keeps one ``BatchNorm3d`` per field size, its
``NormBatchNorm`` stores ``2_running_var`` of shape ``(1, F, 1, 1, 1)``, ...).

:func:`load_e2cnn_state_dict` converts exactly, from the checkpoint alone. For every steerable convolution
(``R2Conv``, ``R2ConvTransposed``, ``R2Diffop``) an e2cnn checkpoint holds, besides ``weights``, the sampled
basis of every pair of representations (``_basisexpansion.block_expansion_('in', 'out').sampled_basis``,
``[D, out, in, P]``). For each pair the map ``T`` with ``B_e2cnn = T B_structconv`` is solved by least squares
(in float64; it is exact when the two bases span the same space, and the residual is checked), and the
coefficients of every pair of fields are mapped by it: the filter, hence the output, is unchanged. This needs
no knowledge of how e2cnn builds its bases, only of how it lays out its coefficients (pairs sorted by
``(input name, output name)``, each ``[output field, input field, D]``). Biases are mapped through the two
bias expansions (``bias_expansion``), and the batch-norm and non-linearity statistics are re-laid out per
field.

Example:
    >>> from structconv import gspaces, nn
    >>> gs = gspaces.Rot2dOnR2(4)
    >>> t = nn.FieldType(gs, [gs.regular_repr])
    >>> conv = nn.R2Conv(t, t, 3)
    >>> checkpoint = e2cnn_state_dict_of(conv)  # what e2cnn would save for this layer
    >>> fresh = nn.R2Conv(t, t, 3)
    >>> _ = load_e2cnn_state_dict(fresh, checkpoint)
    >>> x = nn.GeometricTensor(torch.randn(1, 4, 7, 7), t)
    >>> torch.allclose(fresh(x).tensor, conv(x).tensor, atol=1e-6)
    True
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["convert_e2cnn_state_dict", "load_e2cnn_state_dict", "e2cnn_state_dict_of"]

#: relative least-squares residual above which two sampled bases are said not to span the same space
BASIS_RESIDUAL_TOL = 1e-4

_BLOCK_KEY = re.compile(r"^_basisexpansion\.block_expansion_\('(?P<i>.*)', '(?P<o>.*)'\)\.sampled_basis$")
# buffers e2cnn stores that structconv derives from the field types (checked for shape only when present)
_STRUCTURAL_CONV = re.compile(r"^(bias_expansion|expanded_bias|filter|_basisexpansion\.(in|out)_indices_.*)$")


class E2cnnCheckpointError(ValueError):
    """The checkpoint does not fit the model; the message names the layer and the key."""


def _f64(t: Any) -> Tensor:
    return torch.as_tensor(t).detach().to(torch.float64).cpu()


def _field_counts(fields_by_repr: Mapping[str, list[int]]) -> dict[str, int]:
    return {name: len(fields) for name, fields in fields_by_repr.items()}


# ----------------------------------------------------------------------------- steerable convolutions


def _convert_conv(module: Any, sub: dict[str, Tensor], where: str) -> tuple[dict[str, Tensor], set[str]]:
    used: set[str] = set()
    if "weights" not in sub:
        raise E2cnnCheckpointError(
            f"layer {where!r} ({type(module).__name__}): the checkpoint has no 'weights'"
        )
    w_e2 = _f64(sub["weights"])
    used.add("weights")
    exp = module.basisexpansion
    layout = exp.layout()
    # e2cnn's basis of a transposed convolution maps the layer's input type to its output type (the filter
    # is transposed afterwards); structconv's maps the output type to the input type; pairs named as e2cnn.
    transposed = bool(getattr(module, "_transposed", False))
    e2_in: dict[str, list[int]] = {}
    e2_out: dict[str, list[int]] = {}
    for ro, ri, of, inf, _d, _start, _block in layout:
        if transposed:
            e2_in[ro.name], e2_out[ri.name] = of, inf
        else:
            e2_in[ri.name], e2_out[ro.name] = inf, of
    blocks = {}
    for key, value in sub.items():
        m = _BLOCK_KEY.match(key)
        if m:
            blocks[(m["i"], m["o"])] = _f64(value)
            used.add(key)
    # e2cnn's coefficient layout: pairs sorted by (input name, output name), each [out field, in field, D]
    ranges: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    pos = 0
    for pair in sorted(blocks):
        d = blocks[pair].shape[0]
        n_in, n_out = len(e2_in.get(pair[0], [])), len(e2_out.get(pair[1], []))
        if n_in == 0 or n_out == 0:
            raise E2cnnCheckpointError(
                f"layer {where!r} ({type(module).__name__}): the checkpoint has a basis for the pair {pair} "
                "that the layer's field types do not contain"
            )
        ranges[pair] = (pos, n_out, n_in, d)
        pos += n_out * n_in * d
    if pos != w_e2.numel():
        raise E2cnnCheckpointError(
            f"layer {where!r} ({type(module).__name__}): 'weights' has {w_e2.numel()} entries but the "
            f"checkpoint's bases account for {pos}"
        )
    weights = torch.zeros(exp.dimension(), dtype=torch.float64)
    for ro, ri, _of, _inf, d, start, block in layout:
        if block is None:
            continue
        pair = (ro.name, ri.name) if transposed else (ri.name, ro.name)
        if pair not in ranges:
            raise E2cnnCheckpointError(
                f"layer {where!r} ({type(module).__name__}): the checkpoint has no basis for the "
                f"representation pair {pair} (key _basisexpansion.block_expansion_{pair}.sampled_basis)"
            )
        start_e2, n_out_e2, n_in_e2, d_e2 = ranges[pair]
        b_e2 = blocks[pair]
        if transposed:  # e2cnn's [D, out, in, P] is our [D, in, out, P]
            b_e2 = b_e2.transpose(1, 2)
        b_e2 = b_e2.reshape(d_e2, -1)
        b_ours = copy.deepcopy(block).double()(torch.eye(d, dtype=torch.float64)).reshape(d, -1)
        if b_ours.shape[1] != b_e2.shape[1]:
            raise E2cnnCheckpointError(
                f"layer {where!r}: the basis of pair {pair} has blocks of {b_e2.shape[1]} entries in the "
                f"checkpoint and {b_ours.shape[1]} in the layer (kernel size or representations differ)"
            )
        # B_e2 = T B_ours: solve B_ours^T T^T = B_e2^T
        sol = torch.linalg.lstsq(b_ours.T, b_e2.T, driver="gelsd").solution  # [d, d_e2]
        residual = (b_ours.T @ sol - b_e2.T).norm() / b_e2.norm().clamp_min(1e-300)
        if d != d_e2 or residual > BASIS_RESIDUAL_TOL:
            raise E2cnnCheckpointError(
                f"layer {where!r} ({type(module).__name__}): the kernel basis of the pair {pair} "
                f"does not span the same space as the checkpoint's (sizes {d} and {d_e2}, relative residual "
                f"{float(residual):.2g}); build the layer with the same kernel_size, rings, sigma and "
                "frequencies_cutoff as the e2cnn model"
            )
        coeff = w_e2[start_e2 : start_e2 + n_out_e2 * n_in_e2 * d_e2].reshape(n_out_e2, n_in_e2, d_e2)
        if transposed:  # e2cnn: [layer out field, layer in field]; structconv: [layer in, layer out]
            coeff = coeff.transpose(0, 1)
        weights[start : start + n_out_e2 * n_in_e2 * d] = (coeff.reshape(-1, d_e2) @ sol.T).reshape(-1)
    out = {"weights": weights}
    if module.bias is not None:
        if "bias" not in sub or "bias_expansion" not in sub:
            raise E2cnnCheckpointError(
                f"layer {where!r} ({type(module).__name__}): the layer has a bias but the checkpoint lacks "
                "'bias' or 'bias_expansion'"
            )
        target = _f64(sub["bias_expansion"]) @ _f64(sub["bias"])
        from structconv.nn.r2conv import _bias_expansion

        ours = torch.from_numpy(_bias_expansion(module.out_type))
        sol = torch.linalg.lstsq(ours, target[:, None], driver="gelsd").solution[:, 0]
        if (ours @ sol - target).norm() > 1e-6 * max(1.0, float(target.norm())):
            raise E2cnnCheckpointError(
                f"layer {where!r}: the checkpoint's bias cannot be expressed by the layer's"
            )
        out["bias"] = sol
        used |= {"bias", "bias_expansion"}
    elif "bias" in sub:
        raise E2cnnCheckpointError(
            f"layer {where!r} ({type(module).__name__}): the checkpoint has a bias, the layer none"
        )
    used |= {k for k in sub if _STRUCTURAL_CONV.match(k)}
    return out, used


# ----------------------------------------------------------------------------- batch norms, non-linearities


def _fields_by_size(in_type: Any) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, rep in enumerate(in_type.representations):
        groups[rep.size].append(i)
    return groups


def _fields_by_name(in_type: Any) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, rep in enumerate(in_type.representations):
        groups[rep.name].append(i)
    return groups


def _scatter(n: int, groups: Mapping[Any, list[int]], values: Mapping[Any, Tensor]) -> Tensor:
    """Per-field vector of length ``n`` from per-group rows (``values[g][j]``: j-th field of group g)."""
    out: list[Tensor | None] = [None] * n
    for g, fields in groups.items():
        rows = values[g]
        for j, f in enumerate(fields):
            out[f] = rows[j]
    return (
        torch.stack([t for t in out if t is not None]) if all(t is not None for t in out) else torch.empty(0)
    )


def _need(sub: Mapping[str, Tensor], key: str, where: str, module: Any) -> Tensor:
    if key not in sub:
        raise E2cnnCheckpointError(f"layer {where!r} ({type(module).__name__}): the checkpoint lacks {key!r}")
    return sub[key].detach()


def _convert_inner_bn(module: Any, sub: dict[str, Tensor], where: str) -> tuple[dict[str, Tensor], set[str]]:
    groups = _fields_by_size(module.in_type)
    n = len(module.in_type)
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    names = [k for k in ("weight", "bias", "running_mean", "running_var") if k in module.state_dict()]
    for name in names:
        per = {}
        for s in groups:
            key = f"batch_norm_[{s}].{name}"
            per[s] = _need(sub, key, where, module)
            used.add(key)
        out[name] = _scatter(n, groups, per)
    if "num_batches_tracked" in module.state_dict():
        key = f"batch_norm_[{next(iter(groups))}].num_batches_tracked"
        out["num_batches_tracked"] = _need(sub, key, where, module).clone()
        used |= {f"batch_norm_[{s}].num_batches_tracked" for s in groups}
    used |= {k for k in sub if k.startswith("indices_")}
    return out, used


def _convert_norm_bn(module: Any, sub: dict[str, Tensor], where: str) -> tuple[dict[str, Tensor], set[str]]:
    groups = _fields_by_size(module.in_type)
    n = len(module.in_type)
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for name in ("weight", "running_var"):
        if name not in module.state_dict():
            continue
        per = {}
        for s in groups:
            key = f"{s}_{name}"
            per[s] = _need(sub, key, where, module).reshape(-1)
            used.add(key)
        out[name] = _scatter(n, groups, per)
    if "num_batches_tracked" in module.state_dict():
        out["num_batches_tracked"] = _need(sub, "num_batches_tracked", where, module).clone()
        used.add("num_batches_tracked")
    used |= {k for k in sub if k.endswith("_indices")}
    return out, used


def _convert_gnorm_bn(module: Any, sub: dict[str, Tensor], where: str) -> tuple[dict[str, Tensor], set[str]]:
    groups = _fields_by_name(module.in_type)
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for name in ("weight", "bias", "running_mean", "running_var"):
        if name not in module.state_dict():
            continue
        # structconv lays the blocks out per representation (in order of first appearance), then per field
        rows: list[Tensor] = []
        for rname, fields in groups.items():
            key = f"{rname}_{name}"
            table = _need(sub, key, where, module)
            used.add(key)
            rows += [table[j].reshape(-1) for j in range(len(fields))]
        out[name] = torch.cat(rows)
    if "num_batches_tracked" in module.state_dict():
        out["num_batches_tracked"] = _need(sub, "num_batches_tracked", where, module).clone()
        used.add("num_batches_tracked")
    used |= {
        k
        for k in sub
        if k.startswith(("vars_aggregator_", "vars_propagator_"))
        or k.endswith("_indices")
        or k.endswith(("_change_of_basis", "_change_of_basis_inv"))
    }
    return out, used


def _convert_norm_nonlinearity(
    module: Any, sub: dict[str, Tensor], where: str
) -> tuple[dict[str, Tensor], set[str]]:
    used: set[str] = set()
    out: dict[str, Tensor] = {}
    if "log_bias" in module.state_dict():
        # e2cnn orders the biases by field size (ascending), then by position; structconv by position
        e2 = _need(sub, "log_bias", where, module).reshape(-1)
        sizes = [r.size for r in module.in_type.representations]
        order = [i for size in sorted(set(sizes)) for i, s in enumerate(sizes) if s == size]
        if e2.numel() != len(order):
            raise E2cnnCheckpointError(
                f"layer {where!r} ({type(module).__name__}): 'log_bias' has {e2.numel()} entries, the layer "
                f"{len(order)} fields"
            )
        ours = torch.empty_like(e2)
        ours[torch.tensor(order)] = e2
        out["log_bias"] = ours
        used.add("log_bias")
    used |= {k for k in sub if k == "eps" or k.startswith("indices_")}
    return out, used


#: buffers e2cnn saves that structconv derives from the field types and hyper-parameters
_STRUCTURAL = re.compile(r"^(mask|filter|(in_|out_)?indices_\d+|\d+_indices|.*_indices)$")


def _structural_keys(
    module: nn.Module,
    prefix: str,
    state_dict: Mapping[str, Any],
    own: Mapping[str, Any],
    where: str,
    problems: list[str],
) -> set[str]:
    """e2cnn's derived buffers of ``module`` (``mask``, pooling ``filter``, channel indices): accepted when
    structconv derives the same tensor (compared where the module exposes it under the same name)."""
    used = set()
    for key, value in state_dict.items():
        if not key.startswith(prefix) or key in own:
            continue
        local = key[len(prefix) :]
        if "." in local or not _STRUCTURAL.match(local):
            continue
        mine = getattr(module, local, None)
        if isinstance(mine, Tensor) and mine.shape == torch.as_tensor(value).shape:
            if not torch.allclose(_f64(mine), _f64(value), atol=1e-6):
                problems.append(
                    f"layer {where!r} ({type(module).__name__}): {local!r} differs from the checkpoint's "
                    "(built with other arguments?)"
                )
        used.add(key)
    return used


Converter = Callable[[Any, dict[str, Tensor], str], tuple[dict[str, Tensor], set[str]]]


def _converters() -> list[tuple[type, Converter]]:
    from structconv import nn as snn
    from structconv.nn.r2conv import _SteerableConv

    table: list[tuple[type, Converter]] = [
        (_SteerableConv, _convert_conv),
        (snn.InnerBatchNorm, _convert_inner_bn),
        (snn.NormBatchNorm, _convert_norm_bn),
        (snn.GNormBatchNorm, _convert_gnorm_bn),
        (snn.NormNonLinearity, _convert_norm_nonlinearity),
    ]
    return table


# ----------------------------------------------------------------------------- public API


def convert_e2cnn_state_dict(model: nn.Module, state_dict: Mapping[str, Any]) -> dict[str, Tensor]:
    """The structconv state dict of ``model`` equivalent to an e2cnn ``state_dict`` (nothing is loaded).

    Args:
        model: the structconv model, built by the same code as the e2cnn model (same field types, kernel
            sizes and basis arguments; module names follow the code, as in e2cnn).
        state_dict: the e2cnn model's ``state_dict()``, saved in train or eval mode.

    Returns:
        a state dict with exactly the keys of ``model.state_dict()``, in the dtype of ``model``'s tensors.

    Raises:
        ValueError: a key of the checkpoint that no layer of ``model`` accounts for, a key the model needs
            the checkpoint lacks, or a layer whose bases or shapes do not match; the message names the layer.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model={type(model).__name__} is not accepted; expected a torch.nn.Module")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict={type(state_dict).__name__} is not accepted; expected a mapping")
    table = _converters()
    own = model.state_dict()
    problems: list[str] = []
    result: dict[str, Tensor] = {}
    consumed: set[str] = set()
    claimed: list[str] = []
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if any(prefix.startswith(c) for c in claimed):
            continue
        convert = next((fn for cls, fn in table if isinstance(module, cls)), None)
        if convert is None:  # its own parameters and buffers under the same names, plus e2cnn's structure
            persistent = [b for b in module._buffers if b not in module._non_persistent_buffers_set]
            for local in list(module._parameters) + persistent:
                key = prefix + local
                if key in own and key in state_dict:
                    result[key] = torch.as_tensor(state_dict[key])
                    consumed.add(key)
            consumed |= _structural_keys(module, prefix, state_dict, own, name, problems)
            continue
        sub = {k[len(prefix) :]: torch.as_tensor(v) for k, v in state_dict.items() if k.startswith(prefix)}
        converted, used = convert(module, sub, name)
        claimed.append(prefix)
        consumed |= {prefix + k for k in used}
        for k, v in converted.items():
            result[prefix + k] = v
    problems = [
        f"key {k!r} of the checkpoint matches no layer of the model" for k in state_dict if k not in consumed
    ]
    problems += [
        f"key {k!r} of the model has no counterpart in the checkpoint" for k in own if k not in result
    ]
    for k, v in result.items():
        if k in own and tuple(v.shape) != tuple(own[k].shape):
            problems.append(
                f"key {k!r}: shape {tuple(v.shape)} from the checkpoint, {tuple(own[k].shape)} in the model"
            )
    if problems:
        raise E2cnnCheckpointError(
            "the e2cnn checkpoint does not fit the model (nothing was loaded): " + "; ".join(problems)
        )
    return {k: result[k].to(dtype=own[k].dtype, device=own[k].device) for k in own}


def load_e2cnn_state_dict(model: nn.Module, state_dict: Mapping[str, Any]) -> nn.Module:
    """Load an e2cnn checkpoint into the structconv model built by the same code; eval outputs are identical.

    Works without e2cnn installed: everything needed is in the checkpoint (see the module docstring). The
    load is all or nothing: on any error the model is unchanged.

    Args:
        model: the structconv model.
        state_dict: the e2cnn model's ``state_dict()`` (train or eval mode).

    Returns:
        ``model``.

    Raises:
        ValueError: the checkpoint does not fit the model (the message names the layer and the key).

    Example:
        >>> from structconv import gspaces, nn
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> t = nn.FieldType(gs, [gs.regular_repr])
        >>> model = nn.SequentialModule(nn.R2Conv(t, t, 3), nn.InnerBatchNorm(t))
        >>> _ = load_e2cnn_state_dict(model, e2cnn_state_dict_of(model))
    """
    from structconv.utils import load_checkpoint

    load_checkpoint(model, convert_e2cnn_state_dict(model, state_dict))
    return model


def e2cnn_state_dict_of(model: nn.Module) -> dict[str, Tensor]:
    """The checkpoint e2cnn would save for ``model``'s steerable convolutions and batch norms (for tests and
    examples only: it uses structconv's own bases, so it checks the layout, not the change of basis).

    Args:
        model: a structconv model made of the layers :func:`load_e2cnn_state_dict` converts.

    Returns:
        a state dict in e2cnn's layout.
    """
    table = _converters()
    out: dict[str, Tensor] = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        kind = next((fn for cls, fn in table if isinstance(module, cls)), None)
        if kind is _convert_conv:
            layout = module.basisexpansion.layout()
            pairs = sorted((ri.name, ro.name) for ro, ri, *_rest, block in layout if block is not None)
            chunks = []
            by_pair = {
                (ri.name, ro.name): (of, inf, d, start, block) for ro, ri, of, inf, d, start, block in layout
            }
            for pair in pairs:
                of, inf, d, start, block = by_pair[pair]
                basis = copy.deepcopy(block).double()(torch.eye(d, dtype=torch.float64))
                out[f"{prefix}_basisexpansion.block_expansion_{pair}.sampled_basis"] = basis
                chunks.append(module.weights.detach().double()[start : start + len(of) * len(inf) * d])
            out[prefix + "weights"] = torch.cat(chunks)
            if module.bias is not None:
                out[prefix + "bias"] = module.bias.detach().clone()
                out[prefix + "bias_expansion"] = module.bias_expansion.detach().double()
        elif kind is _convert_inner_bn:
            for s, fields in _fields_by_size(module.in_type).items():
                idx = torch.tensor(fields)
                for k in ("weight", "bias", "running_mean", "running_var"):
                    out[f"{prefix}batch_norm_[{s}].{k}"] = getattr(module, k).detach()[idx].clone()
                out[f"{prefix}batch_norm_[{s}].num_batches_tracked"] = module.num_batches_tracked.clone()
        elif kind is None:
            for k, v in module.state_dict(keep_vars=False).items():
                if "." not in k:
                    out[prefix + k] = v.clone()
    return out
