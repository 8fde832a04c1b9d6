"""Loading ``config/clusters/<name>/cluster.yaml`` into models, collecting every problem on the way.

``read_cluster`` never raises for bad content: it returns what it could build plus the problems found
(YAML syntax, schema, folder name), each located by file and line. ``load_cluster``/``load_fleet`` are
the strict forms for commands that act on a cluster: any problem raises ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.config.model import (
    SPEC_CLASSES,
    ClusterConfig,
    Fleet,
    HubConfig,
    SupportConfig,
)
from deployer.config.schema import KeyPath, compiled, format_path, schema_problems
from deployer.errors import ConfigError, Problem, UsageError
from deployer.repo import CLUSTERS_DIR
from deployer.userfiles import MAX_CLUSTER_FILE

CLUSTER_HINT = "split the cluster's hubs over more clusters, or remove what is not needed"

SCHEMA_FILE = Path("schemas") / "cluster.schema.json"


def cluster_schema_path(root: Path) -> Path:
    """The cluster schema: the repository's own copy when it has one, else the one shipped with us."""
    own = root / SCHEMA_FILE
    return own if own.is_file() else Path(__file__).resolve().parents[2] / SCHEMA_FILE


@dataclass
class ClusterRead:
    """What ``read_cluster`` could make of one cluster folder."""

    name: str
    config: ClusterConfig | None
    problems: list[Problem] = field(default_factory=list)
    bad_hubs: set[int] = field(default_factory=set)  # indexes of hub entries that failed the schema
    raw: Any = None


def cluster_names(root: Path) -> list[str]:
    base = root / CLUSTERS_DIR
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def require_clusters(root: Path, names: Iterable[str]) -> list[str]:
    """Check that every name is a cluster folder; raise ``UsageError`` naming the known ones."""
    known = cluster_names(root)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(
            f"{CLUSTERS_DIR.as_posix()}/: no cluster named {', '.join(repr(n) for n in unknown)}; "
            f"known clusters: {', '.join(known) or '(none)'}"
        )
    return list(names)


def read_cluster(root: Path, name: str) -> ClusterRead:
    cdir = f"{CLUSTERS_DIR.as_posix()}/{name}"
    rel = f"{cdir}/cluster.yaml"
    path = root / rel
    result = ClusterRead(name=name, config=None)
    if not path.is_file():
        result.problems.append(
            Problem(cdir, None, "no cluster.yaml in this cluster folder: add one or remove the folder")
        )
        return result
    try:
        raw = yamlio.load(path, most=MAX_CLUSTER_FILE, what="a cluster.yaml", hint=CLUSTER_HINT)
    except yamlio.YamlError as exc:
        result.problems.append(Problem(rel, exc.line, exc.message))
        return result
    except OSError as exc:
        result.problems.append(Problem(rel, None, f"cannot read: {exc.__class__.__name__}"))
        return result
    return check_cluster_data(root, name, raw, path)


def check_cluster_data(root: Path, name: str, raw: Any, path: Path | None = None) -> ClusterRead:
    """Schema and folder-name checks of parsed cluster.yaml content (``path``, when given, for line numbers)."""
    cdir = f"{CLUSTERS_DIR.as_posix()}/{name}"
    rel = f"{cdir}/cluster.yaml"
    result = ClusterRead(name=name, config=None, raw=raw)

    def line(keys: Sequence[str | int]) -> int | None:
        return yamlio.line_of(path, keys) if path is not None else None

    if not isinstance(raw, dict):
        result.problems.append(Problem(rel, 1, "must be a YAML mapping with at least 'name' and 'provider'"))
        return result

    validator = compiled(cluster_schema_path(root))
    spec_broken = False
    for keys, message in schema_problems(validator, raw, show_values=True):
        message = _cluster_hint(raw, keys, message)
        if len(keys) >= 2 and keys[0] == "hubs" and isinstance(keys[1], int):
            result.bad_hubs.add(keys[1])
            hub_name = _hub_name(raw, keys[1])
            label = f"hub '{hub_name}' ({format_path(keys[:2])})" if hub_name else format_path(keys[:2])
            rest = format_path(keys[2:]) if len(keys) > 2 else ""
            text = f"{label}{': ' + rest if rest else ''}: {message}"
        else:
            spec_broken = spec_broken or not keys or keys[0] in ("provider", *SPEC_CLASSES)
            text = f"{format_path(keys)}: {message}"
        result.problems.append(Problem(rel, line(keys) or 1, text))

    if raw.get("name") is not None and raw.get("name") != name:
        result.problems.append(
            Problem(rel, line(["name"]), f"name: is {raw.get('name')!r} but the folder is {name!r}: they must be equal")
        )
    result.config = _build(raw, name, cdir, result.bad_hubs, spec_ok=not spec_broken)
    return result


