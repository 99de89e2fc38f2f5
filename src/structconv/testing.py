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
  equivariant. For them the input is smoothed noise tapered to zero outside the inscribed disc (so
  rotating it loses nothing), and the outputs are compared only inside an inner disc (radius
  ``inner_fraction`` of the half-size of the output), against ``atol + interpolation_rtol * max|g·f(x)|``.
  These checks catch gross errors (wrong frequencies, wrong sign, wrong permutation), not small ones.

The input size matters for modules with strides or pooling: a strided layer samples a rotation-symmetric
grid only when its windows sit as far from one border as from the other, i.e. when
``(n - 1 + 2 * padding - dilation * (kernel_size - 1)) % stride == 0`` for its input size ``n`` (an
odd size for a 3x3 stride-2 convolution with padding 1, an even one for a 2x2 pooling). By default
(``spatial_size=None``) the smallest size from 17 up for which every strided layer of the module
(anything with ``kernel_size`` and ``stride`` attributes: convolutions, pooling) sees a symmetric grid is
chosen, by one probe forward per candidate size. With an explicit ``spatial_size`` that does not fit, a
failure message says which layer breaks the symmetry and which size would fit.
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

from structconv.nn import EquivariantModule, FieldType, GeometricTensor
from structconv.nn._typecheck import check_tensor, exact_grid_action

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
    """

    element: Any
    exact: bool
    abs_error: float
    rel_error: float
    reference_max: float
    field: int
    field_name: str
    channels: tuple[int, int]

    def describe(self) -> str:
        """One-line human readable summary."""
        kind = "exact rot90/flip" if self.exact else "interpolated, inner disc"
        return (
            f"element {self.element!r} [{kind}]: max abs error {self.abs_error:.3g} at output field "
            f"{self.field} ({self.field_name!r}, channels {self.channels[0]}:{self.channels[1]}), "
            f"relative error {self.rel_error:.3g} (max |g.f(x)| = {self.reference_max:.3g})"
        )


def _resolve_types(module: torch.nn.Module, in_type: FieldType | None, out_type: FieldType | None):
    in_type = in_type if in_type is not None else getattr(module, "in_type", None)
    out_type = out_type if out_type is not None else getattr(module, "out_type", None)
    for name, value in (("in_type", in_type), ("out_type", out_type)):
        if not isinstance(value, FieldType):
            raise TypeError(
                f"{name} must be a FieldType (pass it, or give the module an attribute {name}); "
                f"received {type(value).__name__}: {value!r}"
            )
    if in_type.fibergroup != out_type.fibergroup:
        raise ValueError(
            f"in_type and out_type must have the same fiber group; received {in_type.fibergroup.name!r} "
            f"and {out_type.fibergroup.name!r}"
        )
    return in_type, out_type


_DEFAULT_SIZE = 17
_MAX_SIZE_SEARCH = 64


def _pair(value: Any, default: int) -> tuple[int, int]:
    if value is None:
        return (default, default)
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    values = tuple(int(v) for v in value)
    return values if len(values) == 2 else (values[0], values[0])


def _grid_problems(model: torch.nn.Module, run_probe: Any, size: tuple[int, int]) -> list[str] | None:
    """The strided layers of ``model`` whose sampling grid is not symmetric for an input of ``size``.

    Runs ``run_probe(size)`` once with forward pre-hooks on every submodule that has ``kernel_size`` and
    ``stride`` attributes; returns ``None`` if the probe forward raised (the size does not fit at all).
    """
    problems: list[str] = []

    def hook(name: str, mod: torch.nn.Module) -> Any:
        def check(_: torch.nn.Module, args: tuple[Any, ...]) -> None:
            t = args[0] if args else None
            t = t.tensor if isinstance(t, GeometricTensor) else t
            if not isinstance(t, torch.Tensor) or t.dim() < 3:
                return
            k = _pair(getattr(mod, "kernel_size", 1), 1)
            st = _pair(getattr(mod, "stride", None) or getattr(mod, "kernel_size", 1), 1)
            d = _pair(getattr(mod, "dilation", 1), 1)
            padding = getattr(mod, "padding", 0)
            for axis, n in enumerate(t.shape[-2:]):
                reach = d[axis] * (k[axis] - 1)
                if isinstance(padding, str):  # 'same' (stride 1) pads reach // 2 before, the rest after
                    p2 = 0 if padding == "valid" else reach
                    ok = (n - 1 + p2 - reach) % st[axis] == 0 and (padding == "valid" or reach % 2 == 0)
                    pad_text = repr(padding)
                else:
                    p = _pair(padding, 0)[axis]
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


def _fitting_size(model: torch.nn.Module, run_probe: Any, start: int = _DEFAULT_SIZE) -> int | None:
    """The smallest square size from ``start`` up whose sampling grid every strided layer sees symmetric."""
    for n in range(start, start + _MAX_SIZE_SEARCH):
        if _grid_problems(model, run_probe, (n, n)) == []:
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
        input_shape: ``(B, C, H, W)`` of the input to probe.

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
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"input_shape={tuple(input_shape)!r} is not accepted; expected (B, C, H, W) > 0")
    model = copy.deepcopy(module).eval()
    dtype, device = _model_dtype_device(model)
    typed = isinstance(model, EquivariantModule)

    def probe(size: tuple[int, int]) -> None:
        with torch.no_grad():
            t = torch.zeros((*shape[:2], *size), dtype=dtype, device=device)
            model(GeometricTensor(t, model.in_type) if typed else t)

    problems = _grid_problems(model, probe, shape[2:])
    if problems is None:
        raise ValueError(f"{type(module).__name__} does not accept an input of shape {shape}")
    return problems


def _spatial(spatial_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(spatial_size, (int, np.integer)) and not isinstance(spatial_size, bool):
        size = (int(spatial_size), int(spatial_size))
    elif isinstance(spatial_size, Sequence) and len(spatial_size) == 2:
        size = (int(spatial_size[0]), int(spatial_size[1]))
    else:
        raise TypeError(f"spatial_size must be an int or a pair (H, W); received {spatial_size!r}")
    if min(size) < 1:
        raise ValueError(f"spatial_size must be positive; received {spatial_size!r}")
    return size


def _disc(height: int, width: int, radius: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Distance of every pixel to the image centre divided by ``radius``."""
    rows = torch.arange(height, device=device, dtype=dtype) - (height - 1) / 2
    cols = torch.arange(width, device=device, dtype=dtype) - (width - 1) / 2
    return torch.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2) / max(radius, 1e-12)


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


