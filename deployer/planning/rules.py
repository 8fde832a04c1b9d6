"""From changed file paths to the releases they affect: the path rules and the decision, pure (no I/O).

``plan_rollout(fleet, changed, base=..., chart_dependents=...)`` returns a ``Rollout`` (``planning.legs``):
support legs (one per cluster), canary legs and prod legs (one hub per leg), and hubs removed since the base
revision. Every leg carries a human-readable reason. The caller (``planning.inputs``) loads the fleet (and the
base fleet, from git) and reads the charts' ``file://`` dependencies; the CLI writes the outputs; this module
only decides.

The rules, in the order they are tried (the first that matches a path decides; see ``PATH_RULES``):

=================================  ==============================================================
path                               affects
=================================  ==============================================================
``*.md`` anywhere                  nothing (documentation)
``scripts/install-tools``          everything (it pins the helm, kubectl and sops that deploy)
``tests/**``, ``benchmarks/**``,   nothing (cannot change what gets deployed)
``docs/**``, ``scripts/**``,
``.github/**``, ``.ci/**``
``deployer/testing/**``            nothing (the test toolkit)
``deployer/health/**``,            nothing (health-check code runs after a deploy)
``deployer/cli/health.py``
``deployer/**``, ``pyproject.toml``,  everything: support on every cluster, every hub
``schemas/**``
``helm-charts/support/**``         support on every cluster that has one
``helm-charts/X/**``               every hub whose chart is X or depends on X (``file://``, transitively)
``config/clusters/C/cluster.yaml`` with a base: the hubs whose entries changed, new hubs, support if its
                                   entry changed; everything of C if name/provider/provider block changed
                                   or C is new. Without a base: support and every hub of C
``config/clusters/C/<file>``       the hubs (and support) listing that file among their values files
anything else                      nothing (reported as unmatched)
=================================  ==============================================================

Canaries: whenever a prod hub of a cluster is planned, all of that cluster's canaries are planned too.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Mapping

from deployer.config.model import ClusterConfig, Fleet
from deployer.planning.legs import HubLeg, Removed, Rollout, SupportLeg

NOTHING, EVERYTHING, SUPPORT_CHART, CHART, CLUSTER_FILE, CLUSTER_DIR = (
    "nothing",
    "everything",
    "support-chart",
    "chart",
    "cluster-file",
    "cluster-dir",
)

# (glob, effect, why) - first match wins. fnmatch's "*" also matches "/".
PATH_RULES: tuple[tuple[str, str, str], ...] = (
    ("*.md", NOTHING, "documentation"),
    ("tests/*", NOTHING, "tests"),
    ("benchmarks/*", NOTHING, "benchmarks"),
    ("docs/*", NOTHING, "documentation"),
    ("scripts/install-tools", EVERYTHING, "pinned helm/kubectl/sops versions changed"),
    ("scripts/*", NOTHING, "developer scripts"),
    (".github/*", NOTHING, "CI workflows"),
    (".ci/*", NOTHING, "CI entry point"),
    ("deployer/testing/*", NOTHING, "the test toolkit"),
    ("deployer/health/*", NOTHING, "health-check code"),
    ("deployer/cli/health.py", NOTHING, "health-check code"),
    ("deployer/*", EVERYTHING, "deployer code changed"),
    ("pyproject.toml", EVERYTHING, "deployer packaging changed"),
    ("schemas/*", EVERYTHING, "config schema changed"),
    ("helm-charts/support/*", SUPPORT_CHART, "support chart changed"),
    ("helm-charts/*/*", CHART, "chart changed"),
    ("config/clusters/*/cluster.yaml", CLUSTER_FILE, "cluster.yaml changed"),
    ("config/clusters/*/*", CLUSTER_DIR, "values file changed"),
)


def classify(path: str) -> tuple[str, str]:
    """The (effect, why) of the first rule matching ``path``; ``("unmatched", ...)`` when none does."""
    for pattern, effect, why in PATH_RULES:
        if fnmatch.fnmatchcase(path, pattern):
            return effect, why
    return "unmatched", "no rule"


class _Whys:
    """The reasons of one release, in the order they were first given, without repeats. Stored as parts: single
    reasons and shared runs of reasons (one run object held by every release a run of changed paths affects), so
    that adding a run to N releases costs N, not N times its length."""

    __slots__ = ("count", "parts", "runs", "singles")

    def __init__(self) -> None:
        self.parts: list[tuple[str, ...]] = []
        self.count = 0
        self.singles: set[str] = set()
        self.runs: set[int] = set()  # ids of the shared runs in ``parts``

    def first(self, most: int) -> list[str]:
        shown: list[str] = []
        for part in self.parts:
            shown.extend(part[: most - len(shown)])
            if len(shown) >= most:
                break
        return shown


class _Reasons:
    """Collects why each release is planned: support per cluster, hubs per (cluster, hub).

    Every operation is linear in what it adds (planning 100,000 changed paths must stay fast): membership is
    checked in sets, never in lists, and a run of reasons shared by many releases is stored once.
    """

    def __init__(self) -> None:
        self.support: dict[str, _Whys] = {}
        self.hubs: dict[tuple[str, str], _Whys] = {}
        self._run_of: dict[str, tuple[str, ...]] = {}  # every reason added as part of a shared run -> that run
        self._given: set[str] = set()  # every reason added to any release

    def _has(self, whys: _Whys, why: str) -> bool:
        run = self._run_of.get(why)
        return why in whys.singles or (run is not None and id(run) in whys.runs)

    def _add(self, whys: _Whys, why: str) -> None:
        if not self._has(whys, why):
            whys.parts.append((why,))
            whys.singles.add(why)
            whys.count += 1
            self._given.add(why)

    def add_support(self, cluster: ClusterConfig, why: str) -> None:
        if cluster.support is not None:
            self._add(self.support.setdefault(cluster.name, _Whys()), why)

    def add_hub(self, cluster: str, hub: str, why: str) -> None:
        self._add(self.hubs.setdefault((cluster, hub), _Whys()), why)

    def add_all(self, cluster: ClusterConfig, why: str) -> None:
        self.add_support(cluster, why)
        for hub in cluster.hubs:
            self.add_hub(cluster.name, hub.name, why)

    def add_run(self, support: Iterable[ClusterConfig], hubs: Iterable[tuple[str, str]], run: list[str]) -> None:
        """The same as adding each reason of ``run``, in order, to the support of each cluster of ``support``
        and to each (cluster, hub) of ``hubs``."""
        if not run:
            return
        targets = [self.support.setdefault(c.name, _Whys()) for c in support if c.support is not None]
        targets += [self.hubs.setdefault(key, _Whys()) for key in hubs]
        targets = list({id(whys): whys for whys in targets}.values())  # a release named twice gets the run once
        shared = tuple(run)
        if len(set(shared)) != len(shared) or any(why in self._given for why in shared):
            for whys in targets:  # not new everywhere: add one by one (never the case for changed paths' reasons)
                for why in shared:
                    self._add(whys, why)
            return
        for whys in targets:
            whys.parts.append(shared)
            whys.runs.add(id(shared))
            whys.count += len(shared)
        self._given.update(shared)
        for why in shared:
            self._run_of[why] = shared


def plan_rollout(
    fleet: Fleet,
    changed: Iterable[str],
    *,
    base: Mapping[str, ClusterConfig | None] | None = None,
    chart_dependents: Mapping[str, frozenset[str]] | None = None,
    force: str | None = None,
) -> Rollout:
    """Decide what to deploy.

    ``base``: the clusters as they were at the base revision (name -> config, None when unreadable there);
    None when no base was given. ``chart_dependents``: chart -> the charts that use it through ``file://``,
    transitively (e.g. ``{"basehub": {"daskhub"}}``). ``force``: ``support``, ``hubs`` or ``all``.
    """
    dependents = chart_dependents or {}
    reasons = _Reasons()
    unmatched: list[str] = []
    clusters = {c.name: c for c in fleet.clusters}
    users_of: dict[str, list[tuple[ClusterConfig, str | None]]] = defaultdict(list)  # file -> (cluster, hub|None)
    for cluster in fleet.clusters:
        for path in cluster.support.values_files if cluster.support else ():
            users_of[path].append((cluster, None))
        for hub in cluster.hubs:
            for path in hub.values_files:
                users_of[path].append((cluster, hub.name))

    if force in ("support", "all"):
        for cluster in fleet.clusters:
            reasons.add_support(cluster, f"--force {force}")
    if force in ("hubs", "all"):
        for cluster in fleet.clusters:
            for hub in cluster.hubs:
                reasons.add_hub(cluster.name, hub.name, f"--force {force}")

    # Paths are taken in sorted order, so the files of one chart (a common prefix) are consecutive: each run of
    # consecutive paths with the same wide effect is added to every release it affects at once (``add_run``).
    run_key: tuple[str, str] | None = None
    run: list[tuple[str, str]] = []  # (path, why) of the current run

    def flush() -> None:
        if run_key is not None and run:
            _add_run(fleet, reasons, run_key, run, dependents)
        run.clear()

    for path in sorted(set(changed)):
        effect, why = classify(path)
        if effect in (EVERYTHING, SUPPORT_CHART, CHART):
            key = (effect, path.split("/")[1] if effect == CHART else "")
            if key != run_key:
                flush()
                run_key = key
            run.append((path, why))
            continue
        if effect in (CLUSTER_FILE, CLUSTER_DIR):
            flush()
            run_key = None
        if effect == CLUSTER_FILE:
            name = path.split("/")[2]
            if name in clusters:
                _cluster_file_changed(clusters[name], path, base, reasons)
            else:
                unmatched.append(path)  # a cluster that no longer exists: see ``removed``
        elif effect == CLUSTER_DIR and path in users_of:
            for cluster, hub_name in users_of[path]:
                why = f"{path} changed (values file)"
                if hub_name is None:
                    reasons.add_support(cluster, why)
                else:
                    reasons.add_hub(cluster.name, hub_name, why)
        elif effect != NOTHING:
            unmatched.append(path)  # no rule, or a file in a cluster folder that no release lists
    flush()

    _canaries_first(fleet, reasons)
    return Rollout(
        support=tuple(
            SupportLeg(name, clusters[name].provider, _join(reasons.support[name])) for name in sorted(reasons.support)
        ),
        canary=_legs(fleet, reasons, canary=True),
        prod=_legs(fleet, reasons, canary=False),
        removed=_removed(fleet, base),
        unmatched=tuple(unmatched),
    )


def _add_run(
    fleet: Fleet,
    reasons: _Reasons,
    key: tuple[str, str],
    run: list[tuple[str, str]],
    dependents: Mapping[str, frozenset[str]],
) -> None:
    """Add the reasons of a run of consecutive changed paths with the same effect (``key``: effect, chart)."""
    effect, chart = key
    if effect == EVERYTHING:
        hubs = [(c.name, h.name) for c in fleet.clusters for h in c.hubs]
        reasons.add_run(fleet.clusters, hubs, [f"{path} changed ({why})" for path, why in run])
    elif effect == SUPPORT_CHART:
        reasons.add_run(fleet.clusters, [], [f"{path} changed (support chart)" for path, _ in run])
    else:
        affected = {chart} | set(dependents.get(chart, ()))
        users: dict[str, list[tuple[str, str]]] = defaultdict(list)  # chart in affected -> hubs using it
        for cluster in fleet.clusters:
            for hub in cluster.hubs:
                if hub.helm_chart in affected:
                    users[hub.helm_chart].append((cluster.name, hub.name))
        for used, hubs in users.items():
            via = "" if used == chart else f", used by {used}"
            reasons.add_run([], hubs, [f"{path} changed (chart {chart}{via})" for path, _ in run])


def _cluster_file_changed(
    cluster: ClusterConfig, path: str, base: Mapping[str, ClusterConfig | None] | None, reasons: _Reasons
) -> None:
    if base is None:
        reasons.add_all(cluster, f"{path} changed")
        return
    before = base.get(cluster.name)
    if before is None:
        reasons.add_all(cluster, f"{path} is new or was unreadable at the base revision")
        return
    if (before.provider, before.spec) != (cluster.provider, cluster.spec):
        reasons.add_all(cluster, f"{path}: provider settings changed")
        return
    if before.support != cluster.support:
        reasons.add_support(cluster, f"{path}: support entry changed")
    for hub in cluster.hubs:
        old = before.hub(hub.name)
        if old is None:
            reasons.add_hub(cluster.name, hub.name, f"{path}: new hub")
        elif old != hub:
            reasons.add_hub(cluster.name, hub.name, f"{path}: hub entry changed")


def _canaries_first(fleet: Fleet, reasons: _Reasons) -> None:
    for cluster in fleet.clusters:
        prod = [h.name for h in cluster.prod_hubs if (cluster.name, h.name) in reasons.hubs]
        if not prod:
            continue
        for canary in cluster.canaries:
            reasons.add_hub(cluster.name, canary.name, f"canary for {', '.join(prod)}")


def _legs(fleet: Fleet, reasons: _Reasons, *, canary: bool) -> tuple[HubLeg, ...]:
    legs = []
    for cluster in sorted(fleet.clusters, key=lambda c: c.name):
        for hub in sorted(cluster.hubs, key=lambda h: h.name):
            whys = reasons.hubs.get((cluster.name, hub.name))
            if whys and hub.canary == canary:
                legs.append(HubLeg(cluster.name, cluster.provider, (hub.name,), _join(whys)))
    return tuple(legs)


def _removed(fleet: Fleet, base: Mapping[str, ClusterConfig | None] | None) -> tuple[Removed, ...]:
    if base is None:
        return ()
    now = {c.name: c for c in fleet.clusters}
    gone = []
    for name, before in sorted(base.items()):
        if before is None:
            continue
        for hub in before.hubs:
            if name not in now or now[name].hub(hub.name) is None:
                gone.append(Removed(name, hub.name))
    return tuple(sorted(gone, key=lambda r: (r.cluster, r.hub)))


def _join(whys: _Whys, most: int = 3) -> str:
    shown = "; ".join(whys.first(most))
    return shown + (f"; and {whys.count - most} more" if whys.count > most else "")