def cluster_from_text(root: Path, name: str, text: str) -> ClusterConfig | None:
    """The model of a cluster.yaml given as text (e.g. from an older git revision); None if it has problems."""
    try:
        raw = yamlio.loads(text)
    except yamlio.YamlError:
        return None
    read = check_cluster_data(root, name, raw)
    return read.config if not read.problems else None


def _hub_name(raw: dict[str, Any], index: int) -> str | None:
    hubs = raw.get("hubs")
    if isinstance(hubs, list) and index < len(hubs) and isinstance(hubs[index], dict):
        name = hubs[index].get("name")
        return name if isinstance(name, str) else None
    return None


def _cluster_hint(raw: dict[str, Any], keys: KeyPath, message: str) -> str:
    provider = raw.get("provider")
    if len(keys) == 1 and keys[0] in SPEC_CLASSES and message == "is not allowed here":
        return f"a '{keys[0]}:' block does not go with provider '{provider}': remove it or change provider"
    if (
        not keys
        and message.startswith("missing required key '")
        and provider in SPEC_CLASSES
        and f"'{provider}'" in message
    ):
        return f"provider is '{provider}', so a '{provider}:' block is required (see schemas/cluster.schema.json)"
    if len(keys) == 3 and keys[0] == "hubs" and keys[2] == "name" and message == "is not allowed here":
        return "'support' is the release and namespace of the cluster's support chart: choose another hub name"
    if message.startswith("must match the pattern ^[^/"):  # the schema's relativeFile
        got = message[message.find(" (got ") :] if " (got " in message else ""
        return "must be a path relative to the cluster folder (no leading '/'), without surrounding whitespace" + got
    return message


def _build(raw: dict[str, Any], name: str, cdir: str, bad_hubs: set[int], *, spec_ok: bool) -> ClusterConfig:
    provider = raw.get("provider")
    spec = None
    if spec_ok and provider in SPEC_CLASSES and isinstance(raw.get(provider), dict):
        spec = SPEC_CLASSES[provider](**raw[provider])
    support = None
    if isinstance(raw.get("support"), dict) and isinstance(raw["support"].get("helm_chart_values_files"), list):
        support = SupportConfig(values_files=tuple(_files(cdir, raw["support"]["helm_chart_values_files"])))
    hubs = []
    for i, entry in enumerate(raw["hubs"] if isinstance(raw.get("hubs"), list) else []):
        if i in bad_hubs or not isinstance(entry, dict):
            continue
        hubs.append(
            HubConfig(
                name=entry["name"],
                domain=entry["domain"],
                helm_chart=entry["helm_chart"],
                values_files=tuple(_files(cdir, entry["helm_chart_values_files"])),
                canary=bool(entry.get("canary", False)),
                display_name=entry.get("display_name"),
            )
        )
    return ClusterConfig(
        name=name,
        provider=provider if isinstance(provider, str) else "",
        spec=spec,
        dir=cdir,
        support=support,
        hubs=tuple(hubs),
    )


def _files(cdir: str, names: list[Any]) -> list[str]:
    """Values file names as written, joined to the cluster folder (safety is checked by ``checks``)."""
    return [f"{cdir}/{n}" if isinstance(n, str) else str(n) for n in names]


def load_cluster(root: Path, name: str) -> ClusterConfig:
    """Strict load of one cluster (schema and folder name); raises ``ConfigError``/``UsageError``."""
    require_clusters(root, [name])
    read = read_cluster(root, name)
    if read.problems or read.config is None:
        raise ConfigError(read.problems)
    return read.config


def load_fleet(root: Path, names: Iterable[str] | None = None) -> Fleet:
    """Strict load of the given clusters (default: all); collects every cluster's problems first."""
    selected = require_clusters(root, names) if names else cluster_names(root)
    reads = [read_cluster(root, n) for n in selected]
    problems = [p for r in reads for p in r.problems]
    if problems:
        raise ConfigError(problems)
    return Fleet(root=root, clusters=tuple(r.config for r in reads if r.config is not None))
