"""structconv: convolution layers with structured kernels for PyTorch.

Three families of structured kernels share one idea: a structured convolution is an ordinary
convolution whose kernel is ``W = P(theta)``, where ``theta`` are the learnable parameters and ``P``
maps them onto the allowed set.

* :mod:`structconv.constraints` -- kernel maps (norm limits, simplex, zero mean, fixed centre,
  weight standardization), usable with :mod:`torch.nn.utils.parametrize`.
* :mod:`structconv.nn` -- the layers: constrained and weight-standardized convolutions, and the
  E(2)-equivariant steerable CNN modules (``FieldType``, ``GeometricTensor``, ``R2Conv``, ...).
* :mod:`structconv.group`, :mod:`structconv.gspaces` -- symmetry groups of the plane, their
  representations, and their actions on images.

Example:
    >>> import structconv
    >>> isinstance(structconv.__version__, str)
    True
"""

from __future__ import annotations

from structconv._version import __version__

__all__ = ["__version__"]

from structconv._constrain import attach_projection, constrain  # noqa: E402

__all__ += ["attach_projection", "constrain"]
