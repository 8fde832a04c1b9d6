"""What git knows: the paths changed since a base revision, and the clusters as they were there.

The only module that runs git. ``changed_paths(root, base)`` is ``git diff --name-only BASE...HEAD``
(changes on this branch since it left BASE); ``clusters_at(root, base)`` reads every
``config/clusters/*/cluster.yaml`` of BASE without checking it out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping

from deployer.config.load import cluster_from_text
from deployer.config.model import ClusterConfig
from deployer.errors import UsageError
from deployer.repo import CLUSTERS_DIR


def _git(root: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=root, env=None if env is None else dict(env),
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed; --base needs it") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [""])[0]
        raise UsageError(f"git {' '.join(args)} failed: {first}")
    return proc.stdout


def _prefix(root: Path, env: Mapping[str, str] | None) -> str:
    """The config root's path inside the git work tree ('' at the top), so paths can be made root-relative."""
    return _git(root, "rev-parse", "--show-prefix", env=env).strip()


def changed_paths(root: Path, base: str, env: Mapping[str, str] | None = None) -> list[str]:
    _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", env=env)
    prefix = _prefix(root, env)
    out = _git(root, "diff", "--name-only", "--no-renames", f"{base}...HEAD", "--", ".", env=env)
    return [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]


def clusters_at(root: Path, base: str, env: Mapping[str, str] | None = None) -> dict[str, ClusterConfig | None]:
    """name -> the cluster as it was at ``base`` (None when its cluster.yaml did not pass the checks there)."""
    prefix = _prefix(root, env)
    listing = _git(root, "ls-tree", "--full-name", "--name-only", "-r", base, "--", CLUSTERS_DIR.as_posix(), env=env)
    found: dict[str, ClusterConfig | None] = {}
    for path in listing.splitlines():
        rel = path[len(prefix):]
        parts = rel.split("/")
        if len(parts) == 4 and parts[3] == "cluster.yaml":
            text = _git(root, "show", f"{base}:{path}", env=env)
            found[parts[2]] = cluster_from_text(root, parts[2], text)
    return found
