"""Steps ``spawn`` and ``stop``: the test user's default server is started and followed through the hub's
progress event stream until ready (or failed, with the hub's message), and stopped at the end, waiting until
the hub says it is gone. ``start_server``/``stop_server`` are reused by the pytest plugin's helpers.

JupyterHub answers ``POST .../server`` with 201 (ready), 202 (pending), or, when the spawn dies early, 500
(jupyterhub 6.1 ``InvalidStateError``): in every case the progress stream tells the real outcome, so it is
followed anyway and its ``failed`` message is what gets reported.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from deployer.health.base import CheckContext, StepFailed
from deployer.health.client import EventStreamRefused, HubClient, HubUnreachable

POLL = 0.25


def _user(name: str) -> str:
    return f"users/{quote(name, safe='')}"


def _timeout(deadline: float, cap: float = 30.0) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise StepFailed("timed out: the attempt's time budget (--timeout) ran out")
    return min(cap, left)


def server_entry(model: dict[str, Any]) -> dict[str, Any] | None:
    """The default server's entry in a user model, or None when it has none (stopped)."""
    servers = model.get("servers")
    if isinstance(servers, dict):
        entry = servers.get("")
        return entry if isinstance(entry, dict) else None
    if model.get("server") or model.get("pending"):  # a model without the servers list (older scopes)
        return {"url": model.get("server"), "pending": model.get("pending"), "ready": bool(model.get("server"))}
    return None


def user_model(client: HubClient, name: str, *, deadline: float) -> dict[str, Any]:
    try:
        resp = client.api("GET", _user(name), timeout=_timeout(deadline))
    except HubUnreachable as exc:
        raise StepFailed(str(exc)) from None
    model = resp.json()
    if not resp.ok or not isinstance(model, dict):
        raise StepFailed(f"cannot read user {name} (HTTP {resp.status}): {resp.message}")
    return model


def _spawn_failed(message: str) -> StepFailed:
    text = message.strip() or "no message from the hub"
    return StepFailed(text if text.lower().startswith("spawn failed") else f"spawn failed: {text}")


def start_server(client: HubClient, name: str, *, deadline: float) -> str:
    """Start user ``name``'s default server and wait until it is ready; returns its URL path (``/user/NAME/``).

    Raises ``StepFailed`` with the hub's message when the spawn fails or the deadline passes."""
    try:
        resp = client.api("POST", f"{_user(name)}/server", {}, timeout=_timeout(deadline))
    except HubUnreachable as exc:
        if "timed out" not in str(exc):
            raise StepFailed(str(exc)) from None
        resp = None  # the hub is slow to answer the request; the progress stream tells the outcome
    refused = None
    if resp is not None and resp.status not in (201, 202):
        if resp.status in (400, 500):  # 400: already running/pending; 500: the spawn died (see above)
            refused = f"HTTP {resp.status}: {resp.message}"
        else:
            raise StepFailed(f"the hub refused to start the server (HTTP {resp.status}): {resp.message}")

    last = "no progress reported"
    try:
        for event in client.events(f"{_user(name)}/server/progress", deadline=deadline):
            last = str(event.get("message") or last)
            if event.get("failed"):
                raise _spawn_failed(last)
            if event.get("ready"):
                break
    except EventStreamRefused as exc:  # no spawn going on (any more): the user model tells what happened
        refused = refused or f"progress: {exc}"
    except HubUnreachable as exc:
        if "timed out" in str(exc):
            raise StepFailed(f"the server was not ready in time; last progress: {last}") from None
        raise StepFailed(str(exc)) from None

    entry = server_entry(user_model(client, name, deadline=deadline))
    if entry is None or not entry.get("ready"):
        raise _spawn_failed(refused or last)
    return str(entry.get("url") or f"/user/{quote(name, safe='')}/")


def stop_server(client: HubClient, name: str, *, deadline: float) -> bool:
    """Stop user ``name``'s default server and wait until the hub says it is gone; False if none was running.

    A pending spawn is interrupted (the hub cancels it)."""
    if server_entry(user_model(client, name, deadline=deadline)) is None:
        return False  # the hub answers 204 to stopping a stopped server too: ask first
    while True:
        try:
            resp = client.api("DELETE", f"{_user(name)}/server", timeout=_timeout(deadline))
        except HubUnreachable as exc:
            raise StepFailed(str(exc)) from None
        if resp.status in (202, 204):
            break
        if resp.status == 404:
            return False
        if resp.status == 400:
            entry = server_entry(user_model(client, name, deadline=deadline))
            if entry is None:
                return False  # "not running"
            time.sleep(POLL)  # a spawn or stop is pending: retry once it settles
            continue
        raise StepFailed(f"the hub refused to stop the server (HTTP {resp.status}): {resp.message}")
    while server_entry(user_model(client, name, deadline=deadline)) is not None:
        if time.monotonic() + POLL > deadline:
            raise StepFailed("timed out: the server did not stop in time")
        time.sleep(POLL)
    return True


class StartServer:
    name = "spawn"

    def run(self, ctx: CheckContext) -> str:
        ctx.server_requested = True
        started = time.monotonic()
        ctx.server_url = start_server(ctx.client, ctx.username, deadline=ctx.deadline)
        return f"server ready at {ctx.server_url} after {time.monotonic() - started:.1f}s"


class StopServer:
    name = "stop"

    def run(self, ctx: CheckContext) -> str:
        stopped = stop_server(ctx.client, ctx.username, deadline=ctx.deadline)
        ctx.server_requested = False
        return "server stopped" if stopped else "no server was running"
