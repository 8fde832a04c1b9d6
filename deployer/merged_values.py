"""A release's values as helm gets them, and which file set each key: the library of ``deployer values``.

``release_sources(root, cluster, release, env=..., show_secrets=...) -> list[Source]`` reads the layers helm is
given for one release, in helm's order: a hub's generated ``deployer-facts.values.yaml`` (``deployer.hubfacts``)
first, then the files cluster.yaml lists. Plain files are read with the location rules of ``validate``
(``deployer.config.files``). An encrypted file is read as sops stores it (keys in clear, values ``ENC[...]``), so
no key is needed, unless ``show_secrets``: then it is decrypted in memory (``deployer.secrets.decrypt``), never
written to disk.

The merge is helm's user-supplied values (what ``helm get values`` shows: no chart defaults), done by the one
implementation of helm's merge, ``deployer.values.merge_layers``. The rest is pure:

- ``leaf_origins(layers, values)``: for each leaf of the merged values (a scalar, a list or an empty mapping: a
  list comes whole from one file, as helm's merge replaces lists), the layers that hold it, in order; the last is
  the winner, the one before it the file it overrides.
- ``masked(values, secret_leaves, mask)``: the values with every scalar whose winning layer is an encrypted file
  replaced by ``<secret from FILE>`` (masking by origin: no guessing from key names or string matching).
- ``render(values, notes)``: block YAML (``yamlio.dumps``) with an end-of-line comment on the line of each leaf
  that has a note (the ``--origin`` view).
- ``origin_notes(root, sources, origins)``: ``from FILE:LINE[, overrides FILE:LINE]`` per leaf (lines from
  ``yamlio.line_of``, read from the files on disk: an encrypted file's keys are in clear there).

``show(root, cluster, release, env=..., show_secrets=..., origin=...)`` puts them together: the text the command prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.values import Layer, depth_held

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Source:
    """One layer of a release's values: ``name`` is the repo-relative file (or the generated facts file's name)."""

    name: str
    data: Any
    secret: bool = False
    listed_as: str = ""  # as cluster.yaml lists it (relative to the cluster folder); "" for the facts
    facts_line: tuple[str, int | None] | None = None  # generated facts: where cluster.yaml defines the hub

    @property
    def layer(self) -> Layer:
        return (self.name, self.data if isinstance(self.data, dict) else {})


def leaves(values: Any, at: KeyPath = ()) -> Iterator[KeyPath]:
    """Key paths of the leaves of ``values``: scalars, lists and empty mappings (mappings are walked)."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, (*at, key))
    elif at:
        yield at


def leaf_origins(layers: Sequence[Layer], values: Mapping[str, Any]) -> dict[KeyPath, list[str]]:
    """For each leaf of the merged ``values``, the names of the layers holding its whole key path, in order: the
    last set it (a later layer holding it would have replaced it; one holding a shorter path with a scalar would
    have removed it)."""
    return {
        keys: [name for name, data in layers if depth_held(data, keys) == len(keys)] for keys in leaves(dict(values))
    }


def masked(values: Any, secret_leaves: Mapping[KeyPath, str], at: KeyPath = ()) -> Any:
    """``values`` with each scalar under a leaf of ``secret_leaves`` (list items too) replaced by
    ``<secret from FILE>``, FILE being that leaf's value in ``secret_leaves``."""
    if at in secret_leaves:
        return _mask_all(values, f"<secret from {secret_leaves[at]}>")
    if isinstance(values, dict):
        return {key: masked(value, secret_leaves, (*at, key)) for key, value in values.items()}
    return values


def _mask_all(value: Any, mask: str) -> Any:
    if isinstance(value, dict):
        return {key: _mask_all(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item, mask) for item in value]
    return mask


def render(values: Mapping[str, Any], notes: Callable[[KeyPath], str | None]) -> str:
    """Block YAML of ``values``, each leaf's line ending in ``# NOTE`` when ``notes(keys)`` gives one (a
    non-empty list's note goes on its key's line, a scalar's on its last line)."""
    if not values:
        return "{}\n"
    return "".join(_render_map(dict(values), (), "", notes))


def _render_map(values: dict[Any, Any], at: KeyPath, indent: str, notes: Callable[[KeyPath], str | None]) -> list[str]:
    out: list[str] = []
    for key, value in values.items():
        keys = (*at, key)
        if isinstance(value, dict) and value:
            out.append(f"{indent}{yamlio.dumps({key: {}}).rstrip().removesuffix(' {}')}\n")
            out.extend(_render_map(value, keys, indent + "  ", notes))
            continue
        lines = yamlio.dumps({key: value}).splitlines()
        note = notes(keys)
        if note:
            at_line = 0 if isinstance(value, list) and value else len(lines) - 1
            lines[at_line] += f"  # {note}"
        out.extend(f"{indent}{line}\n" for line in lines)
    return out


