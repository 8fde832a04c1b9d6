"""The example fleet (config/clusters/) is valid, lists as documented, and fails cleanly without its key."""

import json
import os
import subprocess
import sys

import pytest

from helpers import PROJECT, run_deployer


def test_example_fleet_validates(demo_key_env):
    proc = run_deployer("validate", env=demo_key_env, cwd=PROJECT)
    assert proc.returncode == 0, proc.stderr
    assert "the fleet: no problems found." in proc.stdout


def test_example_fleet_validates_without_keys_with_no_decrypt(demo_key_env):
    """CI for a fork's pull request: no keys, secret files read as sops stores them."""
    env = {k: v for k, v in demo_key_env.items() if k != "SOPS_AGE_KEY_FILE"}
    proc = run_deployer("validate", "--no-decrypt", env=env, cwd=PROJECT)
    assert proc.returncode == 0, proc.stderr
    assert "secret file(s) read without decryption" in proc.stderr and "cannot decrypt" not in proc.stderr
    proc = run_deployer("validate", env=env, cwd=PROJECT)
    assert proc.returncode == 2 and "cannot decrypt" in proc.stderr


def test_example_fleet_has_what_the_docs_promise(cli):
    result = cli("--repo", str(PROJECT), "list", "--json", env={})
    assert result.code == 0, result.output
    fleet = {c["cluster"]: c for c in json.loads(result.out)}
    providers = {c["provider"] for c in fleet.values()}
    assert providers == {"gcp", "aws", "azure", "kubeconfig"}
    local = fleet["local"]
    assert local["support"] and [h["canary"] for h in local["hubs"]].count(True) >= 1
    assert any(not h["canary"] for h in local["hubs"])
    aws = fleet["demo-aws"]
    assert [h["canary"] for h in aws["hubs"]].count(True) == 1 and len(aws["hubs"]) == 3
    assert "daskhub" in {h["chart"] for h in aws["hubs"]}


def test_list_table(cli):
    result = cli("--repo", str(PROJECT), "list", env={})
    assert result.code == 0
    header, *rows = result.out.splitlines()
    assert header.split() == ["CLUSTER", "PROVIDER", "HUB", "CHART", "CANARY", "DOMAIN"]
    assert any(r.split()[:5] == ["local", "kubeconfig", "staging", "basehub", "yes"] for r in rows)


def test_validate_one_cluster_and_hub(cli, demo_key_env):
    result = cli("--repo", str(PROJECT), "validate", "local", "staging", env=demo_key_env)
    assert result.code == 0, result.output
    assert "cluster local (hubs staging)" in result.out


@pytest.mark.parametrize(
    "args, words",
    [
        (("validate", "nope"), "no cluster named 'nope'; known clusters: demo-aws, demo-azure, demo-gcp, local"),
        (("validate", "local", "nohub"), "no hub named 'nohub' in cluster 'local'; its hubs: staging, prod"),
    ],
)
def test_unknown_cluster_or_hub(cli, demo_key_env, args, words):
    result = cli("--repo", str(PROJECT), *args, env=demo_key_env)
    assert result.code == 2 and words in result.err and "Traceback" not in result.output


def test_without_the_key_every_secret_file_is_named_and_the_rest_still_checked(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    if os.environ.get("DEPLOYER_CHART_MIRROR"):
        env["DEPLOYER_CHART_MIRROR"] = os.environ["DEPLOYER_CHART_MIRROR"]  # fresh clones: the pinned charts
    proc = run_deployer("validate", env=env, cwd=PROJECT)
    assert proc.returncode == 2
    secret_files = sorted(
        str(p.relative_to(PROJECT)) for p in PROJECT.glob("config/clusters/*/enc-*.secret.values.yaml")
    )
    # said once, on the first file, with the count of the others (the exact line: tests/config/test_messages.py)
    [line] = [line for line in proc.stderr.splitlines() if "cannot decrypt" in line]
    assert line.startswith(f"{secret_files[0]}: cannot decrypt this file and {len(secret_files) - 1} more (")
    assert "Traceback" not in proc.stderr


def test_help_imports_no_heavy_module():
    code = (
        "import sys\n"
        "from deployer.cli import run\n"
        "run(['--help'])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('google', 'boto3', 'botocore', 'azure', 'kubernetes', 'jupyterhub', 'jsonschema', 'ruamel')]\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
