"""The plan: every path rule, canaries first, base comparisons, removals, folding, determinism.
Table-driven over tiny in-memory fleets; no files, no git."""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from pathlib import Path

import pytest

from deployer.config.model import ClusterConfig, Fleet, GcpSpec, HubConfig, KubeconfigSpec, SupportConfig
from deployer.planning.legs import HubLeg, fold_legs
from deployer.planning.rules import PATH_RULES, plan_rollout

DEPS = {"basehub": frozenset({"daskhub"})}


def hub(cluster: str, name: str, *files: str, chart: str = "basehub", canary: bool = False) -> HubConfig:
    d = f"config/clusters/{cluster}"
    return HubConfig(
        name=name,
        domain=f"{name}.{cluster}.org",
        helm_chart=chart,
        canary=canary,
        values_files=tuple(f"{d}/{f}" for f in files),
    )


def cluster(name: str, *hubs: HubConfig, support: bool = True, provider: str = "kubeconfig") -> ClusterConfig:
    spec = KubeconfigSpec() if provider == "kubeconfig" else GcpSpec("proj-12345", "us-central1", name)
    d = f"config/clusters/{name}"
    return ClusterConfig(
        name=name,
        provider=provider,
        spec=spec,
        dir=d,
        support=SupportConfig((f"{d}/support.values.yaml",)) if support else None,
        hubs=hubs,
    )


A = cluster(
    "a",
    hub("a", "staging", "common.values.yaml", "staging.values.yaml", canary=True),
    hub("a", "prod", "common.values.yaml", "prod.values.yaml"),
    hub("a", "dask", "dask.values.yaml", chart="daskhub"),
)
AEU = cluster("a-eu", hub("a-eu", "main", "main.values.yaml"), support=False)
B = cluster("b", hub("b", "canary", "c.values.yaml", canary=True), hub("b", "x", "x.values.yaml"), provider="gcp")
FLEET = Fleet(root=Path("."), clusters=(A, AEU, B))


def summary(plan) -> dict:
    return {
        "support": [s.cluster for s in plan.support],
        "canary": [f"{leg.cluster}/{'+'.join(leg.hubs)}" for leg in plan.canary],
        "prod": [f"{leg.cluster}/{'+'.join(leg.hubs)}" for leg in plan.prod],
    }


ALL = {"support": ["a", "b"], "canary": ["a/staging", "b/canary"], "prod": ["a/dask", "a/prod", "a-eu/main", "b/x"]}
NONE: dict[str, list[str]] = {"support": [], "canary": [], "prod": []}


@pytest.mark.parametrize(
    "path, expected",
    [
        # rule 1: a values file -> the hubs listing it (shared -> all of them), with their cluster's canaries
        ("config/clusters/a/prod.values.yaml", {"support": [], "canary": ["a/staging"], "prod": ["a/prod"]}),
        ("config/clusters/a/common.values.yaml", {"support": [], "canary": ["a/staging"], "prod": ["a/prod"]}),
        ("config/clusters/a/staging.values.yaml", {"support": [], "canary": ["a/staging"], "prod": []}),
        # rule 2: a support values file -> that cluster's support
        ("config/clusters/a/support.values.yaml", {"support": ["a"], "canary": [], "prod": []}),
        # rule 3 without a base: support and every hub of the cluster
        ("config/clusters/b/cluster.yaml", {"support": ["b"], "canary": ["b/canary"], "prod": ["b/x"]}),
        # rule 4: a chart -> hubs using it, directly or through file:// (daskhub uses basehub)
        ("helm-charts/daskhub/values.yaml", {"support": [], "canary": ["a/staging"], "prod": ["a/dask"]}),
        (
            "helm-charts/basehub/templates/x.yaml",
            {"support": [], "canary": ["a/staging", "b/canary"], "prod": ["a/dask", "a/prod", "a-eu/main", "b/x"]},
        ),
        ("helm-charts/support/Chart.yaml", {"support": ["a", "b"], "canary": [], "prod": []}),
        # rule 5: deployer code -> everything; things that cannot change a deploy -> nothing
        ("deployer/helm.py", ALL),
        ("pyproject.toml", ALL),
        ("scripts/install-tools", ALL),
        ("schemas/cluster.schema.json", ALL),
        ("README.md", NONE),
        ("helm-charts/basehub/README.md", NONE),
        ("tests/test_plan.py", NONE),
        ("benchmarks/bench_plan.py", NONE),
        ("docs/index.rst", NONE),
        ("deployer/testing/kubeapi/server.py", NONE),
        ("deployer/health/check.py", NONE),
        ("deployer/cli/health.py", NONE),
        (".github/workflows/deploy-hubs.yaml", NONE),
        (".ci/run", NONE),
        ("scripts/demo", NONE),
        # rule 8: no rule, or a file no release lists -> nothing
        ("somewhere/else.txt", NONE),
        ("config/clusters/a/unused.values.yaml", NONE),
        ("config/clusters/gone/cluster.yaml", NONE),
    ],
)
def test_each_path_rule(path, expected):
    assert summary(plan_rollout(FLEET, [path], chart_dependents=DEPS)) == expected


