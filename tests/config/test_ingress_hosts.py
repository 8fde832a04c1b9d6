"""One source of truth for a hub's domain: cluster.yaml. `validate` refuses a values file naming another ingress
host, and the example fleet's rendered Ingresses serve exactly the domains cluster.yaml gives."""

from __future__ import annotations

import pytest
import yaml

from deployer import yamlio
from deployer.config.ingresshosts import stray_hosts
from helpers import PROJECT, demo_recipient, sops_encrypt

HUBS = [
    (c.parent.name, h["name"], h["domain"])
    for c in sorted(PROJECT.glob("config/clusters/*/cluster.yaml"))
    for h in yaml.safe_load(c.read_text()).get("hubs") or []
]
WITH_TLS = {("demo-gcp", "staging"), ("demo-gcp", "prod")}  # the example hubs served with TLS


def test_stray_hosts_names_each_other_host_with_its_key_path():
    values = {
        "jupyterhub": {
            "ingress": {
                "hosts": ["h.org", "other.org", 7],
                "tls": [{"hosts": ["H.ORG.", "tls.org"], "secretName": "s"}, "junk"],
            }
        }
    }
    assert stray_hosts(values, "h.org") == [
        (("jupyterhub", "ingress", "hosts", 1), "other.org"),
        (("jupyterhub", "ingress", "tls", 0, "hosts", 1), "tls.org"),
    ]
    assert stray_hosts({"basehub": values}, "h.org", ("basehub",))[0][0][:3] == ("basehub", "jupyterhub", "ingress")
    assert stray_hosts(values, "h.org", ("basehub",)) == []  # daskhub reads them only under basehub
    assert stray_hosts({"jupyterhub": {"ingress": {"tls": []}}}, "h.org") == []
    assert stray_hosts(None, "h.org") == []


H1_VALUES = """\
identity:
  displayName: Hub one
jupyterhub:
  ingress:
    enabled: true
    hosts: [h1.c1.example.org, old.example.org]
    tls:
      - hosts:
          - elsewhere.example.org
        secretName: x
"""


def test_validate_reports_a_host_other_than_the_domain(mini_repo, cli, demo_key_env):
    c1 = mini_repo / "config/clusters/c1"
    (c1 / "h1.values.yaml").write_text(H1_VALUES)
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    lines = [line for line in result.err.splitlines() if "ingress host" in line]
    assert lines == [
        "config/clusters/c1/h1.values.yaml:6: hub 'h1': jupyterhub.ingress.hosts[1]: ingress host 'old.example.org' "
        "is not the hub's domain 'h1.c1.example.org' (cluster.yaml): the deployer sets the ingress and TLS hosts "
        "from the domain, so remove this host from the values file, or change the hub's domain in cluster.yaml",
        "config/clusters/c1/h1.values.yaml:9: hub 'h1': jupyterhub.ingress.tls[0].hosts[0]: ingress host "
        "'elsewhere.example.org' is not the hub's domain 'h1.c1.example.org' (cluster.yaml): the deployer sets the "
        "ingress and TLS hosts from the domain, so remove this host from the values file, or change the hub's "
        "domain in cluster.yaml",
    ]

    (c1 / "h1.values.yaml").write_text(H1_VALUES.replace("old.", "h1.c1.").replace("elsewhere", "H1.c1"))
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 0, result.output  # the domain itself (in any case) is fine


def test_a_shared_file_is_reported_for_each_hub_it_contradicts(mini_repo, cli, demo_key_env):
    c1 = mini_repo / "config/clusters/c1"
    (c1 / "common.values.yaml").write_text("jupyterhub:\n  ingress:\n    hosts: [h1.c1.example.org]\n")
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2
    assert [line.split(": ingress host")[0] for line in result.err.splitlines() if "ingress host" in line] == [
        "config/clusters/c1/common.values.yaml:3: hub 'h2': jupyterhub.ingress.hosts[0]"
    ]


def test_encrypted_values_are_not_checked(mini_repo, cli, demo_key_env):
    secret = mini_repo / "config/clusters/c1/enc-h1.secret.values.yaml"
    secret.write_text("jupyterhub:\n  ingress:\n    hosts: [old.example.org]\n")
    sops_encrypt(secret, demo_recipient())
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 0, result.output


def test_the_example_fleet_no_longer_repeats_its_domains():
    for values in sorted(PROJECT.glob("config/clusters/*/*.values.yaml")):
        if values.name.startswith("enc-"):
            continue
        data = yamlio.load(values)
        for at in ((), ("basehub",)):
            assert stray_hosts(data, "", at) == [], values  # no ingress host at all: the domain comes from cluster.yaml


@pytest.mark.parametrize("cluster, hub, domain", HUBS, ids=[f"{c}-{h}" for c, h, _ in HUBS])
def test_each_example_hub_is_served_at_its_domain(cli, demo_key_env, cluster, hub, domain):
    result = cli("--repo", str(PROJECT), "template", cluster, hub, env=demo_key_env)
    assert result.code == 0, result.output
    [ingress] = [d for d in yaml.safe_load_all(result.out) if d and d.get("kind") == "Ingress"]
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [domain]
    expected_tls = [{"hosts": [domain], "secretName": "https-auto-tls"}] if (cluster, hub) in WITH_TLS else None
    assert ingress["spec"].get("tls") == expected_tls
