"""A cluster's warnings: configuration that works but is likely a mistake (``Problem(warning=True)``).

- A plain (not sops-encrypted) values file of a selected release holding a secret-looking value
  (``deployer.config.secretlike``): named by file, line and key path, never the value, with the ``enc-*`` file to
  move it into.
- For a whole cluster (no hubs selected) whose cluster.yaml has no problems: a YAML file in the cluster folder
  (at any depth) that no hub or support entry of its cluster.yaml lists, usually a removed hub's leftovers.
  cluster.yaml itself, the provider's credentials file (``key:``/``file:``) and files that are not YAML
  (``.yaml``/``.yml``) are not warned about.

Files with problems of their own (missing, outside the folder, unparsable) are skipped here: ``validate`` reports
those, and drops any warning about a file it reports a problem for. Lines are looked up only for findings.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.config.files import FileReader
from deployer.config.load import ClusterRead, cluster_names, read_cluster
from deployer.config.schema import format_path
from deployer.config.secretlike import encrypted_name, is_private_key, secret_like
from deployer.errors import Problem

VALUES_SUFFIXES = (".yaml", ".yml")


def cluster_warnings(
    root: Path, read: ClusterRead, hubs: Sequence[str] = (), reader: FileReader | None = None
) -> list[Problem]:
    """The warnings of one cluster, sorted. ``hubs``: only the files of those hubs (``support``: the support
    chart's), and no unlisted-file check."""
    config = read.config
    if config is None:
        return []
    reader = reader or FileReader(root)
    out: set[Problem] = set()
    for entry in _entries(read, hubs):
        info = reader.check_entry(config.dir, entry, label="", listed_at=lambda: (config.file, None))
        if info.ok and not info.encrypted and isinstance(info.data, dict):
            out.update(_secret_like(root, info.rel, info.data))
    if not hubs and not read.problems:  # a cluster.yaml with problems: what it lists is not to be trusted
        out.update(_unlisted(root, read))
    return sorted(out)


def warnings_for(root: Path, cluster: str, hubs: Sequence[str] = ()) -> list[Problem]:
    """``cluster_warnings`` of the cluster named ``cluster``; none for a name that is not a cluster folder (the
    command using it reports that)."""
    if cluster not in cluster_names(root):
        return []
    return cluster_warnings(root, read_cluster(root, cluster), hubs)


def _secret_like(root: Path, rel: str, data: dict[str, Any]) -> Iterator[Problem]:
    target = posixpath.join(posixpath.dirname(rel), encrypted_name(posixpath.basename(rel)))
    for keys in secret_like(data):
        value: Any = data
        for key in keys:
            value = value[key]
        why = "holds a private key" if is_private_key(value) else "looks like a secret"
        yield Problem(
            rel,
            yamlio.line_of(root / rel, keys),
            f"{format_path(keys)} {why} in a plain values file: move it into {target} (sops-encrypted: "
            "`sops edit` creates it; list it in cluster.yaml after this file)",
            warning=True,
        )


def _releases(read: ClusterRead) -> Iterator[tuple[str, Any]]:
    """(hub name, or ``support``; its ``helm_chart_values_files``) of every entry of cluster.yaml."""
    raw = read.raw if isinstance(read.raw, dict) else {}
    if isinstance(raw.get("support"), dict):
        yield "support", raw["support"].get("helm_chart_values_files")
    hubs = raw.get("hubs")
    for hub in hubs if isinstance(hubs, list) else []:
        if isinstance(hub, dict):
            yield str(hub.get("name")), hub.get("helm_chart_values_files")


def _entries(read: ClusterRead, hubs: Sequence[str]) -> list[str]:
    """The values file entries (as written) of the selected releases, each once."""
    out: dict[str, None] = {}
    for name, files in _releases(read):
        if (not hubs or name in hubs) and isinstance(files, list):
            out.update((f, None) for f in files if isinstance(f, str))
    return list(out)


def _unlisted(root: Path, read: ClusterRead) -> list[Problem]:
    config = read.config
    assert config is not None
    listed = {posixpath.normpath(f"{config.dir}/{e}") for e in _entries(read, ())}
    listed.add(config.file)
    if config.key_file:
        listed.add(posixpath.normpath(config.key_file))
    out = []
    for path in sorted((root / config.dir).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.name.endswith(VALUES_SUFFIXES) and path.is_file() and rel not in listed:
            out.append(
                Problem(
                    rel,
                    None,
                    f"is listed by no hub or support of cluster {config.name}: a removed hub's leftovers? "
                    f"delete it, or list it under helm_chart_values_files in {config.file}",
                    warning=True,
                )
            )
    return out
