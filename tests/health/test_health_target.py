"""Finding the hub to check: its URL from the config, and the health-check token from the hub's Secret, read
with the Kubernetes API client (``deployer.kube``) through the cluster's provider (``kubeconfig``) from the local
Kubernetes API stand-in. (With a cloud provider's exec-plugin token: tests/auth/test_kube.py.)"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from deployer.errors import UsageError
from deployer.health import hub_target
from deployer.health.target import SECRET_KEY

CLUSTER = """\
name: c1
provider: kubeconfig
kubeconfig:
  context: {context}
hubs:
  - name: h1
    domain: h1.c1.example.org
    helm_chart: basehub
    helm_chart_values_files: [h1.values.yaml]
"""


def config_repo(tmp_path: Path, context: str = "deployer-local") -> Path:
    root = tmp_path / "repo"
    cdir = root / "config" / "clusters" / "c1"
    cdir.mkdir(parents=True)
    (cdir / "cluster.yaml").write_text(CLUSTER.format(context=context))
    (cdir / "h1.values.yaml").write_text("{}\n")
    return root


def put_token(kube, namespace: str, token: str) -> None:
    """The Secret the JupyterHub chart renders for basehub's deployer-health-check service."""
    kube.kubectl("create", "namespace", namespace)
    kube.kubectl(
        "create",
        "secret",
        "generic",
        "hub",
        "--namespace",
        namespace,
        f"--from-literal={SECRET_KEY}={token}",
        "--from-literal=hub.config.JupyterHub.cookie_secret=x",
    )


def test_cluster_mode_reads_the_token_from_the_hubs_secret(cli, kube_cluster, jupyterhub_session, tmp_path):
    hub = jupyterhub_session
    root = config_repo(tmp_path, kube_cluster.context)
    env = {"KUBECONFIG": str(kube_cluster.kubeconfig)}
    name = hub.unique_user("cluster")

    put_token(kube_cluster, "h1", "a-stale-token")  # proves where the token comes from: the hub refuses this one
    stale = cli("--repo", str(root), "health-check", "c1", "h1", "--url", hub.url, env=env)
    assert stale.code == 2 and "refused the API token" in stale.err, stale.output

    kube_cluster.kubectl("delete", "secret", "hub", "--namespace", "h1")
    kube_cluster.kubectl(
        "create", "secret", "generic", "hub", "--namespace", "h1", f"--from-literal={SECRET_KEY}={hub.token}"
    )
    result = cli("--repo", str(root), "health-check", "c1", "h1", "--url", hub.url, "--user", name, env=env)
    assert result.code == 0, result.output
    assert "c1/h1 is healthy" in result.out
    assert hub.token not in result.output  # the token is never shown


def test_missing_secret_or_key_is_bad_input(cli, kube_cluster, tmp_path):
    root = config_repo(tmp_path, kube_cluster.context)
    env = {"KUBECONFIG": str(kube_cluster.kubeconfig)}
    kube_cluster.kubectl("create", "namespace", "h1")
    missing = cli("--repo", str(root), "health-check", "c1", "h1", env=env)
    assert missing.code == 2, missing.output
    assert (
        "Secret 'hub' in namespace 'h1' of cluster 'c1' does not exist: deploy the hub first (deployer deploy "
        "c1 h1), or pass --token"
    ) in missing.err

    kube_cluster.kubectl("create", "secret", "generic", "hub", "--namespace", "h1", "--from-literal=other=x")
    no_key = cli("--repo", str(root), "health-check", "c1", "h1", env=env)
    assert no_key.code == 2, no_key.output
    assert f"has no key '{SECRET_KEY}'" in no_key.err and "deployer-health-check" in no_key.err


def test_an_unknown_context_is_bad_input(cli, tmp_path):
    root = config_repo(tmp_path, "no-such-context")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    result = cli("--repo", str(root), "health-check", "c1", "h1", env={"KUBECONFIG": str(kubeconfig)})
    assert result.code == 2, result.output
    assert result.err.startswith(
        "config/clusters/c1/cluster.yaml:4: kubeconfig.context 'no-such-context' is not a context of the kubeconfig "
        f"{kubeconfig}; its contexts: (none)"
    ), result.err
    assert "Traceback" not in result.err


