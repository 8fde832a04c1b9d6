"""HTTP(S) front end of the stand-in: routing, authentication, content negotiation, watches; and its public handle.

Contract: :class:`KubeAPIServer` serves the Kubernetes REST API on ``https://127.0.0.1:<free port>`` from a thread
pool (one thread per connection, HTTP/1.1 keep-alive, TLS with a CA made at start). Routes:

- ``/version``, ``/healthz``, ``/livez``, ``/readyz``; discovery and OpenAPI v3 and v2 stubs (see :mod:`.discovery`);
- ``/api/v1/...`` and ``/apis/G/V/...`` with ``[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]``: GET (object, list,
  ``?watch=true`` or the legacy ``/watch/`` prefix), POST, PUT, PATCH, DELETE (object or collection; a JSON
  DeleteOptions' ``preconditions`` are checked). ``pods/NAME/log`` answers an empty log. Lists ignore ``limit``
  and ``continue`` and return everything at once.
- request bodies (with a ``Content-Length``, or chunked) in JSON, YAML (server-side apply) or Kubernetes protobuf
  (Secrets and ConfigMaps, see :mod:`.protobuf`); responses are JSON, or Table/PartialObjectMetadata when asked
  (see :mod:`.tables`).
- watches stream newline-delimited JSON events with chunked encoding; ``sendInitialEvents=true`` (WatchList) sends
  the current objects as ADDED and then a BOOKMARK annotated ``k8s.io/initial-events-end``; a too old
  ``resourceVersion`` yields an ERROR event with a 410 Status. Label/field selectors apply to events too (an object
  leaving the selection is sent as DELETED).

Authentication: with ``token`` set (a string, or a callable taking the presented token and returning a bool), every
request needs ``Authorization: Bearer <valid token>``, except unauthenticated requests to ``/version`` and the health
endpoints; others get 401 with a Status body. Every presented bearer token is recorded (``tokens_seen``).
Authorization (RBAC) is not evaluated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import select
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from deployer.testing.kubeapi import kubeconfig as kubeconfig_module, tables
from deployer.testing.kubeapi.api import API, StatusError, not_found
from deployer.testing.kubeapi.discovery import Registry, ResourceInfo
from deployer.testing.kubeapi.faults import ErrorRule, Faults
from deployer.testing.kubeapi.protobuf import UnsupportedProtobuf, decode_object
from deployer.testing.kubeapi.selectors import field_matcher, label_matcher
from deployer.testing.kubeapi.store import Event, Gone, Store
from deployer.testing.kubeapi.tls import TLSMaterial, make_tls_material

log = logging.getLogger(__name__)

VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0-deployer-kubeapi",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
}
HEALTH = ("/healthz", "/livez", "/readyz")
PUBLIC = ("/version", *HEALTH)
TokenCheck = Callable[[str], bool]
_UNSET: Any = object()


@dataclass(frozen=True)
class RequestRecord:
    """One served request, for assertions (``KubeAPIServer.requests``)."""

    method: str
    path: str
    query: str
    verb: str
    resource: str
    namespace: str
    name: str
    status: int
    content_type: str
    user_agent: str


@dataclass
class _Route:
    info: ResourceInfo
    namespace: str
    name: str
    subresource: str
    watch: bool


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], kube: KubeAPIServer, context: ssl.SSLContext) -> None:
        self.kube = kube
        self.ssl_context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:  # runs in the connection's thread
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.connections_lock:
            self.connections.add(request)
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            tls.settimeout(None)
            super().finish_request(tls, client_address)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.connections_lock:
                self.connections.discard(request)
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "deployer-kubeapi"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # silences the default stderr log
        log.debug("%s " + format, self.address_string(), *args)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self._serve()

    # -- plumbing -------------------------------------------------------------------------------
    def _serve(self) -> None:
        kube = self.server.kube
        url = urlsplit(self.path)
        self._params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._record = {"verb": "", "resource": "", "namespace": "", "name": ""}
        self._body = self._read_body()
        self._status = 0
        try:
            self._authenticate(url.path)
            if kube.faults.latency:
                time.sleep(kube.faults.latency)
            self._route(url.path.rstrip("/") or "/")
        except StatusError as error:
            self._send_json(error.code, error.body())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:  # a bug in the stand-in: answer 500 with the traceback, like a real server's panic
            log.exception("kubeapi: error serving %s %s", self.command, self.path)
            failure = StatusError(500, "kubeapi stand-in error: " + traceback.format_exc(limit=3))
            try:
                self._send_json(500, failure.body())
            except OSError:
                self.close_connection = True
        finally:
            kube._record_request(
                RequestRecord(
                    method=self.command,
                    path=url.path,
                    query=url.query,
                    status=self._status,
                    content_type=self.headers.get("Content-Type", ""),
                    user_agent=self.headers.get("User-Agent", ""),
                    **self._record,
                )
            )

    def _read_body(self) -> bytes:
        """The request body: ``Content-Length`` bytes, or a chunked one (kubectl streams ``--raw -f -`` so)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, up to the empty line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authenticate(self, path: str) -> None:
        kube = self.server.kube
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        if token is not None:
            kube._record_token(token)
        if kube.token_check is None:
            return
        if token is None and path.rstrip("/") in PUBLIC:
            return
        if token is None or not kube.token_check(token):
            raise StatusError(401, "Unauthorized")

    def _send(self, code: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        self._status = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, code: int, payload: Any) -> None:
        self._send(code, json.dumps(payload, separators=(",", ":")).encode(), "application/json")

    def _decoded_body(self) -> Any:
        if not self._body:
            return None
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/vnd.kubernetes.protobuf":
            if self.command == "DELETE":
                return None
            try:
                return decode_object(self._body)
            except UnsupportedProtobuf as error:
                raise StatusError(415, str(error)) from None
        text = self._body.decode("utf-8")
        try:
            return json.loads(text)
        except ValueError:
            if content_type == "application/apply-patch+yaml" or "yaml" in content_type:
                from deployer import yamlio

                try:
                    return yamlio.loads(text)
                except yamlio.YamlError as error:  # any parse error is the client's
                    raise StatusError(400, f"error decoding YAML: {error}") from None
            raise StatusError(400, "the request body is not valid JSON") from None

    # -- routing --------------------------------------------------------------------------------
    def _route(self, path: str) -> None:
        kube = self.server.kube
        registry = kube.registry
        if path == "/version":
            return self._send_json(200, VERSION)
        if path in HEALTH or any(path.startswith(p + "/") for p in HEALTH):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if path == "/api":
            return self._send_json(200, registry.api_versions(f"127.0.0.1:{kube.port}"))
        if path == "/apis":
            return self._send_json(200, registry.api_group_list())
        if path == "/openapi/v2":
            body, content_type = registry.openapi_v2(self._accept())
            return self._send(200, body, content_type)
        if path == "/openapi/v3":
            return self._send_json(200, registry.openapi_index())
        if path.startswith("/openapi/v3/"):
            document = registry.openapi_document(path[len("/openapi/v3/") :])
            if document is None:
                raise StatusError(404, "the server could not find the requested resource")
            return self._send_json(200, document)
        segments = [s for s in path.split("/") if s]
        if segments and segments[0] == "api" and len(segments) >= 2:
            group, version, rest = "", segments[1], segments[2:]
        elif segments and segments[0] == "apis" and len(segments) >= 2:
            if len(segments) == 2:
                document = registry.api_group(segments[1])
                if document is None:
                    raise StatusError(404, "the server could not find the requested resource")
                return self._send_json(200, document)
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise StatusError(404, "the server could not find the requested resource")
        if not rest:
            document = registry.resource_list(group, version)
            if document is None:
                raise StatusError(404, "the server could not find the requested resource")
            return self._send_json(200, document)
        route = self._resource_route(group, version, rest)
        self._record.update(
            resource=route.info.plural + (f"/{route.subresource}" if route.subresource else ""),
            namespace=route.namespace,
            name=route.name,
        )
        self._dispatch(route)

    def _resource_route(self, group: str, version: str, rest: list[str]) -> _Route:
        registry = self.server.kube.registry
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            candidate = registry.resolve(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise StatusError(404, "the server could not find the requested resource")
        info = registry.resolve(group, version, rest[0])
        if info is None or (namespace and not info.namespaced):
            raise StatusError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if subresource and subresource not in info.subresources:
            raise StatusError(404, "the server could not find the requested resource")
        return _Route(info, namespace, name, subresource, watch)

    def _verbs(self, route: _Route) -> tuple[str, list[str]]:
        """(the request's verb, every verb a fault rule may match)."""
        method = self.command
        if method == "GET":
            if route.name:
                return "get", ["get"]
            verb = "watch" if route.watch or self._params.get("watch") in ("true", "1") else "list"
            return verb, [verb]
        if method == "POST":
            return "create", ["create"]
        if method == "PUT":
            return "update", ["update"]
        if method == "PATCH":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            store = self.server.kube.store
            if content_type == "application/apply-patch+yaml" and not store.exists(
                (route.info.group, route.info.plural), route.namespace, route.name
            ):
                return "patch", ["patch", "create"]
            return "patch", ["patch"]
        if method == "DELETE":
            return ("delete", ["delete"]) if route.name else ("deletecollection", ["deletecollection"])
        raise StatusError(405, f"method {method} is not allowed")

    def _dispatch(self, route: _Route) -> None:
        kube = self.server.kube
        api = kube.api
        info, namespace, name, sub = route.info, route.namespace, route.name, route.subresource
        verb, verbs = self._verbs(route)
        self._record["verb"] = verb
        rule = kube.faults.match(verbs, namespace or None, info, name or None)
        if rule is not None:
            raise StatusError(
                rule.status,
                rule.describe(verbs[-1], info, name or None),
                details={"name": name, "group": info.group, "kind": info.plural} if name else None,
            )
        if verb in ("create", "update", "patch", "delete", "get") and info.namespaced and not namespace:
            raise StatusError(404, "the server could not find the requested resource")
        dry_run = bool(self._params.get("dryRun"))
        if verb == "get":
            if sub == "log":
                api.get(info, namespace, name)
                return self._send(200, b"", "text/plain")
            return self._send_object(200, info, api.get(info, namespace, name))
        if verb == "list":
            items, rv = api.list(info, namespace, self._params.get("labelSelector"), self._params.get("fieldSelector"))
            return self._send_list(info, items, rv)
        if verb == "watch":
            return self._watch(route)
        if verb == "create" and info.review:
            try:
                body = self._decoded_body() or {}
            except StatusError:  # a protobuf review: only its status matters to the client
                body = {}
            return self._send_json(201, self._review(info, body))
        if verb == "create":
            if name:
                raise StatusError(405, "POST to a named resource is not allowed")
            return self._send_object(201, info, api.create(info, namespace, self._decoded_body(), dry_run=dry_run))
        if verb == "update":
            return self._send_object(
                200, info, api.update(info, namespace, name, self._decoded_body(), subresource=sub, dry_run=dry_run)
            )
        if verb == "patch":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            obj, created = api.patch(
                info,
                namespace,
                name,
                content_type,
                self._decoded_body(),
                field_manager=self._params.get("fieldManager", ""),
                subresource=sub,
                dry_run=dry_run,
            )
            return self._send_object(201 if created else 200, info, obj)
        if verb == "delete":
            options = self._decoded_body()  # DeleteOptions, if any (a protobuf one is not read)
            preconditions = options.get("preconditions") if isinstance(options, dict) else None
            return self._send_object(
                200,
                info,
                api.delete(
                    info,
                    namespace,
                    name,
                    dry_run=dry_run,
                    preconditions=preconditions if isinstance(preconditions, dict) else None,
                ),
            )
        if verb == "deletecollection":
            items, rv = api.list(info, namespace, self._params.get("labelSelector"), self._params.get("fieldSelector"))
            deleted = [
                api.delete(info, i["metadata"].get("namespace", ""), i["metadata"]["name"], dry_run=dry_run)
                for i in items
            ]
            return self._send_list(info, deleted, kube.store.resource_version)
        raise StatusError(405, f"{verb} is not supported")

    def _review(self, info: ResourceInfo, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a review: every access is allowed (no RBAC); the user is named after its credential."""
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        username = f"token-{hashlib.sha256(token.encode()).hexdigest()[:8]}" if token else "deployer-local"
        result = {**body, "apiVersion": info.api_version, "kind": info.kind}
        if info.kind == "SelfSubjectAccessReview":
            result["status"] = {"allowed": True, "reason": "the kubeapi stand-in has no RBAC"}
        elif info.kind == "SelfSubjectRulesReview":
            result["status"] = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        else:
            result["status"] = {"userInfo": {"username": username, "groups": ["system:authenticated"]}}
        return result

    # -- rendering ------------------------------------------------------------------------------
    def _accept(self) -> str:
        return self.headers.get("Accept", "") or ""

    def _send_object(self, code: int, info: ResourceInfo, obj: dict[str, Any]) -> None:
        obj = present(info, obj)
        accept = self._accept()
        if "as=Table" in accept:
            return self._send_json(
                code,
                tables.table(
                    [obj], obj["metadata"].get("resourceVersion", ""), self._params.get("includeObject", "Metadata")
                ),
            )
        if "as=PartialObjectMetadata" in accept and "as=PartialObjectMetadataList" not in accept:
            return self._send_json(code, tables.partial_metadata(obj))
        self._send_json(code, obj)

    def _send_list(self, info: ResourceInfo, items: list[dict[str, Any]], rv: str) -> None:
        items = [present(info, i) for i in items]
        accept = self._accept()
        if "as=Table" in accept:
            return self._send_json(200, tables.table(items, rv, self._params.get("includeObject", "Metadata")))
        if "as=PartialObjectMetadataList" in accept:
            return self._send_json(200, tables.partial_metadata_list(items, rv))
        self._send_json(
            200,
            {
                "apiVersion": info.api_version,
                "kind": f"{info.kind}List",
                "metadata": {"resourceVersion": rv},
                "items": items,
            },
        )

    # -- watches --------------------------------------------------------------------------------
    def _chunk(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _watch(self, route: _Route) -> None:
        kube = self.server.kube
        info = route.info
        try:
            labels = label_matcher(self._params.get("labelSelector"))
            fields = field_matcher(self._params.get("fieldSelector"))
        except ValueError as error:
            raise StatusError(400, str(error)) from None

        def matches(obj: dict[str, Any] | None) -> bool:
            return obj is not None and labels(obj) and fields(obj)

        initial_events = self._params.get("sendInitialEvents") == "true"
        since = None if initial_events else self._params.get("resourceVersion")
        timeout = min(float(self._params.get("timeoutSeconds") or 1800), 3600.0)
        try:
            watch, objects, events, rv = kube.store.open_watch(
                (info.group, info.plural), route.namespace or None, since
            )
        except Gone as error:
            watch, objects, events, rv = None, [], [], ""
            gone = StatusError(410, str(error), reason="Expired").body()
        self._status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            if watch is None:
                self._chunk({"type": "ERROR", "object": gone})
                return
            for obj in objects:
                if matches(obj):
                    self._chunk({"type": "ADDED", "object": present(info, obj)})
            if initial_events:
                self._chunk(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": info.kind,
                            "apiVersion": info.api_version,
                            "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}},
                        },
                    }
                )
            for event in events:
                self._send_event(info, event, matches)
            deadline = time.monotonic() + timeout
            last_bookmark = time.monotonic()
            bookmarks = self._params.get("allowWatchBookmarks") == "true"
            while not kube._stopping.is_set() and time.monotonic() < deadline:
                try:
                    event = watch.events.get(timeout=0.25)
                except Exception:  # queue.Empty
                    if self._client_gone():
                        return
                    if bookmarks and time.monotonic() - last_bookmark > 30:
                        last_bookmark = time.monotonic()
                        self._chunk(
                            {
                                "type": "BOOKMARK",
                                "object": {
                                    "kind": info.kind,
                                    "apiVersion": info.api_version,
                                    "metadata": {"resourceVersion": kube.store.resource_version},
                                },
                            }
                        )
                    continue
                self._send_event(info, event, matches)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            if watch is not None:
                kube.store.close_watch(watch)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.wfile.write(b"0\r\n\r\n")

    def _send_event(self, info: ResourceInfo, event: Event, matches: Callable[[Any], bool]) -> None:
        now, before = matches(event.object), matches(event.old)
        kind = event.type
        if kind == "MODIFIED":
            if now and not before:
                kind = "ADDED"
            elif before and not now:
                kind = "DELETED"
            elif not now:
                return
        elif not now:
            return
        self._chunk({"type": kind, "object": present(info, event.object)})


def present(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as seen through ``info``'s group version."""
    return {
        "apiVersion": info.api_version,
        "kind": info.kind,
        **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")},
    }


class KubeAPIServer:
    """An in-memory Kubernetes API server on 127.0.0.1 that real helm and kubectl can use.

    ``token``: ``None`` (no authentication), a static bearer token, or a callable ``token -> bool``.
    ``port``: 0 picks a free port. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        token: str | TokenCheck | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        readiness: bool = True,
        latency: float = 0.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.token = token
        if token is None:
            self.token_check: TokenCheck | None = None
        elif callable(token):
            self.token_check = token
        else:
            self.token_check = lambda presented: presented == token
        self.store = Store()
        self.registry = Registry()
        self.faults = Faults()
        self.faults.readiness = readiness
        self.faults.latency = latency
        self.api = API(self.store, self.registry, self.faults)
        self._tls: TLSMaterial | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._tokens: list[str] = []
        self._requests: list[RequestRecord] = []

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> KubeAPIServer:
        if self._httpd is not None:
            return self
        self._tls = make_tls_material()
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self, self._tls.server_context())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"kubeapi-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        if self._tls is None:
            raise RuntimeError("the server is not started")
        return self._tls.ca_pem

    # -- kubeconfig -----------------------------------------------------------------------------
    def kubeconfig(
        self, *, context: str = "deployer-local", token: str | None = _UNSET, namespace: str | None = None
    ) -> dict[str, Any]:
        """A kubeconfig dict for this server; ``token`` defaults to the configured static token, if any. Without a
        token the user authenticates with a client certificate (accepted, but not an identity the server checks)."""
        if token is _UNSET:
            token = self.token if isinstance(self.token, str) else None
        assert self._tls is not None
        return kubeconfig_module.kubeconfig_dict(
            self.url,
            self.ca_pem,
            context=context,
            token=token,
            namespace=namespace,
            client_cert_pem=self._tls.client_cert_pem,
            client_key_pem=self._tls.client_key_pem,
        )

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        context: str = "deployer-local",
        token: str | None = _UNSET,
        namespace: str | None = None,
    ) -> Path:
        return kubeconfig_module.write_kubeconfig(
            path, self.kubeconfig(context=context, token=token, namespace=namespace)
        )

    # -- fault switches -------------------------------------------------------------------------
    @property
    def readiness(self) -> bool:
        return self.faults.readiness

    @readiness.setter
    def readiness(self, enabled: bool) -> None:
        was = self.faults.readiness
        self.faults.readiness = bool(enabled)
        if enabled and not was:
            self.api.reconcile_all()

    @property
    def latency(self) -> float:
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.faults.latency = float(seconds)

    @property
    def namespace_deletion(self) -> float:
        return self.faults.namespace_deletion

    @namespace_deletion.setter
    def namespace_deletion(self, seconds: float) -> None:
        self.faults.namespace_deletion = float(seconds)

    def inject_error(
        self,
        status: int = 500,
        *,
        verb: str | None = None,
        namespace: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> ErrorRule:
        """Fail matching requests with ``status``; see :mod:`deployer.testing.kubeapi.faults`."""
        return self.faults.inject_error(
            status, verb=verb, namespace=namespace, resource=resource, name=name, message=message, times=times
        )

    def remove_error(self, rule: ErrorRule) -> None:
        self.faults.remove_error(rule)

    def clear_errors(self) -> None:
        self.faults.clear_errors()

    # -- observation ----------------------------------------------------------------------------
    def _record_token(self, token: str) -> None:
        with self._log_lock:
            if token not in self._tokens:
                self._tokens.append(token)

    def _record_request(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._requests.append(record)
            if len(self._requests) > 50000:
                del self._requests[:10000]

    @property
    def tokens_seen(self) -> list[str]:
        """Every distinct bearer token presented so far (valid or not), in order of first appearance."""
        with self._log_lock:
            return list(self._tokens)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._requests)

    # -- objects --------------------------------------------------------------------------------
    def get_object(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A stored object, or None. ``resource``: plural, singular, kind or short name (``deployments``,
        ``Deployment``, ``deploy``; ``widgets.example.com`` to pick a group)."""
        info = self.registry.lookup(resource)
        obj = self.store.get((info.group, info.plural), namespace or "" if info.namespaced else "", name)
        return present(info, obj) if obj is not None else None

    def list_objects(
        self, resource: str, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        info = self.registry.lookup(resource)
        items, _ = self.api.list(info, namespace if info.namespaced else None, label_selector)
        return [present(info, i) for i in items]

    def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as if POSTed (namespace from its metadata, default ``default``)."""
        info = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if info is None:
            raise KeyError(f"{obj.get('apiVersion')} {obj.get('kind')} is not served")
        namespace = (obj.get("metadata") or {}).get("namespace", "default") if info.namespaced else ""
        return present(info, self.api.create(info, namespace, obj))

    def delete_object(self, resource: str, name: str, namespace: str | None = None) -> None:
        info = self.registry.lookup(resource)
        try:
            self.api.delete(info, namespace or "" if info.namespaced else "", name)
        except StatusError as error:
            if error.code != 404:
                raise
            raise KeyError(str(not_found(info, name))) from None
