"""What a cluster holds, read through ``deployer.kube`` (the one Kubernetes client): helm releases, namespaces and
persistent volume claims, as small frozen values.

Helm releases are read from helm's own release records (helm's default storage: one Secret per revision, type
``helm.sh/release.v1``, labels ``owner=helm``, ``name``, ``status``, ``version``): their metadata only, listed in one
call, gives each release's newest revision. The chart (``basehub-0.1.0``) comes from that one record's payload
(base64 of gzipped JSON), read only for the releases the caller asks about and decoded in memory;
the payload also holds the release's values, which are never kept, logged or shown: only the chart's name and
version leave ``_chart``.

``SYSTEM_NAMESPACES`` (and every ``kube-*`` namespace) are never the deployer's: ``remove`` refuses them and
``orphans`` never lists them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployer import kube

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
HELM_RECORDS = "owner=helm"  # the label selector of helm's release records


def is_system_namespace(name: str) -> bool:
    return name in SYSTEM_NAMESPACES or name.startswith("kube-")


@dataclass(frozen=True)
class HelmRelease:
    name: str
    namespace: str
    revision: int
    status: str  # deployed, failed, pending-install, ...
    chart: str  # name-version, "" when the record cannot be read

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "revision": self.revision,
            "status": self.status,
            "chart": self.chart,
        }

    def describe(self) -> str:
        chart = f", chart {self.chart}" if self.chart else ""
        return f"helm release {self.name} (namespace {self.namespace}, revision {self.revision}, {self.status}{chart})"


@dataclass(frozen=True)
class Claim:
    """A PersistentVolumeClaim: on a hub, a user's home directory (or the hub's database)."""

    name: str
    size: str  # the requested storage ("10Gi"), "" when none is requested
    volume: str  # the bound PersistentVolume, "" when not bound
    phase: str

    def describe(self) -> str:
        size = self.size or "no size requested"
        volume = f"bound to volume {self.volume}" if self.volume else f"not bound ({self.phase or 'no phase'})"
        return f"persistent volume claim {self.name} ({size}, {volume})"


def helm_releases(
    api: ApiClient,
    namespace: str | None,
    *,
    doing: str,
    chart_wanted: Callable[[str, str], bool] = lambda name, namespace: True,
) -> list[HelmRelease]:
    """The helm releases in ``namespace`` (None: every namespace), each at its newest revision, sorted. One list
    of the records' metadata (their data, whole releases, is not transferred), then one read of the newest record
    of each release for which ``chart_wanted(name, namespace)`` is true, for its chart ("" for the others)."""
    newest: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for item in kube.list_secret_metadata(api, namespace=namespace, label_selector=HELM_RECORDS, doing=doing):
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        name, where = labels.get("name"), meta.get("namespace")
        try:
            revision = int(labels.get("version", ""))
        except ValueError:
            continue  # not one of helm's records
        if not isinstance(name, str) or not isinstance(where, str):
            continue
        key = (where, name)
        if key not in newest or newest[key][0] < revision:
            newest[key] = (revision, meta)
    releases = []
    for (where, name), (revision, meta) in newest.items():
        chart = ""
        if chart_wanted(name, where):
            record = kube.read_secret(api, where, str(meta.get("name", "")), doing=doing)
            chart = _chart(record) if record is not None else ""
        status = str((meta.get("labels") or {}).get("status", ""))
        releases.append(HelmRelease(name=name, namespace=where, revision=revision, status=status, chart=chart))
    return sorted(releases, key=lambda r: (r.namespace, r.name))


def _chart(secret: dict[str, Any]) -> str:
    """``name-version`` of the chart in a helm release record, or "" when it cannot be read."""
    payload = (secret.get("data") or {}).get("release")
    if not isinstance(payload, str):
        return ""
    try:
        raw = base64.b64decode(base64.b64decode(payload, validate=True), validate=True)
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        metadata = (json.loads(raw).get("chart") or {}).get("metadata") or {}
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error, AttributeError):
        return ""
    name, version = metadata.get("name"), metadata.get("version")
    return f"{name}-{version}" if isinstance(name, str) and isinstance(version, str) else ""


def namespace_names(api: ApiClient, *, doing: str) -> list[str]:
    names = ((ns.get("metadata") or {}).get("name") for ns in kube.list_namespaces(api, doing=doing))
    return sorted(n for n in names if isinstance(n, str))


def claims(api: ApiClient, namespace: str, *, doing: str) -> list[Claim]:
    """The persistent volume claims of ``namespace``, sorted by name."""
    found = []
    for item in kube.list_claims(api, namespace, doing=doing):
        spec, status = item.get("spec") or {}, item.get("status") or {}
        requests = (spec.get("resources") or {}).get("requests") or {}
        found.append(
            Claim(
                name=str((item.get("metadata") or {}).get("name", "")),
                size=str(requests.get("storage") or ""),
                volume=str(spec.get("volumeName") or ""),
                phase=str(status.get("phase") or ""),
            )
        )
    return sorted(found, key=lambda c: c.name)