GOOD_KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "c",
    "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:9"}}],
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}}}],
}


def _broken(change):
    def apply(config):
        change(config)
        return json.dumps(config).encode()

    return apply


def _user(config):
    return config["users"][0]["user"]


@pytest.mark.parametrize(
    "broken, words",
    [
        (_broken(lambda c: c["users"][0].update(user="abc")), "users[0] ('u'): 'user' must be a mapping"),
        (
            _broken(lambda c: _user(c).update(exec="plugin")),
            "users[0] ('u'): 'user.exec' must be a mapping",
        ),
        (
            _broken(lambda c: _user(c)["exec"].update(env=[{"name": "A"}])),
            "users[0] ('u'): 'user.exec.env[0]' needs a 'name' and a 'value', both strings",
        ),
        (
            _broken(lambda c: _user(c)["exec"].update(env=[{"value": "secret-value-9"}])),
            "users[0] ('u'): 'user.exec.env[0]' needs a 'name' and a 'value', both strings",
        ),
        (_broken(lambda c: _user(c)["exec"].pop("command")), "users[0] ('u'): 'user.exec' names no command"),
        (_broken(lambda c: _user(c)["exec"].update(args="-v")), "'user.exec.args' must be a list of strings"),
        (_broken(lambda c: c["contexts"][0].update(context=["k"])), "contexts[0] ('c'): 'context' must be a mapping"),
        (_broken(lambda c: c.update(users={"u": {}})), "'users' must be a list"),
        (_broken(lambda c: c["clusters"].append("k2")), "clusters[1] must be a mapping with a 'name'"),
        (_broken(lambda c: c.update({"current-context": ["c"]})), "'current-context' must be a context name"),
        (
            lambda c: b"apiVersion: v1\nkind: Config # caf\xe9\n",
            "(line 2: is not UTF-8 text (byte 0xe9): save the file as UTF-8)",
        ),
    ],
    ids=[
        "user-not-mapping",
        "exec-not-mapping",
        "env-no-value",
        "env-no-name",
        "exec-no-command",
        "args-not-list",
        "context-not-mapping",
        "users-not-list",
        "cluster-entry-not-mapping",
        "current-context-not-name",
        "not-utf8",
    ],
)
def test_a_malformed_kubeconfig_is_bad_input_naming_the_file(cli, tmp_path, broken, words):
    root = config_repo(tmp_path, "c")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(broken(copy.deepcopy(GOOD_KUBECONFIG)))
    result = cli("--repo", str(root), "health-check", "c1", "h1", env={"KUBECONFIG": str(kubeconfig)})
    assert result.code == 2, result.output
    assert result.err.startswith(f"{kubeconfig}: not a valid kubeconfig ("), result.err
    assert words in result.err and ("fix the file" in result.err or "save the file" in result.err), result.err
    assert "Traceback" not in result.err and "secret-value-9" not in result.err


def test_a_null_user_is_an_empty_one_as_for_kubectl(cli, tmp_path):
    root = config_repo(tmp_path, "c")
    config = copy.deepcopy(GOOD_KUBECONFIG)
    config["users"][0]["user"] = None  # no credentials: the request goes out (to a port nothing listens on)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    result = cli("--repo", str(root), "health-check", "c1", "h1", env={"KUBECONFIG": str(kubeconfig)})
    assert result.code == 1, result.output
    assert "the Kubernetes API could not be reached" in result.err and "Traceback" not in result.err


def test_unreachable_cluster_is_a_failed_operation(cli, kube_cluster, tmp_path):
    root = config_repo(tmp_path, kube_cluster.context)
    kubeconfig = tmp_path / "kubeconfig"  # the stand-in's kubeconfig, its server moved to a port nothing listens on
    kubeconfig.write_text(
        re.sub(r"server: https://[^\s]+", "server: https://127.0.0.1:9", kube_cluster.kubeconfig.read_text())
    )
    result = cli("--repo", str(root), "health-check", "c1", "h1", env={"KUBECONFIG": str(kubeconfig)})
    assert result.code == 1, result.output
    assert (
        "cannot read the Secret 'hub' in namespace 'h1' of cluster 'c1': the Kubernetes API could not be "
        "reached" in result.err
    )
    assert "Traceback" not in result.err


