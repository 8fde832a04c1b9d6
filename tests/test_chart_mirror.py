"""The chart mirror (``DEPLOYER_CHART_MIRROR``, deployer/chart_mirror.py) and the dependency step that uses it, with
the real helm and the real pinned charts: what helm builds from a mirror is exactly the mirror's archives, checked
against the committed Chart.lock; a mirror that lacks a pin says which archive and how to add it."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest

from deployer import chart_mirror
from deployer.charts import dependencies_built, lock_digest, read_chart, read_lock
from deployer.deploy.dependencies import DependencyError
from deployer.errors import UsageError
from deployer.testing.chart_cache import ChartCache, copy_charts

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ROOT / "helm-charts"
PINNED = {
    ("jupyterhub", "4.2.0"),
    ("dask-gateway", "2024.1.0"),
    ("ingress-nginx", "4.13.0"),
    ("cert-manager", "v1.16.1"),
    ("prometheus", "27.23.0"),
}


@pytest.fixture(scope="module")
def mirror(chart_cache: ChartCache) -> Path:
    if chart_cache.mirror is None:
        pytest.skip("no chart mirror (DEPLOYER_CHART_MIRROR) in this test run: helm fetches from the repositories")
    return chart_cache.mirror


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_locks_pin_exactly_the_charts_the_mirror_serves(mirror: Path) -> None:
    pins = chart_mirror.pins(sorted(p.parent for p in CHARTS.glob("*/Chart.yaml")))
    assert {(p.name, p.version) for p in pins} == PINNED
    assert chart_mirror.missing(mirror, [CHARTS / "basehub", CHARTS / "daskhub", CHARTS / "support"]) == []


def test_mirror_dir_reads_the_variable_and_refuses_a_folder_that_is_not_there(tmp_path: Path) -> None:
    assert chart_mirror.mirror_dir({}) is None
    assert chart_mirror.mirror_dir({"DEPLOYER_CHART_MIRROR": ""}) is None
    assert chart_mirror.mirror_dir({"DEPLOYER_CHART_MIRROR": str(tmp_path)}) == tmp_path
    with pytest.raises(UsageError, match=r"DEPLOYER_CHART_MIRROR=.*nope: not a folder") as caught:
        chart_mirror.mirror_dir({"DEPLOYER_CHART_MIRROR": str(tmp_path / "nope")})
    assert caught.value.exit_code == 2


def test_dependencies_built_from_a_read_only_mirror_are_its_archives(mirror: Path, tmp_path: Path) -> None:
    """helm checks the lock and copies the mirror's archives into charts/; the mirror itself is never written."""
    ro = tmp_path / "mirror"
    shutil.copytree(mirror, ro)
    for path in [ro, *ro.iterdir()]:
        path.chmod(stat.S_IREAD | stat.S_IEXEC if path.is_dir() else stat.S_IREAD)
    try:
        charts = copy_charts(CHARTS, tmp_path / "helm-charts")
        cache = ChartCache(helm=shutil.which("helm") or "helm", mirror=ro)
        built = cache.ensure(charts / "daskhub")
        assert built == [(charts / "basehub").resolve(), (charts / "daskhub").resolve()]
        for chart in ("basehub", "daskhub", "support"):
            if chart == "support":
                cache.ensure(charts / chart)
            assert dependencies_built(charts / chart)
            lock = read_lock(charts / chart)
            assert lock is not None, chart
            for dep in lock.dependencies:
                if not dep.is_local:
                    archive = charts / chart / "charts" / f"{dep.name}-{dep.version}.tgz"
                    assert sha(archive) == sha(ro / archive.name), archive
        with tarfile.open(charts / "basehub" / "charts" / "jupyterhub-4.2.0.tgz") as tar:
            assert "jupyterhub/values.schema.json" in tar.getnames()  # the real chart, with its schema
        assert sorted(p.name for p in ro.iterdir()) == sorted(p.name for p in mirror.iterdir())
    finally:
        for path in [ro, *ro.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_building_in_place_writes_only_the_gitignored_charts_folders(chart_cache: ChartCache, tmp_path: Path) -> None:
    charts = copy_charts(CHARTS, tmp_path / "helm-charts")
    before = {p: p.read_bytes() for p in charts.rglob("*") if p.is_file()}
    chart_cache.ensure(charts / "daskhub")
    new = sorted(p.relative_to(charts).as_posix() for p in charts.rglob("*") if p.is_file() and p not in before)
    assert new == [
        "basehub/charts/jupyterhub-4.2.0.tgz",
        "daskhub/charts/basehub-0.1.0.tgz",
        "daskhub/charts/dask-gateway-2024.1.0.tgz",
    ]
    assert all(p.read_bytes() == content for p, content in before.items())
    assert "helm-charts/*/charts/" in (ROOT / ".gitignore").read_text().split()


def test_built_charts_are_skipped_and_an_edited_basehub_rebuilds_daskhub(
    chart_cache: ChartCache, tmp_path: Path
) -> None:
    charts = chart_cache.copy_charts(CHARTS, tmp_path / "helm-charts")
    assert chart_cache.ensure(charts / "daskhub") == []
    values = charts / "basehub" / "values.yaml"
    values.write_text(values.read_text() + "\n# edited\n")
    assert not dependencies_built(charts / "daskhub")
    assert chart_cache.ensure(charts / "daskhub") == [(charts / "daskhub").resolve()]
    assert chart_cache.ensure(charts / "basehub", force=True) == [(charts / "basehub").resolve()]


def test_an_out_of_sync_lock_is_refused_before_helm_runs(chart_cache: ChartCache, tmp_path: Path) -> None:
    charts = copy_charts(CHARTS, tmp_path / "helm-charts")
    chart_yaml = charts / "basehub" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 4.2.0", "version: 4.1.0"))
    with pytest.raises(DependencyError, match="out of sync"):
        chart_cache.ensure(charts / "basehub")
    assert not (charts / "basehub" / "charts").exists()


def _chart_pinning(tmp_path: Path, version: str) -> Path:
    chart = tmp_path / "odd"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: odd\nversion: 0.1.0\ndependencies:\n"
        f"  - name: jupyterhub\n    version: {version}\n    repository: https://hub.jupyter.org/helm-chart/\n"
    )
    deps = read_chart(chart).dependencies
    (chart / "Chart.lock").write_text(
        f"dependencies:\n- name: jupyterhub\n  repository: https://hub.jupyter.org/helm-chart/\n  version: {version}\n"
        f"digest: {lock_digest(deps, deps)}\n"
    )
    return chart


