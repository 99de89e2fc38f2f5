"""Split a tensor by field labels, apply one module per label and concatenate the results.

:class:`BranchingModule` splits a tensor into labelled sub-tensors, :class:`MergeModule` applies a module to
each label (or tuple of labels) and concatenates the outputs, :class:`MultipleModule` chains the two.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor, tensor_directsum

from ._utils import check_field_type, check_input

__all__ = ["BranchingModule", "MergeModule", "MultipleModule"]


class BranchingModule(EquivariantModule):
    """Split the input into one tensor per label; ``out_type`` is a dict ``label -> FieldType``.

    ``labels`` gives one label per field. With ``reshuffle = 0`` each branch keeps its fields in their input
    order; with ``reshuffle`` 1, 2 or 3 the fields are first sorted by label, then (2) by size, then (3) by
    representation name, so that each branch's fields are contiguous (a branch then is a view, not a copy).

    Args:
        in_type: the input field type.
        labels: one string label per field.
        reshuffle: sorting level, 0 to 3; a bool is read as 0 (``False``) or 1 (``True``), as in e2cnn.

    Shape:
        ``[B, C, *S] -> {label: [B, C_label, *S]}``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import BranchingModule, FieldType, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.regular_repr])
        >>> out = BranchingModule(t, ["a", "b", "a"])(GeometricTensor(torch.randn(1, 10, 3, 3), t))
        >>> {k: v.shape[1] for k, v in out.items()}
        {'a': 8, 'b': 2}
    """

    def __init__(self, in_type: FieldType, labels: Sequence[str], reshuffle: int = 0) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        labels = list(labels)
        if len(labels) != len(in_type) or not all(isinstance(lb, str) for lb in labels):
            raise ValueError(
                f"{name}: labels={labels!r} is not accepted; expected {len(in_type)} strings, one per field"
            )
        if not isinstance(reshuffle, (int, np.integer)) or reshuffle not in (0, 1, 2, 3):
            raise ValueError(
                f"{name}: reshuffle={reshuffle!r} is not accepted; expected 0, 1, 2 or 3 (or a bool: "
                "False is 0, True is 1)"
            )
        self.space = in_type.gspace
        self.in_type = in_type
        self.reshuffle = int(reshuffle)
        reps = in_type.representations

        def key(i: int) -> tuple:
            return (labels[i], reps[i].size, reps[i].name)[: self.reshuffle]

        order = sorted(range(len(labels)), key=key) if self.reshuffle else list(range(len(labels)))
        branches: dict[str, list[int]] = {}
        for i in order:
            branches.setdefault(labels[i], []).append(i)
        self.labels = list(branches)
        self.out_type = {lb: in_type.index_select(ids) for lb, ids in branches.items()}
        start, end = np.asarray(in_type.fields_start), np.asarray(in_type.fields_end)
        self._slices: list[tuple[int, int] | None] = []
        for b, ids in enumerate(branches.values()):
            idx = np.concatenate([np.arange(start[i], end[i]) for i in ids]).astype(np.int64)
            if np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
                self._slices.append((int(idx[0]), int(idx[0] + len(idx))))
                self.register_buffer(f"_branch_{b}", None, persistent=False)
            else:
                self._slices.append(None)
                self.register_buffer(f"_branch_{b}", torch.from_numpy(idx), persistent=False)

    def forward(self, input: GeometricTensor) -> dict[str, GeometricTensor]:
        """Return the dict ``label -> GeometricTensor`` of the branches."""
        check_input(self, input)
        x = input.tensor
        out = {}
        for b, lb in enumerate(self.labels):
            sl = self._slices[b]
            t = x[:, sl[0] : sl[1]] if sl is not None else x.index_select(1, getattr(self, f"_branch_{b}"))
            out[lb] = GeometricTensor(t, self.out_type[lb])
        return out

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The dict ``label -> shape`` of the branches for an input of shape ``input_shape``."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"BranchingModule: input_shape={input_shape} does not match in_type")
        return {lb: (input_shape[0], t.size, *input_shape[2:]) for lb, t in self.out_type.items()}

    def check_equivariance(self, atol: float = 1e-7, rtol: float = 1e-5) -> list[tuple[object, float]]:
        """Check every branch on random inputs; return ``(element, max error)`` pairs."""
        x = torch.randn(2, self.in_type.size, 9, 9, dtype=torch.float64)
        out = self(GeometricTensor(x, self.in_type))
        errors = []
        for el in self.in_type.testing_elements:
            moved = self(GeometricTensor(self.in_type.transform(x, el), self.in_type))
            err = max(
                float((self.out_type[lb].transform(out[lb].tensor, el) - moved[lb].tensor).abs().max())
                for lb in out
            )
            if err > atol + rtol:
                raise AssertionError(f"BranchingModule: element {el!r} has error {err:.3g}")
            errors.append((el, err))
        return errors

    def export(self) -> torch.fx.GraphModule:
        """Return the same split as a :class:`torch.fx.GraphModule` (eval mode): a tensor in, a dict out.

        Each branch is a ``narrow`` of the channels (a view) or, when its fields are not contiguous, an
        ``index_select``; the graph returns the dict ``label -> tensor`` in the order of :attr:`labels` and
        loads with PyTorch alone.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.regular_repr])
            >>> out = BranchingModule(t, ["a", "b", "a"]).export()(torch.randn(1, 10, 3, 3))
            >>> {k: v.shape[1] for k, v in out.items()}
            {'a': 8, 'b': 2}
        """
        from .._export import Branch, to_graph

        branches = []
        for b, label in enumerate(self.labels):
            sl = self._slices[b]
            where = (sl[0], sl[1] - sl[0]) if sl is not None else getattr(self, f"_branch_{b}")
            branches.append((label, where))
        return to_graph(Branch(branches), "BranchingModuleGraph")

    def extra_repr(self) -> str:
        return f"{self.in_type}, labels={self.labels}, reshuffle={self.reshuffle}"


class MergeModule(EquivariantModule):
    """Apply one module per label (or tuple of labels) and concatenate their outputs along the channels.

    ``modules`` is a list of pairs ``(module, label)`` or ``(module, [label, ...])``; a module with several
    labels is called with the tensors of those labels as positional arguments. The input is the dict
    ``label -> GeometricTensor`` of a :class:`BranchingModule`; ``in_type`` is ``None``; ``out_type`` is the
    concatenation of the modules' output types, in order.

    Args:
        modules: the list of ``(EquivariantModule, label or list of labels)`` pairs.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, MergeModule, NormNonLinearity, ReLU
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> ta, tb = FieldType(gs, [gs.regular_repr]), FieldType(gs, [gs.irrep(1)])
        >>> merge = MergeModule([(ReLU(ta), "a"), (NormNonLinearity(tb), "b")])
        >>> xa = GeometricTensor(torch.randn(1, 4, 3, 3), ta)
        >>> inputs = {"a": xa, "b": GeometricTensor(torch.randn(1, 2, 3, 3), tb)}
        >>> merge(inputs).type
        [4-Rotations: {regular, irrep_1}]
    """

    def __init__(self, modules: Sequence[tuple[EquivariantModule, str | Sequence[str]]]) -> None:
        super().__init__()
        name = type(self).__name__
        modules = list(modules)
        if not modules:
            raise ValueError(f"{name}: modules is empty; expected at least one (module, label) pair")
        self._labels: list[list[str]] = []
        out_reprs = []
        gspace = None
        for i, item in enumerate(modules):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"{name}: modules[{i}]={item!r} is not a (module, label) pair")
            module, labels = item
            if not isinstance(module, EquivariantModule):
                raise TypeError(
                    f"{name}: modules[{i}][0] must be an EquivariantModule; received {type(module).__name__}"
                )
            labels = [labels] if isinstance(labels, str) else list(labels)
            if not labels or not all(isinstance(lb, str) for lb in labels):
                raise TypeError(f"{name}: modules[{i}][1]={item[1]!r} must be a label or a list of labels")
            if gspace is None:
                gspace = module.out_type.gspace
            elif module.out_type.gspace != gspace:
                raise ValueError(
                    f"{name}: modules[{i}] lives on {module.out_type.gspace.name}, not {gspace.name}"
                )
            self._labels.append(labels)
            out_reprs.extend(module.out_type.representations)
            self.add_module(f"submodule_{i}", module)
        self.space = gspace
        self.in_type = None
        self.out_type = FieldType(gspace, out_reprs)

    def forward(self, input: dict[str, GeometricTensor]) -> GeometricTensor:
        """Apply every module to its labelled inputs and concatenate the outputs."""
        if not isinstance(input, dict):
            raise TypeError(
                f"MergeModule: input must be a dict label -> GeometricTensor; received {type(input).__name__}"
            )
        outs = []
        for i, labels in enumerate(self._labels):
            missing = [lb for lb in labels if lb not in input]
            if missing:
                raise ValueError(
                    f"MergeModule: labels {missing} are missing from the input (has {sorted(input)})"
                )
            outs.append(getattr(self, f"submodule_{i}")(*[input[lb] for lb in labels]))
        y = outs[0].tensor if len(outs) == 1 else tensor_directsum(outs).tensor
        return GeometricTensor(y, self.out_type)

    def evaluate_output_shape(
        self, input_shape: dict[str, tuple[int, ...]] | None = None, **input_shapes: tuple[int, ...]
    ) -> tuple[int, ...]:
        """Output shape for the dict ``label -> shape`` of the inputs.

        The shapes are given as one dict, or as keyword arguments ``label=shape`` (e2cnn's form).
        """
        input_shape = {**(input_shape or {}), **input_shapes}
        shapes = []
        for i, labels in enumerate(self._labels):
            module = getattr(self, f"submodule_{i}")
            missing = [lb for lb in labels if lb not in input_shape]
            if missing:
                raise ValueError(f"MergeModule: no input shape for the labels {missing}")
            args = [input_shape[lb] for lb in labels]
            shapes.append(module.evaluate_output_shape(*args))
        first = shapes[0]
        return (first[0], sum(s[1] for s in shapes), *first[2:])

    def check_equivariance(self, atol: float = 1e-7, rtol: float = 1e-5) -> list[tuple[object, float]]:
        """Check equivariance on random labelled inputs (elements acting exactly on the grid only).

        Returns ``(element, max error)`` pairs for the rotations by multiples of 90 degrees and the flips
        among the testing elements.
        """
        from structconv.nn.typed._typecheck import exact_grid_action

        types: dict[str, FieldType] = {}
        for i, labels in enumerate(self._labels):
            module = getattr(self, f"submodule_{i}")
            in_types = module.in_type if isinstance(module.in_type, tuple) else (module.in_type,)
            types.update(zip(labels, in_types))
        inputs = {lb: torch.randn(2, t.size, 9, 9, dtype=torch.float64) for lb, t in types.items()}
        model = copy.deepcopy(self).double().eval()
        out = model({lb: GeometricTensor(x, types[lb]) for lb, x in inputs.items()}).tensor
        errors = []
        for el in self.out_type.testing_elements:
            if exact_grid_action(np.asarray(self.space.basespace_action(el))) is None:
                continue
            moved = {lb: GeometricTensor(types[lb].transform(x, el), types[lb]) for lb, x in inputs.items()}
            expected = self.out_type.transform(out, el)
            err = float((model(moved).tensor - expected).abs().max())
            if err > atol + rtol * float(expected.abs().max()):
                raise AssertionError(f"MergeModule: element {el!r} has error {err:.3g}")
            errors.append((el, err))
        return errors

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` (eval mode): dict of tensors in, tensor out.

        Every module is replaced by its own :meth:`~EquivariantModule.export`; the graph calls each on the
        tensors of its labels and concatenates the outputs along the channels. ``torch.nn`` submodules stay
        submodules (named ``submodule_<i>`` as here); exported graphs are traced into this one. It loads with
        PyTorch alone.

        Raises:
            NotImplementedError: a module does not implement ``export()`` (a user-defined module).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor, NormNonLinearity, ReLU
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> ta, tb = FieldType(gs, [gs.regular_repr]), FieldType(gs, [gs.irrep(1)])
            >>> merge = MergeModule([(ReLU(ta), "a"), (NormNonLinearity(tb), "b")])
            >>> x = {"a": torch.randn(1, 4, 3, 3), "b": torch.randn(1, 2, 3, 3)}
            >>> y = merge({k: GeometricTensor(v, ta if k == "a" else tb) for k, v in x.items()}).tensor
            >>> torch.equal(merge.export()(x), y)
            True
        """
        from .._export import Merge, to_graph

        modules = [getattr(self, f"submodule_{i}").export() for i in range(len(self._labels))]
        return to_graph(Merge(modules, self._labels), "MergeModuleGraph")

    def extra_repr(self) -> str:
        return f"labels={self._labels}"


class MultipleModule(EquivariantModule):
    """Split the fields by label, apply one module per label (or set of labels), concatenate the results.

    ``labels`` gives a label per field of ``in_type``; ``modules`` is a list of pairs ``(module, label)`` or
    ``(module, [labels])``. The input is split by a :class:`BranchingModule` (with the given ``reshuffle``
    level: 0 keeps each branch in input order, 1 sorts the fields by label, 2 also by size, 3 also by
    representation name) and the outputs are concatenated by a :class:`MergeModule`, in the order of
    ``modules``. Each module's input type must equal its branch's type.

    Args:
        in_type: the input field type.
        labels: one string label per field.
        modules: the list of ``(EquivariantModule, label or list of labels)`` pairs.
        reshuffle: sorting level of the branching, 0 to 3 (a bool is read as 0 or 1).

    Shape:
        ``[B, C, *S] -> [B, C', *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import ELU, FieldType, GeometricTensor, MultipleModule, NormNonLinearity
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.regular_repr])
        >>> ta, tb = FieldType(gs, [gs.regular_repr] * 2), FieldType(gs, [gs.irrep(1)])
        >>> m = MultipleModule(t, ["a", "b", "a"], [(ELU(ta), "a"), (NormNonLinearity(tb), "b")])
        >>> m(GeometricTensor(torch.randn(2, 10, 5, 5), t)).type
        [4-Rotations: {regular, regular, irrep_1}]
    """

    def check_equivariance(
        self,
        atol: float = 2e-6,
        rtol: float = 1e-5,
        full_space_action: bool = True,
        assertion: bool = True,
        verbose: bool = False,
    ) -> list[tuple[Any, float]]:
        """:meth:`EquivariantModule.check_equivariance` with the reference library's positional order for this
        class (``atol``, ``rtol``, ``full_space_action``) and its default ``atol``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, ReLU
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
            >>> branches = [(ReLU(t.index_select([0])), "a"), (ReLU(t.index_select([1])), "b")]
            >>> m = MultipleModule(t, ["a", "b"], branches)
            >>> max(err for _, err in m.check_equivariance()) < 1e-6
            True
        """
        return super().check_equivariance(atol, rtol, assertion, verbose, full_space_action)

    def __init__(
        self,
        in_type: FieldType,
        labels: Sequence[str],
        modules: Sequence[tuple[EquivariantModule, str | Sequence[str]]],
        reshuffle: int = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        self.space = in_type.gspace
        self.gspace = in_type.gspace
        self.in_type = in_type
        self.branching = BranchingModule(in_type, labels, reshuffle=reshuffle)
        modules = list(modules)
        for i, item in enumerate(modules):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"{name}: modules[{i}]={item!r} is not a (module, label) pair")
            module, lbs = item
            lbs = [lbs] if isinstance(lbs, str) else list(lbs)
            types = module.in_type if isinstance(module.in_type, tuple) else (module.in_type,)
            if len(types) != len(lbs):
                raise ValueError(f"{name}: modules[{i}] takes {len(types)} inputs but has labels {lbs}")
            for lb, t in zip(lbs, types):
                if lb not in self.branching.out_type:
                    raise ValueError(f"{name}: modules[{i}] has label {lb!r}, which no field carries")
                if t != self.branching.out_type[lb]:
                    raise ValueError(
                        f"{name}: modules[{i}] expects {t} for label {lb!r} but the branch has type "
                        f"{self.branching.out_type[lb]}"
                    )
        self.merging = MergeModule(modules)
        self.out_type = self.merging.out_type

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Split the input by label, apply the modules and concatenate their outputs."""
        check_input(self, input)
        return self.merging(self.branching(input))

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape``."""
        return self.merging.evaluate_output_shape(self.branching.evaluate_output_shape(input_shape))

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as one :class:`torch.fx.GraphModule` (eval mode), loadable with PyTorch alone.

        The graph chains the exports of the branching and the merging (:meth:`BranchingModule.export`,
        :meth:`MergeModule.export`); the modules' ``torch.nn`` exports stay submodules
        (``merging.submodule_<i>``).

        Raises:
            NotImplementedError: a module does not implement ``export()`` (a user-defined module).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import ELU, FieldType, GeometricTensor, NormNonLinearity
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.regular_repr])
            >>> ta, tb = FieldType(gs, [gs.regular_repr] * 2), FieldType(gs, [gs.irrep(1)])
            >>> m = MultipleModule(t, ["a", "b", "a"], [(ELU(ta), "a"), (NormNonLinearity(tb), "b")])
            >>> x = torch.randn(2, 10, 5, 5)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import Multiple, to_graph

        root = Multiple(self.branching.export(), self.merging.export())
        return to_graph(root, "MultipleModuleGraph")

    def extra_repr(self) -> str:
        return ""
