"""The one way the local stack touches moto's internals: declared here, checked, then applied once.

Each service's `patches.py` declares its touches with `replaces`, `wraps`, `adds` or `requires`;
`problems()` lists every touch the installed moto no longer fits (a test walks them all, so an
upgrade that moves an internal fails loudly and names it) and `apply_all()` applies them.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# replace: our function instead of moto's, same signature.
# wrap: our function receives moto's original as its first argument (for a property: our
# function receives moto's property and returns the one to use).
# add: a member moto lacks (an API action it does not implement).
# require: members read or subclassed, never patched; calls: a method called with these leading
# parameters; source: a pattern moto's code must match; attributes: instance attributes its class
# must assign.
KINDS = ("replace", "wrap", "add", "require", "calls", "keywords", "source", "attributes")


@dataclass(frozen=True)
class Touch:
    kind: str
    owner: Any
    name: str
    declared_in: str
    replacement: Any = None
    expected: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        owner = getattr(self.owner, "__qualname__", getattr(self.owner, "__name__", "?"))
        module = getattr(self.owner, "__module__", None) or self.owner.__name__
        if inspect.ismodule(self.owner):
            return f"{self.owner.__name__}.{self.name}"
        return f"{module}.{owner}.{self.name}"


_touches: list[Touch] = []
_originals: dict[tuple[int, str], Any] = {}
_lock = threading.Lock()
_applied = False


def _declare(kind: str, owner: Any, name: str, replacement: Any = None, **extra: Any) -> None:
    module = getattr(replacement, "__module__", None) or extra.pop("declared_in", "?")
    _touches.append(Touch(kind, owner, name, module, replacement, **extra))


def replaces(owner: Any, name: str) -> Callable[[Any], Any]:
    """Decorator: `owner.name` becomes the decorated function (moto's signature, kept)."""

    def declare(function: Any) -> Any:
        _declare("replace", owner, name, function)
        return function

    return declare


def wraps(owner: Any, name: str) -> Callable[[Any], Any]:
    """Decorator: `owner.name` calls the decorated function with moto's original first."""

    def declare(function: Any) -> Any:
        _declare("wrap", owner, name, function)
        return function

    return declare


def adds(owner: Any, name: str) -> Callable[[Any], Any]:
    """Decorator: `owner.name`, which moto lacks, becomes the decorated function."""

    def declare(function: Any) -> Any:
        _declare("add", owner, name, function)
        return function

    return declare


def requires(owner: Any, *members: str, declared_in: str) -> None:
    """Members of `owner` a hook reads, calls or subclasses without patching them."""
    for member in members:
        _declare("require", owner, member, declared_in=declared_in)


def calls(owner: Any, name: str, *parameters: str, declared_in: str) -> None:
    """A moto method a hook calls, whose signature must still begin with `parameters`."""
    _declare("calls", owner, name, declared_in=declared_in, expected=parameters)


def calls_with_keywords(owner: Any, name: str, *keywords: str, declared_in: str) -> None:
    """A moto method a hook calls by keyword: each of `keywords` must still be a parameter."""
    _declare("keywords", owner, name, declared_in=declared_in, expected=keywords)


def requires_source(owner: Any, name: str, pattern: str, *, declared_in: str) -> None:
    """`owner.name`'s source must match the regex `pattern` (a behaviour a hook relies on)."""
    _declare("source", owner, name, declared_in=declared_in, expected=(pattern,))


def requires_attributes(owner: type, *attributes: str, declared_in: str) -> None:
    """Instance attributes a hook reads, which `owner`'s code must still assign."""
    _declare("attributes", owner, "__init__", declared_in=declared_in, expected=attributes)


def touches() -> list[Touch]:
    """Every declared touch (patches modules declare theirs when imported)."""
    return list(_touches)


def _raw(owner: Any, name: str) -> Any:
    """The member as stored (a staticmethod/classmethod object, not the bound function)."""
    if inspect.isclass(owner):
        for klass in owner.__mro__:
            if name in klass.__dict__:
                return klass.__dict__[name]
        raise AttributeError(name)
    return getattr(owner, name)


def _function(member: Any) -> Any:
    if isinstance(member, property):
        return member.fget
    return member.__func__ if isinstance(member, staticmethod | classmethod) else member


def _parameters(function: Any) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values()]


