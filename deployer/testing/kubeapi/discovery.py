"""The stand-in's resource registry, discovery documents and OpenAPI stubs.

Contract: :class:`Registry` knows every served resource (a fixed table of built-in kinds plus the resources of
established CustomResourceDefinitions, added and removed as CRDs are stored and deleted) and renders:

- legacy discovery: ``/api``, ``/apis``, ``/api/v1``, ``/apis/G``, ``/apis/G/V`` (APIVersions, APIGroupList,
  APIGroup, APIResourceList with verbs, shortNames, categories ``all`` and subresources);
- the review resources ``SelfSubjectAccessReview``, ``SelfSubjectRulesReview`` and ``SelfSubjectReview`` (create
  only), so ``kubectl auth can-i`` (always "yes": there is no RBAC) and ``kubectl auth whoami`` work;
- OpenAPI v3: an index under ``/openapi/v3`` and one stub document per group version whose ``patch`` operations carry
  ``x-kubernetes-group-version-kind`` and a ``fieldValidation`` parameter. That tells helm and kubectl that the
  server validates fields itself, so they skip client-side schema validation (the stubs hold no schemas).
- OpenAPI v2: a document without definitions (protobuf or JSON), which clients read only for kinds the v3 documents
  do not describe (custom resources without a CRD): they find no schema and go on to fail the REST mapping.

Aggregated discovery (``apidiscovery.k8s.io/v2``) is not served; clients fall back to the legacy documents when the
answer is plain ``application/json``. Each resource is served at exactly the versions listed; CRD objects are stored
once and relabelled with the requested version (no conversion webhooks).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    singular: str = ""
    crd: str = ""  # name of the defining CustomResourceDefinition, if any
    versions: tuple[str, ...] = field(default=())  # all served versions (CRDs)
    review: bool = False  # create-only review resource answered, never stored (SelfSubjectAccessReview...)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    def with_version(self, version: str) -> ResourceInfo:
        from dataclasses import replace

        return replace(self, version=version)


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short: str = "",
    all_: bool = False,
    sub: str = "",
) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        short_names=tuple(short.split()),
        categories=("all",) if all_ else (),
        subresources=tuple(sub.split()),
    )


BUILTINS: tuple[ResourceInfo, ...] = (
    _r("", "v1", "namespaces", "Namespace", False, "ns", sub="status"),
    _r("", "v1", "pods", "Pod", True, "po", True, "status log"),
    _r("", "v1", "services", "Service", True, "svc", True, "status"),
    _r("", "v1", "configmaps", "ConfigMap", True, "cm"),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", sub="status"),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, "pv", sub="status"),
    _r("", "v1", "events", "Event", True, "ev"),
    _r("", "v1", "endpoints", "Endpoints", True, "ep"),
    _r("", "v1", "nodes", "Node", False, "no", sub="status"),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, "quota", sub="status"),
    _r("", "v1", "limitranges", "LimitRange", True, "limits"),
    _r("", "v1", "replicationcontrollers", "ReplicationController", True, "rc", True, "status"),
    _r("apps", "v1", "deployments", "Deployment", True, "deploy", True, "status scale"),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, "sts", True, "status scale"),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, "ds", True, "status"),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, "rs", True, "status scale"),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _r("batch", "v1", "jobs", "Job", True, "", True, "status"),
    _r("batch", "v1", "cronjobs", "CronJob", True, "cj", True, "status"),
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", True, "status"),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, "ing", sub="status"),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, "netpol"),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", sub="status"),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        "crd crds",
        sub="status",
    ),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc"),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, "pc"),
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _r(
        "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False
    ),
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    ResourceInfo(
        "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, review=True
    ),
    ResourceInfo("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, review=True),
    ResourceInfo("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, review=True),
)


def crd_resources(crd: dict[str, Any]) -> list[ResourceInfo]:
    """The resources (one per served version) a CustomResourceDefinition declares."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not (spec.get("group") and names.get("plural") and names.get("kind") and served):
        return []
    versions = tuple(v["name"] for v in served)
    result = []
    for version in served:
        sub = tuple(key for key in ("status", "scale") if key in (version.get("subresources") or {}))
        result.append(
            ResourceInfo(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=sub,
                singular=names.get("singular", ""),
                crd=crd["metadata"]["name"],
                versions=versions,
            )
        )
    return result


