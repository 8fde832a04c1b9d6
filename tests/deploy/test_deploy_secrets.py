"""Secrets during a deploy, end to end: a unique marker planted in a sops-encrypted values file must reach the
release and nothing else (stdout, stderr, the report), and no decrypted file may remain, whether the deploy
succeeds, fails, or is interrupted with SIGINT or SIGTERM while helm runs."""

from __future__ import annotations

import base64
import json
import re
import signal
import time
import uuid
from pathlib import Path

import pytest
import yaml

from deployer.redact import go_quote
from helpers import demo_recipient, sops_encrypt

pytestmark = pytest.mark.e2e


@pytest.fixture
def marker() -> str:
    return f"MARKER-{uuid.uuid4().hex}"


def assert_clean(repo, marker: str, *texts: str) -> None:
    assert not repo.leftovers(), f"left behind: {repo.leftovers()}"
    for text in texts:
        assert marker not in text


def test_success_uses_the_secret_and_shows_it_nowhere(kube_cluster_session, custom_repo, marker, tmp_path):
    repo = custom_repo(kube_cluster_session, hubs=[("s", True), ("p", False)], secrets={"s": marker, "p": marker})
    report_file = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--verbose", "--report", str(report_file))
    assert done.returncode == 0, done.stderr
    assert "$ " in done.stderr and "upgrade --install" in done.stderr  # --verbose printed the commands
    # ... sops included: it runs through the same runner (one line per secret file, its path and no content)
    decrypts = re.findall(r"^\$ \S*sops --decrypt (\S+) \(\d+\.\d\d s, exit 0\)$", done.stderr, re.MULTILINE)
    # validation decrypts each file in memory, then the deploy decrypts it for helm
    assert sorted(Path(p).name for p in decrypts) == ["enc-p.secret.values.yaml"] * 2 + ["enc-s.secret.values.yaml"] * 2
    for hub in (repo.hub("s"), repo.hub("p")):
        assert marker in json.dumps(repo.values(hub))  # the decrypted file really reached helm
    assert_clean(repo, marker, done.stdout, done.stderr, report_file.read_text())


def test_failure_redacts_the_secret_from_helms_error(kube_cluster, custom_repo, marker, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("s", False)], secrets={"s": marker})
    hub = repo.hub("s")
    # An API server echoing an invalid value back, as Kubernetes validation errors do.
    kube_cluster.inject_error(
        422,
        namespace=hub,
        resource="secrets",
        name="hub",
        verb="create",
        message=f'Secret "hub" is invalid: data[password]: Invalid value: "{marker}"',
    )
    report_file = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--report", str(report_file))
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(report_file.read_text())["results"][0]
    assert result["status"] == "failed"
    assert 'Invalid value: "***"' in result["error"] and 'Invalid value: "***"' in done.stderr
    assert_clean(repo, marker, done.stdout, done.stderr, report_file.read_text())


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [
        (signal.SIGINT, 130, "Interrupted; cleaned up."),
        (signal.SIGTERM, 143, "Terminated; cleaned up."),
    ],
)
def test_interrupted_mid_deploy(kube_cluster, custom_repo, marker, signum, code, message):
    repo = custom_repo(kube_cluster, hubs=[("s", True), ("p", False)], secrets={"s": marker, "p": marker})
    kube_cluster.readiness = False  # helm --wait blocks: the deploy is mid-flight with the secret decrypted
    proc = repo.popen("deploy", "t", "--timeout", "120s")
    deadline = time.monotonic() + 60
    while not list(repo.tmpdir.rglob("decrypted-*")):
        assert proc.poll() is None and time.monotonic() < deadline, "the deploy never decrypted its secret"
        time.sleep(0.05)
    while not repo.history(repo.hub("s")):  # helm has started the install (and waits, readiness being off)
        assert proc.poll() is None and time.monotonic() < deadline, "helm never started the install"
        time.sleep(0.1)
    time.sleep(0.5)  # helm is waiting with the decrypted file
    started = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert time.monotonic() - started < 20
    assert message in stderr
    assert_clean(repo, marker, stdout, stderr)
    # helm got SIGTERM from the deployer and recorded the release as failed, not stuck pending
    assert repo.history(repo.hub("s"))[-1]["status"] == "failed"
    assert repo.history(repo.hub("p")) == []


