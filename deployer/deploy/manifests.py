"""Rendered Kubernetes manifests: parse, redact Secret data, compare. Pure functions (no helm, no cluster).

- ``parse(text)``: the YAML documents of a helm manifest (empty documents dropped).
- ``redact_secrets(text)``: the same manifest text with the values under ``data``/``stringData`` of every Secret
  replaced by ``(redacted)``; other documents are left byte for byte as helm wrote them.
- ``manifest_diff(live, desired, release)``: a unified diff (``""`` when equal) of two manifests, each object
  normalised (one YAML document per object, sorted by kind, namespace and name, so helm's ordering does not show)
  and Secret values redacted on both sides. A value that differs shows as ``(redacted, changed)`` on the deploy
  side, so a changed secret is visible without being shown.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from deployer import yamlio

REDACTED = "(redacted)"
CHANGED = "(redacted, changed)"
SECRET_FIELDS = ("data", "stringData")
Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
_DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yamlio.load_all(text) if isinstance(doc, dict)]


def _dump(doc: Any) -> str:
    return yamlio.dumps(doc)  # keeps helm's key order


def is_secret(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Secret" and str(doc.get("apiVersion", "")) == "v1"


def key_of(doc: dict[str, Any]) -> Key:
    meta = doc.get("metadata") or {}
    return (
        str(doc.get("apiVersion", "")),
        str(doc.get("kind", "")),
        str(meta.get("namespace", "") or ""),
        str(meta.get("name", "")),
    )


def _redacted(doc: dict[str, Any], other: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(doc)
    for field in SECRET_FIELDS:
        values = doc.get(field)
        if not isinstance(values, dict):
            continue
        theirs = (other or {}).get(field) if other is not None else None
        theirs = theirs if isinstance(theirs, dict) else {}
        out[field] = {
            k: CHANGED if other is not None and k in theirs and theirs[k] != v else REDACTED for k, v in values.items()
        }
    return out


def redact_secrets(text: str) -> str:
    """``text`` with every Secret's values redacted; documents that are not Secrets are kept as written."""
    parts = _DOC_SPLIT.split(text)
    out = []
    for part in parts:
        docs = yamlio.load_all(part) if part.strip() else []
        doc = docs[0] if len(docs) == 1 else None
        if doc is not None and is_secret(doc):
            comments = "".join(line + "\n" for line in part.strip("\n").splitlines() if line.startswith("#"))
            out.append("\n" + comments + _dump(_redacted(doc)))
        else:
            out.append(part)
    return "---".join(out)


def _normalised(docs: list[dict[str, Any]], others: dict[Key, dict[str, Any]] | None) -> list[str]:
    lines: list[str] = []
    for doc in sorted(docs, key=key_of):
        if is_secret(doc):
            doc = _redacted(doc, (others or {}).get(key_of(doc)) if others is not None else None)
        api, kind, namespace, name = key_of(doc)
        lines.append(f"--- # {kind} {namespace + '/' if namespace else ''}{name} ({api})\n")
        lines.extend(_dump(doc).splitlines(keepends=True))
    return lines


def manifest_diff(live: str, desired: str, release: str) -> str:
    live_docs, desired_docs = parse(live), parse(desired)
    live_by_key = {key_of(d): d for d in live_docs}
    old = _normalised(live_docs, None)
    new = _normalised(desired_docs, live_by_key)
    return "".join(difflib.unified_diff(old, new, fromfile=f"{release} (live)", tofile=f"{release} (this deploy)"))