def test_a_pin_the_mirror_lacks_names_the_archive_and_the_command_to_add_it(mirror: Path, tmp_path: Path) -> None:
    chart = _chart_pinning(tmp_path, "9.9.9")
    cache = ChartCache(helm=shutil.which("helm") or "helm", mirror=mirror)
    with pytest.raises(DependencyError) as caught:
        cache.ensure(chart)
    message = str(caught.value)
    assert "jupyterhub-9.9.9.tgz (pinned by odd/Chart.lock)" in message
    assert f"helm pull jupyterhub --repo https://hub.jupyter.org/helm-chart/ --version 9.9.9 -d {mirror}" in message
    assert not (chart / "charts").exists()


def test_an_archive_is_counted_by_its_content_not_its_file_name(mirror: Path, tmp_path: Path) -> None:
    fake = tmp_path / "mirror"
    fake.mkdir()
    shutil.copy(mirror / "dask-gateway-2024.1.0.tgz", fake / "jupyterhub-4.2.0.tgz")  # right name, wrong chart
    absent = chart_mirror.missing(fake, [CHARTS / "basehub"])
    assert [(p.name, p.version) for p in absent] == [("jupyterhub", "4.2.0")]


@pytest.fixture
def chart_repository(mirror: Path, tmp_path: Path):
    """A real chart repository on 127.0.0.1 (an index made by ``helm repo index``), serving the jupyterhub chart."""
    import functools
    import http.server
    import subprocess
    import threading

    folder = tmp_path / "repo"
    folder.mkdir()
    shutil.copy(mirror / "jupyterhub-4.2.0.tgz", folder)

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/charts/"
    (folder / "charts").mkdir()
    shutil.move(folder / "jupyterhub-4.2.0.tgz", folder / "charts")
    subprocess.run([shutil.which("helm") or "helm", "repo", "index", str(folder / "charts"), "--url", url], check=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


def _chart_using(tmp_path: Path, repository: str) -> Path:
    chart = tmp_path / "hub"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: hub\nversion: 0.1.0\ndependencies:\n"
        f"  - name: jupyterhub\n    version: 4.2.0\n    repository: {repository}\n"
    )
    deps = read_chart(chart).dependencies
    (chart / "Chart.lock").write_text(
        f"dependencies:\n- name: jupyterhub\n  repository: {repository}\n"
        f"  version: 4.2.0\ndigest: {lock_digest(deps, deps)}\n"
    )
    return chart


