"""Base class of kernel constraints and their composition.

A kernel constraint is a small :class:`torch.nn.Module` that maps a raw weight tensor ``theta`` to a
kernel ``W = P(theta)`` in an allowed set. It plugs into
:func:`torch.nn.utils.parametrize.register_parametrization` unchanged, and offers
:meth:`KernelConstraint.project_` to overwrite a weight with its projection in place (hard projection
after an optimizer step).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["KernelConstraint", "Compose", "normalize_dims", "constraint_spec", "format_number"]


def format_number(value: float) -> str:
    """A number as the reprs show it: short (``:g``) where that reads back exactly, else in full.

    Every constraint's ``repr`` and ``spec()`` are valid arguments (``eval(repr(c))`` rebuilds ``c``), so
    no digit may be lost.

    Example:
        >>> format_number(2.0), format_number(1e-07), format_number(0.123456789)
        ('2', '1e-07', '0.123456789')
    """
    short = f"{value:g}"
    try:
        exact = float(short) == float(value)
    except (TypeError, ValueError):
        exact = False
    return short if exact else repr(value)


def normalize_dims(
    dims: int | Sequence[int], ndim: int, *, argname: str = "axis", owner: str = ""
) -> tuple[int, ...]:
    """Turn ``dims`` (an int or a sequence of ints, negative allowed) into sorted non-negative dims.

    Args:
        dims: the dimension(s) to normalise.
        ndim: the number of dimensions of the tensor they index.
        argname: the argument name used in error messages.
        owner: the class name used in error messages.

    Returns:
        The sorted tuple of distinct non-negative dimensions.

    Raises:
        TypeError: if ``dims`` is not an int or a sequence of ints.
        ValueError: if a dimension is out of ``[-ndim, ndim)`` or repeated.

    Example:
        >>> normalize_dims([-1, 1], 4)
        (1, 3)
    """
    where = f"{owner}: " if owner else ""
    if isinstance(dims, bool) or not isinstance(dims, (int, Sequence)):
        raise TypeError(f"{where}{argname}={dims!r} is not accepted; expected an int or a sequence of ints")
    items = [dims] if isinstance(dims, int) else list(dims)
    if not items:
        raise ValueError(f"{where}{argname}={dims!r} is empty; expected at least one dimension")
    out = []
    for d in items:
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"{where}{argname}={dims!r} contains {d!r}; expected ints")
        if not -ndim <= d < ndim:
            raise ValueError(
                f"{where}{argname}={dims!r} is out of range for a weight with {ndim} dims; "
                f"expected values in [{-ndim}, {ndim - 1}]"
            )
        out.append(d % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{where}{argname}={dims!r} repeats a dimension; expected distinct dimensions")
    return tuple(sorted(out))


class KernelConstraint(nn.Module):
    r"""Base class of the kernel maps :math:`W = P(\theta)`.

    Subclasses implement :meth:`forward` (differentiable, out of place) and may override
    :meth:`right_inverse` (a map ``R`` with ``P(R(W)) = W`` for every ``W`` in the allowed set; the default
    returns ``P(W)``, valid for idempotent maps) and :meth:`check` (validation against a weight shape).
    :meth:`project_` overwrites a tensor with ``P(tensor)`` in place, without recording gradients.

    The reduction dimensions of a constraint are resolved per weight shape: a constraint is a value that
    holds no state tied to one layer, so the same instance may serve several layers.

    Example:
        >>> from structconv.constraints import ZeroMean
        >>> w = torch.ones(2, 1, 3)
        >>> ZeroMean().project_(w).abs().max().item()
        0.0
    """

    #: short name of the constraint (the factory name where there is one)
    name: str = "constraint"

    def forward(self, weight: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Map a raw weight to the constrained kernel."""
        raise NotImplementedError

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Return a raw weight whose image under :meth:`forward` is ``weight`` if it is feasible.

        The default applies :meth:`forward`, a right inverse for idempotent maps.
        """
        return self.forward(weight)

    def check(self, shape: Sequence[int]) -> None:
        """Raise ``ValueError`` if this constraint cannot apply to a weight of ``shape``.

        Args:
            shape: the weight's shape.
        """
        if len(shape) < 1:
            raise ValueError(f"{type(self).__name__}: weight shape {tuple(shape)} has no dimensions")

    @torch.no_grad()
    def project_(self, weight: Tensor) -> Tensor:
        """Overwrite ``weight`` with its constrained version, in place and without autograd.

        Args:
            weight: the tensor or parameter to project.

        Returns:
            ``weight`` itself.
        """
        weight.copy_(self.forward(weight))
        return weight

    def spec(self) -> str:
        """The name, with the constructor arguments that differ from their defaults in call form.

        It is what the layers' ``repr`` shows after ``constraint=``, and a valid ``constraint=`` argument:
        ``make_constraint(c.spec())`` rebuilds ``c``.

        Example:
            >>> from structconv.constraints import MaxL2, ZeroMean
            >>> ZeroMean().spec(), MaxL2(0.5).spec(), MaxL2(2.0, dims=1).spec()
            ('zero_mean', 'max_l2(max_l2=0.5)', 'max_l2(max_l2=2.0, dims=1)')
        """
        import inspect

        args = []
        for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            value = self._init_value(p.name, p.default)
            if p.default is inspect.Parameter.empty or value != p.default:
                args.append(f"{p.name}={value!r}")
        return self.name + (f"({', '.join(args)})" if args else "")

    def _init_value(self, name: str, default: object) -> object:
        """The current value of the constructor argument ``name`` (its attribute of the same name)."""
        return getattr(self, name, default)


class Compose(KernelConstraint):
    r"""Apply constraints one after the other: :math:`P = P_n \circ \dots \circ P_1`.

    Args:
        *constraints: the constraints, in the order they are applied (a single iterable is accepted too).

    ``right_inverse`` applies the right inverses in reverse order, :math:`R_1 \circ \dots \circ R_n`.

    Example:
        >>> from structconv.constraints import Compose, UnitL2, ZeroMean
        >>> c = Compose(ZeroMean(), UnitL2())
        >>> w = c(torch.randn(4, 2, 3, 3))
        >>> bool(w.sum((2, 3)).abs().max() < 1e-6), bool((w.square().sum((2, 3)) - 1).abs().max() < 1e-5)
        (True, True)
    """

    name = "compose"

    def __init__(self, *constraints: nn.Module | Iterable[nn.Module]) -> None:
        super().__init__()
        for c in constraints:
            if isinstance(c, (str, bytes, bytearray)):
                raise TypeError(
                    f"Compose: constraint {c!r} is a name, not a module; expected constraint modules "
                    f"(build one from a name with make_constraint({c!r}))"
                )
        if len(constraints) == 1 and not isinstance(constraints[0], nn.Module):
            try:
                constraints = tuple(constraints[0])  # type: ignore[arg-type]
            except TypeError:
                raise TypeError(
                    f"Compose: constraint {constraints[0]!r} is not accepted; expected constraint modules "
                    "(or one iterable of them)"
                ) from None
        if not constraints:
            raise ValueError("Compose: no constraint given; expected at least one constraint module")
        for c in constraints:
            if not isinstance(c, nn.Module):
                raise TypeError(
                    f"Compose: constraint {c!r} is not accepted; expected constraint modules "
                    "(build one from a name with make_constraint)"
                )
        self.constraints = nn.ModuleList(constraints)  # type: ignore[arg-type]

    def forward(self, weight: Tensor) -> Tensor:
        """Apply every constraint in order."""
        for c in self.constraints:
            weight = c(weight)
        return weight

    def right_inverse(self, weight: Tensor) -> Tensor:
        """Apply the right inverses in reverse order."""
        for c in reversed(self.constraints):
            inverse = getattr(c, "right_inverse", None)
            weight = weight if inverse is None else inverse(weight)
        return weight

    def check(self, shape: Sequence[int]) -> None:
        """Check every constraint against ``shape``."""
        for c in self.constraints:
            check = getattr(c, "check", None)
            if check is not None:
                check(shape)

    def spec(self) -> str:
        """The list of the composed constraints' names."""
        return "[" + ", ".join(constraint_spec(c) for c in self.constraints) + "]"

    def __repr__(self) -> str:
        """``Compose(ZeroMean(), UnitL2(eps=1e-12))``: valid constructor arguments, on one line."""
        return f"{type(self).__name__}({', '.join(repr(c) for c in self.constraints)})"


def constraint_spec(constraint: nn.Module) -> str:
    """The short description of any constraint module (its ``spec()``, else its class name).

    Example:
        >>> from structconv.constraints import UnitL2
        >>> constraint_spec(UnitL2()), constraint_spec(torch.nn.Identity())
        ('unit_l2', 'Identity')
    """
    spec = getattr(constraint, "spec", None)
    return spec() if callable(spec) else type(constraint).__name__