def test_forbidden_is_bad_input_about_the_credentials(cli, kube_cluster, tmp_path):
    root = config_repo(tmp_path, kube_cluster.context)
    put_token(kube_cluster, "h1", "a-token")
    kube_cluster.inject_error(403, verb="get", resource="secrets", namespace="h1")  # as RBAC would refuse it
    result = cli("--repo", str(root), "health-check", "c1", "h1", env={"KUBECONFIG": str(kube_cluster.kubeconfig)})
    assert result.code == 2, result.output
    assert "the credentials are not allowed to (403 Forbidden)" in result.err and "a-token" not in result.err
    assert "Traceback" not in result.err


def test_url_comes_from_the_domain_and_unknown_hubs_are_bad_input(tmp_path):
    root = config_repo(tmp_path)
    target = hub_target("c1", "h1", root=root, env={}, token="s3cr3t-token")
    assert (target.url, target.token, target.cluster, target.hub) == (
        "https://h1.c1.example.org/",
        "s3cr3t-token",
        "c1",
        "h1",
    )
    assert "s3cr3t" not in repr(target)  # the token stays out of reprs and logs
    with pytest.raises(UsageError, match="no hub named 'h9' in cluster 'c1'; its hubs: h1"):
        hub_target("c1", "h9", root=root, env={}, token="t")


def test_url_and_token_need_no_config(cli, tmp_path):
    # any hub: nothing is read from a config repository (there is none here) and no cluster is contacted
    result = cli(
        "health-check",
        "anywhere",
        "any-hub",
        "--url",
        "http://127.0.0.1:9/",
        "--token",
        "t",
        "--timeout",
        "2",
        cwd=tmp_path,
    )
    assert result.code == 1 and "anywhere/any-hub is unhealthy: step 'hub-api' failed" in result.err


def test_token_from_the_environment(cli, jupyterhub_session):
    hub = jupyterhub_session
    env = {"JUPYTERHUB_API_TOKEN": "a-token-from-the-environment"}
    result = cli("health-check", "c", "h", "--url", hub.url, env=env)
    assert result.code == 2 and "refused the API token" in result.err  # it was used; and --token wins over it:
    result = cli(
        "health-check", "c", "h", "--url", hub.url, "--token", hub.token, "--user", hub.unique_user("flag"), env=env
    )
    assert result.code == 0 and "refused" not in result.err, result.output


def test_url_and_token_need_no_cluster_or_hub_names(cli, tmp_path):
    # the help promises any hub checked directly: CLUSTER and HUB are optional then, and only label the report
    report = tmp_path / "health.json"
    args = ["--url", "http://127.0.0.1:9/", "--token", "t", "--timeout", "2", "--report", str(report)]
    result = cli("health-check", *args, cwd=tmp_path)
    assert result.code == 1, result.output
    assert "the hub at http://127.0.0.1:9/ is unhealthy: step 'hub-api' failed" in result.err
    data = json.loads(report.read_text())
    assert (data["cluster"], data["hub"], data["url"]) == ("", "", "http://127.0.0.1:9/")


@pytest.mark.parametrize(
    "args, env",
    [
        ((), {}),
        (("c1",), {}),
        (("--url", "http://127.0.0.1:9/"), {}),  # a URL without a token still needs the hub's config
        (("c1", "--token", "t"), {}),
        (("--url", "http://127.0.0.1:9/"), {"JUPYTERHUB_API_TOKEN": ""}),
    ],
)
def test_without_url_and_token_cluster_and_hub_are_required(cli, tmp_path, args, env):
    result = cli("health-check", *args, env=env, cwd=tmp_path)
    assert result.code == 2 and "Traceback" not in result.output, result.output
    [line] = result.err.splitlines()
    assert line == (
        "health-check needs CLUSTER and HUB (deployer health-check CLUSTER HUB), or --url URL and --token TOKEN "
        "(or JUPYTERHUB_API_TOKEN) to check any hub directly"
    )
