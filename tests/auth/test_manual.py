"""How each provider is reached by hand (``deployer.auth.manual``, printed by ``deploy --dry-run``): the lines, and
the same lines RUN by bash against stub CLIs that check their arguments (tests/clistubs.py), with real sops
decrypting real encrypted keys. The stubs leave behind what the real tools do (a stored gcloud key, an az token
cache, a kubeconfig), so the promise of the printed comments is checked too: nothing lands in HOME, and the private
folder is gone when the script ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from clistubs import calls, install_stubs
from deployer import helm_argv
from deployer.auth import MANUAL, PROVIDERS, manual_access
from deployer.config.model import AwsSpec, AzureSpec, ClusterConfig, GcpSpec, KubeconfigSpec
from deployer.shellwords import shell_join
from deployer.tools import find_tool
from helpers import DEMO_KEY, PROJECT, demo_recipient, sops_encrypt

KC = '"$access_dir/kubeconfig"'
FOLDER = 'access_dir="$(mktemp -d)"; trap \'rm -rf "$access_dir"\' EXIT'
ROLE = "arn:aws:iam::123456789012:role/deployer"
TENANT = "00000000-0000-4000-8000-000000000002"
KEYS: dict[str, dict[str, Any]] = {  # key file -> its plaintext
    "enc-kc.yaml": {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []},
    "enc-key.json": {"type": "service_account", "client_email": "deployer@p.iam.gserviceaccount.com"},
    "enc-aws.yaml": {"aws_access_key_id": "AKIAEXAMPLE000000000", "aws_secret_access_key": "aws-secret"},
    "enc-aws-session.yaml": {
        "aws_access_key_id": "ASIAEXAMPLE000000000",
        "aws_secret_access_key": "aws-secret",
        "aws_session_token": "session-token",
    },
    "enc-sp.yaml": {"client_id": "sp-id", "client_secret": "-starts-with-a-dash", "tenant_id": TENANT},
}
CASES: dict[str, tuple[Any, list[str] | None, list[str]]] = {  # name -> (spec, non-comment lines, helm's flags)
    "kubeconfig-ambient": (KubeconfigSpec(context="ctx"), [], ["--kube-context", "ctx"]),
    "kubeconfig-current": (KubeconfigSpec(), [], []),
    "kubeconfig-file": (
        KubeconfigSpec(file="enc-kc.yaml", context="ctx"),
        [FOLDER, f"sops --decrypt config/clusters/c1/enc-kc.yaml > {KC}"],
        ["--kubeconfig", KC, "--kube-context", "ctx"],
    ),
    "gcp-key": (
        GcpSpec(project="p", location="us-central1", cluster="k", key="enc-key.json"),
        [
            FOLDER,
            f'export CLOUDSDK_CONFIG="$access_dir" KUBECONFIG={KC}',
            "gcloud auth activate-service-account --key-file=<(sops --decrypt config/clusters/c1/enc-key.json)",
            "gcloud container clusters get-credentials k --project p --location us-central1",
        ],
        ["--kubeconfig", KC],
    ),
    "gcp-adc": (
        GcpSpec(project="p", location="europe-west1-b", cluster="k"),
        [
            FOLDER,
            f"export KUBECONFIG={KC}",
            "gcloud container clusters get-credentials k --project p --location europe-west1-b",
        ],
        ["--kubeconfig", KC],
    ),
    "aws-key-role": (
        AwsSpec(account_id="123456789012", region="us-west-2", cluster="k", role_arn=ROLE, key="enc-aws.yaml"),
        [
            FOLDER,
            """AWS_ACCESS_KEY_ID="$(sops --decrypt --extract '["aws_access_key_id"]' """
            """config/clusters/c1/enc-aws.yaml)\"""",
            """AWS_SECRET_ACCESS_KEY="$(sops --decrypt --extract '["aws_secret_access_key"]' """
            """config/clusters/c1/enc-aws.yaml)\"""",
            """AWS_SESSION_TOKEN="$(sops --decrypt --extract '["aws_session_token"]' config/clusters/c1/enc-aws.yaml """
            """2>/dev/null)" || unset AWS_SESSION_TOKEN""",
            "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; unset AWS_PROFILE",
            f"aws eks update-kubeconfig --name k --region us-west-2 --role-arn {ROLE} --kubeconfig {KC}",
        ],
        ["--kubeconfig", KC],
    ),
    "aws-key-session": (
        AwsSpec(account_id="123456789012", region="eu-west-1", cluster="k", key="enc-aws-session.yaml"),
        None,
        ["--kubeconfig", KC],
    ),
    "aws-default-chain": (
        AwsSpec(account_id="123456789012", region="us-west-2", cluster="k"),
        [FOLDER, f"aws eks update-kubeconfig --name k --region us-west-2 --kubeconfig {KC}"],
        ["--kubeconfig", KC],
    ),
    "azure-key": (
        AzureSpec(subscription_id="s-1", resource_group="rg", cluster="k", key="enc-sp.yaml"),
        [
            FOLDER,
            'export AZURE_CONFIG_DIR="$access_dir"',
            """client_id="$(sops --decrypt --extract '["client_id"]' config/clusters/c1/enc-sp.yaml)\"""",
            """client_secret="$(sops --decrypt --extract '["client_secret"]' config/clusters/c1/enc-sp.yaml)\"""",
            """tenant_id="$(sops --decrypt --extract '["tenant_id"]' config/clusters/c1/enc-sp.yaml)\"""",
            'az login --service-principal --username "$client_id" --password="$client_secret" --tenant "$tenant_id" '
            "--output none",
            f"az aks get-credentials --resource-group rg --name k --subscription s-1 --file {KC}",
            f"kubelogin convert-kubeconfig --login azurecli --kubeconfig {KC}",
        ],
        ["--kubeconfig", KC],
    ),
    "azure-key-tenant": (
        AzureSpec(subscription_id="s-1", resource_group="rg", cluster="k", tenant_id=TENANT, key="enc-sp.yaml"),
        None,
        ["--kubeconfig", KC],
    ),
    "azure-default": (
        AzureSpec(subscription_id="s-1", resource_group="rg", cluster="k", tenant_id=TENANT),
        [
            FOLDER,
            f"az aks get-credentials --resource-group rg --name k --subscription s-1 --file {KC}",
            f"kubelogin convert-kubeconfig --login azurecli --kubeconfig {KC}",
        ],
        ["--kubeconfig", KC],
    ),
}
# name -> the calls the stubs must record, in order: (tool, argv); "<KC>" is the private kubeconfig's path
EXPECTED_CALLS = {
    "kubeconfig-ambient": [],
    "kubeconfig-current": [],
    "kubeconfig-file": [("sops", ["--decrypt", "config/clusters/c1/enc-kc.yaml"])],
    "gcp-key": [
        ("sops", ["--decrypt", "config/clusters/c1/enc-key.json"]),
        ("gcloud", ["auth", "activate-service-account", "--key-file=/dev/fd/*"]),
        ("gcloud", ["container", "clusters", "get-credentials", "k", "--project", "p", "--location", "us-central1"]),
    ],
    "gcp-adc": [
        ("gcloud", ["container", "clusters", "get-credentials", "k", "--project", "p", "--location", "europe-west1-b"])
    ],
    "aws-key-role": [
        ("sops", ["--decrypt", "--extract", '["aws_access_key_id"]', "config/clusters/c1/enc-aws.yaml"]),
        ("sops", ["--decrypt", "--extract", '["aws_secret_access_key"]', "config/clusters/c1/enc-aws.yaml"]),
        ("sops", ["--decrypt", "--extract", '["aws_session_token"]', "config/clusters/c1/enc-aws.yaml"]),
        (
            "aws",
            [
                "eks",
                "update-kubeconfig",
                "--name",
                "k",
                "--region",
                "us-west-2",
                "--role-arn",
                ROLE,
                "--kubeconfig",
                "<KC>",
            ],
        ),
    ],
    "aws-key-session": [
        ("sops", ["--decrypt", "--extract", '["aws_access_key_id"]', "config/clusters/c1/enc-aws-session.yaml"]),
        ("sops", ["--decrypt", "--extract", '["aws_secret_access_key"]', "config/clusters/c1/enc-aws-session.yaml"]),
        ("sops", ["--decrypt", "--extract", '["aws_session_token"]', "config/clusters/c1/enc-aws-session.yaml"]),
        ("aws", ["eks", "update-kubeconfig", "--name", "k", "--region", "eu-west-1", "--kubeconfig", "<KC>"]),
    ],
    "aws-default-chain": [
        ("aws", ["eks", "update-kubeconfig", "--name", "k", "--region", "us-west-2", "--kubeconfig", "<KC>"])
    ],
    "azure-key": [
        ("sops", ["--decrypt", "--extract", '["client_id"]', "config/clusters/c1/enc-sp.yaml"]),
        ("sops", ["--decrypt", "--extract", '["client_secret"]', "config/clusters/c1/enc-sp.yaml"]),
        ("sops", ["--decrypt", "--extract", '["tenant_id"]', "config/clusters/c1/enc-sp.yaml"]),
        (
            "az",
            [
                "login",
                "--service-principal",
                "--username",
                "sp-id",
                "--password=-starts-with-a-dash",
                "--tenant",
                TENANT,
                "--output",
                "none",
            ],
        ),
        (
            "az",
            [
                "aks",
                "get-credentials",
                "--resource-group",
                "rg",
                "--name",
                "k",
                "--subscription",
                "s-1",
                "--file",
                "<KC>",
            ],
        ),
        ("kubelogin", ["convert-kubeconfig", "--login", "azurecli", "--kubeconfig", "<KC>"]),
    ],
    "azure-key-tenant": [
        ("sops", ["--decrypt", "--extract", '["client_id"]', "config/clusters/c1/enc-sp.yaml"]),
        ("sops", ["--decrypt", "--extract", '["client_secret"]', "config/clusters/c1/enc-sp.yaml"]),
        (
            "az",
            [
                "login",
                "--service-principal",
                "--username",
                "sp-id",
                "--password=-starts-with-a-dash",
                "--tenant",
                TENANT,
                "--output",
                "none",
            ],
        ),
        (
            "az",
            [
                "aks",
                "get-credentials",
                "--resource-group",
                "rg",
                "--name",
                "k",
                "--subscription",
                "s-1",
                "--file",
                "<KC>",
            ],
        ),
        ("kubelogin", ["convert-kubeconfig", "--login", "azurecli", "--kubeconfig", "<KC>"]),
    ],
    "azure-default": [
        (
            "az",
            [
                "aks",
                "get-credentials",
                "--resource-group",
                "rg",
                "--name",
                "k",
                "--subscription",
                "s-1",
                "--file",
                "<KC>",
            ],
        ),
        ("kubelogin", ["convert-kubeconfig", "--login", "azurecli", "--kubeconfig", "<KC>"]),
    ],
}


