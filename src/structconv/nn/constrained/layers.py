r"""Convolutions and linear layers whose kernel satisfies a constraint.

Every layer subclasses its ``torch.nn`` counterpart with the same arguments, order and defaults, plus
keyword-only ``constraint=``, the parameters of the named structural modes (``eps``, ``max_l2``,
``center_value``, ``neighbor_sum``) and of the Keras names (``max_value``, ``min_value``, ``rate``,
``axis``), and ``enforce=``, which says when the constraint :math:`P` acts on
the stored weight :math:`\theta`:

``'forward'`` (default)
    The kernel is :math:`W = P(\theta)`, recomputed differentiably in every forward, in train and eval
    mode, with or without autograd (gradients flow through :math:`P`).
``'post_step'``
    The stored weight is the kernel: it is projected at construction, and you call :meth:`project_` after
    each optimizer step (or :func:`structconv.attach_projection`). Every forward still convolves with
    :math:`P(W)` (gradient straight through to :math:`W`), so a weight made infeasible by any route (a
    plain checkpoint, a ``.data`` write, a forgotten projection) never reaches the convolution.
``'inplace'``
    The stored weight is projected in place, without autograd, before every forward (what selfeeg's
    ``ConstrainedConv2d`` does), then used as the kernel.

**No hidden caches.** No mode caches a kernel between forwards or decides whether the weight "has
changed": ``.data`` writes, in-place updates under ``no_grad``, :func:`torch.func.functional_call`,
``AveragedModel``, ``load_state_dict`` and ``.to()`` are all seen by the next forward. The fast inference
paths are explicit: :meth:`export` (a plain layer with the kernel baked in), or
:func:`torch.nn.utils.parametrize.cached`, inside which each layer computes its kernel once (until the
context exits; parameter changes inside the context are not seen there).

**State dict.** The keys are exactly those of the plain layer (``weight``, ``bias``) in every mode,
train or eval (plus ``weight_constraint.*`` for a constraint module that has parameters or buffers of
its own; the structural and norm constraints have none). ``weight`` holds :math:`\theta`, the learnable
parameter. With ``'post_step'`` and ``'inplace'`` it is the kernel (after projection); with
``'forward'`` it is the raw parameter, and the kernel is :meth:`constrained_weight` (``layer.weight``
is **not** the kernel in this mode). A plain layer's state dict (e.g. pretrained weights) loads into a
constrained one as it is; to get a plain layer with the kernel baked in, use :meth:`export`. The
layers do not use ``register_parametrization``, so whole modules pickle (``torch.save(layer)``) and
``parametrizations.weight.original`` never appears.

**Weight assignment.** ``layer.weight = nn.Parameter(t)`` replaces :math:`\theta`; every mode takes it
into account at the next forward (``'inplace'`` projects it then).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from structconv.constraints import constraint_spec, make_constraint
from structconv.nn._conv_utils import (
    check_constraint_output,
    check_conv_args,
    check_enforce,
    check_linear_args,
    plain_copy,
)
from structconv.nn._derived import derived, stored

__all__ = [
    "ConstrainedLayerMixin",
    "check_projectable",
    "project_weight_",
    "projected_kernel",
    "ConstrainedConv1d",
    "ConstrainedConv2d",
    "ConstrainedConv3d",
    "ConstrainedConvTranspose1d",
    "ConstrainedConvTranspose2d",
    "ConstrainedConvTranspose3d",
    "ConstrainedLinear",
]

ConstraintArg = str | nn.Module | Sequence[str | nn.Module]


def project_weight_(module: nn.Module) -> None:
    """Overwrite ``module.weight`` with ``module.weight_constraint(module.weight)`` in place, no autograd.

    The one projection routine of the library (constrained layers, :func:`structconv.constrain`,
    :func:`structconv.attach_projection`). A weight under another parametrization (e.g.
    :func:`torch.nn.utils.parametrizations.weight_norm`) is written through that parametrization's
    ``right_inverse``, so its stored tensors change and the weight it computes is the projection. A plain
    weight is written through ``weight.data``: the write is not recorded by autograd's version counter
    (as selfeeg's in-place renorm), so a projection between a forward and its backward does not invalidate
    the saved tensors (the projection is idempotent: they keep their values up to rounding). Under
    :func:`torch.jit.trace` it is written through ``weight.detach()``, so the traced graph holds the
    projection (:func:`structconv.nn._derived.stored`).

    Args:
        module: a module with a ``weight`` and a ``weight_constraint``.

    Example:
        >>> conv = ConstrainedConv1d(1, 2, 3, constraint="nonneg", enforce="post_step")
        >>> with torch.no_grad():
        ...     _ = conv.weight.fill_(-1.0)
        >>> project_weight_(conv)
        >>> conv.weight.min().item()
        0.0
    """
    check_projectable(module)
    c = module.weight_constraint
    with torch.no_grad():
        if parametrize.is_parametrized(module, "weight"):
            module.weight = c(module.weight)
            return
        w = stored(module.weight)
        project = getattr(c, "project_", None)
        if project is not None:
            project(w)
        else:
            w.copy_(c(w))


#: parameters that the hook-based torch.nn.utils.weight_norm / spectral_norm put in place of ``weight``
_HOOK_REPARAMETRIZATIONS = ("weight_g", "weight_v", "weight_orig")


def check_projectable(module: nn.Module) -> None:
    """Raise ``ValueError`` if a projection of ``module.weight`` could not reach the weight the layer uses.

    The hook-based :func:`torch.nn.utils.weight_norm` and :func:`torch.nn.utils.spectral_norm` recompute
    ``weight`` from other parameters in a forward pre-hook, which would silently undo every projection; their
    :mod:`torch.nn.utils.parametrizations` versions are supported (the projection is written through them).

    Args:
        module: a module with a ``weight`` and a ``weight_constraint``.

    Example:
        >>> conv = ConstrainedConv1d(1, 2, 3, constraint="nonneg", enforce="post_step")
        >>> check_projectable(torch.nn.utils.weight_norm(conv))
        Traceback (most recent call last):
        ...
        ValueError: module=ConstrainedConv1d: its weight is recomputed by a hook ...
    """
    hooked = [n for n in _HOOK_REPARAMETRIZATIONS if n in module._parameters]
    if hooked:
        raise ValueError(
            f"module={type(module).__name__}: its weight is recomputed by a hook from {hooked} "
            "(torch.nn.utils.weight_norm / spectral_norm), which would undo every projection of the "
            "constraint; use torch.nn.utils.parametrizations.weight_norm / spectral_norm instead (supported)"
        )


def projected_kernel(constraint: nn.Module, weight: Tensor) -> Tensor:
    """The kernel of ``enforce='post_step'``: the value ``P(weight)``, with the gradient of ``weight``.

    The stored weight of a ``'post_step'`` layer is meant to be feasible (it is projected after each
    optimizer step), so its gradient is taken as if the kernel were the weight itself (straight through
    ``P``). The value is always ``P(weight)``: a weight made infeasible by any route (a loaded plain
    checkpoint, a ``.data`` write, a missed projection) never reaches the convolution.

    Args:
        constraint: the constraint ``P``.
        weight: the stored weight.

    Returns:
        ``P(weight)`` (exactly), whose gradient flows to ``weight`` unchanged.

    Example:
        >>> from structconv.constraints import NonNeg
        >>> w = torch.tensor([-1.0, 2.0], requires_grad=True)
        >>> k = projected_kernel(NonNeg(), w)
        >>> k.tolist()
        [0.0, 2.0]
        >>> k.sum().backward(); w.grad.tolist()
        [1.0, 1.0]
    """
    with torch.no_grad():
        kernel = constraint(weight.detach())  # the detach is what a traced graph records of no_grad
    return straight_through(kernel, weight)


def straight_through(value: Tensor, weight: Tensor) -> Tensor:
    """``value`` (computed from ``weight`` without autograd), with the gradient of ``weight`` passed
    through unchanged: ``value + (weight - weight.detach())``, which is ``value`` exactly.

    A traced graph always holds the term (:func:`torch.jit.trace` re-runs the forward without autograd to
    check that the graph does not change).

    Example:
        >>> w = torch.tensor([-1.0, 2.0], requires_grad=True)
        >>> k = straight_through(w.detach().clamp(min=0), w)
        >>> k.tolist(), torch.autograd.grad(k.sum(), w)[0].tolist()
        ([0.0, 2.0], [1.0, 1.0])
    """
    if (torch.is_grad_enabled() or torch.jit.is_tracing()) and weight.requires_grad:
        return value + (weight - weight.detach())  # value: value + 0 exactly; gradient: identity
    return value


class ConstrainedLayerMixin:
    """The constraint machinery shared by the constrained layers (mixed in before the ``torch.nn`` class).

    Every forward derives its kernel from the current stored weight (see this module's docstring):
    nothing is cached between forwards, so the output follows the parameters whatever route changed them.

    Attributes:
        weight_constraint: the constraint module :math:`P`.
        enforce: ``'forward'``, ``'post_step'`` or ``'inplace'``.

    Example:
        >>> from structconv.nn import ConstrainedConv2d
        >>> isinstance(ConstrainedConv2d(2, 2, 3), ConstrainedLayerMixin)
        True
    """

    weight: nn.Parameter
    weight_constraint: nn.Module
    enforce: str
    training: bool
    _plain_class: type[nn.Module]

    def _setup_constraint(
        self,
        constraint: ConstraintArg,
        enforce: str,
        eps: float,
        max_l2: float | None,
        center_value: float,
        neighbor_sum: float,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        c = make_constraint(
            constraint,
            eps=eps,
            max_l2=max_l2,
            center_value=center_value,
            neighbor_sum=neighbor_sum,
            max_value=max_value,
            min_value=min_value,
            rate=rate,
            axis=axis,
        )
        check = getattr(c, "check", None)
        if check is not None:
            check(tuple(self.weight.shape))
        check_constraint_output(c, self.weight, type(self).__name__)  # e.g. torch.nn.Flatten() is refused
        self.weight_constraint = c
        self.enforce = enforce
        self._init_weight()

    @torch.no_grad()
    def _init_weight(self) -> None:
        # start from a feasible weight (right_inverse is well-conditioned where P is not, e.g. sum_to_one)
        inverse = getattr(self.weight_constraint, "right_inverse", None)
        if inverse is not None:
            self.weight.copy_(inverse(self.weight))
        if self.enforce != "forward":
            self.project_()

    def reset_parameters(self) -> None:
        """Re-initialise like the plain layer, then move the weight onto the constraint set."""
        super().reset_parameters()  # type: ignore[misc]
        if getattr(self, "weight_constraint", None) is not None:
            self._init_weight()

    def project_(self) -> ConstrainedLayerMixin:
        """Overwrite the stored weight with its constrained version, in place (hard projection).

        Returns:
            The layer itself.
        """
        project_weight_(self)  # type: ignore[arg-type]
        return self

    def constrained_weight(self) -> Tensor:
        """The kernel that the next forward uses, computed from the current stored weight.

        ``'forward'``: :math:`P(\\theta)`, differentiable. ``'post_step'``: :math:`P(W)` with the gradient of
        :math:`W` (see :func:`projected_kernel`). ``'inplace'``: :math:`P(W)` without autograd, the value the
        next forward writes into the stored weight before convolving with it (this method does not write).
        """
        w = self.weight
        c = self.weight_constraint
        if self.enforce == "forward":
            return derived(self, "weight", lambda: c(w))
        if self.enforce == "post_step":
            return derived(self, "weight", lambda: projected_kernel(c, w))
        with torch.no_grad():
            return c(w)

    def _kernel(self) -> Tensor:
        """The kernel for this forward; projects the stored weight first in ``'inplace'`` mode.

        Under :func:`torch.jit.trace` the kernel is the projection with the gradient passed straight
        through (:func:`projected_kernel`, a new tensor), and the projection is then written into the stored
        weight through ``weight.detach()`` (recorded by the tracer): the traced module keeps the weight
        feasible, trains as this layer does, and can run two forwards before one backward (the convolution
        saved the kernel, not the weight the next forward writes).
        """
        if self.enforce == "inplace":
            if torch.jit.is_tracing() and not parametrize.is_parametrized(self, "weight"):
                kernel = projected_kernel(self.weight_constraint, self.weight)
                with torch.no_grad():
                    stored(self.weight).copy_(kernel.detach())
                return kernel
            project_weight_(self)  # type: ignore[arg-type]
            return self.weight
        return self.constrained_weight()

    def export(self) -> nn.Module:
        """A plain ``torch.nn`` layer of the base class with the constrained kernel baked in.

        The layer itself is left as it was (weights, mode); in ``'inplace'`` mode the exported kernel is the
        projection the next forward would write.

        Returns:
            The plain layer (same hyper-parameters, device and dtype), in eval mode; its output equals
            this layer's output.
        """
        with torch.no_grad():
            kernel = self.constrained_weight().detach()
        return plain_copy(self, self._plain_class, kernel)  # type: ignore[arg-type]

    def _constraint_repr(self) -> str:
        return f"constraint={constraint_spec(self.weight_constraint)}, enforce={self.enforce!r}"

    def extra_repr(self) -> str:
        """The plain layer's repr plus the constraint and the enforce mode."""
        return super().extra_repr() + ", " + self._constraint_repr()  # type: ignore[misc]


_DOC_ARGS = """
    Args:
        constraint: a name (``'none'``, ``'nonneg'``, ``'sum_to_one'``, ``'zero_mean'``,
            ``'nonneg_sum1'``, ``'unit_l2'``, ``'max_l2'``, ``'fixed_center'``; the Keras names
            ``'max_norm'``, ``'min_max_norm'``, ``'unit_norm'``, ``'non_neg'``), a constraint module
            (e.g. :class:`~structconv.constraints.MaxNorm`), a list of them applied in order, or any
            ``repr`` of one (see :func:`~structconv.constraints.make_constraint`).
        enforce: ``'forward'``, ``'post_step'`` or ``'inplace'`` (see this module's
            docstring).
        eps: stability constant of the named normalising modes.
        max_l2: the bound of ``'max_l2'`` (required for it).
        center_value: centre tap of ``'fixed_center'`` (odd kernel sizes only).
        neighbor_sum: sum of the off-centre taps of ``'fixed_center'``.
        max_value: the maximum norm of ``'max_norm'`` (Keras default 2) and ``'min_max_norm'`` (1).
        min_value: the minimum norm of ``'min_max_norm'`` (Keras default 0).
        rate: the rate of ``'min_max_norm'`` (Keras default 1).
        axis: the weight dims the norm of a Keras name runs over (default: every dim but the first).

    The other arguments are those of the ``torch.nn`` base class, unchanged.
"""


class _ConstrainedConvNd(ConstrainedLayerMixin):
    def forward(self, input: Tensor) -> Tensor:
        """Convolve ``input`` with the constrained kernel."""
        return self._conv_forward(input, self._kernel(), self.bias)  # type: ignore[attr-defined]


class ConstrainedConv1d(_ConstrainedConvNd, nn.Conv1d):
    __doc__ = (
        r"""1-D convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, L_{in})`, output :math:`(N, C_{out}, L_{out})` with
        :math:`L_{out} = \lfloor (L_{in} + 2P - D(K - 1) - 1) / S \rfloor + 1`.
"""
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConv1d
        >>> m = ConstrainedConv1d(8, 16, kernel_size=7, padding=3, constraint="nonneg_sum1")
        >>> m(torch.randn(4, 8, 128)).shape
        torch.Size([4, 16, 128])
        >>> bool((m.constrained_weight().sum(-1) - 1).abs().max() < 1e-5)
        True
"""
    )

    _plain_class = nn.Conv1d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: str | int | tuple[int] = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 1, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class ConstrainedConv2d(_ConstrainedConvNd, nn.Conv2d):
    __doc__ = (
        r"""2-D convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, H_{in}, W_{in})`, output :math:`(N, C_{out}, H_{out}, W_{out})` with
        :math:`H_{out} = \lfloor (H_{in} + 2P_0 - D_0(K_0 - 1) - 1) / S_0 \rfloor + 1` (same for :math:`W`).
"""
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConv2d
        >>> m = ConstrainedConv2d(3, 8, 3, padding=1, constraint=["zero_mean", "unit_l2"])
        >>> m(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
        >>> m.extra_repr().split(", constraint=")[1]
        "[zero_mean, unit_l2], enforce='forward'"
"""
    )

    _plain_class = nn.Conv2d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 2, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class ConstrainedConv3d(_ConstrainedConvNd, nn.Conv3d):
    __doc__ = (
        r"""3-D convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})`,
        output :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})` with
        :math:`D_{out} = \lfloor (D_{in} + 2P_0 - D_0(K_0 - 1) - 1) / S_0 \rfloor + 1` (same for H, W).
"""
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConv3d
        >>> m = ConstrainedConv3d(1, 4, 3, padding=1, constraint="fixed_center", enforce="post_step")
        >>> m(torch.randn(1, 1, 5, 6, 6)).shape
        torch.Size([1, 4, 5, 6, 6])
        >>> m.weight[:, :, 1, 1, 1].flatten().tolist()
        [-1.0, -1.0, -1.0, -1.0]
"""
    )

    _plain_class = nn.Conv3d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        padding: str | int | tuple[int, int, int] = 0,
        dilation: int | tuple[int, int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 3, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class _ConstrainedConvTransposeNd(ConstrainedLayerMixin):
    _num_spatial_dims: int
    _transpose_fn: Any

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """Transposed convolution of ``input`` with the constrained kernel (``output_size`` as in torch)."""
        if self.padding_mode != "zeros":  # type: ignore[attr-defined]
            raise ValueError(
                f"padding_mode={self.padding_mode!r} is not supported by {type(self).__name__}; "  # type: ignore[attr-defined]
                "expected 'zeros'"
            )
        output_padding = self._output_padding(  # type: ignore[attr-defined]
            input,
            output_size,
            self.stride,  # type: ignore[attr-defined]
            self.padding,  # type: ignore[attr-defined]
            self.kernel_size,  # type: ignore[attr-defined]
            self._num_spatial_dims,
            self.dilation,  # type: ignore[attr-defined]
        )
        return type(self)._transpose_fn(
            input,
            self._kernel(),
            self.bias,  # type: ignore[attr-defined]
            self.stride,  # type: ignore[attr-defined]
            self.padding,  # type: ignore[attr-defined]
            output_padding,
            self.groups,  # type: ignore[attr-defined]
            self.dilation,  # type: ignore[attr-defined]
        )


_DOC_TRANSPOSED = """
    The weight has shape :math:`(C_{in}, C_{out} / \\text{groups}, *k)`; the structural modes act on
    every :math:`k` slice, the norm constraints' default ``axis`` (every dim but the first) gives one
    norm per input channel.
"""


class ConstrainedConvTranspose1d(_ConstrainedConvTransposeNd, nn.ConvTranspose1d):
    __doc__ = (
        r"""1-D transposed convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, L_{in})`, output :math:`(N, C_{out}, L_{out})` with
        :math:`L_{out} = (L_{in} - 1) S - 2P + D(K - 1) + P_{out} + 1`.
