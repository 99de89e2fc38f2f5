"""Plain PyTorch for every structconv layer: the pieces of ``export()`` (private).

``export()`` returns ``torch.nn`` classes where they compute the layer (``Conv2d``, ``BatchNorm2d``,
``MaxPool2d``, ...). A layer that they cannot express (a norm non-linearity, a gate, a channel permutation, a
per-field maximum, a split into labelled branches) is exported as a :class:`torch.fx.GraphModule`: one of the
small private modules below, written with torch operations only and holding its constants as buffers (copies
of the live module's current values), is traced symbolically by :func:`to_graph`. The graph's code calls
``torch`` alone and its submodules are ``torch.nn`` classes, so the result pickles with ``torch.save`` and
loads with ``torch.load(path, weights_only=False)`` where structconv is not installed. :func:`foreign_parts`
lists whatever in a module tree is not from torch; :func:`to_graph` refuses to return a graph that has any.

The graph modules take and return the plain tensors ``(B, C, H, W)`` of the live module's
``GeometricTensor`` s and compute what the live module computes in eval mode, with the same operations in the
same order, in the input's dtype (constants are cast to it; the live norm-based modules reduce float16 /
bfloat16 inputs in float32, the graphs in the input's dtype). They do not check their input's type: a wrong
channel count fails inside a torch operation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .._numerics import slice_scale

__all__ = [
    "foreign_parts",
    "to_graph",
    "copy_tensor",
    "GroupedFields",
    "NormScale",
    "NormPool",
    "InducedNormPool",
    "FieldMax",
    "NormMaxPool",
    "Gate",
    "Gate2",
    "Concatenated",
    "VectorField",
    "Gather",
    "Mask",
    "FieldBatchStats",
    "Branch",
    "Merge",
    "Multiple",
]

#: top-level modules whose functions a graph may call (``operator.getitem`` is ``_operator``'s)
_ALLOWED_OWNERS = frozenset({"torch", "_operator", "operator", "builtins", "math"})


def _owner(obj: Any) -> str:
    return (getattr(obj, "__module__", None) or "").split(".")[0]


def foreign_parts(module: torch.nn.Module) -> list[str]:
    """What in ``module``'s tree does not come from torch: module classes and graph call targets.

    Returns one line per module whose class is defined outside ``torch`` and per function called by a
    :class:`torch.fx.GraphModule` of the tree that is defined outside ``torch``, ``operator``, ``builtins``
    and ``math``; an empty list for a model that loads with PyTorch alone.

    Example:
        >>> foreign_parts(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.ReLU()))
        []
        >>> Mine = type("Mine", (torch.nn.Module,), {"__module__": "mypackage"})
        >>> foreign_parts(torch.nn.Sequential(Mine()))
        ["module '0': class Mine from mypackage"]
    """
    found = []
    for name, m in module.named_modules():
        cls = type(m)
        if _owner(cls) != "torch":
            found.append(f"module {name!r}: class {cls.__qualname__} from {cls.__module__}")
        if isinstance(m, torch.fx.GraphModule):
            for node in m.graph.nodes:
                if node.op == "call_function" and _owner(node.target) not in _ALLOWED_OWNERS:
                    found.append(
                        f"module {name!r}: graph calls {getattr(node.target, '__qualname__', node.target)} "
                        f"from {getattr(node.target, '__module__', '?')}"
                    )
    return found


def to_graph(root: torch.nn.Module, name: str) -> torch.fx.GraphModule:
    """Trace ``root`` (torch operations only) into an eval-mode :class:`torch.fx.GraphModule` ``name``.

    The default :class:`torch.fx.Tracer` is used, so the pickled module names no structconv class: the traced
    code calls torch functions and ``torch.nn`` submodules (which stay modules); any other module, including
    another graph, is traced through.

    Raises:
        RuntimeError: the graph calls something outside torch (a bug in the exporting layer).

    Example:
        >>> class Twice(torch.nn.Module):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> gm = to_graph(Twice(), "TwiceGraph")
        >>> gm, float(gm(torch.ones(1)))
        (TwiceGraph(), 2.0)
    """
    tracer = torch.fx.Tracer()
    graph = tracer.trace(root)
    for node in graph.nodes:  # annotations (strings here) would be pickled as imports: drop them
        node.type = None
    gm = torch.fx.GraphModule(tracer.root, graph, class_name=name)
    gm.eval()
    foreign = foreign_parts(gm)
    if foreign:
        raise RuntimeError(f"export of {name}: the graph is not plain PyTorch: {foreign}")
    return gm


def copy_tensor(t: torch.Tensor | None) -> torch.Tensor | None:
    """A detached copy of ``t`` (``None`` stays ``None``): an export shares no storage with the module."""
    return None if t is None else t.detach().clone()


class GroupedFields(torch.nn.Module):
    """Apply a function to the fields of a type grouped by a key, as :class:`FieldGrouping.apply` does.

    The input's channels are gathered in group order (``in_perm``), each group is viewed as
    ``[B, n_fields, size, H, W]``, passed to :meth:`field_fn` and flattened back, the outputs are concatenated
    and scattered to the field order (``out_perm``). Subclasses implement ``field_fn(g, v)``.
    """

    def __init__(self, grouping: Any, in_perm: torch.Tensor | None, out_perm: torch.Tensor | None) -> None:
        super().__init__()
        self.counts = [int(c) for c in grouping.counts]
        self.sizes = [int(s) for s in grouping.sizes]
        self.keys = list(grouping.keys)
        starts = [0]
        for length in grouping.in_splits:
            starts.append(starts[-1] + int(length))
        self.spans = [(starts[g], int(n)) for g, n in enumerate(grouping.in_splits)]
        self.register_buffer("in_perm", copy_tensor(in_perm))
        self.register_buffer("out_perm", copy_tensor(out_perm))

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def each_group(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_perm is not None:
            x = x.index_select(1, self.in_perm)
        outs = []
        for g, (start, length) in enumerate(self.spans):
            chunk = x if len(self.spans) == 1 else x.narrow(1, start, length)
            outs.append(self.field_fn(g, chunk.unflatten(1, (self.counts[g], self.sizes[g]))).flatten(1, 2))
        y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        if self.out_perm is not None:
            y = y.index_select(1, self.out_perm)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.each_group(x)


def _norm(v: torch.Tensor, dim: int) -> torch.Tensor:
    """Euclidean norm over ``dim`` (kept) from ``v`` divided by its largest entry (as ``scaled_norm``)."""
    s = slice_scale(v, dim)
    sq = (v / s).square().sum(dim=dim, keepdim=True)
    r = torch.where(sq > 0, sq.clamp_min(0.5).sqrt(), 0.0)
    return s * r


class NormScale(GroupedFields):
    """Every (sub-)field ``v`` to ``f(|v| - b) v / |v|`` (group key ``(m, d)``: m sub-fields of size d)."""

    def __init__(
        self,
        grouping: Any,
        in_perm: torch.Tensor | None,
        out_perm: torch.Tensor | None,
        function: Callable[[torch.Tensor], torch.Tensor],
        biases: Sequence[torch.Tensor] | None,
        n_relu: bool = False,
    ) -> None:
        super().__init__(grouping, in_perm, out_perm)
        self.function = function
        self.n_relu = bool(n_relu)  # relu(s r - b) / r computed as the live module does: relu(s - b / r)
        self.has_bias = biases is not None
        for g, b in enumerate(biases or ()):
            self.register_buffer(f"bias_{g}", copy_tensor(b))

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        m, d = self.keys[g]
        w = v.unflatten(2, (m, d))
        s = slice_scale(w, 3)
        u = w / s
        sq = u.square().sum(dim=3, keepdim=True)
        nonzero = sq > 0
        r = torch.where(nonzero, sq.clamp_min(0.5).sqrt(), 1.0)
        norms = torch.where(nonzero, s * r, 0.0)
        bias = getattr(self, f"bias_{g}").to(w).view(1, self.counts[g], 1, 1, 1, 1) if self.has_bias else None
        if self.n_relu:
            new = torch.relu(s - bias / r) if bias is not None else s.expand_as(r)
            mult = torch.where(nonzero, new, 0.0)
        else:
            new = self.function(norms if bias is None else norms - bias)
            mult = torch.where(nonzero, new / r, 0.0)
        return (u * mult).flatten(2, 3)


class NormPool(GroupedFields):
    """The norm of every field."""

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        return _norm(v, 2)


class InducedNormPool(GroupedFields):
    """The largest norm of the sub-fields of every induced field (group key ``(m, d)``)."""

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        m, d = self.keys[g]
        return _norm(v.unflatten(2, (m, d)), 3).amax(dim=2)


class FieldMax(GroupedFields):
    """The maximum over the channels of every field."""

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        return v.amax(dim=2, keepdim=True)


class NormMaxPool(GroupedFields):
    """In every window, each field taken whole at the position of its largest norm (grouping by size)."""

    def __init__(
        self,
        grouping: Any,
        in_perm: torch.Tensor | None,
        out_perm: torch.Tensor | None,
        field_of_channel: torch.Tensor,
        pool: dict[str, Any],
    ) -> None:
        super().__init__(grouping, in_perm, out_perm)
        self.register_buffer("field_of_channel", copy_tensor(field_of_channel))
        self.pool = dict(pool)

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        return _norm(v, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norms = self.each_group(x)
        idx = F.max_pool2d_with_indices(norms, return_indices=True, **self.pool)[1]
        idx = idx.index_select(1, self.field_of_channel)
        return x.flatten(2).gather(2, idx.flatten(2)).view_as(idx)


class FieldBatchStats(GroupedFields):
    """Batch normalisation with batch statistics shared by the channels of each field (grouping by size)."""

    def __init__(
        self,
        grouping: Any,
        in_perm: torch.Tensor | None,
        out_perm: torch.Tensor | None,
        weights: Sequence[torch.Tensor] | None,
        biases: Sequence[torch.Tensor] | None,
        eps: float,
    ) -> None:
        super().__init__(grouping, in_perm, out_perm)
        self.affine = weights is not None
        for g, (w, b) in enumerate(zip(weights or (), biases or ())):
            self.register_buffer(f"weight_{g}", copy_tensor(w))
            self.register_buffer(f"bias_{g}", copy_tensor(b))
        self.eps = float(eps)

    def field_fn(self, g: int, v: torch.Tensor) -> torch.Tensor:
        # Written out rather than F.batch_norm(training=True): ONNX's exporter would fix the batch size.
        dims = (0, 2, 3, 4)
        centred = v - v.mean(dim=dims, keepdim=True)
        y = centred * torch.rsqrt(centred.square().mean(dim=dims, keepdim=True) + self.eps)
        if self.affine:
            w = getattr(self, f"weight_{g}").to(v).view(1, -1, 1, 1, 1)
            y = y * w + getattr(self, f"bias_{g}").to(v).view(1, -1, 1, 1, 1)
        return y


class Gate(torch.nn.Module):
    """Gated non-linearity on one tensor: channels times the sigmoid of their gate minus its bias."""

    def __init__(
        self,
        bias: torch.Tensor,
        multiplier: torch.Tensor,
        gate_channels: torch.Tensor | None,
        out_channels: torch.Tensor | None,
        is_gate: torch.Tensor | None,
    ) -> None:
        super().__init__()
        self.register_buffer("bias", copy_tensor(bias))
        self.register_buffer("multiplier", copy_tensor(multiplier))
        self.register_buffer("gate_channels", copy_tensor(gate_channels))
        self.register_buffer("out_channels", copy_tensor(out_channels))
        self.register_buffer("is_gate", copy_tensor(is_gate))

    def gate(self, x: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(gates - self.bias.to(x).view(1, -1, 1, 1))
        e = g.index_select(1, self.multiplier)
        if self.out_channels is not None:
            return x.index_select(1, self.out_channels) * e
        if self.is_gate is not None:
            return torch.where(self.is_gate.view(1, -1, 1, 1), e, x * e)
        return x * e

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(x, x.index_select(1, self.gate_channels))


class Gate2(Gate):
    """Gated non-linearity with the gates in a separate tensor: ``forward(gates, input)``."""

    def forward(self, gates: torch.Tensor, input: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.gate(input, gates)


class Concatenated(torch.nn.Module):
    """Channels ``f(v_0), f(-v_0), f(v_1), f(-v_1), ...``."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.function(x), self.function(-x)], dim=2).flatten(1, 2)


