"""`deployer validate` is as strict as helm, before helm: the corpus (helm_parity_corpus.yaml) against both.

Each case is one release of a small config repository (one cluster per case, the project's real charts plus the
test chart `aliashub`, secret files really sops-encrypted). `deployer validate` must exit 2 naming the key path,
the file and the line (or pass); the REAL `helm template` of the same release, helm 4 and helm 3, with the same
values files in the same order (secrets decrypted into a private temporary file), must fail naming the same chart
and key (or render). The dependency charts come from the pinned archives (project charts/, DEPLOYER_CHART_MIRROR
or helm's cache); validate finds them through a mirror folder, helm in each chart's charts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deployer import yamlio
from deployer.chart_archives import find_archive
from deployer.charts import read_chart, read_lock
from helpers import DEMO_KEY, PROJECT, demo_recipient, sops_encrypt

CORPUS = yamlio.load(Path(__file__).with_name("helm_parity_corpus.yaml"))
HELMS = {major: PROJECT / ".tools" / "bin" / f"helm{major}" for major in (4, 3)}

ALIASHUB_CHART = """\
apiVersion: v2
name: aliashub
version: 0.1.0
dependencies:
  - name: jupyterhub
    version: 4.2.0
    repository: https://hub.jupyter.org/helm-chart/
    alias: jh
    import-values:
      - child: hub.image
        parent: hubImage
  - name: dask-gateway
    version: 2024.1.0
    repository: https://helm.dask.org/
    alias: gw
    tags: [dask]
    condition: features.dask
"""
ALIASHUB_VALUES = "tags:\n  dask: false\n"
ALIASHUB_SCHEMA = """{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["hubImage"],
 "properties": {"hubImage": {"type": "object", "required": ["name"]}}}