def untested_rules(paths: list[str]) -> set[str]:
    """The patterns of PATH_RULES that decide none of ``paths`` (the first rule matching a path decides)."""
    deciding = {next((pattern for pattern, _, _ in PATH_RULES if fnmatch.fnmatchcase(p, pattern)), None) for p in paths}
    return {pattern for pattern, _, _ in PATH_RULES} - deciding


TESTED_PATHS = [p for p, _ in test_each_path_rule.pytestmark[0].args[1]]


def test_every_rule_of_the_table_is_exercised():
    patterns = [pattern for pattern, _, _ in PATH_RULES]
    assert len(set(patterns)) == len(patterns)  # a pattern names its rule
    assert untested_rules(TESTED_PATHS) == set()


def test_a_rule_without_a_tested_path_is_found():
    # "deployer/cli/health.py" shares its `why` ("health-check code") with "deployer/health/*": keyed on the
    # pattern, dropping its only path shows it untested
    assert untested_rules([p for p in TESTED_PATHS if p != "deployer/cli/health.py"]) == {"deployer/cli/health.py"}


def test_unmatched_paths_are_reported():
    plan = plan_rollout(FLEET, ["somewhere/else.txt", "config/clusters/a/unused.values.yaml", "README.md"])
    assert plan.unmatched == ("config/clusters/a/unused.values.yaml", "somewhere/else.txt")


def test_reasons_say_why():
    plan = plan_rollout(FLEET, ["config/clusters/a/prod.values.yaml"])
    assert plan.prod[0].reason == "config/clusters/a/prod.values.yaml changed (values file)"
    assert plan.canary[0].reason == "canary for prod"
    assert all(leg.reason for leg in plan.canary + plan.prod)


def test_canaries_come_with_any_prod_hub_of_their_cluster_only():
    plan = plan_rollout(FLEET, ["config/clusters/b/x.values.yaml"])
    assert summary(plan) == {"support": [], "canary": ["b/canary"], "prod": ["b/x"]}
    no_canary = plan_rollout(FLEET, ["config/clusters/a-eu/main.values.yaml"])
    assert summary(no_canary) == {"support": [], "canary": [], "prod": ["a-eu/main"]}


def test_a_cluster_without_support_gets_no_support_leg():
    assert [s.cluster for s in plan_rollout(FLEET, ["deployer/x.py"]).support] == ["a", "b"]


@pytest.mark.parametrize(
    "force, expected",
    [
        ("support", {"support": ["a", "b"], "canary": [], "prod": []}),
        (
            "hubs",
            {"support": [], "canary": ["a/staging", "b/canary"], "prod": ["a/dask", "a/prod", "a-eu/main", "b/x"]},
        ),
        ("all", ALL),
    ],
)
def test_force(force, expected):
    assert summary(plan_rollout(FLEET, [], force=force, chart_dependents=DEPS)) == expected


