"""The one way the deployer talks to the Kubernetes API from Python: a ``kubernetes`` client opened from a
provider's ``ClusterAccess``. (helm and kubectl, which a person runs through ``use-cluster-credentials``, get the
same access as files and flags; this module is for the deployer's own reads.)

``api_client(access, env=..., workdir=...)`` is a context manager yielding a ``kubernetes.client.ApiClient``:

- the kubeconfig is ``access.kubeconfig``, or the ambient one of the env mapping handed in (``KUBECONFIG``, a
  ``:``-separated list merged as kubectl merges it, else ``$HOME/.kube/config`` with that mapping's ``HOME``); this
  process's ``os.environ`` is never read. The context is ``access.context`` or the kubeconfig's current one;
- an ``exec`` user (the exec credential plugin of the cloud providers' kubeconfigs, or any other, e.g.
  ``gke-gcloud-auth-plugin``) is run here, through the ``Runner``, with the environment a helm child would get
  (``access.child_env(env)``) plus the ``env`` entries the kubeconfig gives the plugin, and run again when the
  ``expirationTimestamp`` of its token has passed; the library's own exec support would use ``os.environ`` and
  start processes outside the runner. Other users (token, client certificate) are the library's to read;
- files the library must write (CA and client certificate data) go to a private folder inside ``workdir`` (a
  private folder the caller owns), removed when the block ends; nothing is written back to the kubeconfig.

``api_errors(doing)`` turns the client's failures into typed errors that say what to do: 401/403 -> ``UsageError``
about the credentials (exit 2); an API server that cannot be reached -> ``DeployerError`` (exit 1). A missing
object (404) is for the caller to handle: ``secret_data`` returns None.

``context_names(paths)`` lists the contexts of the kubeconfigs at ``paths`` (None when there is none), for the
check that a cluster's ``kubeconfig.context`` exists (``deployer.config.contexts``).

``release_storage_labels`` reads the labels of a helm release's storage Secrets (metadata only): each revision's
status, and the digest of its inputs the deploy records there (``deployer.deploy.digest``).

Leases (for the deploy lock, ``deployer.deploy.lock``), as raw JSON: ``lease_read``, ``lease_create``,
``lease_replace`` (optimistic: the body's ``resourceVersion`` must still be the stored one) and ``lease_delete``
(with that ``resourceVersion`` as a precondition); a 404 or 409 is None (False for delete), not an error.

Namespaces, PersistentVolumeClaims and labelled Secrets (for ``remove`` and ``orphans``, ``deployer.fleet``), as
raw JSON: ``list_namespaces``, ``read_namespace``, ``delete_namespace``, ``list_claims``,
``list_secret_metadata`` (helm's release records, without their data) and ``read_secret``; a 404 is None (False for
delete, [] for a list), not an error. They send requests through the ``ApiClient`` itself, not the generated
``CoreV1Api`` (whose import alone takes seconds).

The ``kubernetes`` package is imported only inside these functions (never at ``deployer --help``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.errors import DeployerError, UsageError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from deployer.auth import ClusterAccess
    from deployer.run import Runner

REQUEST_TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds to read
EXEC_TIMEOUT = 180.0  # seconds for one run of an exec credential plugin
RENEW_BEFORE = 10.0  # seconds before a plugin's token expires that it is renewed
# kubeconfig keys naming files, resolved against the folder of the kubeconfig that names them (as kubectl does)
_PATH_KEYS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def kubeconfig_paths(access: ClusterAccess, env: Mapping[str, str]) -> list[Path]:
    """The kubeconfig files of ``access``: its own, or the ambient ones of ``env`` (never ``os.environ``)."""
    if access.kubeconfig is not None:
        return [access.kubeconfig]
    home = env.get("HOME")
    if env.get("KUBECONFIG"):
        paths = [p for p in env["KUBECONFIG"].split(os.pathsep) if p]
        return [Path(home, p[2:]) if home and (p == "~" or p.startswith("~/")) else Path(p) for p in paths]
    if not home:
        raise UsageError("no kubeconfig: set KUBECONFIG (or HOME, for ~/.kube/config)")
    return [Path(home) / ".kube" / "config"]


def merged_kubeconfig(paths: list[Path]) -> dict[str, Any]:
    """The kubeconfigs at ``paths`` merged as kubectl merges them: for each name the first file that defines it
    wins, and so does the first ``current-context``. Relative file names become absolute. Missing files are skipped.

    Every field the deployer reads is checked to have the shape kubectl requires (a ``UsageError`` naming the file
    and the entry otherwise); a null ``cluster``/``user``/``context`` body is an empty one, as for kubectl."""
    from deployer import yamlio

    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": [], "current-context": None}
    found = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            data = yamlio.load(path) or {}
        except yamlio.YamlError as exc:
            at = f"line {exc.line}: " if exc.line else ""
            raise UsageError(f"{path}: not a valid kubeconfig ({at}{exc.message})") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the kubeconfig ({exc.strerror}): check the file") from None
        if not isinstance(data, dict):
            raise _invalid(path, "not a mapping")
        current = data.get("current-context")
        if current is not None and not isinstance(current, str):
            raise _invalid(path, "'current-context' must be a context name")
        found.append(path)
        for section in ("clusters", "users", "contexts"):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise _invalid(path, f"'{section}' must be a list")
            names = {entry["name"] for entry in merged[section]}
            for index, entry in enumerate(entries):
                checked = _checked(entry, section, index, path)
                if checked["name"] not in names:
                    merged[section].append(_absolute(checked, section[:-1], path.parent))
        merged["current-context"] = merged["current-context"] or current
    if not found:
        raise UsageError(f"no kubeconfig found at {os.pathsep.join(str(p) for p in paths)}")
    return merged


def context_names(paths: list[Path]) -> list[str] | None:
    """The names of the contexts of the kubeconfigs at ``paths``, merged as ``merged_kubeconfig`` merges them; None
    when none of those files exists (no kubeconfig at hand). A file that is not a valid kubeconfig: ``UsageError``."""
    if not any(path.is_file() for path in paths):
        return None
    return [str(entry["name"]) for entry in merged_kubeconfig(paths)["contexts"]]


def _invalid(path: Path, problem: str) -> UsageError:
    return UsageError(f"{path}: not a valid kubeconfig ({problem}): fix the file or point KUBECONFIG elsewhere")


def _checked(entry: Any, section: str, index: int, path: Path) -> dict[str, Any]:
    """A copy of ``entry`` of ``section`` (its body a mapping), or a ``UsageError`` for a field of the wrong shape.
    Messages name entries and keys, never values (a user entry may hold a token)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise _invalid(path, f"{section}[{index}] must be a mapping with a 'name'")
    kind, where = section[:-1], f"{section}[{index}] ('{entry['name']}')"
    checked: dict[str, Any] = copy.deepcopy(entry)
    body = checked[kind] = {} if checked.get(kind) is None else checked[kind]
    if not isinstance(body, dict):
        raise _invalid(path, f"{where}: '{kind}' must be a mapping")
    strings = {"context": ("cluster", "user", "namespace"), "cluster": ("server",)}.get(kind, ())
    for key in (*_PATH_KEYS.get(kind, ()), *strings):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise _invalid(path, f"{where}: '{kind}.{key}' must be a string")
    if kind == "user" and body.get("exec") is not None:
        _check_exec(body["exec"], where, path)
    return checked


