"""Load e2cnn checkpoints into structconv models, without e2cnn installed.

An e2cnn model and the structconv model built by the same code (only the import changed) compute the same
function space, but not with the same coordinates: e2cnn stores one coefficient per element of *its*
steerable basis, structconv per element of its own, and the two bases of a pair of representations differ
by an invertible linear map (element order, normalisation, real/imaginary combinations). **The same raw
``weights`` vector therefore means a different filter in the two libraries**: copying it (or loading an
e2cnn ``state_dict`` with ``load_state_dict``) gives a different network. State-dict keys and layouts
differ too (e2cnn's ``InnerBatchNorm`` keeps one ``BatchNorm3d`` per field size, its ``NormBatchNorm``
stores ``2_running_var`` of shape ``(1, F, 1, 1, 1)``, its gated non-linearities a bias of shape
``(1, F, 1, 1)``, ...). Use :func:`load_e2cnn_state_dict`.

How the conversion works, from the checkpoint alone:

* **Steerable convolutions** (``R2Conv``, ``R2ConvTransposed``, ``R2Diffop``). An e2cnn checkpoint holds,
  besides ``weights``, the sampled basis of every pair of representations
  (``_basisexpansion.block_expansion_('in', 'out').sampled_basis``, ``[D, out, in, P]``). For each pair the
  map :math:`T` with :math:`B_{e2cnn} = T B_{structconv}` is solved by least squares in float64 (exact when
  the two bases span the same space; the relative residual is checked against
  :data:`BASIS_RESIDUAL_TOL`), and the coefficients of every pair of fields are mapped by it,
  :math:`w_{structconv} = T^\\top w_{e2cnn}`: the filter :math:`w^\\top B`, hence the output, is unchanged.
  This needs no knowledge of how e2cnn builds its bases, only of how it lays out its coefficients (pairs
  sorted by ``(input name, output name)``, each ``[output field, input field, D]``). Biases are mapped
  through the two bias expansions (``bias_expansion``).
* **Representation names.** e2cnn keys its bases and some batch-norm statistics by representation name,
  and names are not always the same in the two libraries (e2cnn calls the parts of a disentangled
  representation ``<name>_<i>`` even when it does not split; the flip group's irreps are ``irrep_0`` /
  ``irrep_1`` in e2cnn and ``irrep_0,0`` / ``irrep_1,0`` here). Each name of the checkpoint is matched to
  fields of the layer, per field, by, in order: the channel indices e2cnn saved with it (when its fields
  are not contiguous), e2cnn's name of each field (the model's disentangle modules are followed), the same
  name, e2cnn's name for a representation (disentangled parts, the flip group's irreps), or the only
  representation of the layer of that size left unmatched. An ambiguous match is an error, never a guess.
* **Batch norms, norm and gated non-linearities.** Their statistics, scales and biases are re-laid out per
  field (e2cnn groups fields by size, by ``(size, sub-field size)`` or by representation name).
* **Everything else** is derived from the field types and hyper-parameters (channel indices, masks,
  anti-aliasing filters, changes of basis); such keys are accepted, and compared with the layer's own
  tensor where the layer exposes one (a mask or filter built with other arguments is an error).

The load is all or nothing, and a key of the checkpoint that no layer accounts for, a key the model needs
that the checkpoint lacks, or a layer whose bases or shapes do not match is an error naming the layer.
``docs/migration.md`` has the coverage table, the measured accuracy and the limits.

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "BASIS_RESIDUAL_TOL",
    "E2cnnCheckpointError",
    "convert_e2cnn_state_dict",
    "load_e2cnn_state_dict",
    "e2cnn_state_dict_of",
]

#: relative least-squares residual above which two sampled bases are said not to span the same space
BASIS_RESIDUAL_TOL = 1e-4

_BLOCK_KEY = re.compile(r"^_basisexpansion\.block_expansion_\('(?P<i>.*)', '(?P<o>.*)'\)\.sampled_basis$")
_INDEX_KEY = re.compile(r"^_basisexpansion\.(?P<side>in|out)_indices_\('(?P<i>.*)', '(?P<o>.*)'\)$")
# buffers e2cnn stores that structconv derives from the field types
_STRUCTURAL_CONV = re.compile(r"^(bias_expansion|expanded_bias|filter|_basisexpansion\.(in|out)_indices_.*)$")
_INDUCED_TAG = re.compile(r"^induced_norm_(\d+)$")
# the flip group's irreps: e2cnn names them as C2's
_FLIP_IRREPS = {"irrep_0": "irrep_0,0", "irrep_1": "irrep_1,0"}


class E2cnnCheckpointError(ValueError):
    """The checkpoint does not fit the model; the message names the layer and the key."""


def _f64(t: Any) -> Tensor:
    return torch.as_tensor(t).detach().to(torch.float64).cpu()


def _fail(where: str, module: Any, message: str) -> E2cnnCheckpointError:
    return E2cnnCheckpointError(f"layer {where!r} ({type(module).__name__}): {message}")


def _need(sub: Mapping[str, Tensor], key: str, where: str, module: Any) -> Tensor:
    if key not in sub:
        raise _fail(where, module, f"the checkpoint lacks {key!r}")
    return sub[key].detach()


# ----------------------------------------------------------------------------- representation names


class _Names:
    """e2cnn's names of structconv's fields, from the model's disentangle modules.

    e2cnn calls the ``i``-th part of a disentangled representation ``<name>_<i>``, split or not (structconv
    returns a representation that does not split unchanged, and reuses known representations as parts).
    For every ``DisentangleModule`` of the model this records the e2cnn name of each field of its output
    type (``labelings``) and of each part's representation (``aliases``), following chains of them.
    """

    def __init__(self, model: nn.Module) -> None:
        from structconv.group import disentangle
        from structconv.nn import DisentangleModule

        self.aliases: dict[tuple[Any, str], str] = {}
        self._labels: list[tuple[Any, list[str]]] = []
        for module in model.modules():
            if not isinstance(module, DisentangleModule):
                continue
            group = module.in_type.fibergroup
            in_labels = self.labelings(module.in_type)[0]
            out_labels = []
            for label, rep in zip(in_labels, module.in_type.representations):
                for i, part in enumerate(disentangle(rep)[1]):
                    out_labels.append(f"{label}_{i}")
                    self.aliases[(group, f"{label}_{i}")] = part.name
            self._labels.append((module.out_type, out_labels))

    def labelings(self, ftype: Any) -> list[list[str]]:
        """Candidate e2cnn names of the fields of ``ftype``, most specific first."""
        found = [labels for t, labels in self._labels if t == ftype]
        return [*found, [r.name for r in ftype.representations]]

    def ours(self, group: Any, e2_name: str) -> list[str]:
        """Candidate structconv names of an e2cnn name, best first."""
        names = [e2_name]
        if (group, e2_name) in self.aliases:
            names.append(self.aliases[(group, e2_name)])
        if group.order() == 2 and e2_name in _FLIP_IRREPS and _FLIP_IRREPS[e2_name] in group.irreps:
            names.append(_FLIP_IRREPS[e2_name])
        return names


def _channel_fields(ftype: Any) -> list[int]:
    return [i for i, rep in enumerate(ftype.representations) for _ in range(rep.size)]


def _resolve(
    ftype: Any,
    e2_sizes: Mapping[str, int],
    channels: Mapping[str, Sequence[int]],
    names: _Names,
    where: str,
    module: Any,
) -> dict[str, list[int]]:
    """The fields of ``ftype`` that each e2cnn representation name of a layer stands for (see the module
    docstring); ``e2_sizes``: name -> representation size; ``channels``: name -> channels, where known."""
    reps = ftype.representations
    owner = _channel_fields(ftype)
    hinted: dict[str, list[int]] = {}
    for name, chans in channels.items():
        if name in e2_sizes:
            if any(c < 0 or c >= len(owner) for c in chans):
                raise _fail(where, module, f"the checkpoint's channels of {name!r} exceed the layer's type")
            hinted[name] = sorted({owner[int(c)] for c in chans})
    # a naming of every field (e2cnn's, where a disentangle module made the type) that explains the checkpoint
    for labels in names.labelings(ftype):
        assign = {n: [i for i, label in enumerate(labels) if label == n] for n in e2_sizes}
        if all(assign.values()) and all(assign[n] == f for n, f in hinted.items()):
            return _checked(assign, reps, e2_sizes, where, module)
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, rep in enumerate(reps):
        by_name[rep.name].append(i)
    out = dict(hinted)
    for name in e2_sizes:
        if name not in out:
            match = next((n for n in names.ours(ftype.fibergroup, name) if n in by_name), None)
            if match is not None:
                out[name] = list(by_name[match])
    left = [n for n in e2_sizes if n not in out]
    taken = {f for fields in out.values() for f in fields}
    free = {n: fs for n, fs in by_name.items() if not taken.intersection(fs)}
    for name in left:
        same = [n for n, fs in free.items() if reps[fs[0]].size == e2_sizes[name]]
        rivals = [m for m in left if e2_sizes[m] == e2_sizes[name]]
        if len(same) != 1 or len(rivals) != 1:
            raise _fail(
                where,
                module,
                f"the checkpoint's representation {name!r} (size {e2_sizes[name]}) matches no single "
                f"representation of the layer's type ({sorted(by_name)}); build the layer with the same "
                "field types as the e2cnn model",
            )
        out[name] = list(free.pop(same[0]))
    return _checked(out, reps, e2_sizes, where, module)


def _checked(
    assign: dict[str, list[int]], reps: Sequence[Any], e2_sizes: Mapping[str, int], where: str, module: Any
) -> dict[str, list[int]]:
    seen: dict[int, str] = {}
    for name, fields in assign.items():
        for f in fields:
            if f in seen:
                raise _fail(
                    where,
                    module,
                    f"the checkpoint's representations {seen[f]!r} and {name!r} both match field {f} of the "
                    "layer's type",
                )
            if reps[f].size != e2_sizes[name]:
                raise _fail(
                    where,
                    module,
                    f"the checkpoint's representation {name!r} has size {e2_sizes[name]}, field {f} of the "
                    f"layer ({reps[f].name!r}) size {reps[f].size}",
                )
            seen[f] = name
    return assign


def _positions(assign: Mapping[str, list[int]]) -> dict[int, tuple[str, int]]:
    """field -> (e2cnn name, position of the field among that name's fields)."""
    return {f: (name, j) for name, fields in assign.items() for j, f in enumerate(fields)}


# ----------------------------------------------------------------------------- steerable convolutions


def _sides(module: Any) -> tuple[Any, Any]:
    """The field types e2cnn's basis maps from and to (the layer's, with ``groups`` the first group's)."""
    g = int(getattr(module, "groups", 1))

    def first(ftype: Any) -> Any:
        return ftype if g == 1 else ftype.index_select(list(range(len(ftype) // g)))

    if getattr(module, "_transposed", False):
        return module.in_type, first(module.out_type)
    return first(module.in_type), module.out_type


def _basis_map(b_ours: Tensor, b_e2: Tensor) -> tuple[Tensor, float]:
    """``X`` minimising ``|B_ours^T X - B_e2^T|`` (``B``: ``[D, entries]``, float64), so that
    ``B_e2 = X^T B_ours``, and that relative residual (the relative error of every filter built from the
    mapped coefficients).

    Steerable bases are well conditioned (condition numbers of a few units), and then the normal equations,
    solved by Cholesky, are exact to float64 rounding at a fraction of an SVD's cost; a basis whose
    condition number (estimated by power iterations on the Gram matrix and its inverse) exceeds 100 goes
    through LAPACK's SVD-based least squares instead.
    """
    gram = b_ours @ b_ours.T
    factor, info = torch.linalg.cholesky_ex(gram)
    if int(info) == 0 and _gram_condition(gram, factor) <= 1e4:
        sol = torch.cholesky_solve(b_ours @ b_e2.T, factor)
    else:
        sol = torch.linalg.lstsq(b_ours.T, b_e2.T, driver="gelsd").solution
    return sol, float((b_ours.T @ sol - b_e2.T).norm() / b_e2.norm().clamp_min(1e-300))


def _gram_condition(gram: Tensor, factor: Tensor, steps: int = 30) -> float:
    """An estimate of the condition number of a positive definite matrix (power iterations on it and on
    its inverse, through its Cholesky factor)."""
    v = (
        torch.ones(gram.shape[0], 1, dtype=gram.dtype)
        + 0.01 * torch.arange(gram.shape[0], dtype=gram.dtype)[:, None]
    )
    u = v.clone()
    top = low = 1.0
    for _ in range(steps):
        v = gram @ v
        top = float(v.norm())
        v = v / top
        u = torch.cholesky_solve(u, factor)
        low = float(u.norm())
        u = u / low
    return top * low


def _convert_conv(
    module: Any, sub: dict[str, Tensor], where: str, names: _Names
) -> tuple[dict[str, Tensor], set[str]]:
    w_e2 = _f64(_need(sub, "weights", where, module))
    used = {"weights"}
    transposed = bool(getattr(module, "_transposed", False))
    e2_in_type, e2_out_type = _sides(module)
    blocks: dict[tuple[str, str], Tensor] = {}
    chans: dict[str, dict[str, list[int]]] = {"in": {}, "out": {}}
    for key, value in sub.items():
        m = _BLOCK_KEY.match(key)
        if m:
            blocks[(m["i"], m["o"])] = _f64(value)
            used.add(key)
        m = _INDEX_KEY.match(key)
        if m:  # only fields that are not contiguous have their channel indices saved
            chans[m["side"]][m["i"] if m["side"] == "in" else m["o"]] = (
                torch.as_tensor(value).unique().tolist()
            )
    in_sizes = {i: int(b.shape[2]) for (i, _o), b in blocks.items()}
    out_sizes = {o: int(b.shape[1]) for (_i, o), b in blocks.items()}
    e2_in = _resolve(e2_in_type, in_sizes, chans["in"], names, where, module)
    e2_out = _resolve(e2_out_type, out_sizes, chans["out"], names, where, module)
    # e2cnn's coefficient layout: pairs sorted by (input name, output name), each [out field, in field, D]
    ranges: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    pos = 0
    for pair in sorted(blocks):
        d = blocks[pair].shape[0]
        n_in, n_out = len(e2_in[pair[0]]), len(e2_out[pair[1]])
        ranges[pair] = (pos, n_out, n_in, d)
        pos += n_out * n_in * d
    if pos != w_e2.numel():
        raise _fail(
            where,
            module,
            f"'weights' has {w_e2.numel()} entries but the checkpoint's bases account for {pos}",
        )
    in_pos, out_pos = _positions(e2_in), _positions(e2_out)
    exp = module.basisexpansion
    weights = torch.zeros(exp.dimension(), dtype=torch.float64)
    for _ro, _ri, of, inf, d, start, block in exp.layout():
        if block is None:
            continue
        # the e2cnn sides of our fields: a transposed layer's basis maps its output type to its input type
        ins, outs = (of, inf) if transposed else (inf, of)
        b_ours = copy.deepcopy(block).double()(torch.eye(d, dtype=torch.float64)).reshape(d, -1)
        ours = weights[start : start + len(of) * len(inf) * d].view(len(of), len(inf), d)
        # the fields of our pair may stand for several e2cnn pairs (names split differently): one map each
        for pair in sorted({(in_pos[f][0], out_pos[g][0]) for f in ins for g in outs}):
            if pair not in ranges:
                raise _fail(
                    where,
                    module,
                    f"the checkpoint has no basis for the representation pair {pair} "
                    f"(key _basisexpansion.block_expansion_{pair}.sampled_basis)",
                )
            start_e2, n_out_e2, n_in_e2, d_e2 = ranges[pair]
            b_e2 = blocks[pair]
            if transposed:  # e2cnn's [D, out, in, P] is our [D, in, out, P]
                b_e2 = b_e2.transpose(1, 2)
            b_e2 = b_e2.reshape(d_e2, -1)
            if b_ours.shape[1] != b_e2.shape[1]:
                raise _fail(
                    where,
                    module,
                    f"the basis of pair {pair} has blocks of {b_e2.shape[1]} entries in the checkpoint and "
                    f"{b_ours.shape[1]} in the layer (kernel size or representations differ)",
                )
            sol, residual = _basis_map(b_ours, b_e2)  # [d, d_e2]
            if d != d_e2 or residual > BASIS_RESIDUAL_TOL:
                raise _fail(
                    where,
                    module,
                    f"the kernel basis of the pair {pair} does not span the same space as the checkpoint's "
                    f"(sizes {d} and {d_e2}, relative residual {residual:.2g}); build the layer with "
                    "the same kernel_size, rings, sigma and frequencies_cutoff as the e2cnn model",
                )
            coeff = w_e2[start_e2 : start_e2 + n_out_e2 * n_in_e2 * d_e2].view(n_out_e2, n_in_e2, d_e2)
            mapped = coeff @ sol.T  # [e2cnn out field, e2cnn in field, d]
            a = [k for k, f in enumerate(outs) if out_pos[f][0] == pair[1]]
            b = [k for k, f in enumerate(ins) if in_pos[f][0] == pair[0]]
            rows = mapped[[out_pos[outs[k]][1] for k in a]][:, [in_pos[ins[k]][1] for k in b]]
            if transposed:  # ours: [layer in field (e2cnn in), layer out field (e2cnn out)]
                ours[torch.tensor(b)[:, None], torch.tensor(a)[None, :]] = rows.transpose(0, 1)
            else:
                ours[torch.tensor(a)[:, None], torch.tensor(b)[None, :]] = rows
    out = {"weights": weights}
    if module.bias is not None:
        if "bias" not in sub or "bias_expansion" not in sub:
            raise _fail(
                where, module, "the layer has a bias but the checkpoint lacks 'bias' or 'bias_expansion'"
            )
        target = _f64(sub["bias_expansion"]) @ _f64(sub["bias"])
        from structconv.nn.conv._steerable import _bias_expansion

        expansion = torch.from_numpy(_bias_expansion(module.out_type))
        if expansion.shape[0] != target.shape[0]:
            raise _fail(where, module, "the checkpoint's bias has another number of channels than the layer")
        sol = torch.linalg.lstsq(expansion, target[:, None], driver="gelsd").solution[:, 0]
        if (expansion @ sol - target).norm() > 1e-6 * max(1.0, float(target.norm())):
            raise _fail(where, module, "the checkpoint's bias cannot be expressed by the layer's")
        out["bias"] = sol
        used |= {"bias", "bias_expansion"}
    elif "bias" in sub:
        raise _fail(where, module, "the checkpoint has a bias, the layer none")
    used |= {k for k in sub if _STRUCTURAL_CONV.match(k)}
    return out, used


# ----------------------------------------------------------------------------- batch norms


def _fields_by(keys: Sequence[Any]) -> dict[Any, list[int]]:
    groups: dict[Any, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    return groups


def _sizes(ftype: Any) -> list[int]:
    return [r.size for r in ftype.representations]


def _induced_keys(ftype: Any, where: str, module: Any) -> list[tuple[int, int]]:
    """e2cnn's ``(size, sub-field size)`` of every field of an induced type."""
    keys = []
    for i, rep in enumerate(ftype.representations):
        subs = [int(m[1]) for t in rep.supported_nonlinearities if (m := _INDUCED_TAG.match(t))]
        if not subs:
            raise _fail(where, module, f"field {i} ({rep.name!r}) is not an induced representation")
        keys.append((rep.size, subs[0]))
    return keys


def _scatter(n: int, groups: Mapping[Any, list[int]], rows: Mapping[Any, Tensor], key: str, where, module):
    """Per-field vector from per-group rows: ``rows[g][j]`` is the j-th field of group ``g``."""
    out: list[Tensor | None] = [None] * n
    for g, fields in groups.items():
        r = rows[g].reshape(-1)
        if r.numel() != len(fields):
            raise _fail(where, module, f"{key!r}: {r.numel()} entries for {len(fields)} fields {fields}")
        for j, f in enumerate(fields):
            out[f] = r[j]
    return torch.stack([t for t in out if t is not None])


def _convert_grouped_bn(
    module: Any,
    sub: dict[str, Tensor],
    where: str,
    groups: Mapping[Any, list[int]],
    key: Callable[[Any], str],
) -> tuple[dict[str, Tensor], set[str]]:
    """NormBatchNorm / InducedNormBatchNorm: ``<group>_weight`` / ``<group>_running_var`` of shape
    ``(1, F, 1, ...)`` per group of fields."""
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    own = module.state_dict()
    for name in ("weight", "running_var"):
        if name not in own:
            continue
        rows = {}
        for g in groups:
            k = f"{key(g)}_{name}"
            rows[g] = _need(sub, k, where, module)
            used.add(k)
        out[name] = _scatter(len(module.in_type), groups, rows, name, where, module)
    if "num_batches_tracked" in own:
        out["num_batches_tracked"] = _need(sub, "num_batches_tracked", where, module).clone()
        used.add("num_batches_tracked")
    return out, used


def _convert_norm_bn(module, sub, where, names):
    return _convert_grouped_bn(module, sub, where, _fields_by(_sizes(module.in_type)), str)


def _convert_induced_norm_bn(module, sub, where, names):
    groups = _fields_by(_induced_keys(module.in_type, where, module))
    return _convert_grouped_bn(module, sub, where, groups, str)


def _convert_inner_bn(
    module: Any, sub: dict[str, Tensor], where: str, names: _Names
) -> tuple[dict[str, Tensor], set[str]]:
    groups = _fields_by(_sizes(module.in_type))
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    own = module.state_dict()
    for name in ("weight", "bias", "running_mean", "running_var"):
        if name in own:
            rows = {}
            for s in groups:
                k = f"batch_norm_[{s}].{name}"
                rows[s] = _need(sub, k, where, module)
                used.add(k)
            out[name] = _scatter(len(module.in_type), groups, rows, name, where, module)
    if "num_batches_tracked" in own:
        out["num_batches_tracked"] = _need(
            sub, f"batch_norm_[{next(iter(groups))}].num_batches_tracked", where, module
        ).clone()
        used |= {f"batch_norm_[{s}].num_batches_tracked" for s in groups}
    return out, used


_GNORM_SUFFIXES = (
    "_weight",
    "_bias",
    "_running_mean",
    "_running_var",
    "_change_of_basis",
    "_change_of_basis_inv",
)


def _convert_gnorm_bn(
    module: Any, sub: dict[str, Tensor], where: str, names: _Names
) -> tuple[dict[str, Tensor], set[str]]:
    # e2cnn keys everything by representation name; 'vars_aggregator_<name>' ([size, n_irreps]) always exists
    sizes = {
        k[len("vars_aggregator_") :]: int(v.shape[0])
        for k, v in sub.items()
        if k.startswith("vars_aggregator_")
    }
    chans = {}
    for name in sizes:
        idx = sub.get(f"{name}_indices")
        # a contiguous group of fields is saved as [start, stop]; only other groups are channel lists
        if idx is not None and idx.numel() != 2:
            chans[name] = idx.tolist()
    assign = _resolve(module.in_type, sizes, chans, names, where, module)
    position = _positions(assign)
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    own = module.state_dict()
    # structconv lays the blocks out per representation (in order of first appearance), then per field
    order = [
        f for fields in _fields_by([r.name for r in module.in_type.representations]).values() for f in fields
    ]
    for name in ("weight", "bias", "running_mean", "running_var"):
        if name not in own:
            continue
        rows: list[Tensor] = []
        for f in order:
            e2_name, j = position[f]
            k = f"{e2_name}_{name}"
            table = _need(sub, k, where, module)
            used.add(k)
            rows.append(table[j].reshape(-1))
        out[name] = torch.cat(rows)
    if "num_batches_tracked" in own:
        out["num_batches_tracked"] = _need(sub, "num_batches_tracked", where, module).clone()
        used.add("num_batches_tracked")
    used |= {
        k
        for k in sub
        if k.startswith(("vars_aggregator_", "vars_propagator_"))
        or (k.endswith("_indices") and k[: -len("_indices")] in sizes)
        or any(k == n + s for n in sizes for s in _GNORM_SUFFIXES)
    }
    return out, used


# ----------------------------------------------------------------------------- non-linearities


def _convert_log_bias(module: Any, sub: dict[str, Tensor], keys: Sequence[Any], where: str) -> Tensor:
    """e2cnn orders a norm non-linearity's biases by group key (ascending), then by position."""
    e2 = _need(sub, "log_bias", where, module).reshape(-1)
    order = [i for k in sorted(set(keys)) for i, key in enumerate(keys) if key == k]
    if e2.numel() != len(order):
        raise _fail(where, module, f"'log_bias' has {e2.numel()} entries, the layer {len(order)} fields")
    ours = torch.empty_like(e2)
    ours[torch.tensor(order)] = e2
    return ours


#: e2cnn's norm non-linearities save ``eps`` (a frozen Parameter, 1e-10): norms below it are mapped to 0
_E2CNN_NORM_EPS = 1e-10


def _norm_nonlinearity(module, sub, where, keys):
    out = {}
    if "log_bias" in module.state_dict():
        out["log_bias"] = _convert_log_bias(module, sub, keys(), where)
    elif "log_bias" in sub:
        raise _fail(where, module, "the checkpoint has a 'log_bias', the layer none (bias=False)")
    if "eps" in sub and abs(float(sub["eps"]) - _E2CNN_NORM_EPS) > 1e-6 * _E2CNN_NORM_EPS:
        raise _fail(
            where,
            module,
            f"the checkpoint's 'eps' is {float(sub['eps']):.3g}; structconv implements e2cnn's fixed 1e-10 "
            "only",
        )
    return out, {"log_bias", "eps"} & set(sub)


def _convert_norm_nonlinearity(module, sub, where, names):
    return _norm_nonlinearity(module, sub, where, lambda: _sizes(module.in_type))


def _convert_induced_norm_nonlinearity(module, sub, where, names):
    return _norm_nonlinearity(module, sub, where, lambda: _induced_keys(module.in_type, where, module))


def _convert_gated(module, sub, where, names):
    """Gated non-linearities: e2cnn's bias ``(1, n_gates, 1, 1[, 1])``, one per gate in field order."""
    e2 = _need(sub, "bias", where, module)
    n = module.bias.numel()
    if e2.numel() != n:
        raise _fail(where, module, f"'bias' has {e2.numel()} entries, the layer {n} gates")
    return {"bias": e2.reshape(n).clone()}, {"bias"}


Converter = Callable[[Any, dict[str, Tensor], str, _Names], tuple[dict[str, Tensor], set[str]]]


#: per structconv class name: the keys e2cnn saves that structconv derives from the arguments
_E2CNN_STRUCTURE: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for names, pattern in [
        (("R2Conv", "R2ConvTransposed", "R2Diffop"), _STRUCTURAL_CONV.pattern[1:-1]),
        (("InnerBatchNorm", "FieldDropout", "NormMaxPool"), r"indices_\d+"),
        (("NormBatchNorm",), r"\d+_indices"),
        (("InducedNormBatchNorm",), r"\(\d+, \d+\)_indices"),
        (("NormNonLinearity",), r"indices_\d+"),
        (("InducedNormNonLinearity",), r"indices_\(\d+, \d+\)"),
        (("GatedNonLinearity1", "InducedGatedNonLinearity1"), r"gates_indices|(input|output)_indices_.+"),
        (("GatedNonLinearity2",), r"indices_\d+"),
        (("GroupPooling", "NormPool"), r"(in|out)_indices_\d+"),
        (("InducedNormPool",), r"(in|out)_indices_\(\d+, \d+\)"),
        (("PointwiseMaxPoolAntialiased", "PointwiseAvgPoolAntialiased"), r"filter"),
        (("MaskModule",), r"mask"),
        (("ReshuffleModule",), r"indices"),
        (("BranchingModule",), r"indices_.+|reshuffle(_layer)?\.indices"),
        (("DisentangleModule",), r"(change_of_basis|fiber_indices)_.+"),
    ]
    for name in names
}


def _converters() -> list[tuple[type, Converter]]:
    from structconv import nn as snn
    from structconv.nn.conv._steerable import _SteerableConv

    return [
        (_SteerableConv, _convert_conv),
        (snn.InnerBatchNorm, _convert_inner_bn),
        (snn.NormBatchNorm, _convert_norm_bn),
        (snn.InducedNormBatchNorm, _convert_induced_norm_bn),
        (snn.GNormBatchNorm, _convert_gnorm_bn),
        (snn.NormNonLinearity, _convert_norm_nonlinearity),
        (snn.InducedNormNonLinearity, _convert_induced_norm_nonlinearity),
        (snn.GatedNonLinearity1, _convert_gated),
        (snn.GatedNonLinearity2, _convert_gated),
        (snn.InducedGatedNonLinearity1, _convert_gated),
    ]


def _check_structure(module: nn.Module, sub: Mapping[str, Tensor], where: str, names: _Names) -> list[str]:
    """Compare e2cnn's derived tensors with the layer's, where the layer has them (masks, pooling filters,
    the changes of basis of a disentangle module); returns the problems."""
    from structconv.group import disentangle
    from structconv.nn import DisentangleModule

    problems = []
    for local, value in sub.items():
        mine = getattr(module, local, None) if local in ("mask", "filter") else None
        if isinstance(mine, Tensor) and (
            mine.shape != torch.as_tensor(value).shape
            or not torch.allclose(_f64(mine), _f64(value), atol=1e-6)
        ):
            problems.append(
                f"layer {where!r} ({type(module).__name__}): {local!r} differs from the checkpoint's (built "
                "with other arguments?)"
            )
    if isinstance(module, DisentangleModule):
        labels = names.labelings(module.in_type)[0]  # e2cnn keys its buffers by its own names
        for label, rep in dict(zip(labels, module.in_type.representations)).items():
            cob = sub.get(f"change_of_basis_{label}")
            if cob is not None and (
                cob.shape != (rep.size, rep.size)
                or not torch.equal(_f64(cob), torch.from_numpy(disentangle(rep)[0]))
            ):
                problems.append(
                    f"layer {where!r} (DisentangleModule): the checkpoint's change of basis of {label!r} "
                    "differs from the layer's"
                )
    return problems


# ----------------------------------------------------------------------------- public API


def convert_e2cnn_state_dict(model: nn.Module, state_dict: Mapping[str, Any]) -> dict[str, Tensor]:
    """The structconv state dict of ``model`` equivalent to an e2cnn ``state_dict`` (nothing is loaded).

    See the module docstring for the method. Module names (the state-dict prefixes) follow the code, as in
    e2cnn: ``SequentialModule``, ``ModuleList`` and ``MultipleModule`` name their children as e2cnn does.

    Args:
        model: the structconv model, built by the same code as the e2cnn model (same field types, kernel
            sizes and basis arguments).
        state_dict: the e2cnn model's ``state_dict()``, saved in train or eval mode.

    Returns:
        a state dict with exactly the keys of ``model.state_dict()``, in the dtype and on the device of
        ``model``'s tensors.

    Raises:
        TypeError: ``model`` is not a module or ``state_dict`` not a mapping.
        E2cnnCheckpointError: (a ``ValueError``) a key of the checkpoint that no layer of ``model`` accounts
            for, a key the model needs the checkpoint lacks, or a layer whose bases, representations or
            shapes do not match; the message names every such layer and key.

    Example:
        >>> from structconv import gspaces, nn
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> t = nn.FieldType(gs, [gs.trivial_repr] * 2 + [gs.irrep(1, 1)] * 2)
        >>> gate = nn.GatedNonLinearity1(t)
        >>> checkpoint = {"bias": torch.tensor([[[[0.5]], [[-1.0]]]]), "gates_indices": torch.tensor([0, 2])}
        >>> convert_e2cnn_state_dict(gate, checkpoint)
        {'bias': tensor([ 0.5000, -1.0000])}
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model={type(model).__name__} is not accepted; expected a torch.nn.Module")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict={type(state_dict).__name__} is not accepted; expected a mapping")
    table = _converters()
    names = _Names(model)
    own = model.state_dict()
    problems: list[str] = []
    result: dict[str, Tensor] = {}
    consumed: set[str] = set()
    modules = dict(model.named_modules())
    claimed: list[str] = []
    for name, module in modules.items():
        prefix = f"{name}." if name else ""
        if any(prefix.startswith(c) for c in claimed):
            continue
        convert = next((fn for cls, fn in table if isinstance(module, cls)), None)
        if convert is not None:
            # every key under a converted layer is its own (e2cnn keeps some in sub-modules: InnerBatchNorm's
            # batch_norm_[s], a convolution's _basisexpansion); structconv's sub-modules of it have no state
            claimed.append(prefix)
            sub = {
                k[len(prefix) :]: torch.as_tensor(v) for k, v in state_dict.items() if k.startswith(prefix)
            }
            try:
                converted, used = convert(module, sub, name, names)
            except E2cnnCheckpointError as err:
                problems.append(str(err))
                consumed |= {prefix + k for k in sub}  # reported once, as the layer's problem
                continue
            consumed |= {prefix + k for k in used}
            result.update({prefix + k: v for k, v in converted.items()})
            structure = _E2CNN_STRUCTURE.get(type(module).__name__)
            if structure is not None:
                consumed |= {prefix + k for k in sub if structure.fullmatch(k)}
            continue
        sub = {
            k[len(prefix) :]: torch.as_tensor(v)
            for k, v in state_dict.items()
            if k.startswith(prefix) and k[len(prefix) :].split(".")[0] not in module._modules
        }
        # any other layer: its own parameters and buffers under the same names, plus e2cnn's derived tensors
        persistent = [b for b in module._buffers if b not in module._non_persistent_buffers_set]
        for local in list(module._parameters) + persistent:
            key = prefix + local
            if key in own and key in state_dict:
                result[key] = torch.as_tensor(state_dict[key])
                consumed.add(key)
        structure = _E2CNN_STRUCTURE.get(type(module).__name__)
        if structure is not None:
            derived = {k: v for k, v in sub.items() if structure.fullmatch(k)}
            consumed |= {prefix + k for k in derived}
            problems += _check_structure(module, derived, name, names)
    for k in state_dict:
        if k not in consumed:
            owner = max((n for n in modules if k.startswith(f"{n}.") or not n), key=len)
            layer = f"layer {owner!r} ({type(modules[owner]).__name__})"
            problems.append(f"key {k!r} of the checkpoint is not a state of {layer} or of any other layer")
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

    e2cnn and structconv expand the learnable ``weights`` of a steerable convolution in different bases, so
    the same raw vector is a different filter in the two libraries: a plain ``load_state_dict`` (even with
    the keys renamed) changes the network. This function maps every layer's coefficients exactly
    (per pair of representations, by the linear map between the checkpoint's sampled basis and the layer's,
    solved in float64) and re-lays out batch-norm statistics and non-linearity biases; see the module
    docstring. It works without e2cnn installed: everything needed is in the checkpoint.

    Covered: ``R2Conv``, ``R2ConvTransposed``, ``R2Diffop``, ``InnerBatchNorm``, ``NormBatchNorm``,
    ``InducedNormBatchNorm``, ``GNormBatchNorm``, ``NormNonLinearity``, ``InducedNormNonLinearity``,
    ``GatedNonLinearity1``, ``GatedNonLinearity2``, ``InducedGatedNonLinearity1``, the containers
    (``SequentialModule``, ``ModuleList``, ``MultipleModule``) and every stateless module whose derived
    buffers e2cnn saves (pooling, masking, restriction, disentangle, reshuffle, dropout), and plain
    ``torch.nn`` layers (same keys in both libraries). Outputs in eval mode agree to float rounding: the
    relative error is about 1e-7 in float32 and 1e-15 in float64 (``tools/migration_table.py``).

    The load is all or nothing: on any error the model is unchanged.

    Args:
        model: the structconv model (any dtype and device; the converted tensors follow it).
        state_dict: the e2cnn model's ``state_dict()`` (train or eval mode; e.g. ``torch.load`` of it).

    Returns:
        ``model``.

    Raises:
        TypeError: ``model`` is not a module or ``state_dict`` not a mapping.
        E2cnnCheckpointError: (a ``ValueError``) the checkpoint does not fit the model: the message names
            the layer and the key.

    Example:
        >>> from structconv import gspaces, nn
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> t = nn.FieldType(gs, [gs.regular_repr])
        >>> model = nn.SequentialModule(nn.R2Conv(t, t, 3), nn.InnerBatchNorm(t))
        >>> _ = load_e2cnn_state_dict(model, e2cnn_state_dict_of(model))
        >>> load_e2cnn_state_dict(model, {"0.weights": torch.zeros(3)})
        Traceback (most recent call last):
        ...
        structconv.compat.e2cnn.E2cnnCheckpointError: the e2cnn checkpoint does not fit the model (nothing ...
    """
    from structconv.utils import load_checkpoint

    load_checkpoint(model, convert_e2cnn_state_dict(model, state_dict))
    return model


def e2cnn_state_dict_of(model: nn.Module) -> dict[str, Tensor]:
    """The checkpoint e2cnn would save for ``model`` (for tests and examples: it uses structconv's own
    bases, so it checks the layouts and the name matching, not the change of basis). Representation names
    are e2cnn's where they differ (the parts of disentangled representations).

    Covers the layers :func:`load_e2cnn_state_dict` converts (not the derived buffers e2cnn adds, which the
    loader does not need); other layers' states are copied under their own names.

    Args:
        model: a structconv model.

    Returns:
        a state dict in e2cnn's layout.

    Example:
        >>> from structconv import gspaces, nn
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> e2cnn_state_dict_of(nn.NormBatchNorm(nn.FieldType(gs, [gs.irrep(1)] * 3)))["2_running_var"].shape
        torch.Size([1, 3, 1, 1, 1])
    """
    table = _converters()
    names = _Names(model)
    out: dict[str, Tensor] = {}
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        kind = next((fn for cls, fn in table if isinstance(module, cls)), None)
        state = {k: v.detach().clone() for k, v in module.state_dict().items() if "." not in k}
        if kind is _convert_conv:
            transposed = bool(getattr(module, "_transposed", False))
            e2_in_type, e2_out_type = _sides(module)
            lab_in, lab_out = names.labelings(e2_in_type)[0], names.labelings(e2_out_type)[0]
            chunks = {}
            for _ro, _ri, of, inf, d, start, block in module.basisexpansion.layout():
                if block is None:
                    continue
                basis = copy.deepcopy(block).double()(torch.eye(d, dtype=torch.float64))
                coeff = module.weights.detach().double()[start : start + len(of) * len(inf) * d]
                coeff = coeff.view(len(of), len(inf), d)
                ins, outs = (of, inf) if transposed else (inf, of)
                if transposed:  # e2cnn: [D, out, in, P] and [out field, in field, D]
                    basis, coeff = basis.transpose(1, 2), coeff.transpose(0, 1)
                # one e2cnn pair per pair of e2cnn names of the fields
                for li in dict.fromkeys(lab_in[f] for f in ins):
                    for lo in dict.fromkeys(lab_out[f] for f in outs):
                        rows = [k for k, f in enumerate(outs) if lab_out[f] == lo]
                        cols = [k for k, f in enumerate(ins) if lab_in[f] == li]
                        out[f"{prefix}_basisexpansion.block_expansion_{(li, lo)}.sampled_basis"] = basis
                        chunks[(li, lo)] = coeff[rows][:, cols].reshape(-1)
            out[prefix + "weights"] = torch.cat([chunks[p] for p in sorted(chunks)])
            if module.bias is not None:
                out[prefix + "bias"] = state["bias"]
                out[prefix + "bias_expansion"] = module.bias_expansion.detach().double()
        elif kind is _convert_inner_bn:
            for s, fields in _fields_by(_sizes(module.in_type)).items():
                for k, v in state.items():
                    out[f"{prefix}batch_norm_[{s}].{k}"] = v if k == "num_batches_tracked" else v[fields]
        elif kind in (_convert_norm_bn, _convert_induced_norm_bn):
            keys = (
                _sizes(module.in_type)
                if kind is _convert_norm_bn
                else _induced_keys(module.in_type, name, module)
            )
            ones = (1,) * (3 if kind is _convert_norm_bn else 4)  # e2cnn's (1, F, 1, 1, 1[, 1])
            for g, fields in _fields_by(keys).items():
                for k, v in state.items():
                    if k != "num_batches_tracked":
                        out[f"{prefix}{g}_{k}"] = v[fields].view(1, -1, *ones)
            out[prefix + "num_batches_tracked"] = state["num_batches_tracked"]
        elif kind is _convert_gnorm_bn:
            reps = module.in_type.representations
            labels = names.labelings(module.in_type)[0]
            for k, v in state.items():
                if k == "num_batches_tracked":
                    continue
                # structconv: per representation (first appearance), then per field; e2cnn: per name
                rows, offset = {}, 0
                for fields in _fields_by([r.name for r in reps]).values():
                    for f in fields:
                        per = _gnorm_width(module, reps[f], k)
                        rows[f] = v[offset : offset + per]
                        offset += per
                for label, fields in _fields_by(labels).items():
                    out[f"{prefix}{label}_{k}"] = torch.stack([rows[f] for f in fields])
            for label, fields in _fields_by(labels).items():
                rep = reps[fields[0]]
                out[f"{prefix}vars_aggregator_{label}"] = torch.zeros(rep.size, len(rep.irreps))
            out[prefix + "num_batches_tracked"] = state["num_batches_tracked"]
        elif kind in (_convert_norm_nonlinearity, _convert_induced_norm_nonlinearity):
            if "log_bias" in state:
                keys = (
                    _sizes(module.in_type)
                    if kind is _convert_norm_nonlinearity
                    else _induced_keys(module.in_type, name, module)
                )
                order = [i for k in sorted(set(keys)) for i, key in enumerate(keys) if key == k]
                shape = (1, -1, 1, 1) if kind is _convert_norm_nonlinearity else (-1,)  # as e2cnn's
                out[prefix + "log_bias"] = state["log_bias"][order].view(shape)
            out[prefix + "eps"] = torch.tensor(_E2CNN_NORM_EPS, dtype=torch.float32)
        elif kind is _convert_gated:
            induced = type(module).__name__.startswith("Induced")
            out[prefix + "bias"] = state["bias"].view(1, -1, 1, 1, *((1,) if induced else ()))
        else:
            out.update({prefix + k: v for k, v in state.items()})
    return out


def _gnorm_width(module: Any, rep: Any, key: str) -> int:
    """Entries per field of ``rep`` in a GNormBatchNorm state (``weight``/``running_var``: one per irrep,
    ``bias``/``running_mean``: one per trivial irrep)."""
    trivial = module.in_type.fibergroup.trivial_representation.name
    n_trivial = sum(1 for i in rep.irreps if i == trivial)
    return len(rep.irreps) if key in ("weight", "running_var") else n_trivial

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
