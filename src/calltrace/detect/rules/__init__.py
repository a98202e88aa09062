"""Built-in rules: one module per rule, each registering its class with
``@register``. Every module of this package is imported, so a new rule is one new file."""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
