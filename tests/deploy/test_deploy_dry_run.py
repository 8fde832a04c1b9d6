"""``--dry-run`` (Right to Replicate) and chart dependency builds, end to end with the real helm and sops.

The printed commands are run with bash against the stand-in and must give exactly the release ``deployer deploy``
gives, with helm 3 and helm 4; the dry run itself must touch no cluster and decrypt nothing. Dependencies are built
by the deployer's own ``helm dependency build`` at most once per chart per run (from the chart mirror when the tests
have one: the printed plain commands then run with helm's repository config pointed at it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer import helm_argv
from deployer.config.load import load_cluster

pytestmark = pytest.mark.e2e


def test_dry_run_touches_no_cluster_and_decrypts_nothing(kube_cluster, deploy_repo, helm_binary):
    # a stand-in of its own: on the shared one, other tests' late requests would be counted as the dry run's
    repo = deploy_repo(kube_cluster, helm=helm_binary)
    env = repo.env()
    del env["SOPS_AGE_KEY_FILE"]  # no key: decrypting anything would fail
    before = len(kube_cluster.server.requests) if kube_cluster.is_stand_in else None
    done = repo.deployer("deploy", "local", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    if before is not None:
        assert len(kube_cluster.server.requests) == before
    assert not repo.leftovers()
    lines = done.stdout.splitlines()
    staging = repo.hub("staging")
    wait = " ".join(helm_argv.wait_args(helm_binary.major, wait=True, timeout="10m0s"))  # the flags of the helm used
    assert "helm dependency build helm-charts/basehub" in lines
    facts = "$facts_" + staging.replace("-", "_")  # the generated deployer-facts.values.yaml, first
    assert (
        f"helm upgrade --install {staging} helm-charts/basehub --namespace {staging} --create-namespace "
        f"--values <(printf '%s\\n' \"{facts}\") "
        "--values config/clusters/local/common.values.yaml --values config/clusters/local/staging.values.yaml "
        f"--values <(sops --decrypt config/clusters/local/enc-staging.secret.values.yaml) {wait} "
        f"--kube-context {kube_cluster.context}"
    ) in lines
    order = [line.split()[3] for line in lines if line.startswith("helm upgrade")]
    assert order == ["support", staging, repo.hub("prod")]
    no_wait = repo.deployer("deploy", "local", staging, "--dry-run", "--no-wait", "--timeout", "90", env=env)
    assert " ".join(helm_argv.wait_args(helm_binary.major, wait=False, timeout="1m30s")) in no_wait.stdout
    assert "--wait" not in no_wait.stdout and "support" not in no_wait.stdout


def test_printed_commands_deploy_exactly_what_the_deployer_deploys(kube_cluster, deploy_repo, chart_cache, helm_binary):
    """The printed commands, run by bash with plain helm, and ``deployer deploy`` give byte-identical releases.

    Compared upgrade to upgrade: on a first install the JupyterHub chart draws random tokens for every template
    that asks (its ``lookup`` finds nothing yet), so even two plain installs differ in their checksum annotations.
    """
    repo = deploy_repo(kube_cluster, helm=helm_binary)
    releases = ["support", repo.hub("staging"), repo.hub("prod")]
    earlier = repo.history("support")  # a long-lived cluster has deployed it before (helm keeps the last 10)
    support_before = earlier[-1]["revision"] if earlier else 0
    script = repo.deployer("deploy", "local", "--dry-run")
    assert script.returncode == 0, script.stderr
    assert f"as plain helm (v{helm_binary.major})" in script.stdout  # the deployer took DEPLOYER_HELM
    plain_helm = repo.root / "plain-bin"  # the printed commands run with the same helm, as `helm`
    plain_helm.mkdir()
    (plain_helm / "helm").symlink_to(helm_binary.path)
    env = repo.env()
    env["PATH"] = f"{plain_helm}:{env['PATH']}"
    del env["DEPLOYER_HELM"]

    def run_script() -> dict:
        with chart_cache.serving(repo.root / "helm-charts") as helm_env:
            plain = subprocess.run(
                ["bash", "-c", script.stdout],
                cwd=repo.root,
                env={**env, **helm_env},
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert plain.returncode == 0, plain.stderr
        return {r: (repo.manifest(r), repo.values(r)) for r in releases}

    run_script()  # the first install
    done = repo.deployer("deploy", "local")
    assert done.returncode == 0, done.stderr
    by_deployer = {r: (repo.manifest(r), repo.values(r)) for r in releases}
    by_script = run_script()
    for release in releases:
        assert repo.history(release)[-1]["revision"] == (support_before + 3 if release == "support" else 3)
        assert by_deployer[release][0] == by_script[release][0], release
        assert by_deployer[release][1] == by_script[release][1], release
    assert "DummyAuthenticator" in str(by_script[repo.hub("staging")][1])  # secrets went through <(sops ...)
    assert repo.deployer("diff", "local").returncode == 0


def test_dependencies_are_built_once_per_chart_per_run(kube_cluster_session, custom_repo, chart_cache):
    repo = custom_repo(kube_cluster_session, hubs=[("c", True), ("p1", False), ("p2", False), ("d", False, "daskhub")])
    for chart in ("basehub", "daskhub"):
        shutil.rmtree(repo.root / "helm-charts" / chart / "charts")
    env = repo.env()  # the deployer's own dependency step takes the chart mirror from DEPLOYER_CHART_MIRROR
    first = repo.deployer("deploy", "t", "--verbose", env=env)
    assert first.returncode == 0, first.stderr
    builds = [line for line in first.stderr.splitlines() if " dependency build " in line]
    assert [b.split(" dependency build ")[1].split()[0] for b in builds] == [
        "helm-charts/basehub",
        "helm-charts/daskhub",
    ]  # basehub first: daskhub packages it
    assert "built chart dependencies once: helm-charts/basehub, helm-charts/daskhub" in first.stderr
    second = repo.deployer("deploy", "t", "--verbose", env=env)
    assert second.returncode == 0, second.stderr
    assert " dependency build " not in second.stderr  # charts/ matches the lock: nothing to build


def test_a_dependency_that_cannot_be_built_fails_its_releases(kube_cluster_session, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster_session, hubs=[("c", True), ("p", False)])
    shutil.rmtree(repo.root / "helm-charts" / "basehub" / "charts")
    lock = repo.root / "helm-charts" / "basehub" / "Chart.lock"  # a repository nothing answers on (the discard port)
    chart_yaml = lock.with_name("Chart.yaml")
    for path in (lock, chart_yaml):
        path.write_text(path.read_text().replace("https://hub.jupyter.org/helm-chart/", "http://127.0.0.1:9/charts/"))
    from deployer.charts import lock_digest, read_chart, read_lock

    pinned = read_lock(lock.parent)
    assert pinned is not None
    lock.write_text(
        lock.read_text().replace(pinned.digest, lock_digest(read_chart(lock.parent).dependencies, pinned.dependencies))
    )
    empty = tmp_path / "helm-home"
    env = repo.env(
        HELM_REPOSITORY_CONFIG=str(empty / "repositories.yaml"),
        HELM_REPOSITORY_CACHE=str(empty / "cache"),
        HELM_CACHE_HOME=str(empty / "cache-home"),
    )
    env.pop("DEPLOYER_CHART_MIRROR", None)  # no mirror, and the repository cannot be reached
    report = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--report", str(report), env=env)
    assert done.returncode == 1
    assert (
        "helm-charts/basehub: helm dependency build could not fetch jupyterhub 4.2.0 from http://127.0.0.1:9/charts/"
        in done.stderr
    )
    assert "set DEPLOYER_CHART_MIRROR" in done.stderr
    import json

    results = json.loads(report.read_text())["results"]
    assert [(r["status"], r["revision"]) for r in results] == [("failed", None), ("skipped", None)]
    assert repo.history(repo.hub("c")) == []


def test_a_mirror_without_the_pinned_chart_names_it_and_the_command_that_adds_it(
    kube_cluster_session, custom_repo, tmp_path
):
    repo = custom_repo(kube_cluster_session, hubs=[("c", True), ("p", False)])
    shutil.rmtree(repo.root / "helm-charts" / "basehub" / "charts")
    empty = tmp_path / "mirror"
    empty.mkdir()
    env = repo.env(DEPLOYER_CHART_MIRROR=str(empty), HELM_CACHE_HOME=str(tmp_path / "helm-cache"))
    checked = repo.deployer("validate", env=env)  # without the archive, validate cannot check jupyterhub's values
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "helm-charts/basehub/Chart.lock" in checked.stderr and "jupyterhub 4.2.0" in checked.stderr
    assert "helm dependency build helm-charts/basehub" in checked.stderr
    done = repo.deployer("deploy", "t", env=env)
    assert done.returncode == 1
    assert "jupyterhub-4.2.0.tgz (pinned by helm-charts/basehub/Chart.lock)" in done.stderr
    assert f"helm pull jupyterhub --repo https://hub.jupyter.org/helm-chart/ --version 4.2.0 -d {empty}" in done.stderr
    assert "Traceback" not in done.stderr
    assert repo.history(repo.hub("c")) == [] and list(empty.iterdir()) == []
    wrong = repo.deployer("deploy", "t", env=repo.env(DEPLOYER_CHART_MIRROR=str(tmp_path / "nope")))
    assert wrong.returncode == 2 and "DEPLOYER_CHART_MIRROR=" in wrong.stderr and "not a folder" in wrong.stderr


def test_an_encrypted_kubeconfig_for_deployer_and_for_the_printed_commands(
    kube_cluster_session, custom_repo, chart_cache
):
    repo = custom_repo(kube_cluster_session, hubs=[("h", False)])
    cdir = repo.cluster_dir()
    secret = cdir / "enc-kubeconfig.yaml"
    secret.write_text(kube_cluster_session.kubeconfig.read_text())
    from helpers import demo_recipient, sops_encrypt

    sops_encrypt(secret, demo_recipient())
    text = (cdir / "cluster.yaml").read_text()
    (cdir / "cluster.yaml").write_text(text.replace("kubeconfig:\n", "kubeconfig:\n  file: enc-kubeconfig.yaml\n", 1))
    env = repo.env()
    del env["KUBECONFIG"]  # only the encrypted kubeconfig can reach the cluster
    done = repo.deployer("deploy", "t", env=env)
    assert done.returncode == 0, done.stderr
    assert not repo.leftovers()
    script = repo.deployer("deploy", "t", "--dry-run", env=env).stdout
    assert 'sops --decrypt config/clusters/t/enc-kubeconfig.yaml > "$access_dir/kubeconfig"' in script
    assert '--kubeconfig "$access_dir/kubeconfig"' in script
    with chart_cache.serving(repo.root / "helm-charts") as helm_env:
        plain = subprocess.run(
            ["bash", "-c", script],
            cwd=repo.root,
            env={**env, **helm_env, "TMPDIR": str(repo.tmpdir)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert plain.returncode == 0, plain.stderr
    assert [h["status"] for h in repo.history(repo.hub("h"))] == ["superseded", "deployed"]
    assert not repo.leftovers()  # the script's trap removed its decrypted kubeconfig


# cluster of the example fleet -> the access calls its printed script makes, in order (tool, first words of argv)
CLOUD_ACCESS = {
    "demo-gcp": [
        ("gcloud", ["auth", "activate-service-account"]),
        (
            "gcloud",
            [
                "container",
                "clusters",
                "get-credentials",
                "demo-cluster",
                "--project",
                "demo-gcp-project",
                "--location",
                "us-central1",
            ],
        ),
    ],
    "demo-aws": [
        (
            "aws",
            [
                "eks",
                "update-kubeconfig",
                "--name",
                "demo-eks",
                "--region",
                "us-west-2",
                "--role-arn",
                "arn:aws:iam::123456789012:role/deployer",
                "--kubeconfig",
            ],
        )
    ],
    "demo-azure": [
        (
            "az",
            [
                "aks",
                "get-credentials",
                "--resource-group",
                "demo-rg",
                "--name",
                "demo-aks",
                "--subscription",
                "00000000-0000-4000-8000-000000000001",
                "--file",
            ],
        ),
        ("kubelogin", ["convert-kubeconfig", "--login", "azurecli", "--kubeconfig"]),
    ],
}


@pytest.mark.parametrize("cluster", sorted(CLOUD_ACCESS))
def test_a_cloud_clusters_printed_script_runs_against_stub_clis(cluster, helm_binary, tmp_path):
    """The example fleet's cloud clusters: the printed script, run by bash with stub gcloud/aws/az/kubelogin/helm
    that check their arguments (and the real sops behind a checking stub), makes the expected calls in order, with
    the flags of the helm that printed it; nothing lands in HOME and the private folder is gone afterwards."""
    from clistubs import calls, install_stubs
    from deployer.tools import find_tool
    from helpers import DEMO_KEY, PROJECT, run_deployer

    home, tmp, stubs = tmp_path / "home", tmp_path / "tmp", tmp_path / "stubs"
    home.mkdir()
    tmp.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "DEPLOYER_HELM": str(helm_binary.path),
    }
    printed = run_deployer("--repo", str(PROJECT), "deploy", cluster, "--dry-run", env=env, cwd=PROJECT)
    assert printed.returncode == 0, printed.stderr
    env = {
        **env,
        **install_stubs(stubs, real_sops=find_tool("sops", PROJECT), helm_major=helm_binary.major),
        "PATH": f"{stubs}{os.pathsep}{env['PATH']}",
    }
    del env["DEPLOYER_HELM"]
    done = subprocess.run(
        ["bash", "-c", printed.stdout], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    recorded = calls(stubs)
    assert done.returncode == 0, (done.stderr, [c for c in recorded if "error" in c])
    others = [c for c in recorded if c["tool"] != "sops"]  # sops runs beside others in <(...): order varies
    access = [c for c in others if c["tool"] != "helm"]
    assert len(access) == len(CLOUD_ACCESS[cluster])
    for call, (tool, start) in zip(access, CLOUD_ACCESS[cluster], strict=True):
        assert call["tool"] == tool and call["argv"][: len(start)] == start, call
    helm = [c for c in others if c["tool"] == "helm"]
    builds = [c for c in helm if c["command"] == ["dependency", "build"]]
    upgrades = [c for c in helm if c["command"] == ["upgrade"]]
    assert others == access + builds + upgrades  # access first, then dependency builds, then the releases
    assert builds and upgrades
    releases = [c["argv"][2] for c in upgrades]
    config = load_cluster(PROJECT, cluster)
    expected = (
        (["support"] if config.support else []) + [h.name for h in config.canaries] + [h.name for h in config.prod_hubs]
    )
    assert releases == expected
    wait = helm_argv.wait_args(helm_binary.major, wait=True, timeout="10m0s")
    for call in upgrades:
        argv = call["argv"]
        assert argv[argv.index("--timeout") - len(wait) + 2 : argv.index("--timeout") + 2] == wait
        kubeconfig = Path(argv[argv.index("--kubeconfig") + 1])
        assert kubeconfig.name == "kubeconfig" and kubeconfig.parent.parent == tmp  # the script's private folder
    secrets = {c["argv"][-1] for c in recorded if c["tool"] == "sops"}
    assert secrets >= {str(Path(v).relative_to(PROJECT)) for v in PROJECT.glob(f"config/clusters/{cluster}/enc-*")}
    assert sorted(home.rglob("*")) == [] and sorted(tmp.rglob("*")) == []