def _check_exec(spec: Any, where: str, path: Path) -> None:
    """The fields of a user's exec credential plugin (``user.exec``) that ``ExecToken`` reads."""
    if not isinstance(spec, dict):
        raise _invalid(path, f"{where}: 'user.exec' must be a mapping")
    if not isinstance(spec.get("command"), str) or not spec["command"]:
        raise _invalid(path, f"{where}: 'user.exec' names no command")
    args = spec.get("args")
    if args is not None and not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
        raise _invalid(path, f"{where}: 'user.exec.args' must be a list of strings")
    env = spec.get("env")
    if env is not None and not isinstance(env, list):
        raise _invalid(path, f"{where}: 'user.exec.env' must be a list of name/value pairs")
    for i, pair in enumerate(env or []):
        if not (isinstance(pair, dict) and isinstance(pair.get("name"), str) and isinstance(pair.get("value"), str)):
            raise _invalid(path, f"{where}: 'user.exec.env[{i}]' needs a 'name' and a 'value', both strings")
    if spec.get("apiVersion") is not None and not isinstance(spec["apiVersion"], str):
        raise _invalid(path, f"{where}: 'user.exec.apiVersion' must be a string")
    if spec.get("provideClusterInfo") is not None and not isinstance(spec["provideClusterInfo"], bool):
        raise _invalid(path, f"{where}: 'user.exec.provideClusterInfo' must be true or false")


def _absolute(entry: dict[str, Any], kind: str, folder: Path) -> dict[str, Any]:
    body = entry[kind]  # a mapping (see _checked)
    for key in _PATH_KEYS.get(kind, ()):
        if isinstance(body.get(key), str) and body[key]:
            body[key] = str(folder / body[key])  # an absolute name stays as it is
    command = (body.get("exec") or {}).get("command") if kind == "user" else None
    if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
        body["exec"]["command"] = str(folder / command)
    return entry


