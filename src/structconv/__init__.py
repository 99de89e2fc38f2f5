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
* :mod:`structconv.kernels`, :mod:`structconv.diffops` -- steerable kernel and PDO bases.
* :mod:`structconv.testing` -- equivariance assertions for your own test suites.
* :mod:`structconv.compat` -- exact-signature classes of selfeeg, lucid and elektronn3.
* :func:`constrain`, :func:`attach_projection`, :func:`project_model_` -- constrain a layer of any
  existing model, and keep projection-enforced constraints after optimizer steps.

Subpackages are imported on first use (``structconv.nn`` works after ``import structconv``).

Example:
    >>> import structconv
    >>> isinstance(structconv.__version__, str)
    True
    >>> conv = structconv.constrain(torch.nn.Conv2d(3, 8, 3), "zero_mean")
    >>> bool(conv.weight.sum(dim=(2, 3)).abs().max() < 1e-6)
    True
"""

import importlib as _importlib

from structconv._version import __version__

__all__ = ["__version__", "attach_projection", "constrain", "project_model_"]

_SUBPACKAGES = frozenset(
    {"compat", "constraints", "diffops", "group", "gspaces", "kernels", "nn", "testing", "utils"}
)


# ``structconv._constrain`` needs torch; it is imported on first use so that the torch-free parts
# (``structconv.group``, ``structconv.gspaces``' groups) import without it.
_LAZY = frozenset({"attach_projection", "constrain", "project_model_"})


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(_importlib.import_module("structconv._constrain"), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return _importlib.import_module(f"structconv.{name}")
    raise AttributeError(f"module 'structconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names and the subpackages (``dir(structconv)``), without implementation details."""
    return sorted(set(__all__) | _SUBPACKAGES)
