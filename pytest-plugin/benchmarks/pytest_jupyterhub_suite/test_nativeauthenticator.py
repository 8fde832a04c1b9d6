"""jupyterhub-nativeauthenticator through its forms, with pytest-jupyterhub (in-process MockHub)."""

from conftest import Browser, login_error

CONFIG = {
    "JupyterHub": {"authenticator_class": "native"},
    "Authenticator": {"admin_users": ["admin"], "allow_all": True},
    "NativeAuthenticator": {"minimum_password_length": 10, "check_common_password": True},
}


def signup(name: str, password: str) -> dict[str, str]:
    return {"username": name, "signup_password": password, "signup_password_confirmation": password}


async def test_signup_needs_authorization_by_an_admin(hub_app):
    app = await hub_app(config=CONFIG)
    alice = Browser(app)
    resp = await alice.submit("hub/signup", signup("alice", "s3cret-enough"))
    assert "Your information has been sent to the admin" in resp.text

    refused = await alice.login("alice", "s3cret-enough")
    assert "has not been authorized by an administrator yet" in login_error(refused)

    admin = Browser(app)
    await admin.submit("hub/signup", signup("admin", "admin-pass-123"))
    assert (await admin.login("admin", "admin-pass-123")).status_code == 302
    page = await admin.get("hub/authorize")
    assert 'authorize/alice"' in page.text
    assert (await admin.get("hub/authorize/alice")).status_code == 302

    resp = await alice.login("alice", "s3cret-enough")
    assert resp.status_code == 302, login_error(resp)
    assert (await alice.get("hub/home")).status_code == 200


async def test_weak_passwords_are_refused_at_signup(hub_app):
    app = await hub_app(config=CONFIG)
    bob = Browser(app)
    for weak in ("short1", "qwertyuiop"):  # too short; long enough but in the common-passwords list
        resp = await bob.submit("hub/signup", signup("bob", weak))
        assert "has at least 10 characters and is not too common" in resp.text
        assert login_error(await bob.login("bob", weak)) == "Invalid username or password."
    resp = await bob.submit("hub/signup", signup("bob", "Correct-Horse-42"))
    assert "Your information has been sent to the admin" in resp.text
