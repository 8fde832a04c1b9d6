"""Every helm command line the deployer runs or prints, built here and nowhere else. Pure functions.

Each builder returns the arguments after the binary (``["upgrade", "--install", ...]``): the deploy prepends the
helm it found, the dry run prepends ``helm``, so both come from the same code. Paths are passed as given (the
deploy runs helm from the repository root with repository-relative paths, exactly as the printed commands read).

Helm 3 and 4 differ in a few flags; callers detect the major version once per run (``version_args`` +
``parse_major``) and pass it in:

=====================  ===========================  ==========================
                       helm 3                       helm 4
=====================  ===========================  ==========================
wait for readiness     ``--wait``                   ``--wait=watcher``
do not wait            (no flag)                    ``--wait=hookOnly`` (default, not written)
server-side dry run    ``--dry-run=server`` (>=3.13) ``--dry-run=server``
=====================  ===========================  ==========================

``--timeout`` takes a Go duration in both (``parse_duration``/``go_duration`` normalise user input).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SUPPORTED_MAJORS = (3, 4)
DEFAULT_TIMEOUT = "10m0s"


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster helm talks to: an explicit kubeconfig file and/or context (None: helm's default)."""

    kubeconfig: str | None = None
    context: str | None = None

    def args(self) -> list[str]:
        out: list[str] = []
        if self.kubeconfig:
            out += ["--kubeconfig", self.kubeconfig]
        if self.context:
            out += ["--kube-context", self.context]
        return out


def version_args() -> list[str]:
    return ["version", "--template", "{{.Version}}"]


def parse_major(version: str) -> int:
    """``v4.1.4`` -> 4. Raises ValueError for anything else, or a major version the deployer does not support."""
    match = re.fullmatch(r"v?(\d+)\.\d+\.\d+\S*", version.strip())
    if not match:
        raise ValueError(f"cannot read helm's version from {version.strip()[:80]!r}")
    major = int(match.group(1))
    if major not in SUPPORTED_MAJORS:
        raise ValueError(f"helm {version.strip()} is not supported: use helm 3 or 4")
    return major


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``10m``, ``1h30m``, ``5m0s``. Raises ValueError otherwise."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(text)
        if not text or not match:
            raise ValueError(f"{text!r} is not a duration: use e.g. 300s, 10m or 1h30m")
        hours, minutes, secs = match.groups()
        seconds = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)
    if seconds <= 0:
        raise ValueError(f"{text!r}: the timeout must be positive")
    return seconds


def go_duration(seconds: float) -> str:
    """Seconds as Go prints a duration: 600 -> ``10m0s``, 90.5 -> ``1m30.5s``."""
    whole = int(seconds)
    frac = seconds - whole
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    sec_text = f"{secs + frac:g}" if frac else str(secs)
    if hours:
        return f"{hours}h{minutes}m{sec_text}s"
    if minutes:
        return f"{minutes}m{sec_text}s"
    return f"{sec_text}s"


def wait_args(major: int, *, wait: bool, timeout: str) -> list[str]:
    if not wait:
        return ["--timeout", timeout]
    return ["--wait=watcher" if major >= 4 else "--wait", "--timeout", timeout]


def values_args(values_files: Sequence[str]) -> list[str]:
    out: list[str] = []
    for path in values_files:
        out += ["--values", path]
    return out


def install_args(release: str, chart: str, *, namespace: str, values_files: Sequence[str]) -> list[str]:
    """The part of every install/upgrade that fixes what gets deployed (the deploy adds wait and target flags;
    an export's deploy.sh leaves them to whoever runs it)."""
    return [
        "upgrade",
        "--install",
        release,
        chart,
        "--namespace",
        namespace,
        "--create-namespace",
        *values_args(values_files),
    ]