class Registry:
    """Thread-safe table of served resources."""

    def __init__(self, builtins: Iterable[ResourceInfo] = BUILTINS) -> None:
        self._lock = threading.Lock()
        self._builtins = list(builtins)
        self._crds: dict[str, list[ResourceInfo]] = {}

    # -- mutation -------------------------------------------------------------------------------
    def set_crd(self, crd: dict[str, Any]) -> None:
        with self._lock:
            self._crds[crd["metadata"]["name"]] = crd_resources(crd)

    def remove_crd(self, name: str) -> None:
        with self._lock:
            self._crds.pop(name, None)

    # -- lookup ---------------------------------------------------------------------------------
    def all(self) -> list[ResourceInfo]:
        with self._lock:
            return self._builtins + [info for infos in self._crds.values() for info in infos]

    def resolve(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        for info in self.all():
            if info.group == group and info.version == version and info.plural == plural:
                return info
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        for info in self.all():
            if info.api_version == api_version and info.kind == kind:
                return info
        return None

    def lookup(self, name: str) -> ResourceInfo:
        """Find a resource by plural, singular, kind, short name or ``plural.group`` (case-insensitive)."""
        wanted = name.lower()
        group = None
        if "." in wanted:
            wanted, group = wanted.split(".", 1)
        for info in self.all():
            if group is not None and info.group != group:
                continue
            if wanted in (info.plural, info.singular_name, info.kind.lower(), *info.short_names):
                return info
        raise KeyError(f"no resource type {name!r} is served")

    def group_versions(self) -> dict[str, list[str]]:
        """Group name ('' for core) -> served versions, preferred first."""
        result: dict[str, list[str]] = {}
        for info in self.all():
            versions = result.setdefault(info.group, [])
            if info.version not in versions:
                versions.append(info.version)
        return result

    # -- documents ------------------------------------------------------------------------------
    def api_versions(self, server_address: str) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }

    def _group_document(self, group: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def api_group_list(self) -> dict[str, Any]:
        groups = [self._group_document(g, vs) for g, vs in self.group_versions().items() if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group(self, group: str) -> dict[str, Any] | None:
        versions = self.group_versions().get(group)
        if not group or not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_document(group, versions)}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        infos = [i for i in self.all() if i.group == group and i.version == version]
        if not infos:
            return None
        resources: list[dict[str, Any]] = []
        for info in infos:
            entry: dict[str, Any] = {
                "name": info.plural,
                "singularName": info.singular_name,
                "namespaced": info.namespaced,
                "kind": info.kind,
                "verbs": ["create"] if info.review else VERBS,
            }
            if info.short_names:
                entry["shortNames"] = list(info.short_names)
            if info.categories:
                entry["categories"] = list(info.categories)
            resources.append(entry)
            for sub in info.subresources:
                verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
                kind = "Scale" if sub == "scale" else info.kind
                resources.append(
                    {
                        "name": f"{info.plural}/{sub}",
                        "singularName": "",
                        "namespaced": info.namespaced,
                        "kind": kind,
                        "verbs": verbs,
                    }
                )
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    # -- OpenAPI --------------------------------------------------------------------------------
    @staticmethod
    def _openapi_key(group: str, version: str) -> str:
        return f"apis/{group}/{version}" if group else f"api/{version}"

    def openapi_index(self) -> dict[str, Any]:
        paths = {}
        for group, versions in self.group_versions().items():
            for version in versions:
                key = self._openapi_key(group, version)
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=0"}
        return {"paths": paths}

    def openapi_document(self, key: str) -> dict[str, Any] | None:
        infos = [i for i in self.all() if self._openapi_key(i.group, i.version) == key]
        if not infos:
            return None
        paths: dict[str, Any] = {}
        for info in infos:
            prefix = f"/{key}/namespaces/{{namespace}}" if info.namespaced else f"/{key}"
            gvk = {"group": info.group, "version": info.version, "kind": info.kind}
            operation = {
                "operationId": f"patch{info.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                ],
                "responses": {"200": {"description": "OK"}},
            }
            paths[f"{prefix}/{info.plural}/{{name}}"] = {"patch": operation}
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.35.0"},
            "paths": paths,
            "components": {"schemas": {}},
        }

    # -- OpenAPI v2 -----------------------------------------------------------------------------
    @staticmethod
    def openapi_v2(accept: str) -> tuple[bytes, str]:
        """An OpenAPI v2 document without definitions: (body, content type).

        Clients fetch it when the v3 document of a group version does not describe a kind, i.e. for a custom
        resource whose CRD is not installed: kubectl and helm then find no schema, skip client-side validation and
        fail on the REST mapping ("no matches for kind ..."), as against a real server. client-go asks for the
        protobuf form (gnostic ``openapi_v2.Document``: swagger = 1, info = 2 with title = 1 and version = 2)."""
        if "protobuf" in accept:
            info = _proto_string(1, "Kubernetes") + _proto_string(2, "v1.35.0")
            body = _proto_string(1, "2.0") + _proto_field(2, info)
            return body, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        document = {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.35.0"},
            "paths": {},
            "definitions": {},
        }
        return json.dumps(document).encode(), "application/json"


def _proto_field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def _proto_string(number: int, value: str) -> bytes:
    return _proto_field(number, value.encode())
