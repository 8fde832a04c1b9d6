"""Fake controllers: the status a healthy cluster would report, written synchronously on every write.

There is no scheduler, kubelet or controller manager. Instead, when an object is stored, :func:`reconcile` fills in
the status fields that helm's waiters (kstatus for ``--wait=watcher``, helm's own checks for ``--wait=legacy``) and
``kubectl rollout status`` read:

- Deployment: observedGeneration, replica counts, Available and Progressing (NewReplicaSetAvailable) conditions; plus
  one ReplicaSet owned by it with the same pod template (``owned_objects``), which the legacy waiter looks up.
- StatefulSet (currentRevision == updateRevision), DaemonSet, ReplicaSet: all replicas ready.
- Job: succeeded, Complete and SuccessCriteriaMet conditions. Pod: Running and Ready, or Succeeded when
  ``restartPolicy`` is Never or OnFailure (what ``helm test`` waits for).
- PersistentVolumeClaim: Bound. Service of type LoadBalancer: an ingress IP of 127.0.0.1 (what a one-node k3s or
  Docker Desktop cluster reports; helm 3's legacy waiter and helm 4's never finish without an ingress entry).
- Anything else with a status subresource: ``status.observedGeneration``.

Together with the API-server defaults of :mod:`.defaults` this satisfies helm 3's legacy checks (``pkg/kube/ready.go``:
observedGeneration == generation for Deployments, ReplicaSets, StatefulSets and DaemonSets; the Deployment's new
ReplicaSet, found by owner uid and pod template, with ``readyReplicas >= replicas - maxUnavailable``; DaemonSet
``updatedNumberScheduled == desiredNumberScheduled`` and ``numberReady >= desired - maxUnavailable``; StatefulSet
``updatedReplicas >= replicas - partition``, ``readyReplicas == replicas``, ``currentRevision == updateRevision``;
Services with a clusterIP; PVCs Bound; CRDs Established; Jobs with ``succeeded >= completions`` and, for hook Jobs,
the Complete condition its watch waits for), and helm 4's kstatus (the same counts plus the Deployment conditions).

A Pod or Job annotated ``kubeapi.deployer.test/fail: "true"`` fails instead (phase Failed; Job condition Failed),
so tests can make a hook or ``helm test`` fail for real.

With readiness off (``Faults.readiness = False``) workloads get no status at all, so waits time out. API-level state
that a real API server sets itself (Namespace phase, Service clusterIP, CRD Established) is not affected: see
:mod:`.api`.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

FAIL_ANNOTATION = "kubeapi.deployer.test/fail"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, Any]:
    stamp = now()
    cond = {"type": kind, "status": status, "lastTransitionTime": stamp}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def template_hash(template: Any) -> str:
    import json

    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in digest[:10])


def _fails(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(FAIL_ANNOTATION, "")).lower() == "true"


def _replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _deployment(obj: dict[str, Any]) -> dict[str, Any]:
    n = _replicas(obj)
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": n,
        "updatedReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "conditions": [
            _condition("Available", reason="MinimumReplicasAvailable", message="Deployment has minimum availability."),
            _condition(
                "Progressing",
                reason="NewReplicaSetAvailable",
                message=f'ReplicaSet "{obj["metadata"]["name"]}" has successfully progressed.',
            ),
        ],
    }


def _replica_set(obj: dict[str, Any]) -> dict[str, Any]:
    n = _replicas(obj)
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": n,
        "fullyLabeledReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
    }


def _stateful_set(obj: dict[str, Any]) -> dict[str, Any]:
    n = _replicas(obj)
    revision = f"{obj['metadata']['name']}-{template_hash((obj.get('spec') or {}).get('template'))}"
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": n,
        "readyReplicas": n,
        "currentReplicas": n,
        "updatedReplicas": n,
        "availableReplicas": n,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }


def _daemon_set(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": 1,
        "updatedNumberScheduled": 1,
        "numberReady": 1,
        "numberAvailable": 1,
        "numberMisscheduled": 0,
    }


def _job(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    stamp = now()
    if _fails(obj):
        return {
            "startTime": stamp,
            "failed": 1,
            "active": 0,
            "conditions": [
                _condition("FailureTarget", reason="BackoffLimitExceeded"),
                _condition(
                    "Failed", reason="BackoffLimitExceeded", message="Job has reached the specified backoff limit"
                ),
            ],
        }
    completions = spec.get("completions") or 1
    return {
        "startTime": stamp,
        "completionTime": stamp,
        "succeeded": completions,
        "active": 0,
        "ready": 0,
        "conditions": [_condition("SuccessCriteriaMet"), _condition("Complete")],
    }


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    containers = spec.get("containers") or []
    stamp = now()
    run_once = spec.get("restartPolicy", "Always") in ("Never", "OnFailure")
    if _fails(obj):
        phase, state, ready = "Failed", {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": stamp}}, False
    elif run_once:
        phase, state, ready = (
            "Succeeded",
            {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": stamp}},
            False,
        )
    else:
        phase, state, ready = "Running", {"running": {"startedAt": stamp}}, True
    flag = "True" if ready else "False"
    return {
        "phase": phase,
        "startTime": stamp,
        "hostIP": "127.0.0.1",
        "podIP": "10.244.0.10",
        "conditions": [
            _condition("Initialized"),
            _condition("Ready", flag),
            _condition("ContainersReady", flag),
            _condition("PodScheduled"),
        ],
        "containerStatuses": [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": ready,
                "state": state,
            }
            for c in containers
        ],
    }


CONTROLLERS: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): lambda obj: {
        "phase": "Bound",
        "accessModes": (obj.get("spec") or {}).get("accessModes", ["ReadWriteOnce"]),
        "capacity": ((obj.get("spec") or {}).get("resources") or {}).get("requests", {}),
    },
}


def reconcile(group: str, kind: str, obj: dict[str, Any], has_status_subresource: bool) -> dict[str, Any]:
    """Return ``obj`` with the status a healthy controller would have written (readiness on)."""
    obj = copy.deepcopy(obj)
    controller = CONTROLLERS.get((group, kind))
    if controller is not None:
        obj["status"] = controller(obj)
    elif (group, kind) == ("", "Service"):
        status = obj.setdefault("status", {})
        if (obj.get("spec") or {}).get("type") == "LoadBalancer":
            status["loadBalancer"] = {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}
        else:  # the service controller releases the load balancer of a Service that is no longer one
            status["loadBalancer"] = {}
    elif has_status_subresource and group not in ("", "apiextensions.k8s.io"):
        status = obj.get("status")
        if not isinstance(status, dict):
            status = {}
        status["observedGeneration"] = obj["metadata"].get("generation", 1)
        obj["status"] = status
    return obj


def owned_replica_set(deployment: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet the deployment controller would create for the deployment's current pod template."""
    meta = deployment["metadata"]
    spec = deployment.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    pod_hash = template_hash(template)
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta.get("namespace", ""),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": _replicas(deployment), "selector": selector, "template": template},
    }