"""
        + _DOC_TRANSPOSED
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConvTranspose1d
        >>> m = ConstrainedConvTranspose1d(4, 2, 3, stride=2, constraint="nonneg")
        >>> m(torch.randn(1, 4, 10)).shape
        torch.Size([1, 2, 21])
"""
    )

    _plain_class = nn.ConvTranspose1d
    _num_spatial_dims = 1
    _transpose_fn = F.conv_transpose1d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] = 0,
        output_padding: int | tuple[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 1, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, output_padding=output_padding, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class ConstrainedConvTranspose2d(_ConstrainedConvTransposeNd, nn.ConvTranspose2d):
    __doc__ = (
        r"""2-D transposed convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, H_{in}, W_{in})`, output :math:`(N, C_{out}, H_{out}, W_{out})` with
        :math:`H_{out} = (H_{in} - 1) S_0 - 2P_0 + D_0(K_0 - 1) + P_{out,0} + 1` (same for :math:`W`).
"""
        + _DOC_TRANSPOSED
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConvTranspose2d
        >>> m = ConstrainedConvTranspose2d(4, 2, 3, stride=2, padding=1, constraint="unit_l2")
        >>> m(torch.randn(1, 4, 5, 5), output_size=[10, 10]).shape
        torch.Size([1, 2, 10, 10])
"""
    )

    _plain_class = nn.ConvTranspose2d
    _num_spatial_dims = 2
    _transpose_fn = F.conv_transpose2d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 2, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, output_padding=output_padding, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class ConstrainedConvTranspose3d(_ConstrainedConvTransposeNd, nn.ConvTranspose3d):
    __doc__ = (
        r"""3-D transposed convolution with a constrained kernel :math:`\tilde W = P(W)`.

    Shape:
        Input :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})`,
        output :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})` with
        :math:`D_{out} = (D_{in} - 1) S_0 - 2P_0 + D_0(K_0 - 1) + P_{out,0} + 1` (same for the others).
