"""Running code in a kernel on a single-user server, through the hub's proxy (as JupyterLab does).

The kernel is started with the Jupyter server's REST API (``POST <server>api/kernels``), the code is sent as an
``execute_request`` over the kernel's WebSocket channels (``.../channels``: the JSON messages every Jupyter
server speaks, read here with tornado's WebSocket client), the reply and the output are collected from the
``shell`` and ``iopub`` messages until the kernel is idle again, and the kernel is always shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from .errors import JupyterHubError
from .http import HubHTTP

__all__ = ["ExecutionResult", "run_code"]


@dataclass(frozen=True)
class ExecutionResult:
    """What running code in a kernel gave.

    ``kernel`` is the kernel's name (``python3``), ``result`` the ``text/plain`` of the ``execute_result`` (the
    value of the last expression), ``stdout``/``stderr`` the streamed output, ``error`` ``"ename: evalue"`` when
    the code raised (else ``None``).
    """

    kernel: str
    result: str | None
    stdout: str
    stderr: str
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the code ran without raising."""
        return self.error is None


def _execute_request(code: str, session: str) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "pytest-realhub",
            "session": session,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "buffers": [],
        "channel": "shell",
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    }
    return msg_id, json.dumps(message)


def _server_base(session: HubHTTP, server_url: str) -> str:
    """The full URL of the server (``server_url`` is a path as the hub's API gives it, base prefix included)."""
    base = server_url if urlsplit(server_url).scheme else session.origin + "/" + server_url.lstrip("/")
    return base if base.endswith("/") else base + "/"


class _Collector:
    """The output of one execution, from the kernel's messages answering ``msg_id``."""

    def __init__(self, msg_id: str):
        self.msg_id = msg_id
        self.result: str | None = None
        self.error: str | None = None
        self.streams: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.replied = False
        self.idle = False

    def add(self, message: dict[str, Any]) -> None:
        if (message.get("parent_header") or {}).get("msg_id") != self.msg_id:
            return
        kind, content = message.get("msg_type"), message.get("content") or {}
        if kind == "execute_result":
            self.result = (content.get("data") or {}).get("text/plain")
        elif kind == "stream":
            self.streams.setdefault(str(content.get("name", "stdout")), []).append(str(content.get("text", "")))
        elif kind == "error":
            self.error = f"{content.get('ename')}: {content.get('evalue')}"
        elif kind == "execute_reply":
            self.replied = True
            if content.get("status") == "error" and self.error is None:
                self.error = f"{content.get('ename')}: {content.get('evalue')}"
        elif kind == "status" and content.get("execution_state") == "idle":
            self.idle = True

    @property
    def done(self) -> bool:
        return self.replied and self.idle


async def _execute(request: HTTPRequest, code: str, session_id: str, deadline: float) -> _Collector:
    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JupyterHubError(f"the kernel did not finish running {code!r} in time")
        return remaining

    try:
        ws: WebSocketClientConnection = await asyncio.wait_for(websocket_connect(request), left())
    except HTTPClientError as exc:
        body = exc.response.body[:300].decode(errors="replace") if exc.response and exc.response.body else ""
        raise JupyterHubError(f"cannot connect to the kernel's channels: {exc}{': ' + body if body else ''}") from None
    except (OSError, asyncio.TimeoutError) as exc:
        raise JupyterHubError(f"cannot connect to the kernel's channels: {exc or type(exc).__name__}") from None
    try:
        msg_id, message = _execute_request(code, session_id)
        await ws.write_message(message)
        collector = _Collector(msg_id)
        while not collector.done:
            try:
                raw = await asyncio.wait_for(ws.read_message(), left())
            except asyncio.TimeoutError:
                raise JupyterHubError(f"the kernel did not finish running {code!r} in time") from None
            if raw is None:
                raise JupyterHubError(
                    f"the kernel's channels closed while running {code!r} (code {ws.close_code}: {ws.close_reason})"
                )
            collector.add(json.loads(raw))
        return collector
    finally:
        ws.close()


def _run_to_end(coroutine: Coroutine[Any, Any, _Collector]) -> _Collector:
    """Run ``coroutine`` in a new event loop; in a thread of its own when the caller's thread has a running loop
    (an async test), since a loop cannot be started inside another. The hub is in another process: blocking the
    test's loop meanwhile holds nothing up."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_code(session: HubHTTP, server_url: str, code: str, *, timeout: float = 60.0) -> ExecutionResult:
    """Start a kernel on the server at ``server_url`` (``/user/NAME/``), run ``code`` in it, shut it down.

    ``session`` is usually an ``ApiClient`` whose token has ``access:servers`` for that server; its
    ``Authorization`` header and cookies are sent to the server and its ``verify`` is used for https/wss.
    Raises ``JupyterHubError`` saying what failed (starting the kernel, connecting, or running out of time).
    """
    deadline = time.monotonic() + timeout
    api = _server_base(session, server_url) + "api/kernels"
    try:
        started = session.post(api, json={}, timeout=min(timeout, 60.0))
    except requests.RequestException as exc:
        raise JupyterHubError(f"cannot start a kernel at {api}: {exc}") from None
    kernel = started.json() if started.status_code == 201 else None
    if not isinstance(kernel, dict) or "id" not in kernel:
        raise JupyterHubError(
            f"the server refused to start a kernel: POST {api} answered HTTP {started.status_code}: "
            f"{started.text[:300]}"
        )
    kernel_url = f"{api}/{quote(str(kernel['id']), safe='')}"
    session_id = uuid.uuid4().hex
    headers = {k: v for k, v in session.headers.items() if k.lower() == "authorization"}
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.value is not None)
    if cookies:
        headers["Cookie"] = cookies
    verify = session.verify
    request = HTTPRequest(
        "ws" + kernel_url[len("http") :] + f"/channels?session_id={session_id}",
        headers=headers,
        validate_cert=verify is not False,
        ca_certs=verify if isinstance(verify, str) else None,
        connect_timeout=max(1.0, min(30.0, deadline - time.monotonic())),
    )
    try:
        collected = _run_to_end(_execute(request, code, session_id, deadline))
    finally:
        with contextlib.suppress(requests.RequestException):
            session.delete(kernel_url, timeout=max(1.0, min(10.0, deadline - time.monotonic() + 5.0)))
    return ExecutionResult(
        kernel=str(kernel.get("name", "")),
        result=collected.result,
        stdout="".join(collected.streams.get("stdout", [])),
        stderr="".join(collected.streams.get("stderr", [])),
        error=collected.error,
    )