def _named(config: dict[str, Any], section: str, name: str | None) -> dict[str, Any] | None:
    return next((e for e in config[section] if e.get("name") == name), None)


@contextlib.contextmanager
def api_client(
    access: ClusterAccess, *, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> Iterator[ApiClient]:
    """A ``kubernetes`` ApiClient for ``access`` (see the module docstring); closed when the block ends."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    from deployer.private import private_dir
    from deployer.run import Runner

    paths = kubeconfig_paths(access, env)
    merged = merged_kubeconfig(paths)
    context_name = access.context or merged["current-context"]
    where = os.pathsep.join(str(p) for p in paths)
    context = _named(merged, "contexts", context_name)
    if not context_name or context is None:
        raise UsageError(
            f"the kubeconfig ({where}) has no context '{context_name}'"
            if context_name
            else f"the kubeconfig ({where}) has no current context: name one"
        )
    user = _named(merged, "users", context["context"].get("user"))
    exec_spec = user["user"].pop("exec", None) if user else None  # bodies are mappings (see merged_kubeconfig)
    configuration = client.Configuration()
    with private_dir("kube-", parent=workdir) as files:
        try:
            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]
                merged,
                context=context_name,
                client_configuration=configuration,
                persist_config=False,
                temp_file_path=str(files),
            )
        except (ConfigException, KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the kubeconfig ({where}), context '{context_name}', cannot be used: {exc}") from None
        if exec_spec is not None:
            cluster = _named(merged, "clusters", context["context"].get("cluster"))
            hook = ExecToken(
                exec_spec, cluster["cluster"] if cluster else {}, env=access.child_env(env), runner=runner or Runner()
            )
            hook(configuration)  # the first token now: a failing plugin is reported before any request
            configuration.refresh_api_key_hook = hook  # type: ignore[assignment]
        api = client.ApiClient(configuration)
        try:
            yield api
        finally:
            api.close()  # type: ignore[no-untyped-call]


class ExecToken:
    """A kubeconfig's exec credential plugin, run through the runner with an explicit environment; used as the
    client configuration's ``refresh_api_key_hook`` (called before every request), it runs the plugin again once
    the token is about to expire. ``spec`` has the shape ``merged_kubeconfig`` checks."""

    def __init__(
        self, spec: Mapping[str, Any], cluster: Mapping[str, Any], *, env: Mapping[str, str], runner: Runner
    ) -> None:
        self.argv = [str(spec["command"]), *(str(a) for a in spec.get("args") or [])]
        info: dict[str, Any] = {
            "apiVersion": spec.get("apiVersion"),
            "kind": "ExecCredential",
            "spec": {"interactive": False},
        }
        if spec.get("provideClusterInfo"):
            info["spec"]["cluster"] = dict(cluster)
        self.env = {
            **env,
            **{str(e["name"]): str(e["value"]) for e in spec.get("env") or []},
            "KUBERNETES_EXEC_INFO": json.dumps(info),
        }
        self.api_version = spec.get("apiVersion")
        self.runner = runner
        self.token: str | None = None
        self.expires_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self, configuration: Any) -> None:
        with self._lock:
            if self.token is None or (self.expires_at is not None and time.time() >= self.expires_at - RENEW_BEFORE):
                self.token, self.expires_at = self._run()
            configuration.api_key["BearerToken"] = self.token
            configuration.api_key_prefix["BearerToken"] = "Bearer"

    def _run(self) -> tuple[str, float | None]:
        done = self.runner.run(self.argv, env=self.env, timeout=EXEC_TIMEOUT, check=False)
        name = Path(self.argv[0]).name
        if done.returncode != 0:
            tail = "\n".join(self.runner.redactor(done.stderr).strip().splitlines()[-10:])
            raise UsageError(
                f"the kubeconfig's credential plugin ({name}) failed (exit {done.returncode}); it must "
                f"give a token for the cluster:\n{tail}"
            )
        try:
            data = json.loads(done.stdout)
            status = data["status"]
            token = status["token"]
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"the kubeconfig's credential plugin ({name}) gave no ExecCredential with a token "
                "(client certificates from exec plugins are not supported)"
            ) from None
        if self.api_version and data.get("apiVersion") != self.api_version:
            raise UsageError(
                f"the kubeconfig's credential plugin ({name}) answered with apiVersion "
                f"{data.get('apiVersion')}, not {self.api_version}"
            )
        self.runner.redactor.add(token)
        return str(token), _expiry(status.get("expirationTimestamp"))


def _expiry(stamp: Any) -> float | None:
    if not stamp:
        return None
    import datetime

    try:
        when = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None  # an unreadable expiry: keep the token until a request is refused
    return when.timestamp() if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc).timestamp()


@contextlib.contextmanager
def api_errors(doing: str) -> Iterator[None]:
    """Typed errors for a block of API calls; ``doing`` says what was attempted ("read Secret 'hub' in ...")."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as exc:
        if exc.status == 401:
            raise UsageError(
                f"cannot {doing}: the Kubernetes API refused the credentials (401 Unauthorized); "
                "check or renew the cluster's credentials"
            ) from None
        if exc.status == 403:
            raise UsageError(
                f"cannot {doing}: the credentials are not allowed to (403 Forbidden); grant their "
                "identity access (RBAC) or use other credentials"
            ) from None
        if exc.status == 0 or exc.status is None:
            raise DeployerError(f"cannot {doing}: the Kubernetes API could not be reached ({exc.reason})") from None
        raise DeployerError(f"cannot {doing}: the Kubernetes API answered {exc.status} {exc.reason}") from None
    except HTTPError as exc:  # connection refused, TLS, timeouts (after urllib3's retries)
        reason = getattr(exc, "reason", None) or exc
        raise DeployerError(
            f"cannot {doing}: the Kubernetes API could not be reached ({reason}); check the "
            "network and the cluster's endpoint"
        ) from None


def secret_data(api: ApiClient, namespace: str, name: str, *, doing: str) -> dict[str, str] | None:
    """The ``data`` of Secret ``name`` in ``namespace`` (values base64-encoded, as the API gives them), or None
    when there is no such Secret. The values are secret: they are never logged or put into an error."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    with api_errors(doing):
        try:
            secret = CoreV1Api(api).read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
    return {str(key): str(value) for key, value in (secret.data or {}).items()}


METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def release_storage_labels(api: ApiClient, namespace: str, release: str, *, doing: str) -> list[dict[str, str]]:
    """The labels of every storage Secret helm keeps for ``release`` in ``namespace`` (one per revision: ``version``,
    ``status``, and the release labels), sorted by revision. One list call, label selector
    ``owner=helm,name=RELEASE``, asking for metadata only: the Secrets' data (whole releases) is not transferred."""
    from kubernetes.client import CoreV1Api

    with api_errors(doing):
        response: Any = CoreV1Api(api).list_namespaced_secret(  # raw: a metadata-only list
            namespace,
            label_selector=f"owner=helm,name={release}",
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
            _headers={"Accept": METADATA_LIST},
        )
    try:
        items = json.loads(response.data or b"{}").get("items") or []
        found = [
            {str(k): str(v) for k, v in ((item.get("metadata") or {}).get("labels") or {}).items()} for item in items
        ]
    except (ValueError, AttributeError, TypeError):
        raise DeployerError(f"cannot {doing}: the Kubernetes API answered with an unreadable list") from None
    return sorted(found, key=lambda labels: int(labels["version"]) if labels.get("version", "").isdigit() else -1)


# -- Leases (coordination.k8s.io/v1), as raw JSON: the deploy lock (deployer.deploy.lock) -------------------------
LEASE_TIMEOUT = (5.0, 15.0)  # seconds to connect, to read: a lock call must not hold up Ctrl-C for a minute


def _lease_call(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """The JSON answer of a ``CoordinationV1Api`` call, or None when the API answers 404 or 409 (AlreadyExists,
    or Conflict: a stale ``resourceVersion``). Other failures propagate (for ``api_errors``)."""
    from kubernetes.client.exceptions import ApiException

    try:
        response = call(*args, _preload_content=False, _request_timeout=LEASE_TIMEOUT, **kwargs)
    except ApiException as exc:
        if exc.status in (404, 409):
            return None
        raise
    data = json.loads(response.data or b"{}")
    return data if isinstance(data, dict) else {}


def lease_read(api: ApiClient, namespace: str, name: str, *, doing: str) -> dict[str, Any] | None:
    """Lease ``name`` in ``namespace`` as the API gives it, or None when there is none."""
    from kubernetes.client import CoordinationV1Api

    with api_errors(doing):
        return _lease_call(CoordinationV1Api(api).read_namespaced_lease, name, namespace)


def lease_create(api: ApiClient, namespace: str, body: dict[str, Any], *, doing: str) -> dict[str, Any] | None:
    """The Lease created from ``body``, or None when one of that name exists already (409 AlreadyExists)."""
    from kubernetes.client import CoordinationV1Api

    with api_errors(doing):
        return _lease_call(CoordinationV1Api(api).create_namespaced_lease, namespace, body)


def lease_replace(api: ApiClient, namespace: str, body: dict[str, Any], *, doing: str) -> dict[str, Any] | None:
    """The Lease replaced by ``body`` (whose ``metadata.resourceVersion`` must still be the stored one), or None
    when it is not (409 Conflict: someone changed it since it was read) or the Lease is gone (404)."""
    from kubernetes.client import CoordinationV1Api

    with api_errors(doing):
        return _lease_call(CoordinationV1Api(api).replace_namespaced_lease, body["metadata"]["name"], namespace, body)


def lease_delete(api: ApiClient, namespace: str, name: str, resource_version: str, *, doing: str) -> bool:
    """Delete Lease ``name`` if it is still at ``resource_version`` (a precondition the API checks); False when it
    is gone or was changed since (409 Conflict: then it is someone else's and stays)."""
    from kubernetes.client import CoordinationV1Api, V1DeleteOptions, V1Preconditions

    options = V1DeleteOptions(preconditions=V1Preconditions(resource_version=resource_version))
    with api_errors(doing):
        return _lease_call(CoordinationV1Api(api).delete_namespaced_lease, name, namespace, body=options) is not None


# -- Namespaces, PersistentVolumeClaims and labelled Secrets, as raw JSON: remove and orphans (deployer.fleet) -----
def _raw_json(
    api: ApiClient,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    *,
    accept: str = "application/json",
) -> dict[str, Any] | None:
    """The JSON answer of one request to the API at ``path``, or None when it answers 404. Other failures raise
    the client's ``ApiException`` (for ``api_errors``). Sent through the ``ApiClient`` itself (its configuration,
    credentials and token hook), without the generated ``CoreV1Api``, whose import alone takes seconds."""
    from kubernetes.client.exceptions import ApiException

    request = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Accept": accept},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
    response.read()  # type: ignore[no-untyped-call]
    if response.status == 404:
        return None
    if not 200 <= response.status < 300:
        raise ApiException(status=response.status, reason=response.reason, body=response.data)
    data = json.loads(response.data or b"{}")
    return data if isinstance(data, dict) else {}


def _items(answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = (answer or {}).get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def list_namespaces(api: ApiClient, *, doing: str) -> list[dict[str, Any]]:
    """Every Namespace of the cluster, as the API gives them."""
    with api_errors(doing):
        return _items(_raw_json(api, "GET", "/api/v1/namespaces"))


def read_namespace(api: ApiClient, name: str, *, doing: str) -> dict[str, Any] | None:
    """Namespace ``name`` (its ``status.phase`` says ``Terminating`` while it is being deleted), or None."""
    with api_errors(doing):
        return _raw_json(api, "GET", f"/api/v1/namespaces/{_segment(name)}")


def delete_namespace(api: ApiClient, name: str, *, doing: str) -> bool:
    """Ask the API to delete Namespace ``name`` and everything in it (the namespace controller finishes the job
    in the background); False when there is no such Namespace."""
    with api_errors(doing):
        return _raw_json(api, "DELETE", f"/api/v1/namespaces/{_segment(name)}") is not None


def list_claims(api: ApiClient, namespace: str, *, doing: str) -> list[dict[str, Any]]:
    """The PersistentVolumeClaims of ``namespace`` ([] when there is no such namespace)."""
    with api_errors(doing):
        return _items(_raw_json(api, "GET", f"/api/v1/namespaces/{_segment(namespace)}/persistentvolumeclaims"))


def list_secret_metadata(
    api: ApiClient, *, namespace: str | None, label_selector: str, doing: str
) -> list[dict[str, Any]]:
    """The metadata (name, namespace, labels) of the Secrets matching ``label_selector`` in ``namespace`` (None: in
    every namespace), as ``PartialObjectMetadata``: their data is not transferred."""
    path = "/api/v1/secrets" if namespace is None else f"/api/v1/namespaces/{_segment(namespace)}/secrets"
    with api_errors(doing):
        return _items(_raw_json(api, "GET", path, [("labelSelector", label_selector)], accept=METADATA_LIST))


def read_secret(api: ApiClient, namespace: str, name: str, *, doing: str) -> dict[str, Any] | None:
    """Secret ``name`` of ``namespace`` with its data (the caller must never log or show it), or None."""
    with api_errors(doing):
        return _raw_json(api, "GET", f"/api/v1/namespaces/{_segment(namespace)}/secrets/{_segment(name)}")


def _segment(name: str) -> str:
    """``name`` as one path segment (names are DNS labels; anything else is escaped, never a second segment)."""
    from urllib.parse import quote

    return quote(name, safe="")
