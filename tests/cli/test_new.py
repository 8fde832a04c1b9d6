"""``deployer new cluster`` / ``deployer new hub`` on a copy of the example fleet, with the real sops and the demo
age key: what they write validates (and deploys with --dry-run), cluster.yaml keeps its text, the secret decrypts to
the health check's token, and every refusal exits 2 with one line and nothing written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from deployer import yamlio
from deployer.health.target import SECRET_KEY
from deployer.secrets import decrypt
from helpers import PROJECT

AWS = ["--account-id", "123456789012", "--region", "eu-west-1", "--cluster-name", "eks1"]
PROVIDER_OPTIONS = {
    "gcp": ["--project", "my-project-1", "--location", "europe-west1", "--cluster-name", "gke1"],
    "aws": [*AWS, "--role-arn", "arn:aws:iam::123456789012:role/deployer"],
    "azure": [
        *("--subscription-id", "00000000-0000-4000-8000-00000000000a"),
        *("--resource-group", "rg", "--cluster-name", "aks1", "--tenant-id", "00000000-0000-4000-8000-00000000000b"),
    ],
    "kubeconfig": ["--context", "ctx"],
}


@pytest.fixture
def fleet(tmp_path, built_helm_charts) -> Path:
    """A copy of the example fleet (config, schemas, .sops.yaml) using the session's built charts."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    shutil.copy(PROJECT / ".sops.yaml", root / ".sops.yaml")
    (root / "helm-charts").symlink_to(built_helm_charts)  # only read
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    base = root / "config"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def test_new_cluster_for_each_provider_validates(cli, fleet, demo_key_env):
    for provider, options in PROVIDER_OPTIONS.items():
        name = f"new-{provider}"
        result = cli("--repo", str(fleet), "new", "cluster", name, "--provider", provider, *options, env=demo_key_env)
        assert result.code == 0, result.output
        folder = fleet / "config" / "clusters" / name
        assert sorted(p.name for p in folder.iterdir()) == ["cluster.yaml", "support.values.yaml"]
        data = yamlio.load(folder / "cluster.yaml")
        assert (data["name"], data["provider"], data["support"]) == (
            name,
            provider,
            {"helm_chart_values_files": ["support.values.yaml"]},
        )
        assert set(data[provider]) == {re.sub("-name$", "", o[2:]).replace("-", "_") for o in options[::2]}
    assert yamlio.load(fleet / "config/clusters/new-aws/cluster.yaml")["aws"]["account_id"] == "123456789012"
    # the first hub of a new cluster: a `hubs:` list appended after what `new cluster` wrote
    cluster_yaml = fleet / "config/clusters/new-kubeconfig/cluster.yaml"
    written = cluster_yaml.read_text()
    first = cli(
        "--repo", str(fleet), "new", "hub", "new-kubeconfig", "first", "--domain", "f.example.org", env=demo_key_env
    )
    assert first.code == 0, first.output
    assert cluster_yaml.read_text().startswith(written + "hubs:\n")
    checked = cli("--repo", str(fleet), "validate", env=demo_key_env)  # the whole fleet, independently
    assert checked.code == 0, checked.output


def test_new_hubs_validate_keep_cluster_yaml_and_carry_the_health_token(cli, fleet, demo_key_env):
    before = {c: (fleet / f"config/clusters/{c}/cluster.yaml").read_text() for c in ("local", "demo-aws")}
    new_hub = ("--repo", str(fleet), "new", "hub")
    base = cli(*new_hub, "local", "lab", "--domain", "lab.example.org", "--canary", env=demo_key_env)
    assert base.code == 0, base.output
    dask = cli(*new_hub, "demo-aws", "dlab", "--domain", "dlab.example.org", "--chart", "daskhub", env=demo_key_env)
    assert dask.code == 0, dask.output
    assert "validated, no problems found" in base.out and "validated, no problems found" in dask.out

    for cluster, hub, chart, canary in (("local", "lab", "basehub", True), ("demo-aws", "dlab", "daskhub", False)):
        folder = fleet / "config" / "clusters" / cluster
        after = (folder / "cluster.yaml").read_text()
        assert after.startswith(before[cluster])  # comments, order, quoting and layout kept: only lines appended
        added = after[len(before[cluster]) :]
        assert added.startswith(f"  - name: {hub}\n") and "#" not in added
        entry = yamlio.load(folder / "cluster.yaml")["hubs"][-1]
        assert entry == {
            "name": hub,
            "domain": f"{hub}.example.org",
            "helm_chart": chart,
            **({"canary": True} if canary else {}),
            "helm_chart_values_files": [f"{hub}.values.yaml", f"enc-{hub}.secret.values.yaml"],
        }
        secret = folder / f"enc-{hub}.secret.values.yaml"
        clear = decrypt(secret, display=secret.name, env=demo_key_env, root=fleet)
        stored = yamlio.load(secret)
        if chart == "daskhub":  # basehub's values nest under `basehub:`
            clear, stored = clear["basehub"], stored["basehub"]
        # the health check reads the token from the Secret `hub`, key SECRET_KEY: the JupyterHub chart's key for
        # jupyterhub.<SECRET_KEY> in basehub's values
        for key in ["jupyterhub", *SECRET_KEY.split(".")]:
            clear, stored = clear[key], stored[key]
        assert re.fullmatch("[0-9a-f]{64}", clear) and stored.startswith("ENC[AES256_GCM,")
        assert clear not in secret.read_text()

    checked = cli("--repo", str(fleet), "validate", env=demo_key_env)
    assert checked.code == 0, checked.output
    dry = cli("--repo", str(fleet), "deploy", "--dry-run", "local", "lab", env=demo_key_env)
    assert dry.code == 0, dry.output
    assert "enc-lab.secret.values.yaml" in dry.out and "lab.values.yaml" in dry.out