def cluster(spec) -> ClusterConfig:
    provider = {GcpSpec: "gcp", AwsSpec: "aws", AzureSpec: "azure", KubeconfigSpec: "kubeconfig"}[type(spec)]
    return ClusterConfig(name="c1", provider=provider, spec=spec, dir="config/clusters/c1")


def test_every_provider_says_how_it_is_reached_by_hand_without_its_sdk():
    assert set(MANUAL) == set(PROVIDERS) and {c[0].__class__ for c in CASES.values()} >= {
        GcpSpec,
        AwsSpec,
        AzureSpec,
        KubeconfigSpec,
    }
    code = (
        "import sys\nfrom deployer.auth import manual_access\nfrom deployer.config.model import *\n"
        "manual_access(ClusterConfig('c', 'gcp', GcpSpec('p', 'l', 'k', 'enc-k.json'), 'config/clusters/c'))\n"
        "manual_access(ClusterConfig('c', 'aws', AwsSpec('1', 'r', 'k'), 'config/clusters/c'))\n"
        "manual_access(ClusterConfig('c', 'azure', AzureSpec('s', 'g', 'k'), 'config/clusters/c'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('google', 'boto3', 'botocore', 'azure')"
        " or m in ('deployer.auth.gcp', 'deployer.auth.aws', 'deployer.auth.azure')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert done.stdout.strip() == "[]"


def test_a_dry_run_imports_no_sdk_and_no_kubernetes_client():
    code = (
        "import sys\nfrom deployer.cli import run\n"
        f"codes = [run(['--repo', {str(PROJECT)!r}, 'deploy', c, '--dry-run']) for c in "
        "('demo-gcp', 'demo-aws', 'demo-azure')]\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('google', 'boto3', 'botocore', 'azure', "
        "'kubernetes'))\nprint('RESULT', codes, heavy)\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=120
    )
    assert "RESULT [0, 0, 0] []" in done.stdout.splitlines(), done.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_lines_and_helms_flags(name):
    spec, commands, flags = CASES[name]
    access = manual_access(cluster(spec))
    if commands is not None:
        assert [line for line in access.lines if not line.startswith("#")] == commands
    assert access.target.args() == flags
    comments = " ".join(line.removeprefix("# ") for line in access.lines if line.startswith("#"))
    assert "cluster c1:" in comments
    if spec.__class__ is not KubeconfigSpec or spec.file:
        assert "private temporary" in comments and "when this script exits" in comments
    assert all(len(line) <= 120 for line in access.lines if line.startswith("#"))


@pytest.fixture(scope="module")
def key_repo(tmp_path_factory) -> Path:
    """A repository folder with every key file of CASES, sops-encrypted to the demo key, and a chart."""
    root = tmp_path_factory.mktemp("manual")
    folder = root / "config" / "clusters" / "c1"
    folder.mkdir(parents=True)
    for name, data in KEYS.items():
        path = folder / name
        path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data))
        sops_encrypt(path, demo_recipient())
    (root / "chart").mkdir()
    (root / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    return root


def run_script(lines: list[str], root: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[dict], dict]:
    """``lines`` run by bash (as the dry run prints them: ``set -euo pipefail`` first) with the stubs first on PATH."""
    stubs, home, tmp = tmp_path / "stubs", tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {
        **install_stubs(stubs, real_sops=find_tool("sops", PROJECT), helm_major=4),
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "AWS_PROFILE": "someone-else",
        "AWS_SESSION_TOKEN": "not-this-one",
    }
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + "\n".join(lines) + "\n"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, calls(stubs), {"home": sorted(home.rglob("*")), "tmp": sorted(tmp.rglob("*"))}


def matches(got: list[str], expected: list[str], kubeconfig: str | None) -> bool:
    if len(got) != len(expected):
        return False
    for word, want in zip(got, expected, strict=True):
        if want == "<KC>":
            want = kubeconfig or ""
        if want.endswith("*") and word.startswith(want[:-1]):
            continue
        if word != want:
            return False
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_lines_run_against_stub_clis(name, key_repo, tmp_path):
    spec, _, _ = CASES[name]
    access = manual_access(cluster(spec))
    helm = shell_join(
        ["helm", *helm_argv.upgrade_args("r", "chart", namespace="r", values_files=[], major=4, target=access.target)]
    )
    done, recorded, left = run_script([*access.lines, helm], key_repo, tmp_path)
    assert done.returncode == 0, (done.stderr, recorded)
    assert all("error" not in call for call in recorded), recorded
    *access_calls, helm_call = recorded
    if [c["tool"] for c in access_calls[:2]] == ["gcloud", "sops"]:  # `gcloud ... <(sops ...)`: both run at once,
        access_calls[:2] = access_calls[1::-1]  # so their records come in either order
    kubeconfig = helm_call["argv"][helm_call["argv"].index("--kubeconfig") + 1] if access.target.kubeconfig else None
    expected = EXPECTED_CALLS[name]
    assert [c["tool"] for c in access_calls] == [tool for tool, _ in expected], access_calls
    for call, (_, argv) in zip(access_calls, expected, strict=True):
        assert matches(call["argv"], argv, kubeconfig), (call["argv"], argv)
    assert helm_call["tool"] == "helm" and helm_call["command"] == ["upgrade"]
    if kubeconfig:  # the private folder was made by mktemp in TMPDIR, and every CLI wrote inside it
        assert Path(kubeconfig).parent.parent == tmp_path / "tmp"
        for call in access_calls:
            for var in ("CLOUDSDK_CONFIG", "AZURE_CONFIG_DIR"):
                if var in call["env"]:
                    assert call["env"][var] == str(Path(kubeconfig).parent)
    aws = [c for c in access_calls if c["tool"] == "aws"]
    if aws and isinstance(spec, AwsSpec) and spec.key:  # the key file's keys, only them: no profile, no token
        keys = KEYS[spec.key]  # from elsewhere
        assert aws[0]["env"]["AWS_ACCESS_KEY_ID"] == keys["aws_access_key_id"]
        assert aws[0]["env"]["AWS_SECRET_ACCESS_KEY"] == keys["aws_secret_access_key"]
        assert aws[0]["env"].get("AWS_SESSION_TOKEN") == keys.get("aws_session_token")
        assert "AWS_PROFILE" not in aws[0]["env"]
    assert left == {"home": [], "tmp": []}  # nothing in HOME; the trap removed the private folder


@pytest.mark.parametrize(
    ("name", "typo", "complaint"),
    [
        ("azure-default", ("az aks get-credentials", "az ask get-credentials"), "'ask' is not a az command"),
        ("azure-default", ("--resource-group rg ", ""), "requires --resource-group or -g"),
        ("gcp-adc", ("--location", "--locaton"), "unknown flag --locaton"),
        ("aws-default-chain", ("update-kubeconfig", "update-kubeconfg"), "'eks update-kubeconfg' is not a aws command"),
        (
            "azure-key",
            ('--password="$client_secret"', '--password "$client_secret"'),
            "--password expects one argument",
        ),
        ("kubeconfig-file", ("sops --decrypt", "sops --decrpyt"), "unknown flag --decrpyt"),
    ],
)
def test_a_wrong_command_fails_the_script(name, typo, complaint, key_repo, tmp_path):
    spec, _, _ = CASES[name]
    old, new = typo
    lines = [line.replace(old, new) for line in manual_access(cluster(spec)).lines]
    assert lines != list(manual_access(cluster(spec)).lines)
    done, _, left = run_script(lines, key_repo, tmp_path)
    assert done.returncode != 0 and complaint in done.stderr, done.stderr
    assert left["tmp"] == []
