"""A local stand-in for the Kubernetes API server, good enough for the real helm (3 and 4) and kubectl.

Start it from Python::

    with KubeAPIServer(token="secret") as server:
        server.write_kubeconfig(tmp_path / "kubeconfig")      # context "deployer-local"
        subprocess.run(["helm", "--kubeconfig", ..., "upgrade", "--install", ...], env={...})
        server.get_object("deployments", "web", namespace="demo")

or from a shell: ``python -m deployer.testing.kubeapi --kubeconfig PATH [--context NAME] [--port 0] [--token T]``
(stops on SIGTERM or Ctrl-C).

It serves over HTTPS on 127.0.0.1 with a CA made at start, keeps all state in memory, and fakes what controllers
would do so that waits succeed (switchable off). Fault switches: ``readiness``, ``inject_error(...)``, ``latency``,
``namespace_deletion``.

What it does like a real API server (v1.35), enough for the real upstream charts (jupyterhub, dask-gateway,
cert-manager, ingress-nginx, prometheus) with helm 3 and helm 4:

- names validated per kind (:mod:`.names`): RBAC names are path segments (``a:b`` is fine), Namespaces RFC 1123
  labels, Services RFC 1035 labels, the rest RFC 1123 subdomains; 422 Invalid with the server's message and causes;
- API-server defaulting on create, update and every patch type (:mod:`.defaults`): workload strategies, replicas,
  history limits, Job completions/backoffLimit/selector, pod template and container defaults, Service type, ports,
  cluster IP and node ports, and more; only where a field is absent;
- fake controller status (:mod:`.readiness`) that satisfies helm 3's legacy readiness checks, helm 4's kstatus
  waiter, helm's hook Job watches and ``kubectl rollout status``: a ReplicaSet owned by each Deployment,
  StatefulSet revisions, DaemonSet scheduled/ready counts, Jobs Complete, Pods Ready (or Succeeded), PVCs Bound, an
  ingress of 127.0.0.1 for LoadBalancer Services;
- CRDs are Established at once and their resources served from then on; a custom resource whose CRD is missing (or
  not Established) is absent from discovery and OpenAPI, and requests for it get 404 NotFound, so helm and kubectl
  fail with "no matches for kind ..." / "the server could not find the requested resource".

Limits, on purpose:

- no scheduling, kubelet, containers, images, networking, DNS, logs (``pods/log`` is empty), exec or port-forward;
- no controllers beyond the fake status writers in :mod:`.readiness` (a Deployment gets one ReplicaSet and no
  Pods; a Job or DaemonSet gets no Pods; a DaemonSet always counts one node; CronJobs never fire; HPAs never scale;
  no garbage collection beyond cascading deletes; a LoadBalancer's ingress is 127.0.0.1 at once);
- no admission webhooks (ValidatingWebhookConfigurations are stored, never called), no validation against OpenAPI
  schemas (names, namespaces, kinds and CRD names are checked; immutable fields are not), no CRD schema defaults or
  pruning, no RBAC or other authorization (any valid token may do anything), no quotas or limit ranges;
- deletion is immediate: no finalizers, graceful termination or foreground deletion (except, with the
  ``namespace_deletion`` switch above 0, a Namespace: ``Terminating`` that long, as a real one while emptied);
- server-side apply is approximated (no managedFields, never a conflict); strategic merge uses a fixed table of
  merge keys; no conversion between custom resource versions;
- no aggregated discovery, no HTTP/2, no protobuf responses (JSON only), no pagination (``limit`` is ignored),
  no subresources other than ``status``, ``scale`` (stored, not acted on) and ``pods/log``;
- OpenAPI documents are stubs without schemas (v3 per group version, v2 empty), so ``kubectl explain`` fails;
- protobuf request bodies are understood for Secrets, ConfigMaps and Namespaces only (helm's release records,
  ``kubectl create secret|configmap|namespace``); other typed ``kubectl create <kind>`` commands get 415 (use
  ``kubectl apply``, which sends JSON);
- ``kubectl auth can-i`` always answers yes; ``kubectl auth whoami`` names the user after a hash of its token.
"""

from deployer.testing.kubeapi.faults import ErrorRule
from deployer.testing.kubeapi.server import KubeAPIServer, RequestRecord

__all__ = ["ErrorRule", "KubeAPIServer", "RequestRecord"]
