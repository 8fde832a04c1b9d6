"""The real-JupyterHub fixtures of the deployer's pytest plugin (``jupyterhub``, ``jupyterhub_session``):
real hub, real configurable-http-proxy, real single-user servers and kernels."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from deployer.testing.jupyterhub import JupyterHubError, LoginFailed, start_hub


# -- the example for JupyterHub component projects (the README shows it) ---------------------------------------
def test_custom_authenticator_end_to_end(jupyterhub):
    hub = jupyterhub(
        authenticator_class="example_authenticator.SharedPasswordAuthenticator",  # a module beside this test
        config={"SharedPasswordAuthenticator": {"shared_password": "open sesame", "allow_all": True}},
    )

    session = hub.login("  Alice ", "open sesame")  # the real login form, as a browser posts it
    assert session.get("/hub/api/user").json()["name"] == "alice"

    with pytest.raises(LoginFailed, match="Invalid username or password"):
        hub.login("bob", "guess")
    with pytest.raises(LoginFailed):
        hub.login("admin", "open sesame")
    assert "reserved name admin refused" in hub.log

    hub.start_server("alice")  # the authenticated user gets a working server
    assert hub.run_code("alice", "1 + 1").result == "2"


# -- the session hub and the helpers ---------------------------------------------------------------------------
def test_helpers_start_use_and_stop_a_server(jupyterhub_session):
    hub = jupyterhub_session
    name = hub.unique_user()
    url = hub.start_server(name)
    assert url == f"/user/{name}/" and hub.wait_for_ready(name) == url
    assert hub.api.get(f"users/{name}").json()["servers"][""]["ready"] is True

    result = hub.run_code(name, "import os; print(os.environ['JUPYTERHUB_USER']); 6 * 7")
    assert (result.result, result.stdout, result.error) == ("42", f"{name}\n", None)
    failed = hub.run_code(name, "1 / 0")
    assert failed.error == "ZeroDivisionError: division by zero" and not failed.ok

    assert hub.stop_server(name) is True
    assert hub.api.get(f"users/{name}").json()["servers"] == {}
    assert hub.stop_server(name) is False
    assert hub.delete_user(name) is True and hub.api.get(f"users/{name}").status == 404


def test_service_token_has_the_default_scopes(jupyterhub_session):
    me = jupyterhub_session.api.get("user").json()
    assert me["kind"] == "service" and me["name"] == "test-service"
    assert {"admin:users", "admin:servers", "read:hub", "access:servers"} <= set(me["scopes"])
    assert (
        jupyterhub_session.api.get(
            "user",
        ).status
        == 200
    )
    assert "JupyterHub is now running" in jupyterhub_session.log


def test_any_config_services_roles_and_python_config(jupyterhub):
    hub = jupyterhub(
        config={"Spawner": {"environment": {"GREETING": "hello from config"}}, "JupyterHub": {"admin_access": True}},
        services=[{"name": "reporter", "api_token": "reporter-token-0123456789"}],
        roles=[{"name": "reporter", "scopes": ["list:users"], "services": ["reporter"]}],
        extra_config="c.Spawner.environment['FROM_PYTHON'] = str(6 * 7)",
    )
    hub.start_server("carol")
    out = hub.run_code("carol", "import os; print(os.environ['GREETING'], os.environ['FROM_PYTHON'])")
    assert out.stdout == "hello from config 42\n"

    from deployer.testing.jupyterhub import HubAPI

    reporter = HubAPI(hub.url, "reporter-token-0123456789")
    assert [u["name"] for u in reporter.get("users").json()] == ["carol"]
    assert reporter.post("users/dave").status == 403  # only the scopes its role grants
    assert hub.api.get("user").status == 200  # the test service is still there, next to the extra one


def test_a_hub_that_dies_at_start_up_fails_with_its_log_and_leaves_no_proxy(tmp_path):
    # the hub starts its proxy, then cannot bind its own port and dies: the proxy must not outlive it
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(JupyterHubError) as info:
            start_hub(tmp_path, config={"JupyterHub": {"hub_port": busy.getsockname()[1]}})
    message = str(info.value)
    assert "JupyterHub exited with code 1 while starting" in message and "Address already in use" in message
    proxy = int((tmp_path / "jupyterhub-proxy.pid").read_text())
    assert not _alive(proxy)


def test_stop_ends_the_proxy_and_servers_even_after_a_hub_crash(jupyterhub):
    hub = jupyterhub()
    hub.start_server("erin")
    hub.run_code("erin", "1")
    pids = hub.pids()
    proxy = int((hub.workdir / "jupyterhub-proxy.pid").read_text())
    assert hub.process.pid in pids and proxy in pids and len(pids) >= 3  # hub, proxy, the server

    os.killpg(hub.process.pid, signal.SIGKILL)  # the hub dies without cleaning up: proxy and server survive it
    hub.process.wait(10)
    survivors = hub.pids()
    assert proxy in survivors and survivors, "the proxy and server outlive a killed hub"

    hub.stop()
    assert hub.pids() == set() and set(hub.killed) >= survivors


def test_everything_is_stopped_when_a_test_using_the_fixture_fails(tmp_path):
    # a project's failing test: the hub, proxy and server it started must still be stopped afterwards
    test_file = tmp_path / "test_fails.py"
    pid_file = tmp_path / "pids"
    test_file.write_text(
        textwrap.dedent(f"""
        def test_fails(jupyterhub):
            hub = jupyterhub()
            hub.start_server("frank")
            open({str(pid_file)!r}, "w").write(" ".join(map(str, hub.pids())))
            assert False, "this test fails on purpose"
    """)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file), "--rootdir", str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout + proc.stderr
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) >= 3
    time.sleep(0.2)
    alive = [p for p in pids if _alive(p)]
    assert alive == [], f"left running after the failed test: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
