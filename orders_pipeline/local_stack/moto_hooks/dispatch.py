"""moto's request dispatcher without a directory listing on every request.

`DomainDispatcherApplication.get_backend_for_host` asks `moto.backends.list_of_moto_modules()`
on each request, which lists and stats moto's package directory (0.5 ms here) while holding the
lock every request passes through. The installed package does not change while the server
runs, so the list is taken once.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_modules: tuple[str, ...] = ()


def check_internals() -> None:
    """Raise naming the moto internal this hook relies on when an upgrade changed it."""
    lister = getattr(backends, "list_of_moto_modules", None)
    dispatcher = inspect.getsource(DomainDispatcherApplication.get_backend_for_host)
    if not callable(lister) or "backends.list_of_moto_modules()" not in dispatcher:
        raise RuntimeError(
            "moto internal moto.backends.list_of_moto_modules (as used by "
            "DomainDispatcherApplication.get_backend_for_host) changed: "
            f"{__name__} needs updating for this moto"
        )


def install() -> None:
    global _modules
    check_internals()
    if backends.list_of_moto_modules is not list_of_moto_modules:
        _modules = tuple(backends.list_of_moto_modules())
        list_of_moto_modules.moto_original = backends.list_of_moto_modules  # type: ignore[attr-defined]
        backends.list_of_moto_modules = list_of_moto_modules


def list_of_moto_modules() -> Iterable[str]:
    """moto's backend module names, as listed when the hook was installed."""
    return _modules