"""


def _write_aliashub(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "Chart.yaml").write_text(ALIASHUB_CHART)
    (folder / "values.yaml").write_text(ALIASHUB_VALUES)
    (folder / "values.schema.json").write_text(ALIASHUB_SCHEMA)


def _pinned(chart_dir: Path) -> list[tuple[str, str]]:
    lock = read_lock(chart_dir)
    deps = lock.dependencies if lock else read_chart(chart_dir).dependencies
    return [(d.name, d.version) for d in deps if not d.is_local]


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """The repository (validate's view), the built charts (helm's view) and one cluster per case."""
    base = tmp_path_factory.mktemp("parity")
    repo, mirror, built = base / "repo", base / "mirror", base / "built"
    shutil.copytree(PROJECT / "helm-charts", repo / "helm-charts", ignore=shutil.ignore_patterns("charts", "*.tgz"))
    shutil.copytree(PROJECT / "schemas", repo / "schemas")
    _write_aliashub(repo / "helm-charts" / "aliashub")
    mirror.mkdir()
    # The pinned archives, wherever this machine has them (the runner sets DEPLOYER_CHART_MIRROR on fresh clones).
    for chart_dir in sorted((repo / "helm-charts").iterdir()):
        for name, version in _pinned(chart_dir):
            source = None
            for where in sorted((PROJECT / "helm-charts").iterdir()):  # each chart's charts/, the mirror, the cache
                source = source or find_archive(where, name, version, os.environ)
            if source is None:
                pytest.fail(
                    f"{name}-{version}.tgz not found: set DEPLOYER_CHART_MIRROR to a folder of the pinned "
                    "chart archives (scripts/test does), or run 'helm dependency build' on the charts"
                )
            shutil.copy(source, mirror / source.name)
    # helm's view: each chart with a filled charts/ (file:// dependencies as folders, themselves built)
    for chart in ("basehub", "aliashub", "support", "daskhub"):
        target = built / chart
        shutil.copytree(repo / "helm-charts" / chart, target)
        (target / "charts").mkdir()
        for name, version in _pinned(target):
            shutil.copy(mirror / f"{name}-{version}.tgz", target / "charts")
        for dep in read_chart(target).dependencies:
            if dep.is_local:
                shutil.copytree(built / dep.name, target / "charts" / dep.name)
    recipient = demo_recipient()
    for i, case in enumerate(CORPUS):
        cluster = f"k{i:02d}"
        folder = repo / "config" / "clusters" / cluster
        folder.mkdir(parents=True)
        names = [f["name"] for f in case["files"]]
        for f in case["files"]:
            (folder / f["name"]).write_text(f["text"])
            if f.get("secret"):
                sops_encrypt(folder / f["name"], recipient)
        lines = [f"name: {cluster}", "provider: kubeconfig", "kubeconfig:", "  context: deployer-local"]
        if case["chart"] == "support":
            lines += ["support:", f"  helm_chart_values_files: {names}"]
        else:
            lines += [
                "hubs:",
                "  - name: h",
                f"    domain: h.{cluster}.example.org",
                f"    helm_chart: {case['chart']}",
                f"    helm_chart_values_files: {names}",
            ]
        (folder / "cluster.yaml").write_text("\n".join(lines) + "\n")
    return {"repo": repo, "mirror": mirror, "built": built}


def _helm_template(helm: Path, built: Path, repo: Path, index: int) -> subprocess.CompletedProcess:
    case = CORPUS[index]
    folder = repo / "config" / "clusters" / f"k{index:02d}"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    with tempfile.TemporaryDirectory(prefix="parity-") as private:
        os.chmod(private, 0o700)
        args = []
        for f in case["files"]:
            path = folder / f["name"]
            if f.get("secret"):
                plain = Path(private) / f["name"]
                decrypted = subprocess.run(
                    [shutil.which("sops", path=env["PATH"]) or "sops", "decrypt", str(path)],
                    env=env,
                    capture_output=True,
                    check=True,
                )
                plain.write_bytes(decrypted.stdout)
                plain.chmod(0o600)
                path = plain
            args += ["--values", str(path)]
        helm_env = {
            **env,
            "HELM_CACHE_HOME": f"{private}/cache",
            "HELM_CONFIG_HOME": f"{private}/config",
            "HELM_DATA_HOME": f"{private}/data",
        }
        release = "support" if case["chart"] == "support" else "h"
        return subprocess.run(
            [str(helm), "template", release, str(built / case["chart"]), "--namespace", release, *args],
            env=helm_env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def helm_results(parity):
    """Every case through both helms, four at a time (about 0.15 s each)."""
    for helm in HELMS.values():
        if not helm.exists():
            pytest.fail(f"{helm} is missing: run scripts/install-tools (it installs both helm majors)")
    jobs = [(major, i) for major in HELMS for i in range(len(CORPUS))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = pool.map(lambda job: _helm_template(HELMS[job[0]], parity["built"], parity["repo"], job[1]), jobs)
        return dict(zip(jobs, done, strict=True))


def _helm_names(stderr: str, expect: dict) -> bool:
    """helm's message names the chart and the key: helm 4 as ``at '/a/b'``, helm 3 as ``- a.b:``."""
    chart = expect.get("helm_chart", expect["chart"])
    if f"\n{chart}:\n" not in "\n" + stderr:
        return False
    within = str(expect["within"]).split(".")
    if expect.get("required"):
        parent, key = within[:-1], within[-1]
        v4 = f"at '{''.join('/' + p for p in parent)}': missing property '{key}'"
        v3 = f"- {'.'.join(parent) or '(root)'}: {key} is required"
    elif expect["unknown"]:
        parent, key = within[:-1], within[-1]
        v4 = f"at '{''.join('/' + p for p in parent)}': additional properties '{key}' not allowed"
        v3 = f"- {'.'.join(parent) or '(root)'}: Additional property {key} is not allowed"
    else:
        v4 = f"at '/{'/'.join(within)}':"
        v3 = f"- {'.'.join(within)}: "
    return any(v4 in line or line.startswith(v3) for line in stderr.splitlines())


CASE_IDS = [case["id"] for case in CORPUS]