def test_template_and_diff_mask_secrets_rendered_outside_secrets(kube_cluster_session, custom_repo, marker):
    # a decrypted value the chart renders into a ConfigMap (basehub's hub-identity), not a Secret
    repo = custom_repo(kube_cluster_session, hubs=[("s", False)], secrets={"s": marker})
    hub = repo.hub("s")
    secret = repo.cluster_dir() / "enc-s.secret.values.yaml"
    secret.write_text(f"identity:\n  displayName: {marker}\n")
    sops_encrypt(secret, demo_recipient())

    shown = repo.deployer("template", "t", hub, "--show-secrets")
    assert shown.returncode == 0, shown.stderr
    assert f'displayName: "{marker}"' in shown.stdout  # the value really is rendered outside a Secret
    masked = repo.deployer("template", "t", hub)
    assert masked.returncode == 0 and 'displayName: "***"' in masked.stdout
    changes = repo.deployer("diff", "t", hub)
    assert changes.returncode == 1, changes.stderr
    assert "***" in changes.stdout
    assert_clean(repo, marker, masked.stdout, masked.stderr, changes.stdout, changes.stderr)


def every_form(value: str) -> dict[str, str]:
    """How helm, the Kubernetes API and our own output may print ``value`` (see deployer.redact)."""
    raw = value.encode()
    forms = {
        "raw": value,
        "go %q": go_quote(value),
        "json": json.dumps(value)[1:-1],
        "json in json": json.dumps(json.dumps(value))[1:-1],
        "yaml double-quoted": yaml.dump(value, default_style='"', width=10**6).strip()[1:-1],
        "yaml single-quoted": value.replace("'", "''"),
        "base64": base64.b64encode(raw).decode(),
        "base64 url-safe unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "lower case": value.lower(),
    }
    # what would give the value away: its unique part, however printed
    return {name: form for name, form in forms.items() if form}


def test_failure_redacts_a_quoted_escaped_secret_in_every_form(kube_cluster, custom_repo, marker, tmp_path):
    # A value with a double quote, a backslash and a single quote: every printer escapes it differently.
    value = f"{marker}\"q\\z'x"
    repo = custom_repo(kube_cluster, hubs=[("s", False)], secrets={"s": value})
    secret_file = repo.cluster_dir() / "enc-s.secret.values.yaml"
    secret_file.write_text(
        "jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: " + json.dumps(value) + "\n"
    )
    sops_encrypt(secret_file, demo_recipient())
    hub = repo.hub("s")
    forms = every_form(value)
    # The API server echoing the value back as Kubernetes does (Go-quoted), and in the other forms a server, a
    # webhook or helm itself may use: each of them must be hidden.
    kube_cluster.inject_error(
        422,
        namespace=hub,
        resource="secrets",
        name="hub",
        verb="create",
        message='Secret "hub" is invalid: ' + ", ".join(f'{name}: Invalid value: "{f}"' for name, f in forms.items()),
    )
    report_file = tmp_path / "report.json"
    summary = tmp_path / "summary.md"
    done = repo.deployer(
        "deploy", "t", "--report", str(report_file), env={**repo.env(), "GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(report_file.read_text())["results"][0]
    assert result["status"] == "failed"
    assert 'go %q: Invalid value: "***"' in result["error"] and 'base64: Invalid value: "***"' in done.stderr
    assert "go %q: Invalid value" in summary.read_text()
    texts = {
        "stdout": done.stdout,
        "stderr": done.stderr,
        "report": report_file.read_text(),
        "summary": summary.read_text(),
    }
    for where, text in texts.items():
        for name, form in forms.items():
            assert form not in text, f"{name} form of the secret in {where}"
        assert marker.lower() not in text.lower(), where
    assert not repo.leftovers()
