"""pytest fixtures for the local Kubernetes API stand-in: ``kube_cluster`` and ``kube_cluster_session``.

Both yield a :class:`KubeCluster`: ``.kubeconfig`` (Path), ``.context``, ``.url``, ``.env`` (extra variables for
child processes), ``.helm(...)``/``.kubectl(...)`` to run the real binaries against it, the fault switches
(``readiness``, ``latency``, ``inject_error``, ``clear_errors``), ``tokens_seen`` and ``requests``, and object
readers (``get_object``, ``require_object``, ``list_objects``).

- ``kube_cluster`` (function scope) starts a fresh stand-in per test: use it to flip fault switches.
- ``kube_cluster_session`` (session scope) is shared: use a distinct namespace per test (``unique_namespace``) and
  leave the fault switches alone.

When ``DEPLOYER_E2E_KUBECONFIG`` names a kubeconfig file, both fixtures yield a handle on that real cluster instead
(context: ``DEPLOYER_E2E_CONTEXT`` or the file's current context); the object readers then go through kubectl, and a
test that touches a fault switch is skipped, saying why.

Binaries are found by :func:`find_tool` in the child's environment: ``DEPLOYER_HELM``/``DEPLOYER_KUBECTL`` when
set (so ``cluster.helm(..., env={**os.environ, "DEPLOYER_HELM": path_to_helm3})`` runs helm 3), else ``PATH``, else
``<repo>/.tools/bin/<name>`` (repo = the nearest folder holding ``.tools`` above the test run's rootdir, else above
this file). The process environment is never modified: every subprocess gets an ``env=`` built by
:meth:`KubeCluster.tool_env`.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deployer.helm_argv import KubeTarget, parse_major, version_args
from deployer.testing.kubeapi import ErrorRule, KubeAPIServer, RequestRecord
from deployer.tools import find_tool

__all__ = ["KubeCluster", "ToolError", "kube_cluster", "kube_cluster_session"]

E2E_KUBECONFIG = "DEPLOYER_E2E_KUBECONFIG"
E2E_CONTEXT = "DEPLOYER_E2E_CONTEXT"
DEFAULT_CONTEXT = "deployer-local"


class ToolError(subprocess.CalledProcessError):
    """A helm/kubectl run failed; ``str()`` includes its output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


