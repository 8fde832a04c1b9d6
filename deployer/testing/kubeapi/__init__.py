"""A local stand-in for the Kubernetes API server, good enough for the real helm (3 and 4) and kubectl.

Start it from Python::

    with KubeAPIServer(token="secret") as server:
        server.write_kubeconfig(tmp_path / "kubeconfig")      # context "deployer-local"
        subprocess.run(["helm", "--kubeconfig", ..., "upgrade", "--install", ...], env={...})
        server.get_object("deployments", "web", namespace="demo")

or from a shell: ``python -m deployer.testing.kubeapi --kubeconfig PATH [--context NAME] [--port 0] [--token T]``
(stops on SIGTERM or Ctrl-C).

It serves over HTTPS on 127.0.0.1 with a CA made at start, keeps all state in memory, and fakes what controllers
would do so that waits succeed (switchable off). Fault switches: ``readiness``, ``inject_error(...)``, ``latency``.

Limits, on purpose:

- no scheduling, kubelet, containers, images, networking, DNS, logs (``pods/log`` is empty), exec or port-forward;
- no controllers beyond the fake status writers in :mod:`.readiness` (a Deployment gets one ReplicaSet and no
  Pods; a Job gets no Pods; CronJobs never fire; HPAs never scale);
- no admission webhooks, no validation against OpenAPI schemas (only names, namespaces and kinds are checked), no
  defaulting beyond a handful of fields, no RBAC or other authorization (any valid token may do anything), no
  quotas or limit ranges;
- deletion is immediate: no finalizers, graceful termination or foreground deletion;
- server-side apply is approximated (no managedFields, never a conflict); strategic merge uses a fixed table of
  merge keys; no conversion between custom resource versions;
- no aggregated discovery, no HTTP/2, no protobuf responses (JSON only), no pagination (``limit`` is ignored),
  no subresources other than ``status``, ``scale`` (stored, not acted on) and ``pods/log``;
- OpenAPI documents are stubs without schemas (``/openapi/v2`` answers 404), so ``kubectl explain`` fails;
- protobuf request bodies are understood for Secrets, ConfigMaps and Namespaces only (helm's release records,
  ``kubectl create secret|configmap|namespace``); other typed ``kubectl create <kind>`` commands get 415 (use
  ``kubectl apply``, which sends JSON);
- ``kubectl auth can-i`` always answers yes; ``kubectl auth whoami`` names the user after a hash of its token.
"""

from deployer.testing.kubeapi.faults import ErrorRule
from deployer.testing.kubeapi.server import KubeAPIServer, RequestRecord

__all__ = ["ErrorRule", "KubeAPIServer", "RequestRecord"]
