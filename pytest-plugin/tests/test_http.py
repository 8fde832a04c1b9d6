"""``pytest_realhub.http`` against a real hub: anonymous and logged-in sessions, xsrf, forms, the token API,
and a hub error (500) whose response carries the hub's traceback.

One hub for the module, with ``boom_authenticator.BoomAuthenticator`` (the dummy authenticator, except that
``boom`` makes it raise and ``refused`` is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from pytest_realhub.errors import JupyterHubError, LoginFailed
from pytest_realhub.http import ApiClient, HubHTTP, HubResponse, HubSession, login, parse_forms
from pytest_realhub.logs import LogWatcher


@pytest.fixture
def hub(jupyterhub: Callable[..., Any]) -> Any:
    return jupyterhub(scope="module", authenticator_class="boom_authenticator.BoomAuthenticator")


def _login(hub: Any, name: str) -> HubSession:
    return login(hub.url, name, "any password", verify=hub.verify, log=LogWatcher(hub.log_path))


def test_paths_resolve_against_the_public_url_and_its_prefix() -> None:
    plain = HubHTTP("http://127.0.0.1:8000/")
    assert plain.url("/hub/home") == "http://127.0.0.1:8000/hub/home"
    assert plain.url("hub/home") == "http://127.0.0.1:8000/hub/home"
    assert plain.url("https://example.org/x") == "https://example.org/x"
    prefixed = HubHTTP("http://127.0.0.1:8000/prefix")
    assert prefixed.url("/hub/home") == "http://127.0.0.1:8000/prefix/hub/home"
    assert prefixed.url("hub/home") == "http://127.0.0.1:8000/prefix/hub/home"
    assert prefixed.url("/prefix/user/alice/") == "http://127.0.0.1:8000/prefix/user/alice/"  # as the API gives it
    api = ApiClient("http://127.0.0.1:8000/prefix/", "secret")
    assert api.url("users") == api.url("/users") == "http://127.0.0.1:8000/prefix/hub/api/users"
    assert api.headers["Authorization"] == "token secret"
    assert not plain.trust_env and not api.trust_env


def test_forms_are_parsed_as_a_browser_would_send_them() -> None:
    page = """<form id="f" action="save?x=1" method="post">
      <input type="hidden" name="_xsrf" value="t&amp;k"><input name="name" value="alice">
      <input type="checkbox" name="on" checked><input type="checkbox" name="off" value="1">
      <select name="size"><option value="s">S</option><option value="m" selected>M</option></select>
      <textarea name="note">hello</textarea><input type="submit" name="go" value="Go"></form>
      <form><input name="q"></form>"""
    first, second = parse_forms(page, "http://hub/hub/page")
    assert (first.action, first.method, first.id) == ("http://hub/hub/save?x=1", "POST", "f")
    assert first.fields == {"_xsrf": "t&k", "name": "alice", "on": "on", "size": "m", "note": "hello"}
    assert (second.action, second.method, second.id, second.fields) == ("http://hub/hub/page", "GET", None, {"q": ""})


def test_anonymous_session_gets_pages_and_the_login_form(hub: Any) -> None:
    session = HubSession(hub.url, verify=hub.verify, log=LogWatcher(hub.log_path))
    assert session.username is None
    page = session.get("/hub/login")
    assert isinstance(page, HubResponse) and page.status_code == 200 and page.hub_errors == []
    assert session.xsrf_token(hub.url + "hub/api/users") is not None  # the hub set its _xsrf cookie (path /hub/)
    [form] = session.forms("hub/login")
    assert {"_xsrf", "username", "password"} <= set(form.fields)
    assert form.method == "POST" and "/hub/login" in form.action
    assert session.get("/hub/api/user").status_code == 403  # not logged in


def test_login_then_the_api_with_the_session_cookie(hub: Any) -> None:
    name = hub.unique_user("web")
    session = _login(hub, name)
    assert session.username == name
    assert any(c.name.startswith("jupyterhub-") for c in session.cookies)
    me = session.get("/hub/api/user")
    assert me.status_code == 200, me.text
    assert me.json()["name"] == name
    assert session.get("/hub/home").status_code == 200


def test_post_and_delete_carry_the_xsrf_token_and_are_refused_without(hub: Any) -> None:
    name = hub.unique_user("web")
    session = _login(hub, name)
    tokens = f"/hub/api/users/{name}/tokens"
    refused = session.post(tokens, json={"note": "no xsrf"}, headers={"X-XSRFToken": None})
    assert refused.status_code == 403
    assert "_xsrf" in refused.json()["message"]
    created = session.post(tokens, json={"note": "from a test", "expires_in": 600})
    assert created.status_code == 201, created.text
    token = created.json()
    assert created.request.headers["X-XSRFToken"] == session.xsrf_token(hub.url + "hub/api/")
    listed = session.get(tokens).json()["api_tokens"]
    assert token["id"] in [t["id"] for t in listed]
    # the new token works on its own
    assert ApiClient(hub.url, token["token"], verify=hub.verify).get("user").json()["name"] == name
    assert session.delete(f"{tokens}/{token['id']}", headers={"X-XSRFToken": None}).status_code == 403
    assert session.delete(f"{tokens}/{token['id']}").status_code == 204
    assert token["id"] not in [t["id"] for t in session.get(tokens).json()["api_tokens"]]


def test_submit_the_login_form(hub: Any) -> None:
    name = hub.unique_user("web")
    session = HubSession(hub.url, verify=hub.verify)
    answer = session.submit("hub/login", {"username": name, "password": "x"}, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    assert session.get("/hub/api/user").json()["name"] == name
    with pytest.raises(JupyterHubError, match=r"no form 'nope' on .*/hub/"):
        session.submit("hub/home", form="nope")


def test_a_refused_login_says_what_the_page_says(hub: Any) -> None:
    with pytest.raises(LoginFailed) as info:
        _login(hub, "refused")
    assert info.value.status == 403
    assert info.value.message == "login of 'refused' refused: Invalid username or password"
    assert info.value.response is not None


def test_a_hub_error_carries_the_hub_traceback(hub: Any) -> None:
    with pytest.raises(LoginFailed) as info:
        _login(hub, "boom")
    failed = info.value
    assert failed.status == 500
    assert "--- hub tracebacks ---" in failed.message
    assert "ValueError: boom: the authenticator failed" in failed.message
    assert isinstance(failed.response, HubResponse)
    [error] = failed.response.hub_errors
    assert error.summary == "ValueError: boom: the authenticator failed"
    assert "Uncaught exception POST /hub/login" in error.text
    assert repr(failed.response) == "<HubResponse [500] hub error: ValueError: boom: the authenticator failed>"
    with pytest.raises(requests.HTTPError, match=r"(?s)500 Server Error.*Uncaught exception POST /hub/login"):
        failed.response.raise_for_status()


def test_api_client_answers_hub_responses(hub: Any) -> None:
    api = ApiClient(hub.url, hub.token, verify=hub.verify, log=LogWatcher(hub.log_path))
    info = api.get("/")
    assert info.status_code == 200 and "version" in info.json()
    name = hub.unique_user("web")
    assert api.post(f"users/{name}").status_code == 201
    assert api.get(f"/users/{name}").json()["name"] == name
    assert api.delete(f"users/{name}").status_code == 204
    missing = api.get(f"users/{name}")
    assert missing.status_code == 404 and missing.hub_errors == []
    assert repr(missing) == "<HubResponse [404]>"
