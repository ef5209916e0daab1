"""Name the moto internal a hook module needs that an upgrade removed, before patching anything."""

from __future__ import annotations

import inspect
import re
from typing import Any


def require_members(hook_module: str, needed: dict[type, tuple[str, ...]]) -> None:
    """Raise naming the first `owner.member` in `needed` that moto no longer defines."""
    for owner, members in needed.items():
        for member in members:
            if not hasattr(owner, member):
                raise RuntimeError(
                    f"moto internal {owner.__module__}.{owner.__name__}.{member} is gone: "
                    f"{hook_module} needs updating for this moto"
                )


def replace_member(owner: type, name: str, replacement: Any) -> None:
    """Set `owner.name` to `replacement` once, keeping moto's own as `replacement.moto_original`
    (tests check its signature after patching)."""
    current = getattr(owner, name)
    if current is replacement:
        return
    replacement.moto_original = current
    setattr(owner, name, replacement)


def require_instance_attributes(hook_module: str, needed: dict[type, tuple[str, ...]]) -> None:
    """Raise naming the first attribute in `needed` its class's `__init__` no longer assigns."""
    for owner, attributes in needed.items():
        source = inspect.getsource(owner.__init__)
        for attribute in attributes:
            if not re.search(rf"\bself\.{re.escape(attribute)}\s*(:[^=\n]*)?=", source):
                raise RuntimeError(
                    f"moto internal {owner.__module__}.{owner.__name__}.{attribute} (set in "
                    f"__init__) is gone: {hook_module} needs updating for this moto"
                )
