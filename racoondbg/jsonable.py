"""Turning model objects into JSON-ready data, for ``racoondbg parse`` and the tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import ipaddress
from pathlib import PurePath
from typing import Any

from racoondbg.model.base import Location


def jsonable(obj: Any) -> Any:
    """Dataclasses become dicts (fields starting with ``_`` are left out), enums their names.

    ``bytes`` never appear as content: models must not hold secrets in clear, and anything else
    binary is summarised by its length.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Location):
        return {k: v for k, v in dataclasses.asdict(obj).items() if v is not None}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.name.startswith("_") and f.metadata.get("json", True)
        }
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
