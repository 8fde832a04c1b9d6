"""The health check's Dask steps against a REAL daskhub (``daskhub`` in conftest.py: a real JupyterHub with a
real dask-gateway-server as its service, clusters as local processes): from the test user's server, through
the hub's proxy and the gateway's JupyterHub authentication, as a user of a daskhub would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.health import check_hub
from deployer.health.check import STEPS, with_dask
from deployer.health.dask import chart_has_dask
from deployer.health.target import hub_target
from helpers import PROJECT

BASE = ["hub-api", "user", "spawn", "proxy", "kernel"]
DASK = ["dask-cluster", "dask-compute", "dask-shutdown"]
END = ["stop", "remove-user"]


def check(cli, daskhub, name: str, tmp_path: Path, *args: str):
    report = tmp_path / "health.json"
    hub = daskhub.hub
    result = cli("health-check", "c1", "dask", "--url", hub.url, "--token", hub.token, "--user", name,
                 "--report", str(report), *args)  # fmt: skip
    return result, json.loads(report.read_text())


def test_daskhub_check_creates_scales_computes_and_shuts_down(cli, daskhub, no_cluster_left, tmp_path):
    result, report = check(cli, daskhub, "dask-ok", tmp_path, "--dask")

    assert result.code == 0, result.output
    assert [s["name"] for s in report["steps"]] == BASE + DASK + END
    assert all(s["ok"] and s["seconds"] > 0 for s in report["steps"])
    messages = {s["name"]: s["message"] for s in report["steps"]}
    assert messages["dask-cluster"].startswith("Dask cluster ") and "with 1 worker" in messages["dask-cluster"]
    cluster = messages["dask-cluster"].split()[2]
    assert messages["dask-compute"].startswith("sum(range(1000)) = 499500 on tls://127.0.0.1:")
    assert messages["dask-shutdown"] == f"shut down Dask cluster {cluster}"
    assert "[attempt 1] ok   dask-compute" in result.err
    assert no_cluster_left("dask-ok")


def test_compute_failure_still_shuts_the_cluster_down(cli, daskhub, no_cluster_left, tmp_path):
    result, report = check(cli, daskhub, "dask-broken-compute", tmp_path, "--dask")

    assert result.code == 1, result.output
    assert report["failed_step"] == "dask-compute"
    assert "step 'dask-compute' failed: sum(range(1000)) on Dask cluster" in report["message"]
    assert "ZeroDivisionError: this worker's sum is broken on purpose" in report["message"]
    assert [s["name"] for s in report["steps"]] == [*BASE, "dask-cluster", "dask-compute", "dask-shutdown", *END]
    cleanup = [s for s in report["steps"] if s.get("cleanup")]
    assert [s["name"] for s in cleanup] == ["dask-shutdown", *END] and all(s["ok"] for s in cleanup)
    assert cleanup[0]["message"].startswith("shut down Dask cluster ")
    assert no_cluster_left("dask-broken-compute")


def test_unreachable_gateway_fails_the_dask_step_by_name_and_cleans_up(cli, daskhub, no_cluster_left, tmp_path):
    result, report = check(cli, daskhub, "dask-unreachable", tmp_path, "--dask")

    assert result.code == 1, result.output
    assert report["failed_step"] == "dask-cluster"
    step = report["steps"][len(BASE)]
    assert step["name"] == "dask-cluster" and not step["ok"]
    assert step["message"].startswith("cannot create a Dask cluster through the hub's Dask Gateway: ")
    assert "Connect" in step["message"]  # the client's own words: it cannot connect
    # no cluster was made, so only the server and the user are cleaned up
    assert [s["name"] for s in report["steps"][len(BASE) + 1 :]] == END
    assert all(s["ok"] and s["cleanup"] for s in report["steps"][len(BASE) + 1 :])
    assert daskhub.hub.api.get("users/dask-unreachable").status_code == 404
    assert "Traceback" not in result.output


def test_interrupted_check_shuts_the_cluster_down_before_the_interrupt_goes_on(daskhub, no_cluster_left):
    hub, seen = daskhub.hub, []

    def interrupt_after_the_cluster(attempt, step):
        seen.append((step.name, step.ok, step.cleanup))
        if step.name == "dask-cluster":
            raise KeyboardInterrupt  # as Ctrl-C while the next step would start

    with pytest.raises(KeyboardInterrupt):
        check_hub(hub.url, hub.token, username="dask-interrupted", dask=True, on_step=interrupt_after_the_cluster)
    assert seen[len(BASE)][:2] == ("dask-cluster", True)
    assert seen[len(BASE) + 1 :] == [("dask-shutdown", True, True), ("stop", True, True), ("remove-user", True, True)]
    assert no_cluster_left("dask-interrupted")


def test_dask_steps_go_before_stop():
    assert [s.name for s in with_dask(STEPS)] == BASE + DASK + END
    assert [s.name for s in with_dask(STEPS[:2])] == ["hub-api", "user", *DASK]


def test_the_hubs_chart_decides_whether_dask_is_checked(tmp_path):
    charts = PROJECT / "helm-charts"
    assert chart_has_dask(charts / "daskhub") and not chart_has_dask(charts / "basehub")
    assert not chart_has_dask(tmp_path / "no-such-chart")
    # a chart of its own that uses daskhub (file://) has Dask too
    mine = tmp_path / "helm-charts" / "mine"
    mine.mkdir(parents=True)
    (mine / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: mine\nversion: 0.1.0\n"
        f"dependencies:\n  - name: daskhub\n    version: 0.1.0\n    repository: file://{charts / 'daskhub'}\n"
    )
    assert chart_has_dask(mine)

    # in cluster mode the hub entry's chart sets the default
    cdir = tmp_path / "config" / "clusters" / "c1"
    cdir.mkdir(parents=True)
    (cdir / "v.yaml").write_text("{}\n")
    hubs = "".join(
        f"  - {{name: {n}, domain: {n}.example.org, helm_chart: {c}, helm_chart_values_files: [v.yaml]}}\n"
        for n, c in (("d", "mine"), ("b", "basehub"))
    )
    (cdir / "cluster.yaml").write_text(f"name: c1\nprovider: kubeconfig\nkubeconfig: {{}}\nhubs:\n{hubs}")
    assert hub_target("c1", "d", root=tmp_path, env={}, token="t").dask is True
    assert hub_target("c1", "b", root=tmp_path, env={}, token="t").dask is False
    assert hub_target("c1", "d", root=None, env={}, url="http://h/", token="t").dask is False  # direct: --dask