class VectorField(torch.nn.Module):
    """One planar vector per regular field of ``C_N``: the max as length, the argmax rotation as angle."""

    def __init__(self, fields: int, n: int) -> None:
        super().__init__()
        self.fields, self.n = int(fields), int(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        best = x.unflatten(1, (self.fields, self.n)).max(dim=2)
        m = F.relu(best[0])
        angle = best[1].to(x.dtype) * (2.0 * math.pi / self.n)
        return torch.stack([m * torch.cos(angle), m * torch.sin(angle)], dim=2).flatten(1, 2)


class Gather(torch.nn.Module):
    """The channels ``index`` of the input (a permutation or a selection of channels)."""

    def __init__(self, index: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("index", copy_tensor(index))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(1, self.index)


class Mask(torch.nn.Module):
    """The input times a fixed mask."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", copy_tensor(mask))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask.to(x)


class Branch(torch.nn.Module):
    """Split the channels into a dict ``label -> tensor`` (a slice ``(start, length)`` or an index each)."""

    def __init__(self, branches: Sequence[tuple[str, tuple[int, int] | torch.Tensor]]) -> None:
        super().__init__()
        self.labels = [label for label, _ in branches]
        self.slices: list[tuple[int, int] | None] = []
        for b, (_, where) in enumerate(branches):
            if isinstance(where, torch.Tensor):
                self.slices.append(None)
                self.register_buffer(f"index_{b}", copy_tensor(where))
            else:
                self.slices.append((int(where[0]), int(where[1])))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for b, label in enumerate(self.labels):
            sl = self.slices[b]
            if sl is not None:
                out[label] = x.narrow(1, sl[0], sl[1])
            else:
                out[label] = x.index_select(1, getattr(self, f"index_{b}"))
        return out


class Merge(torch.nn.Module):
    """Apply module ``i`` to the tensors of its labels (a dict input) and concatenate the outputs."""

    def __init__(self, modules: Sequence[torch.nn.Module], labels: Sequence[Sequence[str]]) -> None:
        super().__init__()
        self.labels = [list(lbs) for lbs in labels]
        for i, module in enumerate(modules):
            self.add_module(f"submodule_{i}", module)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        outs = [
            getattr(self, f"submodule_{i}")(*[inputs[lb] for lb in lbs]) for i, lbs in enumerate(self.labels)
        ]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


class Multiple(torch.nn.Module):
    """``merging(branching(x))``: split by label, apply the modules, concatenate."""

    def __init__(self, branching: torch.nn.Module, merging: torch.nn.Module) -> None:
        super().__init__()
        self.branching = branching
        self.merging = merging

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merging(self.branching(x))
