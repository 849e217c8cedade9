"""Base stage: lazy names for a package ``__init__`` — the one module ``__getattr__`` that
imports a public name's module on first access (PEP 562), so importing the package stays cheap.

```python
__getattr__, __dir__ = attach(__name__, {"Toolset": "agentrt.toolset"}, __all__)
```

Type checkers do not run this: the package also imports the names under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["attach"]


def attach(package: str, names: Mapping[str, str], public: Iterable[str]
           ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each lazy name to the module
    that defines it; a resolved name is stored in the package, so it is looked up once.
    ``__dir__`` lists ``public``, the dunders and the loaded submodules."""
    public = frozenset(public)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        namespace = vars(sys.modules[package])
        own = {n for n, v in namespace.items() if n.startswith("__") or
               (isinstance(v, ModuleType) and v.__name__.startswith(package + "."))}
        return sorted(own | public)

    return __getattr__, __dir__
