"""jupyterhub-idle-culler (from PyPI) as a hub-managed service on a real hub.

The culler runs with a 3 s timeout, checking every second, and with ``--cull-users`` (idle users are deleted,
admins kept); its role has exactly the scopes its README lists. Both tests share one hub (``scope="module"``),
which has one admin user, ``dave``.
"""

import sys
import threading
from datetime import datetime, timezone

import pytest

pytest.importorskip("jupyterhub_idle_culler", reason="pip install -r tests/examples/requirements.txt")

CULLER = {
    "name": "idle-culler",
    "command": [
        *(sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3", "--cull-every=1"),
        *("--cull-users=true", "--cull-admin-users=false"),
    ],
}
ROLE = {
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers", "admin:users"],
    "services": ["idle-culler"],
}

ADMINS = {"Authenticator": {"admin_users": ["dave"]}}


@pytest.fixture
def hub(jupyterhub):
    return jupyterhub(services=[CULLER], roles=[ROLE], config=ADMINS, scope="module")


def test_idle_server_is_culled_active_one_is_kept(hub):
    alice, bob = hub.unique_user("alice"), hub.unique_user("bob")
    done = threading.Event()

    def report_activity():  # what alice's server does while she works
        while not done.wait(0.5):
            now = datetime.now(timezone.utc).isoformat()
            body = {"last_activity": now, "servers": {"": {"last_activity": now}}}
            hub.api.post(f"users/{alice}/activity", json=body)  # refused until her server exists

    reporter = threading.Thread(target=report_activity)
    reporter.start()
    try:
        hub.start_servers([alice, bob])
        hub.wait_for_stopped(bob, timeout=20)
        done.wait(2)  # two more culler rounds
        assert "" in (hub.user(alice) or {}).get("servers", {}), f"the active server of {alice} was culled"
    finally:
        done.set()
        reporter.join()
    assert "Culling server" in hub.service_log("idle-culler")


def test_cull_users_removes_idle_users_but_not_admins(hub):
    carol = hub.unique_user("carol")
    hub.create_user(carol)
    hub.wait_until(lambda: hub.user(carol) is None, timeout=20, message=f"idle user {carol} removed")
    assert hub.user("dave")["admin"]  # idle too, since the hub started
