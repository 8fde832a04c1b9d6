"""API-server defaulting: the fields a real Kubernetes API server (v1.35) fills in when an object leaves them out.

Contract: :func:`apply` changes an object in place, on create and on every update or patch (whatever the patch
type), and only sets fields that are absent (``None`` counts as absent), like the server's defaulting functions.
What it covers is what helm 3's legacy readiness checks, helm 4's kstatus waiter and kubectl read, plus the defaults
that show in every ``kubectl get -o yaml``:

- Deployment: ``replicas`` 1; ``strategy`` RollingUpdate with ``rollingUpdate`` {maxUnavailable 25%, maxSurge 25%}
  (helm 3's waiter dereferences it); ``revisionHistoryLimit`` 10; ``progressDeadlineSeconds`` 600.
- StatefulSet: ``replicas`` 1; ``updateStrategy`` RollingUpdate with ``rollingUpdate.partition`` 0;
  ``podManagementPolicy`` OrderedReady; ``revisionHistoryLimit`` 10; ``persistentVolumeClaimRetentionPolicy``
  Retain/Retain; ``volumeMode`` Filesystem in volumeClaimTemplates.
- DaemonSet: ``updateStrategy`` RollingUpdate with ``rollingUpdate`` {maxUnavailable 1, maxSurge 0} (helm 3 reads
  maxUnavailable); ``revisionHistoryLimit`` 10. ReplicaSet and ReplicationController: ``replicas`` 1.
- Job: ``completions`` and ``parallelism`` 1 (completions only when both are absent), ``backoffLimit`` 6 (helm 3
  dereferences it), ``completionMode`` NonIndexed, ``suspend`` false, ``manualSelector`` false,
  ``podReplacementPolicy`` TerminatingOrFailed; the generated ``selector`` and pod template labels
  (``batch.kubernetes.io/controller-uid``, ``batch.kubernetes.io/job-name``, ``controller-uid``, ``job-name``);
  metadata labels copied from the template when the Job has none.
- CronJob: ``concurrencyPolicy`` Allow, ``suspend`` false, history limits 3 and 1, and its job template's defaults.
- Pod templates (all the workloads above) and Pods: ``restartPolicy`` Always, ``dnsPolicy`` ClusterFirst,
  ``schedulerName`` default-scheduler, ``terminationGracePeriodSeconds`` 30, ``securityContext`` {},
  ``serviceAccount`` mirroring ``serviceAccountName``; for each (init) container ``imagePullPolicy`` (Always for
  ``:latest`` or an untagged image, else IfNotPresent), ``terminationMessagePath`` /dev/termination-log,
  ``terminationMessagePolicy`` File, ``resources`` {}, port ``protocol`` TCP (and ``hostPort`` with hostNetwork),
  probe timings (1 s timeout, 10 s period, thresholds 1 and 3, httpGet path / and scheme HTTP), ``fieldRef``
  apiVersion v1; volume ``defaultMode`` 420 for secret, configMap, projected and downwardAPI volumes.
- Service: ``type`` ClusterIP, ``sessionAffinity`` None, a ``clusterIP`` from 10.96.0.0/16 (kept on update; none
  for ExternalName; ``None`` stays headless), ``clusterIPs``, ``ipFamilies`` [IPv4], ``ipFamilyPolicy``
  SingleStack, ``internalTrafficPolicy`` Cluster; ports' ``protocol`` TCP and ``targetPort`` = ``port``; for
  NodePort and LoadBalancer a ``nodePort`` from 30000-32767 (kept on update) and ``externalTrafficPolicy``
  Cluster; LoadBalancer ``allocateLoadBalancerNodePorts`` true.
- PersistentVolumeClaim: ``volumeMode`` Filesystem. Secret: ``stringData`` folded into ``data``, ``type`` Opaque.
  Namespace: ``kubernetes.io/metadata.name`` label, ``spec.finalizers`` [kubernetes], ``status.phase`` Active.
- NetworkPolicy: ``policyTypes`` [Ingress] (+ Egress with egress rules), port ``protocol`` TCP.
- RoleBinding/ClusterRoleBinding subjects: ``apiGroup`` (rbac.authorization.k8s.io for User and Group).
- Validating/MutatingWebhookConfiguration webhooks: ``failurePolicy`` Fail, ``matchPolicy`` Equivalent,
  ``namespaceSelector``/``objectSelector`` {}, ``timeoutSeconds`` 10, service ``port`` 443, rule ``scope`` "*";
  mutating ``reinvocationPolicy`` Never.
- PriorityClass ``preemptionPolicy`` PreemptLowerPriority; StorageClass ``reclaimPolicy`` Delete and
  ``volumeBindingMode`` Immediate.
- CustomResourceDefinition: status NamesAccepted and Established (at once: there is no asynchronous controller),
  ``acceptedNames`` and ``storedVersions``.

Not defaulted: HPA behaviour, resource requests from limits, Pod priority, anything of custom resources (no
schema defaults from CRDs), and feature-gated fields.
"""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Callable
from typing import Any

