"""API semantics on top of the store: create, read, update, patch, delete, as the Kubernetes API server does them.

Contract: :class:`API` methods take a :class:`~.discovery.ResourceInfo`, a namespace (``""`` for cluster-scoped)
and JSON-shaped dicts, and return stored objects (deep copies) or raise :class:`StatusError`, whose ``body()`` is a
Kubernetes ``Status``. What they do, beyond storing:

- metadata: uid, creationTimestamp, resourceVersion, ``generateName``, ``generation`` (1 on create, bumped when
  anything outside metadata and status changes); names validated per kind like the real server (see :mod:`.names`;
  422 Invalid with causes); namespaced objects need an existing namespace (404); 409 AlreadyExists on create and
  409 Conflict on a stale resourceVersion (in an update or patch, or a delete's preconditions).
- status: for kinds with a status subresource, writes to the main resource keep the stored status and writes to
  ``/status`` change only the status; then the fake controllers of :mod:`.readiness` run (when readiness is on).
- defaults a real API server applies, on create and on every update and patch (see :mod:`.defaults`), before the
  generation is compared; a CRD gets NamesAccepted/Established at once and its resources are served while it is
  Established (until then, and after it is deleted, requests for them get 404 NotFound and discovery omits them).
- deletion is immediate (no finalizers, no graceful termination) and cascades: a Namespace takes its objects, a CRD
  its custom resources, and objects listed as owners take their dependents (ownerReferences by uid). The one
  exception, with the ``namespace_deletion`` fault switch above 0: a deleted Namespace is ``Terminating`` (new
  content refused with 403, a second delete 409) for that many seconds before the fake namespace controller
  removes it and its content.
- patches: see :mod:`.patch`. Server-side apply remembers each field manager's last applied configuration.
- ``dry_run=True`` computes and returns the result without storing it.
"""

from __future__ import annotations

import copy
import random
import string
import threading
import uuid
from typing import Any

from deployer.testing.kubeapi import defaults, names, patch as patching, readiness
from deployer.testing.kubeapi.discovery import Registry, ResourceInfo
from deployer.testing.kubeapi.faults import REASONS, Faults
from deployer.testing.kubeapi.selectors import field_matcher, label_matcher
from deployer.testing.kubeapi.store import Store

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAMESPACES = ("", "namespaces")


class StatusError(Exception):
    def __init__(
        self, code: int, message: str, *, reason: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def qualified(info: ResourceInfo) -> str:
    return f"{info.plural}.{info.group}" if info.group else info.plural


def not_found(info: ResourceInfo, name: str) -> StatusError:
    return StatusError(
        404, f'{qualified(info)} "{name}" not found', details={"name": name, "group": info.group, "kind": info.plural}
    )


def _details(info: ResourceInfo, name: str) -> dict[str, Any]:
    return {"name": name, "group": info.group, "kind": info.plural}


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions if isinstance(c, dict))


