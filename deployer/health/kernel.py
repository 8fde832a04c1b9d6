"""Step ``kernel``: code runs in a kernel on the user's server (``1 + 1`` gives ``2``).

Real Jupyter: the kernel is started with jupyter_server's REST API (``POST {server}/api/kernels``), the code is
sent as an ``execute_request`` over the kernel's WebSocket channels (``.../channels``, the JSON message format
every jupyter_server speaks), the reply and output are read from the ``shell``/``iopub`` messages, and the
kernel is shut down again. ``run_code`` is reused by the pytest plugin's helpers.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from deployer.health import websocket
from deployer.health.base import CheckContext, StepFailed
from deployer.health.client import HubClient, HubUnreachable
from deployer.health.proxy import require_server_url

CODE, EXPECTED = "1 + 1", "2"


@dataclass(frozen=True)
class ExecutionResult:
    kernel: str  # the kernel's name (e.g. python3)
    result: str | None  # text/plain of the execute_result, if any
    stdout: str
    stderr: str
    error: str | None  # "ename: evalue" when the code raised

    @property
    def ok(self) -> bool:
        return self.error is None


def _execute_request(code: str, session: str) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "deployer",
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


def _ws_url(client: HubClient, path: str) -> str:
    origin = client.origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return origin + path


def run_code(client: HubClient, server_url: str, code: str, *, deadline: float) -> ExecutionResult:
    """Start a kernel on the server at ``server_url`` (``/user/NAME/``), run ``code``, shut the kernel down."""
    api = server_url.rstrip("/") + "/api"

    def left(cap: float = 30.0) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StepFailed("timed out: the attempt's time budget (--timeout) ran out")
        return min(cap, remaining)

    try:
        resp = client.request("POST", f"{api}/kernels", {}, timeout=left())
    except HubUnreachable as exc:
        raise StepFailed(f"cannot start a kernel: {exc}") from None
    kernel = resp.json() if resp.status == 201 else None
    if not isinstance(kernel, dict) or "id" not in kernel:
        raise StepFailed(f"the server refused to start a kernel (HTTP {resp.status}): {resp.message}")
    kernel_path = f"{api}/kernels/{quote(str(kernel['id']), safe='')}"
    session = uuid.uuid4().hex
    try:
        try:
            ws = websocket.connect(
                _ws_url(client, f"{kernel_path}/channels?session_id={session}"),
                headers={"Authorization": f"token {client.token}"},
                timeout=left(),
                ssl_context=client.ssl_context,
            )
        except websocket.WebSocketError as exc:
            detail = f": {exc.body[:200]}" if exc.body else ""
            raise StepFailed(f"cannot connect to the kernel: {exc}{detail}") from None
        except OSError as exc:
            raise StepFailed(f"cannot connect to the kernel: {exc.strerror or exc}") from None
        with ws:
            msg_id, request = _execute_request(code, session)
            ws.send_text(request)
            result, error, replied, idle = None, None, False, False
            out: dict[str, list[str]] = {"stdout": [], "stderr": []}
            while not (replied and idle):
                try:
                    message = json.loads(ws.recv_text(timeout=left()))
                except TimeoutError:
                    raise StepFailed(f"the kernel did not finish running {code!r} in time") from None
                except websocket.WebSocketError as exc:
                    raise StepFailed(f"kernel connection: {exc}") from None
                if (message.get("parent_header") or {}).get("msg_id") != msg_id:
                    continue
                kind, content = message.get("msg_type"), message.get("content") or {}
                if kind == "execute_result":
                    result = (content.get("data") or {}).get("text/plain")
                elif kind == "stream":
                    out.setdefault(content.get("name", "stdout"), []).append(content.get("text", ""))
                elif kind == "error":
                    error = f"{content.get('ename')}: {content.get('evalue')}"
                elif kind == "execute_reply":
                    replied = True
                    if content.get("status") == "error" and error is None:
                        error = f"{content.get('ename')}: {content.get('evalue')}"
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
        return ExecutionResult(
            str(kernel.get("name", "")), result, "".join(out["stdout"]), "".join(out["stderr"]), error
        )
    finally:
        with contextlib.suppress(HubUnreachable):
            client.request("DELETE", kernel_path, timeout=min(10.0, max(deadline - time.monotonic(), 1.0)))


class RunCode:
    name = "kernel"

    def run(self, ctx: CheckContext) -> str:
        result = run_code(ctx.client, require_server_url(ctx), CODE, deadline=ctx.deadline)
        if result.error:
            raise StepFailed(f"{CODE!r} raised {result.error} in kernel {result.kernel}")
        if result.result != EXPECTED:
            raise StepFailed(f"{CODE!r} gave {result.result!r} in kernel {result.kernel}, expected {EXPECTED!r}")
        return f"{CODE} = {result.result} in kernel {result.kernel}"
