"""``validate``: every check of the fleet's configuration, all problems in one run.

Checks: cluster.yaml syntax and schema, name equal to the folder, duplicate hub names in a cluster,
duplicate domains across the fleet, each listed file's location and syntax, charts that exist, the
secret-file naming and encryption rules, a kubeconfig cluster's context when its kubeconfig is at hand
(``deployer.config.contexts``), ingress hosts in a hub's plain values files other than its domain
(``deployer.config.ingresshosts``), and each release's values (in order, secrets decrypted in
memory) against the ``values.schema.json`` of its chart and of every chart it depends on, at any depth, with
helm's rules (``deployer.config.chartvalues``): the dependency charts come from the archives ``Chart.lock`` pins.

With ``decrypt=False`` secret files are read as sops stores them (keys in clear, values ``ENC[...]``): their
keys are checked, their values are not (``Report.undecrypted`` counts those files).

Decryptions run in parallel (sops is a subprocess); the files no key here decrypts make one problem, naming
them (``decrypt_problems``), not one each. Archives are read and schemas compiled once per run. The
result is a sorted list of ``Problem``; nothing is printed here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.chart_archives import mirror_dir
from deployer.config.chartvalues import ChartCatalog, ChartError, chart_label
from deployer.config.contexts import validate_context
from deployer.config.files import FileInfo, FileReader, encrypt_advice, scan_secrets
from deployer.config.ingresshosts import host_problems
from deployer.config.lint import cluster_warnings
from deployer.config.load import ClusterRead, cluster_names, read_cluster, require_clusters
from deployer.config.model import ClusterConfig
from deployer.config.schema import KeyPath, format_path
from deployer.errors import NoKeyError, Problem, SecretsError, UsageError
from deployer.run import Runner
from deployer.secrets import decrypt, no_key_message
from deployer.values import Layer, depth_held, merge_layers, source_of


@dataclass(frozen=True)
class Release:
    """One helm release to check: a hub, or a cluster's support chart."""

    label: str  # "hub 'staging'" or "support"
    chart: str
    files: tuple[str, ...]  # entries as written in cluster.yaml, relative to the cluster folder
    cluster_file: str
    keys: KeyPath  # where the release's entry is in cluster.yaml, e.g. ("hubs", 2)

    def line(self, root: Path, *more: str | int) -> int | None:
        """The line of ``keys + more`` in cluster.yaml; computed only when a message needs it."""
        return yamlio.line_of(root / self.cluster_file, [*self.keys, *more])


def validate(
    root: Path,
    clusters: Sequence[str] = (),
    hubs: Sequence[str] = (),
    *,
    env: Mapping[str, str],
    jobs: int = 8,
    decrypt: bool = True,
    report: Report | None = None,
    unprepared: Collection[str] = (),
    runner: Runner | None = None,
    warnings: bool = False,
) -> list[Problem]:
    """Every problem of the selected clusters (and hubs), sorted; with ``warnings``, also their warnings
    (``Problem.warning``, from ``deployer.config.lint``).

    ``decrypt=False`` reads secret files without decrypting them (see the module docstring); ``report``, when
    given, receives what was skipped. ``unprepared``: charts (folder names) whose dependencies the caller could not
    build (a deploy reports their releases as failed with that error): their releases' values are not checked.
    ``runner`` runs sops (default: a fresh ``Runner``); one runner serves the parallel decryptions.
    """
    if hubs and len(clusters) != 1:
        raise UsageError("hub names can only be given after exactly one cluster name")
    selected = require_clusters(root, clusters) if clusters else cluster_names(root)
    reads = {name: read_cluster(root, name) for name in cluster_names(root)}
    problems: set[Problem] = set()
    for name in selected:
        problems.update(reads[name].problems)
        problems.update(_duplicate_hubs(root, reads[name]))
    problems.update(duplicate_domains(root, reads, set(selected)))

    mirror_dir(env)  # a DEPLOYER_CHART_MIRROR naming no folder is an error before anything else
    reader, catalog = FileReader(root), ChartCatalog(root, env)
    releases: list[tuple[ClusterConfig, Release, list[FileInfo]]] = []
    for name in selected:
        config = reads[name].config
        if config is None:
            continue
        problems.update(scan_secrets(reader, config.dir))
        problems.update(_provider_key(root, reader, config))
        if warnings:
            problems.update(cluster_warnings(root, reads[name], hubs, reader))
        problems.update(
            p
            for p in validate_context(root, config, env=env, decrypt=decrypt, runner=runner)
            if warnings or not p.warning
        )
        for release in _releases(root, reads[name], hubs):
            infos = [
                reader.check_entry(
                    config.dir,
                    f,
                    label=release.label,
                    listed_at=_listed_at(root, release, j),
                )
                for j, f in enumerate(release.files)
            ]
            problems.update(i.problem for i in infos if i.problem)
            if not catalog.exists(release.chart):
                chart_key = ("helm_chart",) if release.keys[0] == "hubs" else ()
                problems.add(
                    Problem(
                        config.file,
                        release.line(root, *chart_key),
                        f"{release.label}: chart '{release.chart}' is not a folder of "
                        f"helm-charts/ with a Chart.yaml: use one of {', '.join(_charts(root)) or '(none)'}",
                    )
                )
                continue
            if release.chart in unprepared:
                continue
            try:  # a broken Chart.yaml or values.yaml is reported even if values can't be checked
                catalog.get(release.chart)
            except ChartError as exc:
                problems.add(Problem(exc.path, exc.line, exc.message))
                continue
            if all(i.ok for i in infos):
                releases.append((config, release, infos))
                problems.update(_stray_hosts(root, reads[name], release, infos))

    encrypted = {i.rel for _, _, infos in releases for i in infos if i.encrypted}
    if decrypt:
        secrets = _decrypt_all(root, encrypted, env, jobs, runner or Runner())
        problems.update(decrypt_problems({rel: e for rel, e in secrets.items() if isinstance(e, SecretsError)}))
    else:
        secrets = {rel: reader.read(rel).data for rel in encrypted}
        if report is not None:
            report.undecrypted = len(encrypted)
    for config, release, infos in releases:
        problems.update(
            _values_problems(root, catalog, config, release, infos, secrets, opaque=None if decrypt else is_opaque)
        )
    wrong = {p.path for p in problems if not p.warning}  # a file with a problem gets no warning besides
    return sorted(p for p in problems if not (p.warning and p.path in wrong))


