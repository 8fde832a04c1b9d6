"""The exec credential plugin: the ExecCredential it prints, its token cache (a cache hit imports no SDK), what it
says once the run that made the kubeconfig has ended; a missing extra; and the commands that must not import any
cloud SDK."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time

import pytest

from authkit import leftovers
from deployer.auth import cluster_access
from helpers import DEMO_KEY, PROJECT

SDKS = (
    "boto3",
    "botocore",
    "google",
    "azure",
    "msal",
    "grpc",
    "moto",
    "deployer.auth.aws",
    "deployer.auth.gcp",
    "deployer.auth.azure",
    "kubernetes",
    "jupyterhub",
)

PROBE = """
import sys, time
from deployer.auth import plugin
start = time.perf_counter()
code = plugin.main(["token", sys.argv[1]])
elapsed = time.perf_counter() - start
loaded = sorted(m for m in ("boto3", "google.auth", "azure.identity") if m in sys.modules)
print(f"{code} {elapsed:.3f} {','.join(loaded) or '-'}", file=sys.stderr)
"""


def plugin(folder, env, code: str = PROBE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, str(folder)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("cluster,sdk", [("eks", "boto3"), ("gke", "google.auth"), ("aks", "azure.identity")])
def test_exec_credential_and_cache(cluster, sdk, repo, base_env, workdir):
    with cluster_access(repo.cluster(cluster), root=repo.root, env=base_env, workdir=workdir) as access:
        assert access.kubeconfig is not None
        folder = access.kubeconfig.parent
        cached = plugin(folder, base_env)  # the describe step cached a first token: no SDK needed
        code, _, loaded = cached.stderr.split()[-3:]
        assert (code, loaded) == ("0", "-"), cached.stderr
        credential = json.loads(cached.stdout)
        assert credential["apiVersion"] == "client.authentication.k8s.io/v1"
        assert credential["kind"] == "ExecCredential" and credential["status"]["token"]
        expires = datetime.datetime.strptime(credential["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
        left = expires.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()
        assert 10 * 60 < left < 60 * 60
        (folder / "token.json").unlink()
        fresh = plugin(folder, base_env)  # a cache miss mints a new token with the SDK
        code, _, loaded = fresh.stderr.split()[-3:]
        assert code == "0" and sdk in loaded.split(","), fresh.stderr
        assert json.loads(fresh.stdout)["status"]["token"]
        assert (folder / "token.json").stat().st_mode & 0o777 == 0o600
    gone = subprocess.run(
        [sys.executable, "-m", "deployer.auth.plugin", "token", str(folder)],
        env=base_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 1 and "credentials are gone" in gone.stderr and gone.stdout == ""


BLOCKED = {"aws": "boto3", "gcp": "google.auth", "azure": "azure.identity"}
CLUSTER = {"aws": "eks", "gcp": "gke", "azure": "aks"}


@pytest.mark.parametrize("provider", sorted(BLOCKED))
def test_missing_extra_names_it(provider, repo, base_env):
    """The SDK made unimportable in the child (None in sys.modules): nothing is uninstalled."""
    code = (
        f"import sys; sys.modules[{BLOCKED[provider]!r}] = None\n"
        "from deployer.cli import main\n"
        f"main(['use-cluster-credentials', {CLUSTER[provider]!r}, '--', 'true'])\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code], env=base_env, cwd=repo.root, capture_output=True, text=True, timeout=60
    )
    assert got.returncode == 2, got.stderr
    assert f"pip install 'deployer[{provider}]'" in got.stderr and "Traceback" not in got.stderr
    assert leftovers(base_env) == []


def test_help_validate_and_generate_matrix_import_no_cloud_sdk():
    code = (
        "import sys\n"
        "from deployer.cli import run\n"
        "codes = [run(['--help']), run(['validate']),"
        " run(['generate-matrix', 'config/clusters/demo-aws/cluster.yaml']),"
        " run(['use-cluster-credentials', '--help'])]\n"
        f"heavy = sorted(m for m in sys.modules if m in {SDKS!r} or m.split('.')[0] in {SDKS!r})\n"
        "print('RESULT', codes, heavy)\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        **{k: v for k, v in os.environ.items() if k == "DEPLOYER_CHART_MIRROR"},
    }  # validate builds charts/
    got = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    result = next(line for line in got.stdout.splitlines() if line.startswith("RESULT"))
    assert result == "RESULT [0, 0, 0, 0] []", got.stderr[-2000:]


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a": ', "- just\n- a list\n"])
def test_a_key_file_that_is_no_mapping_of_credentials_is_an_auth_error(tmp_path, text):
    """A decrypted key file nested absurdly deep, truncated or of the wrong shape: one AuthError naming the key
    file, never a RecursionError traceback."""
    from deployer.auth._base import State
    from deployer.errors import AuthError

    (tmp_path / "key.json").write_text(text)
    state = State(folder=tmp_path, provider="gcp", cluster="c1", settings={}, key="key.json", key_source="enc-k.json")
    with pytest.raises(AuthError) as raised:
        state.key_data()
    assert "key file" in str(raised.value)
