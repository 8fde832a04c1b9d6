"""Rendered Kubernetes manifests: parse, redact Secret data, compare. Pure functions (no helm, no cluster).

- ``parse(text)``: the YAML documents of a helm manifest (empty documents dropped).
- ``redact_secrets(text)``: the same manifest text with the values under ``data``/``stringData`` of every Secret
  replaced by ``(redacted)``; other documents are left byte for byte as helm wrote them.
- ``manifest_diff(live, desired, release, redactor=None)``: a unified diff (``""`` when equal) of two manifests,
  each object normalised (one YAML document per object, sorted by kind, namespace and name, so helm's ordering
  does not show). Without ``redactor``, Secret values are redacted wholesale on both sides: a value that differs
  shows as ``(redacted, changed)`` on the deploy side, so a changed secret is visible without being shown. With
  the run's ``redactor`` (``deployer diff``), Secret values are decoded and compared line by line, masking what
  ``deploy.secretdiff`` says (values of encrypted files, keys that look secret, binary data).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
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


def _normalised(
    docs: list[dict[str, Any]], others: dict[Key, dict[str, Any]] | None, decoded: dict[Key, list[str]] | None = None
) -> list[str]:
    lines: list[str] = []
    for doc in sorted(docs, key=key_of):
        key = key_of(doc)
        shown = None
        if is_secret(doc) and decoded is not None:
            shown = decoded.get(key, [])
            doc = {k: v for k, v in doc.items() if k not in SECRET_FIELDS}
        elif is_secret(doc):
            doc = _redacted(doc, (others or {}).get(key) if others is not None else None)
        api, kind, namespace, name = key
        lines.append(f"--- # {kind} {namespace + '/' if namespace else ''}{name} ({api})\n")
        lines.extend(_dump(doc).splitlines(keepends=True))
        lines.extend(shown or [])
    return lines


def manifest_diff(live: str, desired: str, release: str, redactor: Callable[[str], str] | None = None) -> str:
    live_docs, desired_docs = parse(live), parse(desired)
    live_by_key = {key_of(d): d for d in live_docs}
    if redactor is None:
        old = _normalised(live_docs, None)
        new = _normalised(desired_docs, live_by_key)
    else:
        from deployer.deploy.secretdiff import secret_pair

        desired_by_key = {key_of(d): d for d in desired_docs}
        old_shown: dict[Key, list[str]] = {}
        new_shown: dict[Key, list[str]] = {}
        for key in {k for k, d in (*live_by_key.items(), *desired_by_key.items()) if is_secret(d)}:
            old_shown[key], new_shown[key] = secret_pair(live_by_key.get(key), desired_by_key.get(key), redactor)
        old = _normalised(live_docs, None, old_shown)
        new = _normalised(desired_docs, live_by_key, new_shown)
    return "".join(difflib.unified_diff(old, new, fromfile=f"{release} (live)", tofile=f"{release} (this deploy)"))
