"""The files a cluster.yaml refers to: where they may live, whether they parse, whether they are encrypted.

``FileReader`` reads each repo-relative file once per run. ``check_entry`` applies the location rules to
one entry of a cluster.yaml (relative to the cluster folder, no ``..`` escape, no symlink out, exists,
a YAML mapping or empty). ``scan_secrets`` applies the naming rules to every file of a cluster folder:
a name with ``secret`` in it must be ``enc-*`` and sops-encrypted, an ``enc-*`` file must be encrypted,
and an encrypted file must be named ``enc-*`` (the predicates are ``deployer.secret_files``).
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
from deployer.secret_files import ENCRYPTED_PREFIX, is_encrypted, is_secret_file
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
            problems.append(
                Problem(
                    rel,
                    None,
                    "is not encrypted, but its name says it holds secrets: "
                    f"encrypt it with 'sops encrypt --in-place {rel}' (rules in .sops.yaml) before committing",
                )
            )
        elif info.encrypted and not name.startswith(ENCRYPTED_PREFIX):
            problems.append(
                Problem(
                    rel,
                    None,
                    f"is sops-encrypted but not named {ENCRYPTED_PREFIX}*: rename it to "
                    f"{ENCRYPTED_PREFIX}{name} and update cluster.yaml",
                )
            )
        elif is_secret_file(name) and not name.startswith(ENCRYPTED_PREFIX):
            problems.append(
                Problem(
                    rel,
                    None,
                    f"holds secrets but is not named {ENCRYPTED_PREFIX}*: rename it to "
                    f"{ENCRYPTED_PREFIX}{name} and update cluster.yaml",
                )
            )
    return problems
