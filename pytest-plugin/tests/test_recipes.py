"""The README's first example and its recipes, as they are printed there: an authenticator, a spawner, a
managed service and a custom proxy, each tested against a real hub, and a test sharing the session's hub.

The hub-side classes are in ``recipe_*.py`` beside this file: the ``jupyterhub`` fixture puts the test's folder
on the hub's ``PYTHONPATH``, so they are named by import string.
"""

import sys
from pathlib import Path

import pytest

from pytest_realhub import DEFAULT_SCOPES, LoginFailed

# -- the README's first example ------------------------------------------------------------------------------


def test_alice_logs_in_and_runs_code(jupyterhub):
    hub = jupyterhub(config={"Spawner": {"environment": {"TEAM": "blue"}}})  # your classes and settings here
    alice = hub.login("alice", "any password")  # through the hub's real login form
    assert alice.get("/hub/api/user").json()["name"] == "alice"
    hub.start_server("alice")  # a real jupyterhub-singleuser, through the real proxy
    assert hub.run_code("alice", "import os; os.environ['TEAM']").result == "'blue'"


# -- authenticator -------------------------------------------------------------------------------------------

TEAM = {"TeamAuthenticator": {"team": ["ada", "grace"], "password": "open sesame"}}


@pytest.fixture
def team_hub(jupyterhub):
    # one hub for all the tests of this module that use this fixture
    return jupyterhub(authenticator_class="recipe_authenticator.TeamAuthenticator", config=TEAM, scope="module")


def test_strangers_and_wrong_passwords_are_refused(team_hub):
    with pytest.raises(LoginFailed, match="Invalid username or password"):
        team_hub.login("mallory", "open sesame")
    with pytest.raises(LoginFailed) as refused:
        team_hub.login("ada", "wrong")
    assert refused.value.status == 403


def test_a_member_logs_in_and_uses_her_server(team_hub):
    ada = team_hub.login("ada", "open sesame")
    assert ada.get("/hub/api/user").json()["name"] == "ada"
    assert ada.post("/hub/api/users/ada/server").status_code in (201, 202)  # xsrf handled by the session
    url = team_hub.wait_for_ready("ada")  # "/user/ada/"
    (team_hub.workdir / "home" / "ada" / "hello.txt").write_text("hi ada")
    # her server sends her browser through the hub's OAuth, then serves the file through the proxy
    assert ada.get(url + "files/hello.txt").text == "hi ada"
    assert ada.get(url + "api/status").status_code == 200
    assert team_hub.errors() == []


# -- spawner -------------------------------------------------------------------------------------------------


def test_the_spawner_sets_the_servers_environment(jupyterhub):
    hub = jupyterhub(spawner_class="recipe_spawner.GreetingSpawner")
    hub.start_server("alice")
    result = hub.run_code("alice", "import os; os.environ['GREETING']")
    assert result.ok, result.error
    assert result.result == "'Hello, alice'"


# -- managed service -----------------------------------------------------------------------------------------

REAPER = {"name": "reaper", "command": [sys.executable, str(Path(__file__).with_name("recipe_service.py"))]}
REAPER_ROLE = {"name": "reaper", "scopes": ["list:users", "admin:users"], "services": ["reaper"]}


def test_the_service_deletes_temporary_users(jupyterhub):
    hub = jupyterhub(services=[REAPER], roles=[REAPER_ROLE])
    temp, kept = hub.unique_user("temp"), hub.unique_user("kept")
    hub.create_user(temp)
    hub.create_user(kept)
    hub.wait_until(lambda: f"deleted {temp}" in hub.service_log("reaper"), timeout=20)
    assert hub.user(temp) is None
    assert hub.user(kept) is not None


# -- custom proxy --------------------------------------------------------------------------------------------

RECORDING_PROXY = {"JupyterHub": {"proxy_class": "recipe_proxy.RecordingProxy"}}


def test_the_custom_proxy_routes_a_server(jupyterhub):
    # the "proxy" scope lets the test read the routing table (GET /hub/api/proxy)
    hub = jupyterhub(config=RECORDING_PROXY, service_scopes=[*DEFAULT_SCOPES, "proxy"])
    assert "RecordingProxy: add / -> http://127.0.0.1:" in hub.log  # the hub's own route
    url = hub.start_server("bob")  # "/user/bob/"
    assert url in hub.api.get("proxy").json()
    assert f"RecordingProxy: add {url} -> http://127.0.0.1:" in hub.log
    assert hub.api.get(hub.url.rstrip("/") + url + "api/status").status_code == 200  # routed to the server
    hub.stop_server("bob")
    assert f"RecordingProxy: delete {url}" in hub.log
    assert url not in hub.api.get("proxy").json()


# -- sharing a hub -------------------------------------------------------------------------------------------


def test_a_test_on_the_shared_session_hub(jupyterhub_session):
    hub = jupyterhub_session  # one default hub for the whole session: use fresh user names
    name = hub.unique_user()
    session = hub.login(name)
    assert session.get("/hub/api/user").json()["name"] == name
