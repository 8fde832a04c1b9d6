"""``export_hub``: write a self-contained folder from which plain helm deploys one hub.

Steps, all before anything appears at OUTDIR: validate the hub (a secret file that no key here can decrypt is
fine without ``--decrypt``: it is exported still encrypted), build the chart's dependencies (at most once per
chart, ``deployer.deploy.dependencies``), copy the chart and the charts it uses through ``file://`` with their
``charts/`` packaged dependencies, write the hub's generated ``deployer-facts.values.yaml`` (``deployer.hubfacts``,
the same text a deploy passes first) as ``values/deployer-facts.values.yaml``, first in helm's order, copy the
values files in helm's order (encrypted ones as they are, or
decrypted with ``decrypt=True``) to ``values/`` under their path in the cluster folder (``bundle_paths``), write
``deploy.sh``, a ``.sops.yaml`` stub and a README. The folder is
assembled next to OUTDIR and renamed into place, so a failure leaves nothing half-written. Whether OUTDIR may be
written at all (not a repository or part of one, not plaintext where git would pick it up, a writable folder; an
existing non-empty one only with ``force``) is decided first, by ``deployer.export.outdir``.
Which values files are secret is ``deployer.secret_files`` (validation, which runs first, ensures those are exactly
the encrypted ones); private files come from ``deployer.private``
(decrypted files 0600 from the first byte, written straight from sops's output into the staging folder, so no
plaintext exists anywhere else; the folder and ``deploy.sh`` 0755).
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer import hubfacts, yamlio
from deployer.charts import build_order
from deployer.errors import ConfigError, UsageError
from deployer.export.notes import infra_specific, readme
from deployer.export.outdir import check_outdir, writing
from deployer.export.script import deploy_script
from deployer.private import make_shared, private_dir, write_private
from deployer.secret_files import is_secret_file, plain_name
from deployer.secrets import plaintext

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig, HubConfig
    from deployer.run import Runner

SOPS_STUB = """\
# sops creation rules for this hub's secret values files. Replace the placeholder with YOUR keys, then run
# `sops encrypt --in-place values/enc-<file>.yaml` on each plaintext secret file (see README.md).
creation_rules:
  - path_regex: values/(.+/)?enc-[^/]+$
    # age: age1...your-public-key...            (age-keygen makes one)
    # gcp_kms: projects/P/locations/L/keyRings/R/cryptoKeys/K
    # kms: arn:aws:kms:REGION:ACCOUNT:key/ID
    # azure_keyvault: https://VAULT.vault.azure.net/keys/NAME/VERSION