def _named_parameters(function: Any) -> tuple[list[str], bool]:
    """The parameters before any *args/**kwargs, and whether the function takes the rest."""
    named: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            return named, True
        named.append(parameter.name)
    return named, False


def original(touch: Touch) -> Any:
    """moto's own member behind a replace/wrap touch (as stored before it was applied)."""
    saved = _originals.get((id(touch.owner), touch.name))
    return saved if saved is not None else _raw(touch.owner, touch.name)


def moto_original(owner: Any, name: str) -> Any:
    """moto's own `owner.name` behind a patch (tests compare against it)."""
    for touch in _touches:
        if touch.owner is owner and touch.name == name and touch.kind in ("replace", "wrap"):
            return _function(original(touch))
    raise KeyError(f"no patch of {owner.__name__}.{name} is declared")


def problem(touch: Touch) -> str | None:
    """Why the installed moto no longer fits `touch`, or None when it does."""
    where = f"moto internal {touch.label}"
    fix = f"{touch.declared_in} needs updating for this moto"
    if touch.kind == "add":
        present = hasattr(touch.owner, touch.name) and (
            (id(touch.owner), touch.name) not in _originals
            and _raw(touch.owner, touch.name) is not touch.replacement
        )
        return f"{where} now exists in moto: {fix} (use it or replace it)" if present else None
    try:
        member = original(touch)
    except AttributeError:
        return f"{where} is gone: {fix}"
    if touch.kind == "wrap" and isinstance(member, property):
        return None if member.fget is not None else f"{where} has no getter: {fix}"
    if touch.kind in ("replace", "wrap"):
        theirs = _parameters(_function(member))
        ours, passes_the_rest = _named_parameters(touch.replacement)
        ours = ours[(1 if touch.kind == "wrap" else 0) :]
        # A wrapper passing *args/**kwargs on needs only its named parameters to lead moto's.
        fits = theirs[: len(ours)] == ours if passes_the_rest else theirs == ours
        if not fits:
            return f"{where} now takes ({', '.join(theirs)}), not ({', '.join(ours)}): {fix}"
    if touch.kind == "calls":
        leading = _parameters(_function(member))[: len(touch.expected)]
        if leading != list(touch.expected):
            wanted = ", ".join(touch.expected)
            return f"{where} now starts ({', '.join(leading)}), not ({wanted}): {fix}"
    if touch.kind == "keywords":
        missing = [k for k in touch.expected if k not in _parameters(_function(member))]
        if missing:
            return f"{where} no longer takes {', '.join(missing)}: {fix}"
    if touch.kind == "source":
        if not re.search(touch.expected[0], inspect.getsource(_function(member))):
            return f"{where} no longer matches {touch.expected[0]!r}: {fix}"
    if touch.kind == "attributes":
        source = inspect.getsource(touch.owner)
        for attribute in touch.expected:
            name = re.escape(attribute)
            assigned = rf"\bself\.{name}\s*(:[^=\n]*)?="
            if not re.search(f"{assigned}|def {name}\\(", source):
                return f"{where} no longer assigns self.{attribute}: {fix}"
    return None


def problems() -> list[str]:
    return [found for touch in _touches if (found := problem(touch)) is not None]


def _install(touch: Touch) -> None:
    key = (id(touch.owner), touch.name)
    if touch.kind == "add":
        setattr(touch.owner, touch.name, touch.replacement)
        return
    stored = _raw(touch.owner, touch.name)
    _originals.setdefault(key, stored)
    moto_member = _originals[key]
    function = touch.replacement
    if touch.kind == "wrap" and isinstance(moto_member, property):
        setattr(touch.owner, touch.name, touch.replacement(moto_member))
        return
    if touch.kind == "wrap":
        moto_function = _function(moto_member)
        ours = touch.replacement

        @functools.wraps(moto_function)
        def function(*args: Any, **kwargs: Any) -> Any:
            return ours(moto_function, *args, **kwargs)

    if isinstance(moto_member, staticmethod):
        function = staticmethod(function)
    elif isinstance(moto_member, classmethod):
        function = classmethod(function)
    setattr(touch.owner, touch.name, function)


def apply_all() -> None:
    """Check every touch, then apply the patches once per process (later calls do nothing)."""
    global _applied
    with _lock:
        if _applied:
            return
        found = problems()
        if found:
            raise RuntimeError(found[0])
        for touch in _touches:
            if touch.kind in ("replace", "wrap", "add"):
                _install(touch)
        _applied = True
