"""Helpers the pytest-jupyterhub versions of the example tests need (pytest-jupyterhub has none of them).

The hub runs in the test's own event loop, so every HTTP request must be asynchronous (a blocking
``requests`` call would freeze the hub it waits for): ``AsyncSession`` from JupyterHub's test utilities.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from typing import Any

import requests
from jupyterhub.tests.utils import AsyncSession, auth_header, public_url

# the same single-user server as pytest-realhub spawns: the real jupyterhub-singleuser
SINGLEUSER = {
    "cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
    "args": ["--allow-root"] if os.getuid() == 0 else [],
}


async def api_call(app: Any, *path: str, method: str = "get", body: Any = None) -> requests.Response:
    """A REST API request as the hub's admin user, in a thread of its own.

    (``jupyterhub.tests.utils.api_request`` sends every request through ONE worker thread: a server start,
    which the hub answers only when the spawn is done, would hold up every other request meanwhile.)
    """
    url = public_url(app, path="hub/api/" + "/".join(path))
    headers = {**auth_header(app.db, "admin"), "Sec-Fetch-Mode": "cors"}
    data = None if body is None else json.dumps(body)
    return await asyncio.to_thread(requests.request, method, url, headers=headers, data=data, timeout=60)


async def api(app: Any, *path: str, method: str = "get", body: Any = None) -> Any:
    """``api_call`` that must succeed; the decoded JSON answer (None for an empty one)."""
    resp = await api_call(app, *path, method=method, body=body)
    resp.raise_for_status()
    return resp.json() if resp.content else None


async def user_model(app: Any, name: str) -> dict[str, Any] | None:
    resp = await api_call(app, "users", name)
    return None if resp.status_code == 404 else resp.json()


async def wait_until(predicate: Any, timeout: float, message: str) -> None:
    """Await ``predicate()`` (a coroutine function) until true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.2)


async def start_server(app: Any, name: str) -> None:
    """Create ``name``, start its default server and wait until it is ready."""
    await api(app, "users", name, method="post")
    resp = await api_call(app, "users", name, "server", method="post")
    assert resp.status_code in (201, 202), resp.text

    async def ready() -> bool:
        model = await user_model(app, name)
        return bool(model and model["servers"].get("", {}).get("ready"))

    await wait_until(ready, 60, f"server of {name} not ready")


async def server_running(app: Any, name: str) -> bool:
    model = await user_model(app, name)
    return bool(model and model["servers"].get(""))


class Browser:
    """A cookie-keeping browser on the hub: GET a page, then POST its form with the ``_xsrf`` value."""

    def __init__(self, app: Any):
        self.base = public_url(app)
        self.session = AsyncSession()

    async def get(self, path: str) -> Any:
        return await self.session.get(self.base + path, allow_redirects=False)

    async def submit(self, path: str, data: dict[str, str]) -> Any:
        page = await self.get(path)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        token = xsrf.group(1) if xsrf else self.session.cookies.get("_xsrf", "")
        return await self.session.post(self.base + path, data={**data, "_xsrf": token}, allow_redirects=False)

    async def login(self, username: str, password: str) -> Any:
        return await self.submit("hub/login", {"username": username, "password": password})


def login_error(resp: Any) -> str:
    match = re.search(r'<p class="login_error">\s*(.*?)\s*</p>', resp.text, re.S)
    return match.group(1) if match else f"HTTP {resp.status_code}"
