"""``SequentialModule``: a chain of equivariant modules whose field types match end to end."""

from __future__ import annotations

from collections import OrderedDict

import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_input

__all__ = ["SequentialModule"]


class SequentialModule(EquivariantModule):
    """A sequential container of equivariant modules, like ``torch.nn.Sequential``.

    The modules are given as positional arguments or as one ``OrderedDict`` of named modules; the output type
    of every module must equal the input type of the next one. ``in_type`` is the first module's input type
    and ``out_type`` the last module's output type.

    Args:
        *args: :class:`EquivariantModule` instances, or a single ``OrderedDict`` mapping names to them.

    Shape:
        that of the chained modules.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InnerBatchNorm, ReLU, SequentialModule
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 2)
        >>> net = SequentialModule(OrderedDict([("bn", InnerBatchNorm(t)), ("relu", ReLU(t))]))
        >>> net(GeometricTensor(torch.randn(2, 16, 5, 5), t)).shape
        torch.Size([2, 16, 5, 5])
        >>> [type(m).__name__ for m in net.export()]
        ['BatchNorm2d', 'ReLU']
    """

    def __init__(self, *args: EquivariantModule | OrderedDict) -> None:
        super().__init__()
        self.in_type = None
        self.out_type = None
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def add_module(self, name: str, module: EquivariantModule) -> None:
        """Append ``module`` (named ``name``); its input type must be the current output type."""
        if not isinstance(module, EquivariantModule):
            raise TypeError(
                f"SequentialModule: module {name!r} must be an EquivariantModule; "
                f"received {type(module).__name__}"
            )
        if len(self._modules) == 0:
            self.in_type = module.in_type
        elif module.in_type != self.out_type:
            raise ValueError(
                f"SequentialModule: module {name!r} expects input type {module.in_type} but the previous "
                "module "
                f"returns {self.out_type}"
            )
        super().add_module(name, module)
        self.out_type = module.out_type

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the modules in order."""
        check_input(self, input)
        x = input
        for module in self._modules.values():
            x = module(x)
        return x

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Chain the ``evaluate_output_shape`` of the modules."""
        shape = tuple(input_shape)
        for module in self._modules.values():
            shape = module.evaluate_output_shape(shape)
        return shape

    def export(self) -> torch.nn.Sequential:
        """Return a ``torch.nn.Sequential`` of the exported modules (same names), in eval mode."""
        return torch.nn.Sequential(OrderedDict((n, m.export()) for n, m in self._modules.items())).eval()

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index: int) -> EquivariantModule:
        return list(self._modules.values())[index]

    def extra_repr(self) -> str:
        return ""