@pytest.mark.parametrize(
    "args, words",
    [
        (("hub", "local", "staging", "--domain", "x.example.org"), "already has a hub named 'staging'"),
        (("hub", "local", "lab", "--domain", "HUB.gcp.demo.example.org"), "--domain: must match the pattern"),
        (("hub", "local", "lab", "--domain", "hub.gcp.demo.example.org"), "is already used by hub 'prod'"),
        (("hub", "demo-aws", "lab", "--domain", "prod.local.demo.example.org"), "already used by hub 'prod'"),
        (("hub", "locl", "lab", "--domain", "x.example.org"), "no cluster named 'locl' (did you mean 'local'?)"),
        (("hub", "local", "Lab_1", "--domain", "x.example.org"), "HUB: must match the pattern"),
        (("hub", "local", "support", "--domain", "x.example.org"), "HUB: 'support' is the release"),
        (("hub", "local", "common", "--domain", "x.example.org"), "common.values.yaml: already exists"),
        (("cluster", "local", "--provider", "kubeconfig"), "a cluster named 'local' already exists"),
        (("cluster", "Bad", "--provider", "kubeconfig"), "NAME: must match the pattern"),
        (("cluster", "c2", "--provider", "aws", "--region", "eu-west-1"), "needs --account-id, --cluster-name"),
        (("cluster", "c2", "--provider", "aws", *AWS[2:], "--account-id", "12"), "--account-id: must match"),
        (("cluster", "c2", "--provider", "gcp", "--context", "x"), "--context does not go with --provider gcp"),
    ],
)
def test_refused_with_one_line_and_nothing_written(cli, fleet, demo_key_env, args, words):
    before = snapshot(fleet)
    result = cli("--repo", str(fleet), "new", *args, env=demo_key_env)
    assert result.code == 2 and result.out == "", result.output
    assert words in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert snapshot(fleet) == before


def test_no_sops_rule_or_no_key_writes_nothing(cli, fleet, demo_key_env):
    before = snapshot(fleet)
    sops_yaml = fleet / ".sops.yaml"
    sops_yaml.write_text(sops_yaml.read_text().replace("path_regex: config/clusters", "path_regex: elsewhere"))
    no_rule = cli("--repo", str(fleet), "new", "hub", "local", "lab", "--domain", "x.example.org", env=demo_key_env)
    assert no_rule.code == 2 and "enc-lab.secret.values.yaml: no creation rule of .sops.yaml" in no_rule.err
    sops_yaml.unlink()
    no_config = cli("--repo", str(fleet), "new", "hub", "local", "lab", "--domain", "x.example.org", env=demo_key_env)
    assert no_config.code == 2 and "no .sops.yaml at the repository root" in no_config.err
    assert snapshot(fleet) == before

    # a recipient to encrypt to but no key to check the result with: written, validated, failed, all undone
    shutil.copy(PROJECT / ".sops.yaml", sops_yaml)
    keyless = {k: v for k, v in demo_key_env.items() if k != "SOPS_AGE_KEY_FILE"}
    undone = cli("--repo", str(fleet), "new", "hub", "local", "lab", "--domain", "x.example.org", env=keyless)
    assert undone.code == 2 and "nothing was kept" in undone.err and "cannot decrypt" in undone.err, undone.output
    assert snapshot(fleet) == before


def test_round_trip_keeps_another_layout(tmp_path):
    """A file indented with 4 spaces, with comments and quotes: appending changes nothing else."""
    path = tmp_path / "cluster.yaml"
    text = 'name: c  # the name\nkubeconfig:\n    context: "ctx"\nhubs:\n    - name: a\n      domain: a.org\n'
    path.write_text(text)
    edit = yamlio.round_trip(path)
    edit.append("hubs", {"name": "b", "files": ["x"]})
    out = edit.dumps()
    assert out.startswith(text) and yamlio.loads(out)["hubs"][1] == {"name": "b", "files": ["x"]}
