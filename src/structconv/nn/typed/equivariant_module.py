"""``EquivariantModule``: the abstract base class of every equivariant ``torch.nn.Module``."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from structconv.nn._device import default_device
from structconv.nn._structure import StructureMixin
from structconv.nn.typed.field_type import FieldType

__all__ = ["EquivariantModule"]


def _on_default_device(init: Any) -> Any:
    """Wrap a module's ``__init__`` for the default device and for ``to_empty``.

    * Built under a default device other than the CPU (``with torch.device("meta")``,
      :func:`torch.set_default_device`), the module is built on the CPU and then moved there whole: its
      fixed tensors are computed with numpy (``torch.from_numpy`` makes CPU tensors whatever the default
      device is), and on the meta device they would hold no values to restore later.
    * The exact values of its fixed tensors (the non-persistent buffers and integer structure tensors
      registered by ``__init__``: indices, masks, changes of basis, derived from the construction
      arguments) are kept on the CPU. An ``_apply`` that replaces one (``to_empty``, a dtype cast, a move)
      puts the exact value back, so ``to_empty`` after a meta build, or a round trip through a low
      precision, leaves them exact. A fixed tensor replaced, or holding other values than its exact ones
      (a write by any route: in place, ``.data``, numpy) is the user's state from then on and is left
      alone.

    Only the outermost ``__init__`` of a module does this, once.
    """

    @functools.wraps(init)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        depth = self.__dict__.get("_init_depth", 0)
        device = default_device() if depth == 0 else None
        object.__setattr__(self, "_init_depth", depth + 1)
        try:
            if device is not None and device.type != "cpu":
                with torch.device("cpu"):
                    init(self, *args, **kwargs)
            else:
                init(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_init_depth", depth)
        if depth == 0:
            del self.__dict__["_init_depth"]
            _keep_fixed_tensors(self)
            if device is not None and device.type != "cpu":
                self.to(device)

    wrapped._on_default_device = True  # type: ignore[attr-defined]
    return wrapped


def _fixed_tensor(module: torch.nn.Module, name: str) -> Any:
    if name in module.__dict__.get("_structure_names", ()):
        return module.__dict__.get(name)
    return module._buffers.get(name)


def _keep_fixed_tensors(
    module: torch.nn.Module, names: Any = None, exact: dict[str, torch.Tensor] | None = None
) -> None:
    """Record the module's fixed tensors: per name ``[exact CPU copy, the tensor installed]``.

    Args:
        names: the names to record (default: every non-persistent buffer and structure tensor).
        exact: exact values to use instead of copies of the current tensors (from a pickle).
    """
    if names is None:
        names = [n for n in module._buffers if n in module._non_persistent_buffers_set]
        names += list(module.__dict__.get("_structure_names", ()))
    fixed = {}
    for name in names:
        t = _fixed_tensor(module, name)
        if not isinstance(t, torch.Tensor):
            continue
        value = (exact or {}).get(name)
        if value is None:
            if t.device.type == "meta":
                continue
            value = t.detach().to("cpu", copy=True)
        fixed[name] = [value, t]
    object.__setattr__(module, "_fixed_tensors", fixed)


def _untouched(record: list[Any], tensor: Any) -> bool:
    """Whether ``tensor`` is the fixed tensor installed, still holding its exact values (rounded to its
    dtype; not checked on the meta device, which holds none)."""
    exact, installed = record
    if tensor is not installed or not isinstance(tensor, torch.Tensor):
        return False
    if tensor.device.type == "meta":
        return True
    dtype = tensor.dtype if tensor.is_floating_point() and exact.is_floating_point() else exact.dtype
    if tensor.dtype != dtype or tensor.shape != exact.shape:
        return False
    return bool(torch.equal(tensor.detach(), exact.to(device=tensor.device, dtype=dtype)))


class EquivariantModule(StructureMixin, torch.nn.Module, ABC):
    r"""Abstract base class of the equivariant modules: a typed map between two field types.

    A subclass sets ``self.in_type`` and ``self.out_type`` (:class:`FieldType`) in its ``__init__``,
    implements ``forward`` (a :class:`GeometricTensor` of ``in_type`` in, one of ``out_type`` out) and
    :meth:`evaluate_output_shape`, and guarantees

    .. math::
        f(g \cdot x) = g \cdot f(x) \qquad \forall g \in G

    for the group :math:`G` of the types. Every structconv module overrides :meth:`export` (plain PyTorch for
    deployment); the default, for a subclass that does not, raises ``NotImplementedError``.

    Attributes:
        in_type: type of the ``GeometricTensor`` expected as input.
        out_type: type of the ``GeometricTensor`` returned as output.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> class Scale(EquivariantModule):
        ...     def __init__(self, in_type):
        ...         super().__init__()
        ...         self.in_type = self.out_type = in_type
        ...     def forward(self, x):
        ...         return GeometricTensor(2 * x.tensor, self.out_type)
        ...     def evaluate_output_shape(self, input_shape):
        ...         return input_shape
        >>> gs = Rot2dOnR2(4)
        >>> m = Scale(FieldType(gs, [gs.regular_repr]))
        >>> m
        Scale([4-Rotations: {regular}] -> [4-Rotations: {regular}])
        >>> max(err for _, err in m.check_equivariance()) < 1e-12
        True
    """

    in_type: FieldType
    out_type: FieldType

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the __init__ that runs first for this class (its own, or a mixin's found through the MRO)
        if not getattr(cls.__init__, "_on_default_device", False):
            cls.__init__ = _on_default_device(cls.__init__)  # type: ignore[method-assign]

    def __init__(self) -> None:
        super().__init__()

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> EquivariantModule:
        fixed = self.__dict__.get("_fixed_tensors", {})
        for name in list(fixed):  # replaced by the user since it was installed: the user's state now
            if _fixed_tensor(self, name) is not fixed[name][1]:
                del fixed[name]
        super()._apply(fn, *args, **kwargs)
        # a fixed tensor that this _apply replaced (to_empty, a cast, a move) is put back from its exact value
        # (see _on_default_device): after to_empty it would be uninitialised memory, after a low-precision
        # round trip rounded. One left in place (a no-op move, share_memory_) costs nothing.
        structure = self.__dict__.get("_structure_names", ())
        for name in list(fixed):
            record = fixed[name]
            exact, before = record
            current = _fixed_tensor(self, name)
            if current is before or not isinstance(current, torch.Tensor):
                continue
            if not _untouched(record, before):  # the user had changed its values: the user's state now
                del fixed[name]
                continue
            if current.device.type != "meta":
                floating = current.is_floating_point() and exact.is_floating_point()
                dtype = current.dtype if floating else exact.dtype
                current = exact.to(device=current.device, dtype=dtype, copy=True)
                if name in structure:
                    object.__setattr__(self, name, current)
                else:
                    self._buffers[name] = current
            record[1] = current
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__)
        fixed = state.pop("_fixed_tensors", None)
        if fixed is not None:
            # the names, and the exact values only where the tensors cannot give them back (on the meta
            # device, or rounded to another dtype): a pickle does not carry every fixed tensor twice
            kept = {}
            for name, record in fixed.items():
                tensor = _fixed_tensor(self, name)
                if not _untouched(record, tensor):
                    continue  # the user's state: a copy treats it as such too
                faithful = tensor.device.type != "meta" and tensor.dtype == record[0].dtype
                kept[name] = None if faithful else record[0]
            state["_fixed_exact"] = kept
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        kept = state.pop("_fixed_exact", None)
        super().__setstate__(state)
        if kept is not None:
            exact = {k: v for k, v in kept.items() if v is not None}
            _keep_fixed_tensors(self, names=list(kept), exact=exact)

    @abstractmethod
    def forward(self, *input: Any) -> Any:
        """Apply the module to a :class:`GeometricTensor` of :attr:`in_type`."""

    @abstractmethod
    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the shape of the output for an input of shape ``input_shape``.

        Args:
            input_shape: shape of the input tensor, ``(B, in_type.size, H, W)`` (``(B, in_type.size, D, H,
                W)`` on R^3).

        Returns:
            the shape of the output tensor.
        """

    #: ``True`` for modules that act on every pixel separately (non-linearities): their symmetry is the
    #: action on the channels alone, which :meth:`check_equivariance` then tests at every element.
    _acts_pointwise: bool = False

    def check_equivariance(
        self,
        atol: float = 1e-7,
        rtol: float = 1e-5,
        assertion: bool = True,
        verbose: bool = False,
        full_space_action: bool = True,
    ) -> list[tuple[Any, float]]:
        r"""Test the equivariance of this module on the testing elements of its group.

        Runs :func:`structconv.testing.equivariance_errors` on a float64 copy of the module (in eval
        mode, so this module and its running statistics are untouched) with a smooth random input sized to
        the module's total stride (25 pixels at stride 1; see :func:`~structconv.testing.assert_equivariant`),
        and compares against ``atol + rtol * max|output|``:

        * ``full_space_action=True`` (default) moves the plane and the channels, :math:`[g \cdot f](x) =
          \rho(g) f(g^{-1} x)`. Elements acting exactly on the pixel grid (multiples of 90°, mirror flips)
          are compared everywhere; the others are compared with a smooth input masked to a disc, in the
          inner disc, with the interpolation tolerance of :func:`~structconv.testing.assert_equivariant`.
        * ``full_space_action=False`` acts on the channels only, :math:`\rho(g) f(x)` (see
          :meth:`GeometricTensor.transform_fibers`), for every element. This is the test for maps that
          act pixel by pixel.

        On :math:`\mathbb{R}^3` (a :class:`~structconv.gspaces.r3.GSpace3D`) the input is a volume
        ``(B, C, D, H, W)`` (17 voxels a side at stride 1) and only the elements that move the voxel grid
        exactly (:meth:`~structconv.gspaces.r3.GSpace3D.grid_elements`: the rotations of the cube and the
        inversion that belong to the group) are asserted. The other testing elements (generic rotations,
        which need trilinear interpolation) are measured on a smooth input in the inner ball and returned
        (and printed with ``verbose``, marked ``not asserted``), never asserted: a voxel map is exactly
        equivariant for the grid elements only.

        Modules that act pixel by pixel (the non-linearities) are always tested on the channel action
        at every element and, with ``full_space_action=True``, also on the full action at the elements
        that move the grid exactly: an interpolated 45° turn does not commute with a non-linear (often
        discontinuous) pointwise map, so it would not test the module.

        Args:
            atol: absolute tolerance.
            rtol: relative tolerance (times the largest output value).
            assertion: raise when an element exceeds the tolerance; ``False`` only reports the errors.
            verbose: print one line per tested element.
            full_space_action: move the plane as well as the channels (see above).

        Returns:
            for each testing element, the pair ``(element, max absolute error)`` (on R^3 the grid elements
            first, then the interpolated ones).

        Raises:
            AssertionError: with ``assertion=True``, some element exceeds the tolerance; the message
                names it.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, NormNonLinearity
            >>> gs = Rot2dOnR2(8)
            >>> m = NormNonLinearity(FieldType(gs, [gs.irrep(4)]), function="n_sigmoid")
            >>> max(err for _, err in m.check_equivariance()) < 1e-12
            True

            On :math:`\mathbb{R}^3` (5-D tensors; every element of the octahedral group moves the voxels
            exactly):

            >>> from structconv.gspaces.r3 import octaOnR3
            >>> from structconv.nn import IdentityModule
            >>> gs3 = octaOnR3()
            >>> errors = IdentityModule(FieldType(gs3, [gs3.regular_repr])).check_equivariance()
            >>> len(errors), max(err for _, err in errors)
            (24, 0.0)
        """
        from structconv.nn.typed._typecheck import is_grid_element, spatial_dims
        from structconv.testing import assert_equivariant, equivariance_errors

        module, in_type, out_type, options = self._equivariance_setup()
        elements = list(in_type.testing_elements)
        space = spatial_dims(in_type.gspace) == 3
        shape = _grid_shape(options) if space else None
        grid = [g for g in elements if is_grid_element(in_type.gspace, g, shape)]
        # (elements, channels only, asserted)
        runs: list[tuple[list[Any], bool, bool]] = []
        if not full_space_action or self._acts_pointwise:
            runs.append((elements, True, True))
        if full_space_action:
            if self._acts_pointwise:
                if grid:
                    runs.append((grid, False, True))
            elif space:
                if grid:
                    runs.append((grid, False, True))
                others = [g for g in elements if not any(g is h for h in grid)]
                if others:
                    runs.append((others, False, False))
            else:
                runs.append((elements, False, True))
        worst: dict[int, float] = {}
        for subset, fibers, asserted in runs:
            kwargs = dict(options, elements=subset, fibers_only=fibers)
            if assertion and asserted:
                records = assert_equivariant(module, in_type, out_type, atol=atol, rtol=rtol, **kwargs)
            else:
                records = equivariance_errors(module, in_type, out_type, **kwargs)
            for g, r in zip(subset, records):
                i = next(k for k, e in enumerate(elements) if e is g)
                worst[i] = max(worst.get(i, 0.0), r.abs_error)
                if verbose:
                    note = " [channels only]" if fibers else ("" if asserted else " [not asserted]")
                    print(r.describe() + note)
        order = [i for i in range(len(elements)) if any(elements[i] is g for g in grid)] if space else []
        order += [i for i in sorted(worst) if i not in order]
        return [(elements[i], worst[i]) for i in order if i in worst]

    def _equivariance_setup(self) -> tuple[torch.nn.Module, FieldType, FieldType, dict[str, Any]]:
        """What :meth:`check_equivariance` tests: ``(module, in_type, out_type, options)``.

        ``options`` are extra keyword arguments of :func:`structconv.testing.equivariance_errors`
        (e.g. ``spatial_size``). Subclasses with several inputs or a fixed input size override this.
        """
        return self, self.in_type, self.out_type, {}

    def export(self) -> torch.nn.Module:
        """Convert to an equivalent plain PyTorch module, in eval mode, that loads without structconv.

        The result computes what this module computes in eval mode, to float rounding, on the plain tensor
        ``(B, C, H, W)`` of its ``GeometricTensor`` (containers: the same structure, dicts of tensors for the
        branching modules). It holds copies of the current parameters and statistics. Every structconv
        module implements it with ``torch.nn`` classes where they express the layer (``Conv2d``,
        ``BatchNorm2d``, ``MaxPool2d``, ...) and otherwise with a :class:`torch.fx.GraphModule` traced from
        torch operations only; either way the result pickles (``torch.save``) and loads with
        ``torch.load(path, weights_only=False)`` in a Python where structconv is not installed, and converts
        to ONNX (``torch.onnx.export``).

        The module itself is left exactly as it was (mode, parameters, buffers): export reads the current
        parameters and never switches the live model to eval mode.

        A subclass written outside structconv overrides this method to return plain ``torch.nn`` modules (or
        a :func:`torch.fx.symbolic_trace` of a module written with torch operations).

        Raises:
            NotImplementedError: this module does not implement export (the default, for subclasses).
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement export(); override it to return plain torch.nn modules"
        )

    def extra_repr(self) -> str:
        in_type = getattr(self, "in_type", None)
        out_type = getattr(self, "out_type", None)
        if in_type is None and out_type is None:
            return ""
        return f"{in_type} -> {out_type}"


def _grid_shape(options: dict[str, Any]) -> tuple[int, ...] | None:
    """The voxel grid a check runs on, from its options (``x`` or ``spatial_size``; ``None``: a cube)."""
    x = options.get("x")
    if x is not None:
        t = getattr(x, "tensor", x)
        return tuple(t.shape[-3:])
    size = options.get("spatial_size")
    if size is None:
        return None
    return (int(size),) * 3 if isinstance(size, (int, np.integer)) else tuple(int(v) for v in size)