@dataclass
class KubeCluster:
    """A Kubernetes API to run helm and kubectl against: the local stand-in (``server`` set) or a real cluster."""

    kubeconfig: Path
    context: str
    url: str
    workdir: Path
    server: KubeAPIServer | None = None
    tools_from: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {"KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.workdir / "kube-cache"), **self.env}

    @property
    def is_stand_in(self) -> bool:
        return self.server is not None

    # -- running the real binaries --------------------------------------------------------------
    def tool_env(self, base_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a helm/kubectl child process: ``base_env`` (default: this process's) + ``env``."""
        return {**(os.environ if base_env is None else base_env), **self.env}

    def run(
        self,
        tool: str,
        *args: str,
        check: bool = True,
        timeout: float = 120,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        child_env = self.tool_env(env)
        argv = [find_tool(tool, self.tools_from, child_env), *args]
        result = subprocess.run(
            argv,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise ToolError(result.returncode, argv, result.stdout, result.stderr)
        return result

    def helm(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        target = KubeTarget(kubeconfig=str(self.kubeconfig), context=self.context)
        return self.run("helm", *target.args(), *args, **kwargs)

    def kubectl(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args, **kwargs)

    def unique_namespace(self, prefix: str = "t") -> str:
        """A fresh namespace name (not created), for tests sharing one cluster."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    # -- fault switches (stand-in only) ---------------------------------------------------------
    def _stand_in(self, what: str) -> KubeAPIServer:
        if self.server is None:
            pytest.skip(f"{what} needs the local Kubernetes API stand-in; {E2E_KUBECONFIG} points at a real cluster")
        return self.server

    @property
    def readiness(self) -> bool:
        return self._stand_in("the readiness switch").readiness

    @readiness.setter
    def readiness(self, enabled: bool) -> None:
        self._stand_in("the readiness switch").readiness = enabled

    @property
    def latency(self) -> float:
        return self._stand_in("added latency").latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._stand_in("added latency").latency = seconds

    def inject_error(self, status: int = 500, **match: Any) -> ErrorRule:
        return self._stand_in("error injection").inject_error(status, **match)

    def clear_errors(self) -> None:
        self._stand_in("error injection").clear_errors()

    @property
    def tokens_seen(self) -> list[str]:
        return self._stand_in("recording bearer tokens").tokens_seen

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request the stand-in served so far, in order."""
        return self._stand_in("recording requests").requests

    # -- object readers -------------------------------------------------------------------------
    def get_object(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        if self.server is not None:
            return self.server.get_object(resource, name, namespace)
        args = ["get", resource, name, "-o", "json", "--ignore-not-found"]
        out = self.kubectl(*args, *(["-n", namespace] if namespace else [])).stdout
        return json.loads(out) if out.strip() else None

    def require_object(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Like ``get_object``, for an object that must exist: a missing one fails the test, naming it."""
        obj = self.get_object(resource, name, namespace)
        if obj is None:
            raise AssertionError(f"{resource}/{name} not found" + (f" in namespace {namespace}" if namespace else ""))
        return obj

    def list_objects(
        self, resource: str, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        if self.server is not None:
            return self.server.list_objects(resource, namespace, label_selector=label_selector)
        args = ["get", resource, "-o", "json", *(["-n", namespace] if namespace else ["-A"])]
        if label_selector:
            args += ["-l", label_selector]
        items: list[dict[str, Any]] = json.loads(self.kubectl(*args).stdout)["items"]
        return items


def _real_cluster(path: str, workdir: Path, tools_from: Path | None) -> KubeCluster:
    from deployer import yamlio

    kubeconfig = Path(path).expanduser()
    config = yamlio.load(kubeconfig) or {}
    context = os.environ.get(E2E_CONTEXT) or config.get("current-context") or ""
    cluster_name = next(
        (c["context"].get("cluster") for c in config.get("contexts") or [] if c.get("name") == context), None
    )
    url = next(
        (c["cluster"].get("server", "") for c in config.get("clusters") or [] if c.get("name") == cluster_name), ""
    )
    return KubeCluster(kubeconfig=kubeconfig, context=context, url=url, workdir=workdir, tools_from=tools_from)


def _clusters(workdir: Path, tools_from: Path | None) -> Iterator[KubeCluster]:
    real = os.environ.get(E2E_KUBECONFIG)
    if real:
        yield _real_cluster(real, workdir, tools_from)
        return
    with KubeAPIServer() as server:
        kubeconfig = server.write_kubeconfig(workdir / "kubeconfig", context=DEFAULT_CONTEXT)
        yield KubeCluster(
            kubeconfig=kubeconfig,
            context=DEFAULT_CONTEXT,
            url=server.url,
            workdir=workdir,
            server=server,
            tools_from=tools_from,
        )


@pytest.fixture
def kube_cluster(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[KubeCluster]:
    """A fresh local Kubernetes API stand-in for this test (or the real cluster of ``DEPLOYER_E2E_KUBECONFIG``)."""
    yield from _clusters(tmp_path_factory.mktemp("kube"), Path(request.config.rootpath))


@pytest.fixture(scope="session")
def kube_cluster_session(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[KubeCluster]:
    """One local Kubernetes API stand-in shared by the whole session; use distinct namespaces."""
    yield from _clusters(tmp_path_factory.mktemp("kube-session"), Path(request.config.rootpath))


def helm_major(cluster: KubeCluster) -> int:
    """The major version of the helm binary the cluster handle runs (3 or 4)."""
    return parse_major(cluster.run("helm", *version_args()).stdout)
