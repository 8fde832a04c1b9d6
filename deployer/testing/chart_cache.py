"""The REAL pinned dependency charts for tests: built with the deployer's own dependency step, from a mirror.

``ChartCache(helm, mirror)`` builds charts' dependencies (``<chart>/charts/``) exactly as a deploy does
(``deployer.deploy.dependencies.Dependencies``: the real ``helm dependency build``, which checks the committed
``Chart.lock``), with the chart mirror folder ``mirror`` (``DEPLOYER_CHART_MIRROR``, ``deployer.chart_mirror``)
served under the locks' repository URLs. With ``mirror=None``, helm fetches from the real chart repositories.

``copy_charts(src, dest)`` copies a ``helm-charts/`` folder (committed files only, no ``charts/``) so tests never
write into the repository; ``ChartCache.copy_charts`` also builds every chart of the copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deployer import chart_mirror
from deployer.chart_mirror import MIRROR_VARIABLE
from deployer.charts import build_order, read_archive
from deployer.deploy.dependencies import Dependencies
from deployer.run import Runner

__all__ = ["ChartCache", "copy_charts"]


def copy_charts(src: Path, dest: Path) -> Path:
    """Copy a ``helm-charts/`` folder to ``dest`` without built dependencies (``charts/``, ``tmpcharts*``).

    ``file://`` dependencies between the charts keep working because the whole folder moves together.
    """

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).parent == Path(src)  # inside helm-charts/<chart>/
        return {n for n in names if top and (n == "charts" or n.startswith("tmpcharts"))} | {"__pycache__"}

    shutil.copytree(src, dest, ignore=ignore)
    return Path(dest)


@dataclass(frozen=True)
class ChartCache:
    """How tests get real dependency charts: ``helm`` (the binary) and ``mirror`` (a folder of archives, or None)."""

    helm: str
    mirror: Path | None

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) with the mirror set (or removed when there is none)."""
        env = dict(os.environ if base is None else base)
        env.pop(MIRROR_VARIABLE, None)
        if self.mirror is not None:
            env[MIRROR_VARIABLE] = str(self.mirror)
        return env

    @contextlib.contextmanager
    def serving(self, charts_dir: Path) -> Iterator[dict[str, str]]:
        """The helm environment under which plain ``helm dependency build`` of the charts of ``charts_dir`` (a
        ``helm-charts/`` folder) gets them from the mirror; nothing (helm's own) when there is no mirror."""
        if self.mirror is None:
            yield {}
            return
        with chart_mirror.serving(self.mirror, sorted(p.parent for p in Path(charts_dir).glob("*/Chart.yaml"))) as env:
            yield env

    @contextlib.contextmanager
    def serving_everything(self, repository_urls: Iterable[str]) -> Iterator[dict[str, str]]:
        """Like ``serving``, but every archive of the mirror under each of ``repository_urls``: for ``helm
        dependency update``, which resolves version ranges against the index and writes a new lock (something
        the deployer itself never runs). Needs a mirror."""
        if self.mirror is None:
            raise ValueError("serving_everything needs a chart mirror")
        found = [meta for meta in map(read_archive, sorted(self.mirror.glob("*.tgz"))) if meta is not None]
        archives = [(n, v) for n, v in found if (self.mirror / f"{n}-{v}.tgz").is_file()]
        with chart_mirror._serve(self.mirror, archives, set(repository_urls)) as env:
            yield env

    def ensure(self, chart_dir: Path, *, env: Mapping[str, str] | None = None, force: bool = False) -> list[Path]:
        """Build ``chart_dir``'s dependencies (its ``file://`` charts first); return the chart folders built."""
        chart_dir = Path(chart_dir).resolve()
        order = build_order(chart_dir)
        if force:
            for chart in order:
                shutil.rmtree(chart / "charts", ignore_errors=True)
        deps = Dependencies(chart_dir.parent, self.helm, Runner(), self.env(env))
        deps.ensure(chart_dir.name)
        return [(chart_dir.parent / rel).resolve() for rel in deps.built]

    def copy_charts(self, src: Path, dest: Path, *, env: Mapping[str, str] | None = None) -> Path:
        copy_charts(src, dest)
        for chart_yaml in sorted(Path(dest).glob("*/Chart.yaml")):
            self.ensure(chart_yaml.parent, env=env)
        return Path(dest)