def _empty_helm_home(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "helm-home"
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(home / "cache"),
        "HELM_CACHE_HOME": str(home / "cache-home"),
        "HELM_CONFIG_HOME": str(home / "config"),
    }


def test_a_helm_that_never_ran_repo_add_still_builds_from_the_real_repository(
    chart_repository: str, tmp_path: Path
) -> None:
    """A new machine or CI runner: helm knows no repository; the deployer names the lock's URLs itself."""
    chart = _chart_using(tmp_path, chart_repository)
    env = _empty_helm_home(tmp_path)
    cache = ChartCache(helm=shutil.which("helm") or "helm", mirror=None)
    assert cache.ensure(chart, env=env) == [chart.resolve()]
    assert dependencies_built(chart)
    assert not (tmp_path / "helm-home" / "repositories.yaml").exists()  # the user's helm config was not touched


def test_an_unreachable_repository_says_what_failed_and_about_the_mirror(tmp_path: Path) -> None:
    chart = _chart_using(tmp_path, "http://127.0.0.1:9/charts/")  # the discard port: nothing answers
    cache = ChartCache(helm=shutil.which("helm") or "helm", mirror=None)
    with pytest.raises(DependencyError) as caught:
        cache.ensure(chart, env=_empty_helm_home(tmp_path))
    message = str(caught.value)
    assert message.startswith("hub: helm dependency build could not fetch ")
    assert "DEPLOYER_CHART_MIRROR" in message
    assert not (chart / "charts").exists()


def test_validate_builds_missing_dependencies_first_unless_told_not_to(mirror: Path, tmp_path: Path) -> None:
    """A fresh clone: `deployer validate` builds charts/ (from the mirror here) and checks the real schemas."""
    from helpers import DEMO_KEY, PROJECT, run_deployer

    repo = tmp_path / "repo"
    for folder in ("config", "schemas"):
        shutil.copytree(PROJECT / folder, repo / folder)
    copy_charts(CHARTS, repo / "helm-charts")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "DEPLOYER_CHART_MIRROR": str(mirror),
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
    }
    offline = {k: v for k, v in env.items() if k != "DEPLOYER_CHART_MIRROR"}
    refused = run_deployer("--repo", str(repo), "validate", "--no-fetch", env=offline)
    assert refused.returncode == 2 and "the pinned dependency jupyterhub 4.2.0 is not available here" in refused.stderr
    assert not (repo / "helm-charts" / "basehub" / "charts").exists()  # --no-fetch: helm never ran
    typo = repo / "config" / "clusters" / "local" / "prod.values.yaml"
    typo.write_text(typo.read_text() + "  hub:\n    imagee: x\n")  # under jupyterhub:
    checked = run_deployer("--repo", str(repo), "validate", env=env)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "config/clusters/local/prod.values.yaml:" in checked.stderr and "jupyterhub.hub.imagee" in checked.stderr
    for chart in ("basehub", "daskhub", "support"):
        assert dependencies_built(repo / "helm-charts" / chart)
