"""The files a cluster.yaml refers to: where they may live, whether they parse, whether they are encrypted.

``FileReader`` reads each repo-relative file once per run. ``check_entry`` applies the location rules to
one entry of a cluster.yaml (relative to the cluster folder, no ``..`` escape, no symlink out, exists,
a YAML mapping or empty). ``scan_secrets`` applies the naming rules to every file of a cluster folder:
a name with ``secret`` in it must be ``enc-*`` and sops-encrypted, an ``enc-*`` file must be encrypted,
and an encrypted file must be named ``enc-*`` (the predicates are ``deployer.secret_files``). ``encrypt_advice``
words the fix: the exact ``git mv`` to an ``enc-*`` name, then the ``sops encrypt`` command, checked against the
creation rules of the repository's ``.sops.yaml`` (sops refuses a path none of them matches).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.errors import Problem
from deployer.secret_files import ENCRYPTED_PREFIX, creation_rule_matches, is_encrypted, is_secret_file
from deployer.secrets import SOPS_CONFIG
from deployer.userfiles import MAX_CONFIG_FILE, Refused, read_capped

PARSED_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class FileInfo:
    rel: str
    data: Any = None
    encrypted: bool = False
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class FileReader:
    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, FileInfo] = {}

    def read(self, rel: str) -> FileInfo:
        """Parse ``rel`` (repo-relative, already known to be safe) once."""
        if rel not in self._cache:
            self._cache[rel] = self._parse(rel)
        return self._cache[rel]

    def _parse(self, rel: str) -> FileInfo:
        path = self.root / rel
        if not rel.endswith(PARSED_SUFFIXES):
            try:
                raw = read_capped(path, MAX_CONFIG_FILE, "one file of the config repository")
            except Refused as exc:
                return FileInfo(rel, problem=Problem(rel, None, str(exc)))
            return FileInfo(rel, None, encrypted=is_encrypted(raw))
        try:
            data = yamlio.load(path)
        except yamlio.YamlError as exc:
            return FileInfo(rel, problem=Problem(rel, exc.line, exc.message))
        return FileInfo(rel, data, encrypted=is_encrypted(data))

    def check_entry(
        self, cluster_dir: str, entry: str, *, listed_at: Callable[[], tuple[str, int | None]], label: str
    ) -> FileInfo:
        """Apply the location rules to ``entry`` of a cluster.yaml, then parse it.

        ``listed_at()`` gives the (file, line) where cluster.yaml lists the entry; called only on a problem.
        """

        def bad(message: str) -> FileInfo:
            return FileInfo(rel, problem=Problem(*listed_at(), f"{label}: '{entry}' {message}"))

        rel = f"{cluster_dir}/{entry}"
        if entry.startswith("/") or Path(entry).is_absolute():
            return bad("is an absolute path: give a path relative to the cluster folder")
        normal = posixpath.normpath(rel)
        if not normal.startswith(cluster_dir + "/"):
            return bad(f"points outside the cluster folder {cluster_dir}/: keep a hub's files inside it")
        path = self.root / normal
        if not path.exists():
            exists_as_link = path.is_symlink()
            reason = "is a broken symlink" if exists_as_link else f"does not exist ({normal})"
            return bad(f"{reason}: create it or fix the name")
        real_dir = os.path.realpath(self.root / cluster_dir)
        if not os.path.realpath(path).startswith(real_dir + os.sep):
            return bad(f"is a symlink to a file outside the cluster folder {cluster_dir}/: copy the file in instead")
        if not path.is_file():
            return bad("is not a file")
        info = self.read(normal)
        if info.ok and info.data is not None and not isinstance(info.data, dict) and normal.endswith(PARSED_SUFFIXES):
            return FileInfo(normal, problem=Problem(normal, 1, "must be a YAML mapping (key: value ...) or empty"))
        return info


def scan_secrets(reader: FileReader, cluster_dir: str) -> list[Problem]:
    """Naming and encryption rules for every file in the cluster folder, listed in cluster.yaml or not."""
    problems = []
    base = reader.root / cluster_dir
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(reader.root).as_posix()
        name = path.name
        if not name.endswith(PARSED_SUFFIXES) and not is_secret_file(name):
            continue
        info = reader.read(rel)
        if not info.ok:
            continue  # a syntax problem is reported where the file is used
        if is_secret_file(name) and not info.encrypted:
            advice = encrypt_advice(reader.root, rel)
            problems.append(Problem(rel, None, f"is not encrypted, but its name says it holds secrets: {advice}"))
        elif info.encrypted and not name.startswith(ENCRYPTED_PREFIX):
            problems.append(Problem(rel, None, f"is sops-encrypted but not named {ENCRYPTED_PREFIX}*: {_rename(rel)}"))
        elif is_secret_file(name) and not name.startswith(ENCRYPTED_PREFIX):
            problems.append(Problem(rel, None, f"holds secrets but is not named {ENCRYPTED_PREFIX}*: {_rename(rel)}"))
    return problems


def encrypt_advice(root: Path, rel: str) -> str:
    """How to turn the plain file ``rel`` into a secret file: rename it ``enc-*`` if it is not, then encrypt it, with
    the command only when a creation rule of ``root/.sops.yaml`` matches the new path (else what to add)."""
    target = _encrypted_name(rel)
    first = "" if target == rel else f"{_rename(rel)}, then "
    try:
        sops_config = yamlio.load(root / SOPS_CONFIG)
    except OSError:
        return (
            f"{first}encrypt it; but there is no {SOPS_CONFIG} at the repository root: add one whose creation_rules "
            f"name the recipients, then run 'sops encrypt --in-place {target}'"
        )
    except yamlio.YamlError as exc:
        where = f"{SOPS_CONFIG}:{exc.line}" if exc.line else SOPS_CONFIG
        return f"{first}encrypt it; but {where} is not valid ({exc.message}): fix it, then encrypt {target}"
    if not creation_rule_matches(sops_config, target):
        return (
            f"{first}encrypt it; but no creation rule (path_regex) of {SOPS_CONFIG} matches {target}: add one naming "
            f"the recipients, then run 'sops encrypt --in-place {target}'"
        )
    return f"{first}encrypt it with 'sops encrypt --in-place {target}' before committing"


def _encrypted_name(rel: str) -> str:
    folder, name = posixpath.split(rel)
    return rel if name.startswith(ENCRYPTED_PREFIX) else posixpath.join(folder, ENCRYPTED_PREFIX + name)


def _rename(rel: str) -> str:
    target = _encrypted_name(rel)
    return f"rename it to {posixpath.basename(target)} ('git mv {rel} {target}') and update cluster.yaml"
