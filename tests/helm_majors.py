"""The ``helm_binary`` fixture: a test that takes it runs once with helm 4 and once with helm 3.

Both are the pinned binaries of ``scripts/install-tools`` (``.tools/bin/helm4``, ``.tools/bin/helm3``). Tests hand
the chosen one to the deployer as ``DEPLOYER_HELM`` (how a user picks a helm) and to plain-helm scripts on PATH.
Import the fixture into a conftest: ``from helm_majors import helm_binary  # noqa: F401``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import PROJECT

MAJORS = (4, 3)


@dataclass(frozen=True)
class HelmBinary:
    major: int
    path: Path

    def __str__(self) -> str:
        return str(self.path)

    def env(self, home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) choosing this helm (``DEPLOYER_HELM``, which the deployer
        and ``KubeCluster.helm`` honour), with helm's own folders in ``home``: no user's repositories, plugins or
        caches play a part."""
        return {
            **(os.environ if base is None else base),
            "DEPLOYER_HELM": str(self.path),
            **{v: str(Path(home) / v.lower()) for v in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")},
        }


@pytest.fixture(scope="session", params=MAJORS, ids=[f"helm{m}" for m in MAJORS])
def helm_binary(request) -> HelmBinary:
    path = PROJECT / ".tools" / "bin" / f"helm{request.param}"
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/install-tools (it installs both helm majors)")
    return HelmBinary(request.param, path)