@dataclass
class Report:
    """What a validation left out (for the CLI to say so)."""

    undecrypted: int = 0  # secret files read without decryption (their values not checked)


def is_opaque(value: Any) -> bool:
    """A value sops encrypted (``ENC[AES256_GCM,data:...,type:...]``): its content is unknown without the key."""
    return isinstance(value, str) and value.startswith("ENC[") and value.endswith("]")


def _charts(root: Path) -> list[str]:
    base = root / "helm-charts"
    return sorted(p.name for p in base.iterdir() if (p / "Chart.yaml").is_file()) if base.is_dir() else []


def _hub_entries(read: ClusterRead) -> list[tuple[int, dict[str, Any]]]:
    hubs = read.raw.get("hubs") if isinstance(read.raw, dict) else None
    return [(i, h) for i, h in enumerate(hubs) if isinstance(h, dict)] if isinstance(hubs, list) else []


def _duplicate_hubs(root: Path, read: ClusterRead) -> list[Problem]:
    if read.config is None:
        return []
    path = root / read.config.file
    seen: dict[str, int] = {}  # hub name -> index of its first entry
    out: list[Problem] = []
    for i, hub in _hub_entries(read):
        name = hub.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            first = yamlio.line_of(path, ["hubs", seen[name], "name"])
            out.append(
                Problem(
                    read.config.file,
                    yamlio.line_of(path, ["hubs", i, "name"]),
                    f"hubs[{i}]: hub name '{name}' is already used on line {first}: hub names are helm "
                    "releases and namespaces, so each must be unique in a cluster",
                )
            )
        else:
            seen[name] = i
    return out


def duplicate_domains(root: Path, reads: Mapping[str, ClusterRead], selected: set[str]) -> list[Problem]:
    """A domain used by two hubs of the fleet, reported where a ``selected`` cluster uses it (also the check
    ``deployer new hub`` applies to its candidate entry)."""
    first: dict[str, tuple[str, int, str]] = {}
    out = []
    for cluster in sorted(reads):
        read = reads[cluster]
        if read.config is None:
            continue
        for i, hub in _hub_entries(read):
            domain = hub.get("domain")
            if not isinstance(domain, str):
                continue
            domain = domain.lower()
            if domain not in first:
                first[domain] = (cluster, i, read.config.file)
                continue
            other_cluster, other_i, other_file = first[domain]
            if cluster not in selected and other_cluster not in selected:
                continue
            other_line = yamlio.line_of(root / other_file, ["hubs", other_i, "domain"])
            out.append(
                Problem(
                    read.config.file,
                    yamlio.line_of(root / read.config.file, ["hubs", i, "domain"]),
                    f"hub '{hub.get('name')}': domain '{domain}' is already used by hub "
                    f"'{_name_at(reads[other_cluster], other_i)}' ({other_file}:{other_line}): "
                    "each hub needs its own domain",
                )
            )
    return out


def _name_at(read: ClusterRead, index: int) -> str:
    return str(dict(_hub_entries(read)).get(index, {}).get("name"))


def _provider_key(root: Path, reader: FileReader, config: ClusterConfig) -> list[Problem]:
    field = config.key_field
    key = getattr(config.spec, field, None)
    if not key:
        return []
    info = reader.check_entry(
        config.dir,
        key,
        label=f"{config.provider}.{field}",
        listed_at=lambda: (config.file, yamlio.line_of(root / config.file, [config.provider, field])),
    )
    if info.problem is not None:
        return [info.problem]
    if not info.encrypted:
        return [
            Problem(
                info.rel,
                None,
                f"holds cluster credentials but is not sops-encrypted: {encrypt_advice(root, info.rel)}",
            )
        ]
    return []


