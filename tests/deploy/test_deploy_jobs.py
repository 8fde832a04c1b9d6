"""deployer.deploy.jobs.plan_jobs: which releases a deploy touches and in what order (pure)."""

from __future__ import annotations

import pytest

from deployer.config.model import ClusterConfig, HubConfig, KubeconfigSpec, SupportConfig
from deployer.deploy.jobs import is_secret_file, plan_jobs
from deployer.errors import UsageError


def hub(name: str, canary: bool = False, chart: str = "basehub") -> HubConfig:
    return HubConfig(name=name, domain=f"{name}.example.org", helm_chart=chart, canary=canary,
                     values_files=(f"config/clusters/c/{name}.values.yaml", f"config/clusters/c/enc-{name}.secret.values.yaml"))


CLUSTER = ClusterConfig(
    name="c", provider="kubeconfig", spec=KubeconfigSpec(), dir="config/clusters/c",
    support=SupportConfig(values_files=("config/clusters/c/support.values.yaml",)),
    hubs=(hub("p1"), hub("s1", canary=True), hub("p2", chart="daskhub"), hub("s2", canary=True)),
)
NO_SUPPORT = ClusterConfig(name="n", provider="kubeconfig", spec=KubeconfigSpec(), dir="config/clusters/n",
                           hubs=(hub("p1"),))


@pytest.mark.parametrize(("hubs", "support", "expected"), [
    (None, None, ("support", ["s1", "s2"], ["p1", "p2"])),
    (None, False, (None, ["s1", "s2"], ["p1", "p2"])),
    (["p2", "s2"], None, (None, ["s2"], ["p2"])),
    (["p1"], True, ("support", [], ["p1"])),
    ((), True, ("support", [], [])),
    ((), None, (None, [], [])),
])
def test_plan(hubs, support, expected) -> None:
    plan = plan_jobs(CLUSTER, hubs, support=support)
    got = (plan.support.release if plan.support else None, [j.release for j in plan.canaries],
           [j.release for j in plan.prod])
    assert got == expected


def test_jobs_carry_chart_namespace_and_values_in_order() -> None:
    plan = plan_jobs(CLUSTER)
    assert [j.release for j in plan.jobs] == ["support", "s1", "s2", "p1", "p2"]
    support = plan.support
    assert (support.kind, support.chart, support.namespace) == ("support", "helm-charts/support", "support")
    p2 = plan.prod[1]
    assert (p2.kind, p2.chart, p2.namespace) == ("hub", "helm-charts/daskhub", "p2")
    assert p2.values_files == ("config/clusters/c/p2.values.yaml", "config/clusters/c/enc-p2.secret.values.yaml")
    assert p2.secret_files == ("config/clusters/c/enc-p2.secret.values.yaml",)
    assert plan.charts() == ["helm-charts/support", "helm-charts/basehub", "helm-charts/daskhub"]


def test_unknown_hub_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        plan_jobs(CLUSTER, ["p1", "nope"])
    assert "'nope'" in str(info.value) and "p1, s1, p2, s2" in str(info.value)


def test_support_requested_where_none_is_configured() -> None:
    with pytest.raises(UsageError, match="no support chart"):
        plan_jobs(NO_SUPPORT, (), support=True)
    assert plan_jobs(NO_SUPPORT).support is None


@pytest.mark.parametrize(("path", "secret"), [
    ("config/clusters/c/enc-x.secret.values.yaml", True), ("config/clusters/c/x.values.yaml", False),
    ("config/clusters/enc-dir/x.values.yaml", False),
])
def test_secret_files_are_the_enc_ones(path, secret) -> None:
    assert is_secret_file(path) is secret