from deployer.testing.kubeapi import readiness

RBAC_GROUP = "rbac.authorization.k8s.io"
_POD_TEMPLATE_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("", "ReplicationController"),
    ("", "PodTemplate"),
}


class Allocator:
    """Cluster IPs (10.96.0.0/16) and node ports (30000-32767) handed out by :func:`apply` for Services."""

    def __init__(self) -> None:
        self._ips = itertools.count(10)
        self._ports = itertools.count(30000)

    def cluster_ip(self) -> str:
        n = next(self._ips) % 64000
        return f"10.96.{n // 250}.{n % 250 + 1}"

    def node_port(self) -> int:
        return 30000 + (next(self._ports) - 30000) % 2768


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, creating it when absent or null."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _default(obj: dict[str, Any], key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = copy.deepcopy(value)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# -- pods and pod templates ------------------------------------------------------------------------------------
def image_pull_policy(image: str) -> str:
    """Always for an image tagged ``latest`` or not tagged at all, IfNotPresent otherwise (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        _default(probe, key, value)
    if isinstance(probe.get("httpGet"), dict):
        _default(probe["httpGet"], "path", "/")
        _default(probe["httpGet"], "scheme", "HTTP")


def _container(container: dict[str, Any], host_network: bool) -> None:
    if isinstance(container.get("image"), str):
        _default(container, "imagePullPolicy", image_pull_policy(container["image"]))
    _default(container, "terminationMessagePath", "/dev/termination-log")
    _default(container, "terminationMessagePolicy", "File")
    _default(container, "resources", {})
    for port in _dicts(container.get("ports")):
        _default(port, "protocol", "TCP")
        if host_network and port.get("containerPort") is not None:
            _default(port, "hostPort", port["containerPort"])
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(key))
    for env in _dicts(container.get("env")):
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env.get("valueFrom"), dict) else None
        if isinstance(field_ref, dict):
            _default(field_ref, "apiVersion", "v1")


def pod_spec(spec: dict[str, Any]) -> None:
    _default(spec, "restartPolicy", "Always")
    _default(spec, "dnsPolicy", "ClusterFirst")
    _default(spec, "schedulerName", "default-scheduler")
    _default(spec, "terminationGracePeriodSeconds", 30)
    _default(spec, "securityContext", {})
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _dicts(spec.get(key)):
            _container(container, host_network)
    for volume in _dicts(spec.get("volumes")):
        for source in ("secret", "configMap", "projected", "downwardAPI"):
            if isinstance(volume.get(source), dict):
                _default(volume[source], "defaultMode", 420)


def pod_template(template: Any) -> None:
    if isinstance(template, dict):
        pod_spec(_dict(template, "spec"))


# -- workloads --------------------------------------------------------------------------------------------------
def _deployment(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    _default(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", "25%")
        _default(rolling, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)


def _stateful_set(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    _default(spec, "replicas", 1)
    _default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _default(_dict(strategy, "rollingUpdate"), "partition", 0)
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        _default(_dict(claim, "spec"), "volumeMode", "Filesystem")


def _daemon_set(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    strategy = _dict(spec, "updateStrategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", 1)
        _default(rolling, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)


def _replicas_only(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    _default(spec, "replicas", 1)


def job_spec(spec: dict[str, Any]) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _default(spec, "parallelism", 1)
    _default(spec, "backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    _default(spec, "completionMode", "NonIndexed")
    _default(spec, "suspend", False)
    _default(spec, "manualSelector", False)
    _default(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    pod_template(spec.get("template"))


def _job(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    job_spec(spec)
    meta = obj["metadata"]
    template = _dict(spec, "template")
    template_labels = (template.get("metadata") or {}).get("labels")
    if template_labels and not meta.get("labels"):  # defaulting runs before the selector is generated
        meta["labels"] = dict(template_labels)
    if not spec.get("manualSelector") and meta.get("uid"):
        # the Job strategy generates a selector from the uid and labels the pod template with it
        generated = {
            "batch.kubernetes.io/controller-uid": meta["uid"],
            "batch.kubernetes.io/job-name": meta["name"],
            "controller-uid": meta["uid"],
            "job-name": meta["name"],
        }
        labels = _dict(_dict(template, "metadata"), "labels")
        for key, value in generated.items():
            labels.setdefault(key, value)
        _default(spec, "selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": meta["uid"]}})


def _cron_job(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    _default(spec, "concurrencyPolicy", "Allow")
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    job_spec(_dict(_dict(spec, "jobTemplate"), "spec"))


# -- core and other kinds ---------------------------------------------------------------------------------------
def _service(obj: dict[str, Any], spec: dict[str, Any], current: dict[str, Any] | None, allocator: Allocator) -> None:
    old = (current or {}).get("spec") or {}
    _default(spec, "type", "ClusterIP")
    _default(spec, "sessionAffinity", "None")
    kind = spec["type"]
    _drop_type_dependent_fields(spec, old)
    if kind != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old.get("clusterIP") or allocator.cluster_ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
        _default(spec, "ipFamilies", ["IPv4"])
        _default(spec, "ipFamilyPolicy", "SingleStack")
        _default(spec, "internalTrafficPolicy", "Cluster")
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in _dicts(old.get("ports"))}
    for port in _dicts(spec.get("ports")):
        _default(port, "protocol", "TCP")
        if port.get("port") is not None:
            _default(port, "targetPort", port["port"])
        allocated = kind in ("NodePort", "LoadBalancer") and not (
            kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is False
        )
        if allocated and not port.get("nodePort"):
            port["nodePort"] = old_ports.get((port.get("port"), port["protocol"])) or allocator.node_port()
    if kind in ("NodePort", "LoadBalancer"):
        _default(spec, "externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        _default(spec, "allocateLoadBalancerNodePorts", True)


def _drop_type_dependent_fields(spec: dict[str, Any], old: dict[str, Any]) -> None:
    """When a Service's type changes, clear what only the old type needed, if the update left it as it was (so a
    LoadBalancer turned ClusterIP loses its node ports instead of failing validation, as on a real server)."""
    node_port_types = ("NodePort", "LoadBalancer")
    if not old or old.get("type", "ClusterIP") == spec["type"]:
        return
    if old.get("type") in node_port_types and spec["type"] not in node_port_types:
        old_ports = {p.get("nodePort") for p in _dicts(old.get("ports"))}
        for port in _dicts(spec.get("ports")):
            if port.get("nodePort") in old_ports:
                port.pop("nodePort", None)
        for key in ("externalTrafficPolicy", "healthCheckNodePort"):
            if spec.get(key) == old.get(key):
                spec.pop(key, None)
    if old.get("type") == "LoadBalancer" and spec["type"] != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if spec.get(key) == old.get(key):
                spec.pop(key, None)
    if spec["type"] == "ExternalName":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
            if spec.get(key) == old.get(key):
                spec.pop(key, None)


def _secret(obj: dict[str, Any]) -> None:
    string_data = obj.pop("stringData", None) or {}
    for key, value in string_data.items():
        if not isinstance(obj.get("data"), dict):
            obj["data"] = {}
        obj["data"][key] = base64.b64encode(str(value).encode()).decode()
    _default(obj, "type", "Opaque")


def _namespace(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    _dict(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def _network_policy(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                _default(port, "protocol", "TCP")


def _binding(obj: dict[str, Any]) -> None:
    for subject in _dicts(obj.get("subjects")):
        if subject.get("apiGroup") is None:
            subject["apiGroup"] = "" if subject.get("kind") == "ServiceAccount" else RBAC_GROUP


def _webhooks(obj: dict[str, Any], mutating: bool) -> None:
    for hook in _dicts(obj.get("webhooks")):
        _default(hook, "failurePolicy", "Fail")
        _default(hook, "matchPolicy", "Equivalent")
        _default(hook, "namespaceSelector", {})
        _default(hook, "objectSelector", {})
        _default(hook, "timeoutSeconds", 10)
        if mutating:
            _default(hook, "reinvocationPolicy", "Never")
        service = (
            (hook.get("clientConfig") or {}).get("service") if isinstance(hook.get("clientConfig"), dict) else None
        )
        if isinstance(service, dict):
            _default(service, "port", 443)
        for rule in _dicts(hook.get("rules")):
            _default(rule, "scope", "*")


def crd_status(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    stamp = readiness.now()
    return {
        "acceptedNames": spec.get("names") or {},
        "storedVersions": [v["name"] for v in _dicts(spec.get("versions")) if v.get("storage")],
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "lastTransitionTime": stamp,
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "lastTransitionTime": stamp,
                "message": "the initial names have been accepted",
            },
        ],
    }


_WORKLOADS: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, Any]], None]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("apps", "ReplicaSet"): _replicas_only,
    ("", "ReplicationController"): _replicas_only,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
}


def apply(group: str, kind: str, obj: dict[str, Any], current: dict[str, Any] | None, allocator: Allocator) -> None:
    """Default ``obj`` (about to be stored as ``group``/``kind``; ``current`` is the stored version, if any)."""
    key = (group, kind)
    if key in _WORKLOADS or key in (
        ("", "Service"),
        ("", "PersistentVolumeClaim"),
        ("", "Pod"),
        ("networking.k8s.io", "NetworkPolicy"),
    ):
        spec = _dict(obj, "spec")
    else:
        found = obj.get("spec")
        spec = found if isinstance(found, dict) else {}
    if key in _WORKLOADS:
        _WORKLOADS[key](obj, spec)
        if key in _POD_TEMPLATE_KINDS and key != ("batch", "Job"):
            pod_template(spec.get("template"))
    elif key == ("", "PodTemplate"):
        pod_template(obj.get("template"))
    elif key == ("", "Pod"):
        pod_spec(spec)
        _default(spec, "enableServiceLinks", True)
    elif key == ("", "Service"):
        _service(obj, spec, current, allocator)
    elif key == ("", "PersistentVolumeClaim"):
        _default(spec, "volumeMode", "Filesystem")
    elif key == ("", "Secret"):
        _secret(obj)
    elif key == ("", "Namespace"):
        _namespace(obj)
    elif key == ("networking.k8s.io", "NetworkPolicy"):
        _network_policy(obj, spec)
    elif key in ((RBAC_GROUP, "RoleBinding"), (RBAC_GROUP, "ClusterRoleBinding")):
        _binding(obj)
    elif key == ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"):
        _webhooks(obj, mutating=False)
    elif key == ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"):
        _webhooks(obj, mutating=True)
    elif key == ("scheduling.k8s.io", "PriorityClass"):
        _default(obj, "preemptionPolicy", "PreemptLowerPriority")
    elif key == ("storage.k8s.io", "StorageClass"):
        _default(obj, "reclaimPolicy", "Delete")
        _default(obj, "volumeBindingMode", "Immediate")
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        obj["status"] = crd_status(obj)
