"""Weight-standardized convolutions: ``WSConv1d/2d/3d``, ``WSConvTranspose1d/2d/3d`` and ``FWS``.

Every layer here is an ordinary ``torch.nn`` convolution whose kernel is the *scaled weight
standardization* (Brock et al., 2021, NF-Nets) of its raw weight, recomputed on every forward:

.. math::

    \\hat W_i = g_i (W_i - \\mu_i) \\mathrm{rsqrt}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

per output filter ``i``, with a learnable gain ``g`` (parameter ``gain``, initialised to 1), the biased
per-filter variance :math:`\\sigma_i^2`, the per-filter fan-in ``F`` (``in_channels / groups`` times the
kernel volume) and ``eps`` given to ``forward``. See
:func:`structconv.constraints.standardization.scaled_weight_standardize`.

For the transposed layers the output filters are taken along dim 1 of the ``(in, out / groups, *k)``
weight, group-aware, so ``gain`` has ``out_channels`` entries and every *output* channel sees a
standardized filter. (``elektronn3`` standardizes transposed weights along dim 0, i.e. per input
channel, and uses the whole tensor size as fan-in; :mod:`structconv.compat.elektronn3` reproduces that
exactly.)

``FWS`` is the in-place variant: it overwrites the wrapped layer's ``weight`` with its standardization
before calling the layer, so gradients reach the raw weight straight through the projection.

The standardized kernel is recomputed from the current ``weight`` and ``gain`` on every forward, in train
and eval mode alike (nothing is cached between forwards; see :mod:`structconv.nn._derived`). For
inference at the cost of a plain convolution, :meth:`export` the layer, or run the forwards inside
:func:`torch.nn.utils.parametrize.cached` (one standardization per layer per context).
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.conv import _ConvNd, _ConvTransposeNd
from torch.nn.utils import skip_init

from structconv.constraints.standardization import _check_eps, scaled_weight_standardize
from structconv.nn._conv_utils import check_conv_args
from structconv.nn._derived import derived, stored

_DEFAULT_EPS = 1e-4  # the reference library's default ``eps`` of ``forward``

__all__ = [
    "FWS",
    "WSConv1d",
    "WSConv2d",
    "WSConv3d",
    "WSConvTranspose1d",
    "WSConvTranspose2d",
    "WSConvTranspose3d",
]


class _WSMixin:
    """Shared machinery of the weight-standardized conv layers (configuration in class attributes)."""

    # Filters of a transposed weight along dim 1 (group-aware); False: along dim 0.
    _ws_transposed_filters: bool = False
    # Unbiased variance (n - 1) instead of the biased one.
    _ws_unbiased: bool = False
    # Fan-in = size of the whole weight tensor instead of the size of one filter.
    _ws_numel_fan_in: bool = False

    weight: Tensor
    gain: Tensor
    groups: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _check_ws_args(type(self), args, kwargs)  # the arguments of the torch layer, before torch sees them
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        layout = self._ws_layout()
        w = self.weight
        if layout["channel_dim"] == 0:
            entries = math.prod(w.shape[1:])
        else:
            entries = (w.shape[0] // layout["groups"]) * math.prod(w.shape[2:])
        if entries < 2:
            raise ValueError(
                f"{type(self).__name__}: in_channels={self.in_channels}, "  # type: ignore[attr-defined]
                f"out_channels={self.out_channels}, kernel_size={self.kernel_size}, "  # type: ignore[attr-defined]
                f"groups={self.groups} give output filters of {entries} weight: weight standardization "
                "maps a single weight to 0 (it has no variance); expected at least 2 weights per filter "
                "(more input channels per group or a larger kernel)"
            )

    def _ws_init(self, num_filters: int, device: Any, dtype: Any) -> None:
        self.gain = nn.Parameter(torch.ones(num_filters, device=device, dtype=dtype))

    def reset_parameters(self) -> None:
        """Initialise ``weight``/``bias`` as the torch layer does and ``gain`` to ones."""
        super().reset_parameters()  # type: ignore[misc]
        gain = getattr(self, "gain", None)
        if isinstance(gain, Tensor):
            with torch.no_grad():
                gain.fill_(1.0)

    def _ws_layout(self) -> dict[str, Any]:
        if self._ws_transposed_filters:
            return {"channel_dim": 1, "groups": self.groups}
        return {"channel_dim": 0}

    def standardize_weight(self, eps: float = 1e-4) -> Tensor:
        """Return the standardized kernel the convolution uses (differentiable in ``weight`` and ``gain``).

        Args:
            eps: lower bound of ``var * fan_in``; finite and > 0.

        Example:
            >>> m = WSConv2d(3, 4, 3)
            >>> w = m.standardize_weight()
            >>> torch.allclose(w.pow(2).sum((1, 2, 3)), m.gain.pow(2))
            True
        """
        _check_eps(eps, owner=type(self).__name__)
        w = self.weight
        fan_in = w.numel() if self._ws_numel_fan_in else None
        return scaled_weight_standardize(
            w, self.gain, eps, fan_in=fan_in, unbiased=self._ws_unbiased, **self._ws_layout()
        )

    def _ws_weight(self, eps: float) -> Tensor:
        eps = _check_eps(eps, owner=type(self).__name__)
        return derived(self, f"ws_weight_{eps!r}", lambda: self.standardize_weight(eps))

    def _ws_extra(self) -> str:
        fan = "weight.numel()" if self._ws_numel_fan_in else "per filter"
        filt = "dim 1 (grouped)" if self._ws_transposed_filters else "dim 0"
        var = "unbiased" if self._ws_unbiased else "biased"
        return f", scaled_ws=(filters={filt}, fan_in={fan}, variance={var})"


class _WSConvNd(_WSMixin):
    _plain: type[_ConvNd]

    def _ws_setup(self, device: Any, dtype: Any) -> None:
        self._ws_init(self.out_channels, device, dtype)  # type: ignore[attr-defined]

    def forward(self, input: Tensor, eps: float | None = None) -> Tensor:
        """Convolve ``input`` with the standardized kernel (see the class docstring).

        ``eps=None`` means the documented default ``1e-4`` (a ``None`` default keeps ``eps`` out of traced
        graphs, e.g. ONNX exports of the live layer).
        """
        return self._conv_forward(input, self._ws_weight(_DEFAULT_EPS if eps is None else eps), self.bias)  # type: ignore[attr-defined]

    def export(self, eps: float = 1e-4) -> _ConvNd:
        """Return a plain ``torch.nn`` convolution with the standardized kernel baked in (same output)."""
        m = self
        out = skip_init(  # no random initialisation: export draws no random numbers
            self._plain,
            m.in_channels,  # type: ignore[attr-defined]
            m.out_channels,  # type: ignore[attr-defined]
            m.kernel_size,  # type: ignore[attr-defined]
            stride=m.stride,  # type: ignore[attr-defined]
            padding=m.padding,  # type: ignore[attr-defined]
            dilation=m.dilation,  # type: ignore[attr-defined]
            groups=m.groups,
            bias=m.bias is not None,  # type: ignore[attr-defined]
            padding_mode=m.padding_mode,  # type: ignore[attr-defined]
            device=m.weight.device,
            dtype=m.weight.dtype,
        )
        _copy_into(out, self.standardize_weight(eps), m.bias)  # type: ignore[attr-defined]
        return out.eval()  # type: ignore[attr-defined]

    def extra_repr(self) -> str:
        return super().extra_repr() + self._ws_extra()  # type: ignore[misc]


class _WSConvTransposeNd(_WSMixin):
    _ws_transposed_filters = True
    _plain: type[_ConvTransposeNd]
    _functional: Any
    _nd: int

    def _ws_setup(self, device: Any, dtype: Any) -> None:
        n = self.out_channels if self._ws_transposed_filters else self.in_channels  # type: ignore[attr-defined]
        self._ws_init(n, device, dtype)

    def forward(
        self, input: Tensor, output_size: list[int] | None = None, eps: float | None = None
    ) -> Tensor:
        """Transposed convolution of ``input`` with the standardized kernel.

        Args:
            input: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
            output_size: optional exact output size (resolves the stride ambiguity, as in torch).
            eps: lower bound of ``var * fan_in`` (``None``: the documented default ``1e-4``).
        """
        if eps is None:
            eps = _DEFAULT_EPS
        m = self
        if m.padding_mode != "zeros":  # type: ignore[attr-defined]
            raise ValueError(
                f"padding_mode={m.padding_mode!r} is not supported by {type(self).__name__}; expected 'zeros'"  # type: ignore[attr-defined]
            )
        output_padding = m._output_padding(  # type: ignore[attr-defined]
            input,
            output_size,
            m.stride,
            m.padding,
            m.kernel_size,
            self._nd,
            m.dilation,  # type: ignore[attr-defined]
        )
        return self._functional(
            input,
            self._ws_weight(eps),
            m.bias,  # type: ignore[attr-defined]
            m.stride,  # type: ignore[attr-defined]
            m.padding,  # type: ignore[attr-defined]
            output_padding,
            m.groups,
            m.dilation,  # type: ignore[attr-defined]
        )

    def export(self, eps: float = 1e-4) -> _ConvTransposeNd:
        """Return a plain ``torch.nn`` transposed convolution with the standardized kernel baked in."""
        m = self
        out = skip_init(  # no random initialisation: export draws no random numbers
            self._plain,
            m.in_channels,  # type: ignore[attr-defined]
            m.out_channels,  # type: ignore[attr-defined]
            m.kernel_size,  # type: ignore[attr-defined]
            stride=m.stride,  # type: ignore[attr-defined]
            padding=m.padding,  # type: ignore[attr-defined]
            output_padding=m.output_padding,  # type: ignore[attr-defined]
            groups=m.groups,
            bias=m.bias is not None,  # type: ignore[attr-defined]
            dilation=m.dilation,  # type: ignore[attr-defined]
            padding_mode=m.padding_mode,  # type: ignore[attr-defined]
            device=m.weight.device,
            dtype=m.weight.dtype,
        )
        _copy_into(out, self.standardize_weight(eps), m.bias)  # type: ignore[attr-defined]
        return out.eval()  # type: ignore[attr-defined]

    def extra_repr(self) -> str:
        return super().extra_repr() + self._ws_extra()  # type: ignore[misc]


def _check_ws_args(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Bind the arguments to the torch base class's signature and validate them (``check_conv_args``)."""
    base = cls._plain
    try:
        bound = inspect.signature(base.__init__).bind(None, *args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{cls.__name__}: {err} (the arguments of torch.nn.{base.__name__})") from None
    bound.apply_defaults()
    a = bound.arguments
    ndim = int(base.__name__[-2])  # Conv1d, ConvTranspose3d, ...
    check_conv_args(
        cls.__name__,
        ndim,
        a["in_channels"],
        a["out_channels"],
        a["kernel_size"],
        a["stride"],
        a["padding"],
        a["dilation"],
        a["groups"],
        a["bias"],
        a["padding_mode"],
        a["dtype"],
        output_padding=a["output_padding"] if "output_padding" in a else None,
        device=a["device"],
    )


@torch.no_grad()
def _copy_into(layer: nn.Module, weight: Tensor, bias: Tensor | None) -> None:
    layer.weight.copy_(weight)
    if bias is not None:
        layer.bias.copy_(bias)


_CONV_DOC = """{summary}

    Takes exactly the arguments of :class:`torch.nn.{base}` (same names, order and defaults) and
    convolves with the scaled weight standardization of ``weight`` (NF-Nets, Brock et al. 2021):

    .. math::

        \\hat W_i = g_i (W_i - \\mu_i) \\mathrm{{rsqrt}}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

    per output filter ``i`` (biased variance, ``F = in_channels / groups * prod(kernel_size)``), with
    the learnable ``gain`` ``g`` (shape ``(out_channels,)``, initialised to 1). ``eps`` is an argument of
    ``forward`` (default ``1e-4``). State-dict keys: ``weight``, ``bias`` (if any), ``gain``.

    Shape:
        Same as :class:`torch.nn.{base}`.

    Example:
        >>> m = {name}(4, 8, 3, padding=1)
        >>> x = torch.randn(2, 4, {spatial})
        >>> m(x).shape
        torch.Size([2, 8, {spatial}])
        >>> torch.allclose(m.export()(x), m(x), atol=1e-6)
        True
    """


class WSConv1d(_WSConvNd, nn.Conv1d):
    __doc__ = _CONV_DOC.format(
        summary="1D convolution with a scaled weight-standardized kernel.",
        base="Conv1d",
        name="WSConv1d",
        spatial="9",
    )
    _plain = nn.Conv1d

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


class WSConv2d(_WSConvNd, nn.Conv2d):
    __doc__ = _CONV_DOC.format(
        summary="2D convolution with a scaled weight-standardized kernel.",
        base="Conv2d",
        name="WSConv2d",
        spatial="9, 9",
    )
    _plain = nn.Conv2d

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


class WSConv3d(_WSConvNd, nn.Conv3d):
    __doc__ = _CONV_DOC.format(
        summary="3D convolution with a scaled weight-standardized kernel.",
        base="Conv3d",
        name="WSConv3d",
        spatial="5, 5, 5",
    )
    _plain = nn.Conv3d

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


_TCONV_DOC = """{summary}

    Takes exactly the arguments of :class:`torch.nn.{base}` and computes the transposed convolution with
    the scaled weight standardization of ``weight``, the output filters being taken along dim 1 of the
    ``(in_channels, out_channels / groups, *kernel_size)`` weight (group-aware):

    .. math::

        \\hat W_{{:,o}} = g_o (W_{{:,o}} - \\mu_o)
        \\mathrm{{rsqrt}}\\bigl(\\max(\\sigma_o^2 F, \\epsilon)\\bigr)

    where ``W_{{:, o}}`` are the ``F = in_channels / groups * prod(kernel_size)`` weights feeding output
    channel ``o`` (biased variance). ``gain`` has shape ``(out_channels,)``. ``forward(input,
    output_size=None, eps=1e-4)``. Only ``padding_mode='zeros'`` (as in torch).

    Shape:
        Same as :class:`torch.nn.{base}`.

    Example:
        >>> m = {name}(4, 8, 3, stride=2, padding=1)
        >>> x = torch.randn(2, 4, {spatial})
        >>> m(x, output_size=[{size}]).shape
        torch.Size([2, 8, {out}])
        >>> torch.allclose(m.export()(x), m(x), atol=1e-6)
        True
    """


class WSConvTranspose1d(_WSConvTransposeNd, nn.ConvTranspose1d):
    __doc__ = _TCONV_DOC.format(
        summary="1D transposed convolution with a scaled weight-standardized kernel.",
        base="ConvTranspose1d",
        name="WSConvTranspose1d",
        spatial="6",
        size="12",
        out="12",
    )
    _plain = nn.ConvTranspose1d
    _functional = staticmethod(F.conv_transpose1d)
    _nd = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


class WSConvTranspose2d(_WSConvTransposeNd, nn.ConvTranspose2d):
    __doc__ = _TCONV_DOC.format(
        summary="2D transposed convolution with a scaled weight-standardized kernel.",
        base="ConvTranspose2d",
        name="WSConvTranspose2d",
        spatial="6, 6",
        size="12, 12",
        out="12, 12",
    )
    _plain = nn.ConvTranspose2d
    _functional = staticmethod(F.conv_transpose2d)
    _nd = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


class WSConvTranspose3d(_WSConvTransposeNd, nn.ConvTranspose3d):
    __doc__ = _TCONV_DOC.format(
        summary="3D transposed convolution with a scaled weight-standardized kernel.",
        base="ConvTranspose3d",
        name="WSConvTranspose3d",
        spatial="3, 3, 3",
        size="6, 6, 6",
        out="6, 6, 6",
    )
    _plain = nn.ConvTranspose3d
    _functional = staticmethod(F.conv_transpose3d)
    _nd = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ws_setup(self.weight.device, self.weight.dtype)


class FWS(nn.Module):
    """Wrap a layer and standardize its ``weight`` in place before every forward ("forced" WS).

    Before calling ``layer(*args, **kwargs)``, ``layer.weight`` is overwritten (without autograd) with

    .. math::

        g_i (W_i - \\mu_i) \\mathrm{rsqrt}\\bigl(\\max(\\sigma_i^2 F, \\epsilon)\\bigr)

    per output filter (dim 0 of ``Conv*``/``Linear`` weights; dim 1, group-aware, of ``ConvTranspose*``
    weights), with the biased variance and ``F`` the fan-in of one filter. The map is idempotent, so the
    layer always holds a standardized weight and gradients pass straight through the projection to it.

    ``gain`` (a parameter if ``learnable_gain``, else a buffer of ones), ``fan_in`` and ``eps`` are
    stored in the state dict under those names, as ``elektronn3.modules.wsconv.FWS`` does. Since the
    projection runs without autograd, ``gain`` receives no gradient: it is a scale you may set (or
    load); ``learnable_gain`` only decides parameter vs buffer.
    The standardization writes into ``layer.weight`` itself: under :func:`torch.func.functional_call` the
    tensor passed for ``layer.weight`` is standardized in place (as an ``enforce='inplace'`` constrained
    layer projects it), and each forward may change the stored weight by a few ulps (standardizing is
    idempotent only up to rounding).

    Standardizing a standardized weight returns it unchanged only for positive gains: with a negative
    gain entry the filter changes sign at every standardization (as in the reference library), so keep
    ``gain`` positive.

    With ``const_eval=True`` nothing is standardized in eval mode: the layer runs on its weights as they
    are (zero overhead). With ``const_eval=False`` eval also standardizes. In training mode (and in eval
    mode unless ``const_eval``) the weight is standardized before **every** forward, as the reference does:
    nothing decides whether the weight "changed", so ``.data`` writes and loaded checkpoints are always
    standardized before they are used.

    Args:
        layer: a module with a ``weight`` tensor of at least 2 dims (``nn.Conv*``, ``nn.ConvTranspose*``,
            ``nn.Linear``, ...).
        learnable_gain: register ``gain`` as a parameter (else a buffer).
        const_eval: skip the standardization in eval mode.
        eps: lower bound of ``var * fan_in``; finite and > 0.

    Example:
        >>> f = FWS(nn.Conv2d(4, 8, 3))
        >>> y = f(torch.randn(2, 4, 9, 9))
        >>> torch.allclose(f.layer.weight.pow(2).sum((1, 2, 3)), torch.ones(8), atol=1e-5)
        True
    """

    _ws_unbiased: bool = False
    _ws_numel_fan_in: bool = False
    _ws_always_dim0: bool = False

    def __init__(
        self, layer: nn.Module, learnable_gain: bool = True, const_eval: bool = False, eps: float = 0.0001
    ) -> None:
        super().__init__()
        if not isinstance(layer, nn.Module):
            raise TypeError(
                f"layer={layer!r} has type {type(layer).__name__}; expected a torch.nn.Module with a weight"
            )
        w = getattr(layer, "weight", None)
        if not isinstance(w, Tensor) or w.dim() < 2:
            got = "no 'weight'" if w is None else f"weight={type(w).__name__}{tuple(getattr(w, 'shape', ()))}"
            raise TypeError(
                f"layer={type(layer).__name__} has {got}; expected a module whose 'weight' is a tensor "
                "with >= 2 dims (nn.Conv*, nn.ConvTranspose*, nn.Linear)"
            )
        eps = _check_eps(eps, owner=type(self).__name__)
        transposed = isinstance(layer, _ConvTransposeNd) and not self._ws_always_dim0
        self._channel_dim = 1 if transposed else 0
        self._groups = int(layer.groups) if transposed else 1  # type: ignore[arg-type]
        num_filters = w.shape[1] * self._groups if transposed else w.shape[0]
        entries = w.numel() // num_filters
        if entries < 2:
            raise ValueError(
                f"FWS: layer={type(layer).__name__} with weight of shape {tuple(w.shape)} has output filters "
                "of 1 weight: weight standardization maps a single weight to 0 (it has no variance); "
                "expected at least 2 weights per filter"
            )
        if self._ws_numel_fan_in:
            fan_in = w.numel()
        else:
            fan_in = w.numel() // num_filters
        gain = torch.ones(num_filters, device=w.device, dtype=w.dtype)
        if learnable_gain:
            # The in-place standardization runs without autograd, so ``gain`` never gets a gradient;
            # ``requires_grad=False`` keeps DDP (find_unused_parameters=False) working.
            self.gain = nn.Parameter(gain, requires_grad=False)
        else:
            self.register_buffer("gain", gain)
        self.register_buffer("fan_in", torch.tensor(fan_in, dtype=torch.int64, device=w.device))
        self.register_buffer("eps", torch.tensor(eps, device=w.device))
        self.layer = layer
        self.const_eval = bool(const_eval)

    def _standardized(self, weight: Tensor) -> Tensor:
        layout: dict[str, Any] = {"channel_dim": self._channel_dim}
        if self._channel_dim == 1:
            layout["groups"] = self._groups
        return scaled_weight_standardize(
            weight, self.gain, self.eps, fan_in=self.fan_in, unbiased=self._ws_unbiased, **layout
        )

    @torch.no_grad()
    def standardize_weight(self) -> None:
        """Overwrite ``layer.weight`` in place with its standardization (no autograd).

        Example:
            >>> f = FWS(nn.Linear(5, 3))
            >>> f.standardize_weight()
            >>> bool(f.layer.weight.mean(1).abs().max() < 1e-6)
            True
        """
        w = self.layer.weight
        stored(w).copy_(self._standardized(w.detach()))  # a traced graph records the write (see stored)

    def _standardizes(self) -> bool:
        """Whether the next forward standardizes (always in training mode; in eval unless ``const_eval``)."""
        return self.training or not self.const_eval

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Standardize ``layer.weight`` in place (unless ``const_eval`` in eval mode), then run the layer.

        Under :func:`torch.jit.trace` the traced graph records the write (see
        :func:`structconv.nn._derived.stored`), so the traced module standardizes at every run as this one
        does; unlike eager mode it cannot run two forwards before one backward (the second write invalidates
        the first forward's saved weight, and PyTorch raises).
        """
        if self._standardizes():
            self.standardize_weight()
        return self.layer(*args, **kwargs)

    def export(self) -> nn.Module:
        """Return a copy of the wrapped layer, in eval mode, holding the weight an eval ``forward`` uses.

        The wrapped layer itself is left unchanged (also its mode). The copy receives the standardized weight,
        or, with ``const_eval=True``, the current weight as it is (what an eval ``forward`` convolves with),
        whatever mode this module is in.

        Example:
            >>> f = FWS(nn.Conv1d(2, 3, 3))
            >>> x = torch.randn(1, 2, 8)
            >>> torch.equal(f.export()(x), f(x))
            True
        """
        out = copy.deepcopy(self.layer)
        if not self.const_eval:
            with torch.no_grad():
                out.weight.data.copy_(self._standardized(self.layer.weight))
        return out.eval()

    def extra_repr(self) -> str:
        fan = int(self.fan_in)
        var = "unbiased" if self._ws_unbiased else "biased"
        return (
            f"learnable_gain={isinstance(self.gain, nn.Parameter)}, const_eval={self.const_eval}, "
            f"eps={float(self.eps):g}, fan_in={fan}, filters=dim {self._channel_dim}, variance={var}"
        )
