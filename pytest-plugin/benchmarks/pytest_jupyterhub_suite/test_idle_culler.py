"""jupyterhub-idle-culler as a hub-managed service, with pytest-jupyterhub (in-process MockHub)."""

import asyncio
import sys
from datetime import datetime, timezone

from conftest import SINGLEUSER, api, api_call, server_running, start_server, user_model, wait_until

CULLER = [
    *(sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3", "--cull-every=1"),
    *("--cull-users=true", "--cull-admin-users=false"),
]
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers", "admin:users"]


CONFIG = {
    "Spawner": SINGLEUSER,
    "Authenticator": {"admin_users": ["admin", "dave"]},  # api_call() acts as "admin"
    "JupyterHub": {
        "services": [{"name": "idle-culler", "command": CULLER}],
        "load_roles": [{"name": "idle-culler", "scopes": CULLER_SCOPES, "services": ["idle-culler"]}],
    },
}


async def test_idle_server_is_culled_active_one_is_kept(hub_app):
    app = await hub_app(config=CONFIG)

    async def report_activity() -> None:  # what alice's server does while she works
        while True:
            await asyncio.sleep(0.5)
            now = datetime.now(timezone.utc).isoformat()
            body = {"last_activity": now, "servers": {"": {"last_activity": now}}}
            # (refused until her server exists)
            await api_call(app, "users", "alice", "activity", method="post", body=body)

    reporter = asyncio.ensure_future(report_activity())
    try:
        await asyncio.gather(start_server(app, "alice"), start_server(app, "bob"))

        async def bob_stopped() -> bool:
            return not await server_running(app, "bob")

        await wait_until(bob_stopped, 20, "bob's idle server was not culled")
        await asyncio.sleep(2)  # two more culler rounds
        assert await server_running(app, "alice")
    finally:
        reporter.cancel()


async def test_cull_users_removes_idle_users_but_not_admins(hub_app):
    app = await hub_app(config=CONFIG)
    await api(app, "users", "carol", method="post")

    async def carol_gone() -> bool:
        return await user_model(app, "carol") is None

    await wait_until(carol_gone, 20, "idle user carol was not removed")
    assert (await user_model(app, "dave"))["admin"]  # idle too, since the hub started
