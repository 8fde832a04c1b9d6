"""A mistyped ``kubeconfig.context`` (validate, the provider before helm, helm's own error) and the warning when hubs
are deployed to a cluster whose support release is not deployed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deployer import helm_argv
from deployer.auth import ClusterAccess
from deployer.config.contexts import missing_context_error
from deployer.config.load import load_cluster
from helpers import demo_recipient, sops_encrypt


def _mistype(repo) -> str:
    """Give cluster ``t`` a context one character off the kubeconfig's; the mistyped name."""
    typo = repo.kube.context + "2"
    path = repo.cluster_dir() / "cluster.yaml"
    path.write_text(path.read_text().replace(f"context: {repo.kube.context}", f"context: {typo}"))
    return typo


def _kubeconfig_with(tmp_path: Path, source: Path, extra: str) -> Path:
    """``source`` with one more (unreachable) context ``extra``."""
    text = source.read_text()
    path = tmp_path / "kubeconfig-two"
    path.write_text(
        text.replace("contexts:\n", f"contexts:\n- name: {extra}\n  context: {{cluster: none, user: none}}\n", 1)
    )
    return path


def _expected(repo, typo: str) -> list[str]:
    """The parts of the message: cluster.yaml with the line of ``context:`` (line 4), the typo, the near miss."""
    return [
        "config/clusters/t/cluster.yaml:4: kubeconfig.context",
        f"'{typo}' is not a context of the kubeconfig",
        f"(did you mean '{repo.kube.context}'?)",
        "its contexts:",
        "correct the name here, or add the context to that kubeconfig",
    ]


@pytest.fixture
def typo_repo(custom_repo, kube_cluster_session, tmp_path):
    repo = custom_repo(kube_cluster_session, hubs=[("h", True)])
    return repo, _mistype(repo)


def test_validate_names_the_line_the_contexts_and_a_near_miss(cli, typo_repo, tmp_path):
    repo, typo = typo_repo
    kubeconfig = _kubeconfig_with(tmp_path, repo.kube.kubeconfig, "other-ctx")
    result = cli("--repo", str(repo.root), "validate", "t", env=repo.env(KUBECONFIG=str(kubeconfig)))
    assert result.code == 0, result.err  # the machine's kubeconfig may just not reach the cluster: a warning
    strict = cli("--repo", str(repo.root), "validate", "--strict", "t", env=repo.env(KUBECONFIG=str(kubeconfig)))
    assert strict.code == 2, strict.err
    line = next(line for line in result.err.splitlines() if "kubeconfig.context" in line)
    assert line.startswith("warning: ")
    for part in _expected(repo, typo):
        assert part in line
    assert str(kubeconfig) in line and "other-ctx" in line and "Traceback" not in result.err


def test_validate_without_a_kubeconfig_says_nothing_of_the_context(cli, typo_repo, tmp_path):
    repo, _ = typo_repo
    env = repo.env(KUBECONFIG=str(tmp_path / "absent"), HOME=str(tmp_path))
    result = cli("--repo", str(repo.root), "validate", "t", env=env)
    assert result.code == 0, result.err
    assert "context" not in result.err


def test_an_encrypted_kubeconfig_is_checked_too(cli, typo_repo, tmp_path):
    """``kubeconfig.file``: validate and the provider read its decrypted copy, and name the encrypted file."""
    repo, typo = typo_repo
    secret = repo.cluster_dir() / "enc-kubeconfig.yaml"
    secret.write_text(repo.kube.kubeconfig.read_text())
    sops_encrypt(secret, demo_recipient())
    path = repo.cluster_dir() / "cluster.yaml"
    path.write_text(path.read_text().replace("kubeconfig:\n", "kubeconfig:\n  file: enc-kubeconfig.yaml\n"))
    env = repo.env(KUBECONFIG=str(tmp_path / "absent"))
    for args in (("validate", "t"), ("use-cluster-credentials", "t", "--", "true")):
        result = cli("--repo", str(repo.root), *args, env=env)
        assert result.code == 2, result.err
        assert f"'{typo}' is not a context of the kubeconfig config/clusters/t/enc-kubeconfig.yaml (did" in result.err
        assert "config/clusters/t/cluster.yaml:5: kubeconfig.context" in result.err  # `file:` came first


def test_deploy_with_a_mistyped_context_stops_before_helm(cli, typo_repo):
    repo, typo = typo_repo
    result = cli("--repo", str(repo.root), "deploy", "t", env=repo.env())
    assert result.code == 2, result.err
    for part in _expected(repo, typo):
        assert part in result.err
    assert "does not exist" not in result.err  # helm's own message: helm never reached the cluster
    assert repo.history(repo.hub("h")) == []


def test_the_provider_refuses_the_context_before_any_command(cli, typo_repo, tmp_path):
    """use-cluster-credentials does not validate: the kubeconfig provider itself checks the context."""
    repo, typo = typo_repo
    marker = tmp_path / "ran"
    result = cli("--repo", str(repo.root), "use-cluster-credentials", "t", "--", "touch", str(marker), env=repo.env())
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1
    for part in _expected(repo, typo):
        assert part in result.err
    assert not marker.exists()


def test_helms_missing_context_error_becomes_the_same_message(typo_repo, helm_binary, tmp_path):
    repo, typo = typo_repo
    argv = [
        str(helm_binary),
        *helm_argv.history_args(
            "x", namespace="x", target=helm_argv.KubeTarget(kubeconfig=str(repo.kube.kubeconfig), context=typo)
        ),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=helm_binary.env(tmp_path), timeout=60)
    assert done.returncode != 0
    assert helm_argv.missing_context(done.stderr) == typo
    assert helm_argv.missing_context("Error: release: not found") is None
    cluster = load_cluster(repo.root, "t")
    access = ClusterAccess(kubeconfig=None, context=typo)
    error = missing_context_error(cluster, access, root=repo.root, env=repo.env())
    assert error is not None and error.exit_code == 2
    for part in _expected(repo, typo):
        assert part in error.render()
    has_it = _kubeconfig_with(tmp_path, repo.kube.kubeconfig, typo)  # changed again since helm ran: not confirmed
    assert missing_context_error(cluster, access, root=repo.root, env=repo.env(KUBECONFIG=str(has_it))) is None


WARNING = "support release of cluster 't' is not deployed"


def test_hubs_deployed_without_support_warn_until_support_is_deployed(custom_repo, kube_cluster):
    repo = custom_repo(kube_cluster, hubs=[("h", True)], support=True)
    hub = repo.hub("h")
    dry = repo.deployer("deploy", "t", hub, "--dry-run")
    assert dry.returncode == 0 and WARNING not in dry.stderr  # no cluster access
    first = repo.deployer("deploy", "t", hub, "--no-wait")
    assert first.returncode == 0, first.stderr
    line = next(line for line in first.stderr.splitlines() if WARNING in line)
    assert "ingress and certificates" in line and "deployer deploy-support t" in line
    support = repo.deployer("deploy-support", "t", "--no-wait")
    assert support.returncode == 0, support.stderr
    assert WARNING not in support.stderr
    again = repo.deployer("deploy", "t", hub, "--no-wait")
    assert again.returncode == 0, again.stderr
    assert WARNING not in again.stderr


def test_a_cluster_without_support_gets_no_warning(custom_repo, kube_cluster_session):
    repo = custom_repo(kube_cluster_session, hubs=[("h", True)])
    hub = repo.hub("h")
    done = repo.deployer("deploy", "t", hub, "--no-wait")
    assert done.returncode == 0, done.stderr
    assert "support release" not in done.stderr
