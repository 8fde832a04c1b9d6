"""The hub and its helpers: defaults, shared hubs, servers (in parallel), waiting for a stop, the hub's errors
and a managed service's log, a path prefix and https, and the message when the proxy is missing."""

from __future__ import annotations

import os
import secrets
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_realhub import ApiClient, JupyterHubError, ProxyNotFound, start_hub
from pytest_realhub.processes import alive
from pytest_realhub.proxy import ENV_VAR, find_proxy

SERVICE = textwrap.dedent(
    """
    import os, sys, time
    print("service", os.environ["JUPYTERHUB_SERVICE_NAME"], "has a token:", bool(os.environ["JUPYTERHUB_API_TOKEN"]))
    print("to stderr", file=sys.stderr, flush=True)
    time.sleep(600)
    """
)
SHARED = {"scope": "module", "services": [{"name": "talker", "command": [sys.executable, "-c", SERVICE]}]}
first_shared_hub = []


def test_a_default_hub_answers_with_the_test_services_scopes(jupyterhub_session):
    hub = jupyterhub_session
    me = hub.api.get("user").json()
    assert me["kind"] == "service"
    assert {"admin:users", "admin:servers", "read:hub", "access:servers"} <= set(me["scopes"])
    assert hub.api.get("").json()["version"]
    assert hub.started_in > 0
    assert "JupyterHub is now running" in hub.log


def test_a_configured_hub_is_shared_by_the_module(jupyterhub):
    hub = jupyterhub(**SHARED)
    first_shared_hub.append(hub)
    assert jupyterhub(**SHARED) is hub
    config = {"JupyterHub": {"base_url": "/prefix/"}, "Authenticator": {"admin_users": ["boss"]}}
    other = jupyterhub(scope="module", config=config)
    assert other is not hub, "another configuration is another hub"
    assert other.url.endswith("/prefix/")
    assert other.api.get("").status_code == 200
    assert other.login("carol").get("/hub/api/user").json()["name"] == "carol"
    assert other.start_server("boss") == "/prefix/user/boss/"
    assert other.user("boss")["admin"] is True, "starting a server leaves an existing user as it is"


def test_the_shared_hub_is_the_same_in_the_next_test_and_its_service_log_is_kept(jupyterhub):
    hub = jupyterhub(**SHARED)
    assert hub is first_shared_hub[0]
    log = hub.wait_until(lambda: "to stderr" in hub.service_log("talker") and hub.service_log("talker"), timeout=20)
    assert "service talker has a token: True" in log
    assert "has a token: True" not in hub.log, "a service's output is in its own log"
    with pytest.raises(JupyterHubError, match="not a managed service"):
        hub.service_log("test-service")


def test_a_crashed_shared_hub_is_replaced(jupyterhub):
    hub = first_shared_hub[0]
    hub.process.kill()
    hub.process.wait(10)
    again = jupyterhub(**SHARED)
    assert again is not hub and again.running
    assert hub.pids() == set(), "the crashed hub's proxy and service were ended"
    assert len(hub.killed) >= 2, "stop() had to end them: the hub could not"


def test_config_extra_config_and_extra_services_reach_the_hub(jupyterhub):
    reader_token = secrets.token_hex(32)
    hub = jupyterhub(
        config={"Spawner": {"environment": {"GREETING": "hello"}}},
        extra_config="c.Spawner.environment['FROM_EXTRA_CONFIG'] = 'yes'",
        services=[{"name": "reader", "api_token": reader_token}],
        roles=[{"name": "reader-role", "scopes": ["list:users", "read:users:name"], "services": ["reader"]}],
    )
    name = hub.unique_user("cfg")
    assert hub.start_server(name) == f"/user/{name}/"
    code = "import os; print(os.environ['GREETING'], os.environ['FROM_EXTRA_CONFIG'], os.environ['JUPYTERHUB_USER'])"
    result = hub.run_code(name, code)
    assert result.ok and result.stdout.strip() == f"hello yes {name}"
    reader = ApiClient(hub.url, reader_token)
    assert name in [user["name"] for user in reader.get("users").json()]
    assert reader.post("users/someone-else").status_code == 403, "the role limits the extra service"
    assert hub.api.get("user").json()["name"] == "test-service"


