"""``plan_hub``: a new hub's files, computed and checked before anything is written.

- cluster.yaml: the hub's entry appended to ``hubs`` with a round-trip edit (``yamlio.round_trip``: comments, key
  order, quoting and layout kept; only the new lines differ).
- ``<hub>.values.yaml``: who the hub is (``identity``) and its ingress host, as the example fleet's hubs have them
  (under ``basehub:`` for a daskhub).
- ``enc-<hub>.secret.values.yaml``: sops-encrypted per the repository's ``.sops.yaml`` (``secrets.encrypt``),
  holding a generated token (``secrets.token_hex(32)``) for the JupyterHub service ``deployer-health-check``
  basehub registers: the JupyterHub chart stores it in the Secret ``hub``, where the health check reads it
  (``deployer.health.target``).

Refused (``UsageError``/``ConfigError``, exit 2) before anything is written: an unknown cluster (with "did you
mean"), a cluster.yaml with problems, a hub name already in the cluster, a name or domain the schema refuses (the
candidate cluster.yaml is checked with it), a domain already used in the fleet (validate's own check), files that
exist, and a secret sops cannot encrypt.
"""

from __future__ import annotations

import copy
import difflib
import secrets as random_tokens
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.config.load import check_cluster_data, cluster_names, read_cluster
from deployer.errors import ConfigError, Problem, UsageError
from deployer.new.files import NewFile, refuse_existing
from deployer.repo import CLUSTERS_DIR
from deployer.run import Runner
from deployer.secrets import encrypt
from deployer.userfiles import MAX_CLUSTER_FILE
from deployer.validate import duplicate_domains

CHARTS = ("basehub", "daskhub")
HEALTH_TOKEN_KEYS = ("jupyterhub", "hub", "services", "deployer-health-check", "apiToken")  # under basehub's values


def hub_entry(hub: str, domain: str, chart: str, canary: bool) -> dict[str, Any]:
    """The hub's cluster.yaml entry (its own values file, then its secret one)."""
    entry: dict[str, Any] = {"name": hub, "domain": domain, "helm_chart": chart}
    if canary:
        entry["canary"] = True
    entry["helm_chart_values_files"] = [f"{hub}.values.yaml", f"enc-{hub}.secret.values.yaml"]
    return entry


def _under_chart(chart: str, values: dict[str, Any]) -> dict[str, Any]:
    """basehub's ``values`` where ``chart`` takes them (a daskhub nests them under ``basehub:``)."""
    return {"basehub": values} if chart == "daskhub" else values


def values_text(cluster: str, hub: str, domain: str, chart: str) -> str:
    values = {
        "identity": {"cluster": cluster, "displayName": hub},
        "jupyterhub": {"ingress": {"enabled": True}},  # its host and TLS come from the domain (deployer.hubfacts)
    }
    return (
        f"# Values of hub {hub} (cluster {cluster}), made by `deployer new hub`; helm-charts/{chart}/values.yaml "
        "lists the rest.\n" + yamlio.dumps(_under_chart(chart, values))
    )


def secret_text(chart: str, token: str) -> str:
    """The plaintext of the secret values file: ``token`` for the health check's JupyterHub service."""
    values: dict[str, Any] = {HEALTH_TOKEN_KEYS[-1]: token}
    for key in reversed(HEALTH_TOKEN_KEYS[:-1]):
        values = {key: values}
    return (
        "# apiToken: the token of the JupyterHub service deployer-health-check (the post-deploy health check).\n"
        + yamlio.dumps(_under_chart(chart, values))
    )


def require_cluster(root: Path, name: str) -> None:
    """``UsageError`` for a cluster that is not in the fleet, with "did you mean" for a near miss."""
    known = cluster_names(root)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known_text = ", ".join(known) or "(none)"
        raise UsageError(f"{CLUSTERS_DIR.as_posix()}/: no cluster named '{name}'{hint}; known clusters: {known_text}")


def plan_hub(
    root: Path,
    cluster: str,
    hub: str,
    domain: str,
    *,
    chart: str = "basehub",
    canary: bool = False,
    env: Mapping[str, str],
    runner: Runner | None = None,
) -> list[NewFile]:
    """The files that add ``hub`` to ``cluster`` (see the module docstring); nothing is written here."""
    if chart not in CHARTS:
        raise UsageError(f"--chart must be one of {', '.join(CHARTS)}")
    require_cluster(root, cluster)
    read = read_cluster(root, cluster)
    if read.problems or read.config is None:
        raise ConfigError(read.problems)
    config = read.config
    if config.hub(hub) is not None:
        raise UsageError(f"{config.file}: cluster '{cluster}' already has a hub named '{hub}': choose another name")

    candidate = copy.deepcopy(read.raw)
    entry = hub_entry(hub, domain, chart, canary)
    candidate["hubs"] = [*(candidate.get("hubs") or []), entry]
    checked = check_cluster_data(root, cluster, candidate)
    if checked.problems:
        reasons = "; ".join(_as_argument(p.message) for p in checked.problems)
        raise UsageError(f"{config.file}: cannot add hub '{hub}': {reasons}")
    _refuse_used_domain(root, cluster, hub, checked, config.file)

    cdir = config.dir
    values_rel, secret_rel = (f"{cdir}/{name}" for name in entry["helm_chart_values_files"])
    cluster_yaml = _appended(root / config.file, entry)
    refuse_existing(root, [NewFile(values_rel, b""), NewFile(secret_rel, b"")])
    clear = secret_text(chart, random_tokens.token_hex(32)).encode()
    return [
        NewFile(values_rel, values_text(cluster, hub, domain, chart).encode()),
        NewFile(secret_rel, encrypt(clear, as_path=secret_rel, root=root, env=env, runner=runner)),
        NewFile(config.file, cluster_yaml.encode(), replaces=True),
    ]


def _refuse_used_domain(root: Path, cluster: str, hub: str, checked: Any, file: str) -> None:
    """validate's duplicate-domain check on the fleet with the candidate entry: refuse what the entry adds."""
    reads = {name: read_cluster(root, name) for name in cluster_names(root)}
    before = set(duplicate_domains(root, reads, {cluster}))
    after = duplicate_domains(root, {**reads, cluster: checked}, {cluster})
    added: list[Problem] = [p for p in after if p not in before]
    if not added:
        return
    problem, own = added[0], f"hub '{hub}': "
    if problem.path == file and problem.message.startswith(own):
        text = problem.message[len(own) :]
    else:  # the other hub's entry comes later in the fleet: the check reports it there
        other = problem.message.partition(": ")[0]
        text = f"its domain is already used by {other} ({problem.path}:{problem.line}): each hub needs its own domain"
    raise UsageError(f"{file}: cannot add hub '{hub}': {text}; choose another --domain")


def _as_argument(message: str) -> str:
    """A schema message about the candidate entry (``hub 'x' (hubs[3]): domain: ...``) worded with the CLI's names."""
    _, _, tail = message.partition("): ")
    field, _, why = tail.partition(": ")
    argument = {"name": "HUB", "domain": "--domain"}.get(field)
    return f"{argument}: {why}" if argument and why else message


def _appended(path: Path, entry: dict[str, Any]) -> str:
    """cluster.yaml's text with ``entry`` appended to ``hubs`` (a round-trip edit: the rest stays as written)."""
    try:
        edit = yamlio.round_trip(path, most=MAX_CLUSTER_FILE)
    except yamlio.YamlError as exc:  # read_cluster parsed it a moment ago: only a concurrent edit gets here
        raise UsageError(f"{path.name}: {exc.message}") from None
    edit.append("hubs", entry)
    return edit.dumps()
