"""SIGKILL mid-run leaves plaintext behind (nothing can run at that moment), and the next run removes it: each
command runs for real in a child process with its own TMPDIR, is SIGKILLed (with its children, as when a machine's
OOM killer or a cancelled CI job takes the whole tree) while its private folder holds plaintext, and a later command
that creates a private folder in the same parent sweeps the leftovers (``deployer.private.sweep``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import DEMO_KEY, KEPT_VARIABLES, PROJECT, demo_recipient, run_deployer, sops_encrypt, with_default_sigint

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the children")

DEPLOYER = str(Path(sys.executable).with_name("deployer"))
MARKER = "MINI-SECRET-MARKER-4711"  # mini_repo's encrypted value


def environment(tmp_path: Path, kube, **extra: str) -> dict[str, str]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    return {
        **{k: os.environ[k] for k in KEPT_VARIABLES if os.environ.get(k)},
        "PATH": f"{PROJECT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/"),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "KUBECONFIG": str(kube.kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
        "TMPDIR": str(tmpdir),
        **extra,
    }


def one_hub(root: Path, kube, *extra_files: str) -> None:
    """mini_repo's cluster c1 reduced to hub h1 (with its secret), on the test's Kubernetes API."""
    files = "".join(
        f"      - {name}\n" for name in ("common.values.yaml", "h1.values.yaml", "enc-h1.secret.values.yaml")
    )
    files += "".join(f"      - {name}\n" for name in extra_files)
    (root / "config" / "clusters" / "c1" / "cluster.yaml").write_text(
        "name: c1\nprovider: kubeconfig\nkubeconfig:\n"
        f"  context: {kube.context}\n"
        "hubs:\n  - name: h1\n    domain: h1.c1.example.org\n    helm_chart: basehub\n    canary: true\n"
        "    helm_chart_values_files:\n" + files
    )


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def sigkill_tree(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the deployer first (the case under test), then everything it started."""
    children = descendants(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def start(root: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        with_default_sigint([DEPLOYER, "--repo", str(root), *args]),
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(proc: subprocess.Popen[str], found, what: str, timeout: float = 120) -> list[Path]:
    deadline = time.monotonic() + timeout
    while not (hits := found()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{what} never appeared: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    return list(hits)


def holding(folder: Path, text: str) -> list[Path]:
    """Files under ``folder`` that contain ``text``."""
    out = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and text in path.read_text(errors="replace"):
                out.append(path)
        except OSError:
            continue
    return out


def test_sigkilled_deploy_leftovers_are_swept_by_the_next_run(kube_cluster, mini_repo, tmp_path):
    one_hub(mini_repo, kube_cluster)
    env = environment(tmp_path, kube_cluster)
    tmpdir = Path(env["TMPDIR"])
    kube_cluster.readiness = False  # helm --wait blocks: the deploy is mid-flight with the secret decrypted
    proc = start(mini_repo, "deploy", "c1", "--timeout", "60s", env=env)
    wait_for(proc, lambda: [p for p in tmpdir.rglob("decrypted-*") if MARKER in p.read_text()], "the decrypted file")
    time.sleep(0.5)  # helm is running with the decrypted file
    sigkill_tree(proc)
    kube_cluster.readiness = True
    left = sorted(tmpdir.iterdir())
    assert left and holding(tmpdir, MARKER), "the test must see the leftovers"  # what SIGKILL leaves
    # the workdir holds the decrypted values and the cluster access (kubeconfig here; a cloud provider's exec plugin
    # state, keys and tokens live in a folder beside it): all inside the one top folder the sweep removes
    assert [p.name.split("-owner-")[0] for p in left[0].iterdir() if p.is_dir()] == ["kube"]
    # any later command that makes a private folder in the same TMPDIR sweeps them
    again = run_deployer("--repo", str(mini_repo), "template", "c1", "h1", env=env, timeout=180)
    assert again.returncode == 0, again.stderr
    assert sorted(tmpdir.rglob("*")) == []


def test_sigkilled_use_cluster_credentials_leftovers_are_swept(kube_cluster, mini_repo, tmp_path):
    # the cluster's kubeconfig (with its token) is a sops-encrypted file: the command gets it decrypted
    cdir = mini_repo / "config" / "clusters" / "c1"
    secret = cdir / "enc-kubeconfig.secret.yaml"
    secret.write_text(kube_cluster.kubeconfig.read_text())
    sops_encrypt(secret, demo_recipient())
    (cdir / "cluster.yaml").write_text(
        f"name: c1\nprovider: kubeconfig\nkubeconfig:\n  file: {secret.name}\n  context: {kube_cluster.context}\n"
    )
    env = environment(tmp_path, kube_cluster)
    del env["KUBECONFIG"]
    tmpdir = Path(env["TMPDIR"])
    proc = start(mini_repo, "use-cluster-credentials", "c1", "--", "sleep", "60", env=env)
    wait_for(proc, lambda: holding(tmpdir, "current-context"), "the decrypted kubeconfig")
    sigkill_tree(proc)
    assert holding(tmpdir, "current-context"), "the test must see the leftover kubeconfig"
    again = run_deployer("--repo", str(mini_repo), "use-cluster-credentials", "c1", "--", "true", env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(tmpdir.rglob("*")) == []


def test_sigkilled_export_decrypt_staging_is_swept_by_the_next_export(kube_cluster, mini_repo, tmp_path):
    # a second secret file, and a sops that stalls on it once the first plaintext is in the staging folder
    second = mini_repo / "config" / "clusters" / "c1" / "enc-h1b.secret.values.yaml"
    second.write_text("identity:\n  displayName: Second\n")
    sops_encrypt(second, demo_recipient())
    one_hub(mini_repo, kube_cluster, second.name)
    exports = tmp_path / "exports"
    exports.mkdir()
    stall = tmp_path / "stall"
    stall.touch()
    real_sops = subprocess.run(
        [sys.executable, "-c", "from deployer.tools import find_tool; print(find_tool('sops'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wrapper = tmp_path / "slow-sops"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"if [ -e '{stall}' ]; then for f in '{exports}'/.out.*/values/*; do\n"
        '  if [ -f "$f" ] && grep -q ' + MARKER + ' "$f"; then exec sleep 60; fi\n'
        "done; fi\n"
        f"exec '{real_sops}' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    env = environment(tmp_path, kube_cluster, DEPLOYER_SOPS=str(wrapper))
    outdir = exports / "out"
    proc = start(mini_repo, "export", "c1", "h1", str(outdir), "--decrypt", env=env)
    wait_for(proc, lambda: holding(exports, MARKER), "the decrypted file in the staging folder", timeout=180)
    time.sleep(0.3)  # sops is stalled on the second file
    sigkill_tree(proc)
    left = sorted(exports.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".out."), left  # the test sees the leftover staging folder
    assert holding(exports, MARKER)
    stall.unlink()
    again = run_deployer("--repo", str(mini_repo), "export", "c1", "h1", str(outdir), "--decrypt", env=env, timeout=180)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in exports.iterdir()) == ["out"]
    assert sorted(Path(env["TMPDIR"]).rglob("*")) == []