def test_a_hub_that_cannot_start_says_why_and_leaves_nothing(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(JupyterHubError, match="exited with code 1 while starting") as failed:
            start_hub(tmp_path, config={"JupyterHub": {"hub_port": busy.getsockname()[1]}})
    assert "Address already in use" in str(failed.value), "the message ends with the hub's log"
    proxy = int((tmp_path / "jupyterhub-proxy.pid").read_text()) if (tmp_path / "jupyterhub-proxy.pid").exists() else 0
    assert not proxy or not alive(proxy)


def test_servers_start_in_parallel_and_a_stop_is_waited_for(jupyterhub_session):
    hub = jupyterhub_session
    names = [hub.unique_user("par"), hub.unique_user("par")]
    urls = hub.start_servers(names)
    assert urls == [f"/user/{name}/" for name in names]
    assert all(hub.user(name)["servers"][""]["ready"] for name in names)
    hub.api.delete(f"users/{names[0]}/server")  # stopped by someone else, as a culler would
    hub.wait_for_stopped(names[0], timeout=30)
    assert hub.user(names[0])["servers"] == {}
    assert hub.stop_server(names[1]) is True
    assert hub.stop_server(names[1]) is False
    assert hub.delete_user(names[0]) is True
    assert hub.user(names[0]) is None


def test_waiting_in_vain_says_what_and_shows_the_hub_log(jupyterhub_session):
    hub = jupyterhub_session
    name = hub.unique_user("idle")
    hub.create_user(name)
    with pytest.raises(JupyterHubError, match=rf"{name} is an admin not true after 0.3s; last: False") as failed:
        hub.wait_until(lambda: hub.user(name)["admin"], timeout=0.3, message=f"{name} is an admin")
    assert "jupyterhub.log (last" in str(failed.value)


def test_an_uncaught_hub_exception_is_listed_and_fails_the_helper_with_its_traceback(jupyterhub, tmp_path):
    (tmp_path / "failing_spawner.py").write_text(
        "from jupyterhub.spawner import SimpleLocalProcessSpawner\n"
        "class FailingSpawner(SimpleLocalProcessSpawner):\n"
        "    async def start(self):\n"
        "        raise RuntimeError('no room for ' + self.user.name)\n"
    )
    hub = jupyterhub(spawner_class="failing_spawner.FailingSpawner", pythonpath=[tmp_path])
    with pytest.raises(JupyterHubError) as failed:
        hub.start_server("dave", timeout=20)
    assert "RuntimeError: no room for dave" in str(failed.value)
    assert any(error.summary == "RuntimeError: no room for dave" for error in hub.errors())


def test_https_with_a_throw_away_ca(jupyterhub):
    hub = jupyterhub(tls=True)
    assert hub.url.startswith("https://127.0.0.1:")
    assert hub.api.get("").status_code == 200
    assert hub.login("erin").get("/hub/api/user").json()["name"] == "erin"


def test_a_missing_proxy_is_explained_for_component_authors(tmp_path):
    with pytest.raises(ProxyNotFound) as missing:
        find_proxy(None, {"PATH": str(tmp_path)}, tmp_path)
    message = str(missing.value)
    assert "npm install -g configurable-http-proxy" in message
    assert "--realhub-proxy" in message and ENV_VAR in message
    with pytest.raises(ProxyNotFound, match="is not an executable file"):
        find_proxy(None, {ENV_VAR: str(tmp_path / "nope"), "PATH": ""}, None)
    local = tmp_path / "node_modules" / ".bin" / "configurable-http-proxy"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    assert find_proxy(None, {"PATH": ""}, tmp_path) == str(local)
    with pytest.raises(ProxyNotFound):
        start_hub(tmp_path / "hub", env={**os.environ, "PATH": str(tmp_path)})
    assert not (tmp_path / "hub" / "jupyterhub.log").exists(), "nothing was started"


def test_the_fixture_fails_cleanly_without_the_proxy(pytester):
    pytester.makepyfile("def test_hub(jupyterhub):\n    jupyterhub()\n")
    result = pytester.runpytest_subprocess("--realhub-proxy", str(Path(pytester.path) / "missing-proxy"))
    result.assert_outcomes(errors=0, failed=1)
    result.stdout.fnmatch_lines(["*missing-proxy*is not an executable file*"])
    assert "Traceback" not in result.stdout.str()
    # the ini setting: a relative path is taken from the ini file's folder
    pytester.makeini("[pytest]\nrealhub_proxy = node/bin/configurable-http-proxy\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*'{pytester.path}/node/bin/configurable-http-proxy'*is not an executable file*"])
