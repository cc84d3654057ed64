"""Turning model objects into JSON-ready data, for ``racoondbg parse`` and the tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import ipaddress
from pathlib import PurePath
from typing import Any

from racoondbg.model.base import Location

_FIELDS: dict[type, tuple[str, ...]] = {}
"""The fields each dataclass shows, by class."""
_SCALARS = frozenset({type(None), bool, int, float, str})


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of dataclass ``cls`` that its JSON shows (worked out once per class)."""
    names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)
                                 if not f.name.startswith("_") and f.metadata.get("json", True))
    return names


def jsonable(obj: Any) -> Any:
    """Dataclasses become dicts (fields starting with ``_`` are left out), enums their names.

    ``bytes`` never appear as content: models must not hold secrets in clear, and anything else
    binary is summarised by its length.
    """
    cls = type(obj)
    if cls in _SCALARS:  # the common cases first, by exact type (subclasses take the general path)
        return obj
    names = _FIELDS.get(cls)
    if names is not None:
        return {name: jsonable(getattr(obj, name)) for name in names}
    if cls is tuple or cls is list:
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Location):
        return {k: v for k, v in dataclasses.asdict(obj).items() if v is not None}
    names = _FIELDS.get(type(obj))
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _field_names(type(obj))
    if names is not None:
        return {name: jsonable(getattr(obj, name)) for name in names}
    if isinstance(obj, enum.Enum):
        return obj.name.lower() if isinstance(obj.value, int) else obj.value
    if isinstance(obj, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((jsonable(v) for v in obj), key=str)
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"bytes": len(obj)}
    if isinstance(obj, (PurePath, ipaddress._BaseAddress, ipaddress._BaseNetwork)):
        return str(obj)
    if hasattr(obj, "to_json"):
        return obj.to_json()
    return str(obj)
