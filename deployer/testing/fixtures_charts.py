"""pytest fixture for the REAL pinned dependency charts (``chart_cache``).

``chart_cache`` (session-scoped) is a ``deployer.testing.chart_cache.ChartCache``: ``.ensure(chart_dir)`` builds a
chart's dependencies with the real ``helm dependency build`` (writing only ``<chart_dir>/charts/``), and
``.copy_charts(src, dest)`` copies a ``helm-charts/`` folder to ``dest`` and builds every chart there, leaving the
original untouched. Where the chart repositories cannot be reached, set ``DEPLOYER_CHART_MIRROR`` to a folder of
``<name>-<version>.tgz`` archives (``deployer.chart_mirror``)::

    def test_render(chart_cache, tmp_path):
        charts = chart_cache.copy_charts(repo_root / "helm-charts", tmp_path / "helm-charts")
        subprocess.run([chart_cache.helm, "template", "hub", charts / "basehub"], check=True)
"""

from __future__ import annotations

import os

import pytest

from deployer.chart_mirror import mirror_dir
from deployer.testing.chart_cache import ChartCache
from deployer.tools import find_tool

__all__ = ["chart_cache"]


@pytest.fixture(scope="session")
def chart_cache() -> ChartCache:
    """The real dependency charts: from ``DEPLOYER_CHART_MIRROR`` when set, else from their repositories."""
    return ChartCache(helm=find_tool("helm"), mirror=mirror_dir(os.environ))
