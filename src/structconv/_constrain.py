"""Constrain the weight of any existing layer, and keep hard constraints after optimizer steps.

* :func:`constrain` adds a kernel constraint to a convolution or linear layer already built (e.g. inside
  a torchvision or timm model), in place, like :func:`torch.nn.utils.spectral_norm`.
* :func:`attach_projection` registers an optimizer post-step hook that projects every layer of a model
  whose constraint is enforced by projection (``'post_step'`` or ``'inplace'``).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.hooks import RemovableHandle

from structconv.constraints import make_constraint
from structconv.nn._conv_utils import check_constraint_output, check_enforce
from structconv.nn.constrained.layers import ConstrainedLayerMixin, check_projectable, project_weight_

__all__ = ["constrain", "attach_projection", "project_model_"]

_PARAMS = ("eps", "max_l2", "center_value", "neighbor_sum", "max_value", "min_value", "rate", "axis")


class _InplaceProjection:
    """Forward pre-hook of :func:`constrain` with ``enforce='post_step'`` or ``'inplace'``: project the stored
    weight before every forward, so that the layer never convolves with an infeasible weight."""

    def __call__(self, module: nn.Module, args: Any) -> None:
        project_weight_(module)


def _reduce_parametrized(module: nn.Module, protocol: int) -> tuple[Any, ...]:
    """Pickle a module constrained by :func:`constrain` with ``enforce='forward'``.

    PyTorch refuses to pickle parametrized modules; this reduces one to the state of the plain module (the
    raw parameter back under ``weight``) and the constraint, without touching the module itself, and
    :func:`_restore_forward_constraint` registers the constraint again.
    """
    plain_cls = type(module).__bases__[0]  # register_parametrization subclassed the original class
    state = dict(module.__dict__)
    state["_modules"] = dict(state["_modules"])
    parametrizations = state["_modules"].pop("parametrizations")
    state["_parameters"] = dict(state["_parameters"])
    state["_parameters"]["weight"] = parametrizations.weight.original
    return (_restore_forward_constraint, (plain_cls, state, parametrizations.weight[0]))


def _restore_forward_constraint(plain_cls: type, state: dict[str, Any], constraint: nn.Module) -> nn.Module:
    """Rebuild the plain module and register ``constraint`` again, keeping the pickled raw parameter."""
    plain = plain_cls.__new__(plain_cls)
    plain.__setstate__(state)
    raw = plain.weight.detach().clone()
    _register_forward(plain, constraint)
    with torch.no_grad():
        plain.parametrizations.weight.original.copy_(raw)  # undo the right_inverse of the registration
    return plain


def _register_forward(module: nn.Module, constraint: nn.Module) -> None:
    parametrize.register_parametrization(module, "weight", constraint)
    # register_parametrization gives the module a class of its own: teach that class to pickle
    type(module).__reduce_ex__ = _reduce_parametrized  # type: ignore[method-assign, assignment]


def _tied_elsewhere(module: nn.Module, weight: nn.Parameter) -> bool:
    """Whether ``weight`` is also a parameter of another module (tied weights)."""
    for holder in gc.get_referrers(weight):
        if not isinstance(holder, dict) or holder is module._parameters:
            continue
        for owner in gc.get_referrers(holder):
            if isinstance(owner, nn.Module) and owner._parameters is holder:
                return True
            if isinstance(owner, dict) and owner.get("_parameters") is holder:
                return True
    return False


def constrain(
    module: nn.Module,
    constraint: str | nn.Module | Sequence[str | nn.Module],
    *,
    enforce: str = "forward",
    **params: Any,
) -> nn.Module:
    """Constrain the ``weight`` of an existing layer, in place.

    The constraint is built as for the constrained layers (a name, a constraint module or a list); the
    kernel slice of the named modes is the spatial dims of a convolution weight and a row of a linear one.

    * ``enforce='forward'``: registers the constraint with
      :func:`torch.nn.utils.parametrize.register_parametrization`; ``module.weight`` becomes the
      constrained kernel and the raw parameter is ``module.parametrizations.weight.original`` (also its
      state-dict key). The module pickles whole (``torch.save(module)``) and reloads with the same raw
      parameter. Inside :func:`torch.nn.utils.parametrize.cached` the kernel is computed once per context.
    * ``enforce='post_step'``: moves the weight onto the constraint set now (``right_inverse`` then
      ``project_``, as the constrained layers' initialisation does) and stores the constraint as the
      child module ``weight_constraint``; project after every optimizer step with
      :func:`attach_projection` (or :func:`project_model_`). State-dict keys are unchanged. A plain layer
      convolves with its stored weight, so a forward pre-hook also projects it before every forward (a
      no-op while the projections keep it feasible; it catches a loaded plain checkpoint or a ``.data``
      write, which would otherwise reach the convolution unconstrained).
    * ``enforce='inplace'``: as ``'post_step'`` (the weight is projected in place before every forward).

    Under :func:`torch.jit.trace` the pre-hook's projection is recorded in the traced graph (written through
    ``weight.detach()``), so the traced module projects at every run; it cannot run two forwards before one
    backward (the second write invalidates the first forward's saved weight, and PyTorch raises).

    A weight shared with another module (tied weights) is refused: every mode rewrites the stored weight
    (``'forward'`` moves it onto the constraint set's preimage with ``right_inverse``), which would silently
    change the other module.

    Args:
        module: a module with a ``weight`` parameter (``nn.Conv*``, ``nn.ConvTranspose*``, ``nn.Linear``).
        constraint: the constraint (see :func:`structconv.constraints.make_constraint`).
        enforce: ``'forward'``, ``'post_step'`` or ``'inplace'``.
        **params: ``eps``, ``max_l2``, ``center_value``, ``neighbor_sum`` for the named structural modes;
            ``max_value``, ``min_value``, ``rate``, ``axis`` for the Keras names (``'max_norm'``, ...).

    Returns:
        ``module`` itself.

    Raises:
        TypeError: if ``module`` has no ``weight`` parameter or an unknown keyword is given.
        ValueError: for a bad constraint, parameter or ``enforce``, an already constrained module, or a
            weight tied to another module.

    Example:
        >>> import structconv
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
        >>> _ = structconv.constrain(net[0], "zero_mean")
        >>> bool(net[0].weight.sum((2, 3)).abs().max() < 1e-6)
        True
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise TypeError(
            f"constrain() got unknown keyword(s) {unknown}; expected some of: {', '.join(_PARAMS)}"
        )
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"module={module!r} is not accepted; expected a torch.nn.Module with a weight parameter"
        )
    check_enforce(enforce, owner="constrain")
    if (
        isinstance(module, ConstrainedLayerMixin)
        or parametrize.is_parametrized(module, "weight")
        or hasattr(module, "weight_constraint")
    ):
        raise ValueError(
            f"module={type(module).__name__} already has a weight constraint; "
            "expected an unconstrained layer (pass a list of constraints to combine them)"
        )
    weight = module._parameters.get("weight")
    if not isinstance(weight, nn.Parameter):
        raise TypeError(
            f"module={type(module).__name__} has no 'weight' parameter; "
            "expected a convolution or linear layer"
        )
    c = make_constraint(constraint, **params)
    check = getattr(c, "check", None)
    if check is not None:
        check(tuple(weight.shape))
    check_constraint_output(c, weight, "constrain()")  # e.g. torch.nn.Flatten() is refused
    if _tied_elsewhere(module, weight):
        raise ValueError(
            f"module={type(module).__name__}: its weight is shared with another module (tied weights), and "
            "constrain() would rewrite it for both; untie it first "
            "(module.weight = torch.nn.Parameter(module.weight.detach().clone())) or constrain every "
            "module that shares it through one constrained layer"
        )
    if enforce == "forward":
        _register_forward(module, c)
        return module
    module.weight_constraint = c
    inverse = getattr(c, "right_inverse", None)
    if inverse is not None:  # start from a feasible weight, as the constrained layers do
        with torch.no_grad():
            weight.copy_(inverse(weight))
    project_weight_(module)
    # a plain layer convolves with its stored weight: project it before every forward in both modes (for
    # 'post_step' a no-op while the optimizer hook keeps it feasible; it catches loaded checkpoints and
    # .data writes)
    module.register_forward_pre_hook(_InplaceProjection())
    return module


def _projected_modules(model: nn.Module) -> list[nn.Module]:
    out = []
    for m in model.modules():
        if isinstance(m, ConstrainedLayerMixin):
            if m.enforce != "forward":
                out.append(m)
        elif isinstance(getattr(m, "weight_constraint", None), nn.Module):
            out.append(m)
    for m in out:
        check_projectable(m)
    return out


def project_model_(model: nn.Module) -> int:
    """Project every layer of ``model`` whose constraint is enforced by projection, in place.

    Covers the constrained layers with ``enforce='post_step'`` or ``'inplace'`` and the modules
    :func:`constrain` gave such a constraint (``'forward'`` layers need no projection).

    Args:
        model: the model.

    Returns:
        The number of layers projected.

    Example:
        >>> from structconv.nn import ConstrainedConv1d
        >>> m = ConstrainedConv1d(2, 2, 3, constraint="nonneg", enforce="post_step")
        >>> with torch.no_grad():
        ...     _ = m.weight.fill_(-1.0)
        >>> project_model_(torch.nn.Sequential(m)), m.weight.max().item()
        (1, 0.0)
    """
    modules = _projected_modules(model)
    for m in modules:
        project_weight_(m)
    return len(modules)


class _ProjectionHook:
    """Optimizer step post-hook projecting a model (a picklable object, not a closure)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        project_model_(self.model)


def attach_projection(optimizer: torch.optim.Optimizer, model: nn.Module) -> RemovableHandle:
    """Project every projection-enforced constrained layer of ``model`` after each ``optimizer.step()``.

    Uses :meth:`torch.optim.Optimizer.register_step_post_hook`, so ``enforce='post_step'`` layers can
    not be forgotten. Call ``handle.remove()`` to detach it.

    Args:
        optimizer: the optimizer updating ``model``'s parameters.
        model: the model holding the constrained layers.

    Returns:
        The hook's handle.

    Example:
        >>> import structconv
        >>> from structconv.nn import ConstrainedConv2d
        >>> conv = ConstrainedConv2d(2, 2, 3, constraint="max_l2", max_l2=0.5, enforce="post_step")
        >>> opt = torch.optim.SGD(conv.parameters(), lr=10.0)
        >>> handle = structconv.attach_projection(opt, conv)
        >>> conv(torch.randn(1, 2, 5, 5)).square().sum().backward()
        >>> opt.step()
        >>> bool((conv.weight.flatten(2).norm(dim=2) <= 0.5 + 1e-6).all())
        True
        >>> handle.remove()
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer={optimizer!r} is not accepted; expected a torch.optim.Optimizer")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model={model!r} is not accepted; expected a torch.nn.Module")
    _projected_modules(model)  # refuse a weight that a projection cannot reach, now rather than later
    return optimizer.register_step_post_hook(_ProjectionHook(model))