def test_corpus_is_large_enough():
    failing = [c for c in CORPUS if c["expect"] != "pass"]
    assert len(failing) >= 20
    assert {c["expect"]["chart"].split(" ")[0] for c in failing} >= {
        "jupyterhub",
        "dask-gateway",
        "cert-manager",
        "prometheus",
        "alertmanager",
    }
    assert any(f.get("secret") for c in failing for f in c["files"])
    assert len({c["id"] for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=CASE_IDS)
def test_validate_says_what_helm_says(index, parity, helm_results, cli):
    case = CORPUS[index]
    cluster = f"k{index:02d}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "DEPLOYER_CHART_MIRROR": str(parity["mirror"]),
    }
    result = cli("--repo", str(parity["repo"]), "validate", cluster, env=env)
    for major in HELMS:
        helm = helm_results[(major, index)]
        if case["expect"] == "pass":
            assert helm.returncode == 0, f"helm{major} rejects a case the corpus says passes:\n{helm.stderr}"
        else:
            assert helm.returncode != 0, f"helm{major} accepts a case the corpus says fails"
            assert _helm_names(helm.stderr, case["expect"]), f"helm{major} does not name the key:\n{helm.stderr}"
    if case["expect"] == "pass":
        assert result.code == 0, result.output
        return
    expect = case["expect"]
    assert result.code == 2, result.output
    prefix = f"config/clusters/{cluster}/{expect['file']}:{expect['line']}: "
    wanted = f"(chart {expect['chart']}): {expect['key']}: "
    assert any(line.startswith(prefix) and wanted in line for line in result.err.splitlines()), result.output
    assert "PARITY-SECRET" not in result.output  # secret values are never quoted


def test_no_decrypt_still_finds_unknown_keys_in_secret_files(parity, cli):
    """Without keys (a fork's pull request), secret files are read as sops stores them: keys in clear."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "DEPLOYER_CHART_MIRROR": str(parity["mirror"]),
    }
    by_id = {case["id"]: i for i, case in enumerate(CORPUS)}
    unknown = by_id["jh-secret-unknown-key"]
    result = cli("--repo", str(parity["repo"]), "validate", f"k{unknown:02d}", "--no-decrypt", env=env)
    assert result.code == 2, result.output
    assert (
        f"config/clusters/k{unknown:02d}/enc-case.secret.values.yaml:6: hub 'h' (chart jupyterhub): "
        "jupyterhub.hub.imagee: unknown key 'imagee'" in result.err
    )
    assert "1 secret file(s) read without decryption" in result.err
    assert "cannot decrypt" not in result.output
    # a wrong type in a secret file cannot be seen without the key: not reported
    wrong_type = by_id["jh-secret-wrong-type"]
    result = cli("--repo", str(parity["repo"]), "validate", f"k{wrong_type:02d}", "--no-decrypt", env=env)
    assert result.code == 0, result.output
    assert "1 secret file(s) read without decryption" in result.err
    # plain files are checked as usual
    plain = by_id["jh-hub-imagee"]
    result = cli("--repo", str(parity["repo"]), "validate", f"k{plain:02d}", "--no-decrypt", env=env)
    assert result.code == 2 and "jupyterhub.hub.imagee: unknown key" in result.err
    # without the flag, a missing key stays an error
    result = cli("--repo", str(parity["repo"]), "validate", f"k{wrong_type:02d}", env=env)
    assert result.code == 2 and "cannot decrypt" in result.err


def test_a_missing_archive_says_what_to_run(parity, cli, tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "DEPLOYER_CHART_MIRROR": str(empty),
    }
    by_id = {case["id"]: i for i, case in enumerate(CORPUS)}
    fresh = tmp_path / "fresh"  # no built charts/: validate tries to build them, from the (empty) mirror
    shutil.copytree(parity["repo"], fresh, ignore=shutil.ignore_patterns("charts", "tmpcharts*"))
    result = cli("--repo", str(fresh), "validate", f"k{by_id['cm-webhookk']:02d}", env=env)
    assert result.code == 2
    assert "helm-charts/support/Chart.lock:2: chart support: the pinned dependency ingress-nginx 4.13.0" in result.err
    assert "helm dependency build helm-charts/support" in result.err and "DEPLOYER_CHART_MIRROR" in result.err
    result = cli("--repo", str(fresh), "validate", env={**env, "DEPLOYER_CHART_MIRROR": str(tmp_path / "nope")})
    assert result.code == 2 and "DEPLOYER_CHART_MIRROR=" in result.err and "not a folder" in result.err
