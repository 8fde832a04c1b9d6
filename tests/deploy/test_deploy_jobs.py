"""deployer.deploy.jobs.order_releases: which releases a deploy touches and in what order (pure)."""

from __future__ import annotations

import pytest

from deployer.config.model import ClusterConfig, HubConfig, KubeconfigSpec, SupportConfig
from deployer.deploy.jobs import order_releases
from deployer.errors import UsageError


def hub(name: str, canary: bool = False, chart: str = "basehub") -> HubConfig:
    return HubConfig(
        name=name,
        domain=f"{name}.example.org",
        helm_chart=chart,
        canary=canary,
        values_files=(f"config/clusters/c/{name}.values.yaml", f"config/clusters/c/enc-{name}.secret.values.yaml"),
    )


CLUSTER = ClusterConfig(
    name="c",
    provider="kubeconfig",
    spec=KubeconfigSpec(),
    dir="config/clusters/c",
    support=SupportConfig(values_files=("config/clusters/c/support.values.yaml",)),
    hubs=(hub("p1"), hub("s1", canary=True), hub("p2", chart="daskhub"), hub("s2", canary=True)),
)
NO_SUPPORT = ClusterConfig(
    name="n", provider="kubeconfig", spec=KubeconfigSpec(), dir="config/clusters/n", hubs=(hub("p1"),)
)


@pytest.mark.parametrize(
    ("hubs", "support", "expected"),
    [
        (None, None, ("support", ["s1", "s2"], ["p1", "p2"])),
        (None, False, (None, ["s1", "s2"], ["p1", "p2"])),
        (["p2", "s2"], None, (None, ["s2"], ["p2"])),
        (["p1"], True, ("support", [], ["p1"])),
        ((), True, ("support", [], [])),
        ((), None, (None, [], [])),
    ],
)
def test_plan(hubs, support, expected) -> None:
    order = order_releases(CLUSTER, hubs, support=support)
    got = (
        order.support.release if order.support else None,
        [j.release for j in order.canaries],
        [j.release for j in order.prod],
    )
    assert got == expected


def test_jobs_carry_chart_namespace_and_values_in_order() -> None:
    order = order_releases(CLUSTER)
    assert [j.release for j in order.jobs] == ["support", "s1", "s2", "p1", "p2"]
    support = order.support
    assert support is not None
    assert (support.kind, support.chart_path, support.namespace) == ("support", "helm-charts/support", "support")
    p2 = order.prod[1]
    assert (p2.kind, p2.chart_path, p2.namespace) == ("hub", "helm-charts/daskhub", "p2")
    assert p2.values_files == ("config/clusters/c/p2.values.yaml", "config/clusters/c/enc-p2.secret.values.yaml")
    assert p2.secret_files == ("config/clusters/c/enc-p2.secret.values.yaml",)
    assert order.charts() == ["helm-charts/support", "helm-charts/basehub", "helm-charts/daskhub"]


def test_unknown_hub_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        order_releases(CLUSTER, ["p1", "nope"])
    assert "'nope'" in str(info.value) and "p1, s1, p2, s2" in str(info.value)


def test_support_requested_where_none_is_configured() -> None:
    with pytest.raises(UsageError, match="no support chart"):
        order_releases(NO_SUPPORT, (), support=True)
    assert order_releases(NO_SUPPORT).support is None
