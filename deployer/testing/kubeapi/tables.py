"""Server-side printing: the ``Table`` and ``PartialObjectMetadata`` renderings kubectl asks for.

Contract: ``kubectl get`` sends ``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``; :func:`table` answers with
a ``meta.k8s.io/v1`` Table of two columns, Name and Age (no per-kind columns such as READY or STATUS), whose rows
carry the object as ``PartialObjectMetadata`` (``includeObject=Metadata``, the default), the full object
(``includeObject=Object``) or nothing (``includeObject=None``). :func:`partial_metadata` and
:func:`partial_metadata_list` serve ``as=PartialObjectMetadata`` / ``as=PartialObjectMetadataList``.
"""

from __future__ import annotations

import datetime
from typing import Any

META = "meta.k8s.io/v1"


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        created = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": META, "metadata": obj.get("metadata", {})}


def partial_metadata_list(items: list[dict[str, Any]], resource_version: str) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": META,
        "metadata": {"resourceVersion": resource_version},
        "items": [partial_metadata(i) for i in items],
    }


def table(items: list[dict[str, Any]], resource_version: str, include_object: str = "Metadata") -> dict[str, Any]:
    rows = []
    for obj in items:
        meta = obj.get("metadata", {})
        row: dict[str, Any] = {"cells": [meta.get("name", ""), age(meta.get("creationTimestamp"))]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": META,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0},
        ],
        "rows": rows,
    }