def upgrade_args(
    release: str,
    chart: str,
    *,
    namespace: str,
    values_files: Sequence[str],
    major: int,
    wait: bool = True,
    timeout: str = DEFAULT_TIMEOUT,
    target: KubeTarget = KubeTarget(),
    dry_run_server: bool = False,
    output_json: bool = False,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """``helm upgrade --install RELEASE CHART --namespace NS --create-namespace --values ... <wait> <target>``;
    ``labels``: release labels (``--labels k=v,...``, helm >= 3.13 and 4; stored on the release's storage Secret,
    merged with the previous revision's)."""
    argv = install_args(release, chart, namespace=namespace, values_files=values_files)
    if labels:
        argv += ["--labels", ",".join(f"{key}={value}" for key, value in labels.items())]
    if dry_run_server:
        argv += ["--dry-run=server"]
    else:
        argv += wait_args(major, wait=wait, timeout=timeout)
    if output_json:
        argv += ["--output", "json"]
    return argv + target.args()


def template_args(release: str, chart: str, *, namespace: str, values_files: Sequence[str]) -> list[str]:
    """``helm template``: the manifests from the same chart, release, namespace and values as the deploy."""
    return ["template", release, chart, "--namespace", namespace, *values_args(values_files)]


def get_manifest_args(
    release: str, *, namespace: str, target: KubeTarget = KubeTarget(), revision: int | None = None
) -> list[str]:
    argv = ["get", "manifest", release, "--namespace", namespace]
    if revision is not None:
        argv += ["--revision", str(revision)]
    return argv + target.args()


def history_args(
    release: str,
    *,
    namespace: str,
    target: KubeTarget = KubeTarget(),
    max_entries: int | None = 1,
    output_json: bool = True,
) -> list[str]:
    """``helm history`` (as JSON for the deployer; as helm's table, all entries, for a person to read); its entries
    (revision, status, description...) never hold values or manifests."""
    argv = ["history", release, "--namespace", namespace]
    if max_entries is not None:
        argv += ["--max", str(max_entries)]
    if output_json:
        argv += ["--output", "json"]
    return argv + target.args()


def rollback_args(release: str, revision: int, *, namespace: str, target: KubeTarget = KubeTarget()) -> list[str]:
    return ["rollback", release, str(revision), "--namespace", namespace, *target.args()]


def uninstall_args(release: str, *, namespace: str, target: KubeTarget = KubeTarget()) -> list[str]:
    return ["uninstall", release, "--namespace", namespace, *target.args()]


def dependency_build_args(chart: str, *, skip_refresh: bool = False) -> list[str]:
    """``helm dependency build CHART``: fill ``CHART/charts/`` from the committed ``Chart.lock``.

    ``skip_refresh``: use the repository indexes already cached (a chart mirror prepares them) instead of fetching.
    """
    return ["dependency", "build", chart, *(["--skip-refresh"] if skip_refresh else [])]


def repo_add_args(name: str, url: str) -> list[str]:
    return ["repo", "add", name, url]


def pull_args(name: str, *, repository: str, version: str, destination: str) -> list[str]:
    """``helm pull NAME --repo URL --version V -d DIR``: one chart archive, as a chart mirror holds it."""
    return ["pull", name, "--repo", repository, "--version", version, "-d", destination]


_REVISION = re.compile(r"^REVISION:\s*(\d+)\s*$", re.MULTILINE)


def parse_revision(upgrade_stdout: str) -> int | None:
    """The revision from ``helm upgrade``'s table output (``REVISION: 3``), or None."""
    match = _REVISION.search(upgrade_stdout)
    return int(match.group(1)) if match else None


NOT_FOUND = ("release: not found", "has no deployed releases")
IN_PROGRESS = "another operation (install/upgrade/rollback) is in progress"
NO_REPOSITORY = re.compile(r"no repository definition for (.+?)(?:\.\s|\.?$)", re.MULTILINE)


NO_CONTEXT = re.compile(r'context "([^"\n]*)" does not exist')


def missing_context(stderr: str) -> str | None:
    """The context of helm's ``kubernetes cluster unreachable: context "x" does not exist``, or None when helm
    said something else."""
    match = NO_CONTEXT.search(stderr)
    return match.group(1) if match else None


def missing_repositories(stderr: str) -> list[str]:
    """The repository URLs of helm's "no repository definition for URL1, URL2. Please add ..." (in its order,
    without the separating commas or the final period); [] when helm said something else."""
    found: list[str] = []
    for match in NO_REPOSITORY.finditer(stderr):
        for url in match.group(1).split(","):
            url = url.strip().rstrip(".,")
            if url and url not in found:
                found.append(url)
    return found
