"""The constrained and weight-standardized family: ordinary ``torch.nn`` layers whose kernel is ``W = P(θ)``.

* :mod:`.layers`: :class:`ConstrainedConv1d` ... :class:`ConstrainedLinear` (a kernel map from
  :mod:`structconv.constraints`, enforced by parametrization or by projection after a step);
* :mod:`.wsconv`: weight-standardized convolutions (:class:`WSConv2d`, ...) and :class:`FWS`;
* :mod:`.separable`: :class:`ConstrainedSeparableConv2d`.

The public names are re-exported by :mod:`structconv.nn`, the one public namespace.
"""

from __future__ import annotations

from structconv.nn.constrained.layers import (
    ConstrainedConv1d,
    ConstrainedConv2d,
    ConstrainedConv3d,
    ConstrainedConvTranspose1d,
    ConstrainedConvTranspose2d,
    ConstrainedConvTranspose3d,
    ConstrainedLayerMixin,
    ConstrainedLinear,
    check_projectable,
    project_weight_,
    projected_kernel,
)
from structconv.nn.constrained.separable import ConstrainedSeparableConv2d
from structconv.nn.constrained.wsconv import (
    FWS,
    WSConv1d,
    WSConv2d,
    WSConv3d,
    WSConvTranspose1d,
    WSConvTranspose2d,
    WSConvTranspose3d,
)

__all__ = [
    "FWS",
    "ConstrainedConv1d",
    "ConstrainedConv2d",
    "ConstrainedConv3d",
    "ConstrainedConvTranspose1d",
    "ConstrainedConvTranspose2d",
    "ConstrainedConvTranspose3d",
    "ConstrainedLayerMixin",
    "ConstrainedLinear",
    "ConstrainedSeparableConv2d",
    "WSConv1d",
    "WSConv2d",
    "WSConv3d",
    "WSConvTranspose1d",
    "WSConvTranspose2d",
    "WSConvTranspose3d",
    "check_projectable",
    "project_weight_",
    "projected_kernel",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
