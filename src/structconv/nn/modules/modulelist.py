"""``ModuleList``: a ``torch.nn.ModuleList`` that holds only equivariant modules and can be exported."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from structconv.nn.typed.equivariant_module import EquivariantModule

__all__ = ["ModuleList"]


def _check(module: object, where: str) -> None:
    if not isinstance(module, EquivariantModule):
        raise TypeError(f"ModuleList: {where} must be an EquivariantModule; received {type(module).__name__}")


class ModuleList(torch.nn.ModuleList):
    """A list of :class:`EquivariantModule` s (a ``torch.nn.ModuleList`` that rejects other modules).

    Args:
        modules: an iterable of equivariant modules to add.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import ELU, FieldType, ModuleList, ReLU
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> layers = ModuleList([ReLU(t)])
        >>> layers.append(ELU(t))
        ModuleList(
          (0): ReLU(inplace=False, type=[4-Rotations: {regular}])
          (1): ELU(alpha=1.0, inplace=False, type=[4-Rotations: {regular}])
        )
        >>> layers.export()
        ModuleList(
          (0): ReLU()
          (1): ELU(alpha=1.0)
        )
    """

    def __init__(self, modules: Iterable[EquivariantModule] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: EquivariantModule) -> ModuleList:
        """Append an equivariant module to the end of the list."""
        _check(module, "the appended module")
        return super().append(module)

    def extend(self, modules: Iterable[EquivariantModule]) -> ModuleList:
        """Append every equivariant module of an iterable to the end of the list."""
        modules = list(modules)
        for i, m in enumerate(modules):
            _check(m, f"modules[{i}]")
        return super().extend(modules)

    def insert(self, index: int, module: EquivariantModule) -> None:
        """Insert an equivariant module before ``index``."""
        _check(module, "the inserted module")
        super().insert(index, module)

    def __setitem__(self, idx: int, module: EquivariantModule) -> None:
        _check(module, f"the module set at {idx}")
        super().__setitem__(idx, module)

    def __iadd__(self, modules: Iterable[EquivariantModule]) -> ModuleList:
        return self.extend(modules)

    def export(self) -> torch.nn.ModuleList:
        """Return a ``torch.nn.ModuleList`` of the exported modules, in eval mode."""
        return torch.nn.ModuleList([m.export() for m in self]).eval()