BASE = {"a": A, "a-eu": AEU, "b": B}


def with_cluster(fleet: Fleet, new: ClusterConfig) -> Fleet:
    return Fleet(fleet.root, tuple(new if c.name == new.name else c for c in fleet.clusters))


def test_base_cluster_yaml_unchanged_entries_plan_nothing():
    assert summary(plan_rollout(FLEET, ["config/clusters/a/cluster.yaml"], base=BASE)) == NONE


def test_base_changed_hub_entry_plans_that_hub_and_its_canaries():
    changed = replace(A, hubs=(A.hubs[0], replace(A.hubs[1], domain="new.a.org"), A.hubs[2]))
    plan = plan_rollout(with_cluster(FLEET, changed), ["config/clusters/a/cluster.yaml"], base=BASE)
    assert summary(plan) == {"support": [], "canary": ["a/staging"], "prod": ["a/prod"]}
    assert plan.prod[0].reason == "config/clusters/a/cluster.yaml: hub entry changed"


def test_base_new_hub_and_removed_hub():
    changed = replace(A, hubs=(A.hubs[0], A.hubs[1], hub("a", "fresh", "fresh.values.yaml")))
    plan = plan_rollout(with_cluster(FLEET, changed), ["config/clusters/a/cluster.yaml"], base=BASE)
    assert summary(plan) == {"support": [], "canary": ["a/staging"], "prod": ["a/fresh"]}
    assert [(r.cluster, r.hub) for r in plan.removed] == [("a", "dask")]


def test_base_support_entry_change_plans_support_only():
    files = ("config/clusters/a/support.values.yaml", "config/clusters/a/more.yaml")
    changed = replace(A, support=SupportConfig(files))
    plan = plan_rollout(with_cluster(FLEET, changed), ["config/clusters/a/cluster.yaml"], base=BASE)
    assert summary(plan) == {"support": ["a"], "canary": [], "prod": []}


@pytest.mark.parametrize(
    "change",
    [
        lambda c: replace(c, provider="gcp", spec=GcpSpec("proj-12345", "us-central1", "a")),
        lambda c: replace(c, spec=KubeconfigSpec(context="other")),
    ],
)
def test_base_provider_change_plans_the_whole_cluster(change):
    plan = plan_rollout(with_cluster(FLEET, change(A)), ["config/clusters/a/cluster.yaml"], base=BASE)
    assert summary(plan) == {"support": ["a"], "canary": ["a/staging"], "prod": ["a/dask", "a/prod"]}


def test_base_new_or_unreadable_cluster_plans_all_of_it():
    for base in ({"a-eu": AEU, "b": B}, {**BASE, "a": None}):
        plan = plan_rollout(FLEET, ["config/clusters/a/cluster.yaml"], base=base)
        assert summary(plan) == {"support": ["a"], "canary": ["a/staging"], "prod": ["a/dask", "a/prod"]}


def test_removed_cluster_lists_all_its_hubs():
    plan = plan_rollout(Fleet(Path("."), (A, AEU)), ["config/clusters/b/cluster.yaml"], base=BASE)
    assert [(r.cluster, r.hub) for r in plan.removed] == [("b", "canary"), ("b", "x")]
    assert summary(plan) == NONE


def test_output_is_deterministic_whatever_the_input_order():
    paths = [
        "config/clusters/b/x.values.yaml",
        "helm-charts/daskhub/a.yaml",
        "config/clusters/a/prod.values.yaml",
        "README.md",
        "config/clusters/a/support.values.yaml",
    ]
    shuffled = Fleet(Path("."), (B, A, AEU))
    one = plan_rollout(FLEET, paths, chart_dependents=DEPS).to_json()
    two = plan_rollout(shuffled, list(reversed(paths)), chart_dependents=DEPS).to_json()
    assert one == two
    assert [leg["cluster"] for leg in one["prod"]] == sorted(leg["cluster"] for leg in one["prod"])


