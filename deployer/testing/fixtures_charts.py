"""pytest fixtures for the offline stand-in dependency charts (``chart_cache``).

``chart_cache`` (session-scoped) is a ``deployer.testing.offline_charts.ChartCache``: ``.folder`` holds the packaged
stand-ins (``<name>-<version>.tgz``), ``.ensure(chart_dir)`` builds a chart's dependencies offline with the real
``helm dependency build`` (writing only ``<chart_dir>/charts/``), and ``.copy_charts(src, dest)`` copies a
``helm-charts/`` folder to ``dest`` and builds every chart there, leaving the original untouched::

    def test_render(chart_cache, tmp_path):
        charts = chart_cache.copy_charts(repo_root / "helm-charts", tmp_path / "helm-charts")
        subprocess.run([chart_cache.helm, "template", "hub", charts / "basehub"], check=True)
"""

from __future__ import annotations

import pytest

from deployer.testing.offline_charts import ChartCache, package_standins
from deployer.tools import find_tool

__all__ = ["chart_cache"]


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> ChartCache:
    """The offline stand-in dependency charts, packaged once per test session."""
    helm = find_tool("helm")
    folder = package_standins(tmp_path_factory.mktemp("chart-cache"), helm=helm)
    return ChartCache(folder=folder, helm=helm)
