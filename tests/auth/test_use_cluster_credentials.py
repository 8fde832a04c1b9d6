"""`deployer use-cluster-credentials CLUSTER [-- COMMAND...]` in a real child process: the command runs with
KUBECONFIG set (its own environment only), its exit code comes back, errors are rendered once, and nothing is left
behind after success, failure, SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from authkit import leftovers
from deployer.auth import ClusterAccess
from deployer.auth.shell import kubeconfig_value
from deployer.errors import UsageError
from fakes import wait_until
from helpers import run_deployer, with_default_sigint


def test_runs_the_command_with_kubeconfig_and_returns_its_code(repo, base_env, standin):
    got = run_deployer(
        "use-cluster-credentials",
        "eks",
        "--",
        "sh",
        "-c",
        'kubectl get namespace kube-system -o name && test -f "$KUBECONFIG" && exit 7',
        env=base_env,
        cwd=repo.root,
    )
    assert got.returncode == 7, got.stderr
    assert got.stdout.strip() == "namespace/kube-system"
    assert leftovers(base_env) == []


def test_helm_by_hand(repo, base_env):
    got = run_deployer("use-cluster-credentials", "aks", "--", "helm", "list", "-A", env=base_env, cwd=repo.root)
    assert got.returncode == 0, got.stderr
    assert leftovers(base_env) == []


def test_interactive_shell_by_default(repo, base_env, tmp_path):
    shell = tmp_path / "fake-shell"
    shell.write_text("#!/bin/sh\nkubectl config current-context\nexit 3\n")
    shell.chmod(0o755)
    got = run_deployer("use-cluster-credentials", "gke", env={**base_env, "SHELL": str(shell)}, cwd=repo.root)
    assert got.returncode == 3, got.stderr
    assert got.stdout.strip() == "gke" and "exit it to remove them" in got.stderr


@pytest.mark.parametrize("cluster", ["kc-file", "kc-ambient"])
def test_kubeconfig_provider_context_is_selected_without_changing_any_file(cluster, repo, base_env):
    env = {**base_env, "KUBECONFIG": str(repo.kubeconfig)} if cluster == "kc-ambient" else base_env
    ambient = repo.kubeconfig.read_text()
    got = run_deployer(
        "use-cluster-credentials",
        cluster,
        "--",
        "sh",
        "-c",
        "kubectl config current-context && kubectl get ns default -o name",
        env=env,
        cwd=repo.root,
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["deployer-local", "namespace/default"]
    assert repo.kubeconfig.read_text() == ambient
    assert leftovers(base_env) == []


def test_the_ambient_kubeconfig_comes_from_the_env_handed_in_not_os_environ(tmp_path, monkeypatch):
    # the same lookup as deployer.kube's: HOME and KUBECONFIG of the mapping handed in, never of this process
    process_home, home = tmp_path / "process-home", tmp_path / "home"
    for folder, current in ((process_home, "other"), (home, "other")):
        (folder / ".kube").mkdir(parents=True)
        (folder / ".kube" / "config").write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\n")
    monkeypatch.setenv("HOME", str(process_home))
    monkeypatch.setenv("KUBECONFIG", str(process_home / ".kube" / "config"))
    access = ClusterAccess(kubeconfig=None, context="wanted")
    with pytest.raises(UsageError, match=r"no kubeconfig: set KUBECONFIG \(or HOME, for ~/.kube/config\)"):
        kubeconfig_value(access, {}, tmp_path)
    selected = kubeconfig_value(access, {"HOME": str(home)}, tmp_path)
    assert selected == f"{tmp_path / 'current-context.kubeconfig'}{os.pathsep}{home / '.kube' / 'config'}"
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\ncurrent-context: wanted\n")
    assert kubeconfig_value(access, {"HOME": str(home)}, tmp_path / "unused") is None  # already the current one
    assert kubeconfig_value(ClusterAccess(kubeconfig=None), {}, tmp_path / "unused") is None  # nothing to select


def test_error_is_rendered_once_and_nothing_is_left(repo, base_env):
    got = run_deployer("use-cluster-credentials", "aks-denied", "--", "true", env=base_env, cwd=repo.root)
    assert got.returncode == 2
    assert got.stderr.count("access denied") == 1 and "Traceback" not in got.stderr
    assert got.stderr.startswith("cluster 'aks-denied' (azure): access denied: service principal sp-denied")
    assert leftovers(base_env) == []


def test_unreachable_exits_1(repo, base_env):
    env = {**base_env, "DEPLOYER_GKE_ENDPOINT": "https://127.0.0.1:9"}
    got = run_deployer("use-cluster-credentials", "gke", "--", "true", env=env, cwd=repo.root)
    assert got.returncode == 1 and "cannot reach the GKE API" in got.stderr and "Traceback" not in got.stderr


def _start(repo, env, marker: Path) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("deployer")
    script = (
        f'echo "$KUBECONFIG $$" > {marker}.tmp; ls "$(dirname "$KUBECONFIG")" >> {marker}.tmp; '
        f"mv {marker}.tmp {marker}; exec sleep 60"
    )
    argv = with_default_sigint([str(exe), "use-cluster-credentials", "eks", "--", "sh", "-c", script])
    return subprocess.Popen(
        argv, env=env, cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_interrupted_cleans_up(how, repo, base_env, tmp_path):
    marker = tmp_path / "marker"
    proc = _start(repo, base_env, marker)
    assert proc.stderr is not None  # a pipe
    try:
        assert wait_until(marker.exists, timeout=30), proc.stderr.read() if proc.poll() is not None else "no marker"
        first, *listing = marker.read_text().split("\n")
        kubeconfig, pid = first.split()
        assert any(name.startswith("decrypted-") for name in listing)  # the decrypted key was there
        assert Path(kubeconfig).exists()
        comm = Path(f"/proc/{pid}/comm")  # wait until the shell has become `sleep` (nothing else in flight)
        assert wait_until(lambda: comm.exists() and comm.read_text().strip() == "sleep", timeout=10)
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:  # a terminal sends SIGINT to the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (143 if how == "sigterm" else 130), err
    assert wait_until(lambda: not _alive(int(pid)), timeout=10), "the command is still running"
    assert not Path(kubeconfig).exists()
    assert leftovers(base_env) == []
