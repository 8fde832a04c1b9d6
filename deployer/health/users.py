"""Steps ``user`` and ``remove-user``: the dedicated test user is created (or reused when a crashed run left
it behind, its server stopped first) and removed at the end. ``create_user``/``delete_user`` are reused by the
pytest plugin's helpers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from deployer.health.base import CheckContext, StepFailed
from deployer.health.client import HubClient, HubUnreachable
from deployer.health.servers import server_entry, stop_server


def _user(name: str) -> str:
    return f"users/{quote(name, safe='')}"


def create_user(client: HubClient, name: str, *, timeout: float = 30.0) -> tuple[bool, dict[str, Any]]:
    """Create user ``name``; ``(False, model)`` when it already existed. Raises ``StepFailed``."""
    try:
        resp = client.api("POST", _user(name), {}, timeout=timeout)
        if resp.status == 409:
            got = client.api("GET", _user(name), timeout=timeout)
            if got.ok and isinstance(got.json(), dict):
                return False, got.json()
            raise StepFailed(f"user {name} exists but cannot be read (HTTP {got.status}): {got.message}")
    except HubUnreachable as exc:
        raise StepFailed(str(exc)) from None
    if resp.status != 201 or not isinstance(resp.json(), dict):
        raise StepFailed(f"the hub refused to create user {name} (HTTP {resp.status}): {resp.message}")
    return True, resp.json()


def delete_user(client: HubClient, name: str, *, deadline: float) -> bool:
    """Delete user ``name`` (retrying while a server of it is still stopping); ``False`` if it did not exist."""
    while True:
        try:
            resp = client.api("DELETE", _user(name), timeout=max(0.1, min(30.0, deadline - time.monotonic())))
        except HubUnreachable as exc:
            raise StepFailed(str(exc)) from None
        if resp.status in (200, 202, 204):
            return True
        if resp.status == 404:
            return False
        if resp.status == 400 and time.monotonic() + 1 < deadline:  # e.g. "... is pending stop"
            time.sleep(0.5)
            continue
        raise StepFailed(f"the hub refused to delete user {name} (HTTP {resp.status}): {resp.message}")


class EnsureUser:
    name = "user"

    def run(self, ctx: CheckContext) -> str:
        created, model = create_user(ctx.client, ctx.username, timeout=ctx.timeout())
        ctx.user_exists = True
        if created:
            return f"created user {ctx.username}"
        leftover = server_entry(model)
        if leftover is None:
            return f"reused user {ctx.username}, left over from an earlier run"
        ctx.server_requested = True
        stop_server(ctx.client, ctx.username, deadline=ctx.deadline)
        ctx.server_requested = False
        return f"reused user {ctx.username}, left over from an earlier run; stopped its leftover server"


class RemoveUser:
    name = "remove-user"

    def run(self, ctx: CheckContext) -> str:
        existed = delete_user(ctx.client, ctx.username, deadline=ctx.deadline)
        ctx.user_exists = False
        return f"removed user {ctx.username}" if existed else f"user {ctx.username} was already gone"
