"""Equivariance checks for users' own test suites.

:func:`assert_equivariant` checks ``f(g · x) == g · f(x)`` for a module ``f`` mapping feature fields of
type ``in_type`` to feature fields of type ``out_type``, over group elements ``g``, and raises an
``AssertionError`` that names the worst element, output field and error. :func:`equivariance_errors`
returns the per-element errors without asserting.

How the check works:

* The module is deep-copied, converted to ``dtype`` (float64 by default, so numerical noise does not
  hide real errors) and put in eval mode (``train=False``); the module you pass is never modified.
* Elements whose action maps the pixel grid onto itself (rotations by multiples of 90°, mirror flips)
  transform images exactly with ``torch.rot90`` / ``torch.flip``. For them the input is Gaussian
  noise and the outputs are compared on every pixel against ``atol + rtol * max|g · f(x)|``.
* Other elements (e.g. 45° for C_8, or SO(2) angles) need interpolation, which is only approximately
  equivariant. For them the input is band-limited noise (Gaussian-smoothed, standard deviation
  ``sigma`` pixels) tapered to zero outside the inscribed disc (so rotating it loses nothing), and the
  outputs are compared only inside an inner disc (radius ``inner_fraction`` of the half-size of the
  output), against ``atol + interpolation_rtol * max|g·f(x)|``. These checks catch gross errors (wrong
  frequencies, wrong sign, wrong permutation: relative errors of order 1), not small ones.

Why interpolated elements have errors at all, even for a correct module: the input and the output are
rotated by ``bicubic`` interpolation, and a network is only equivariant to rotations that map its
sampling grids onto themselves. Off the pixel grid, a pooling window or a strided convolution samples
a rotated signal at other places (an error of order ``stride / sigma`` of the signal), and a
non-linearity (ReLU, the norm of a vector field) puts kinks into the output that interpolation smooths.
Both errors shrink when the input varies slowly on the scale of the module's total stride ``s`` (the
product of its strides, measured by two probe forwards), so the default input has ``sigma = 3 s``
pixels and the smallest size ``n >= 24 s + 1`` that suits every strided layer (below).

Measured (8 random initialisations and inputs each, float64, bicubic, inner disc 0.5), the worst
relative error at the interpolated elements of standard blocks with the default input is:

========================================================================  =======
block (2 fields each)                                                     worst
========================================================================  =======
C8: R2Conv(trivial -> regular, 7) -> ReLU -> R2Conv(5)                      0.046
C8: R2Conv(regular, 3, stride 2) -> ELU                                     0.024
C8: R2Conv(regular, 5) -> ReLU -> PointwiseMaxPool(2) -> GroupPooling       0.047
C8: R2Conv(regular, 5) -> ReLU -> PointwiseAvgPoolAntialiased(stride 2)     0.021
C8: R2Conv(trivial -> irreps 1, 2) -> NormNonLinearity -> NormPool          0.084
D8: R2Conv(trivial -> regular, 5) -> InnerBatchNorm -> ReLU -> MaxPool(2)   0.091
SO(2): R2Conv(trivial -> irreps 1, 2, 7) -> NormNonLinearity                0.160
C8: two (R2Conv -> ReLU -> PointwiseMaxPool(2)) stages -> GroupPooling      0.269
========================================================================  =======

(Before, with ``sigma = 2`` px on 17 px whatever the strides, the third block reached 0.14 and the
two-stage one 0.35.) Wrong modules give relative errors of order 1 at the same elements: a plain
``Conv2d`` on regular fields 1.3, a vector field declared as frequency 2 or 3 0.7 to 1.3, one vector
component with the wrong sign 1.1. The default ``interpolation_rtol=0.25`` is about 1.5 times the worst
single-stage block and well below those; deeper stacks of pooling layers, whose errors add up (last row),
may need a larger tolerance or a check at the exact elements only (``elements=``). A failure at
interpolated elements only says so in its message, with these numbers.

**Modules on R^3** (field types on a :class:`~structconv.gspaces.r3.GSpace3D`, tensors ``(B, C, D, H, W)``):
the same checks on volumes. By default only the elements that map the voxel grid onto itself are tested
(:meth:`~structconv.gspaces.r3.GSpace3D.grid_elements`: the rotations of the cube, and the inversion, that
belong to the group; for an explicit non-cubic ``x`` or ``spatial_size``, those that keep the box's shape):
they move volumes by an exact voxel permutation, and a voxel map is exactly equivariant for them only. Other
elements (pass ``elements=``) are interpolated trilinearly (``interpolation='trilinear'``, or ``'nearest'``;
the planar names are refused) on band-limited noise tapered to the inscribed ball and compared in the inner
ball. Trilinear interpolation alone loses several percent of a smooth field (about 11% at worst for a
field smoothed over 2 voxels, 5% over 3 voxels), so
:meth:`~structconv.nn.EquivariantModule.check_equivariance` reports those elements without asserting them.
The default volume has ``16 s + 1`` voxels a side (the smallest fitting size from there) and smoothing
``sigma = 2 s`` voxels.

The input size matters for modules with strides or pooling: a strided layer samples a rotation-symmetric
grid only when its windows sit as far from one border as from the other, i.e. when
``(n - 1 + 2 * padding - dilation * (kernel_size - 1)) % stride == 0`` for its input size ``n`` (an
odd size for a 3x3 stride-2 convolution with padding 1, an even one for a 2x2 pooling). By default
(``spatial_size=None``) the smallest size from ``24 s + 1`` up for which every strided layer of the
module (anything with ``kernel_size`` and ``stride`` attributes: convolutions, pooling) sees a symmetric
grid is chosen, by one probe forward per candidate size. With an explicit ``spatial_size`` that does not
fit, a failure message says which layer breaks the symmetry and which size would fit; the smoothing is
then ``sigma = clip(size / 8, 2, 3 s)`` pixels.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from structconv._validate import (
    check_bool,
    check_choice,
    check_device,
    check_float_dtype,
    check_int,
    check_real,
)
from structconv.nn import EquivariantModule, FieldType, GeometricTensor
from structconv.nn.typed._typecheck import (
    INTERPOLATIONS_2D,
    INTERPOLATIONS_3D,
    check_tensor,
    is_grid_element,
    resolve_interpolation,
    spatial_dims,
)

__all__ = [
    "EquivarianceRecord",
    "assert_equivariant",
    "equivariance_errors",
    "default_tolerances",
    "sampling_grid_problems",
]

_DEFAULT_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-9, 1e-7),
    torch.complex128: (1e-9, 1e-7),
    torch.float32: (1e-5, 1e-4),
    torch.complex64: (1e-5, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (5e-2, 5e-2),
}


def default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    """Default ``(atol, rtol)`` for exactly transformed elements at a given dtype.

    Example:
        >>> default_tolerances(torch.float64)
        (1e-09, 1e-07)
        >>> default_tolerances(torch.float32)
        (1e-05, 0.0001)
    """
    if dtype not in _DEFAULT_TOLERANCES:
        raise ValueError(
            f"dtype={dtype} has no default tolerances; expected a floating dtype among "
            f"{sorted(str(d) for d in _DEFAULT_TOLERANCES)}"
        )
    return _DEFAULT_TOLERANCES[dtype]


@dataclass(frozen=True)
class EquivarianceRecord:
    """The equivariance error of a module for one group element.

    Attributes:
        element: the group element.
        exact: ``True`` when the element transforms images exactly (no interpolation); the comparison
            then covers every pixel, otherwise only the inner disc.
        abs_error: ``max |g · f(x) - f(g · x)|`` over the compared region.
        rel_error: ``abs_error / max |g · f(x)|`` over the same region (0 when both are 0).
        reference_max: ``max |g · f(x)|`` over the compared region.
        field: index of the output field holding the largest error.
        field_name: name of that field's representation.
        channels: the channel range ``(start, end)`` of that field.
        dimensionality: 2 for a planar module (pixels, inner disc), 3 for a module on R^3 (voxels, inner
            ball).
    """

    element: Any
    exact: bool
    abs_error: float
    rel_error: float
    reference_max: float
    field: int
    field_name: str
    channels: tuple[int, int]
    dimensionality: int = 2

    def describe(self) -> str:
        """One-line human readable summary."""
        if self.dimensionality == 2:
            kind = "exact rot90/flip" if self.exact else "interpolated, inner disc"
        else:
            kind = "exact voxel permutation" if self.exact else "interpolated, inner ball"
        return (
            f"element {self.element!r} [{kind}]: max abs error {self.abs_error:.3g} at output field "
            f"{self.field} ({self.field_name!r}, channels {self.channels[0]}:{self.channels[1]}), "
            f"relative error {self.rel_error:.3g} (max |g.f(x)| = {self.reference_max:.3g})"
        )


def _resolve_types(
    module: torch.nn.Module,
    in_type: FieldType | None,
    out_type: FieldType | None,
    owner: str = "equivariance_errors",
) -> tuple[FieldType, FieldType]:
    in_type = in_type if in_type is not None else getattr(module, "in_type", None)
    out_type = out_type if out_type is not None else getattr(module, "out_type", None)
    for name, value in (("in_type", in_type), ("out_type", out_type)):
        if not isinstance(value, FieldType):
            raise TypeError(
                f"{owner}: {name} must be a FieldType (pass it, or give the module an attribute {name}); "
                f"received {type(value).__name__}: {value!r}"
            )
    if in_type.fibergroup != out_type.fibergroup:
        raise ValueError(
            f"{owner}: in_type and out_type must have the same fiber group; received "
            f"{in_type.fibergroup.name!r} and {out_type.fibergroup.name!r}"
        )
    return in_type, out_type


#: the default input, per unit of the module's total stride ``s`` (see the module docstring): Gaussian
#: smoothing ``sigma = 3 s`` pixels and the smallest fitting size from ``24 s + 1`` up
_SIGMA_PER_STRIDE = 3.0
_SIZE_PER_STRIDE = 24
#: the least smoothing (explicit small inputs), and the largest total stride used for the default input
_MIN_SIGMA = 2.0
_MAX_STRIDE = 4
_DEFAULT_SIZE = _SIZE_PER_STRIDE + 1
_MAX_SIZE_SEARCH = 64
#: the default interpolation_rtol: about 1.5 times the worst error measured on single-stage standard blocks
_INTERPOLATION_RTOL = 0.25
#: the worst error measured on single-stage standard blocks (module docstring's table)
_MEASURED_WORST = 0.16
_INTERPOLATIONS = INTERPOLATIONS_2D + INTERPOLATIONS_3D + (None,)
#: the default input of a module on R^3, per unit of its total stride ``s``: sigma ``2 s`` voxels and the
#: smallest fitting size from ``16 s + 1`` up (smaller than on the plane: a volume has ``n^3`` voxels)
_SIGMA_PER_STRIDE_3D = 2.0
_SIZE_PER_STRIDE_3D = 16


def _pair(value: Any, default: int, n: int = 2) -> tuple[int, ...]:
    if value is None:
        return (default,) * n
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    values = tuple(int(v) for v in value)
    return values if len(values) == n else (values[0],) * n


def _grid_problems(model: torch.nn.Module, run_probe: Any, size: tuple[int, ...]) -> list[str] | None:
    """The strided layers of ``model`` whose sampling grid is not symmetric for an input of ``size``.

    Runs ``run_probe(size)`` once with forward pre-hooks on every submodule that has ``kernel_size`` and
    ``stride`` attributes; returns ``None`` if the probe forward raised (the size does not fit at all).
    """
    problems: list[str] = []
    nd = len(size)

    def hook(name: str, mod: torch.nn.Module) -> Any:
        def check(_: torch.nn.Module, args: tuple[Any, ...]) -> None:
            t = args[0] if args else None
            t = t.tensor if isinstance(t, GeometricTensor) else t
            if not isinstance(t, torch.Tensor) or t.dim() < 1 + nd:
                return
            k = _pair(getattr(mod, "kernel_size", 1), 1, nd)
            st = _pair(getattr(mod, "stride", None) or getattr(mod, "kernel_size", 1), 1, nd)
            d = _pair(getattr(mod, "dilation", 1), 1, nd)
            padding = getattr(mod, "padding", 0)
            for axis, n in enumerate(t.shape[-nd:]):
                reach = d[axis] * (k[axis] - 1)
                if isinstance(padding, str):  # 'same' (stride 1) pads reach // 2 before, the rest after
                    p2 = 0 if padding == "valid" else reach
                    ok = (n - 1 + p2 - reach) % st[axis] == 0 and (padding == "valid" or reach % 2 == 0)
                    pad_text = repr(padding)
                else:
                    p = _pair(padding, 0, nd)[axis]
                    ok = (n - 1 + 2 * p - reach) % st[axis] == 0
                    pad_text = str(p)
                if not ok:
                    where = f"layer {name!r}" if name else "the module"
                    problems.append(
                        f"{where} ({type(mod).__name__}: kernel {k[axis]}, stride {st[axis]}, "
                        f"padding {pad_text}, dilation {d[axis]}) on an input of {n} px"
                    )
                    return

        return check

    handles = [
        mod.register_forward_pre_hook(hook(name, mod))
        for name, mod in model.named_modules()
        if hasattr(mod, "kernel_size") and hasattr(mod, "stride")
    ]
    try:
        run_probe(size)
    except (RuntimeError, ValueError, AssertionError):
        return None
    finally:
        for h in handles:
            h.remove()
    return problems


def _fitting_size(
    model: torch.nn.Module, run_probe: Any, start: int = _DEFAULT_SIZE, nd: int = 2
) -> int | None:
    """The smallest square (cubic) size from ``start`` up whose sampling grid every strided layer sees
    symmetric."""
    for n in range(start, start + _MAX_SIZE_SEARCH):
        if _grid_problems(model, run_probe, (n,) * nd) == []:
            return n
    return None


def sampling_grid_problems(module: torch.nn.Module, input_shape: Sequence[int]) -> list[str]:
    """The strided layers of ``module`` whose sampling grid an input of ``input_shape`` makes asymmetric.

    A module built from rotation-equivariant layers commutes exactly with 90° turns of its input only if
    every strided layer (convolution, pooling: anything with ``kernel_size`` and ``stride`` attributes)
    samples a grid that the turn maps onto itself (see the module docstring). This runs ``module`` once
    on zeros of ``input_shape`` (a ``GeometricTensor`` of ``module.in_type`` for an
    :class:`~structconv.nn.EquivariantModule`), in eval mode and without gradients, and names each layer
    whose input size breaks that symmetry.

    Args:
        module: the module (left unchanged).
        input_shape: ``(B, C, H, W)`` (or ``(B, C, D, H, W)`` for a module on R^3) of the input to probe.

    Returns:
        One line per offending layer (empty: every strided layer sees a symmetric grid).

    Raises:
        ValueError: the module does not accept an input of that shape.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, PointwiseMaxPool
        >>> gs = Rot2dOnR2(4)
        >>> pool = PointwiseMaxPool(FieldType(gs, [gs.regular_repr]), 2)
        >>> sampling_grid_problems(pool, (1, 4, 18, 18))
        []
        >>> sampling_grid_problems(pool, (1, 4, 17, 17))
        ['the module (PointwiseMaxPool: kernel 2, stride 2, padding 0, dilation 1) on an input of 17 px']
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (4, 5) or min(shape) < 1:
        raise ValueError(
            f"input_shape={tuple(input_shape)!r} is not accepted; expected (B, C, H, W) or (B, C, D, H, W), "
            "all > 0"
        )
    model = copy.deepcopy(module).eval()
    dtype, device = _model_dtype_device(model)
    typed = isinstance(model, EquivariantModule)

    def probe(size: tuple[int, ...]) -> None:
        with torch.no_grad():
            t = torch.zeros((*shape[:2], *size), dtype=dtype, device=device)
            model(GeometricTensor(t, model.in_type) if typed else t)

    problems = _grid_problems(model, probe, shape[2:])
    if problems is None:
        raise ValueError(f"{type(module).__name__} does not accept an input of shape {shape}")
    return problems


