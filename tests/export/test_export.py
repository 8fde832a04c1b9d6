"""Right to Replicate, proven: every hub of the example fleet exports to a folder that plain helm (and sops)
deploys, in an environment where the deployer cannot even be imported, to the same manifests the deployer
produces; and an export holds no decrypted secret unless asked."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deployer.secrets import decrypt
from deployer.tools import find_tool
from helm_majors import helm_binary  # noqa: F401 - a fixture
from helpers import DEMO_KEY, PROJECT, run_deployer

HUBS = [
    (c.parent.name, h["name"])
    for c in sorted(PROJECT.glob("config/clusters/*/cluster.yaml"))
    for h in yaml.safe_load(c.read_text()).get("hubs") or []
]


@pytest.fixture(scope="session")
def fleet_copy(chart_cache, tmp_path_factory) -> Path:
    """The example fleet with its charts' real dependencies built (from the chart mirror, if set), once per session."""
    root = tmp_path_factory.mktemp("export") / "repo"
    shutil.copytree(PROJECT / "config", root / "config")
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    shutil.copy(PROJECT / ".sops.yaml", root / ".sops.yaml")
    chart_cache.copy_charts(PROJECT / "helm-charts", root / "helm-charts")
    return root


def deployer(root: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return run_deployer("--repo", str(root), *args, env=env, timeout=180)


def base_env(tmp: Path, **extra: str) -> dict:
    return {"PATH": os.environ["PATH"], "HOME": str(tmp), "SOPS_AGE_KEY_FILE": str(DEMO_KEY), **extra}


def plain_env(tmp: Path, kube, helm: Path | None = None) -> dict:
    """Only helm (``helm``, or the one on PATH) and sops (and the system's basic commands): no deployer, no project
    venv on PATH."""
    tools = tmp / "plain-bin"
    tools.mkdir(exist_ok=True)
    for name in ("helm", "sops"):
        target = tools / name
        if not target.exists():
            target.symlink_to(os.path.realpath(helm if name == "helm" and helm else find_tool(name)))
    return {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(tmp),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "KUBECONFIG": str(kube.kubeconfig),
        "KUBECACHEDIR": str(tmp / "kube-cache"),
    }


def normalised(manifest: str) -> list[dict]:
    """The manifest's objects, hooks left out, Secret values replaced by their keys and pod templates' ``checksum/*``
    annotations by their names: the JupyterHub chart draws random tokens where its ``lookup`` finds no Secret (a
    first install, or ``template``), and checksums of them."""
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    out = []
    for doc in docs:
        if "helm.sh/hook" in ((doc.get("metadata") or {}).get("annotations") or {}):
            continue
        template = (doc.get("spec") or {}).get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        for key in [k for k in annotations if k.startswith("checksum/")]:
            annotations[key] = "(random on a first install)"
        if doc.get("kind") == "Secret":
            for field in ("data", "stringData"):
                if isinstance(doc.get(field), dict):
                    doc[field] = sorted(doc[field])
        out.append(doc)
    return sorted(out, key=lambda d: (d.get("kind", ""), d["metadata"].get("name", "")))


def run_deploy_sh(bundle: Path, env: dict, context: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(bundle / "deploy.sh"), "--kube-context", context],
        env=env,
        cwd=bundle.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("cluster, hub", HUBS, ids=[f"{c}-{h}" for c, h in HUBS])
def test_every_hub_exports_and_deploys_with_plain_helm(fleet_copy, kube_cluster, tmp_path, cluster, hub, helm_binary):
    bundle = tmp_path / "bundle"
    done = deployer(fleet_copy, "export", cluster, hub, str(bundle), env=base_env(tmp_path))
    assert done.returncode == 0, done.stderr
    # no deployer command (its generated values file, a plain file of the bundle, is named after it)
    assert "deployer" not in (bundle / "deploy.sh").read_text().replace("deployer-facts.values.yaml", "")

    env = plain_env(tmp_path, kube_cluster, helm_binary.path)
    python = shutil.which("python3", path=env["PATH"])
    if python:  # the deployer is not importable where deploy.sh runs
        probe = subprocess.run([python, "-c", "import deployer"], env=env, cwd=tmp_path, capture_output=True)
        assert probe.returncode != 0
    before = revisions(kube_cluster, hub)  # a long-lived cluster may hold this release from an earlier run
    result = run_deploy_sh(bundle, env, kube_cluster.context)
    assert result.returncode == 0, result.stderr
    live = kube_cluster.helm("get", "manifest", hub, "-n", hub).stdout
    by_plain_helm = revisions(kube_cluster, hub)
    assert by_plain_helm[-1] == (before[-1] if before else 0) + 1

    if cluster == "local":
        # the same hub deployed by the deployer itself: an upgrade of the very same release, same manifests
        local = fleet_copy / "config/clusters/local/cluster.yaml"
        local.write_text(local.read_text().replace("context: deployer-local", f"context: {kube_cluster.context}"))
        deployed = deployer(
            fleet_copy,
            "deploy",
            "local",
            hub,
            "--no-support",
            env=base_env(
                tmp_path,
                KUBECONFIG=str(kube_cluster.kubeconfig),
                KUBECACHEDIR=str(tmp_path / "kube-cache"),
                DEPLOYER_HELM=str(helm_binary),
            ),
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert revisions(kube_cluster, hub)[-1] == by_plain_helm[-1] + 1  # an upgrade of the very same release
        by_deployer = kube_cluster.helm("get", "manifest", hub, "-n", hub).stdout
        assert normalised(by_deployer) == normalised(live)
    else:
        # no cloud here: compare with what the deployer renders from exactly the deploy's inputs
        rendered = deployer(
            fleet_copy, "template", cluster, hub, env=base_env(tmp_path, DEPLOYER_HELM=str(helm_binary))
        )
        assert rendered.returncode == 0, rendered.stderr
        assert normalised(rendered.stdout) == normalised(live)


def revisions(kube, release: str) -> list[int]:
    done = kube.helm("history", release, "-n", release, "-o", "yaml", check=False)
    return [r["revision"] for r in yaml.safe_load(done.stdout) or []] if done.returncode == 0 else []


def secret_leaves(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, x in node.items() if k != "sops" for v in secret_leaves(x)]
    if isinstance(node, list):
        return [v for x in node for v in secret_leaves(x)]
    return [str(node)] if isinstance(node, str) and len(str(node)) >= 6 else []


def all_bytes(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_export_keeps_secrets_encrypted_unless_asked(fleet_copy, tmp_path):
    env = base_env(tmp_path)
    secrets = []
    for rel in ("config/clusters/local/enc-staging.secret.values.yaml",):
        secrets += secret_leaves(decrypt(fleet_copy / rel, display=rel, env=env))
    assert secrets
    bundle = tmp_path / "sealed"
    done = deployer(fleet_copy, "export", "local", "staging", str(bundle), env=env)
    assert done.returncode == 0, done.stderr
    content = all_bytes(bundle)
    assert not [s for s in secrets if s.encode() in content]
    assert (bundle / "values/enc-staging.secret.values.yaml").read_bytes() == (
        fleet_copy / "config/clusters/local/enc-staging.secret.values.yaml"
    ).read_bytes()
    assert yaml.safe_load((bundle / ".sops.yaml").read_text())["creation_rules"]

    clear = tmp_path / "clear"
    done = deployer(fleet_copy, "export", "local", "staging", str(clear), "--decrypt", env=env)
    assert done.returncode == 0 and "WARNING" in done.stderr and "plaintext" in done.stderr
    plain = clear / "values/staging.secret.values.yaml"
    assert all(s.encode() in plain.read_bytes() for s in secrets)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    assert "values/staging.secret.values.yaml   (secret, decrypted: plaintext, 0600)" in done.stdout
    assert "sops" not in (clear / "deploy.sh").read_text()
    assert not any(s in done.stdout + done.stderr for s in secrets)


def test_readme_names_what_is_specific_to_our_infrastructure(fleet_copy, tmp_path):
    bundle = tmp_path / "b"
    assert deployer(fleet_copy, "export", "demo-gcp", "prod", str(bundle), env=base_env(tmp_path)).returncode == 0
    readme = (bundle / "README.md").read_text()
    assert "`jupyterhub.singleuser.nodeSelector` in `values/common.values.yaml`" in readme
    assert "`jupyterhub.ingress.hosts` in `values/deployer-facts.values.yaml`" in readme
    assert "`deployer.hub.domain` in `values/deployer-facts.values.yaml`" in readme
    assert "hub.gcp.demo.example.org" in readme
    for name in ("deploy.sh", "chart/basehub/", "values/enc-prod.secret.values.yaml", ".sops.yaml"):
        assert f"`{name}`" in readme


def test_bad_input_writes_nothing(fleet_copy, tmp_path):
    env = base_env(tmp_path)
    for args, words in [(("nope", "staging"), "no cluster named 'nope'"), (("local", "nohub"), "no hub named 'nohub'")]:
        out = tmp_path / "out"
        done = deployer(fleet_copy, "export", *args, str(out), env=env)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr
        assert not out.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    done = deployer(fleet_copy, "export", "local", "staging", str(busy), env=env)
    assert done.returncode == 2 and "--force" in done.stderr and (busy / "keep.txt").read_text() == "mine"
    done = deployer(fleet_copy, "export", "local", "staging", str(busy), "--force", env=env)
    assert done.returncode == 0 and not (busy / "keep.txt").exists() and (busy / "deploy.sh").exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    for unsafe in (fleet_copy, fleet_copy.parent, fleet_copy / "config"):
        done = deployer(fleet_copy, "export", "local", "staging", str(unsafe), "--force", env=env)
        assert done.returncode == 2 and "the config repository" in done.stderr
    assert (fleet_copy / "config/clusters/local/cluster.yaml").is_file()


def fleet_with_layers(fleet_copy: Path, tmp_path: Path, *extra: tuple[str, str | None]) -> Path:
    """A copy of the fleet whose hub ``staging`` of ``local`` also lists ``extra``: (path in the cluster folder,
    content; None for a copy of its encrypted secret file, which sops decrypts wherever it lies)."""
    root = tmp_path / "repo"
    shutil.copytree(fleet_copy, root, symlinks=True)
    folder = root / "config/clusters/local"
    for rel, content in extra:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            shutil.copyfile(folder / "enc-staging.secret.values.yaml", folder / rel)
        else:
            (folder / rel).write_text(content)
    cluster = folder / "cluster.yaml"
    listed = "      - enc-staging.secret.values.yaml\n"
    assert cluster.read_text().count(listed) == 1
    cluster.write_text(cluster.read_text().replace(listed, listed + "".join(f"      - {r}\n" for r, _ in extra)))
    return root


def values_flags(script: str) -> list[str]:
    return [line.split("--values ", 1)[1].rstrip(" \\") for line in script.splitlines() if "--values " in line]


@pytest.mark.e2e
def test_values_files_of_the_same_name_keep_their_folders(fleet_copy, kube_cluster, tmp_path):
    env_a = "jupyterhub:\n  hub:\n    extraEnv:\n      FROM_A: layer-a\n"
    env_b = "jupyterhub:\n  hub:\n    extraEnv:\n      FROM_B: layer-b\n"
    root = fleet_with_layers(
        fleet_copy,
        tmp_path,
        ("teams/a/extra.values.yaml", env_a),
        ("teams/b/extra.values.yaml", env_b),
        ("teams/b/enc-staging.secret.values.yaml", None),
    )
    sealed = tmp_path / "sealed"
    done = deployer(root, "export", "local", "staging", str(sealed), env=base_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert values_flags((sealed / "deploy.sh").read_text())[-3:] == [
        "values/teams/a/extra.values.yaml",
        "values/teams/b/extra.values.yaml",
        "<(sops --decrypt values/teams/b/enc-staging.secret.values.yaml)",
    ]
    assert (sealed / "values/teams/a/extra.values.yaml").read_text() == env_a
    assert (sealed / "values/teams/b/extra.values.yaml").read_text() == env_b
    # the .sops.yaml stub's rule covers secret files in subfolders too
    [rule] = yaml.safe_load((sealed / ".sops.yaml").read_text())["creation_rules"]
    assert re.search(rule["path_regex"], "values/teams/b/enc-staging.secret.values.yaml")

    # deployable as it is: plain helm and sops get both layers
    release = f"layers-{os.getpid()}"
    env = {**plain_env(tmp_path, kube_cluster), "RELEASE": release, "NAMESPACE": release}
    result = run_deploy_sh(sealed, env, kube_cluster.context)
    assert result.returncode == 0, result.stderr
    values = yaml.safe_load(kube_cluster.helm("get", "values", release, "-n", release, "-o", "yaml").stdout)
    assert values["jupyterhub"]["hub"]["extraEnv"] == {"FROM_A": "layer-a", "FROM_B": "layer-b"}

    # --decrypt: both secret files of the same name decrypted, each in its own folder (it used to be a traceback)
    clear = tmp_path / "clear"
    done = deployer(root, "export", "local", "staging", str(clear), "--decrypt", env=base_env(tmp_path))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    for path in ("values/staging.secret.values.yaml", "values/teams/b/staging.secret.values.yaml"):
        assert f"{path}   (secret, decrypted: plaintext, 0600)" in done.stdout
        assert stat.S_IMODE((clear / path).stat().st_mode) == 0o600
        assert "sops" not in (clear / path).read_text()
    assert values_flags((clear / "deploy.sh").read_text())[-1] == "values/teams/b/staging.secret.values.yaml"


def test_decrypt_refuses_a_secret_file_whose_plain_name_is_taken(fleet_copy, tmp_path):
    # enc-common.values.yaml decrypts to common.values.yaml, the name of the hub's plain common layer
    root = fleet_with_layers(fleet_copy, tmp_path, ("enc-common.values.yaml", None))
    out = tmp_path / "out"
    done = deployer(root, "export", "local", "staging", str(out), "--decrypt", env=base_env(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--decrypt would write both" in done.stderr and "values/common.values.yaml" in done.stderr
    assert not out.exists() and [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    done = deployer(root, "export", "local", "staging", str(out), env=base_env(tmp_path))  # encrypted: no clash
    assert done.returncode == 0, done.stderr
    assert values_flags((out / "deploy.sh").read_text())[-1] == "<(sops --decrypt values/enc-common.values.yaml)"


WRITES_RECORDER = """\
import os, sys
log = open(sys.argv[1], "w")
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path, mode, flags = args
        if (mode and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)):
            log.write(os.path.abspath(os.fsdecode(path)) + "\\n")
            log.flush()
sys.addaudithook(hook)
from deployer.cli import main
main(sys.argv[2:])
"""


def test_decrypt_writes_plaintext_only_into_the_bundle(fleet_copy, tmp_path):
    # every file the deployer's process opens for writing, recorded by an audit hook (sops writes to a pipe)
    log, out = tmp_path / "writes.log", tmp_path / "out" / "clear"
    env = base_env(tmp_path, TMPDIR=str(tmp_path / "tmp"), PYTHONDONTWRITEBYTECODE="1")
    (tmp_path / "tmp").mkdir()
    script = [sys.executable, "-c", WRITES_RECORDER, str(log), "--repo", str(fleet_copy)]
    done = subprocess.run(
        [*script, "export", "local", "staging", str(out), "--decrypt"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    writes = log.read_text().splitlines()
    staging = str(out.parent / ".clear.")
    assert any(w.startswith(staging) and w.endswith("/values/staging.secret.values.yaml") for w in writes), writes
    assert [w for w in writes if not w.startswith(staging) and w != os.devnull] == []  # DEVNULL: a child's stdin
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_generated_facts_are_a_plain_values_file_listed_first(fleet_copy, tmp_path):
    """plain helm gets the hub's deployer-facts.values.yaml like any values file: first in deploy.sh and README."""
    from deployer.config.load import load_cluster
    from deployer.hubfacts import HubFacts, facts_text

    bundle = tmp_path / "b"
    assert deployer(fleet_copy, "export", "demo-aws", "dask", str(bundle), env=base_env(tmp_path)).returncode == 0
    cluster = load_cluster(fleet_copy, "demo-aws")
    dask = cluster.hub("dask")
    assert dask is not None
    expected = facts_text(HubFacts.of(cluster, dask), fleet_copy / dask.chart_path)
    assert expected and "basehub:\n  deployer:" in expected
    assert (bundle / "values/deployer-facts.values.yaml").read_text() == expected
    values = re.findall(r"--values (\S+)", (bundle / "deploy.sh").read_text())
    assert values[:2] == ["values/deployer-facts.values.yaml", "values/dask.values.yaml"]
    readme = (bundle / "README.md").read_text().splitlines()
    rows = [line.split("`")[1] for line in readme if line.startswith("| `values/")]
    assert rows[:2] == ["values/deployer-facts.values.yaml", "values/dask.values.yaml"]