def _model_dtype_device(module: torch.nn.Module) -> tuple[torch.dtype, torch.device]:
    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point():
            return t.dtype, t.device
    return torch.get_default_dtype(), torch.device("cpu")


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
    interpolation: str = "bicubic",
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
            (exact elements) and smoothed noise tapered to a disc (interpolated elements), seeded.
        dtype: dtype the module copy and the input are converted to; ``None`` keeps the module's.
        spatial_size: ``H`` (square) or ``(H, W)`` of the generated input; default (``None``): the smallest
            size from 17 up whose sampling grid is symmetric at every strided layer (see the module
            docstring).
        batch_size: batch size of the generated input.
        seed: seed of the generated input.
        device: device to run on; default the module's.
        train: run the copy in train mode (default eval mode).
        interpolation: ``grid_sample`` mode for the elements that need interpolation.
        inner_fraction: radius of the compared inner disc, as a fraction of the output half-size.
        fibers_only: act on the channels only (``ρ(g)`` at every pixel, the plane does not move), as
            :meth:`~structconv.nn.GeometricTensor.transform_fibers` does. This is the symmetry of a
            pointwise map (non-linearities): every element is then exact and compared on every pixel.

    Returns:
        one :class:`EquivarianceRecord` per element, in order.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType
        >>> gs = Rot2dOnR2(4)
        >>> ft = FieldType(gs, [gs.regular_repr])
        >>> records = equivariance_errors(torch.nn.Identity(), ft, ft)
        >>> [r.abs_error for r in records]
        [0.0, 0.0, 0.0, 0.0]
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; received {type(module).__name__}")
    in_type, out_type = _resolve_types(module, in_type, out_type)
    if not 0 < inner_fraction <= 1:
        raise ValueError(f"inner_fraction must be in (0, 1]; received {inner_fraction}")
    if elements is None:
        elements = list(in_type.testing_elements)
    else:
        elements = list(elements)
    if not elements:
        raise ValueError("elements must contain at least one group element; received an empty list")

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
        check_tensor(out, out_type.size, "module output", min_dims=3, max_dims=None)
        return out

    generator = torch.Generator().manual_seed(int(seed))
    if x is not None:
        given = x.tensor if isinstance(x, GeometricTensor) else x
        check_tensor(given, in_type.size, "x", min_dims=4, max_dims=4)
        exact_input = smooth_input = given.to(device=run_device, dtype=run_dtype)
    else:
        if spatial_size is None:
            def probe(size: tuple[int, int]) -> None:
                with torch.no_grad():
                    run(torch.zeros((1, in_type.size, *size), device=run_device, dtype=run_dtype))

            spatial_size = _fitting_size(model, probe) or _DEFAULT_SIZE
        height, width = _spatial(spatial_size)
        shape = (int(batch_size), in_type.size, height, width)
        noise = torch.randn(shape, generator=generator, dtype=torch.float64)
        exact_input = noise.to(device=run_device, dtype=run_dtype)
        smooth_input = _smooth_input(noise).to(device=run_device, dtype=run_dtype)

    records = []
    outputs: dict[bool, torch.Tensor] = {}
    with torch.no_grad():
        for element in elements:
            if fibers_only:
                exact = True
            else:
                action = np.asarray(in_type.gspace.basespace_action(element))
                exact = exact_grid_action(action) is not None
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
            diff = (expected - actual).abs()
            ref = expected.abs()
            if not exact:
                h, w = diff.shape[-2:]
                inside = _disc(h, w, inner_fraction * (min(h, w) - 1) / 2, diff.device, torch.float64) <= 1
                inside = inside.to(diff.device)
                diff = diff * inside
                ref = ref * inside
            per_channel = diff.transpose(0, -3).reshape(diff.shape[-3], -1).amax(dim=1).double().cpu()
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
            span = (
                (int(out_type.fields_start[field]), int(out_type.fields_end[field]))
                if len(out_type)
                else (0, 0)
            )
            records.append(
                EquivarianceRecord(element, exact, abs_error, rel_error, ref_max, field, name, span)
            )
    return records


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
    model = copy.deepcopy(module)
    run_dtype = dtype if dtype is not None else _model_dtype_device(model)[0]
    run_device = torch.device(device) if device is not None else _model_dtype_device(model)[1]
    model = model.to(device=run_device, dtype=run_dtype).eval()
    typed = isinstance(model, EquivariantModule)

    def probe(size: tuple[int, int]) -> None:
        with torch.no_grad():
            t = torch.zeros((1, in_type.size, *size), device=run_device, dtype=run_dtype)
            model(GeometricTensor(t, in_type) if typed else t)

    tested = _spatial(spatial_size) if spatial_size is not None else None
    if tested is None:
        fit = _fitting_size(model, probe)
        if fit is not None:
            return []
        last = _DEFAULT_SIZE + _MAX_SIZE_SEARCH - 1
        return [
            f"note: no input size from {_DEFAULT_SIZE} to {last} gives every strided layer a "
            "rotation-symmetric sampling grid; pass x or spatial_size that fits the module"
        ]
    problems = _grid_problems(model, probe, tested)
    if not problems:
        return []
    fit = _fitting_size(model, probe, start=max(tested))
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