def _spatial(spatial_size: Any, owner: str = "equivariance_errors", nd: int = 2) -> tuple[int, ...]:
    if nd == 2:
        expected = "expected None, an int >= 1 or a pair (H, W) of them"
    else:
        expected = "expected None, an int >= 1 or a triple (D, H, W) of them (a module on R^3)"
    if isinstance(spatial_size, (int, np.integer)) and not isinstance(spatial_size, (bool, np.bool_)):
        size = (int(spatial_size),) * nd
    elif (
        isinstance(spatial_size, Sequence)
        and not isinstance(spatial_size, str)
        and len(spatial_size) == nd
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in spatial_size)
    ):
        size = tuple(int(v) for v in spatial_size)
    else:
        raise TypeError(f"{owner}: spatial_size={spatial_size!r} is not accepted; {expected}")
    if min(size) < 1:
        raise ValueError(f"{owner}: spatial_size={spatial_size!r} is not accepted; {expected}")
    return size


def _disc(height: int, width: int, radius: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Distance of every pixel to the image centre divided by ``radius``."""
    rows = torch.arange(height, device=device, dtype=dtype) - (height - 1) / 2
    cols = torch.arange(width, device=device, dtype=dtype) - (width - 1) / 2
    return torch.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2) / max(radius, 1e-12)


def _ball(shape: Sequence[int], radius: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Distance of every pixel (voxel) of a grid of ``shape`` to its centre divided by ``radius``."""
    if len(shape) == 2:
        return _disc(shape[0], shape[1], radius, device, dtype)
    axes = [torch.arange(n, device=device, dtype=dtype) - (n - 1) / 2 for n in shape]
    grids = torch.meshgrid(*axes, indexing="ij")
    return torch.sqrt(sum(g**2 for g in grids)) / max(radius, 1e-12)


def _smooth_input(noise: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """Blur noise with a Gaussian and taper it smoothly to zero outside the inscribed disc."""
    radius = int(math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=noise.dtype, device=noise.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = noise.shape[1]
    x = F.conv2d(noise, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), padding=(0, radius), groups=c)
    x = F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), padding=(radius, 0), groups=c)
    height, width = noise.shape[-2:]
    r = _disc(height, width, (min(height, width) - 1) / 2, noise.device, noise.dtype)
    window = torch.where(r < 1, torch.cos(0.5 * math.pi * r) ** 2, torch.zeros_like(r))
    return x * window / x.std().clamp_min(1e-12)


