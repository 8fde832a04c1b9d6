"""The digest of a release's inputs: what ``deployer deploy`` compares to skip a release that would not change.

A release is the product of three inputs, and the digest (sha256) covers exactly those:

- the chart's content: every file of the chart folder, sorted by path, excluding nothing but VCS folders
  (``.git``, ``.hg``, ``.svn``). The dependency archives in ``charts/`` are hashed by their members (name and
  content of every file, sorted), not their bytes: ``helm dependency build`` packages a ``file://`` dependency
  afresh on each build (new timestamps in the gzip and tar headers), and ``charts/`` is not committed, so a fresh
  checkout's archives must give the same digest as the last one's;
- the values files in order, exactly as helm gets them (``engine.values_for``), secret files decrypted: their
  content goes into the hash, never into the label. The release's storage Secret already holds the values in
  clear (helm keeps the computed config there), so a digest of them on that Secret exposes nothing new;
- the helm flags that shape the release: ``helm_argv.install_args`` without the values paths (the release name,
  chart path, namespace, ``--create-namespace``; a decrypted file's path is a random temporary one). ``--wait``
  and ``--timeout`` are left out: they change how long helm watches the workloads, not what it records or
  applies. The helm major is left out too: both render the same manifests from the same inputs.

The digest is recorded on the release as the label ``deployer.digest`` (``helm upgrade --labels``, stored by
helm >= 3.13 and helm 4 on the release's storage Secret). A label value is at most 63 characters: the first 56
hex characters (224 bits) are kept. helm copies a release's labels to the next revision, so a ``helm upgrade``
run by hand would carry the old digest over; the label ``deployer.revision`` records the revision the deployer
wrote the digest for, and a digest counts only on that revision (``unchanged``).

``SCHEME`` goes into every digest: changing what is hashed means changing it, so every release upgrades once.
Pure functions over bytes and labels, and ``chart_files`` (the one function here that reads files).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

SCHEME = b"deployer.digest/1"
LABEL = "deployer.digest"
REVISION_LABEL = "deployer.revision"
LABEL_LENGTH = 56  # hex characters kept (a label value is at most 63)
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})

ChartFiles = list[tuple[str, bytes]]  # (path inside the chart folder, content), sorted by path


def _frame(hasher: hashlib._Hash, *parts: bytes) -> None:
    """Feed ``parts`` length-prefixed, so no two different inputs give the same byte stream."""
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)


def archive_members(data: bytes) -> ChartFiles:
    """The regular files of a chart archive (``.tgz``), sorted by name; timestamps, owners and modes left out.
    Raises ``tarfile.TarError`` (or ``OSError``) for something that is not a gzipped tar."""
    members: ChartFiles = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                members.append((member.name, extracted.read() if extracted else b""))
    return sorted(members)


def file_digest(path: str, content: bytes) -> bytes:
    """One chart file's contribution: a ``charts/*.tgz`` by its members (see the module docstring), else its bytes."""
    hasher = hashlib.sha256()
    if path.startswith("charts/") and path.endswith(".tgz") and path.count("/") == 1:
        try:
            members = archive_members(content)
        except (tarfile.TarError, OSError, EOFError):
            _frame(hasher, b"bytes", content)  # not an archive helm could use either: its bytes, then
        else:
            _frame(hasher, b"archive")
            for name, data in members:
                _frame(hasher, name.encode(), data)
    else:
        _frame(hasher, b"bytes", content)
    return hasher.digest()


def chart_digest(files: Iterable[tuple[str, bytes]]) -> bytes:
    """The digest of a chart folder's files (any order: they are sorted by path here)."""
    hasher = hashlib.sha256()
    for path, content in sorted(files):
        _frame(hasher, path.encode(), file_digest(path, content))
    return hasher.digest()


def release_digest(chart: bytes, values: Sequence[bytes], shape: Sequence[str]) -> str:
    """The hex digest of a release: ``chart`` (``chart_digest``), the values files' contents in helm's order and the
    helm arguments that shape it (``shape``)."""
    hasher = hashlib.sha256()
    _frame(hasher, SCHEME, chart, len(values).to_bytes(8, "big"), *values, len(shape).to_bytes(8, "big"))
    _frame(hasher, *(arg.encode() for arg in shape))
    return hasher.hexdigest()


def labels(digest: str, revision: int) -> dict[str, str]:
    """The release labels that record ``digest`` for ``revision`` (the one the helm upgrade will record)."""
    return {LABEL: digest[:LABEL_LENGTH], REVISION_LABEL: str(revision)}


def unchanged(digest: str, revisions: Sequence[Mapping[str, str]]) -> int | None:
    """The revision that already has the inputs of ``digest``, or None. ``revisions``: the labels of the release's
    storage Secrets (helm's ``version`` and ``status``, and ours), sorted by revision. Only the latest revision
    counts, only when it is ``deployed`` (a failed or pending one never does) and records ``digest`` for that very
    revision (a revision made by a hand-run ``helm upgrade`` or ``rollback`` carries the labels over)."""
    if not revisions:
        return None
    latest = revisions[-1]
    version = latest.get("version", "")
    if latest.get("status") != "deployed" or not version.isdigit():
        return None
    if latest.get(LABEL) != digest[:LABEL_LENGTH] or latest.get(REVISION_LABEL) != version:
        return None
    return int(version)


def chart_files(chart_dir: Path) -> ChartFiles:
    """Every file under ``chart_dir`` (symlinks followed, as helm packages them) but VCS folders, sorted by path."""
    out: ChartFiles = []
    for path in chart_dir.rglob("*"):
        rel = path.relative_to(chart_dir)
        if VCS_DIRS.intersection(rel.parts) or not path.is_file():
            continue
        out.append((rel.as_posix(), path.read_bytes()))
    return sorted(out)
