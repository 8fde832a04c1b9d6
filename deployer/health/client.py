"""A small JupyterHub HTTP client on the standard library (``urllib``): no dependency, fast to import.

- ``HubClient(url, token)``: ``url`` is the hub's public base URL (``https://hub.example.org/``, or with a
  base path). ``api(method, path)`` calls the hub REST API under ``<url>hub/api/``; ``request(method, path)``
  calls any absolute path on the hub's origin (a user's server through the proxy: ``/user/NAME/api``);
  ``events(path)`` follows a server-sent event stream (the spawn progress). Every call authenticates with
  ``Authorization: token ...`` and takes an explicit timeout.
- HTTP error statuses are returned, not raised (``Response.status``); ``Response.message`` is the hub's own
  message from its JSON error body. Redirects are not followed: a redirect to a login page is an answer too.
- Network failures (refused, DNS, TLS, timeout) raise ``HubUnreachable`` with a readable reason.
- Connections are direct: no HTTP(S)_PROXY is read from the process environment.

The token is never logged or put into an exception.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

USER_AGENT = "deployer-health-check"


class HubUnreachable(Exception):
    """The hub could not be reached at all (connection refused, DNS, TLS, timeout)."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8", errors="replace") or "null")
        except ValueError:
            return None

    @property
    def message(self) -> str:
        """The hub's (or server's) own message: ``message`` of a JSON error body, else the start of the body."""
        data = self.json()
        if isinstance(data, dict):
            for key in ("message", "reason"):
                value = data.get(key)
                if isinstance(value, str) and value:
                    return value
            return f"HTTP {self.status}"
        text = self.body.decode("utf-8", errors="replace").strip()
        if text and data is None and not text.startswith("<"):  # plain text, not an HTML page
            return " ".join(text.split())[:200]
        return f"HTTP {self.status}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """An opener handler that returns a redirect as the response instead of following it (login flows read it)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def trust(env: Mapping[str, str], url: str) -> ssl.SSLContext | None:
    """The TLS context for ``url`` in a run with environment ``env`` (None for an http:// URL): the system's trust
    store, or the CA file/folder named by OpenSSL's own variables ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when ``env``
    sets them. A variable naming something unusable is a ``UsageError`` naming it."""
    from pathlib import Path

    from deployer.errors import UsageError

    if urllib.parse.urlsplit(url).scheme != "https":
        return None
    cafile, capath = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    if capath is not None and not Path(capath).is_dir():  # OpenSSL would ignore it and trust nothing it holds
        raise UsageError(
            f"SSL_CERT_DIR={capath} is not a folder: name the folder of CA certificates to trust, or unset it"
        )
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:  # missing, a folder, not PEM certificates
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise UsageError(
            f"SSL_CERT_FILE={cafile} cannot be used ({reason}): name a PEM file of the CA certificates to "
            "trust, or unset it"
        ) from None


class HubClient:
    """Talks to one hub with one token."""

    def __init__(self, url: str, token: str, *, ssl_context: ssl.SSLContext | None = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._token = token
        self.ssl_context = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        # direct connections: no proxy settings are read from the environment (the kernel WebSocket is direct too)
        handlers: list[urllib.request.BaseHandler] = [NoRedirect(), urllib.request.ProxyHandler({})]
        if parts.scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    @property
    def token(self) -> str:
        return self._token

    def api_url(self, path: str) -> str:
        return self.url + "hub/api/" + path.lstrip("/")

    def absolute(self, path: str) -> str:
        """A URL on the hub's origin for an absolute path such as ``/user/NAME/api``."""
        return path if "://" in path else self.origin + "/" + path.lstrip("/")

    def _open(self, method: str, url: str, body: Any, timeout: float, accept: str) -> Any:
        """urllib's answer (typed ``Any`` by typeshed): an ``HTTPResponse``, or the ``HTTPError`` of an error status."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"token {self._token}")
        req.add_header("User-Agent", USER_AGENT)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            return self._opener.open(req, timeout=max(timeout, 0.1))
        except urllib.error.HTTPError as exc:  # an answer with an error status (or a redirect)
            return exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise HubUnreachable(f"{method} {url}: {_reason(exc)}") from None

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 30.0) -> Response:
        url = self.absolute(path)
        resp = self._open(method, url, body, timeout, "application/json")
        try:
            payload = resp.read()
        except (OSError, ValueError) as exc:
            raise HubUnreachable(f"{method} {url}: {_reason(exc)}") from None
        finally:
            resp.close()
        return Response(resp.status if hasattr(resp, "status") else resp.code, payload, dict(resp.headers or {}))

    def api(self, method: str, path: str, body: Any = None, *, timeout: float = 30.0) -> Response:
        return self.request(method, self.api_url(path), body, timeout=timeout)

    def events(self, path: str, *, deadline: float) -> Iterator[dict[str, Any]]:
        """The JSON ``data:`` events of a server-sent event stream, until it ends.

        ``deadline`` (a ``time.monotonic()`` value) bounds the whole stream: each read waits at most until
        then, after which ``HubUnreachable`` ("timed out") is raised. A non-2xx answer raises
        ``EventStreamRefused`` (carrying the ``Response``). Uses ``http.client`` directly, to hold the socket
        and give every read the time that is left.
        """
        url = self.absolute(path) if path.startswith("/") else self.api_url(path)
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        if host is None:
            raise HubUnreachable(f"GET {url}: no host name")

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HubUnreachable(f"GET {url}: timed out")
            return remaining

        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, parts.port, timeout=left(), context=self.ssl_context
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=left())
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(
                "GET",
                target,
                headers={
                    "Authorization": f"token {self._token}",
                    "User-Agent": USER_AGENT,
                    "Accept": "text/event-stream",
                },
            )
            sock = conn.sock  # kept: the connection hands it to the response when the stream is its last answer
            resp = conn.getresponse()
            if not 200 <= resp.status < 300:
                raise EventStreamRefused(Response(resp.status, resp.read(), dict(resp.headers or {})))
            while True:
                if sock is not None:
                    sock.settimeout(left())
                line = resp.readline()
                if not line:
                    return
                text = line.decode("utf-8", errors="replace").strip()
                if text.startswith("data:"):
                    try:
                        event = json.loads(text[5:].strip())
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        yield event
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise HubUnreachable(f"GET {url}: {_reason(exc)}") from None
        finally:
            conn.close()


class EventStreamRefused(Exception):
    def __init__(self, response: Response):
        self.response = response
        super().__init__(f"HTTP {response.status}: {response.message}")