def _smooth_volume(noise: torch.Tensor, sigma: float) -> torch.Tensor:
    """:func:`_smooth_input` for volumes ``(B, C, D, H, W)``: blur along each axis, taper to the ball."""
    radius = int(math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=noise.dtype, device=noise.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    x = noise
    for axis in (-3, -2, -1):
        moved = x.movedim(axis, -1)
        shape = moved.shape
        blurred = F.conv1d(moved.reshape(-1, 1, shape[-1]), g.view(1, 1, -1), padding=radius)
        x = blurred.reshape(shape).movedim(-1, axis)
    r = _ball(noise.shape[-3:], (min(noise.shape[-3:]) - 1) / 2, noise.device, noise.dtype)
    window = torch.where(r < 1, torch.cos(0.5 * math.pi * r) ** 2, torch.zeros_like(r))
    return x * window / x.std().clamp_min(1e-12)


def _model_dtype_device(module: torch.nn.Module) -> tuple[torch.dtype, torch.device]:
    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return torch.get_default_dtype(), torch.device("cpu")


def _total_stride(run_probe: Any, nd: int = 2) -> int:
    """The module's total downsampling factor (product of its strides), from probes at 32 and 64 px
    (16 and 32 voxels in 3-D).

    Clipped to ``[1, _MAX_STRIDE]``; 1 when the output size does not grow with the input (global pooling)
    or a probe fails.
    """
    widths = []
    sizes = (32, 64) if nd == 2 else (16, 32)
    for n in sizes:
        try:
            out = run_probe((n,) * nd)
        except Exception:  # the real run reports the module's own errors
            return 1
        if not isinstance(out, torch.Tensor) or out.dim() < 1 + nd:
            return 1
        widths.append(int(out.shape[-1]))
    if widths[1] <= widths[0]:
        return 1
    step = sizes[1] - sizes[0]
    return int(min(_MAX_STRIDE, max(1, round(step / (widths[1] - widths[0])))))


@dataclass(frozen=True)
class _InputInfo:
    """How the default input of the interpolated elements was made (for the failure message)."""

    size: tuple[int, ...] | None
    sigma: float | None
    stride: int


def _check_options(
    owner: str,
    module: Any,
    elements: Any,
    x: Any,
    dtype: Any,
    batch_size: Any,
    seed: Any,
    device: Any,
    train: Any,
    interpolation: Any,
    inner_fraction: Any,
    fibers_only: Any,
) -> None:
    """Validate the options shared by :func:`equivariance_errors` and :func:`assert_equivariant`."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"{owner}: module={module!r} is not accepted; expected a torch.nn.Module "
            f"(received {type(module).__name__})"
        )
    if elements is not None and (isinstance(elements, (str, bytes)) or not hasattr(elements, "__iter__")):
        raise TypeError(
            f"{owner}: elements={elements!r} is not accepted; expected None or a list of group elements "
            "(e.g. in_type.testing_elements)"
        )
    if x is not None and not isinstance(x, (torch.Tensor, GeometricTensor)):
        raise TypeError(
            f"{owner}: x={type(x).__name__} is not accepted; expected None, a torch.Tensor or a "
            "GeometricTensor"
        )
    if x is not None:
        t = x.tensor if isinstance(x, GeometricTensor) else x
        if not (t.is_floating_point() or t.is_complex()):
            raise TypeError(
                f"{owner}: x has dtype {t.dtype}, which is not accepted; expected a floating-point tensor"
            )
    check_float_dtype(dtype, complex_ok=True, owner=owner)
    if dtype is not None and dtype not in _DEFAULT_TOLERANCES:
        raise TypeError(
            f"{owner}: dtype={dtype} is not accepted; expected None or one of: "
            + ", ".join(str(d) for d in _DEFAULT_TOLERANCES)
        )
    check_int(batch_size, "batch_size", minimum=1, owner=owner)
    check_int(seed, "seed", minimum=0, owner=owner)
    check_device(device, owner=owner)
    check_bool(train, "train", owner=owner)
    check_choice(interpolation, "interpolation", _INTERPOLATIONS, owner=owner)
    check_real(inner_fraction, "inner_fraction", minimum=0.0, maximum=1.0, strict=True, owner=owner)
    check_bool(fibers_only, "fibers_only", owner=owner)


def equivariance_errors(
    module: torch.nn.Module,
    in_type: FieldType | None = None,
    out_type: FieldType | None = None,
    *,
    elements: Sequence[Any] | None = None,
    x: torch.Tensor | GeometricTensor | None = None,
    dtype: torch.dtype | None = torch.float64,
    spatial_size: int | Sequence[int] | None = None,
    batch_size: int = 2,
    seed: int = 0,
    device: torch.device | str | None = None,
    train: bool = False,
    interpolation: str | None = None,
    inner_fraction: float = 0.5,
    fibers_only: bool = False,
) -> list[EquivarianceRecord]:
    """Measure ``|g · f(x) - f(g · x)|`` for every element ``g`` (see the module docstring).

    Args:
        module: an :class:`~structconv.nn.EquivariantModule` (fed and returning ``GeometricTensor``), or
            a plain ``torch.nn.Module`` fed a ``torch.Tensor`` (returning a tensor or a geometric tensor).
        in_type: input field type; default ``module.in_type``.
        out_type: output field type; default ``module.out_type``.
        elements: group elements to test; default ``in_type.testing_elements``.
        x: input tensor ``(B, in_type.size, H, W)`` (or a ``GeometricTensor``); default random noise
            (exact elements) and band-limited noise tapered to a disc (interpolated elements), seeded.
        dtype: dtype the module copy and the input are converted to (a floating ``torch.dtype``); ``None``
            keeps the module's.
        spatial_size: ``H`` (square) or ``(H, W)`` of the generated input; default (``None``): the smallest
            size from ``24 s + 1`` up (``s``: the module's total stride) whose sampling grid is symmetric at
            every strided layer (see the module docstring).
        batch_size: batch size of the generated input.
        seed: seed of the generated input (an int >= 0).
        device: device to run on; default the module's.
        train: run the copy in train mode (default eval mode).
        interpolation: ``grid_sample`` mode for the elements that need interpolation (``'bicubic'``,
            ``'bilinear'`` or ``'nearest'``).
        inner_fraction: radius of the compared inner disc, as a fraction of the output half-size, in
            ``(0, 1]``.
        fibers_only: act on the channels only (``ρ(g)`` at every pixel, the plane does not move), as
            :meth:`~structconv.nn.GeometricTensor.transform_fibers` does. This is the symmetry of a
            pointwise map (non-linearities): every element is then exact and compared on every pixel.

    Returns:
        one :class:`EquivarianceRecord` per element, in order.

    Raises:
        TypeError, ValueError: for a bad argument (the message names it, the value and what is accepted).

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> ft = FieldType(gs, [gs.regular_repr])
        >>> records = equivariance_errors(torch.nn.Identity(), ft, ft)
        >>> [r.abs_error for r in records]
        [0.0, 0.0, 0.0, 0.0]
    """
    return _errors(
        "equivariance_errors", module, in_type, out_type, elements, x, dtype, spatial_size, batch_size, seed,
        device, train, interpolation, inner_fraction, fibers_only,
    )[0]


def _errors(
    owner: str,
    module: torch.nn.Module,
    in_type: FieldType | None,
    out_type: FieldType | None,
    elements: Sequence[Any] | None,
    x: torch.Tensor | GeometricTensor | None,
    dtype: torch.dtype | None,
    spatial_size: int | Sequence[int] | None,
    batch_size: int,
    seed: int,
    device: torch.device | str | None,
    train: bool,
    interpolation: str,
    inner_fraction: float,
    fibers_only: bool,
) -> tuple[list[EquivarianceRecord], _InputInfo]:
    """:func:`equivariance_errors`, also returning how the input of the interpolated elements was made."""
    _check_options(
        owner, module, elements, x, dtype, batch_size, seed, device, train, interpolation, inner_fraction,
        fibers_only,
    )
    in_type, out_type = _resolve_types(module, in_type, out_type, owner)
    nd = spatial_dims(in_type.gspace)
    if spatial_size is not None:
        _spatial(spatial_size, owner, nd)
    interpolation = resolve_interpolation(in_type.gspace, interpolation)
    if elements is None:
        elements = _default_elements(in_type, x, spatial_size, fibers_only)
    elements = list(elements)
    if not elements:
        raise ValueError(
            f"{owner}: elements=[] is not accepted; expected at least one group element (or None for "
            "in_type.testing_elements)"
        )

    model = copy.deepcopy(module)
    model_dtype, model_device = _model_dtype_device(model)
    run_dtype = dtype if dtype is not None else model_dtype
    run_device = torch.device(device) if device is not None else model_device
    model = model.to(device=run_device, dtype=run_dtype) if dtype is not None else model.to(run_device)
    model.train(train)
    typed = isinstance(model, EquivariantModule)

    def run(t: torch.Tensor) -> torch.Tensor:
        out = model(GeometricTensor(t, in_type) if typed else t)
        if isinstance(out, GeometricTensor):
            if out.type != out_type:
                raise AssertionError(f"the module returned a tensor of type {out.type}, expected {out_type}")
            out = out.tensor
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the module must return a tensor or GeometricTensor; got {type(out).__name__}")
        check_tensor(out, out_type.size, "module output", min_dims=1 + nd, max_dims=None, spatial=nd)
        return out

    def probe(size: tuple[int, ...]) -> torch.Tensor:
        with torch.no_grad():
            return run(torch.zeros((1, in_type.size, *size), device=run_device, dtype=run_dtype))

    given = None
    if x is not None:
        given = x.tensor if isinstance(x, GeometricTensor) else x
        try:
            check_tensor(given, in_type.size, "x", min_dims=2 + nd, max_dims=2 + nd, spatial=nd)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{owner}: {err}") from None
    grid_shape = given.shape[-nd:] if given is not None else None
    if grid_shape is None and spatial_size is not None:
        grid_shape = _spatial(spatial_size, owner, nd)

    def is_exact(element: Any) -> bool:
        if fibers_only:
            return True
        return is_grid_element(in_type.gspace, element, grid_shape)

    exact_of = [is_exact(g) for g in elements]
    info = _InputInfo(None, None, 1)
    generator = torch.Generator().manual_seed(int(seed))
    if given is not None:
        exact_input = smooth_input = given.to(device=run_device, dtype=run_dtype)
    else:
        stride = 1 if all(exact_of) else _total_stride(probe, nd)
        sigma_per_stride = _SIGMA_PER_STRIDE if nd == 2 else _SIGMA_PER_STRIDE_3D
        sigma: float | None = None
        if spatial_size is None:
            start = (_SIZE_PER_STRIDE if nd == 2 else _SIZE_PER_STRIDE_3D) * stride + 1
            spatial_size = _fitting_size(model, probe, start=start, nd=nd) or start
            sigma = sigma_per_stride * stride
        size = _spatial(spatial_size, owner, nd)
        if sigma is None:  # an explicit size: smooth on the scale of the image, at most as by default
            sigma = min(max(_MIN_SIGMA, min(size) / 8), sigma_per_stride * stride)
        shape = (int(batch_size), in_type.size, *size)
        noise = torch.randn(shape, generator=generator, dtype=torch.float64)
        exact_input = noise.to(device=run_device, dtype=run_dtype)
        smooth_input = exact_input
        if not all(exact_of):
            smooth = _smooth_input(noise, sigma) if nd == 2 else _smooth_volume(noise, sigma)
            smooth_input = smooth.to(device=run_device, dtype=run_dtype)
            info = _InputInfo(size, sigma, stride)

    records = []
    outputs: dict[bool, torch.Tensor] = {}
    with torch.no_grad():
        for element, exact in zip(elements, exact_of):
            inp = exact_input if exact else smooth_input
            if exact not in outputs:
                outputs[exact] = run(inp)
            if fibers_only:
                expected = out_type.transform_fibers(outputs[exact], element)
                actual = run(in_type.transform_fibers(inp, element))
            else:
                expected = out_type.transform(outputs[exact], element, interpolation=interpolation)
                actual = run(in_type.transform(inp, element, interpolation=interpolation))
            if expected.shape != actual.shape:
                raise AssertionError(
                    f"element {element!r}: g.f(x) has shape {tuple(expected.shape)} but f(g.x) has shape "
                    f"{tuple(actual.shape)}; choose a spatial_size for which the module commutes with "
                    f"rotations of the image"
                )
            records.append(_record(element, exact, expected, actual, out_type, inner_fraction, nd))
    return records, info


def _default_elements(in_type: FieldType, x: Any, spatial_size: Any, fibers_only: bool) -> list[Any]:
    """The elements tested by default: ``in_type.testing_elements`` on the plane; on R^3 those that move
    the voxel grid of the input exactly (:meth:`~structconv.gspaces.r3.GSpace3D.grid_elements`; every
    testing element with ``fibers_only``)."""
    gspace = in_type.gspace
    if spatial_dims(gspace) == 2 or fibers_only:
        return list(in_type.testing_elements)
    shape = None
    if x is not None:
        t = x.tensor if isinstance(x, GeometricTensor) else x
        if isinstance(t, torch.Tensor) and t.dim() >= 3:
            shape = tuple(t.shape[-3:])
    elif spatial_size is not None:
        shape = _spatial(spatial_size, nd=3)
    return list(gspace.grid_elements(shape))


def _record(
    element: Any,
    exact: bool,
    expected: torch.Tensor,
    actual: torch.Tensor,
    out_type: FieldType,
    inner_fraction: float,
    nd: int = 2,
) -> EquivarianceRecord:
    """Compare ``g.f(x)`` with ``f(g.x)`` (everywhere, or in the inner disc / ball for interpolated
    elements)."""
    diff = (expected - actual).abs()
    ref = expected.abs()
    if not exact:
        grid = diff.shape[-nd:]
        inside = _ball(grid, inner_fraction * (min(grid) - 1) / 2, diff.device, torch.float64) <= 1
        inside = inside.to(diff.device)
        diff = diff * inside
        ref = ref * inside
    c = -1 - nd
    per_channel = diff.transpose(0, c).reshape(diff.shape[c], -1).amax(dim=1).double().cpu()
    abs_error = float(per_channel.max()) if per_channel.numel() else 0.0
    ref_max = float(ref.max()) if ref.numel() else 0.0
    if math.isnan(abs_error) or math.isnan(ref_max):
        abs_error = rel_error = math.inf
    else:
        rel_error = abs_error / ref_max if ref_max > 0 else (0.0 if abs_error == 0 else math.inf)
    channel = int(per_channel.argmax()) if per_channel.numel() else 0
    field = int(np.searchsorted(out_type.fields_end, channel, side="right")) if len(out_type) else 0
    field = min(field, max(len(out_type) - 1, 0))
    name = out_type.representations[field].name if len(out_type) else ""
    span = (int(out_type.fields_start[field]), int(out_type.fields_end[field])) if len(out_type) else (0, 0)
    return EquivarianceRecord(element, exact, abs_error, rel_error, ref_max, field, name, span, nd)


def _grid_hint(
    module: torch.nn.Module,
    in_type: FieldType | None,
    out_type: FieldType | None,
    spatial_size: int | Sequence[int] | None,
    dtype: torch.dtype | None,
    device: torch.device | str | None,
) -> list[str]:
    """Lines naming the layers whose sampling grid the tested input size made asymmetric (if any)."""
    in_type, out_type = _resolve_types(module, in_type, out_type)
    nd = spatial_dims(in_type.gspace)
    model = copy.deepcopy(module)
    run_dtype = dtype if dtype is not None else _model_dtype_device(model)[0]
    run_device = torch.device(device) if device is not None else _model_dtype_device(model)[1]
    model = model.to(device=run_device, dtype=run_dtype).eval()
    typed = isinstance(model, EquivariantModule)

    def probe(size: tuple[int, ...]) -> None:
        with torch.no_grad():
            t = torch.zeros((1, in_type.size, *size), device=run_device, dtype=run_dtype)
            model(GeometricTensor(t, in_type) if typed else t)

    tested = _spatial(spatial_size, nd=nd) if spatial_size is not None else None
    if tested is None:
        first = _DEFAULT_SIZE if nd == 2 else _SIZE_PER_STRIDE_3D + 1
        fit = _fitting_size(model, probe, start=first, nd=nd)
        if fit is not None:
            return []
        last = first + _MAX_SIZE_SEARCH - 1
        return [
            f"note: no input size from {first} to {last} gives every strided layer a "
            "rotation-symmetric sampling grid; pass x or spatial_size that fits the module"
        ]
    problems = _grid_problems(model, probe, tested)
    if not problems:
        return []
    fit = _fitting_size(model, probe, start=max(tested), nd=nd)
    lines = [
        f"note: with spatial_size={spatial_size!r} the sampling grid is not rotation-symmetric at "
        + "; ".join(problems[:3])
        + " -- so even an equivariant module fails here"
    ]
    if fit is not None:
        lines.append(
            f"      spatial_size={fit} fits every strided layer (or leave spatial_size=None to choose it)"
        )
    return lines


def _interpolation_hint(
    failures: list[tuple[EquivarianceRecord, float]],
    records: list[EquivarianceRecord],
    info: _InputInfo,
    interpolation: str,
    interpolation_rtol: float,
) -> list[str]:
    """Why only interpolated elements fail, when every exact element passes (the usual case)."""
    if not failures or any(r.exact for r, _ in failures) or not any(r.exact for r in records):
        return []
    worst = max(r.rel_error for r, _ in failures)
    made = ""
    if info.sigma is not None and info.size is not None:
        made = (
            f" The input of these elements was band-limited noise (Gaussian, sigma = {info.sigma:.3g} px; "
            f"the module's total stride is {info.stride}) on {info.size[0]}x{info.size[1]} px."
        )
    turns = "(90-degree turns, flips)" if records[0].dimensionality == 2 else "(symmetries of the voxel grid)"
    text = (
        f"note: every exact element {turns} passes; only elements that need "
        f"{interpolation} interpolation fail (worst relative error {worst:.3g} > interpolation_rtol="
        f"{interpolation_rtol:g}). At those angles the check is approximate: the input and the output are "
        "rotated by interpolation, and pooling windows, strides and non-linearities (kinks that "
        "interpolation smooths) are only approximately equivariant to rotations off the pixel grid."
        + made
        + f" On standard single-stage blocks this error stays below {_MEASURED_WORST:g} (see the "
        "structconv.testing docstring); stacked pooling stages add up. A wrong module gives errors of "
        "order 1. If the module is meant to be equivariant, test the exact elements only "
        "(elements=[g for g, r in zip(in_type.testing_elements, records) if r.exact]), raise "
        "interpolation_rtol, or pass a smoother, larger x."
    )
    return [text]


def assert_equivariant(
    module: torch.nn.Module,
    in_type: FieldType | None = None,
    out_type: FieldType | None = None,
    *,
    elements: Sequence[Any] | None = None,
    x: torch.Tensor | GeometricTensor | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    interpolation_rtol: float = _INTERPOLATION_RTOL,
    dtype: torch.dtype | None = torch.float64,
    spatial_size: int | Sequence[int] | None = None,
    batch_size: int = 2,
    seed: int = 0,
    device: torch.device | str | None = None,
    train: bool = False,
    interpolation: str | None = None,
    inner_fraction: float = 0.5,
    fibers_only: bool = False,
) -> list[EquivarianceRecord]:
    """Assert that ``module`` is equivariant: ``f(g · x) == g · f(x)`` for every tested element.

    Exactly transformed elements (multiples of 90°, mirror flips) must satisfy
    ``max|g·f(x) - f(g·x)| <= atol + rtol * max|g·f(x)|`` on every pixel; interpolated elements must
    satisfy ``<= atol + interpolation_rtol * max|g·f(x)|`` in the inner disc (a coarse check). See the
    module docstring and :func:`equivariance_errors` for the other arguments.

    Args:
        atol: absolute tolerance; default from :func:`default_tolerances` for the run dtype.
        rtol: relative tolerance; default from :func:`default_tolerances` for the run dtype.
        interpolation_rtol: relative tolerance for elements that need interpolation; the default ``0.25`` is
            about 1.5 times the worst error measured on standard single-stage blocks, and well below the
            errors of wrong modules (module docstring's table).
        fibers_only: test the action on the channels only (see :func:`equivariance_errors`).

    Returns:
        the per-element records (see :func:`equivariance_errors`).

    Raises:
        AssertionError: some element exceeds its tolerance; the message lists the failing elements with
            their output field and absolute and relative errors, and says why when only interpolated
            elements fail.
        TypeError, ValueError: for a bad argument (the message names it, the value and what is accepted).

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> ft = FieldType(gs, [gs.regular_repr])
        >>> _ = assert_equivariant(torch.nn.Identity(), ft, ft)
        >>> shuffle = torch.nn.Conv2d(4, 4, 1, bias=False)  # a random channel mix is not equivariant
        >>> assert_equivariant(shuffle, ft, ft)
        Traceback (most recent call last):
        ...
        AssertionError: Conv2d is not equivariant: ...
    """
    owner = "assert_equivariant"
    for name, value in (("atol", atol), ("rtol", rtol), ("interpolation_rtol", interpolation_rtol)):
        none_ok = name != "interpolation_rtol"
        check_real(value, name, minimum=0.0, allow_none=none_ok, owner=owner)
    records, info = _errors(
        owner, module, in_type, out_type, elements, x, dtype, spatial_size, batch_size, seed, device, train,
        interpolation, inner_fraction, fibers_only,
    )
    run_dtype = dtype if dtype is not None else _model_dtype_device(module)[0]
    default_atol, default_rtol = default_tolerances(run_dtype)
    atol = default_atol if atol is None else float(atol)
    rtol = default_rtol if rtol is None else float(rtol)
    failures = []
    for r in records:
        allowed = atol + (rtol if r.exact else interpolation_rtol) * r.reference_max
        if not r.abs_error <= allowed:
            failures.append((r, allowed))
    if failures:
        worst = max(failures, key=lambda fa: fa[0].abs_error / max(fa[1], 1e-300))[0]
        lines = [
            f"{type(module).__name__} is not equivariant: {len(failures)} of {len(records)} tested "
            f"elements exceed the tolerance (atol={atol:g}, rtol={rtol:g} for exact elements, "
            f"interpolation_rtol={interpolation_rtol:g} otherwise; dtype {run_dtype})",
            f"worst: {worst.describe()}",
        ]
        lines += [f"  {r.describe()} > allowed {allowed:.3g}" for r, allowed in failures]
        if x is None and not fibers_only:
            lines += _grid_hint(module, in_type, out_type, spatial_size, dtype, device)
        # the mode the elements were moved with (None: bicubic on the plane, trilinear in space)
        default = "bicubic" if records[0].dimensionality == 2 else "trilinear"
        lines += _interpolation_hint(failures, records, info, interpolation or default, interpolation_rtol)
        raise AssertionError("\n".join(lines))
    return records

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