def _releases(root: Path, read: ClusterRead, only_hubs: Sequence[str]) -> Iterable[Release]:
    config = read.config
    assert config is not None
    if config.support and not only_hubs:
        yield Release("support", config.support.chart, tuple(_entries(read.raw["support"])), config.file, ("support",))
    config.require_hubs(only_hubs)
    for i, entry in _hub_entries(read):
        if i in read.bad_hubs or (only_hubs and entry.get("name") not in only_hubs):
            continue
        yield Release(f"hub '{entry['name']}'", entry["helm_chart"], tuple(_entries(entry)), config.file, ("hubs", i))


def _stray_hosts(root: Path, read: ClusterRead, release: Release, infos: list[FileInfo]) -> list[Problem]:
    """A hub's plain values files naming an ingress host other than its domain."""
    if release.keys[0] != "hubs":
        return []
    domain = dict(_hub_entries(read)).get(int(release.keys[1]), {}).get("domain")
    if not isinstance(domain, str):
        return []
    files = [(i.rel, i.data) for i in infos if not i.encrypted]
    chart_dir = root / "helm-charts" / release.chart
    return host_problems(root, label=release.label, domain=domain, chart_dir=chart_dir, files=files)


def _entries(block: dict[str, Any]) -> list[str]:
    return list(block.get("helm_chart_values_files") or [])


def _listed_at(root: Path, release: Release, index: int) -> Callable[[], tuple[str, int | None]]:
    """Where cluster.yaml lists the release's ``index``-th values file (its line looked up only when asked)."""
    return lambda: (release.cluster_file, release.line(root, "helm_chart_values_files", index))


def _decrypt_all(root: Path, rels: set[str], env: Mapping[str, str], jobs: int, runner: Runner) -> dict[str, Any]:
    """Decrypt each file once, in parallel; a failure is its ``SecretsError`` in place of the content."""

    def one(rel: str) -> Any:
        try:
            return decrypt(root / rel, display=rel, env=env, root=root, runner=runner)
        except SecretsError as exc:
            return exc

    if not rels:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(rels)))) as pool:
        names = sorted(rels)
        return dict(zip(names, pool.map(one, names), strict=True))


def decrypt_problems(failures: Mapping[str, SecretsError]) -> list[Problem]:
    """One problem per file sops could not decrypt, except that the files no key here decrypts (one cause, one fix)
    make a single problem, on the first of them, naming the others."""
    keyless = sorted(rel for rel, exc in failures.items() if isinstance(exc, NoKeyError))
    if len(keyless) < 2:
        return [Problem(rel, None, exc.message) for rel, exc in failures.items()]
    out = [Problem(rel, None, exc.message) for rel, exc in failures.items() if rel not in keyless]
    return [*out, Problem(keyless[0], None, no_key_message(keyless[1:]))]


def _values_problems(
    root: Path,
    catalog: ChartCatalog,
    config: ClusterConfig,
    release: Release,
    infos: list[FileInfo],
    secrets: dict[str, Any],
    opaque: Callable[[Any], bool] | None = None,
) -> list[Problem]:
    layers: list[Layer] = []
    for info in infos:
        data = secrets.get(info.rel) if info.encrypted else info.data
        if isinstance(data, SecretsError):
            return []  # reported per file; this release cannot be checked without it
        if info.encrypted and isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "sops"}
        layers.append((info.rel, data if isinstance(data, dict) else {}))
    try:
        chart = catalog.get(release.chart)
    except ChartError as exc:
        return [Problem(exc.path, exc.line, exc.message)]
    secret_files = {i.rel for i in infos if i.encrypted}
    user = merge_layers(layers)

    def show(keys: KeyPath) -> bool:
        return source_of(layers, _as_written(user, tuple(keys))) not in secret_files

    out: list[Problem] = []
    for keys, message, failing in catalog.violations(chart, user, show_values=show, opaque=opaque):
        written = _as_written(user, keys)
        source = source_of(layers, written)
        if source is None:
            file, line = release.cluster_file, release.line(root, "helm_chart_values_files")
        else:
            file, line = source, yamlio.line_of(root / source, written)
        where = format_path(written) if written == keys else f"{format_path(written)} (as {format_path(keys)})"
        out.append(Problem(file, line, f"{release.label} (chart {chart_label(failing)}): {where}: {message}"))
    return out


def _as_written(user: dict[str, Any], keys: KeyPath) -> KeyPath:
    """Where the user wrote the value helm checked at ``keys``: a ``global`` helm copied down to a subchart
    (``jupyterhub.global.x``) was written at an ancestor's ``global`` (``global.x``)."""
    if "global" not in keys or depth_held(user, keys) == len(keys):
        return keys
    i = keys.index("global")
    for j in range(i - 1, -1, -1):
        candidate = keys[:j] + keys[i:]
        if depth_held(user, candidate) == len(candidate):
            return candidate
    return keys
