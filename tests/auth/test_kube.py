"""``deployer.kube``: the Kubernetes API client opened from a provider's ``ClusterAccess``, against the local stand-in
(which checks bearer tokens): every provider's token reaches it (the cloud ones through the deployer's exec
credential plugin, run through the runner), the kubeconfig comes from the env mapping handed in and never from
``os.environ``, an exec plugin gets the kubeconfig's ``env`` entries and is run again when its token expires, and
failures are typed errors that say what to do."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from authkit import STATIC_TOKEN
from deployer.auth import PROVIDERS, ClusterAccess, cluster_access
from deployer.errors import DeployerError, UsageError
from deployer.kube import api_client, secret_data
from deployer.run import Runner

# provider -> (cluster of the auth tests' repository, the env fixture it needs, prefix of the token the stand-in sees)
CASES = {
    "kubeconfig": ("kc-file", "base_env", STATIC_TOKEN),
    "aws": ("eks", "base_env", "k8s-aws-v1."),
    "gcp": ("gke", "base_env", "gke-fake-"),
    "azure": ("aks", "base_env", "aks-fake-"),
}


def test_every_provider_has_a_case():
    assert set(CASES) == set(PROVIDERS)


def put_secret(api, data: dict[str, str]) -> str:
    """A new namespace holding Secret ``hub`` with ``data`` (plain text; stored base64-encoded)."""
    from kubernetes.client import CoreV1Api, V1Namespace, V1ObjectMeta, V1Secret

    namespace = f"k-{uuid.uuid4().hex[:8]}"
    core = CoreV1Api(api)
    core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name=namespace)))
    core.create_namespaced_secret(namespace, V1Secret(metadata=V1ObjectMeta(name="hub"), string_data=data))
    return namespace


@pytest.mark.parametrize("provider", sorted(CASES))
def test_every_providers_token_reads_a_secret(provider, request, repo, standin, token_policy, workdir):
    name, env_fixture, prefix = CASES[provider]
    env = request.getfixturevalue(env_fixture)
    runner = Runner()
    seen_before = len(token_policy.presented)
    with (
        cluster_access(repo.cluster(name), root=repo.root, env=env, workdir=workdir, runner=runner) as access,
        api_client(access, env=env, workdir=workdir, runner=runner) as api,
    ):
        namespace = put_secret(api, {"k": "the value"})
        data = secret_data(api, namespace, "hub", doing="read it")
        assert data is not None and data["k"] == "dGhlIHZhbHVl"  # base64, as the API gives it
        assert secret_data(api, namespace, "nothing-here", doing="read it") is None
    new = token_policy.presented[seen_before:]
    assert len(new) >= 3 and all(token.startswith(prefix) for token in new), [t[:20] for t in new]
    plugin_runs = [r for r in runner.records if "deployer.auth.plugin" in r.argv and "token" in r.argv]
    assert bool(plugin_runs) == (provider != "kubeconfig")  # the exec plugin ran through the runner
    assert os.listdir(workdir) == []


def test_the_kubeconfig_comes_from_the_env_handed_in_not_os_environ(repo, base_env, workdir, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "not-this-one"))
    env = {**base_env, "KUBECONFIG": f"{tmp_path / 'missing'}{os.pathsep}{repo.kubeconfig}"}  # merged, as kubectl
    with api_client(ClusterAccess(kubeconfig=None, context="deployer-local"), env=env, workdir=workdir) as api:
        assert put_secret(api, {"k": "v"})
    monkeypatch.setenv("KUBECONFIG", str(repo.kubeconfig))  # a good one in os.environ is not used either
    without = {k: v for k, v in base_env.items() if k != "KUBECONFIG"}
    with (
        pytest.raises(UsageError, match=f"no kubeconfig found at {base_env['HOME']}/.kube/config"),
        api_client(ClusterAccess(kubeconfig=None), env=without, workdir=workdir),
    ):
        pass


PLUGIN = """#!{python}
import json, os, sys, time
with open({count!r}, "a") as f:
    f.write("run\\n")