"""
        + _DOC_TRANSPOSED
        + _DOC_ARGS
        + """
    Example:
        >>> from structconv.nn import ConstrainedConvTranspose3d
        >>> m = ConstrainedConvTranspose3d(2, 2, 3, constraint="zero_mean", enforce="inplace")
        >>> m(torch.randn(1, 2, 3, 3, 3)).shape
        torch.Size([1, 2, 5, 5, 5])
"""
    )

    _plain_class = nn.ConvTranspose3d
    _num_spatial_dims = 3
    _transpose_fn = F.conv_transpose3d

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] = 0,
        output_padding: int | tuple[int, int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int, int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_conv_args(
            type(self).__name__, 3, in_channels, out_channels, kernel_size, stride, padding, dilation,
            groups, bias, padding_mode, dtype, output_padding=output_padding, device=device
        )
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )


class ConstrainedLinear(ConstrainedLayerMixin, nn.Linear):
    r"""Linear layer with a constrained weight: :math:`y = x \tilde W^T + b`, :math:`\tilde W = P(W)`.

    The "kernel slice" of the structural modes is a row of the ``(out_features, in_features)`` weight
    (the weights of one output unit); the norm constraints' default ``axis`` gives one norm per output unit.

    Shape:
        Input :math:`(*, H_{in})`, output :math:`(*, H_{out})`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device: the parameters' device.
        dtype: the parameters' dtype.
        constraint: see :class:`ConstrainedConv1d`.
        enforce: ``'forward'``, ``'post_step'`` or ``'inplace'``.
        eps: stability constant of the named normalising modes.
        max_l2: the bound of ``'max_l2'``.
        center_value: centre weight of ``'fixed_center'`` (odd ``in_features`` only).
        neighbor_sum: sum of the other weights of ``'fixed_center'``.
        max_value: the maximum norm of ``'max_norm'`` (Keras default 2) and ``'min_max_norm'`` (1).
        min_value: the minimum norm of ``'min_max_norm'`` (Keras default 0).
        rate: the rate of ``'min_max_norm'`` (Keras default 1).
        axis: the weight dims the norm of a Keras name runs over (default: every dim but the first).

    Example:
        >>> from structconv.nn import ConstrainedLinear
        >>> m = ConstrainedLinear(5, 3, constraint="max_l2", max_l2=0.1)
        >>> m(torch.randn(2, 5)).shape
        torch.Size([2, 3])
        >>> bool((m.constrained_weight().norm(dim=1) <= 0.1 + 1e-6).all())
        True
    """

    _plain_class = nn.Linear

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        constraint: ConstraintArg = "none",
        enforce: str = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
        max_value: float | None = None,
        min_value: float | None = None,
        rate: float | None = None,
        axis: int | Sequence[int] | None = None,
    ) -> None:
        check_linear_args(type(self).__name__, in_features, out_features, bias, dtype, device)
        check_enforce(enforce, owner=type(self).__name__)
        super().__init__(in_features, out_features, bias, device, dtype)
        self._setup_constraint(
            constraint, enforce, eps, max_l2, center_value, neighbor_sum, max_value, min_value, rate, axis
        )

    def forward(self, input: Tensor) -> Tensor:
        """Apply the linear map with the constrained weight."""
        return F.linear(input, self._kernel(), self.bias)
