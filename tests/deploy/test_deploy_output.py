"""What deploys show: the report (JSON, table, markdown), the progress lines, and the dry run's access commands
for every provider (pure; no cluster)."""

from __future__ import annotations

import io
import json

import pytest

from deployer.config.model import AwsSpec, AzureSpec, ClusterConfig, GcpSpec, KubeconfigSpec
from deployer.deploy.engine import DONE, STARTED, Event
from deployer.deploy.jobs import Job
from deployer.deploy.report import ReleaseResult, Report
from deployer.deploy.script import Raw, access_lines, shell_join

REPORT = Report("c1", [
    ReleaseResult("support", "support", "deployed", 4, 1.234),
    ReleaseResult("staging", "hub", "failed", 2, 30.5, "Error: UPGRADE FAILED: timed out\nmore"),
    ReleaseResult("prod", "hub", "skipped", None, 0.0, "not deployed because canary 'staging' failed"),
], seconds=33.0)


def test_report_json_is_exactly_the_gates_format() -> None:
    data = json.loads(REPORT.to_json())
    assert data == {"cluster": "c1", "results": [
        {"release": "support", "kind": "support", "status": "deployed", "revision": 4, "seconds": 1.23, "error": None},
        {"release": "staging", "kind": "hub", "status": "failed", "revision": 2, "seconds": 30.5,
         "error": "Error: UPGRADE FAILED: timed out\nmore"},
        {"release": "prod", "kind": "hub", "status": "skipped", "revision": None, "seconds": 0.0,
         "error": "not deployed because canary 'staging' failed"},
    ]}
    assert not REPORT.ok and REPORT.failure() is not None and REPORT.failure().exit_code == 1
    assert Report("c1", [REPORT.results[0]]).failure() is None


def test_table_and_markdown() -> None:
    table = REPORT.table().splitlines()
    assert table[0].split() == ["RELEASE", "KIND", "STATUS", "REVISION", "SECONDS"]
    assert table[2].split() == ["staging", "hub", "failed", "2", "30.5"]
    assert table[3].split() == ["prod", "hub", "skipped", "0.0"]
    assert table[-1] == "cluster c1: 1 deployed, 1 failed, 1 skipped in 33.0 s"
    md = REPORT.markdown()
    assert "| support | support | deployed | 4 | 1.2 |" in md
    assert "- `staging` failed: Error: UPGRADE FAILED: timed out" in md


JOB = Job("prod", "hub", "helm-charts/basehub", "prod", ())


@pytest.mark.parametrize("tty", [False, True])
def test_progress_lines(tty) -> None:
    from deployer.cli._deploying import Progress

    stream = io.StringIO()
    progress = Progress(stream, tty=tty)
    progress(Event(JOB, STARTED))
    progress(Event(JOB, DONE, ReleaseResult("prod", "hub", "failed", 3, 2.0, "Error: boom")))
    out = stream.getvalue()
    assert "prod: FAILED after 2.0 s\n    Error: boom\n" in out
    if tty:
        assert "\r\033[K" in out and "deploying: prod (0 done)" in out
    else:
        assert out.splitlines()[0] == "prod: deploying (hub, chart helm-charts/basehub, namespace prod)"
        assert "\033" not in out


def cluster(spec, key=None) -> ClusterConfig:
    provider = {GcpSpec: "gcp", AwsSpec: "aws", AzureSpec: "azure", KubeconfigSpec: "kubeconfig"}[type(spec)]
    return ClusterConfig(name="c1", provider=provider, spec=spec, dir="config/clusters/c1")


@pytest.mark.parametrize(("spec", "commands", "flags"), [
    (KubeconfigSpec(context="ctx"), [], ["--kube-context", "ctx"]),
    (KubeconfigSpec(), [], []),
    (KubeconfigSpec(file="enc-kc.yaml"), ["kubeconfig=\"$(mktemp)\"; trap 'rm -f \"$kubeconfig\"' EXIT",
                                          "sops --decrypt config/clusters/c1/enc-kc.yaml > \"$kubeconfig\""],
     ["--kubeconfig", '"$kubeconfig"']),
    (GcpSpec(project="p", location="us-central1", cluster="k", key="enc-key.json"),
     ["gcloud auth activate-service-account --key-file=<(sops --decrypt config/clusters/c1/enc-key.json)",
      "gcloud container clusters get-credentials k --project p --location us-central1"], []),
    (AwsSpec(account_id="123456789012", region="us-west-2", cluster="k", role_arn="arn:aws:iam::1:role/r"),
     ["aws eks update-kubeconfig --name k --region us-west-2 --role-arn arn:aws:iam::1:role/r"], []),
    (AzureSpec(subscription_id="s", resource_group="rg", cluster="k"),
     ["az aks get-credentials --resource-group rg --name k --subscription s --overwrite-existing"], []),
])
def test_dry_run_access_lines(spec, commands, flags) -> None:
    lines, target = access_lines(cluster(spec))
    assert [line for line in lines if not line.startswith("#")] == commands
    assert target.args() == flags


def test_shell_join_quotes_all_but_raw_words() -> None:
    assert shell_join(["helm", "a b", "$HOME", Raw("<(sops --decrypt f)")]) == "helm 'a b' '$HOME' <(sops --decrypt f)"