def legs(spec: dict[str, int]) -> tuple[HubLeg, ...]:
    return tuple(HubLeg(c, "gcp", (f"h{i:02d}",), f"r{i}") for c, n in spec.items() for i in range(n))


@pytest.mark.parametrize(
    "spec, limit, sizes",
    [
        ({"a": 3, "b": 2}, 5, {"a": [1, 1, 1], "b": [1, 1]}),  # fits: one hub per leg
        ({"a": 6, "b": 2}, 4, {"a": [3, 3], "b": [1, 1]}),  # the widest cluster folds first
        ({"a": 5, "b": 5, "c": 1}, 3, {"a": [5], "b": [5], "c": [1]}),
        ({"a": 7}, 3, {"a": [3, 2, 2]}),
    ],
)
def test_folding_groups_hubs_of_one_cluster(spec, limit, sizes):
    folded = fold_legs(legs(spec), limit)
    assert len(folded) <= limit
    got: dict[str, list[int]] = {}
    for leg in folded:
        got.setdefault(leg.cluster, []).append(len(leg.hubs))
    assert got == sizes
    hubs = sorted((leg.cluster, h) for leg in folded for h in leg.hubs)
    assert hubs == sorted((leg.cluster, leg.hubs[0]) for leg in legs(spec))  # nothing lost or duplicated


def test_folding_cannot_mix_clusters():
    with pytest.raises(ValueError, match="3 clusters"):
        fold_legs(legs({"a": 1, "b": 1, "c": 1}), 2)


def test_reasons_of_many_changed_paths_keep_their_order_count_and_no_repeats():
    # Planning keeps each release's reasons in sets and shares runs of them (100,000 changed paths must plan in
    # well under 2 s: benchmarks/bench_plan.py --paths 100000); the reasons shown must be exactly what they were.
    fleet = Fleet(
        root=Path("."),
        clusters=(
            cluster("c", hub("c", "staging", canary=True), hub("c", "p1"), hub("c", "p2", chart="daskhub")),
            cluster("d", hub("d", "p1", chart="other")),
        ),
    )
    chart_files = [f"helm-charts/basehub/templates/f{i:05}.yaml" for i in range(20_000)]
    changed = [*reversed(chart_files), "deployer/a.py", "deployer/b.py", "helm-charts/support/x", *chart_files]
    plan = plan_rollout(fleet, changed, chart_dependents={"basehub": frozenset({"daskhub"})}, force="all")
    reasons = {f"{leg.cluster}/{leg.hubs[0]}": leg.reason for leg in plan.canary + plan.prod}
    assert reasons["c/staging"] == (
        "--force all; deployer/a.py changed (deployer code changed); deployer/b.py changed (deployer code changed);"
        " and 20001 more"
    )
    assert (
        reasons["c/p1"]
        == reasons["c/p2"]
        == (
            "--force all; deployer/a.py changed (deployer code changed); deployer/b.py changed (deployer code changed);"
            " and 20000 more"
        )
    )
    assert reasons["d/p1"] == (
        "--force all; deployer/a.py changed (deployer code changed); deployer/b.py changed (deployer code changed)"
    )
    assert [leg.reason for leg in plan.support] == [
        "--force all; deployer/a.py changed (deployer code changed); deployer/b.py changed (deployer code changed);"
        " and 1 more"
    ] * 2
    only_charts = plan_rollout(fleet, chart_files[:4], chart_dependents={"basehub": frozenset({"daskhub"})})
    assert {f"{leg.cluster}/{leg.hubs[0]}": leg.reason for leg in only_charts.prod} == {
        "c/p1": "; ".join(f"{p} changed (chart basehub)" for p in chart_files[:3]) + "; and 1 more",
        "c/p2": "; ".join(f"{p} changed (chart basehub, used by daskhub)" for p in chart_files[:3]) + "; and 1 more",
    }