problems = [v for v in ("FROM_KUBECONFIG", "FROM_ENV") if v not in os.environ]
if "ONLY_IN_OS_ENVIRON" in os.environ:
    problems.append("ONLY_IN_OS_ENVIRON leaked")
if json.loads(os.environ["KUBERNETES_EXEC_INFO"])["apiVersion"] != "client.authentication.k8s.io/v1":
    problems.append("KUBERNETES_EXEC_INFO")
if problems:
    sys.exit("plugin: " + ", ".join(problems))
stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + float(os.environ["FROM_KUBECONFIG"])))
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": {token!r}, "expirationTimestamp": stamp}}}}))
"""


def exec_kubeconfig(repo, tmp_path: Path, lifetime: float) -> tuple[Path, Path]:
    """The stand-in's kubeconfig with an exec user: a script that checks its environment and prints a token."""
    count = tmp_path / "runs"
    script = tmp_path / "plugin"
    script.write_text(PLUGIN.format(python=sys.executable, count=str(count), token=STATIC_TOKEN))
    script.chmod(0o755)
    config = yaml.safe_load(repo.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "./plugin",
                "env": [{"name": "FROM_KUBECONFIG", "value": str(lifetime)}],
                "interactiveMode": "Never",
            }
        }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return path, count


@pytest.mark.parametrize(("lifetime", "runs"), [(3600, 1), (5, 3)])  # renewed 10 s before it expires
def test_an_exec_plugin_gets_the_kubeconfigs_env_and_is_run_again_when_its_token_expires(
    lifetime, runs, repo, base_env, workdir, tmp_path, monkeypatch, token_policy
):
    kubeconfig, count = exec_kubeconfig(repo, tmp_path, lifetime)
    monkeypatch.setenv("ONLY_IN_OS_ENVIRON", "x")
    env = {**base_env, "FROM_ENV": "y"}
    with api_client(ClusterAccess(kubeconfig=kubeconfig, context="deployer-local"), env=env, workdir=workdir) as api:
        namespace = put_secret(api, {"k": "v"})  # two requests: the namespace, the Secret
    assert namespace and count.read_text().splitlines() == ["run"] * runs
    assert token_policy.presented[-1] == STATIC_TOKEN


def test_a_failing_exec_plugin_is_bad_input_with_its_message(repo, base_env, workdir, tmp_path):
    kubeconfig, _ = exec_kubeconfig(repo, tmp_path, 3600)
    with (
        pytest.raises(UsageError) as caught,
        api_client(ClusterAccess(kubeconfig=kubeconfig), env=base_env, workdir=workdir),
    ):  # FROM_ENV is missing
        pass
    assert "the kubeconfig's credential plugin (plugin) failed (exit 1)" in caught.value.render()
    assert "plugin: FROM_ENV" in caught.value.render()


def test_refused_credentials_and_an_unreachable_server(repo, base_env, workdir, tmp_path):
    bad_token = tmp_path / "bad-token"
    config = yaml.safe_load(repo.kubeconfig.read_text())
    config["users"][0]["user"] = {"token": "not-accepted"}
    bad_token.write_text(json.dumps(config))
    refused = pytest.raises(
        UsageError,
        match="cannot read it: the Kubernetes API refused the credentials "
        r"\(401 Unauthorized\); check or renew",
    )
    with api_client(ClusterAccess(kubeconfig=bad_token), env=base_env, workdir=workdir) as api, refused:
        secret_data(api, "default", "hub", doing="read it")
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"
    unreachable = tmp_path / "unreachable"
    unreachable.write_text(json.dumps(config))
    with (
        api_client(ClusterAccess(kubeconfig=unreachable), env=base_env, workdir=workdir) as api,
        pytest.raises(DeployerError) as caught,
    ):
        secret_data(api, "default", "hub", doing="read it")
    assert caught.value.exit_code == 1 and "the Kubernetes API could not be reached" in str(caught.value)