"""


FACTS_PATH = f"values/{hubfacts.FILE_NAME}"  # the hub's generated values in the bundle, first in helm's order


@dataclass(frozen=True)
class BundleFile:
    source: str  # repo-relative values file
    path: str  # where it goes in the bundle: values/<its path in the cluster folder>
    secret: bool
    decrypt: bool  # written in plaintext (a secret file, with decrypt=True)


def bundle_paths(cluster_dir: str, values_files: Sequence[str], *, decrypt: bool) -> list[BundleFile]:
    """Where each values file goes in the bundle, in helm's order. Pure.

    Each file keeps its path inside the cluster folder (``sub/x.yaml`` -> ``values/sub/x.yaml``) rather than being
    flattened to its name: files of the same name in different subfolders are different layers, and flattening
    would let one overwrite the other while ``deploy.sh`` listed it twice. Keeping the paths keeps every export
    deployable as helm would deploy it here. Only ``decrypt`` can still make two files one name (``enc-x.yaml``
    decrypted to ``x.yaml`` beside a plain ``x.yaml``): that is refused (``UsageError``) before anything is written,
    rather than renamed to something nobody expects; the export without ``--decrypt`` always works.
    """
    files: list[BundleFile] = []
    sources: dict[str, str] = {}  # bundle path -> source
    for rel in values_files:
        inside = posixpath.relpath(posixpath.normpath(rel), cluster_dir)  # validation keeps it inside the folder
        secret = is_secret_file(rel)
        clear = secret and decrypt
        folder, name = posixpath.split(inside)
        path = posixpath.join("values", folder, plain_name(name) if clear else name)
        other = sources.setdefault(path, posixpath.normpath(rel))
        if other != posixpath.normpath(rel):
            raise UsageError(
                f"--decrypt would write both {other} and {rel} to {path}: rename one of them, "
                "or export without --decrypt (secret files then stay encrypted under their own names)"
            )
        files.append(BundleFile(rel, path, secret, clear))
    return files


@dataclass(frozen=True)
class ExportResult:
    outdir: Path
    files: tuple[str, ...]  # paths inside the bundle
    decrypted: tuple[str, ...]  # secret files written in plaintext (only with decrypt=True)


def export_hub(
    root: Path,
    cluster_name: str,
    hub_name: str,
    outdir: Path,
    *,
    env: Mapping[str, str],
    decrypt: bool = False,
    force: bool = False,
    runner: Runner | None = None,
) -> ExportResult:
    from deployer.config.load import load_cluster
    from deployer.deploy.dependencies import Dependencies
    from deployer.run import Runner
    from deployer.tools import find_tool
    from deployer.validate import validate

    cluster = load_cluster(root, cluster_name)
    [hub] = cluster.require_hubs([hub_name])
    runner = runner or Runner()
    outdir = check_outdir(root, Path(outdir), decrypt=decrypt, force=force, env=env, runner=runner)  # before any work
    layout = bundle_paths(cluster.dir, hub.values_files, decrypt=decrypt)  # refuses a name clash before any work
    if any(file.path == FACTS_PATH for file in layout):
        raise UsageError(
            f"{cluster.dir}/{hubfacts.FILE_NAME}: this name is the export's generated values file; rename the file"
        )
    # dependencies first: validation reads the dependency charts' schemas from the archives helm builds
    Dependencies(root, find_tool("helm", root, env), runner, env).ensure(hub.chart_path)
    problems = validate(root, [cluster.name], [hub.name], env=env, runner=runner)
    undecryptable = {p.path for p in problems if p.message.startswith("cannot decrypt")}
    blocking = [p for p in problems if not (p.path in undecryptable and not decrypt)]
    if blocking:
        raise ConfigError(blocking)
    charts = [path for path in build_order(root / hub.chart_path)]

    with writing(outdir):  # an OSError writing there (a full disk, ...) is a UsageError naming the path
        outdir.parent.mkdir(parents=True, exist_ok=True)
        # assembled in a private folder beside OUTDIR, removed on failure; renamed into place when complete
        with private_dir(prefix=f".{outdir.name}.", parent=outdir.parent) as staging:
            files, plain = _write(root, cluster, hub, charts, layout, staging, env=env, decrypt=decrypt, runner=runner)
            if outdir.exists():
                shutil.rmtree(outdir)
            os.replace(staging, outdir)
    return ExportResult(outdir, files, plain)


def _write(
    root: Path,
    cluster: ClusterConfig,
    hub: HubConfig,
    charts: list[Path],
    layout: list[BundleFile],
    out: Path,
    *,
    env: Mapping[str, str],
    decrypt: bool,
    runner: Runner,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    make_shared(out)
    written: list[str] = []
    for chart_dir in charts:
        shutil.copytree(
            chart_dir,
            out / "chart" / chart_dir.name,
            symlinks=False,
            ignore=shutil.ignore_patterns("tmpcharts*", "__pycache__"),
        )
        written.append(f"chart/{chart_dir.name}/")
    (out / "values").mkdir()
    ordered: list[tuple[str, bool]] = []
    plaintext_layers: list[tuple[str, object]] = []
    plain: list[str] = []
    facts = hubfacts.facts_text(hubfacts.HubFacts.of(cluster, hub), root / hub.chart_path)
    if facts is not None:
        (out / FACTS_PATH).write_text(facts)
        ordered.append((FACTS_PATH, False))
        plaintext_layers.append((FACTS_PATH, yamlio.loads(facts)))
    for file in layout:
        ordered.append((file.path, file.secret and not file.decrypt))
        target = out / file.path
        if target.exists():  # the same file listed twice: one copy, listed twice as helm would read it
            continue
        source = root / file.source
        target.parent.mkdir(parents=True, exist_ok=True)
        if file.decrypt:  # sops's output straight into the staging folder, 0600 from the first byte
            write_private(
                target, plaintext(source, display=file.source, env=env, root=root, runner=runner), exclusive=True
            )
            plain.append(file.path)
        else:
            shutil.copyfile(source, target)
            if not file.secret:
                plaintext_layers.append((file.path, yamlio.load(source)))
    written += list(dict.fromkeys(path for path, _ in ordered))
    (out / ".sops.yaml").write_text(SOPS_STUB)
    script = out / "deploy.sh"
    script.write_text(deploy_script(hub=hub.name, chart=hub.helm_chart, files=ordered))
    make_shared(script)
    (out / "README.md").write_text(
        readme(
            hub=hub.name,
            cluster=cluster.name,
            chart=hub.helm_chart,
            charts=[c.name for c in charts],
            files=ordered,
            decrypted=decrypt,
            domain=hub.domain,
            findings=infra_specific(plaintext_layers),
        )
    )
    written += [".sops.yaml", "deploy.sh", "README.md"]
    return tuple(written), tuple(plain)