def assert_equivariant(
    module: torch.nn.Module,
    in_type: FieldType | None = None,
    out_type: FieldType | None = None,
    *,
    elements: Sequence[Any] | None = None,
    x: torch.Tensor | GeometricTensor | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    interpolation_rtol: float = 0.15,
    dtype: torch.dtype | None = torch.float64,
    spatial_size: int | Sequence[int] | None = None,
    batch_size: int = 2,
    seed: int = 0,
    device: torch.device | str | None = None,
    train: bool = False,
    interpolation: str = "bicubic",
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
        interpolation_rtol: relative tolerance for elements that need interpolation.
        fibers_only: test the action on the channels only (see :func:`equivariance_errors`).

    Returns:
        the per-element records (see :func:`equivariance_errors`).

    Raises:
        AssertionError: some element exceeds its tolerance; the message lists the failing elements with
            their output field and absolute and relative errors.

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
    from structconv.nn._conv_utils import check_int, check_real

    for name, value in (("atol", atol), ("rtol", rtol), ("interpolation_rtol", interpolation_rtol)):
        none_ok = name != "interpolation_rtol"
        check_real(value, name, minimum=0.0, allow_none=none_ok, owner="assert_equivariant")
    check_int(batch_size, "batch_size", minimum=1, owner="assert_equivariant")
    records = equivariance_errors(
        module,
        in_type,
        out_type,
        elements=elements,
        x=x,
        dtype=dtype,
        spatial_size=spatial_size,
        batch_size=batch_size,
        seed=seed,
        device=device,
        train=train,
        interpolation=interpolation,
        inner_fraction=inner_fraction,
        fibers_only=fibers_only,
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
        raise AssertionError("\n".join(lines))
    return records