def origin_notes(root: Path, sources: Sequence[Source], origins: Mapping[KeyPath, list[str]]) -> dict[KeyPath, str]:
    """``from FILE:LINE`` for each leaf (``, overrides OTHER:LINE`` when an earlier file held it too); the generated
    facts file is named with the line of cluster.yaml that defines the hub (``deployer-facts.values.yaml
    (cluster.yaml:12)``)."""
    by_name = {s.name: s for s in sources}

    def where(name: str, keys: KeyPath) -> str:
        source = by_name[name]
        if source.facts_line is not None:
            file, line = source.facts_line
            return f"{name} ({Path(file).name}{'' if line is None else f':{line}'})"
        line = yamlio.line_of(root / name, keys)
        return name if line is None else f"{name}:{line}"

    notes = {}
    for keys, holders in origins.items():
        if not holders:
            continue
        note = f"from {where(holders[-1], keys)}"
        if len(holders) > 1:
            note += f", overrides {where(holders[-2], keys)}"
        notes[keys] = note
    return notes


def release_sources(
    root: Path, cluster_name: str, release: str, *, env: Mapping[str, str], show_secrets: bool = False
) -> list[Source]:
    """The layers helm gets for ``release`` (a hub's name, or ``support``) of ``cluster_name``, in order. An
    unknown cluster or hub, a listed file that is missing, outside the cluster folder or not YAML is a
    ``UsageError``/``ConfigError`` (exit 2); with ``show_secrets``, a file sops cannot decrypt is a ``SecretsError``."""
    from deployer import hubfacts
    from deployer.config.files import FileReader
    from deployer.config.load import load_cluster
    from deployer.deploy.jobs import order_releases, support_job
    from deployer.errors import ConfigError, UsageError
    from deployer.secret_files import is_secret_file

    cluster = load_cluster(root, cluster_name)
    if release == "support" and cluster.hub(release) is None:
        job = support_job(cluster)
        if job is None:
            raise UsageError(f"{cluster.file}: cluster '{cluster.name}' has no support chart configured")
        listed_at: KeyPath = ("support",)
    else:
        job = order_releases(cluster, [release], support=False).jobs[0]
        listed_at = ("hubs", [h.name for h in cluster.hubs].index(release))
    sources: list[Source] = []
    facts = hubfacts.facts_text(job.facts, root / job.chart_path) if job.facts else None
    if facts is not None:
        line = yamlio.line_of(root / cluster.file, listed_at)
        sources.append(Source(hubfacts.FILE_NAME, yamlio.loads(facts), facts_line=(cluster.file, line)))
    reader = FileReader(root)
    for index, rel in enumerate(job.values_files):
        entry = rel.removeprefix(f"{cluster.dir}/")
        keys = (*listed_at, "helm_chart_values_files", index)
        info = reader.check_entry(
            cluster.dir,
            entry,
            label=f"{job.release} values file",
            listed_at=_listed_at(root, cluster.file, keys),
        )
        if info.problem is not None:
            raise ConfigError([info.problem])
        secret = info.encrypted or is_secret_file(info.rel)
        data = info.data
        if secret and show_secrets and info.encrypted:
            from deployer.secrets import decrypt

            data = decrypt(root / info.rel, display=info.rel, env=env, root=root)
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (info.encrypted and k == "sops")}
        sources.append(Source(info.rel, data, secret=secret, listed_as=entry))
    return sources


def _listed_at(root: Path, file: str, keys: KeyPath) -> Callable[[], tuple[str, int | None]]:
    """Where ``file`` (cluster.yaml) lists a values file, its line looked up only when a message needs it."""
    return lambda: (file, yamlio.line_of(root / file, keys))


def show(
    root: Path,
    cluster_name: str,
    release: str,
    *,
    env: Mapping[str, str],
    show_secrets: bool = False,
    origin: bool = False,
) -> str:
    """The text ``deployer values`` prints: the merged values as YAML, values from encrypted files masked unless
    ``show_secrets``, and with ``origin`` a comment naming the file (and line) that set each leaf."""
    from deployer.values import merge_layers

    sources = release_sources(root, cluster_name, release, env=env, show_secrets=show_secrets)
    layers = [s.layer for s in sources]
    values = merge_layers(layers)
    origins = leaf_origins(layers, values)
    if not show_secrets:
        secret = {s.name: s.listed_as for s in sources if s.secret}
        secret_leaves = {k: secret[h[-1]] for k, h in origins.items() if h and h[-1] in secret}
        values = masked(values, secret_leaves)
    if not origin:
        return yamlio.dumps(values) if values else "{}\n"
    notes = origin_notes(root, sources, origins)
    return render(values, notes.get)
