"""``deployer values CLUSTER HUB|--support``: the merged values helm gets, masked by origin, with ``--origin``."""

from __future__ import annotations

import json
import uuid

import pytest

from deployer import yamlio
from helm_majors import helm_binary  # noqa: F401 - a fixture
from helpers import DEMO_KEY, demo_recipient, sops_encrypt

MARKER = "MINI-SECRET-MARKER-4711"  # the password in mini_repo's enc-h1.secret.values.yaml


@pytest.fixture
def repo(mini_repo):
    """mini_repo with h1's own file overriding a common key and a last plain file overriding a secret's key."""
    c1 = mini_repo / "config" / "clusters" / "c1"
    (c1 / "h1.values.yaml").write_text("identity:\n  cluster: c1-override\n  displayName: Hub one\n")
    enc = c1 / "enc-h1.secret.values.yaml"
    enc.write_text(
        "identity:\n  displayName: HIDDEN-NAME\n"
        f"jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: {MARKER}\n"
    )
    sops_encrypt(enc, demo_recipient())
    (c1 / "after.values.yaml").write_text("identity:\n  displayName: Public name\n")
    cluster = c1 / "cluster.yaml"
    cluster.write_text(
        cluster.read_text().replace(
            "      - enc-h1.secret.values.yaml\n", "      - enc-h1.secret.values.yaml\n      - after.values.yaml\n"
        )
    )
    return mini_repo


KEY = {"SOPS_AGE_KEY_FILE": str(DEMO_KEY)}


def test_the_values_are_what_helm_got(cli, repo, kube_cluster_session, helm_binary, tmp_path):
    # the user-supplied values of the deployed release, as each helm major stored them
    kube = kube_cluster_session
    hub = f"h1-{uuid.uuid4().hex[:6]}"
    cluster = repo / "config" / "clusters" / "c1" / "cluster.yaml"
    text = cluster.read_text().replace("  - name: h1\n", f"  - name: {hub}\n")
    cluster.write_text(text.replace("context: deployer-local", f"context: {kube.context}"))
    env = {**KEY, "KUBECONFIG": str(kube.kubeconfig), "DEPLOYER_HELM": str(helm_binary)}
    deployed = cli("--repo", str(repo), "deploy", "c1", hub, env=env)
    assert deployed.code == 0, deployed.output
    got = json.loads(kube.helm("get", "values", hub, "-n", hub, "-o", "json", env=helm_binary.env(tmp_path)).stdout)

    shown = cli("--repo", str(repo), "values", "c1", hub, "--show-secrets", env=env)
    assert shown.code == 0, shown.output
    assert yamlio.loads(shown.out) == got
    assert got["jupyterhub"]["hub"]["config"]["DummyAuthenticator"]["password"] == MARKER
    assert got["identity"] == {"cluster": "c1-override", "displayName": "Public name"}  # the order of the files
    assert got["deployer"]["hub"]["name"] == hub  # the generated facts came first


def test_masked_by_origin_without_a_key(cli, repo):
    done = cli("--repo", str(repo), "values", "c1", "h1")  # no SOPS_AGE_KEY_FILE: keys are read from the sops file
    assert done.code == 0, done.output
    values = yamlio.loads(done.out)
    password = values["jupyterhub"]["hub"]["config"]["DummyAuthenticator"]["password"]
    assert password == "<secret from enc-h1.secret.values.yaml>"
    assert values["identity"]["displayName"] == "Public name"  # the encrypted file's value lost to a plain file
    assert "sops" not in values and "ENC[" not in done.out and MARKER not in done.out
    assert "HIDDEN-NAME" not in done.output


def test_origin_names_the_winning_file_and_line(cli, repo):
    plain = cli("--repo", str(repo), "values", "c1", "h1")
    done = cli("--repo", str(repo), "values", "c1", "h1", "--origin")
    assert done.code == 0, done.output
    assert yamlio.loads(done.out) == yamlio.loads(plain.out)  # still YAML, same values
    lines = done.out.splitlines()
    assert (
        "  cluster: c1-override  # from config/clusters/c1/h1.values.yaml:2, "
        "overrides config/clusters/c1/common.values.yaml:2"
    ) in lines
    assert (
        "  displayName: Public name  # from config/clusters/c1/after.values.yaml:2, "
        "overrides config/clusters/c1/enc-h1.secret.values.yaml:2"
    ) in lines
    assert "    name: h1  # from deployer-facts.values.yaml (cluster.yaml:9)" in lines
    assert "    hosts:  # from deployer-facts.values.yaml (cluster.yaml:9)" in lines
    assert "        password: <secret from enc-h1.secret.values.yaml>  # from " in done.out


@pytest.mark.parametrize("args", [("--support",), ("support",)])
def test_support_release(cli, mini_repo, args):
    done = cli("--repo", str(mini_repo), "values", "c1", *args)
    assert done.code == 0, done.output
    assert done.out == "clusterIssuer:\n  enabled: false\n"  # no generated facts for the support chart


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("c1", "hh1"), {}, "config/clusters/c1/cluster.yaml: no hub named 'hh1' (did you mean 'h1'?)"),
        (("c2", "h1"), {}, "no cluster named 'c2'"),
        (("c1",), {}, "give either a HUB or --support"),
        (("c1", "h1", "--support"), {}, "give either a HUB or --support"),
        (("c1", "h2", "--show-secrets"), {}, None),  # h2 has no encrypted file: no key needed
        (("c1", "h1", "--show-secrets"), {"SOPS_AGE_KEY_FILE": "/nonexistent"}, "enc-h1.secret.values.yaml"),
    ],
)
def test_bad_input(cli, mini_repo, args, env, expected):
    done = cli("--repo", str(mini_repo), "values", *args, env=env)
    if expected is None:
        assert done.code == 0, done.output
        return
    assert done.code == 2, done.output
    assert expected in done.err and "Traceback" not in done.output and done.out == ""


def test_a_missing_values_file_names_cluster_yaml_line(cli, mini_repo):
    (mini_repo / "config" / "clusters" / "c1" / "h2.values.yaml").unlink()
    done = cli("--repo", str(mini_repo), "values", "c1", "h2")
    assert done.code == 2, done.output
    assert done.err.startswith("config/clusters/c1/cluster.yaml:22: ")
    assert "'h2.values.yaml' does not exist" in done.err and len(done.err.strip().splitlines()) <= 2