class API:
    def __init__(self, store: Store, registry: Registry, faults: Faults) -> None:
        self.store = store
        self.registry = registry
        self.faults = faults
        self._applied: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
        self._allocator = defaults.Allocator()
        namespace_info = registry.resolve("", "v1", "namespaces")
        assert namespace_info is not None
        for name in INITIAL_NAMESPACES:
            self.create(namespace_info, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # -- reads ----------------------------------------------------------------------------------
    def get(self, info: ResourceInfo, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get((info.group, info.plural), namespace, name)
        if obj is None:
            raise not_found(info, name)
        return obj

    def list(
        self,
        info: ResourceInfo,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        try:
            labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        except ValueError as error:
            raise StatusError(400, str(error)) from None
        items, rv = self.store.list((info.group, info.plural), namespace or None)
        return [o for o in items if labels(o) and fields(o)], rv

    def namespace_exists(self, namespace: str) -> bool:
        return self.store.exists(NAMESPACES, "", namespace)

    def namespace_terminating(self, namespace: str) -> bool:
        found = self.store.get(NAMESPACES, "", namespace)
        return found is not None and bool(found["metadata"].get("deletionTimestamp"))

    # -- create ---------------------------------------------------------------------------------
    def create(
        self, info: ResourceInfo, namespace: str, body: dict[str, Any], *, dry_run: bool = False
    ) -> dict[str, Any]:
        obj = self._checked_body(info, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            meta["name"] = meta["generateName"] + suffix
        self._check_name(info, obj)
        with self.store.lock:
            if info.namespaced and not self.namespace_exists(namespace):
                raise StatusError(
                    404, f'namespaces "{namespace}" not found', details={"name": namespace, "kind": "namespaces"}
                )
            if info.namespaced and self.namespace_terminating(namespace):
                raise StatusError(
                    403,
                    f'{qualified(info)} "{meta["name"]}" is forbidden: unable to create new content in namespace '
                    f"{namespace} because it is being terminated",
                    details={**_details(info, meta["name"]), "causes": [{"reason": "NamespaceTerminating"}]},
                )
            if self.store.exists((info.group, info.plural), namespace, meta["name"]):
                raise StatusError(
                    409,
                    f'{qualified(info)} "{meta["name"]}" already exists',
                    reason="AlreadyExists",
                    details=_details(info, meta["name"]),
                )
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = readiness.now()
            meta["generation"] = 1
            for key in ("resourceVersion", "deletionTimestamp", "selfLink", "managedFields"):
                meta.pop(key, None)
            if "status" in info.subresources and info.group != "":
                obj.pop("status", None)
            defaults.apply(info.group, info.kind, obj, None, self._allocator)
            return self._write(info, obj, dry_run=dry_run)

    # -- update ---------------------------------------------------------------------------------
    def update(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        obj = self._checked_body(info, namespace, body)
        if obj["metadata"].get("name", name) != name:
            raise StatusError(
                400, f"the name of the object ({obj['metadata']['name']}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        with self.store.lock:
            current = self.get(info, namespace, name)
            wanted_rv = obj["metadata"].get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise StatusError(
                    409,
                    f'Operation cannot be fulfilled on {qualified(info)} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and "
                    "try again",
                    reason="Conflict",
                    details=_details(info, name),
                )
            return self._replace(info, current, obj, subresource=subresource, dry_run=dry_run)

    def _replace(
        self,
        info: ResourceInfo,
        current: dict[str, Any],
        obj: dict[str, Any],
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        if subresource == "status":
            new = copy.deepcopy(current)
            new["status"] = obj.get("status")
            if new["status"] is None:
                new.pop("status")
            return self._write(info, new, dry_run=dry_run, controllers=False)
        meta, old_meta = obj["metadata"], current["metadata"]
        for key in ("uid", "creationTimestamp", "namespace", "name"):
            if key in old_meta:
                meta[key] = old_meta[key]
        meta.pop("managedFields", None)
        defaults.apply(info.group, info.kind, obj, current, self._allocator)
        changed = _strip(obj) != _strip(current)
        meta["generation"] = old_meta.get("generation", 1) + (1 if changed else 0)
        if "status" in info.subresources:
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
            else:
                obj.pop("status", None)
        if (info.group, info.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            obj["status"] = defaults.crd_status(obj)
        return self._write(info, obj, dry_run=dry_run)

    # -- patch ----------------------------------------------------------------------------------
    def patch(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        content_type: str,
        body: Any,
        *,
        field_manager: str = "",
        subresource: str = "",
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Apply a patch; returns (object, created). Only server-side apply may create."""
        with self.store.lock:
            current = self.store.get((info.group, info.plural), namespace, name)
            try:
                if content_type == "application/apply-patch+yaml":
                    if not isinstance(body, dict):
                        raise StatusError(400, "an apply patch must be an object")
                    key = (info.group, info.plural, namespace, name, field_manager or "unknown")
                    if subresource == "status":
                        base = current or {}
                        result = patching.apply_patch(base, body, self._applied.get(key))
                    else:
                        result = patching.apply_patch(current, body, self._applied.get(key))
                    result.setdefault("metadata", {})["name"] = name
                    if current is None:
                        if subresource:
                            raise not_found(info, name)
                        created = self.create(info, namespace, result, dry_run=dry_run)
                        if not dry_run:
                            self._applied[key] = copy.deepcopy(body)
                        return created, True
                    if not dry_run:
                        self._applied[key] = copy.deepcopy(body)
                else:
                    if current is None:
                        raise not_found(info, name)
                    if content_type == "application/json-patch+json":
                        result = patching.json_patch(current, body)
                    elif content_type == "application/merge-patch+json":
                        result = patching.merge_patch(current, body)
                    elif content_type == "application/strategic-merge-patch+json":
                        result = patching.strategic_merge(current, body)
                    else:
                        raise StatusError(
                            415,
                            f"the body of the request was in an unknown format - accepted media "
                            f"types include: application/json-patch+json, application/merge-patch"
                            f"+json, application/apply-patch+yaml, application/strategic-merge-"
                            f"patch+json (got {content_type})",
                        )
            except patching.PatchError as error:
                raise StatusError(422, str(error), details=_details(info, name)) from None
            if not isinstance(result, dict):
                raise StatusError(422, "the patch produced something that is not an object")
            result.setdefault("metadata", {})
            wanted_rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise StatusError(
                    409,
                    f'Operation cannot be fulfilled on {qualified(info)} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and "
                    "try again",
                    reason="Conflict",
                    details=_details(info, name),
                )
            obj = self._checked_body(info, namespace, result)
            obj["metadata"]["name"] = name
            return self._replace(info, current, obj, subresource=subresource, dry_run=dry_run), False

    # -- delete ---------------------------------------------------------------------------------
    def delete(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        *,
        dry_run: bool = False,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Delete an object (and its dependents). ``preconditions`` (of the request's DeleteOptions) may name the
        ``uid`` and ``resourceVersion`` the object must still have: 409 Conflict otherwise, as the real server."""
        with self.store.lock:
            obj = self.get(info, namespace, name)
            for field, key in (("UID", "uid"), ("ResourceVersion", "resourceVersion")):
                wanted = (preconditions or {}).get(key)
                if wanted and wanted != obj["metadata"].get(key):
                    raise StatusError(
                        409,
                        f'Operation cannot be fulfilled on {qualified(info)} "{name}": Precondition failed: '
                        f"{field} in precondition: {wanted}, {field} in object meta: {obj['metadata'].get(key)}",
                        reason="Conflict",
                        details=_details(info, name),
                    )
            if (info.group, info.plural) == NAMESPACES and obj["metadata"].get("deletionTimestamp"):
                raise StatusError(
                    409,
                    f'Operation cannot be fulfilled on namespaces "{name}": The system is ensuring all content is '
                    "removed from this namespace.  Upon completion, this namespace will automatically be purged by "
                    "the system.",
                    reason="Conflict",
                    details=_details(info, name),
                )
            if dry_run:
                return obj
            if (info.group, info.plural) == NAMESPACES and self.faults.namespace_deletion > 0:
                return self._terminate_namespace(info, obj, self.faults.namespace_deletion)
            return self._remove_tree(info, namespace, name) or obj

    def _terminate_namespace(self, info: ResourceInfo, obj: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Mark a Namespace Terminating and let the fake namespace controller remove it after ``seconds``."""
        meta = obj["metadata"]
        meta["deletionTimestamp"] = readiness.now()
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}
        stored = self.store.put(NAMESPACES, obj)

        def finalize() -> None:
            with self.store.lock:
                current = self.store.get(NAMESPACES, "", meta["name"])
                if current is not None and current["metadata"].get("uid") == meta.get("uid"):
                    self._remove_tree(info, "", meta["name"])

        timer = threading.Timer(seconds, finalize)
        timer.daemon = True
        timer.start()
        return stored

    def _remove_tree(self, info: ResourceInfo, namespace: str, name: str) -> dict[str, Any] | None:
        removed = self.store.remove((info.group, info.plural), namespace, name)
        if removed is None:
            return None
        for key in [k for k in self._applied if k[:4] == (info.group, info.plural, namespace, name)]:
            del self._applied[key]
        uid = removed["metadata"].get("uid")
        is_namespace = (info.group, info.plural) == NAMESPACES
        is_crd = (info.group, info.plural) == ("apiextensions.k8s.io", "customresourcedefinitions")

        def dependent(obj: dict[str, Any]) -> bool:
            meta = obj["metadata"]
            return (is_namespace and meta.get("namespace") == name) or any(
                ref.get("uid") == uid for ref in meta.get("ownerReferences") or ()
            )

        for other in self.registry.all():
            if other.review or (other.crd and other.version != other.versions[0]):
                continue  # each custom resource is stored once, under its group and plural
            whole = is_crd and other.crd == name
            keys = self.store.keys_where((other.group, other.plural), (lambda obj: True) if whole else dependent)
            for other_namespace, other_name in keys:
                self._remove_tree(other, other_namespace, other_name)
        if (info.group, info.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.remove_crd(name)
        removed["metadata"]["deletionTimestamp"] = readiness.now()
        return removed

    # -- helpers --------------------------------------------------------------------------------
    def _checked_body(self, info: ResourceInfo, namespace: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StatusError(400, "the request body must be a JSON object")
        obj = copy.deepcopy(body)
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != info.kind:
            raise StatusError(
                400,
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({info.api_version}) or kind {kind} is not {info.kind}",
            )
        obj["kind"], obj["apiVersion"] = info.kind, api_version or info.api_version
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if info.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise StatusError(
                    400, "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def _check_name(self, info: ResourceInfo, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        name, generate_name = meta.get("name"), meta.get("generateName")
        errors: list[tuple[str, str, str]] = []
        if not name:
            errors.append(("metadata.name", "", "Required value: name or generateName is required"))
        elif not isinstance(name, str):
            raise StatusError(400, "metadata.name must be a string")
        else:
            if generate_name and isinstance(generate_name, str):
                errors += [
                    ("metadata.generateName", generate_name, reason)
                    for reason in names.name_errors(info.group, info.kind, generate_name, prefix=True)
                ]
            errors += [("metadata.name", name, reason) for reason in names.name_errors(info.group, info.kind, name)]
            if not errors and (info.group, info.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                errors += [("metadata.name", name, reason) for reason in names.crd_name_errors(obj)]
        if errors:
            raise StatusError(
                422,
                names.invalid_message(info.group, info.kind, name or "", errors),
                reason="Invalid",
                details={"name": name or "", "group": info.group, "kind": info.kind, "causes": names.causes(errors)},
            )

    def _write(
        self, info: ResourceInfo, obj: dict[str, Any], *, dry_run: bool = False, controllers: bool = True
    ) -> dict[str, Any]:
        if controllers and self.faults.readiness:
            obj = readiness.reconcile(info.group, info.kind, obj, "status" in info.subresources)
        if dry_run:
            obj["metadata"]["resourceVersion"] = self.store.resource_version
            return obj
        if (info.group, info.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            if established(obj):  # served from the moment it is Established, and only then
                self.registry.set_crd(obj)
            else:
                self.registry.remove_crd(obj["metadata"]["name"])
        stored = self.store.put((info.group, info.plural), obj)
        if (info.group, info.kind) == ("apps", "Deployment") and controllers and self.faults.readiness:
            self._sync_replica_set(stored)
        return stored

    def _sync_replica_set(self, deployment: dict[str, Any]) -> None:
        rs_info = self.registry.resolve("apps", "v1", "replicasets")
        assert rs_info is not None
        wanted = readiness.owned_replica_set(deployment)
        namespace = deployment["metadata"].get("namespace", "")
        uid = deployment["metadata"]["uid"]
        items, _ = self.store.list(("apps", "replicasets"), namespace)
        for item in items:
            refs = item["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs) and item["metadata"]["name"] != wanted["metadata"]["name"]:
                self._remove_tree(rs_info, namespace, item["metadata"]["name"])
        existing = self.store.get(("apps", "replicasets"), namespace, wanted["metadata"]["name"])
        if existing is None:
            wanted["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=readiness.now(), generation=1)
        else:
            wanted["metadata"].update(
                uid=existing["metadata"]["uid"],
                creationTimestamp=existing["metadata"]["creationTimestamp"],
                generation=existing["metadata"].get("generation", 1),
            )
            if _strip(existing) == _strip(wanted) and existing.get("status"):
                return
        self._write(rs_info, wanted)

    def reconcile_all(self) -> None:
        """Run the fake controllers over every stored object (used when readiness is switched back on)."""
        with self.store.lock:
            for info in self.registry.all():
                if info.crd and info.version != info.versions[0]:
                    continue
                items, _ = self.store.list((info.group, info.plural))
                for item in items:
                    if readiness.reconcile(info.group, info.kind, item, "status" in info.subresources) != item:
                        self._write(info, item)
