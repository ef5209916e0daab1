"""moto's whole state (every backend of every service used so far) as one pickle, and back.

One pickle keeps the references between services (a CloudFormation stack's resources are the
very tables and streams of their backends). What must not go in (locks, the collections kept in
the journal) is left out by reducers the service modules register.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto.core.base_backend import BackendDict

from orders_pipeline.local_stack.patching import requires

requires(BackendDict, "__getitem__", declared_in=__name__)

# type -> function(obj) returning the reduce tuple pickle should use for it (or NotImplemented).
Reducer = Callable[[Any], Any]
_reducers: dict[type, Reducer] = {}
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def reduces(cls: type) -> Callable[[Reducer], Reducer]:
    """Decorator: how instances of `cls` (exactly) are pickled into the world snapshot."""

    def register(reducer: Reducer) -> Reducer:
        _reducers[cls] = reducer
        return reducer

    return register


def without(obj: Any, *names: str, **replacements: Any) -> tuple:
    """A reduce tuple rebuilding `obj` from its __dict__ minus `names`, plus `replacements`."""
    state = {k: v for k, v in obj.__dict__.items() if k not in names}
    state.update(replacements)
    return (_rebuilt, (type(obj),), state)


def _rebuilt(cls: type) -> Any:
    return cls.__new__(cls)


def _private_key_from_pem(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def _private_key(key: Any) -> tuple:
    # moto's KMS keys hold `cryptography` key objects, which do not pickle: PEM does.
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (_private_key_from_pem, (pem,))


# Base classes whose instances (of any concrete type) need a reducer.
_INSTANCE_REDUCERS: tuple[tuple[type, Reducer], ...] = (
    (rsa.RSAPrivateKey, _private_key),
    (ec.EllipticCurvePrivateKey, _private_key),
)


class _WorldPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _LOCK_TYPES:
            return (threading.RLock if kind is _LOCK_TYPES[1] else threading.Lock, ())
        if kind is weakref.WeakValueDictionary:
            return (weakref.WeakValueDictionary, (dict(obj),))
        if kind is defaultdict and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            # moto's `defaultdict(lambda: {})`: the same as a factory that pickles.
            empty = obj.default_factory()
            if type(empty) in (dict, list, set) and not empty:
                return (defaultdict, (type(empty), dict(obj)))
        reducer = _reducers.get(kind)
        if reducer is not None:
            return reducer(obj)
        for base, instance_reducer in _INSTANCE_REDUCERS:
            if isinstance(obj, base):
                return instance_reducer(obj)
        return NotImplemented


def _backend_dicts() -> dict[tuple[str, str], BackendDict]:
    """Every BackendDict of a moto service module imported so far, by (module, name)."""
    found: dict[int, tuple[tuple[str, str], BackendDict]] = {}
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("moto.") or module is None:
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, BackendDict) and name.endswith("_backends"):
                found.setdefault(id(value), ((module_name, name), value))
    return dict(found.values())


def dumps(obj: Any) -> bytes:
    """`obj` pickled with the reducers the world snapshot uses (for journal rows)."""
    buffer = io.BytesIO()
    _WorldPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def dump_world() -> bytes:
    """Every backend that holds state, as bytes (moto's state must be held still meanwhile)."""
    world = {
        location: {account: dict(regions) for account, regions in backends.items()}
        for location, backends in _backend_dicts().items()
        if backends
    }
    return dumps(world)


def load_world(data: bytes) -> None:
    """Put the backends of a `dump_world()` back in place of moto's (empty) ones."""
    world = pickle.loads(data)
    for (module_name, name), accounts in world.items():
        backends: BackendDict = getattr(importlib.import_module(module_name), name)
        for account, regions in accounts.items():
            per_account = backends[account]
            for region, backend in regions.items():
                dict.__setitem__(per_account, region, backend)
